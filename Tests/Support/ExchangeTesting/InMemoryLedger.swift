import ExchangeCore
import Foundation

/// The ledger in memory, for tests: the same contract as the SQLite ledger (the contract tests run both).
public final class InMemoryLedger: LedgerStore, @unchecked Sendable {
    private let lock = NSLock()
    private var receipts: [Receipt] = []
    private var deliveries: [Delivery] = []
    private var rejected: [RejectedRecord] = []

    /// An empty ledger.
    public init() {}

    private func locked<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    public func recordClaim(_ receipt: Receipt) throws(LedgerError) {
        try locked { () throws(LedgerError) in
            guard !receipts.contains(where: { $0.id == receipt.id }) else {
                throw LedgerError(.duplicateReceipt, "receipt \(receipt.id) exists")
            }
            receipts.append(receipt)
        }
    }

    public func update(_ receipt: Receipt, recordingDeliveries newDeliveries: [Delivery], rejectedRecords: [RejectedRecord])
        throws(LedgerError)
    {
        try locked { () throws(LedgerError) in
            guard let index = receipts.firstIndex(where: { $0.id == receipt.id }) else {
                throw LedgerError(.unknownReceipt, "no receipt \(receipt.id)")
            }
            if receipt.wasAccepted,
                receipts.contains(where: {
                    $0.id != receipt.id && $0.wasAccepted && $0.senderOrgId == receipt.senderOrgId && $0.sha256 == receipt.sha256
                })
            {
                throw LedgerError(.duplicateReceipt, "these bytes were already accepted from \(receipt.senderOrgId)")
            }
            receipts[index] = receipt
            for delivery in newDeliveries
            where !deliveries.contains(where: { $0.receiptId == delivery.receiptId && $0.fileName == delivery.fileName }) {
                deliveries.append(delivery)
            }
            for record in rejectedRecords
            where !rejected.contains(where: { $0.receiptId == record.receiptId && $0.line == record.line }) {
                rejected.append(record)
            }
        }
    }

    public func rejectedRecords(receiptId: String) throws(LedgerError) -> [RejectedRecord] {
        try locked { rejected.filter { $0.receiptId == receiptId }.sorted { $0.line < $1.line } }
    }

    public func receipt(id: String) throws(LedgerError) -> Receipt? {
        try locked { receipts.first { $0.id == id } }
    }

    public func firstAccepted(sender: String, sha256: String) throws(LedgerError) -> Receipt? {
        try locked { receipts.first { $0.wasAccepted && $0.senderOrgId == sender && $0.sha256 == sha256 } }
    }

    public func unfinishedReceipts() throws(LedgerError) -> [Receipt] {
        try locked { receipts.filter { $0.state != .finished } }
    }

    public func allReceipts() throws(LedgerError) -> [Receipt] {
        try locked { receipts }
    }

    public func pendingDeliveries() throws(LedgerError) -> [Delivery] {
        try locked { deliveries.filter { $0.pickedUpAt == nil } }
    }

    public func isPendingDelivery(recipientOrgId: String, fileName: String) throws(LedgerError) -> Bool {
        try locked {
            deliveries.contains { $0.recipientOrgId == recipientOrgId && $0.fileName == fileName && $0.pickedUpAt == nil }
        }
    }

    public func markPickedUp(recipientOrgId: String, fileName: String, at time: Timestamp) throws(LedgerError) {
        try locked {
            for index in deliveries.indices
            where deliveries[index].recipientOrgId == recipientOrgId && deliveries[index].fileName == fileName
                && deliveries[index].pickedUpAt == nil
            {
                deliveries[index].pickedUpAt = time
            }
        }
    }
}
