// The model-based end-to-end test of KTS Exchange.
//
// Random worlds (technical centers and high schools, students, catalogs, calendars, scales) play several days of
// files through the real `ktsx` binary on an injected clock, with mistakes planted on purpose; a model written
// from DESIGN.md and Schemas/README.md, not from the code under test, predicts every acknowledgement and every
// record each participant must find in its outbound/. Each disagreement is reported with the world's seed, the
// file, the receiver and the recordId.
//
//   swift test --filter ExchangeModelTests                              the default seeds
//   KTSX_MODEL_SEED=17 swift test --filter ExchangeModelTests           replay world 17
//   KTSX_MODEL_WORLDS=200 swift test --filter ExchangeModelTests        worlds 1…200 (KTSX_MODEL_SEED=n: n…n+199)
//   KTSX_MODEL_KEEP=1 …                                                 keep each world's folder and print where
//
// It needs the `ktsx` binary (`swift build` first; Repository.ktsx finds it beside the tests or in .build/debug).

import ExchangeTesting
import Foundation
import Testing

/// The seeds to play: `KTSX_MODEL_SEED` and `KTSX_MODEL_WORLDS` from the environment, else a fixed list.
let modelSeeds: [UInt64] = {
    let environment = ProcessInfo.processInfo.environment
    let first = environment["KTSX_MODEL_SEED"].flatMap { UInt64($0) }
    if let count = environment["KTSX_MODEL_WORLDS"].flatMap({ Int($0) }), count > 0 {
        let base = first ?? 1
        return (0..<UInt64(count)).map { base + $0 }
    }
    if let first { return [first] }
    return Array(1...16)
}()

