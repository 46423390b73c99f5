import ExchangeTesting
import Foundation
import Testing

/// `ktsx demo`, the README's first command, as a new user runs it.
@Suite("ktsx demo: the README's first command")
struct DemoTests {
    @Test("the demo's week: no hidden file, every high school has its students' attendance from each center, ktsx audit holds")
    func demo() throws {
        try withTemporaryDirectory { root in
            let base = root.appendingPathComponent("demo")
            let result = try runProcess(Repository.ktsx.path, ["demo", base.path])
            #expect(result.status == 0, "\(result.standardError)")
            let drop = base.appendingPathComponent("drop")
            // Each high school's students attend both centers: each gets both centers' attendance.
            for school in ["061010", "061020", "165020"] {
                let names = try FileManager.default.contentsOfDirectory(atPath: drop.appendingPathComponent("\(school)/outbound").path)
                for center in ["061014", "165901"] {
                    #expect(names.contains { $0.hasPrefix("KTSX_ATT_\(center)_") }, "\(school) has no attendance from \(center): \(names.sorted())")
                }
            }
            try Conservation.expectHolds(config: base, drop: drop, clock: "2026-01-16T15:20:00Z")
        }
    }
}
