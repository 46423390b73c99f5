import ExchangeTesting
import Foundation
import Testing

/// Every input the fuzzer ever found a fault with (`Fixtures/fuzz/`), and the seed files it starts from,
/// replayed through the same targets in the ordinary build: each must come back with a verdict.
@Suite("Fuzz findings and seeds replayed")
struct FuzzReplayTests {
    static func files(_ folders: [String], extension wanted: String?) -> [String] {
        folders.flatMap { folder -> [String] in
            let directory = Repository.root.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { name in name != "README.md" && (wanted.map { name.hasSuffix(".\($0)") } ?? true) }
                .map { directory.appendingPathComponent($0).path }
                .filter { ((try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0) < 1 << 20 }
        }.sorted()
    }

    @Test("xml and csv: the fixtures, the examples and every fuzz finding", arguments: ["xml", "csv"])
    func files(target: String) throws {
        let inputs = Self.files(
            ["Fixtures/valid", "Fixtures/invalid", "Fixtures/hostile", "Fixtures/scenario/drops", "Schemas/examples"], extension: target)
            + Self.files(["Fixtures/fuzz/\(target)"], extension: nil)
        #expect(inputs.count > 20)
        let replay = try runProcess(Repository.ktsxFuzz.path, [target] + inputs, timeout: 300)
        #expect(replay.status == 0, "\(replay.standardError)")
        #expect(replay.standardOutput.split(separator: "\n").count == inputs.count)
    }

    @Test("reference: each reference file of the fixtures, and every fuzz finding")
    func reference() throws {
        try withTemporaryDirectory { directory in
            var inputs = Self.files(["Fixtures/fuzz/reference"], extension: nil)
            let names = ["participants.csv", "catalog.csv", "attendance-codes.csv", "grading-scales.csv", "course-mappings.csv", "calendars.csv", "schedule.conf"]
            for (index, name) in names.enumerated() {
                let source = Repository.fixtures.appendingPathComponent("reference/\(name)")
                guard let bytes = FileManager.default.contents(atPath: source.path) else { continue }
                let input = directory.appendingPathComponent(name)
                try (Data([UInt8(index)]) + bytes).write(to: input)
                inputs.append(input.path)
            }
            let replay = try runProcess(Repository.ktsxFuzz.path, ["reference"] + inputs, timeout: 300)
            #expect(replay.status == 0, "\(replay.standardError)")
            let lines = replay.standardOutput.split(separator: "\n")
            #expect(lines.count == inputs.count)
            #expect(lines.contains { $0.contains("catalog.csv: accepted") }, "\(lines)")
        }
    }
}
