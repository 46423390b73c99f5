import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

/// The golden scenario's participants and reference data, with the changes a test asks for, driven file by
/// file through the real binary.
struct ScenarioWorld {
    let root: URL
    var config: URL { root.appendingPathComponent("config") }
    var drop: URL { root.appendingPathComponent("drop") }
    static let scenario = Repository.fixtures.appendingPathComponent("scenario")

    /// - Parameter outputFormats: outputFormat by orgId, replacing participants.csv's.
    init(root: URL, outputFormats: [String: String] = [:]) throws {
        self.root = root
        try FileManager.default.copyItem(at: ScenarioWorld.scenario.appendingPathComponent("config"), to: config)
        let participants = config.appendingPathComponent("participants.csv")
        let lines = try String(contentsOf: participants, encoding: .utf8).split(separator: "\n").map { line -> String in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if let format = outputFormats[fields[0]] { fields[4] = format }
            return fields.joined(separator: ",")
        }
        try (lines.joined(separator: "\n") + "\n").write(to: participants, atomically: true, encoding: .utf8)
        try "drop_root = ../drop\nstate_dir = ../state\nquiet_period = 100ms\npoll_interval = 100ms\n"
            .write(to: config.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)
        try ktsx(["init"], clock: "2026-01-12T11:00:00Z")
    }

    @discardableResult
    func ktsx(_ arguments: [String], clock: String) throws -> ProcessResult {
        let result = try runProcess(Repository.ktsx.path, arguments + ["--config", config.path], environment: ["KTSX_CLOCK_START": clock])
        #expect(result.status == 0, "ktsx \(arguments.joined(separator: " ")): \(result.standardError)")
        return result
    }

    /// Drops a file of the scenario (`Fixtures/scenario/drops/`), its text changed by `edit`, and runs the
    /// service until it is acknowledged.
    func drop(_ name: String, by org: String, at clock: String, edit: (String) -> String = { $0 }) throws {
        let text = try String(contentsOf: ScenarioWorld.scenario.appendingPathComponent("drops/\(name)"), encoding: .utf8)
        try edit(text).write(to: drop.appendingPathComponent("\(org)/inbound/\(name)"), atomically: true, encoding: .utf8)
        try ktsx(["run", "--once", "--log-level", "warning"], clock: clock)
    }

    /// The three high schools' enrollments of the scenario's Monday, the Elkhorn Creek file changed by `edit`.
    func enrolAll(editingElkhorn edit: (String) -> String = { $0 }) throws {
        try drop("KTSX_ENR_061010_20260112T070000_0001.csv", by: "061010", at: "2026-01-12T12:00:00Z")
        try drop("KTSX_ENR_061020_20260112T070000_0001.xml", by: "061020", at: "2026-01-12T12:00:00Z")
        try drop("KTSX_ENR_165020_20260112T070000_0001.csv", by: "165020", at: "2026-01-12T12:00:00Z", edit: edit)
    }

    /// The text of the acknowledgement of `name` in `org`'s `outbound/`.
    func acknowledgement(of name: String, in org: String) throws -> String {
        try String(contentsOf: try #require(try outbound(org, prefix: name + ".ack").first), encoding: .utf8)
    }

    /// The visible files of a participant's `outbound/` whose names start with `prefix`.
    func outbound(_ org: String, prefix: String = "") throws -> [URL] {
        let folder = drop.appendingPathComponent("\(org)/outbound")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(prefix) }.sorted()
            .map { folder.appendingPathComponent($0) }
    }

