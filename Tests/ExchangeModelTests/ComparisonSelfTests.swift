import ExchangeTesting
import Foundation
import Testing

/// Tests of the test: a world played through the binary, then its outbound/ tampered with in ways the model must
/// notice (a routed file taken away, a file delivered twice, a value changed, a hidden file left behind, an ack
/// that lies about the outcome). A comparison that finds nothing here would pass any binary.
@Suite("Model-based test: the comparison notices tampering")
struct ComparisonSelfTests {
    @Test("Each kind of tampering is reported")
    func tampering() throws {
        let world = World.generate(seed: 4242)
        let scenario = ScenarioBuilder.build(world)
        try withTemporaryDirectory { directory in
            let runner = ExchangeRunner(directory: directory)
            try #require(FileManager.default.isExecutableFile(atPath: runner.ktsx), "no ktsx binary at \(runner.ktsx): build it first")
            _ = try runner.prepare(world)
            _ = try runner.play(scenario.steps)
            var before = OutboundComparison(scenario: scenario, drop: runner.drop)
            before.compare()
            let baseline = Set(before.discrepancies.map(\.description))

            let school = world.highSchools.first { participant in
                outbound(runner, participant.orgId).contains { $0.hasPrefix("KTSX_ATT_") && !$0.contains(".ack.") && !$0.contains(".errors.") }
            }!
            let schoolFolder = runner.drop.appendingPathComponent(school.orgId).appendingPathComponent("outbound")
            let routed = outbound(runner, school.orgId).filter { $0.hasPrefix("KTSX_ATT_") && !$0.contains(".ack.") && !$0.contains(".errors.") }
            // 1. A routed file taken away before the comparison (as if never written).
            try FileManager.default.removeItem(at: schoolFolder.appendingPathComponent(routed[0]))
            // 2. Another delivered twice.
            if routed.count > 1 {
                let ext = (routed[1] as NSString).pathExtension
                try FileManager.default.copyItem(at: schoolFolder.appendingPathComponent(routed[1]),
                                                 to: schoolFolder.appendingPathComponent("KTSX_ATT_copy.\(ext)"))
            }
            // 3. A hidden temporary left behind.
            try Data("x".utf8).write(to: schoolFolder.appendingPathComponent(".KTSX_ATT_left.tmp"))
            // 4. A date written non-canonically in a center's routed enrollments.
            let center = world.centers.first { outbound(runner, $0.orgId).contains { $0.hasPrefix("KTSX_ENR_") && !$0.contains(".ack.") && !$0.contains(".errors.") } }!
            let centerFolder = runner.drop.appendingPathComponent(center.orgId).appendingPathComponent("outbound")
            let enrollments = outbound(runner, center.orgId).first { $0.hasPrefix("KTSX_ENR_") && !$0.contains(".ack.") && !$0.contains(".errors.") }!
            let enrollmentURL = centerFolder.appendingPathComponent(enrollments)
            let text = try String(contentsOf: enrollmentURL, encoding: .utf8)
            try text.replacingOccurrences(of: "2025-08-13", with: "2025-8-13").write(to: enrollmentURL, atomically: true, encoding: .utf8)
            // 5. An ack that says ACCEPTED for a file accepted with errors.
            let partly = scenario.model.files.first { $0.outcome == "ACCEPTED_WITH_ERRORS" }!
            let ackName = outbound(runner, partly.file.sender).first { $0.hasPrefix(partly.file.name + ".ack.") }!
            let ackURL = runner.drop.appendingPathComponent(partly.file.sender).appendingPathComponent("outbound").appendingPathComponent(ackName)
            try String(contentsOf: ackURL, encoding: .utf8).replacingOccurrences(of: "ACCEPTED_WITH_ERRORS", with: "ACCEPTED")
                .write(to: ackURL, atomically: true, encoding: .utf8)

            var after = OutboundComparison(scenario: scenario, drop: runner.drop)
            after.compare()
            let new = after.discrepancies.filter { !baseline.contains($0.description) }.map(\.message)
            #expect(new.contains { $0.contains("ATT record missing") }, "a removed routed file goes unnoticed: \(new.prefix(5))")
            if routed.count > 1 { #expect(new.contains { $0.contains("delivered 2 times") }, "a file delivered twice goes unnoticed") }
            #expect(new.contains { $0.contains("hidden file") }, "a hidden file goes unnoticed")
            #expect(new.contains { $0.contains("'2025-8-13'") }, "a non-canonical date goes unnoticed")
            #expect(new.contains { $0.contains("outcome ACCEPTED, model expects ACCEPTED_WITH_ERRORS") }, "a lying ack goes unnoticed")
        }
    }

    /// The visible and hidden names in a participant's outbound/.
    private func outbound(_ runner: ExchangeRunner, _ orgId: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: runner.drop.appendingPathComponent(orgId).appendingPathComponent("outbound").path)) ?? []).sorted()
    }
}
