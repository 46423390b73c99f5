import ExchangeCore
import ExchangeTesting
import Foundation
import Testing

/// `ktsx check`: a configuration read whole, every problem named, nothing created.
@Suite("ktsx check: a configuration checked without starting anything")
struct CheckCommandTests {
    /// A configuration directory with the fixture world's reference files and `settings` as `ktsx.conf`.
    private func configuration(in root: URL, settings: String) throws -> URL {
        let config = root.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        let reference = Repository.fixtures.appendingPathComponent("reference")
        for name in try FileManager.default.contentsOfDirectory(atPath: reference.path) where name.hasSuffix(".csv") || name.hasSuffix(".conf") {
            try FileManager.default.copyItem(at: reference.appendingPathComponent(name), to: config.appendingPathComponent(name))
        }
        try settings.write(to: config.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)
        return config
    }

    @Test("a good configuration: what it says, exit 0, and neither the drop tree nor the state directory made")
    func usable() throws {
        try withTemporaryDirectory { root in
            let config = try configuration(
                in: root,
                settings: "# the partners' folders\ndrop_root = ../drop  # served over SFTP\nstate_dir = ../state\nlog_format = json\nkeep_school_years = 3\n")
            let result = try runProcess(Repository.ktsx.path, ["check", "--config", config.path])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("is usable; nothing was created or started"))
            #expect(result.standardOutput.contains("drop_root \(root.appendingPathComponent("drop").standardizedFileURL.path) (not there yet"))
            #expect(result.standardOutput.contains("log lines as json"))
            #expect(result.standardOutput.contains("the ledger keeps 3 school years whole, older ones retired each July 1"))
            #expect(result.standardOutput.contains("technical center"))
            #expect(result.standardOutput.contains("calendars.csv"))
            for made in ["drop", "state"] {
                #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent(made).path), "\(made) was created")
            }
        }
    }

    @Test("every problem of every file at once, each with its file and line, exit 2")
    func problems() throws {
        try withTemporaryDirectory { root in
            let config = try configuration(
                in: root,
                settings: "drop_root = ../drop             partners' folders, served over SFTP\nstate_dir = ../state\nquiet_period = soon\nkeep_school_years = 0\n")
            try "orgId,name\n".write(to: config.appendingPathComponent("support-users.csv"), atomically: true, encoding: .utf8)
            let result = try runProcess(Repository.ktsx.path, ["check", "--config", config.path])
            #expect(result.status == 2)
            #expect(result.standardError.contains("ktsx.conf:1: 'drop_root' is '../drop             partners' folders, served over SFTP'"))
            #expect(result.standardError.contains("ktsx.conf:3: 'quiet_period' is 'soon'"))
            #expect(result.standardError.contains("ktsx.conf:4: 'keep_school_years' is '0'; expected a whole number of school years from 1 to 50"))
            #expect(result.standardError.contains("support-users.csv"))
            #expect(result.standardOutput.isEmpty)
        }
    }

    @Test("a state directory inside the drop tree is refused before anything is made there")
    func stateInsideDropTree() throws {
        try withTemporaryDirectory { root in
            let config = try configuration(in: root, settings: "drop_root = ../drop\nstate_dir = ../drop/state\n")
            let result = try runProcess(Repository.ktsx.path, ["check", "--config", config.path])
            #expect(result.status == 2)
            #expect(result.standardError.contains("is inside drop_root"))
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("drop").path))
        }
    }
}

/// README's configuration samples, as an operator pastes them.
@Suite("README's configuration samples paste as they are")
struct ReadmeSamplesTests {
    /// The fenced blocks of README.md; a block indented under a list item carries the item's first line.
    private func blocks() throws -> [(before: String, lines: [String])] {
        let text = try String(contentsOf: Repository.root.appendingPathComponent("README.md"), encoding: .utf8)
        var blocks: [(String, [String])] = []
        var current: [String]?
        var before = ""
        var item = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                if let lines = current {
                    blocks.append((before, lines))
                    current = nil
                } else {
                    current = []
                    before = line.hasPrefix("  ") ? item : ""
                }
            } else if current != nil {
                current?.append(line.hasPrefix("  ") ? String(line.dropFirst(2)) : line)
            } else if line.hasPrefix("- ") {
                item = line
            }
        }
        return blocks
    }

    @Test("the ktsx.conf and schedule.conf blocks, pasted whole, pass ktsx check with the fixture world's other files")
    func settingsBlocks() throws {
        let blocks = try blocks()
        let settings = try #require(blocks.first { $0.lines.first?.hasPrefix("# ktsx.conf") == true })
        let schedule = try #require(blocks.first { $0.before.contains("**`schedule.conf`**") })
        try withTemporaryDirectory { root in
            let config = root.appendingPathComponent("config")
            try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
            let reference = Repository.fixtures.appendingPathComponent("reference")
            for name in try FileManager.default.contentsOfDirectory(atPath: reference.path) where name.hasSuffix(".csv") {
                try FileManager.default.copyItem(at: reference.appendingPathComponent(name), to: config.appendingPathComponent(name))
            }
            try settings.lines.joined(separator: "\n").write(to: config.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)
            try schedule.lines.joined(separator: "\n").write(to: config.appendingPathComponent("schedule.conf"), atomically: true, encoding: .utf8)
            let result = try runProcess(Repository.ktsx.path, ["check", "--config", config.path])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("drop_root /srv/ktsx/drop"))
        }
    }

    @Test("every CSV sample is CSV with its header's number of values on every row")
    func csvSamples() throws {
        let samples = try blocks().filter { $0.before.contains(".csv`**") || $0.lines.first == "participants.csv" }
        #expect(samples.count >= 6)
        for sample in samples {
            let lines = sample.lines.first == "participants.csv" ? Array(sample.lines.dropFirst()) : sample.lines
            let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
            let header = lines[0].split(separator: ",").map(String.init)
            var errors: [ConfigurationError] = []
            let table = ConfigurationTable(bytes: bytes, file: "sample", columns: header, errors: &errors)
            #expect(errors.isEmpty, "\(sample.before): \(errors)")
            #expect(table.rows.count == lines.count - 1, "\(sample.before)")
        }
    }
}
