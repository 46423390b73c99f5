import ExchangeCore
import ExchangeRules
import ExchangeRuntime
import ExchangeTesting
import Foundation
import Logging
import Testing

/// A drop tree in a temporary directory with an in-memory ledger holding three staged grades, and a job
/// runner on a fixed clock.
struct JobWorld {
    let tree: DropTree
    let ledger = InMemoryLedger()
    let runner: JobRunner
    static let reference = ReferenceData(
        participants: [
            Participant(orgId: "165901", name: "CTC", classification: .a2),
            Participant(orgId: "061010", name: "High", classification: .a1, outputFormat: .csv, unknownSync: true),
            Participant(orgId: "061020", name: "Other High", classification: .a1),
        ],
        gradingScales: [GradingScale(code: "KY10PT", bands: [.init(letter: "A", range: 90...100, passing: true)])])
    static let now = Timestamp(secondsSinceEpoch: 1_768_446_300)  // 2026-01-15T03:05:00Z, 22:05 Eastern on the 14th

    init(root: URL) async throws {
        tree = DropTree(dropRoot: root.appendingPathComponent("drop").path, stateDirectory: root.appendingPathComponent("state").path)
        try tree.prepare(for: JobWorld.reference.participants.values.sorted { $0.orgId < $1.orgId })
        let counter = Counter()
        runner = JobRunner(
            tree: tree, ledger: ledger, reference: { JobWorld.reference }, now: { JobWorld.now },
            newRunId: { "J-20260115T030500-\(String(format: "%06x", counter.next()))" })
        try await ledger.recordClaim(Receipt(id: "R1", senderOrgId: "165901", originalName: "g.csv", sizeBytes: 1, sha256: "a", claimedAt: JobWorld.now))
        var receipt = try #require(try await ledger.receipt(id: "R1"))
        receipt.outcome = .accepted
        // 061030 has left participants.csv since its grade was accepted.
        let grades = ["061010", "061010", "061020", "061030"].enumerated().map { index, school in
            let values = [
                "recordId": "0000000\(index)-0000-4000-8000-000000000000", "schoolYear": "2026", "ssid": "210000000\(index)",
                "techCenterOrgId": "165901", "homeSchoolOrgId": school, "ktsCourseNumber": "WLD101", "sectionNumber": "AM-01",
                "stateCourseCode": "480511", "gradeType": "PROGRESS", "gradingPeriodCode": "Q3", "gradingScaleCode": "KY10PT",
                "numericGrade": "95", "asOfDate": "2026-01-14", "postedDateTime": "2026-01-14T16:00:00-05:00",
            ]
            return HeldRecord(
                type: .grades, naturalKey: NaturalKey.of(.grades, values), senderOrgId: "165901", recipientOrgId: school, schoolYear: 2026,
                values: values, receiptId: "R1", acceptedAt: JobWorld.now, deleted: false)
        }
        try await ledger.update(receipt, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(held: grades))
    }

    func outbound(_ org: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: tree.outbound(org)).sorted()
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

@Suite("Job runs: once per key, finished after a crash at any step")
struct JobRunnerTests {
    let logger = Logger(label: "test")

    @Test("the nightly posting writes one file per high school, in its binding, and a second run of the night writes nothing")
    func postOnce() async throws {
        try await withTemporaryDirectory { root in
            let world = try await JobWorld(root: root)
            let runs = await world.runner.runDueJobs(logger: logger)
            #expect(runs.map(\.runKey).contains("night:2026-01-14"))
            #expect(try world.outbound("061010").count == 1, "a school that left does not stop the others' posting")
            #expect(try world.outbound("061010").first?.hasSuffix(".csv") == true)
            #expect(try await world.ledger.unfinishedJobRuns().isEmpty)
            #expect(try world.outbound("061020").first?.hasSuffix(".xml") == true)
            let posting = try String(contentsOfFile: "\(world.tree.outbound("061010"))/\(world.outbound("061010")[0])", encoding: .utf8)
            #expect(posting.split(separator: "\r\n").count == 3)  // header + two grades
            #expect(await world.runner.runDueJobs(logger: logger).isEmpty)
            #expect(try await world.runner.postGrades(runKey: "night:2026-01-14", logger: logger) == nil)
            #expect(try await world.runner.postGrades(runKey: "manual:1", logger: logger)?.files == 0)
            #expect(try world.outbound("061010").count == 1)
        }
    }

