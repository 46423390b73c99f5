import ArgumentParser
import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeRules
import ExchangeRuntime
import ExchangeSchemas
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `ktsx demo`: the golden scenario's week in a fresh drop tree: enrollments, attendance (unknowns
/// resolved a day later, one stale correction), grades, the nightly jobs, waivers and a decision, with a
/// report of what happened and where every file went.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play a week of the exchange in a new drop tree and show what happened.",
        discussion: "The demo's clock is set to Friday, January 16, 2026, 10:15 Kentucky time (unless KTSX_CLOCK_START says otherwise).")

    @Argument(help: "Where to build the demo (created; must be empty or absent).")
    var directory: String = "ktsx-demo"

    func run() async throws {
        let base = URL(fileURLWithPath: directory).standardizedFileURL
        let manager = FileManager.default
        if manager.fileExists(atPath: base.path), !((try? manager.contentsOfDirectory(atPath: base.path)) ?? []).isEmpty {
            throw ConfigurationFailure(message: "\(base.path) is not empty; name a new directory: ktsx demo DIR")
        }
        if ProcessInfo.processInfo.environment["KTSX_CLOCK_START"] == nil { setenv("KTSX_CLOCK_START", "2026-01-16T15:15:00Z", 1) }
        try manager.createDirectory(at: base, withIntermediateDirectories: true)
        try """
            # KTS Exchange demo settings
            drop_root = drop
            state_dir = state
            quiet_period = 1s
            poll_interval = 500ms

            """.write(to: base.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)
        for (name, text) in DemoScenario.config {
            try text.write(to: base.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let configuration = try ExchangeConfiguration.load(directory: base.path)
        var exchange = try await Exchange(configuration: configuration, asService: true)
        try await exchange.running {
            let tree = configuration.tree
            var logger = Logger(label: "ktsx") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = .warning

            print("Demo drop tree: \(base.path) (clock: \(WallClock.now().iso8601))\n")
            // The week, in the order it happened: each batch is dropped, then acknowledged.
            let batches: [(String, [String])] = [
                ("Monday morning: the high schools send enrollments", ["KTSX_ENR_"]),
                ("Monday afternoon: attendance", ["KTSX_ATT_061014_20260112", "KTSX_ATT_165901_20260112"]),
                ("Tuesday afternoon: attendance, Monday's unknowns resolved", ["KTSX_ATT_061014_20260113", "KTSX_ATT_165901_20260113"]),
                ("Wednesday afternoon: progress and final grades", ["KTSX_GRD_061014_20260114", "KTSX_GRD_165901_20260114"]),
                ("Friday: waiver requests from both centers", ["KTSX_WVR_165901_20260116", "KTSX_WVR_061014_20260116"]),
            ]
            for (title, prefixes) in batches {
                let names = DemoScenario.drops.keys.filter { name in prefixes.contains { name.hasPrefix($0) } }.sorted()
                for name in names {
                    let org = String(name.split(separator: "_")[2])
                    try DemoScenario.drops[name]!.write(toFile: "\(tree.inbound(org))/\(name)", atomically: true, encoding: .utf8)
                }
                print("\(title): \(names.count) file\(names.count == 1 ? "" : "s")")
                _ = try await ExchangeService.runUntilSettled(
                    cycle: &exchange.cycle, pollInterval: .milliseconds(250), maxWait: .seconds(30), logger: logger)
            }
            // Monday's unknown absences were resolved in Tuesday's file; Tuesday's are still unknown.
            let syncs = try await exchange.jobs.syncUnknownAttendance(night: LocalDate("2026-01-14")!, logger: logger)
            print("Unknown-attendance sync for Tuesday: \(syncs.map { "\($0.records) unknown absences to \($0.runKey.prefix(6))" }.joined(separator: ", "))")
            if let posting = try await exchange.jobs.postGrades(runKey: "demo", logger: logger) {
                print("Grade posting: \(posting.records) grades in \(posting.files) files")
            }
            let (_, decided) = try await exchange.jobs.decideWaiver(
                id: DemoScenario.approvedWaiverId, approve: true, reason: "Approved for the demo.", logger: logger)
            print("Waiver \(decided.id) of \(decided.centerOrgId): \(decided.status.rawValue)\n")

            let pad = { (text: String, width: Int) in text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
            print(pad("sender", 8) + pad("file", 46) + pad("outcome", 22) + "records (accepted/received), errors")
            for receipt in try await exchange.ledger.allReceipts() {
                print(
                    pad(receipt.senderOrgId, 8) + pad(receipt.originalName, 46) + pad(receipt.outcome?.rawValue ?? receipt.state.rawValue, 22)
                        + "\(receipt.recordsAccepted)/\(receipt.recordsReceived), \(receipt.errorCount)")
            }
            print("\nEvery participant's outbound/ (acknowledgements, error files, routed attendance and enrollments,")
            print("grade postings, the unknown-attendance sync, the waiver decision):")
            for participant in configuration.participants {
                let names = ((try? manager.contentsOfDirectory(atPath: tree.outbound(participant.orgId))) ?? []).sorted()
                print("  \(participant.orgId) \(participant.name):")
                for name in names where !name.hasPrefix(".") { print("    \(name)") }
            }
            print("\nOriginals: \(configuration.settings.stateDirectory)/archive (accepted) and .../quarantine (rejected)")
            print("Ledger: \(tree.ledgerPath)")
            print("\nTry the support tools on it:")
            for command in ["status", "submissions --outcome rejected", "show RECEIPT", "deliveries --pending", "participants --quiet", "waivers"] {
                print("  ktsx \(command) --config \(base.path)")
            }
            print("The review page: add a user (`ktsx hash-password --user NAME --config \(base.path) < password.txt`),")
            print("run `ktsx run --config \(base.path)`, open http://127.0.0.1:8480/.")
        }
    }
}
