import ExchangeTesting
import Foundation
import Testing

/// `ktsx audit` against planted faults: each one makes it fail, naming the receipt, record, receiver or file.
@Suite("ktsx audit: conservation checked, planted faults named", .serialized)
struct AuditTests {
    /// Enrollments of three high schools, then a center's attendance for students of all three.
    static func routedWorld(at root: URL) throws -> ScenarioWorld {
        let world = try ScenarioWorld(root: root)
        try world.enrolAll()
        try world.drop("KTSX_ATT_061014_20260112T163000_0001.xml", by: "061014", at: "2026-01-12T21:30:00Z")
        return world
    }

    static let clock = "2026-01-12T21:31:00Z"

    func audit(_ world: ScenarioWorld) throws -> (status: Int32, found: [[String: Any]]) {
        let result = try runProcess(
            Repository.ktsx.path, ["audit", "--format", "json", "--config", world.config.path], environment: ["KTSX_CLOCK_START": Self.clock])
        let view = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        return (result.status, view["discrepancies"] as? [[String: Any]] ?? [])
    }

    func sql(_ world: ScenarioWorld, _ statement: String) throws -> String {
        let result = try runProcess("sqlite3", [world.root.appendingPathComponent("state/ledger.sqlite").path, statement])
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The routed attendance file of one school, and the receipt that wrote it.
    func routedFile(_ world: ScenarioWorld, school: String) throws -> (receipt: String, file: String) {
        let row = try sql(world, "SELECT receipt_id || '|' || file_name FROM delivery WHERE recipient_org_id = '\(school)' AND file_name LIKE 'KTSX_ATT_%'")
        let parts = row.split(separator: "|").map(String.init)
        try #require(parts.count == 2, "\(row)")
        return (parts[0], parts[1])
    }

    @Test("on a clean run it holds (exit 0); a removed delivery row, a routed file deleted before pickup and a record routed twice each fail it, named")
    func plantedFaults() async throws {
        try withTemporaryDirectory { root in
            let world = try Self.routedWorld(at: root)
            let clean = try audit(world)
            #expect(clean.status == 0 && clean.found.isEmpty, "\(clean.found)")

            // 1. One delivery row removed: the trail names a file the ledger does not deliver, and the file
            //    in outbound/ is no recorded delivery.
            let licking = try routedFile(world, school: "061020")
            _ = try sql(world, "DELETE FROM delivery WHERE receipt_id = '\(licking.receipt)' AND recipient_org_id = '061020'")
            let removed = try audit(world)
            #expect(removed.status == 1)
            #expect(Set(removed.found.compactMap { $0["kind"] as? String }) == ["delivery-not-recorded", "unrecorded-file"])
            #expect(removed.found.allSatisfy { $0["receiver"] as? String == "061020" && $0["file"] as? String == licking.file })
        }
        try withTemporaryDirectory { root in
            let world = try Self.routedWorld(at: root)
            // 2. A routed file deleted before pickup, with nothing recorded: missing, naming receiver and file.
            let elkhorn = try routedFile(world, school: "165020")
            try FileManager.default.removeItem(at: world.drop.appendingPathComponent("165020/outbound/\(elkhorn.file)"))
            let deleted = try audit(world)
            #expect(deleted.status == 1)
            #expect(deleted.found.map { $0["kind"] as? String } == ["file-missing"])
            #expect(deleted.found.first?["receiver"] as? String == "165020")
            #expect(deleted.found.first?["source"] as? String == elkhorn.receipt)
        }
        try withTemporaryDirectory { root in
            let world = try Self.routedWorld(at: root)
            // 3. A record routed twice: a Ridgeline record also in Licking's file (the ledger's trail and the file).
            let ridgeline = try routedFile(world, school: "061010")
            let licking = try routedFile(world, school: "061020")
            let record = try sql(world, "SELECT record_id FROM delivered_record WHERE recipient_org_id = '061010' LIMIT 1")
            _ = try sql(
                world,
                "INSERT INTO delivered_record VALUES ('\(ridgeline.receipt)', '061020', '\(licking.file)', '\(ridgeline.receipt)', '\(record)')")
            let doubled = try audit(world)
            #expect(doubled.status == 1)
            let wrong = try #require(doubled.found.first { $0["kind"] as? String == "wrong-receiver" })
            #expect(wrong["recordId"] as? String == record && wrong["receiver"] as? String == "061020")
            #expect(doubled.found.contains { $0["kind"] as? String == "file-differs-from-trail" && $0["receiver"] as? String == "061020" })
            // The text for support names it too, with no student data.
            let text = try runProcess(
                Repository.ktsx.path, ["audit", "--config", world.config.path], environment: ["KTSX_CLOCK_START": Self.clock])
            #expect(text.status == 1)
            #expect(text.standardOutput.contains("conservation FAILS") && text.standardOutput.contains(record))
            #expect(!text.standardOutput.contains("Adams"))
        }
    }
}
