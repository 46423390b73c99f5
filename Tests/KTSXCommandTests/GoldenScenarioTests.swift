import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

/// The golden scenario (`Fixtures/scenario/`, made by `tools/gen_scenario.py`): a week of a miniature
/// school year played step by step through the real binary on an injected clock, then the whole
/// `outbound/` tree compared with `Fixtures/scenario/expected/`, receipt and run ids and times
/// normalised. `KTSX_UPDATE_GOLDEN=1` rewrites the expected tree (review the diff before committing).
@Suite("Golden scenario: a week of the exchange, every outbound file as expected", .serialized)
struct GoldenScenarioTests {
    static let scenario = Repository.fixtures.appendingPathComponent("scenario")

    @Test("enrollments, a week of attendance, grades, nightly jobs twice, waivers: the outbound tree")
    func week() async throws {
        try await withTemporaryDirectory { root in
            let scenario = try PlayedScenario(root: root)
            let config = scenario.config
            func ktsx(_ arguments: [String], clock: String) throws -> ProcessResult { try scenario.ktsx(arguments, clock: clock) }
            let transcript = scenario.transcript
            // Support's view of the waivers, and a second decision refused.
            let listed = try ktsx(["waivers", "--format", "json"], clock: "2026-03-05T16:00:00Z")
            let waivers = try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]] ?? []
            #expect(waivers.map { $0["status"] as? String } == ["approved"])
            #expect(waivers.first?["centerOrgId"] as? String == "165901")
            let id = try #require(waivers.first?["id"] as? String)
            let again = try runProcess(
                Repository.ktsx.path, ["waiver", "deny", id, "--reason", "No.", "--config", config.path],
                environment: ["KTSX_CLOCK_START": "2026-03-05T16:00:00Z"])
            #expect(again.status == 2)
            #expect(again.standardError.contains("already approved"), "\(again.standardError)")
            let ledger = try SQLiteLedger(path: root.appendingPathComponent("state/ledger.sqlite").path)
            let actual = try await Self.normalisedTree(drop: root.appendingPathComponent("drop"), ledger: ledger)
            let expectedRoot = Self.scenario.appendingPathComponent("expected")
            if ProcessInfo.processInfo.environment["KTSX_UPDATE_GOLDEN"] == "1" {
                try? FileManager.default.removeItem(at: expectedRoot)
                for (path, text) in actual {
                    let url = expectedRoot.appendingPathComponent(path)
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try text.write(to: url, atomically: true, encoding: .utf8)
                }
                try (transcript.joined(separator: "\n") + "\n").write(
                    to: Self.scenario.appendingPathComponent("transcript.txt"), atomically: true, encoding: .utf8)
            }
            let expected = try Self.tree(at: expectedRoot)
            #expect(Set(actual.keys) == Set(expected.keys), "missing \(Set(expected.keys).subtracting(actual.keys).sorted()), unexpected \(Set(actual.keys).subtracting(expected.keys).sorted())")
            for (path, text) in expected.sorted(by: { $0.key < $1.key }) where actual[path] != nil {
                #expect(actual[path] == text, "\(path) differs from Fixtures/scenario/expected")
            }
            // Every file in the tree is valid against its bundled schema.
            let files = try FileManager.default.subpathsOfDirectory(atPath: root.appendingPathComponent("drop").path)
                .filter { $0.contains("/outbound/") && !($0 as NSString).lastPathComponent.hasPrefix(".") }
                .map { root.appendingPathComponent("drop/\($0)").path }
            let check = try runProcess(Repository.ktsx.path, ["validate"] + files)
            #expect(check.status == 0, "\(check.standardOutput.split(separator: "\n").filter { $0.contains("INVALID") })")
            // Each nightly job ran once per night, whatever was run twice, and after the downtime from
            // January 17 to March 5 the missed nights were caught up once each (catch_up_days = 7).
            let postings = try await ledger.jobRuns(.gradePosting).map(\.runKey)
            #expect(postings.filter { $0.hasPrefix("night:") } == [
                "night:2026-01-11", "night:2026-01-12", "night:2026-01-13", "night:2026-01-14", "night:2026-01-15",
            ] + (26...28).map { "night:2026-02-\($0)" } + (1...4).map { "night:2026-03-0\($0)" })
            #expect(postings.filter { $0.hasPrefix("manual:") }.count == 1)
            let syncs = try await ledger.jobRuns(.unknownSync).map(\.runKey).filter { !$0.hasPrefix("night:") }
            #expect(Array(syncs.prefix(5)) == ["061010|2026-01-09", "061010|2026-01-12", "061010|2026-01-13", "061010|2026-01-14", "061010|2026-01-15"])
            #expect(Set(syncs).count == syncs.count)
        }
    }

    /// The visible outbound files by `ORG/NAME`, with ids and clock times replaced by stable tokens: a
    /// receipt id by the name of the file it acknowledges, a job run id by its job and key, a UTC time
    /// of day by `hh:mm:ss`, a daily summary's hours waited by `h`.
    static func normalisedTree(drop: URL, ledger: SQLiteLedger) async throws -> [String: String] {
        var tokens: [(String, String)] = []
        for receipt in try await ledger.allReceipts() { tokens.append((receipt.id, "{\(receipt.originalName)}")) }
        for job in JobKind.allCases {
            for run in try await ledger.jobRuns(job) { tokens.append((run.id, "{\(job.rawValue) \(run.runKey)}")) }
        }
        // Long ids first, then the six-hex tags that names carry after their yyyymmddThhmmss.
        func normalise(_ text: String) -> String {
            var text = Self.waitingLinesInOrderOfMinute(text)
            for (id, token) in tokens { text = text.replacingOccurrences(of: id, with: token) }
            for (id, token) in tokens {
                let tag = String(id.suffix(6))
                text = text.replacingOccurrences(of: #"[0-9]{8}T[0-9]{6}_"# + tag, with: token, options: .regularExpression)
            }
            // Hours waited, in a daily summary, depend on the seconds the steps took.
            return text.replacingOccurrences(
                of: #"([0-9]{4}-[0-9]{2}-[0-9]{2})T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"#, with: "$1Thh:mm:ssZ", options: .regularExpression)
                .replacingOccurrences(of: #"<HoursWaiting>[0-9]+</HoursWaiting>"#, with: "<HoursWaiting>h</HoursWaiting>", options: .regularExpression)
                .replacingOccurrences(of: #"(?m)^([^\n]*,WAITING,[^\n]*,)[0-9]+$"#, with: "$1h", options: .regularExpression)
        }
        var tree: [String: String] = [:]
        for org in try FileManager.default.contentsOfDirectory(atPath: drop.path) {
            let outbound = drop.appendingPathComponent("\(org)/outbound")
            for name in try FileManager.default.contentsOfDirectory(atPath: outbound.path) where !name.hasPrefix(".") {
                tree["\(org)/\(normalise(name))"] = normalise(try String(contentsOf: outbound.appendingPathComponent(name), encoding: .utf8))
            }
        }
        return tree
    }

    /// A daily summary's WAITING lines put in order of the minute they were written, then name. The
    /// summary orders them by second, then name; files written in one step land in seconds that depend
    /// on how fast the machine judged them (several senders at once), and every step starts on a whole
    /// minute and ends within it. The pure order is `DailySummaryTests`' to check.
    static func waitingLinesInOrderOfMinute(_ text: String) -> String {
        func key(_ line: String) -> String {
            let minute = line.firstMatch(of: #/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}/#).map { String($0.output) } ?? ""
            let name = line.firstMatch(of: #/<FileName>([^<]*)</FileName>|,WAITING,([^,]*),/#).map { String($0.output.1 ?? $0.output.2 ?? "") } ?? ""
            return minute + " " + name
        }
        // An XML summary's lines are its <SummaryLine> elements, a CSV summary's its rows.
        let pattern = text.contains("<SummaryLine>") ? #/<SummaryLine>.*?</SummaryLine>/#.dotMatchesNewlines() : #/[^\n]+/#
        let waiting = text.matches(of: pattern).filter { $0.output.contains("<LineType>WAITING</LineType>") || $0.output.contains(",WAITING,") }
        guard waiting.count > 1 else { return text }
        let ordered = waiting.map { String($0.output) }.sorted { key($0) < key($1) }
        var result = ""
        var rest = text.startIndex
        for (match, line) in zip(waiting, ordered) {
            result += text[rest..<match.range.lowerBound] + line
            rest = match.range.upperBound
        }
        return result + text[rest...]
    }

    static func tree(at root: URL) throws -> [String: String] {
        var tree: [String: String] = [:]
        for path in (try? FileManager.default.subpathsOfDirectory(atPath: root.path)) ?? [] {
            var isDirectory: ObjCBool = false
            let url = root.appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                tree[path] = try String(contentsOf: url, encoding: .utf8)
            }
        }
        return tree
    }
}

/// The golden scenario played through the real binary into a folder: `config/`, `drop/`, `state/`.
struct PlayedScenario {
    let root: URL
    let config: URL
    /// What each `run` and `ktsx` step printed, with its clock.
    private(set) var transcript: [String] = []

    /// Plays `Fixtures/scenario/steps.tsv` into `root`.
    init(root: URL) throws {
        self.root = root
        config = root.appendingPathComponent("config")
        try FileManager.default.copyItem(at: GoldenScenarioTests.scenario.appendingPathComponent("config"), to: config)
        try "drop_root = ../drop\nstate_dir = ../state\nquiet_period = 100ms\npoll_interval = 100ms\n"
            .write(to: config.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)
        _ = try ktsx(["init"], clock: "2026-01-12T11:00:00Z")
        let steps = try String(contentsOf: GoldenScenarioTests.scenario.appendingPathComponent("steps.tsv"), encoding: .utf8)
        var transcript: [String] = []
        for line in steps.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let clock = fields[0]
            switch fields[1] {
            case "drop":
                try FileManager.default.copyItem(
                    at: GoldenScenarioTests.scenario.appendingPathComponent("drops/\(fields[3])"),
                    to: root.appendingPathComponent("drop/\(fields[2])/inbound/\(fields[3])"))
            case "run":
                let result = try ktsx(["run", "--once", "--log-level", "warning"], clock: clock)
                transcript.append("\(clock) run: \(result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))")
            case "ktsx":
                let result = try ktsx(Array(fields[2...]), clock: clock)
                transcript.append("\(clock) \(fields[2]): \(result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))")
            default:
                Issue.record("unknown step \(line)")
            }
        }
        self.transcript = transcript
    }

    /// Runs `ktsx` on the scenario's configuration at `clock`, expecting success unless `status` says otherwise.
    @discardableResult
    func ktsx(_ arguments: [String], clock: String, status: Int32 = 0) throws -> ProcessResult {
        let result = try runProcess(Repository.ktsx.path, arguments + ["--config", config.path], environment: ["KTSX_CLOCK_START": clock])
        #expect(result.status == status, "ktsx \(arguments.joined(separator: " ")) at \(clock): \(result.standardError)")
        return result
    }

    /// `ktsx … --format json` parsed.
    func json(_ arguments: [String], clock: String) throws -> Any {
        let result = try ktsx(arguments + ["--format", "json"], clock: clock)
        return try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
    }

    /// The receipt of the file dropped as `name`.
    /// Starts `ktsx run` on the scenario's configuration with its clock at `clock`, its output discarded:
    /// the caller stops it.
    func startService(clock: String) throws -> Process {
        let service = Process()
        service.executableURL = Repository.ktsx
        service.arguments = ["run", "--config", config.path, "--log-level", "warning"]
        service.environment = ProcessInfo.processInfo.environment.merging(["KTSX_CLOCK_START": clock]) { _, new in new }
        service.standardOutput = FileHandle.nullDevice
        service.standardError = FileHandle.nullDevice
        try service.run()
        return service
    }

    /// The scenario's first roster of 061010 broken so that it fails the schema: a month 13 on line 3, a
    /// state ID with a letter on line 5.
    static func brokenRoster() throws -> String {
        let enrollment = try String(
            contentsOf: GoldenScenarioTests.scenario.appendingPathComponent("drops/KTSX_ENR_061010_20260112T070000_0001.csv"), encoding: .utf8)
        var lines = enrollment.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: "2025-08-13", with: "2025-13-45")
        lines[4] = lines[4].replacingOccurrences(of: ",2100007919,", with: ",21000X7919,")
        return lines.joined(separator: "\n")
    }

    /// Drops `text` as `name` into 061010's `inbound/` and waits (up to 30 s) for the running service's
    /// acknowledgement; the receipt's id.
    func dropAndAwait(_ text: String, as name: String) async throws -> String {
        try text.write(to: root.appendingPathComponent("drop/061010/inbound/\(name)"), atomically: true, encoding: .utf8)
        let ack = root.appendingPathComponent("drop/061010/outbound/\(name).ack.csv").path
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: ack) { usleep(100_000) }
        #expect(FileManager.default.fileExists(atPath: ack), "the running service acknowledged \(name)")
        return try await receiptId(of: name)
    }

    func receiptId(of name: String) async throws -> String {
        let ledger = try SQLiteLedger(path: root.appendingPathComponent("state/ledger.sqlite").path)
        return try #require(try await ledger.allReceipts().first { $0.originalName == name && $0.reprocessOf == nil }?.id)
    }
}
