import ArgumentParser
import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeRuntime
import ExchangeSchemas
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `ktsx demo`: a small drop tree with sample participants and files, run until every file is
/// acknowledged, with a report of what happened and where the acknowledgements are.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a small drop tree with sample files, acknowledge them, and show what happened.")

    @Argument(help: "Where to build the demo (created; must be empty or absent).")
    var directory: String = "ktsx-demo"

    func run() async throws {
        let base = URL(fileURLWithPath: directory).standardizedFileURL
        let manager = FileManager.default
        if manager.fileExists(atPath: base.path), !((try? manager.contentsOfDirectory(atPath: base.path)) ?? []).isEmpty {
            throw ConfigurationFailure(message: "\(base.path) is not empty; name a new directory: ktsx demo DIR")
        }
        try manager.createDirectory(at: base, withIntermediateDirectories: true)
        try """
            # KTS Exchange demo settings
            drop_root = drop
            state_dir = state
            quiet_period = 1s
            poll_interval = 500ms

            """.write(to: base.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)
        try """
            orgId,name,classification,timeZone,outputFormat,doneMarker
            061014,Ridgeline Area Technology Center,C2,America/New_York,same,false
            165901,Bluegrass Career and Technical Center,A2,America/New_York,same,false
            061010,Ridgeline High School,A1,America/New_York,same,false
            165020,Bluegrass Central High School,A1,America/Chicago,xml,false

            """.write(to: base.appendingPathComponent("participants.csv"), atomically: true, encoding: .utf8)

        let configuration = try ExchangeConfiguration.load(directory: base.path)
        var exchange = try Exchange(configuration: configuration)
        let tree = configuration.tree
        func drop(_ example: String, as name: String, into orgId: String, change: (String) -> String = { $0 }) throws {
            guard let text = SchemaCatalog.examples[example] else { return }
            try change(text).write(toFile: "\(tree.inbound(orgId))/\(name)", atomically: true, encoding: .utf8)
        }
        // What partners send: good files, a broken one, the same file twice, a file in the wrong folder, a
        // file with one bad record, and a link to a system file.
        try drop("ATT.example.xml", as: "KTSX_ATT_165901_20251002T020000_0001.xml", into: "165901")
        try drop("ENR.example.csv", as: "KTSX_ENR_061010_20250929T073000_0001.csv", into: "061010")
        try drop("ENR.example.csv", as: "KTSX_ENR_061010_20250929T073000_0002.csv", into: "061010")
        try drop("ATT.example.xml", as: "KTSX_ATT_165901_20251003T020000_0002.xml", into: "165901") {
            $0.replacingOccurrences(of: "<AttendanceDate>2026-", with: "<AttendanceDate>2026-13-")
                .replacingOccurrences(of: "<AttendanceStatus>P</AttendanceStatus>", with: "<AttendanceStatus>Present</AttendanceStatus>")
        }
        try drop("GRD.example.xml", as: "KTSX_GRD_061014_20251031T180000_0001.xml", into: "165901")
        // Partly invalid: one enrollment claims another home school (rule ENR-01); the others are applied.
        try drop("ENR.example.csv", as: "KTSX_ENR_061010_20250930T073000_0003.csv", into: "061010") { text in
            var lines = text.components(separatedBy: "\n")
            if lines.count > 2 { lines[2] = lines[2].replacingOccurrences(of: ",061010,061014,", with: ",061020,061014,") }
            return lines.joined(separator: "\n")
        }
        symlink("/etc/passwd", "\(tree.inbound("061014"))/passwd.csv")

        print("Demo drop tree: \(base.path)")
        print("Dropped 7 entries into inbound/ folders; acknowledging (quiet period 1 s)...\n")
        var logger = Logger(label: "ktsx") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        let summary = try await ExchangeService.runUntilSettled(
            cycle: &exchange.cycle, pollInterval: .milliseconds(250), maxWait: .seconds(30), logger: logger)

        let pad = { (text: String, width: Int) in text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
        print(pad("sender", 8) + pad("file", 44) + pad("outcome", 22) + "errors")
        for receipt in try exchange.ledger.allReceipts() {
            print(
                pad(receipt.senderOrgId, 8) + pad(receipt.originalName, 44) + pad(receipt.outcome?.rawValue ?? receipt.state.rawValue, 22)
                    + "\(receipt.errorCount)")
        }
        print("\nAcknowledgements and error files, in each sender's outbound/:")
        for participant in configuration.participants {
            let names = ((try? manager.contentsOfDirectory(atPath: tree.outbound(participant.orgId))) ?? []).sorted()
            for name in names where !name.hasPrefix(".") {
                print("  \(tree.outbound(participant.orgId))/\(name)")
            }
        }
        print("\nprocessed \(summary.processed), set aside \(summary.setAside), failed \(summary.failed)")
        print("Originals: \(configuration.settings.stateDirectory)/archive (accepted) and .../quarantine (rejected)")
        print("Ledger: \(tree.ledgerPath)")
    }
}
