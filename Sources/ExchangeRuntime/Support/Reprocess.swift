import ExchangeCore
import ExchangeRules
import Logging

extension FileProcessor {
    /// Judges the file of receipt `receiptId` again (see `reprocess(_:participant:logger:)`).
    /// - Throws: `SupportError` when the receipt is unknown, its sender left, or it cannot be judged again.
    public func reprocess(receiptId: String, logger: Logger) throws -> Receipt {
        guard let original = try ledger.receipt(id: receiptId) else {
            throw SupportError(.unknownReceipt, "there is no receipt \(receiptId); `ktsx submissions` lists them")
        }
        guard let participant = reference().participants[original.senderOrgId] else {
            throw SupportError(.unknownParticipant, "the sender \(original.senderOrgId) is no longer in participants.csv")
        }
        return try reprocess(original, participant: participant, logger: logger)
    }

    /// Judges a finished receipt's original again under today's reference data, as a new receipt linked to
    /// it (`reprocessOf`), with its own acknowledgement. The original is copied out of the archive or
    /// quarantine (where it stays). A rejected file is judged whole; of a file accepted with errors only the
    /// records that failed are judged again, since the others were applied.
    ///
    /// A crash after the copy but before the new receipt is recorded leaves a claimed file that the next
    /// start adopts as an ordinary file of the sender; after that, the new receipt resumes like any other.
    public func reprocess(_ original: Receipt, participant: Participant, logger: Logger) throws -> Receipt {
        guard original.state == .finished, let outcome = original.outcome else {
            throw SupportError(.notFinished, "receipt \(original.id) is still being processed; wait for its acknowledgement")
        }
        guard outcome == .rejected || outcome == .acceptedWithErrors else {
            throw SupportError(
                .nothingToReprocess,
                "receipt \(original.id) is \(outcome.rawValue): \(outcome == .duplicate ? "nothing in it was judged" : "every record was applied"); there is nothing to judge again")
        }
        let earlier = try ledger.receipts(matching: ReceiptQuery(reprocessOf: original.id))
        if let again = earlier.first(where: { $0.state != .finished || $0.wasAccepted }) {
            throw SupportError(
                .alreadyReprocessed,
                "receipt \(original.id) was judged again as \(again.id) (\(again.outcome?.rawValue ?? "in progress")); reprocess that receipt instead")
        }
        if outcome == .acceptedWithErrors, try ledger.rejectedRecords(receiptId: original.id).count < original.recordsRejected {
            throw SupportError(
                .nothingToReprocess, "receipt \(original.id) has more failed records than the ledger lists; ask the sender to send them again")
        }
        let source = tree.filedPath(
            receiptId: original.id, orgId: original.senderOrgId, name: original.originalName, quarantined: outcome == .rejected,
            claimedAt: original.claimedAt)
        guard tree.exists(source), (try? tree.entry(at: source))?.kind == .regular else {
            throw SupportError(
                .originalGone,
                "the original of receipt \(original.id) is no longer kept (originals are removed after the retention period, and entries that were not regular files are never read); ask the sender to send it again")
        }
        let receiptId = newReceiptId(participant.orgId)
        let claimed = try tree.copyIntoWork(source, receiptId: receiptId, name: original.originalName)
        let receipt = try recordClaim(claimed, receiptId: receiptId, name: original.originalName, sender: participant.orgId, reprocessOf: original.id)
        var logger = logger
        logger[metadataKey: "exchange.receipt"] = "\(receipt.id)"
        logger.info("judging a file again", metadata: ["exchange.earlier_receipt": "\(original.id)"])
        return try judgeAndAcknowledge(receipt, claimedPath: claimed, participant: participant, logger: logger)
    }

    /// For a receipt judged again from one accepted with errors: the lines of the records that failed
    /// there (the only ones judged again). Nil when the whole file is judged.
    func linesToJudgeAgain(_ receipt: Receipt) throws -> Set<Int>? {
        guard let earlierId = receipt.reprocessOf, let earlier = try ledger.receipt(id: earlierId), earlier.outcome == .acceptedWithErrors
        else { return nil }
        return Set(try ledger.rejectedRecords(receiptId: earlierId).map(\.line))
    }
}
