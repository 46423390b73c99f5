import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

/// `ktsx validate --config`: a file judged under the rules as the exchange would judge it if sent now,
/// against the configuration's reference data and ledger, which it only reads.
@Suite("ktsx validate --config: the rules' verdict before sending, nothing kept", .serialized)
struct PreCheckCommandTests {
    /// `ktsx validate --config` on `files` at `clock`, in JSON.
    static func preCheck(_ world: ScenarioWorld, _ files: [String], as sender: String? = nil, clock: String) throws -> (
        result: ProcessResult, reports: [[String: Any]]
    ) {
        let arguments = ["validate", "--config", world.config.path, "--format", "json"] + (sender.map { ["--as", $0] } ?? []) + files
        let result = try runProcess(Repository.ktsx.path, arguments, environment: ["KTSX_CLOCK_START": clock])
        let reports = (try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))) as? [[String: Any]] ?? []
        return (result, reports)
    }

    /// The scenario's world with its ledger made (a first `ktsx run --once` with nothing dropped).
    static func started(_ root: URL) throws -> ScenarioWorld {
        let world = try ScenarioWorld(root: root)
        try world.ktsx(["run", "--once", "--log-level", "warning"], clock: "2026-01-12T11:00:00Z")
        return world
    }

    /// Every file under the state directory and the drop tree, with its size and modification time (but
    /// SQLite's write-ahead log and its index, which any reader of the ledger may create, empty).
    static func snapshot(_ world: ScenarioWorld) throws -> [String: String] {
        var files: [String: String] = [:]
        for folder in [world.root.appendingPathComponent("state"), world.drop] {
            guard let walk = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walk where !url.path.hasSuffix("-shm") && !url.path.hasSuffix("-wal") {
                let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
                files[url.path] = "\(attributes[.size] ?? 0) \(attributes[.modificationDate] ?? "")"
            }
        }
        return files
    }

    @Test("the pre-check's verdict is the one the exchange then gives the file: outcome, records applied, the lines refused")
    func agreesWithArrival() async throws {
        try await withTemporaryDirectory { root in
            let world = try ScenarioWorld(root: root)
            try world.enrolAll()
            let name = "KTSX_ATT_061014_20260112T163000_0001.xml"
            let file = ScenarioWorld.scenario.appendingPathComponent("drops/\(name)").path
            let before = try PreCheckCommandTests.snapshot(world)
            let (result, reports) = try PreCheckCommandTests.preCheck(world, [file], clock: "2026-01-12T21:30:00Z")
            #expect(try PreCheckCommandTests.snapshot(world) == before, "the pre-check changed the state directory or the drop tree")
            let report = try #require(reports.first, "\(result.standardError)")
            #expect(report["sender"] as? String == "061014")
            #expect(report["rulesChecked"] as? Bool == true)
            let lines = Set((report["errors"] as? [[String: Any]] ?? []).compactMap { $0["line"] as? Int })

            try world.drop(name, by: "061014", at: "2026-01-12T21:30:00Z")
            let ledger = try world.ledger()
            let receipt = try #require(try await ledger.allReceipts().last)
            #expect(report["outcome"] as? String == receipt.outcome?.rawValue)
            #expect(report["recordsApplied"] as? Int == receipt.recordsAccepted)
            #expect(result.status == (receipt.outcome == .accepted ? 0 : 1))
            #expect(lines == Set(try await ledger.rejectedRecords(receiptId: receipt.id).map(\.line)))
        }
    }

    @Test("attendance for students no high school has enrolled yet: judged under the rules, none would be applied")
    func rulesRefuse() throws {
        try withTemporaryDirectory { root in
            let world = try PreCheckCommandTests.started(root)
            let file = ScenarioWorld.scenario.appendingPathComponent("drops/KTSX_ATT_165901_20260112T163000_0001.csv").path
            let (result, reports) = try PreCheckCommandTests.preCheck(world, [file], as: "165901", clock: "2026-01-12T21:30:00Z")
            #expect(result.status == 1, "\(result.standardError)")
            let report = try #require(reports.first)
            #expect(report["outcome"] as? String == "REJECTED")
            #expect(report["rulesChecked"] as? Bool == true)
            #expect(report["recordsApplied"] as? Int == 0)
            let codes = Set((report["errors"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String })
            #expect(!codes.isEmpty && codes.allSatisfy { $0.hasPrefix("ATT-") }, "\(codes)")

            let text = try runProcess(
                Repository.ktsx.path, ["validate", "--config", world.config.path, "--as", "165901", file],
                environment: ["KTSX_CLOCK_START": "2026-01-12T21:30:00Z"])
            #expect(text.standardOutput.contains("REJECTED if 165901 sent it now"), "\(text.standardOutput)")
            #expect(text.standardOutput.contains("would be applied"))
        }
    }

    @Test("a file refused at the gate says its records were not checked against the rules")
    func gateFirst() throws {
        try withTemporaryDirectory { root in
            let world = try PreCheckCommandTests.started(root)
            let file = Repository.fixtures.appendingPathComponent("hostile/unknown-header.csv").path
            let result = try runProcess(Repository.ktsx.path, ["validate", "--config", world.config.path, file])
            #expect(result.status == 1)
            #expect(result.standardOutput.contains("INVALID"))
            #expect(result.standardOutput.contains("Its records were not checked against the exchange's rules"))
        }
    }

    @Test("a CSV file names no sender: without --as the pre-check says to name one")
    func csvNeedsSender() throws {
        try withTemporaryDirectory { root in
            let world = try PreCheckCommandTests.started(root)
            let file = ScenarioWorld.scenario.appendingPathComponent("drops/KTSX_ENR_061010_20260112T070000_0001.csv").path
            let result = try runProcess(Repository.ktsx.path, ["validate", "--config", world.config.path, file])
            #expect(result.status == 2)
            #expect(result.standardError.contains("--as ORGID"), "\(result.standardError)")
            let stranger = try runProcess(Repository.ktsx.path, ["validate", "--config", world.config.path, "--as", "999999", file])
            #expect(stranger.status == 2)
            #expect(stranger.standardError.contains("999999 is not a participant"), "\(stranger.standardError)")
        }
    }

    @Test("no ledger yet: the pre-check says so and creates none")
    func noLedger() throws {
        try withTemporaryDirectory { root in
            let world = try ScenarioWorld(root: root)
            let ledger = root.appendingPathComponent("state/ledger.sqlite")
            let file = ScenarioWorld.scenario.appendingPathComponent("drops/KTSX_ENR_061020_20260112T070000_0001.xml").path
            let result = try runProcess(Repository.ktsx.path, ["validate", "--config", world.config.path, file])
            #expect(result.status == 2)
            #expect(result.standardError.contains("no ledger"), "\(result.standardError)")
            #expect(!FileManager.default.fileExists(atPath: ledger.path))
        }
    }
}
