import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

/// A ledger implementation under test, with a name for the test report.
struct LedgerUnderTest: CustomStringConvertible, Sendable {
    let description: String
    let make: @Sendable (URL) throws -> any LedgerStore

    static let all = [
        LedgerUnderTest(description: "in memory") { _ in InMemoryLedger() },
        LedgerUnderTest(description: "SQLite") { directory in try SQLiteLedger(path: directory.appendingPathComponent("ledger.sqlite").path) },
    ]
}

private func receipt(_ id: String, sender: String = "061014", sha: String = "aa", at seconds: Int64 = 100) -> Receipt {
    Receipt(id: id, senderOrgId: sender, originalName: "f.csv", sizeBytes: 10, sha256: sha, claimedAt: Timestamp(secondsSinceEpoch: seconds))
}

@Suite("Ledger contract: every ledger behaves the same")
struct LedgerContractTests {
    @Test("a claim is recorded once, read back, and updated with its judgement", arguments: LedgerUnderTest.all)
    func claimAndFinish(ledger: LedgerUnderTest) throws {
        try withTemporaryDirectory { directory in
            let store = try ledger.make(directory)
            try store.recordClaim(receipt("R1"))
            #expect(throws: LedgerError.self) { try store.recordClaim(receipt("R1")) }
            #expect(try store.unfinishedReceipts().map(\.id) == ["R1"])
            var finished = try #require(try store.receipt(id: "R1"))
            finished.state = .finished
            finished.outcome = .accepted
            finished.fileType = .attendance
            finished.binding = .csv
            finished.recordsReceived = 3
            finished.recordsAccepted = 3
            finished.ackFile = "f.csv.ack.csv"
            finished.finishedAt = Timestamp(secondsSinceEpoch: 200)
            try store.update(finished)
            #expect(try store.receipt(id: "R1") == finished)
            #expect(try store.unfinishedReceipts().isEmpty)
            #expect(throws: LedgerError.self) { try store.update(receipt("missing")) }
        }
    }

    @Test("the same bytes from the same sender are accepted at most once", arguments: LedgerUnderTest.all)
    func acceptedOnce(ledger: LedgerUnderTest) throws {
        try withTemporaryDirectory { directory in
            let store = try ledger.make(directory)
            for (id, sender) in [("R1", "061014"), ("R2", "061014"), ("R3", "165901")] {
                try store.recordClaim(receipt(id, sender: sender))
            }
            #expect(try store.firstAccepted(sender: "061014", sha256: "aa") == nil)
            var first = try #require(try store.receipt(id: "R1"))
            first.outcome = .accepted
            first.state = .finished
            try store.update(first)
            #expect(try store.firstAccepted(sender: "061014", sha256: "aa")?.id == "R1")
            #expect(try store.firstAccepted(sender: "165901", sha256: "aa") == nil)
            var second = try #require(try store.receipt(id: "R2"))
            second.outcome = .acceptedWithErrors
            #expect(throws: LedgerError.self) { try store.update(second) }
            second.outcome = .duplicate
            second.duplicateOf = "R1"
            try store.update(second)
            var other = try #require(try store.receipt(id: "R3"))
            other.outcome = .accepted
            try store.update(other)
        }
    }

    @Test("deliveries are recorded once and marked picked up", arguments: LedgerUnderTest.all)
    func deliveries(ledger: LedgerUnderTest) throws {
        try withTemporaryDirectory { directory in
            let store = try ledger.make(directory)
            try store.recordClaim(receipt("R1"))
            let delivery = Delivery(
                receiptId: "R1", recipientOrgId: "061014", fileName: "f.csv.ack.csv", deliveredAt: Timestamp(secondsSinceEpoch: 5))
            try store.recordDelivery(delivery)
            try store.recordDelivery(delivery)
            #expect(try store.pendingDeliveries() == [delivery])
            try store.markPickedUp(recipientOrgId: "061014", fileName: "f.csv.ack.csv", at: Timestamp(secondsSinceEpoch: 9))
            #expect(try store.pendingDeliveries().isEmpty)
        }
    }

    @Test("records that failed the rules are kept with their receipt, once", arguments: LedgerUnderTest.all)
    func rejectedRecords(ledger: LedgerUnderTest) throws {
        try withTemporaryDirectory { directory in
            let store = try ledger.make(directory)
            try store.recordClaim(receipt("R1"))
            var judged = try #require(try store.receipt(id: "R1"))
            judged.outcome = .acceptedWithErrors
            let records = [
                RejectedRecord(receiptId: "R1", line: 7, recordKey: "k7", codes: ["ENR-01"]),
                RejectedRecord(receiptId: "R1", line: 3, recordKey: nil, codes: ["ENR-01", "ENR-04"]),
            ]
            try store.update(judged, recordingDeliveries: [], rejectedRecords: records)
            try store.update(judged, recordingDeliveries: [], rejectedRecords: records)
            #expect(try store.rejectedRecords(receiptId: "R1") == [records[1], records[0]])
            #expect(try store.rejectedRecords(receiptId: "R2").isEmpty)
        }
    }

    @Test("the SQLite ledger survives reopening and refuses a database from a newer ktsx")
    func sqliteReopen() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("ledger.sqlite").path
            try SQLiteLedger(path: path).recordClaim(receipt("R1"))
            #expect(try SQLiteLedger(path: path).receipt(id: "R1")?.id == "R1")
            let result = try runProcess("sqlite3", [path, "INSERT INTO grdb_migrations VALUES ('9-from-the-future')"])
            #expect(result.status == 0, "\(result.standardError)")
            do {
                _ = try SQLiteLedger(path: path)
                Issue.record("a newer schema was not refused")
            } catch {
                #expect((error as? LedgerError)?.code == .newerSchema)
            }
        }
    }
}