    /// The `recordId`s in a file, read as text (a UUID per record, in either binding).
    static func recordIds(in url: URL) throws -> [String] {
        let text = try String(contentsOf: url, encoding: .utf8)
        let uuid = try Regex(#"(?m)(?:<RecordId>|^)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"#)
        return text.matches(of: uuid).map { String($0.output[1].substring ?? "") }
    }

    func ledger() throws -> SQLiteLedger { try SQLiteLedger(path: root.appendingPathComponent("state/ledger.sqlite").path) }
}

@Suite("Routing: every accepted record reaches exactly its receivers, in their format, in canonical form", .serialized)
struct RoutingTests {
    /// Each high school's students in the center's attendance file, from the file itself.
    static func students(of file: String) throws -> [String: Set<String>] {
        let text = try String(contentsOf: ScenarioWorld.scenario.appendingPathComponent("drops/\(file)"), encoding: .utf8)
        var bySchool: [String: Set<String>] = [:]
        let record = try Regex(#"<RecordId>([^<]+)</RecordId>[\s\S]*?<HomeSchoolOrgId>([0-9]{6})</HomeSchoolOrgId>"#)
        for match in text.matches(of: record) {
            bySchool[String(match.output[2].substring!), default: []].insert(String(match.output[1].substring!))
        }
        return bySchool
    }

    @Test("a center's attendance for students of three high schools reaches each, with its own students' records, once")
    func attendanceToSeveralSchools() async throws {
        try await withTemporaryDirectory { root in
            let world = try ScenarioWorld(root: root)
            try world.enrolAll()
            let attendance = "KTSX_ATT_061014_20260112T163000_0001.xml"
            try world.drop(attendance, by: "061014", at: "2026-01-12T21:30:00Z")
            let sent = try RoutingTests.students(of: attendance)
            #expect(Set(sent.keys) == ["061010", "061020", "165020"])
            let refused = Set(try await world.ledger().rejectedRecords(receiptId: try await #require(world.ledger().allReceipts().last?.id)).compactMap(\.recordKey))
            for (school, records) in sent {
                let routed = try world.outbound(school, prefix: "KTSX_ATT_061014_")
                #expect(routed.count == 1, "\(school) has \(routed.map(\.lastPathComponent))")
                let carried = try routed.flatMap(ScenarioWorld.recordIds(in:))
                #expect(carried.count == Set(carried).count, "a record routed twice to \(school)")
                #expect(Set(carried) == records.subtracting(refused), "\(school) did not get exactly its students' accepted records")
            }
            try Conservation.expectHolds(config: world.config, drop: world.drop, clock: "2026-01-12T21:31:00Z")
        }
    }

    @Test("files a participant receives from others come in its outputFormat; `same` means XML (only its acks follow its binding)")
    func receiverFormat() async throws {
        try withTemporaryDirectory { root in
            let world = try ScenarioWorld(root: root, outputFormats: ["165020": "same"])
            try world.drop("KTSX_ENR_165020_20260112T070000_0001.csv", by: "165020", at: "2026-01-12T12:00:00Z")
            try world.drop("KTSX_ATT_165901_20260112T163000_0001.csv", by: "165901", at: "2026-01-12T21:30:00Z")
            // The CSV-sending center's attendance reaches the `same` high school as XML ...
            let routed = try world.outbound("165020", prefix: "KTSX_ATT_165901_")
            #expect(routed.map(\.pathExtension) == ["xml"], "\(routed.map(\.lastPathComponent))")
            // ... while the high school's own CSV enrollment is answered in CSV, and the csv center gets CSV.
            #expect(try world.outbound("165020", prefix: "KTSX_ENR_165020_20260112T070000_0001.csv.ack").map(\.pathExtension) == ["csv"])
            #expect(try world.outbound("165901", prefix: "KTSX_ENR_165020_").map(\.pathExtension) == ["csv"])
            try Conservation.expectHolds(config: world.config, drop: world.drop, clock: "2026-01-12T21:31:00Z")
        }
    }

    @Test("a file sent again without its failed records: accepted as on file already, nothing routed again, conservation holds")
    func sentAgain() async throws {
        try withTemporaryDirectory { root in
            let world = try ScenarioWorld(root: root)
            let name = "KTSX_ENR_061010_20260112T070000_0001.csv"
            try world.drop(name, by: "061010", at: "2026-01-12T12:00:00Z")
            let first = try world.acknowledgement(of: name, in: "061010")
            #expect(first.contains("25 of 27 records applied; 2 not applied (lines 4, 6)"), "\(first)")
            let centers = ["061014", "165901"]
            let before = try centers.flatMap { try world.outbound($0) }
            // The clerk leaves out the two failed records (lines 4 and 6) and sends the rest again.
            var lines = try String(contentsOf: ScenarioWorld.scenario.appendingPathComponent("drops/\(name)"), encoding: .utf8)
                .components(separatedBy: "\n")
            lines.remove(at: 5)
            lines.remove(at: 3)
            let again = "KTSX_ENR_061010_20260112T080000_0001.csv"
            try lines.joined(separator: "\n").write(to: world.drop.appendingPathComponent("061010/inbound/\(again)"), atomically: true, encoding: .utf8)
            try world.ktsx(["run", "--once", "--log-level", "warning"], clock: "2026-01-12T13:00:00Z")
            let ack = try world.acknowledgement(of: again, in: "061010")
            #expect(ack.contains(",ACCEPTED,") && ack.contains("All 25 applied were on file already"), "\(ack)")
            #expect(try centers.flatMap { try world.outbound($0) } == before, "nothing routed again")
            try Conservation.expectHolds(config: world.config, drop: world.drop, clock: "2026-01-12T13:01:00Z")
        }
    }

    @Test("a CSV date the binding tolerates (2025-8-13) is stored, compared and routed as 2025-08-13")
    func canonicalDates() async throws {
        try await withTemporaryDirectory { root in
            let world = try ScenarioWorld(root: root, outputFormats: ["165901": "xml"])
            // Every enrollment of Elkhorn Creek's file enters on 2025-08-13: written the way a spreadsheet writes it.
            try world.enrolAll { $0.replacingOccurrences(of: ",2025-08-13,", with: ",2025-8-13,") }
            let routed = try #require(try world.outbound("165901", prefix: "KTSX_ENR_165020_").first)
            let text = try String(contentsOf: routed, encoding: .utf8)
            #expect(text.contains("<EntryDate>2025-08-13</EntryDate>"))
            #expect(!text.contains("2025-8-13"))
            // Attendance for those students is judged against the canonical entry date: the same records are
            // refused as when the enrollments were written YYYY-MM-DD (the scenario plants one ATT-01).
            func refusedAttendance(in world: ScenarioWorld) async throws -> [[String]] {
                try world.drop("KTSX_ATT_165901_20260112T163000_0001.csv", by: "165901", at: "2026-01-12T21:30:00Z")
                let receipt = try #require(try await world.ledger().allReceipts().last)
                return try await world.ledger().rejectedRecords(receiptId: receipt.id).map { [$0.recordKey ?? ""] + $0.codes }
            }
            let refused = try await refusedAttendance(in: world)
            let baseline = try await withTemporaryDirectory { other in
                let plain = try ScenarioWorld(root: other, outputFormats: ["165901": "xml"])
                try plain.enrolAll()
                return try await refusedAttendance(in: plain)
            }
            #expect(refused == baseline)
            #expect(refused.count == 1)
            try Conservation.expectHolds(config: world.config, drop: world.drop, clock: "2026-01-12T21:31:00Z")
        }
    }

    @Test("a waiver request from an ATC is refused with advice that no resend can fix it")
    func waiverFromAnATC() async throws {
        try withTemporaryDirectory { root in
            let world = try ScenarioWorld(root: root)
            let name = "KTSX_WVR_061014_20260116T100000_0001.xml"
            try world.drop(name, by: "061014", at: "2026-01-16T15:15:00Z")
            let ack = try world.acknowledgement(of: name, in: "061014")
            #expect(ack.contains("<Outcome>REJECTED</Outcome>"))
            #expect(ack.contains("Sending it again will not change that"), "\(ack)")
            #expect(ack.contains("WVR-01"))
            #expect(!ack.contains("Fix it and send it again"))
            try Conservation.expectHolds(config: world.config, drop: world.drop, clock: "2026-01-16T15:16:00Z")
        }
    }
}