@Suite("Model-based end-to-end test")
struct ExchangeModelTests {
    @Test("A random world through the binary agrees with the model", arguments: modelSeeds)
    func world(seed: UInt64) throws {
        let started = Date()
        let world = World.generate(seed: seed)
        let scenario = ScenarioBuilder.build(world)
        let keep = ProcessInfo.processInfo.environment["KTSX_MODEL_KEEP"] == "1"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ktsx-model-\(seed)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(at: directory) } }

        // The model must agree with what the generator planted, or the test itself is wrong.
        #expect(scenario.model.selfCheckFailures.isEmpty, "the model and generator disagree (a bug of this test):\n\(scenario.model.selfCheckFailures.prefix(20).joined(separator: "\n"))")

        let runner = ExchangeRunner(directory: directory)
        try #require(FileManager.default.isExecutableFile(atPath: runner.ktsx), "no ktsx binary at \(runner.ktsx): build it first")
        let problems = try runner.prepare(world) + runner.play(scenario.steps)
        var comparison = OutboundComparison(scenario: scenario, drop: runner.drop)
        comparison.compare()
        let invalid = try runner.validate(comparison.visibleFiles)
        let audit = try runner.audit(at: scenario.steps.last?.moment.utc ?? "2026-01-12T12:00:00Z")
        let (reports, reported) = try Self.compareAttendanceReports(
            world: world, model: scenario.model, runner: runner, clock: scenario.steps.last?.moment.utc ?? "2026-01-12T12:00:00Z")

        let files = scenario.files
        let byType = RecordType.allCases.compactMap { type in
            let count = files.filter { $0.type == type }.count
            return count == 0 ? nil : "\(count) \(type.rawValue)"
        }.joined(separator: ", ")
        let summary = "\(world.summary)\n\(files.count) files dropped (\(byType); \(files.filter { $0.mistake != nil }.count) with a whole-file mistake, "
            + "\(files.filter { $0.duplicateOf != nil }.count) repeats, \(files.flatMap(\.records).filter { $0.plantedRule != nil }.count) planted record mistakes), "
            + "\(Self.coverage(scenario)); \(reported); \(scenario.model.deliveries.count) deliveries expected, \(comparison.visibleFiles.count) outbound files; "
            + String(format: "%.1f s", Date().timeIntervalSince(started)) + (keep ? "; kept in \(directory.path)" : "")
        print(summary)
        if !comparison.openQuestions.isEmpty {
            print("open questions (not failures), seed \(seed):\n\(Self.digest(comparison.openQuestions))")
        }
        #expect(problems.isEmpty, "\(summary)\ncommands:\n\(problems.joined(separator: "\n"))")
        #expect(invalid.isEmpty, "\(summary)\noutbound files that fail ktsx validate:\n\(invalid.prefix(30).joined(separator: "\n"))")
        #expect(audit.isEmpty, "\(summary)\n\(audit.joined(separator: "\n"))")
        #expect(reports.isEmpty, "\(summary)\nthe attendance reports differ from the model's:\n\(reports.prefix(30).joined(separator: "\n"))")
        let discrepancies = comparison.discrepancies
        #expect(discrepancies.isEmpty, "\(summary)\n\(discrepancies.count) discrepancies (model vs binary):\n\(Self.digest(discrepancies))")
    }

    /// Each high school's attendance report over the days played (and the three weeks before), from the
    /// binary and from the model, row by row by natural key: the differences.
    /// - Returns: The differences, and what the reports held (rows, unknown, resolved).
    static func compareAttendanceReports(world: World, model: ExchangeModel, runner: ExchangeRunner, clock: String) throws
        -> (differences: [String], held: String)
    {
        guard let first = world.days.first, let last = world.days.last else { return ([], "no days") }
        var counts = (rows: 0, unknown: 0, resolved: 0)
        let from = first.adding(-21)
        var differences: [String] = []
        func key(_ row: [String: String]) -> String {
            ["attendanceDate", "ssid", "techCenterOrgId", "ktsCourseNumber", "sectionNumber", "periodCode"].map { row[$0] ?? "" }.joined(separator: "|")
        }
        for school in world.highSchools {
            let rows = model.attendanceReport(school: school.orgId, from: from, to: last)
            counts.rows += rows.count
            counts.unknown += rows.filter { $0["unknownExcuse"] == "unknown" }.count
            counts.resolved += rows.filter { $0["unknownExcuse"] == "resolved" }.count
            let expected = Dictionary(rows.map { (key($0), $0) }) { a, _ in a }
            switch try runner.attendanceReport(school: school.orgId, from: from, to: last, clock: clock) {
            case .failure(let failure):
                differences.append(failure.message)
            case .success(let rows):
                let actual = Dictionary(rows.map { (key($0), $0) }) { a, _ in a }
                if actual.count != rows.count { differences.append("\(school.orgId): the report lists a record twice") }
                for (key, row) in expected.sorted(by: { $0.key < $1.key }) {
                    guard let found = actual[key] else {
                        differences.append("\(school.orgId) \(key): missing from the report (model: \(row["attendanceStatus"] ?? "") \(row["excuseStatus"] ?? ""))")
                        continue
                    }
                    for (field, value) in row.sorted(by: { $0.key < $1.key }) where found[field, default: ""] != value {
                        differences.append("\(school.orgId) \(key): \(field) is '\(found[field, default: ""])', the model says '\(value)'")
                    }
                }
                for key in actual.keys.sorted() where expected[key] == nil {
                    differences.append("\(school.orgId) \(key): in the report, not on file in the model")
                }
            }
        }
        return (differences, "attendance reports of \(counts.rows) records (\(counts.unknown) unknown, \(counts.resolved) resolved)")
    }

    /// What the world exercised that the known failures need: attendance files fanned out to several schools,
    /// accepted records written in a tolerated spelling, refusals no resend can fix.
    static func coverage(_ scenario: Scenario) -> String {
        let model = scenario.model
        let fannedOut = model.files.filter { expectation in
            expectation.file.type == .attendance && Set(expectation.file.records.filter { expectation.accepted.contains($0.recordId) }.compactMap { $0["homeSchoolOrgId"] }).count > 1
        }.count
        let respelled = model.files.flatMap { expectation in expectation.file.records.filter { !$0.spellings.isEmpty && expectation.accepted.contains($0.recordId) } }.count
        let final = model.files.filter(\.refusalIsFinal).count
        return "\(fannedOut) attendance files fanned out to several schools, \(respelled) accepted records in tolerated spellings, \(final) ATC waiver refusals"
    }

    /// The discrepancies grouped by kind (the message without its values), each kind with a few examples, so that
    /// one product bug that touches a thousand records reads as one line.
    static func digest(_ discrepancies: [Discrepancy]) -> String {
        var groups: [String: [Discrepancy]] = [:]
        var order: [String] = []
        for discrepancy in discrepancies {
            let kind = discrepancy.message.replacingOccurrences(of: "'[^']*'", with: "'…'", options: .regularExpression)
                .replacingOccurrences(of: "[0-9]+", with: "#", options: .regularExpression)
            if groups[kind] == nil { order.append(kind) }
            groups[kind, default: []].append(discrepancy)
        }
        return order.map { kind in
            let group = groups[kind]!
            return "[\(group.count)×] " + group.prefix(3).map { "\n    \($0)" }.joined()
        }.joined(separator: "\n")
    }
}
