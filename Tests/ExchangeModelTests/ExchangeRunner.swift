import ExchangeTesting
import Foundation

/// Plays a scenario through the real `ktsx` binary on an injected clock (`KTSX_CLOCK_START`, the test hook the
/// golden scenario uses): `ktsx init`, then for each step the files copied into `inbound/` and `ktsx run --once`,
/// or a nightly job on demand (`ktsx post-grades`, `ktsx sync-unknown-attendance --date`).
struct ExchangeRunner {
    /// The configuration directory.
    let config: URL
    /// The drop tree.
    let drop: URL
    /// The state directory.
    let state: URL
    /// The binary.
    let ktsx: String

    /// A runner whose folders are under `directory`.
    init(directory: URL, ktsx: String = Repository.ktsx.path) {
        config = directory.appendingPathComponent("config")
        drop = directory.appendingPathComponent("drop")
        state = directory.appendingPathComponent("state")
        self.ktsx = ktsx
    }

    /// Writes the configuration and runs `ktsx init`; returns problems (a failing command).
    func prepare(_ world: World) throws -> [String] {
        try ReferenceDataWriter.write(world, config: config, drop: drop, state: state)
        let result = try run(["init", "--config", config.path])
        return result.status == 0 ? [] : ["ktsx init failed (\(result.status)): \(result.standardError.suffix(2000))"]
    }

    /// Runs every step in order; returns problems (a command that failed, a file left unacknowledged).
    func play(_ steps: [TimelineStep]) throws -> [String] {
        var problems: [String] = []
        for step in steps {
            let clock = ["KTSX_CLOCK_START": step.moment.utc]
            let arguments: [String]
            switch step {
            case .drop(_, let files):
                for file in files {
                    let inbound = drop.appendingPathComponent(file.sender).appendingPathComponent("inbound")
                    // Written under a hidden name, then renamed into place, as an SFTP client with temporary names would.
                    let hidden = inbound.appendingPathComponent(".\(file.name).part")
                    try file.bytes.write(to: hidden)
                    try FileManager.default.moveItem(at: hidden, to: inbound.appendingPathComponent(file.name))
                }
                arguments = ["run", "--once", "--max-wait", "60", "--log-level", "warning"]
            case .postGrades:
                arguments = ["post-grades", "--log-level", "warning"]
            case .syncUnknownAttendance(_, let day):
                arguments = ["sync-unknown-attendance", "--date", day.iso, "--log-level", "warning"]
            case .schedulerPass:
                arguments = ["run", "--once", "--max-wait", "60", "--log-level", "warning"]
            }
            let result = try run(arguments + ["--config", config.path], environment: clock)
            let command = "ktsx \(arguments.prefix(2).joined(separator: " ")) at \(step.moment.utc)"
            if result.status != 0 {
                problems.append("\(command) exited \(result.status): \(result.standardError.suffix(1500))")
            }
            if case .drop(_, let files) = step {
                let left = files.filter { FileManager.default.fileExists(atPath: drop.appendingPathComponent($0.sender).appendingPathComponent("inbound").appendingPathComponent($0.name).path) }
                if !left.isEmpty { problems.append("\(command): files still in inbound/: \(left.map(\.name))") }
            }
        }
        return problems
    }

    /// Runs the binary; while it is being rebuilt (missing, or "text file busy"), waits for it, up to two minutes.
    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        let deadline = Date().addingTimeInterval(120)
        while true {
            do {
                guard FileManager.default.isExecutableFile(atPath: ktsx) || Date() > deadline else { throw CocoaError(.fileNoSuchFile) }
                return try runProcess(ktsx, arguments, timeout: 300, environment: environment)
            } catch {
                guard Date() < deadline else { throw error }
                Thread.sleep(forTimeInterval: 2)
            }
        }
    }

    /// `ktsx audit` on the world's ledger and drop tree at `clock`: the discrepancies it prints (empty when
    /// conservation holds and it exits 0). The audit is the product's own check; the model's comparison is the
    /// independent one, and both must agree that nothing was lost, doubled or misrouted.
    func audit(at clock: String) throws -> [String] {
        let result = try run(["audit", "--config", config.path], environment: ["KTSX_CLOCK_START": clock])
        guard result.status != 0 else { return [] }
        return ["ktsx audit exited \(result.status): \(result.standardOutput.suffix(3000)) \(result.standardError.suffix(1000))"]
    }

    /// `ktsx attendance-report` of `school` from `from` through `to`: the CSV's rows by its header, or the
    /// command's failure.
    func attendanceReport(school: String, from: CivilDate, to: CivilDate, clock: String) throws -> Result<[[String: String]], CommandFailure> {
        let result = try run(
            ["attendance-report", "--config", config.path, "--school", school, "--from", from.iso, "--to", to.iso], environment: ["KTSX_CLOCK_START": clock])
        guard result.status == 0, let rows = CSVReader.rows(result.standardOutput), let header = rows.first else {
            return .failure(CommandFailure(message: "ktsx attendance-report --school \(school) exited \(result.status): \(result.standardError.suffix(1000))"))
        }
        return .success(rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) })
    }

    /// `ktsx validate --format json` over `files`: the files it finds invalid, with their first errors (empty when
    /// it exits 0).
    func validate(_ files: [URL]) throws -> [String] {
        guard !files.isEmpty else { return [] }
        var problems: [String] = []
        for chunk in stride(from: 0, to: files.count, by: 400).map({ Array(files[$0..<min($0 + 400, files.count)]) }) {
            let result = try run(["validate", "--format", "json"] + chunk.map(\.path))
            guard result.status != 0 else { continue }
            if let data = result.standardOutput.data(using: .utf8),
               let verdicts = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] {
                for verdict in verdicts where (verdict["valid"] as? Bool) != true {
                    let errors = (verdict["errors"] as? [[String: Any]] ?? []).prefix(3).map {
                        "line \($0["line"] ?? "-") \($0["field"] ?? "-") \($0["code"] ?? "-"): \($0["message"] ?? "")"
                    }
                    problems.append("\((verdict["file"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent } ?? "?") fails ktsx validate: \(errors.joined(separator: "; "))")
                }
            }
            if problems.isEmpty { problems.append("ktsx validate exited \(result.status): \(result.standardError.suffix(1000)) \(result.standardOutput.suffix(1000))") }
        }
        return problems
    }
}

/// A command of the binary that failed, in words.
struct CommandFailure: Error {
    var message: String
}