    @Test("a run claimed and then interrupted is finished on recovery, with its grades, once")
    func recoverClaimed() async throws {
        try await withTemporaryDirectory { root in
            let world = try await JobWorld(root: root)
            // The process died right after the claim: nothing prepared, nothing recorded.
            #expect(try await world.ledger.claimJobRun(JobRun(id: "J-crash-000001", job: .gradePosting, runKey: "night:2026-01-14", startedAt: JobWorld.now)))
            #expect(try world.outbound("061010").isEmpty)
            #expect(await world.runner.recover(logger: logger) == 1)
            #expect(try world.outbound("061010").count == 1)
            #expect(try world.outbound("061020").count == 1)
            #expect(try await world.ledger.unfinishedJobRuns().isEmpty)
            #expect(await world.runner.recover(logger: logger) == 0)
            // The night's posting is done: running the due jobs posts nothing again (the morning's summary aside).
            let due = await world.runner.runDueJobs(logger: logger)
            #expect(due.filter { $0.job != .dailySummary }.allSatisfy { $0.files == 0 })
            #expect(try world.outbound("061010").filter { !$0.hasPrefix("KTSX_SUM_") }.count == 1)
        }
    }

    @Test("a run interrupted after its files were prepared and recorded is placed on recovery, not written again")
    func recoverWriting() async throws {
        try await withTemporaryDirectory { root in
            let world = try await JobWorld(root: root)
            var run = JobRun(id: "J-crash-000002", job: .gradePosting, runKey: "night:2026-01-14", startedAt: JobWorld.now)
            #expect(try await world.ledger.claimJobRun(run))
            // Prepared as a hidden temporary and recorded, then the process died before placing it.
            try world.tree.prepare(Array("prepared".utf8), named: "posting.csv", in: world.tree.outbound("061010"), receiptId: run.id)
            run.state = .writing
            try await world.ledger.updateJobRun(
                run, recordingDeliveries: [Delivery(receiptId: run.id, recipientOrgId: "061010", fileName: "posting.csv", deliveredAt: JobWorld.now)],
                decision: nil)
            #expect(try world.outbound("061010") == [DropTree.temporaryName(for: "posting.csv", receiptId: run.id)])
            #expect(await world.runner.recover(logger: logger) == 1)
            #expect(try world.outbound("061010") == ["posting.csv"])
            #expect(try await world.ledger.jobRun(.gradePosting, runKey: "night:2026-01-14")?.state == .finished)
        }
    }

    @Test("a waiver is decided once; the decision file goes to the center")
    func waiverDecision() async throws {
        try await withTemporaryDirectory { root in
            let world = try await JobWorld(root: root)
            var receipt = try #require(try await world.ledger.receipt(id: "R1"))
            receipt.outcome = .accepted
            let request = WaiverRequest(
                id: "83092784-227b-45ab-97af-60a077f0f74b", centerOrgId: "165901", schoolYear: 2027, values: ["reasonCode": "ALT_SIS"],
                receiptId: "R1", receivedAt: JobWorld.now)
            try await world.ledger.update(receipt, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(waivers: [request]))
            await #expect(throws: JobError.self) { try await world.runner.decideWaiver(id: "nope", approve: true, reason: "x", logger: logger) }
            await #expect(throws: JobError.self) { try await world.runner.decideWaiver(id: request.id, approve: false, reason: "  ", logger: logger) }
            let (_, decided) = try await world.runner.decideWaiver(id: request.id.uppercased(), approve: false, reason: "Not this year.", logger: logger)
            #expect(decided.status == .denied)
            #expect(decided.decisionReason == "Not this year.")
            let files = try world.outbound("165901")
            #expect(files.count == 1)
            let text = try String(contentsOfFile: "\(world.tree.outbound("165901"))/\(files[0])", encoding: .utf8)
            #expect(text.contains("<Decision>DENIED</Decision>"))
            await #expect(throws: JobError.self) { try await world.runner.decideWaiver(id: request.id, approve: true, reason: "Changed my mind", logger: logger) }
            #expect(try world.outbound("165901").count == 1)
        }
    }
}
