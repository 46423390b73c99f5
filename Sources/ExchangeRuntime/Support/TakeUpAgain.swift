import ExchangeCore
import ExchangeRules
import Logging

extension FileProcessor {
    /// Takes up again, after the ledger was restored from a backup, a file judged after that backup: its
    /// original is in the archive or quarantine and its outputs were written (and perhaps taken), but the
    /// restored ledger does not know it, or knows it only as claimed. It is judged again as the same receipt
    /// claimed at the same time, against the ledger as the files filed before it left it (the same bytes and
    /// the same ledger give the same judgement), and its outputs are not written again: each is recorded as
    /// delivered under the name it was written with, waiting when its file is still in `outbound/` and
    /// picked up when it is not. The acknowledgement the sender has is the one it keeps.
    /// - Returns: The finished receipt.
    /// - Throws: `LedgerError` when the receipt is known past its claim (nothing to take up), or a step fails.
    public func takeUpAgain(_ filed: FiledOriginal, participant: Participant, logger: Logger) async throws -> Receipt {
        guard let claimedAt = FileProcessor.claimTime(ofReceipt: filed.receiptId), FileProcessor.senderOf(receiptId: filed.receiptId) == filed.orgId
        else {
            throw LedgerError(.storage, "\(filed.path) is not filed under a receipt id of its sender")
        }
        var logger = logger
        logger[metadataKey: "exchange.receipt"] = "\(filed.receiptId)"
        let receipt: Receipt
        var firstAccepted: Receipt?? = nil
        if let known = try await ledger.receipt(id: filed.receiptId) {
            guard known.state == .claimed else {
                throw LedgerError(.conflict, "receipt \(filed.receiptId) is recorded past its claim; there is nothing to take up")
            }
            guard try await ledger.lease(receiptId: known.id, to: owner) else { throw LeaseLost(what: "receipt \(known.id)") }
            leases.noteGranted(known.id)
            receipt = known
        } else {
            let (tree, maxFileBytes, path) = (self.tree, self.maxFileBytes, filed.path)
            let (digest, size) = try await BlockingWork.run { () throws -> (String, Int64) in
                let entry = try tree.entry(at: path)
                let unreadable = entry.kind != .regular || entry.links > 1 || entry.size > maxFileBytes
                return unreadable ? (String(repeating: "0", count: 64), max(0, entry.size)) : try FileProcessor.sha256(of: path, on: tree.fileSystem)
            }
            let claim = Receipt(
                id: filed.receiptId, senderOrgId: filed.orgId, originalName: filed.name, sizeBytes: size, sha256: digest, claimedAt: claimedAt)
            firstAccepted = .some(try await ledger.recordClaim(claim, leasedTo: owner))
            leases.noteGranted(claim.id)
            receipt = claim
        }
        var judged = try await judgeFile(
            receipt, claimedPath: filed.path, participant: participant, firstAccepted: firstAccepted, naming: .asWrittenBefore, logger: logger)
        // When it was first written is not known; when its file was claimed is the nearest known time.
        judged.receipt.finishedAt = receipt.claimedAt
        for index in judged.deliveries.indices { judged.deliveries[index].deliveredAt = receipt.claimedAt }
        try await holdLease(judged.receipt)
        try await ledger.update(judged.receipt, recordingDeliveries: judged.deliveries, findings: judged.findings, applying: judged.changes)
        // Nothing prepared: each output is found in place (waiting) or not (taken, recorded as picked up).
        try await OutboundWriter(tree: tree, ledger: ledger, now: now).placeAll(sourceId: receipt.id, recorded: judged.deliveries)
        // Filed where its outcome says, should it come out otherwise this time.
        let tree = self.tree
        if let target = tree.filedOriginal(of: judged.receipt), target != filed.path {
            let outcome = judged.receipt.outcome
            logger.warning(
                "a file taken up again after a restore was judged otherwise than before; its original moves",
                metadata: ["exchange.outcome": "\(outcome?.rawValue ?? "")"])
            try await BlockingWork.run {
                try tree.file(
                    filed.path, receiptId: filed.receiptId, orgId: filed.orgId, name: filed.name, quarantine: outcome == .rejected, at: claimedAt)
                let folder = String(filed.path.dropLast(filed.name.utf8.count + 1))
                tree.fileSystem.removeEmptyDirectory(folder)
            }
        }
        var finished = judged.receipt
        finished.state = .finished
        try await ledger.update(finished)
        logger.info("file taken up again after a restore", metadata: ["exchange.outcome": "\(finished.outcome?.rawValue ?? "")"])
        return finished
    }

