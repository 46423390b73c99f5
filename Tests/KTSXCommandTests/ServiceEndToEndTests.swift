import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A drop tree with its configuration in a temporary directory, driven through the real `ktsx` binary.
struct DropTreeFixture {
    let root: URL
    var config: URL { root.appendingPathComponent("config") }
    var drop: URL { root.appendingPathComponent("drop") }
    var state: URL { root.appendingPathComponent("state") }

    /// The wall clock the binary runs on (`KTSX_CLOCK_START`): after every date in the fixtures and inside
    /// the waiver window.
    var clock = "2026-02-20T15:00:00Z"

    /// A tree for the fixture world: `Fixtures/reference/` as reference data (participants, catalog,
    /// scales, calendars, ...).
    init(
        root: URL, quietPeriod: String = "300ms", maxFileSize: String = "10MB", doneMarkerFor: String? = nil, settings: String = ""
    ) throws {
        self.root = root
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try """
            drop_root = ../drop
            state_dir = ../state
            quiet_period = \(quietPeriod)
            poll_interval = 100ms
            max_file_size = \(maxFileSize)
            \(settings)

            """.write(to: config.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)
        let reference = Repository.fixtures.appendingPathComponent("reference")
        for name in try FileManager.default.contentsOfDirectory(atPath: reference.path) where name.hasSuffix(".csv") || name.hasSuffix(".conf") {
            var text = try String(contentsOf: reference.appendingPathComponent(name), encoding: .utf8)
            if name == "participants.csv", let org = doneMarkerFor {
                text = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                    line.hasPrefix(org + ",") ? line.replacingOccurrences(of: ",same,false,", with: ",same,true,") : String(line)
                }.joined(separator: "\n")
            }
            try text.write(to: config.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let result = try ktsx(["init", "--config", config.path])
        #expect(result.status == 0, "\(result.standardError)")
    }

    /// Loads the roster of the fixture world (every high school's enrollments, or those of `schools`), then
    /// empties every outbound folder, as if the participants had taken their files.
    func loadRoster(of schools: Set<String>? = nil) throws {
        let roster = Repository.fixtures.appendingPathComponent("reference/roster")
        for name in try FileManager.default.contentsOfDirectory(atPath: roster.path) {
            let org = String(name.split(separator: "_")[2])
            if let schools, !schools.contains(org) { continue }
            try FileManager.default.copyItem(at: roster.appendingPathComponent(name), to: inbound(org).appendingPathComponent(name))
        }
        try runOnce()
        for org in try FileManager.default.contentsOfDirectory(atPath: drop.path) {
            for name in try outboundFiles(org) { try FileManager.default.removeItem(at: outbound(org).appendingPathComponent(name)) }
        }
    }

    func inbound(_ org: String) -> URL { drop.appendingPathComponent("\(org)/inbound") }
    func outbound(_ org: String) -> URL { drop.appendingPathComponent("\(org)/outbound") }

    /// Drops `text` as `name` in `org`'s inbound.
    func drop(_ text: String, as name: String, into org: String) throws {
        try text.write(to: inbound(org).appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func ktsx(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(Repository.ktsx.path, arguments, environment: ["KTSX_CLOCK_START": clock])
    }

    /// `ktsx run --once`.
    @discardableResult
    func runOnce(maxWait: Int = 30) throws -> ProcessResult {
        let result = try ktsx(["run", "--once", "--config", config.path, "--max-wait", "\(maxWait)", "--log-level", "warning"])
        #expect(result.status == 0, "\(result.standardError)")
        return result
    }

    /// The visible files in `org`'s outbound.
    /// The visible files of a participant's `outbound/`, daily summaries aside (the first start writes one
    /// for the day before; the golden scenario checks them).
    func outboundFiles(_ org: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: outbound(org).path).filter { !$0.hasPrefix(".") && !$0.hasPrefix("KTSX_SUM_") }.sorted()
    }

    func text(_ org: String, _ name: String) throws -> String {
        try String(contentsOf: outbound(org).appendingPathComponent(name), encoding: .utf8)
    }

    /// Starts `ktsx run` (the long-running service) on this tree, with this configuration or another.
    func startService(configuration: URL? = nil) throws -> Process {
        let process = Process()
        process.executableURL = Repository.ktsx
        process.arguments = ["run", "--config", (configuration ?? config).path, "--log-level", "critical"]
        process.environment = ProcessInfo.processInfo.environment.merging(["KTSX_CLOCK_START": clock]) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func ledger() throws -> SQLiteLedger { try SQLiteLedger(path: state.appendingPathComponent("ledger.sqlite").path) }

    /// Conservation holds (`ktsx audit`), no hidden temporary is left, every file written is valid.
    func expectConserved(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try Conservation.expectHolds(config: config, drop: drop, clock: clock, sourceLocation: sourceLocation)
    }
}

private func example(_ name: String) throws -> String {
    try String(contentsOf: Repository.schemas.appendingPathComponent("examples/\(name)"), encoding: .utf8)
}

@Suite("ktsx run: dropped files become acknowledgements", .serialized)
struct ServiceEndToEndTests {
    @Test("a valid file is accepted: an ack in its binding, valid against the ACK schema; the original archived")
    func valid() async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            try tree.loadRoster()
            try tree.drop(try example("ATT.example.xml"), as: "KTSX_ATT_165901_20251002T020000_0001.xml", into: "165901")
            try tree.runOnce()
            #expect(try tree.outboundFiles("165901") == ["KTSX_ATT_165901_20251002T020000_0001.xml.ack.xml"])
            let ack = try tree.text("165901", "KTSX_ATT_165901_20251002T020000_0001.xml.ack.xml")
            #expect(ack.contains("<Outcome>ACCEPTED</Outcome>"))
            #expect(ack.contains("<RecordsAccepted>3</RecordsAccepted>"))
            let check = try tree.ktsx(["validate", tree.outbound("165901").appendingPathComponent("KTSX_ATT_165901_20251002T020000_0001.xml.ack.xml").path])
            #expect(check.status == 0, "\(check.standardOutput)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: tree.inbound("165901").path).isEmpty)
            let receipt = try #require(try await tree.ledger().allReceipts().first { $0.originalName.hasPrefix("KTSX_ATT_") })
            #expect(receipt.outcome == .accepted)
            #expect(receipt.state == .finished)
            // The records went on to their students' home high schools, in a file valid against its schema.
            let routed = try await tree.ledger().deliveries(sourceId: receipt.id).filter { $0.recipientOrgId != "165901" }
            #expect(!routed.isEmpty)
            for delivery in routed {
                let path = tree.outbound(delivery.recipientOrgId).appendingPathComponent(delivery.fileName).path
                #expect(try tree.ktsx(["validate", path]).status == 0)
                #expect(delivery.fileName.hasPrefix("KTSX_ATT_165901_"))
            }
            try tree.expectConserved()
        }
    }

    @Test("an invalid file is rejected with an error file in its binding; a header naming another sender too")
    func invalid() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            let broken = try example("ENR.example.csv").replacingOccurrences(of: ",2009-", with: ",2009-13-")
            try tree.drop(broken, as: "enr.csv", into: "061010")
            try tree.drop(try example("GRD.example.xml"), as: "grades.xml", into: "165901")
            try tree.runOnce()
            #expect(try tree.outboundFiles("061010") == ["enr.csv.ack.csv", "enr.csv.errors.csv"])
            #expect(try tree.text("061010", "enr.csv.ack.csv").contains(",REJECTED,"))
            let errors = try tree.text("061010", "enr.csv.errors.csv")
            #expect(errors.contains(",type-error,"))
            #expect(!errors.contains("2009-13"), "a birth date must not be repeated in the error file")
            #expect(try tree.text("165901", "grades.xml.errors.xml").contains("<Code>sender-mismatch</Code>"))
            for file in ["061010/outbound/enr.csv.errors.csv", "165901/outbound/grades.xml.errors.xml"] {
                #expect(try tree.ktsx(["validate", tree.drop.appendingPathComponent(file).path]).status == 0)
            }
            try tree.expectConserved()
        }
    }

    @Test("a file whose schema is fine but one record is for another school is ACCEPTED_WITH_ERRORS, listing that record")
    func partlyInvalid() async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            try tree.loadRoster()
            // The enrollment example as updates of the roster; the second record claims another home
            // high school (ENR-01).
            var lines = try example("ENR.example.csv").replacingOccurrences(of: ",add,", with: ",update,").components(separatedBy: "\n")
            let recordId = String(lines[2].prefix(36))
            lines[2] = lines[2].replacingOccurrences(of: ",061010,061014,", with: ",061020,061014,")
            try tree.drop(lines.joined(separator: "\n"), as: "enr.csv", into: "061010")
            // The attendance XML example, with one record from another center (ATT-10).
            let xml = try example("ATT.example.xml")
            let parts = xml.components(separatedBy: "<TechCenterOrgId>165901</TechCenterOrgId>")
            let changed = parts[0] + "<TechCenterOrgId>165901</TechCenterOrgId>" + parts[1] + "<TechCenterOrgId>165999</TechCenterOrgId>"
                + parts[2...].joined(separator: "<TechCenterOrgId>165901</TechCenterOrgId>")
            try tree.drop(changed, as: "att.xml", into: "165901")
            try tree.runOnce()
            let ack = try tree.text("061010", "enr.csv.ack.csv")
            #expect(ack.contains(",ACCEPTED_WITH_ERRORS,3,2,1,1,enr.csv.errors.csv,"), "\(ack)")
            let errors = try tree.text("061010", "enr.csv.errors.csv").components(separatedBy: "\r\n")
            #expect(errors.count == 3)
            #expect(errors[1].contains(",3,,,\(recordId),homeSchoolOrgId,ENR-01,"), "\(errors[1])")
            let xmlAck = try tree.text("165901", "att.xml.ack.xml")
            #expect(xmlAck.contains("<Outcome>ACCEPTED_WITH_ERRORS</Outcome>"))
            #expect(xmlAck.contains("<RecordsAccepted>2</RecordsAccepted>"))
            let xmlErrors = try tree.text("165901", "att.xml.errors.xml")
            #expect(xmlErrors.contains("<Code>ATT-10</Code>"))
            #expect(xmlErrors.contains("<Path>/KtsxAttendanceFile/Attendance[2]/TechCenterOrgId</Path>"))
            let receipts = try await tree.ledger().allReceipts().filter { ["enr.csv", "att.xml"].contains($0.originalName) }
            #expect(receipts.count == 2)
            #expect(Set(receipts.compactMap(\.outcome)) == [.acceptedWithErrors])
            let enrReceipt = try #require(receipts.first { $0.originalName == "enr.csv" })
            #expect(
                try await tree.ledger().rejectedRecords(receiptId: enrReceipt.id)
                    == [RejectedRecord(receiptId: enrReceipt.id, line: 3, recordKey: recordId, codes: ["ENR-01"])])
            #expect(try tree.ktsx(["validate", tree.outbound("061010").appendingPathComponent("enr.csv.errors.csv").path]).status == 0)
            try tree.expectConserved()
        }
    }

    @Test("the same bytes again are a DUPLICATE naming the first receipt; a re-sent name gets a unique ack name")
    func duplicateAndResentName() async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            let text = try example("ENR.example.csv")
            try tree.drop(text, as: "enr.csv", into: "061010")
            try tree.runOnce()
            try tree.drop(text, as: "enr.csv", into: "061010")
            try tree.runOnce()
            let receipts = try await tree.ledger().allReceipts()
            #expect(receipts.map(\.outcome) == [.accepted, .duplicate])
            #expect(receipts.last?.duplicateOf == receipts.first?.id)
            let files = try tree.outboundFiles("061010")
            #expect(files.count == 2)
            let second = try #require(files.first { $0 != "enr.csv.ack.csv" })
            #expect(second == "\(receipts[1].id).ack.csv")
            #expect(try tree.text("061010", second).contains(",DUPLICATE,"))
            #expect(try tree.text("061010", second).contains(receipts[0].id))
            try tree.expectConserved()
        }
    }

    @Test("a link to /etc/passwd, a FIFO and an oversize file are set aside unread and explained")
    func setAside() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root, maxFileSize: "2KB")
            symlink("/etc/passwd", tree.inbound("061014").appendingPathComponent("passwd.csv").path)
            mkfifo(tree.inbound("061014").appendingPathComponent("pipe.csv").path, 0o644)
            try tree.drop(String(repeating: "x", count: 5000), as: "big.csv", into: "061014")
            try tree.runOnce()
            let files = try tree.outboundFiles("061014")
            #expect(files.filter { $0.hasSuffix(".ack.csv") }.count == 3)
            #expect(try tree.text("061014", "passwd.csv.errors.csv").contains(",symbolic-link,"))
            #expect(try tree.text("061014", "pipe.csv.errors.csv").contains(",not-a-regular-file,"))
            #expect(try tree.text("061014", "big.csv.errors.csv").contains(",file-too-large,"))
            #expect(!(try tree.text("061014", "passwd.csv.ack.csv")).contains("root:"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: tree.inbound("061014").path).isEmpty)
            try tree.expectConserved()
        }
    }

    @Test("a file hard-linked into inbound/ from outside the drop tree is set aside unread (hard-link), and never shown")
    func hardLink() async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            let outside = root.appendingPathComponent("outside-secret.csv")
            try "recordId,secret\nabc,do-not-read-me\n".write(to: outside, atomically: true, encoding: .utf8)
            #expect(link(outside.path, tree.inbound("061014").appendingPathComponent("linked.csv").path) == 0)
            try tree.runOnce()
            #expect(try tree.text("061014", "linked.csv.ack.csv").contains(",REJECTED,"))
            let errors = try tree.text("061014", "linked.csv.errors.csv")
            #expect(errors.contains(",hard-link,"), "\(errors)")
            #expect(!errors.contains("do-not-read-me"))
            // Quarantined, never read: its lines are not shown to support.
            let receipt = try #require(try await tree.ledger().allReceipts().first { $0.originalName == "linked.csv" })
            #expect(receipt.sha256 == String(repeating: "0", count: 64))
            let shown = try tree.ktsx(["show", receipt.id, "--config", tree.config.path])
            #expect(!shown.standardOutput.contains("do-not-read-me"))
            #expect(try String(contentsOf: outside, encoding: .utf8).contains("do-not-read-me"), "the outside file is untouched")
            try tree.expectConserved()
        }
    }

    @Test("a file over max_records is rejected whole, read no further, and nothing in it is applied or routed")
    func tooManyRecords() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root, settings: "max_records = 2")
            let text = try example("ENR.example.csv")
            try tree.drop(text, as: "three.csv", into: "061010")
            try tree.drop(text.components(separatedBy: "\n").prefix(3).joined(separator: "\n") + "\n", as: "two.csv", into: "061010")
            try tree.runOnce()
            let errors = try tree.text("061010", "three.csv.errors.csv")
            #expect(errors.contains(",too-many-records,") && errors.contains("more than 2 records"))
            #expect(try tree.text("061010", "three.csv.ack.csv").contains(",REJECTED,"))
            #expect(try tree.text("061010", "two.csv.ack.csv").contains(",ACCEPTED,"))
            // Only the two-record file's enrollments reached the center.
            let routed = try tree.outboundFiles("061014")
            #expect(routed.count == 1)
            let ids = text.split(separator: "\n").dropFirst().map { String($0.prefix(36)) }
            let delivered = try tree.text("061014", routed[0])
            #expect(delivered.contains(ids[0]) && delivered.contains(ids[1]) && !delivered.contains(ids[2]))
            try tree.expectConserved()
        }
    }

    @Test(
        "with ledger = postgres://, files are judged, acknowledged and recorded in PostgreSQL, and the review commands read it",
        .enabled(if: ProcessInfo.processInfo.environment["KTSX_TEST_POSTGRES_URL"] != nil))
    func postgresLedger() async throws {
        try withTemporaryDirectory { root in
            let url = ProcessInfo.processInfo.environment["KTSX_TEST_POSTGRES_URL"]!
            let schema = "e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let tree = try DropTreeFixture(root: root, settings: "ledger = \(url)\(url.contains("?") ? "&" : "?")schema=\(schema)")
            let text = try example("ENR.example.csv")
            try tree.drop(text, as: "enr.csv", into: "061010")
            try tree.drop(text.replacingOccurrences(of: ",2009-", with: ",2009-13-"), as: "bad.csv", into: "061010")
            try tree.runOnce()
            #expect(try tree.text("061010", "enr.csv.ack.csv").contains(",ACCEPTED,"))
            #expect(try tree.text("061010", "bad.csv.ack.csv").contains(",REJECTED,"))
            #expect(try tree.outboundFiles("061014").count == 1, "routed to the center")
            #expect(!FileManager.default.fileExists(atPath: tree.state.appendingPathComponent("ledger.sqlite").path), "no SQLite ledger made")
            let listed = try tree.ktsx(["submissions", "--config", tree.config.path, "--format", "json"])
            #expect(listed.status == 0, "\(listed.standardError)")
            #expect(listed.standardOutput.contains("enr.csv") && listed.standardOutput.contains("bad.csv"))

            // A server that cannot be reached: ktsx run refuses to start and says where it looked.
            let settingsFile = tree.config.appendingPathComponent("ktsx.conf")
            let conf = try String(contentsOf: settingsFile, encoding: .utf8)
            try conf.split(separator: "\n").map { $0.hasPrefix("ledger = ") ? "ledger = postgres://ktsx@127.0.0.1:1/ktsx?sslmode=disable" : String($0) }
                .joined(separator: "\n").write(to: settingsFile, atomically: true, encoding: .utf8)
            let refused = try tree.ktsx(["run", "--once", "--config", tree.config.path])
            #expect(refused.status != 0)
            #expect(refused.standardError.contains("cannot reach the ledger") && refused.standardError.contains("127.0.0.1:1/ktsx"), "\(refused.standardError)")
        }
    }

    @Test("links to another participant's folder or file are set aside, and that participant's files are untouched")
    func linksToAnotherParticipant() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            try tree.drop("bait", as: "theirs.csv", into: "061010")
            symlink(tree.outbound("061010").path, tree.inbound("061014").appendingPathComponent("folder.csv").path)
            symlink("../../061010/inbound/theirs.csv", tree.inbound("061014").appendingPathComponent("file.csv").path)
            try tree.runOnce()
            for name in ["folder.csv", "file.csv"] {
                #expect(try tree.text("061014", "\(name).errors.csv").contains(",symbolic-link,"), "\(name)")
                // Never opened: the acknowledgement carries no hash of what the link points at.
                #expect(try tree.text("061014", "\(name).ack.csv").contains(String(repeating: "0", count: 64)), "\(name)")
            }
            // 061010's file was judged as 061010's, once; nothing went into its outbound/ through the link.
            #expect(try tree.outboundFiles("061010") == ["theirs.csv.ack.csv", "theirs.csv.errors.csv"])
            let quarantined = try FileManager.default.subpathsOfDirectory(atPath: tree.state.appendingPathComponent("quarantine").path)
            #expect(quarantined.contains { $0.hasSuffix("/folder.csv") } && quarantined.contains { $0.hasSuffix("/file.csv") })
            try tree.expectConserved()
        }
    }

    @Test("odd names are acknowledged too: not UTF-8, a line break, a leading dash, spaces, dots")
    func oddNames() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            let text = try example("ENR.example.csv")
            for name in ["-rf enr.csv", "line\nbreak.csv", "with space.csv", "up..dir.csv"] {
                try tree.drop(text.replacingOccurrences(of: "add", with: name.count % 2 == 0 ? "add" : "update"), as: name, into: "061010")
            }
            // A name with bytes that are not UTF-8.
            let raw = Array(tree.inbound("061010").path.utf8) + Array("/bad-\u{1}".utf8) + [0xFF, 0xFE] + Array(".csv".utf8) + [0]
            let descriptor = raw.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o644) } }
            #expect(descriptor >= 0)
            _ = Array(text.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
            try tree.runOnce()
            let acks = try tree.outboundFiles("061010").filter { $0.contains(".ack.") }
            #expect(acks.count == 5, "\(acks)")
            #expect(acks.contains("up..dir.csv.ack.csv"))
            #expect(acks.contains("bad-\u{1}__.csv.renamed.ack.csv"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: tree.inbound("061010").path).isEmpty)
            let visible = try tree.outboundFiles("061010").map { tree.outbound("061010").appendingPathComponent($0).path }
            #expect(try tree.ktsx(["validate"] + visible).status == 0)
            try tree.expectConserved()
        }
    }

    @Test("a done-marker participant's file waits for NAME.done")
    func doneMarker() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root, doneMarkerFor: "061010")
            try tree.drop(try example("ENR.example.csv"), as: "enr.csv", into: "061010")
            let waiting = try tree.runOnce(maxWait: 1)
            #expect(waiting.standardOutput.contains("still waiting 1"))
            #expect(try tree.outboundFiles("061010").isEmpty)
            try tree.drop("", as: "enr.csv.done", into: "061010")
            try tree.runOnce()
            #expect(try tree.outboundFiles("061010") == ["enr.csv.ack.csv"])
        }
    }

    @Test("a configuration with mistakes is refused at start with file, line and reason")
    func badConfiguration() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            try "drop_root = ../drop\nstate_dir = ../state\nquiet = 5s\npoll_interval = often\n"
                .write(to: tree.config.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)
            let result = try tree.ktsx(["run", "--once", "--config", tree.config.path])
            #expect(result.status == 2)
            #expect(result.standardError.contains("ktsx.conf:3: unknown setting 'quiet'"))
            #expect(result.standardError.contains("ktsx.conf:4: 'poll_interval' is 'often'"))
        }
    }

    @Test("a mistake in a reference file is refused at start with file, line and reason")
    func badReferenceData() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            try "scaleCode,letter,minimum,maximum,passing\nKY10PT,A,90,100,true\nKY10PT,B,80,90,true\n"
                .write(to: tree.config.appendingPathComponent("grading-scales.csv"), atomically: true, encoding: .utf8)
            try "centerOrgId,ktsCourseNumber,homeSchoolOrgId,homeCourseNumber,homeCourseTitle,homeGradingScaleCode\n061014,WLD101,061020,CTE-WLD1,,NOPE\n"
                .write(to: tree.config.appendingPathComponent("course-mappings.csv"), atomically: true, encoding: .utf8)
            var catalog = try String(contentsOf: tree.config.appendingPathComponent("catalog.csv"), encoding: .utf8)
            catalog += "999999,2026,WLD101,AM-01,480511,Welding,FY,2025-08-13,2026-05-22,2,165\n"
            try catalog.write(to: tree.config.appendingPathComponent("catalog.csv"), atomically: true, encoding: .utf8)
            let result = try tree.ktsx(["run", "--once", "--config", tree.config.path])
            #expect(result.status == 2)
            let lines = catalog.split(separator: "\n").count
            for expected in [
                "grading-scales.csv:3: the band B 80-90 overlaps A 90-100 on line 2 of scale KY10PT",
                "course-mappings.csv:2: homeGradingScaleCode 'NOPE' is not a scale in grading-scales.csv",
                "catalog.csv:\(lines): centerOrgId '999999' is not in participants.csv",
            ] {
                #expect(result.standardError.contains(expected), "\(result.standardError)")
            }
        }
    }

    @Test("edited reference data is used without a restart; an edit with mistakes is refused and the last good one stays")
    func referenceReload() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            let process = try tree.startService()
            defer { if process.isRunning { process.terminate() } }
            // The enrollment example in section PM-02, which the catalog does not have yet (ENR-03).
            let text = try example("ENR.example.csv").replacingOccurrences(of: #",(AM|PM)-0[12],"#, with: ",PM-02,", options: .regularExpression)
            func outcome(_ name: String, _ text: String = text) throws -> String {
                try tree.drop(text, as: name, into: "061010")
                for _ in 0..<100 where !(try tree.outboundFiles("061010").contains("\(name).ack.csv")) { usleep(100_000) }
                let ack = try tree.text("061010", "\(name).ack.csv")
                return ["ACCEPTED_WITH_ERRORS", "ACCEPTED", "REJECTED"].first { ack.contains(",\($0),") } ?? ack
            }
            #expect(try outcome("before.csv") == "REJECTED")
            let catalogURL = tree.config.appendingPathComponent("catalog.csv")
            let catalog = try String(contentsOf: catalogURL, encoding: .utf8)
            let added = catalog.split(separator: "\n").filter { $0.hasPrefix("061014,") && $0.contains(",AM-01,") }
                .map { $0.replacingOccurrences(of: ",AM-01,", with: ",PM-02,") }
            try (catalog + added.joined(separator: "\n") + "\n").write(to: catalogURL, atomically: true, encoding: .utf8)
            usleep(400_000)
            #expect(try outcome("after.csv") == "ACCEPTED")
            // A broken edit: the service keeps the version in force (the section stays known).
            try (catalog + "061014,2026,BROKEN\n").write(to: catalogURL, atomically: true, encoding: .utf8)
            usleep(400_000)
            #expect(process.isRunning)
            #expect(
                try outcome("broken.csv", text.replacingOccurrences(of: ",add,", with: ",update,")) == "ACCEPTED",
                "updates of the new enrollments, judged with the section still in the catalog")
        }
    }

    @Test("a file still written after it was claimed (its writer paused longer than the quiet period) is rejected as changed, nothing applied")
    func writtenWhileRead() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root, quietPeriod: "200ms", maxFileSize: "100MB")
            let path = tree.inbound("061014").appendingPathComponent("att.csv").path
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let handle = try #require(FileHandle(forWritingAtPath: path))
            // Four megabytes of attendance rows, written, then a pause: the file looks complete.
            let lines = try example("ATT.example.csv").split(separator: "\n")
            let rows = lines.dropFirst().joined(separator: "\n") + "\n"
            try handle.write(contentsOf: Data((lines[0] + "\n").utf8))
            let block = Data(String(repeating: rows, count: max(1, (1 << 20) / rows.utf8.count)).utf8)
            for _ in 0..<4 { try handle.write(contentsOf: block) }
            let process = try tree.startService()
            defer { if process.isRunning { process.terminate() } }
            // The service claims it; the writer goes on through its open descriptor while it is read.
            var waited = 0
            while FileManager.default.fileExists(atPath: path), waited < 20_000 {
                usleep(500)
                waited += 1
            }
            for _ in 0..<300 {
                try handle.write(contentsOf: Data(rows.utf8))
                usleep(10_000)
            }
            try handle.close()
            waited = 0
            while try !tree.outboundFiles("061014").contains("att.csv.ack.csv"), waited < 200 {
                usleep(100_000)
                waited += 1
            }
            #expect(try tree.text("061014", "att.csv.ack.csv").contains(",REJECTED,"))
            let errors = try tree.text("061014", "att.csv.errors.csv")
            #expect(errors.contains(",file-changed,") && errors.contains("still being written"), "\(errors.prefix(600))")
            #expect(try tree.outboundFiles("061010").isEmpty, "nothing routed from a file that changed")
        }
    }

    @Test("a second ktsx run under the same instance name refuses to start, saying why; after the first stops, it starts")
    func sameInstanceNameTwice() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root, settings: "instance_name = node-1\nreview_address = off")
            let first = try tree.startService()
            defer { if first.isRunning { first.terminate() } }
            // Once the first is up (its heartbeat written), a second one is refused.
            let heartbeat = tree.state.appendingPathComponent("service.heartbeat").path
            for _ in 0..<100 where !FileManager.default.fileExists(atPath: heartbeat) { usleep(100_000) }
            let refused = try tree.ktsx(["run", "--once", "--config", tree.config.path])
            #expect(first.isRunning)
            #expect(refused.status != 0)
            #expect(refused.standardError.contains("another ktsx run named 'node-1' is running"), "\(refused.standardError)")
            kill(first.processIdentifier, SIGKILL)  // however it ends, the name is free again
            first.waitUntilExit()
            #expect(try tree.ktsx(["run", "--once", "--config", tree.config.path]).status == 0)
        }
    }

    @Test("a file that keeps growing is not claimed until it has been quiet; SIGTERM stops the service cleanly")
    func growingFile() async throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root, quietPeriod: "1500ms")
            try tree.loadRoster()
            let process = try tree.startService()
            defer { if process.isRunning { process.terminate() } }
            let text = try example("ATT.example.csv")
            let path = tree.inbound("061014").appendingPathComponent("att.csv").path
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let handle = try #require(FileHandle(forWritingAtPath: path))
            // Write the file in pieces over three seconds: longer than the quiet period in all.
            let pieces = Array(text.utf8).chunked(into: max(1, text.utf8.count / 10))
            for piece in pieces {
                try handle.write(contentsOf: Data(piece))
                usleep(300_000)
                #expect(try tree.outboundFiles("061014").isEmpty, "claimed while still growing")
            }
            try handle.close()
            var waited = 0
            while try tree.outboundFiles("061014").isEmpty, waited < 100 {
                usleep(100_000)
                waited += 1
            }
            #expect(try tree.outboundFiles("061014") == ["att.csv.ack.csv"])
            #expect(try tree.text("061014", "att.csv.ack.csv").contains(",ACCEPTED,"))
            process.terminate()  // SIGTERM
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
    }

    @Test("a file taken from outbound is recorded as picked up")
    func pickup() async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            try tree.drop(try example("ENR.example.csv"), as: "enr.csv", into: "061010")
            try tree.runOnce()
            func waiting() async throws -> [String] {
                try await tree.ledger().pendingDeliveries().filter { $0.recipientOrgId == "061010" && !$0.fileName.hasPrefix("KTSX_SUM_") }.map(\.fileName)
            }
            #expect(try await waiting() == ["enr.csv.ack.csv"])
            try FileManager.default.removeItem(at: tree.outbound("061010").appendingPathComponent("enr.csv.ack.csv"))
            try tree.runOnce()
            #expect(try await waiting().isEmpty)
            try tree.expectConserved()
        }
    }
}

extension Array {
    func chunked(into size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
