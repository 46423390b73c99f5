import ExchangeCore
import ExchangeRules
import Logging

extension FileProcessor {
    /// Judges the file of receipt `receiptId` again (see `reprocess(_:participant:reason:logger:)`).
    /// - Throws: `SupportError` when the receipt is unknown, its sender left, or it cannot be judged again.
    public func reprocess(receiptId: String, reason: String? = nil, logger: Logger) async throws -> Receipt {
        guard let original = try await ledger.receipt(id: receiptId) else {
            throw SupportError(.unknownReceipt, "there is no receipt \(receiptId); `ktsx submissions` lists them")
        }
        guard let participant = reference().participants[original.senderOrgId] else {
            throw SupportError(.unknownParticipant, "the sender \(original.senderOrgId) is no longer in participants.csv")
        }
        return try await reprocess(original, participant: participant, reason: reason, logger: logger)
    }

    /// Judges a finished receipt's original again under today's reference data, as a new receipt linked to
    /// it (`reprocessOf`), with its own acknowledgement. The original is copied out of the archive or
    /// quarantine (where it stays). A rejected file is judged whole (and is a duplicate if the same bytes
    /// were accepted since); of a file accepted with errors only the records that failed are judged again,
    /// since the others were applied — and so again for a re-judgement of those records that was rejected.
    ///
    /// The new receipt is recorded before the copy is made: a crash leaves a claimed receipt that the
    /// service finishes (a minute later, or at its next start), copying again if need be. A file is judged again by one receipt at a time, and is
    /// accepted by one at most (the ledger refuses a second claim).
    /// - Parameter reason: Why support asks, recorded with the new receipt's claim.
    public func reprocess(_ original: Receipt, participant: Participant, reason: String? = nil, logger: Logger) async throws -> Receipt {
        guard original.state == .finished, let outcome = original.outcome else {
            throw SupportError(.notFinished, "receipt \(original.id) is still being processed; wait for its acknowledgement")
        }
        guard outcome == .rejected || outcome == .acceptedWithErrors else {
            throw SupportError(
                .nothingToReprocess,
                "receipt \(original.id) is \(outcome.rawValue): \(outcome == .duplicate ? "nothing in it was judged" : "every record was applied"); there is nothing to judge again")
        }
        let earlier = try await ledger.receipts(matching: ReceiptQuery(reprocessOf: original.id))
        if let again = earlier.first(where: { $0.state != .finished || $0.wasAccepted }) {
            throw SupportError(
                .alreadyReprocessed,
                "receipt \(original.id) was judged again as \(again.id) (\(again.outcome?.rawValue ?? "in progress")); reprocess that receipt instead")
        }
        if outcome == .acceptedWithErrors, try await ledger.rejectedRecords(receiptId: original.id).count < original.recordsRejected {
            throw SupportError(
                .nothingToReprocess, "receipt \(original.id) has more failed records than the ledger lists; ask the sender to send them again")
        }
        let tree = self.tree
        let kept = await BlockingWork.run { () -> String? in
            guard let source = tree.filedOriginal(of: original), tree.exists(source), (try? tree.entry(at: source))?.kind == .regular else {
                return nil
            }
            return source
        }
        guard let source = kept else {
            throw SupportError(
                .originalGone,
                "the original of receipt \(original.id) is no longer kept (originals are removed after the retention period, and entries that were not regular files are never read); ask the sender to send it again")
        }
        let receiptId = newReceiptId(participant.orgId)
        var receipt = Receipt(
            id: receiptId, senderOrgId: participant.orgId, originalName: original.originalName, sizeBytes: 0, sha256: "", claimedAt: now())
        (receipt.sha256, receipt.sizeBytes) = try await BlockingWork.run { try FileProcessor.sha256(of: source, on: tree.fileSystem) }
        receipt.reprocessOf = original.id
        receipt.reprocessReason = reason
        receipt.failedRecordsOnly = try await linesToJudgeAgain(after: original) != nil
        do {
            try await ledger.recordClaim(receipt, leasedTo: owner)
        } catch {
            guard error.code == .duplicateReceipt else { throw error }
            throw SupportError(.alreadyReprocessed, "receipt \(original.id) is being judged again by another request right now")
        }
        var logger = logger
        logger[metadataKey: "exchange.receipt"] = "\(receipt.id)"
        logger.info("judging a file again", metadata: ["exchange.earlier_receipt": "\(original.id)"])
        return try await judgeAgain(receipt, participant: participant, logger: logger)
    }

    /// The kept original a re-judgement copies.
    func reprocessSource(of receipt: Receipt) async throws -> String {
        guard let earlierId = receipt.reprocessOf, let earlier = try await ledger.receipt(id: earlierId), let source = tree.filedOriginal(of: earlier)
        else {
            throw SupportError(.originalGone, "receipt \(receipt.id) judges again a file whose original is not known")
        }
        return source
    }

    /// The lines of the records a receipt with `failedRecordsOnly` judges: those that failed under the
    /// receipt it judges again.
    func linesToJudgeAgain(_ receipt: Receipt) async throws -> Set<Int> {
        guard let earlierId = receipt.reprocessOf, let earlier = try await ledger.receipt(id: earlierId),
            let lines = try await linesToJudgeAgain(after: earlier)
        else {
            // Judging the whole file would apply its accepted records a second time.
            throw SupportError(.nothingToReprocess, "receipt \(receipt.id) cannot tell which records of its file failed before")
        }
        return lines
    }

    /// The records to judge in a re-judgement of `earlier`: of a file accepted with errors, those that
    /// failed; of a rejected re-judgement of failed records, the same records again; nil (the whole file)
    /// otherwise.
    func linesToJudgeAgain(after earlier: Receipt) async throws -> Set<Int>? {
        if earlier.outcome == .acceptedWithErrors { return Set(try await ledger.rejectedRecords(receiptId: earlier.id).map(\.line)) }
        guard earlier.failedRecordsOnly, let beforeId = earlier.reprocessOf, let before = try await ledger.receipt(id: beforeId) else { return nil }
        return try await linesToJudgeAgain(after: before)
    }
}
