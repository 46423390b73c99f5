import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeRuntime
import ExchangeTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension DropTreeFixture {
    /// `ktsx run --once` killed with SIGKILL at `step` (`KTSX_CRASH_AT`), at the fixture's clock or `clock`.
    func runOnce(crashingAt step: CrashPoint, clock: String? = nil) throws {
        let result = try runProcess(
            Repository.ktsx.path, ["run", "--once", "--config", config.path, "--log-level", "critical"],
            environment: ["KTSX_CLOCK_START": clock ?? self.clock, "KTSX_CRASH_AT": step.rawValue])
        #expect(result.status == SIGKILL, "\(step.rawValue) was never reached: \(result.standardOutput) \(result.standardError)")
    }

    /// Nothing half-done anywhere: inbound/ and the work area empty, every receipt and job run finished, and
    /// conservation holds (`ktsx audit`; no hidden temporary in any outbound/, every visible file valid).
    func expectNothingHalfDone(_ step: CrashPoint, clock: String? = nil) async throws {
        for org in try FileManager.default.contentsOfDirectory(atPath: drop.path) {
            #expect(try FileManager.default.contentsOfDirectory(atPath: inbound(org).path).isEmpty, "\(step.rawValue): \(org) inbound")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent("work").path).isEmpty, "\(step.rawValue)")
        let ledger = try ledger()
        #expect(try await ledger.unfinishedReceipts().isEmpty, "\(step.rawValue)")
        #expect(try await ledger.unfinishedJobRuns().isEmpty, "\(step.rawValue)")
        try Conservation.expectHolds(config: config, drop: drop, clock: clock ?? self.clock)
    }
}

@Suite("Crash safety: kill -9 at every named step of a file's and a job run's life", .serialized)
struct CrashPointTests {
    static let fileSteps = CrashPoint.allCases.filter { $0.rawValue.hasPrefix("file-") }
    static let jobSteps = CrashPoint.allCases.filter { $0.rawValue.hasPrefix("job-") }

    @Test("killed at each step of a file's life, the next start finishes it: one ack per file, routed once, original filed", arguments: fileSteps)
    func fileStep(step: CrashPoint) async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            // The rosters of the center's high schools, and a fresh installation's first nightly jobs, out of the way.
            try tree.loadRoster(of: ["165010", "165020", "165030"])
            let enrollments = try String(contentsOf: Repository.schemas.appendingPathComponent("examples/ENR.example.csv"), encoding: .utf8)
            try tree.drop(enrollments, as: "good.csv", into: "061010")
            try tree.drop(enrollments.replacingOccurrences(of: ",2009-", with: ",2009-13-"), as: "bad.csv", into: "061010")
            // A center's attendance for students of three high schools: one input, three receivers.
            let attendance = "KTSX_ATT_165901_20260211T020000_0001.xml"
            try FileManager.default.copyItem(
                at: Repository.fixtures.appendingPathComponent("valid/\(attendance)"), to: tree.inbound("165901").appendingPathComponent(attendance))

            try tree.runOnce(crashingAt: step)
            try tree.runOnce()

            #expect(try tree.outboundFiles("061010") == ["bad.csv.ack.csv", "bad.csv.errors.csv", "good.csv.ack.csv"], "\(step.rawValue)")
            #expect(try tree.text("061010", "good.csv.ack.csv").contains(",ACCEPTED,"), "\(step.rawValue)")
            #expect(try tree.text("061010", "bad.csv.ack.csv").contains(",REJECTED,"), "\(step.rawValue)")
            // The accepted enrollments reached the center once, and are on the roster once.
            let routed = try tree.outboundFiles("061014")
            #expect(routed.count == 1, "\(step.rawValue): \(routed)")
            let receipts = try await tree.ledger().allReceipts()
            #expect(
                receipts.map(\.originalName).filter { !$0.hasPrefix("KTSX_ENR_") }.sorted() == [attendance, "bad.csv", "good.csv"],
                "\(step.rawValue)")
            #expect(try await tree.ledger().enrollments(ssid: "2136931390", center: "061014").count == 1, "\(step.rawValue)")
            for school in ["165010", "165020", "165030"] {
                #expect(try tree.outboundFiles(school).filter { $0.hasPrefix("KTSX_ATT_165901_") }.count == 1, "\(step.rawValue) \(school)")
            }
            let archived = try FileManager.default.subpathsOfDirectory(atPath: tree.state.appendingPathComponent("archive").path)
            let quarantined = try FileManager.default.subpathsOfDirectory(atPath: tree.state.appendingPathComponent("quarantine").path)
            #expect(archived.filter { $0.hasSuffix("/good.csv") }.count == 1, "\(step.rawValue)")
            #expect(quarantined.filter { $0.hasSuffix("/bad.csv") }.count == 1, "\(step.rawValue)")
            try await tree.expectNothingHalfDone(step)
        }
    }

    @Test("killed at each step of a nightly job run, the next start finishes it: each summary written once", arguments: jobSteps)
    func jobStep(step: CrashPoint) async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            let enrollments = try String(contentsOf: Repository.schemas.appendingPathComponent("examples/ENR.example.csv"), encoding: .utf8)
            try tree.drop(enrollments, as: "good.csv", into: "061010")
            try tree.runOnce()  // 20 February: the file is judged, its enrollments routed to 061014
            func summaries(_ org: String) throws -> Set<String> {
                Set(try FileManager.default.contentsOfDirectory(atPath: tree.outbound(org).path).filter { $0.hasPrefix("KTSX_SUM_") })
            }
            let before = ["061010": try summaries("061010"), "061014": try summaries("061014")]

            // The next morning's jobs, killed at the step in whichever run reaches it first, then a restart.
            try tree.runOnce(crashingAt: step, clock: "2026-02-21T12:00:00Z")
            let after = try runProcess(
                Repository.ktsx.path, ["run", "--once", "--config", tree.config.path, "--log-level", "critical"],
                environment: ["KTSX_CLOCK_START": "2026-02-21T12:05:00Z"])
            #expect(after.status == 0, "\(after.standardError)")

            // Every run finished with each of its files written once and in place.
            for job in JobKind.allCases {
                for run in try await tree.ledger().jobRuns(job) {
                    let written = try await tree.ledger().deliveries(sourceId: run.id)
                    #expect(run.state == .finished && written.count == run.files, "\(step.rawValue) \(run.runKey)")
                    for delivery in written {
                        let path = tree.outbound(delivery.recipientOrgId).appendingPathComponent(delivery.fileName).path
                        #expect(FileManager.default.fileExists(atPath: path), "\(step.rawValue) \(delivery.fileName)")
                    }
                }
            }
            // The summaries of 20 February: one for the sender, one for the center with a file waiting.
            let runs = try await tree.ledger().jobRuns(.dailySummary).filter { $0.runKey.hasSuffix("|2026-02-20") }
            #expect(runs.map(\.runKey).sorted() == ["061010|2026-02-20", "061014|2026-02-20"], "\(step.rawValue)")
            for org in ["061010", "061014"] {
                let new = try summaries(org).subtracting(before[org]!)
                #expect(new.count == 1, "\(step.rawValue) \(org): \(new)")
            }
            try await tree.expectNothingHalfDone(step, clock: "2026-02-21T12:06:00Z")
        }
    }
}