    /// When a receipt's file was claimed, from its id (`R<sender>-<yyyymmddThhmmss>-<suffix>`, UTC).
    public static func claimTime(ofReceipt receiptId: String) -> Timestamp? {
        let parts = receiptId.split(separator: "-")
        guard parts.count >= 3, parts[1].utf8.count == 15 else { return nil }
        let compact = Array(parts[1])
        guard compact[8] == "T", compact.enumerated().allSatisfy({ $0.offset == 8 || $0.element.isASCII && $0.element.isNumber }) else {
            return nil
        }
        let text = String(compact)
        func slice(_ from: Int, _ to: Int) -> String { String(compact[from..<to]) }
        let iso = "\(slice(0, 4))-\(slice(4, 6))-\(slice(6, 8))T\(slice(9, 11)):\(slice(11, 13)):\(slice(13, 15))Z"
        guard let value = DateTimeValue(iso) else { return nil }
        let instant = value.instant(defaultOffsetMinutes: 0)
        return instant.compact == text ? instant : nil
    }
}

/// After the ledger was restored from a backup: every file judged since (its original in the archive or
/// quarantine, unknown to the ledger or known only as claimed) taken up again in the order they were
/// filed, and what is left that the ledger cannot account for.
public struct LostHoursRecovery: Sendable {
    let processor: FileProcessor
    let participants: [String: Participant]

    /// What taking them up came to.
    public struct Report: Sendable {
        /// The receipts taken up again, finished, in the order they were.
        public var takenUp: [Receipt] = []
        /// Of those, the ones judged otherwise than before (their original changed area): receipt ids.
        public var judgedOtherwise: [String] = []
        /// Files that could not be taken up: the receipt id and why.
        public var failed: [(receiptId: String, reason: String)] = []
        /// Visible files in an `outbound/` that no waiting delivery accounts for (written after the backup by
        /// a nightly job, whose run the restored ledger does not know): participant and name.
        public var unaccounted: [(orgId: String, name: String)] = []
    }

    /// A recovery with this processor (its ledger the restored one) for these participants.
    public init(processor: FileProcessor, participants: [Participant]) {
        self.processor = processor
        self.participants = Dictionary(uniqueKeysWithValues: participants.map { ($0.orgId, $0) })
    }

    /// Takes up every file the restored ledger does not know, then lists what is left unaccounted for.
    public func run(logger: Logger) async throws -> Report {
        var report = Report()
        let (tree, ledger) = (processor.tree, processor.ledger)
        let filed = try await BlockingWork.run { try tree.filedOriginals() }
        for original in filed {
            if let known = try await ledger.receipt(id: original.receiptId), known.state != .claimed { continue }
            guard let participant = participants[original.orgId] else {
                report.failed.append((original.receiptId, "its sender \(original.orgId) is not in participants.csv"))
                continue
            }
            do {
                let receipt = try await processor.takeUpAgain(original, participant: participant, logger: logger)
                report.takenUp.append(receipt)
                if (receipt.outcome == .rejected) != original.quarantined { report.judgedOtherwise.append(receipt.id) }
            } catch {
                report.failed.append((original.receiptId, "\(error)"))
            }
        }
        let waiting = Set(try await ledger.pendingDeliveries().map { OutboundName(recipientOrgId: $0.recipientOrgId, fileName: $0.fileName) })
        for orgId in participants.keys.sorted() {
            let names = try await BlockingWork.run { try tree.list(tree.outbound(orgId)).map(\.name) }
            for name in names where !name.hasPrefix(".") && !waiting.contains(OutboundName(recipientOrgId: orgId, fileName: name)) {
                report.unaccounted.append((orgId, name))
            }
        }
        return report
    }
}
