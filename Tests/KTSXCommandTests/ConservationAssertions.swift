import ExchangeTesting
import Foundation
import Testing

/// What every test that runs the service checks at its end (DESIGN sections 2 and 4): `ktsx audit` finds
/// conservation holding, no hidden temporary is left in any `outbound/`, and every file the exchange
/// wrote passes `ktsx validate`.
enum Conservation {
    /// Checks a drop tree and its ledger, run as `ktsx` at `clock` on `config`.
    static func expectHolds(
        config: URL, drop: URL, clock: String, environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let audit = try runProcess(
            Repository.ktsx.path, ["audit", "--config", config.path], environment: environment.merging(["KTSX_CLOCK_START": clock]) { $1 })
        #expect(audit.status == 0, "ktsx audit: \(audit.standardOutput) \(audit.standardError)", sourceLocation: sourceLocation)
        let outbound = try FileManager.default.contentsOfDirectory(atPath: drop.path).sorted().map { drop.appendingPathComponent("\($0)/outbound") }
        var visible: [String] = []
        for folder in outbound {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            let hidden = names.filter { $0.hasPrefix(".") }
            #expect(hidden.isEmpty, "hidden files left in \(folder.lastPathComponent): \(hidden)", sourceLocation: sourceLocation)
            visible += names.filter { !$0.hasPrefix(".") }.map { folder.appendingPathComponent($0).path }
        }
        guard !visible.isEmpty else { return }
        let check = try runProcess(Repository.ktsx.path, ["validate"] + visible)
        #expect(
            check.status == 0, "files the exchange wrote fail validation: \(check.standardOutput.split(separator: "\n").filter { $0.contains("INVALID") })",
            sourceLocation: sourceLocation)
    }
}
