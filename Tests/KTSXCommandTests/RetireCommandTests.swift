import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

/// `ktsx retire` through the binary: the scenario's week played in two school years, the earlier one
/// retired, the later one judged and routed exactly as in a world where nothing was retired.
@Suite("ktsx retire: a closed year leaves the ledger for its archive; the current year goes on as if it were still there", .serialized)
struct RetireCommandTests {
    /// `text` a school year earlier: every date 364 days back (the same weekday: Monday January 12, 2026 is
    /// Monday January 13, 2025) and the school year 2026 named 2025.
    static func yearEarlier(_ text: String) -> String {
        let date = try! Regex(#"20[0-9]{2}-[0-9]{2}-[0-9]{2}"#)
        let shifted = text.replacing(date) { match -> String in
            let day = LocalDate(String(match.output[0].substring!))!.adding(days: -364)
            return day.description
        }
        return shifted.replacingOccurrences(of: ",2026,", with: ",2025,").replacingOccurrences(of: ">2026<", with: ">2025<")
    }

    /// The scenario's world, its reference data (catalog, calendars) also holding school year 2025.
    static func twoYearWorld(at root: URL) throws -> ScenarioWorld {
        let world = try ScenarioWorld(root: root)
        for name in ["catalog.csv", "calendars.csv"] {
            let file = world.config.appendingPathComponent(name)
            let text = try String(contentsOf: file, encoding: .utf8)
            let rows = text.split(separator: "\n").dropFirst().map { yearEarlier(String($0)) }
            try (text + rows.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        }
        return world
    }

    /// The 2025 files: the scenario's Monday a year earlier, dropped (under 2025 names) that Monday,
    /// January 13, 2025.
    static let earlierFiles = [
        ("KTSX_ENR_061010_20260112T070000_0001.csv", "061010"), ("KTSX_ENR_061020_20260112T070000_0001.xml", "061020"),
        ("KTSX_ENR_165020_20260112T070000_0001.csv", "165020"), ("KTSX_ATT_061014_20260112T163000_0001.xml", "061014"),
        ("KTSX_ATT_165901_20260112T163000_0001.csv", "165901"),
    ]

    static func earlierName(_ name: String) -> String { name.replacingOccurrences(of: "_20260112T", with: "_20250113T") }

    func dropEarlierYear(_ world: ScenarioWorld) throws {
        for (name, org) in Self.earlierFiles {
            let text = try String(contentsOf: ScenarioWorld.scenario.appendingPathComponent("drops/\(name)"), encoding: .utf8)
            try Self.yearEarlier(text).write(to: world.drop.appendingPathComponent("\(org)/inbound/\(Self.earlierName(name))"), atomically: true, encoding: .utf8)
            try world.ktsx(["run", "--once", "--log-level", "warning"], clock: name.contains("_ENR_") ? "2025-01-13T12:00:00Z" : "2025-01-13T21:30:00Z")
        }
    }

    /// The current year's week as the scenario plays it: enrollments, two days of both centers' attendance,
    /// grades.
    func playCurrentYear(_ world: ScenarioWorld) throws {
        try world.enrolAll()
        for day in ["12", "13"] {
            try world.drop("KTSX_ATT_061014_202601\(day)T163000_0001.xml", by: "061014", at: "2026-01-\(day)T21:30:00Z")
            try world.drop("KTSX_ATT_165901_202601\(day)T163000_0001.csv", by: "165901", at: "2026-01-\(day)T21:31:00Z")
        }
        try world.drop("KTSX_GRD_061014_20260114T170000_0001.xml", by: "061014", at: "2026-01-14T22:00:00Z")
        try world.drop("KTSX_GRD_165901_20260114T170000_0001.csv", by: "165901", at: "2026-01-14T22:01:00Z")
    }

    /// What became of the current year's files: each receipt's outcome and failing records, and which records
    /// reached whom, by file name (receipt ids differ between worlds).
    func currentYear(_ world: ScenarioWorld, claimedFrom: Timestamp) async throws -> (receipts: [String], trail: Set<String>) {
        let ledger = try world.ledger()
        let receipts = try await ledger.allReceipts().filter { $0.claimedAt.secondsSinceEpoch >= claimedFrom.secondsSinceEpoch }
        var names: [String: String] = [:]
        var lines: [String] = []
        for receipt in receipts {
            names[receipt.id] = receipt.originalName
            let failing = try await ledger.rejectedRecords(receiptId: receipt.id).map { "\($0.line):\($0.codes.joined(separator: "+"))" }
            lines.append(
                "\(receipt.originalName) \(receipt.outcome?.rawValue ?? "-") \(receipt.recordsReceived)/\(receipt.recordsAccepted)/\(receipt.recordsRejected) "
                    + failing.joined(separator: ","))
        }
        let trail = try await ledger.trail(claimedFrom: claimedFrom, before: nil).map { entry in
            "\(names[entry.sourceId] ?? "job") → \(entry.recipientOrgId): \(names[entry.record.receiptId] ?? "?")/\(entry.record.recordId)"
        }
        return (lines, Set(trail))
    }

    func sql(_ path: URL, _ statement: String) throws -> String {
        let result = try runProcess("sqlite3", [path.path, statement])
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(
        "2025 retired: its rows are in the archive, its receipts and duplicates stay, its records are refused with advice, `ktsx show` says where they went, and 2026 is judged and routed as in a world that kept 2025"
    )
    func retireTheEarlierYear() async throws {
        try await withTemporaryDirectory { root in
            let retiring = try Self.twoYearWorld(at: root.appendingPathComponent("retiring"))
            let keeping = try Self.twoYearWorld(at: root.appendingPathComponent("keeping"))
            for world in [retiring, keeping] { try dropEarlierYear(world) }
            let earlier = try await retiring.ledger().allReceipts()
            #expect(earlier.count == 5 && earlier.allSatisfy { $0.wasAccepted }, "\(earlier.map { "\($0.originalName) \($0.outcome?.rawValue ?? "")" })")

            // A year still open is refused; 2025 ended on June 30, 2025.
            let open = try runProcess(
                Repository.ktsx.path, ["retire", "--school-year", "2026", "--config", retiring.config.path],
                environment: ["KTSX_CLOCK_START": "2026-01-12T11:40:00Z"])
            #expect(open.status == 2 && open.standardError.contains("school year 2026 is still open: it runs to 2026-06-30"), "\(open.standardError)")
            // The year's routed files wait in the schools' outbound/: they keep it (its trail is what the audit
            // reads them back against). Taken (every partner empties its outbound/), they let it go.
            let waiting = try runProcess(
                Repository.ktsx.path, ["retire", "--school-year", "2025", "--config", retiring.config.path],
                environment: ["KTSX_CLOCK_START": "2026-01-12T11:40:00Z"])
            #expect(waiting.status == 1 && waiting.standardError.contains("files carrying its records wait for pickup"), "\(waiting.standardError)")
            #expect(waiting.standardError.contains("\n  061014/outbound/KTSX_ENR_061010_"), "names the files: \(waiting.standardError)")
            let nothing = try retiring.ktsx(["retire", "--school-year", "2020"], clock: "2026-01-12T11:40:00Z")
            #expect(nothing.standardOutput.contains("the ledger holds nothing of school year 2020"), "\(nothing.standardOutput)")
            for world in [retiring, keeping] {
                for org in try FileManager.default.contentsOfDirectory(atPath: world.drop.path) {
                    for file in try world.outbound(org) { try FileManager.default.removeItem(at: file) }
                }
                try world.ktsx(["run", "--once", "--log-level", "warning"], clock: "2026-01-12T11:42:00Z")
            }
            // An archive named over a file that is not one is refused before anything is recorded.
            let notes = root.appendingPathComponent("notes.txt")
            try "not an archive\n".write(to: notes, atomically: true, encoding: .utf8)
            let wrongFile = try runProcess(
                Repository.ktsx.path, ["retire", "--school-year", "2025", "--to", notes.path, "--config", retiring.config.path],
                environment: ["KTSX_CLOCK_START": "2026-01-12T11:44:00Z"])
            #expect(wrongFile.status != 0 && wrongFile.standardError.contains(notes.path), "\(wrongFile.standardError)")
            #expect(try await retiring.ledger().retiredYears().isEmpty)
            let retired = try retiring.ktsx(["retire", "--school-year", "2025"], clock: "2026-01-12T11:45:00Z")
            let archive = retiring.root.appendingPathComponent("state/retired/school-year-2025.sqlite")
            #expect(retired.standardOutput.contains("retired school year 2025 to \(archive.path)"), "\(retired.standardOutput)")

            // The archive holds what the world that kept 2025 still has in its ledger.
            let kept = keeping.root.appendingPathComponent("state/ledger.sqlite")
            let ledgerPath = retiring.root.appendingPathComponent("state/ledger.sqlite")
            let ofTheYear = "receipt_id IN (SELECT id FROM receipt WHERE claimed_at < 1751342400)"  // before July 1, 2025, Eastern
            for (table, condition) in [
                ("held_record", "school_year = 2025"), ("accepted_record", ofTheYear), ("delivered_record", ofTheYear),
                ("rejected_record", ofTheYear), ("receipt_issue", ofTheYear),
            ] {
                let expected = try sql(kept, "SELECT count(*) FROM \(table) WHERE \(condition)")
                #expect(try sql(archive, "SELECT count(*) FROM \(table)") == expected, "\(table)")
                #expect(try sql(ledgerPath, "SELECT count(*) FROM \(table) WHERE \(condition)") == "0", "\(table) left in the ledger")
            }
            #expect(try Int(sql(archive, "SELECT count(*) FROM held_record WHERE type = 'ATT'")) ?? 0 > 20)
            #expect(try sql(ledgerPath, "SELECT count(*) FROM receipt") == "5", "the receipts stay")

            // The current year, in both worlds.
            let retiredAt = Timestamp(secondsSinceEpoch: 1_768_218_300)  // 2026-01-12T11:45:00Z
            for world in [retiring, keeping] { try playCurrentYear(world) }
            let withoutOld = try await currentYear(retiring, claimedFrom: retiredAt)
            let withOld = try await currentYear(keeping, claimedFrom: retiredAt)
            #expect(withoutOld.receipts.count == 9 && !withoutOld.trail.isEmpty)
            #expect(withoutOld.receipts == withOld.receipts)
            #expect(withoutOld.trail == withOld.trail)

            // 2025's bytes again: a duplicate of the first receipt. Changed: refused, saying the year is closed.
            let (name, org) = Self.earlierFiles[0]
            let first = try #require(earlier.first { $0.originalName == Self.earlierName(name) })
            let bytes = try String(contentsOf: ScenarioWorld.scenario.appendingPathComponent("drops/\(name)"), encoding: .utf8)
            try Self.yearEarlier(bytes).write(
                to: retiring.drop.appendingPathComponent("\(org)/inbound/\(Self.earlierName(name).replacingOccurrences(of: "_0001", with: "_0002"))"),
                atomically: true, encoding: .utf8)
            try Self.yearEarlier(bytes).replacingOccurrences(of: "T15:30:00-05:00", with: "T16:30:00-05:00").write(
                to: retiring.drop.appendingPathComponent("\(org)/inbound/\(Self.earlierName(name).replacingOccurrences(of: "_0001", with: "_0003"))"),
                atomically: true, encoding: .utf8)
            let (attendance, center) = Self.earlierFiles[3]
            let attendanceText = try String(contentsOf: ScenarioWorld.scenario.appendingPathComponent("drops/\(attendance)"), encoding: .utf8)
            try Self.yearEarlier(attendanceText).replacingOccurrences(of: "<Header>", with: "<Header> ").write(
                to: retiring.drop.appendingPathComponent("\(center)/inbound/\(Self.earlierName(attendance).replacingOccurrences(of: "_0001", with: "_0002"))"),
                atomically: true, encoding: .utf8)
            try retiring.ktsx(["run", "--once", "--log-level", "warning"], clock: "2026-01-15T12:00:00Z")
            // Attendance of the closed year: ATT-13 alone (its roster is gone: ATT-01 would ask for an enrollment).
            let lateAttendance = try #require(try await retiring.ledger().receipts(matching: ReceiptQuery(senders: [center])).first)
            #expect(lateAttendance.outcome == .rejected && lateAttendance.originalName.hasSuffix("_0002.xml"))
            #expect(Set(try await retiring.ledger().issues(receiptId: lateAttendance.id).map(\.code.rawValue)) == ["ATT-13"])
            let again = try await retiring.ledger().receipts(matching: ReceiptQuery(senders: [org])).filter { $0.id != first.id }
            let duplicate = try #require(again.first { $0.originalName.hasSuffix("_0002.csv") })
            #expect(duplicate.outcome == .duplicate && duplicate.duplicateOf == first.id)
            let changed = try #require(again.first { $0.originalName.hasSuffix("_0003.csv") })
            #expect(changed.outcome == .rejected && changed.recordsRejected == changed.recordsReceived && changed.recordsReceived > 0)
            // Every record refused for its closed year, and for nothing else (in 2025 some failed other rules).
            let refusals = try await retiring.ledger().issues(receiptId: changed.id)
            #expect(Set(refusals.map(\.code.rawValue)) == ["ENR-09"] && Set(refusals.compactMap(\.line)).count == changed.recordsReceived)
            let ack = try String(contentsOf: retiring.drop.appendingPathComponent("\(org)/outbound/\(try #require(changed.ackFile))"), encoding: .utf8)
            #expect(ack.contains("ENR-09: the school year is closed and retired from the exchange: ask KTS support how to correct it"), "\(ack)")

            // Support sees where a retired receipt's details went; retiring again says it was done.
            let show = try retiring.ktsx(["show", first.id, "--format", "json"], clock: "2026-01-15T12:05:00Z")
            let story = try #require(try JSONSerialization.jsonObject(with: Data(show.standardOutput.utf8)) as? [String: Any])
            let retiredView = try #require(story["retired"] as? [String: Any])
            #expect(retiredView["archive"] as? String == archive.path && retiredView["schoolYear"] as? Int == 2025)
            #expect(try retiring.ktsx(["show", first.id], clock: "2026-01-15T12:05:00Z").standardOutput.contains("school year 2025, retired"))
            let twice = try retiring.ktsx(["retire", "--school-year", "2025"], clock: "2026-01-15T12:10:00Z")
            #expect(twice.standardOutput.contains("school year 2025 was retired already"), "\(twice.standardOutput)")
            // What remains still conserves: every record of the current year at exactly its receivers.
            let audit = try runProcess(
                Repository.ktsx.path, ["audit", "--config", retiring.config.path], environment: ["KTSX_CLOCK_START": "2026-01-15T12:10:00Z"])
            #expect(audit.status == 0, "\(audit.standardOutput)\(audit.standardError)")
        }
    }
}
