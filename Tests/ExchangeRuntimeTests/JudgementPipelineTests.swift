import ExchangeCore
import ExchangeRules
@testable import ExchangeRuntime
import ExchangeTesting
import ExchangeValidation
import Foundation
import Logging
import Testing

/// A rule that asks the ledger something no batch's request names (an attendance record under a key made
/// from the enrollment's id) and passes only when it is held: its verdicts are right only if the question
/// was really answered.
private struct AsksOutsideItsBatch: RecordRule {
    let code = RuleCode.enr01
    let types: Set<ExchangeType> = [.enrollment]

    static func key(of record: RecordFacts) -> String { "outside-\(record.recordId ?? "")" }

    func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        context.held.record(.attendance, key: AsksOutsideItsBatch.key(of: record)) == nil
            ? RuleViolation(code: code, field: nil, message: "nothing held under \(AsksOutsideItsBatch.key(of: record))") : nil
    }
}

@Suite("From validation to judgement: the record feed and the batches' questions")
struct JudgementPipelineTests {
    static let now = Timestamp(secondsSinceEpoch: 1_768_446_300)

    @Test("a rule's question outside its batch is fetched and the file judged again: the verdict rests on the ledger's answer")
    func questionOutsideTheBatch() async throws {
        try await withTemporaryDirectory { root in
            let tree = DropTree(dropRoot: root.appendingPathComponent("drop").path, stateDirectory: root.appendingPathComponent("state").path)
            let reference = ReferenceData(participants: [
                Participant(orgId: "061010", name: "High", classification: .a1, outputFormat: .csv),
                Participant(orgId: "061014", name: "CTC", classification: .a2, outputFormat: .csv),
            ])
            try tree.prepare(for: reference.participants.values.sorted { $0.orgId < $1.orgId })
            let file = try String(contentsOf: Repository.schemas.appendingPathComponent("examples/ENR.example.csv"), encoding: .utf8)
            let ids = file.split(separator: "\n").dropFirst().map { String($0.prefix { $0 != "," }) }
            #expect(ids.count > 1)
            // The ledger holds what the rule asks about for every record but the last.
            let ledger = InMemoryLedger()
            var earlier = Receipt(id: "R0", senderOrgId: "061014", originalName: "a.csv", sizeBytes: 1, sha256: "00", claimedAt: Self.now)
            try await ledger.recordClaim(earlier)
            earlier.state = .finished
            earlier.outcome = .accepted
            let held = ids.dropLast().map { id in
                HeldRecord(
                    type: .attendance, naturalKey: "outside-\(id)", senderOrgId: "061014", recipientOrgId: "061010", schoolYear: 2026,
                    values: ["recordId": id], receiptId: "R0", acceptedAt: Self.now, deleted: false)
            }
            try await ledger.update(earlier, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(held: held))

            try file.write(toFile: "\(tree.inbound("061010"))/enr.csv", atomically: true, encoding: .utf8)
            let processor = FileProcessor(
                tree: tree, ledger: ledger, validator: try FileValidator(), maxFileBytes: 1 << 20,
                rules: RuleBook(rules: [AsksOutsideItsBatch()]), reference: { reference }, now: { Self.now },
                newReceiptId: { sender in FileProcessor.receiptId(sender: sender, time: Self.now, suffix: "000001") })
            let participant = try #require(reference.participants["061010"])
            let receipt = try #require(try await processor.process("enr.csv", from: participant, logger: Logger(label: "test")))
            #expect(receipt.outcome == .acceptedWithErrors)
            #expect(receipt.recordsAccepted == ids.count - 1 && receipt.recordsRejected == 1)
            #expect(try await ledger.rejectedRecords(receiptId: receipt.id).map(\.recordKey) == [ids.last])
        }
    }

    @Test("the reading side never waits forever: the judging side stops after the first batch and reading ends")
    func stopEarly() async throws {
        let feed = RecordFeed(batchSize: 10, depth: 1)
        let reading = Task {
            await BlockingWork.run { () -> Int in
                defer { feed.finish() }
                var sent = 0
                for line in 1...100_000 where !feed.isStopped {
                    feed.add(RecordFacts(type: .attendance, line: line, values: [:]))
                    sent = line
                }
                feed.flush()
                return sent
            }
        }
        var batches = 0
        var records = 0
        for await event in feed.events {
            defer { feed.taken() }
            guard case .records(let batch) = event else { continue }
            batches += 1
            records += batch.count
            if batches == 1 { feed.stop() }
        }
        let sent = await reading.value
        #expect(sent < 100_000, "reading stopped early")
        // Taken after the stop: only what was already waiting (depth 1) and the batch being sent then.
        #expect(batches <= 3 && records <= 30, "\(batches) batches, \(records) records")
    }

    @Test("every record comes through, in order, in batches of the feed's size")
    func allInOrder() async throws {
        let feed = RecordFeed(batchSize: 7, depth: 2)
        let reading = Task {
            await BlockingWork.run {
                for line in 1...100 { feed.add(RecordFacts(type: .attendance, line: line, values: [:])) }
                feed.send(.progress(read: 4096))
                feed.flush()
                feed.finish()
            }
        }
        var lines: [Int] = []
        var sizes: [Int] = []
        var progress: [Int64] = []
        for await event in feed.events {
            defer { feed.taken() }
            switch event {
            case .records(let batch):
                lines += batch.map(\.line)
                sizes.append(batch.count)
            case .progress(let read):
                progress.append(read)
            }
        }
        await reading.value
        #expect(lines == Array(1...100))
        #expect(sizes == Array(repeating: 7, count: 14) + [2])
        #expect(progress == [4096])
    }
}
