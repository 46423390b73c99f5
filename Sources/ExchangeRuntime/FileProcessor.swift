import Crypto
import ExchangeCore
import ExchangeRules
import ExchangeValidation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Takes one dropped file from claim to acknowledgement. The order of the steps is `ReceiptLife`'s (a
/// pure state machine); this is its executor, which does each step on the drop tree and the ledger:
///
/// 1. claim: rename out of `inbound/` into the work area, hash, record the receipt (`claimed`);
/// 2. judge: duplicate? else validate; choose the outcome and the output names (`FileJudgement.swift`);
/// 3. prepare the acknowledgement (and error file) as hidden temporaries in the sender's `outbound/`;
/// 4. record the judgement, the output names and the deliveries (`writing`), in one transaction;
/// 5. place the outputs (a link that never replaces), file the original in the archive or quarantine;
/// 6. record `finished`.
///
/// `resume` finishes a receipt found `claimed` or `writing` after a restart: a claimed file is judged
/// again (the same bytes give the same judgement); a writing one has its outputs placed, unless they were
/// placed and taken already. So no file is lost and no file gets a second acknowledgement. Each step's
/// end is a `CrashPoint` where `crashes` can stop the process (or, in tests, the file's life).
public struct FileProcessor: Sendable {
    let tree: DropTree
    let ledger: any LedgerStore
    let validator: FileValidator
    let maxFileBytes: Int64
    let maxRecords: Int
    let rules: RuleBook
    let reference: @Sendable () -> ReferenceData
    let now: @Sendable () -> Timestamp
    let newReceiptId: @Sendable (_ senderOrgId: String) -> String
    /// Who holds the leases of the files this processor has in hand (the instance's name; a command adds
    /// its own name and process id).
    public let owner: String
    /// The leases of the files in hand.
    let leases: LeaseKeeper
    /// Where a crash is made to happen (only in tests).
    let crashes: CrashSwitch

    /// Creates a processor.
    /// - Parameters:
    ///   - maxRecords: Records one file may hold; a file with more is rejected, read no further.
    ///   - reference: The reference data in force (it may be reloaded between files).
    ///   - now: The wall clock (injected for tests).
    ///   - newReceiptId: Makes a fresh receipt id for a sender (injected for tests); it must start as
    ///     `receiptId(sender:time:suffix:)` does, so that recovery can tell the sender.
    ///   - owner: Who holds the leases of the files in hand.
    ///   - crashes: Where a crash is made to happen: as `KTSX_CRASH_AT` says unless a test simulates one.
    public init(
        tree: DropTree, ledger: any LedgerStore, validator: FileValidator, maxFileBytes: Int64,
        maxRecords: Int = ServiceSettings.defaultMaxRecords, rules: RuleBook = .standard,
        reference: @escaping @Sendable () -> ReferenceData, now: @escaping @Sendable () -> Timestamp,
        newReceiptId: @escaping @Sendable (_ senderOrgId: String) -> String, owner: String = "ktsx",
        crashes: CrashSwitch = .fromEnvironment
    ) {
        self.owner = owner
        self.crashes = crashes
        leases = LeaseKeeper(ledger: ledger, owner: owner)
        self.tree = tree
        self.reference = reference
        self.maxFileBytes = maxFileBytes
        self.maxRecords = maxRecords
        self.rules = rules
        self.ledger = ledger
        self.validator = validator
        self.now = now
        self.newReceiptId = newReceiptId
    }

    /// Claims a ready file and takes it to its acknowledgement. Returns nil when the file was gone.
    public func process(_ name: String, from participant: Participant, logger: Logger) async throws -> Receipt? {
        let started = ContinuousClock.now
        var file = FileInHand(participant: participant, receiptId: newReceiptId(participant.orgId), name: name, logger: logger)
        let acknowledged = try await live(ReceiptLife.claiming(), &file)
        if let acknowledged { ExchangeMetrics.claimToAcknowledgement(acknowledged, took: ContinuousClock.now - started) }
        return acknowledged
    }

    /// Claims an entry that must not be read (a link, a folder, a FIFO, an oversize file) the same way
    /// as a file, and acknowledges it as rejected with the reason. It is moved, never opened.
    public func setAside(_ entry: DropEntry, from participant: Participant, logger: Logger) async throws -> Receipt? {
        try await process(entry.name, from: participant, logger: logger)
    }

    /// Finishes a receipt that a crash left `claimed` or `writing`.
    public func resume(_ receipt: Receipt, participant: Participant, logger: Logger) async throws {
        var file = FileInHand(participant: participant, receiptId: receipt.id, name: receipt.originalName, logger: logger, receipt: receipt)
        let tree = self.tree
        let (claimed, originalInWork) = await BlockingWork.run {
            let claimed = tree.locateClaimed(receiptId: receipt.id, name: receipt.originalName)
            return (claimed, tree.exists(claimed))
        }
        file.located = claimed
        _ = try await live(ReceiptLife.resuming(receipt.state, originalInWork: originalInWork, isReprocess: receipt.reprocessOf != nil), &file)
    }

    /// Records a claimed file found in the work area with no receipt (a crash between claim and record),
    /// and takes it to its acknowledgement.
    /// - Returns: false when another instance, which found the same claim, recorded it first: it finishes
    ///   the file (an expected race, not a fault).
    /// - Parameter name: The claimed file's name, as `DropTree.workClaims` found it (nil: the receipt's folder
    ///   is empty, and is removed).
    @discardableResult
    public func adoptClaimed(receiptId: String, name: String?, participant: Participant, logger: Logger) async throws -> Bool {
        let tree = self.tree
        guard let name else {
            await BlockingWork.run { tree.removeWork(receiptId: receiptId) }
            return true
        }
        var file = FileInHand(participant: participant, receiptId: receiptId, name: name, logger: logger, adopted: true)
        file.located = await BlockingWork.run { tree.locateClaimed(receiptId: receiptId, name: name) }
        return try await live(ReceiptLife.adopting(), &file) != nil
    }

    /// Judges again, as the recorded receipt `receipt`, a kept original at support's request: copies it into
    /// the work area, then as any claimed file.
    func judgeAgain(_ receipt: Receipt, participant: Participant, logger: Logger) async throws -> Receipt {
        var file = FileInHand(participant: participant, receiptId: receipt.id, name: receipt.originalName, logger: logger, receipt: receipt)
        guard let acknowledged = try await live(ReceiptLife.resuming(.claimed, originalInWork: false, isReprocess: true), &file) else {
            throw LedgerError(.storage, "receipt \(receipt.id) was left before its acknowledgement")
        }
        return acknowledged
    }

    // MARK: The executor

    /// What the executor knows of a file in hand as its life goes on.
    struct FileInHand {
        let participant: Participant
        let receiptId: String
        /// The file's name in `inbound/` and in the work area.
        let name: String
        var logger: Logger
        /// The receipt, once recorded (as the ledger holds it).
        var receipt: Receipt?
        /// Whether the file was found claimed with no receipt (another instance may record it first).
        var adopted = false
        /// The first receipt that accepted the same bytes, as the ledger answered when recording the claim
        /// (`.some(nil)`: none); nil when not asked (a receipt resumed after a restart).
        var firstAccepted: Receipt??
        /// The judgement, once decided.
        var judged: JudgedFile?
        /// Why committing failed, when it did.
        var failure: (any Error)?

        init(participant: Participant, receiptId: String, name: String, logger: Logger, receipt: Receipt? = nil, adopted: Bool = false) {
            self.participant = participant
            self.receiptId = receiptId
            self.name = name
            self.receipt = receipt
            self.adopted = adopted
            self.logger = logger
            self.logger[metadataKey: "exchange.receipt"] = "\(receiptId)"
        }

        /// Where the claimed file was found after a restart (nil: where this life puts it).
        var located: String?

        func claimedPath(in tree: DropTree) -> String { located ?? tree.claimedPath(receiptId: receiptId, name: name) }

        /// The recorded receipt (an action that needs it comes only after it was recorded or found).
        var recorded: Receipt {
            guard let receipt else { preconditionFailure("ReceiptLife asked for a step on a receipt not yet recorded") }
            return receipt
        }

        /// The judgement (an action that needs it comes only after judging).
        var decided: JudgedFile {
            guard let judged else { preconditionFailure("ReceiptLife asked for a step on a file not yet judged") }
            return judged
        }
    }

    /// Takes a file through its life from `start`: each action of `ReceiptLife` is done here (on the drop
    /// tree and the ledger), and what came of it is the next event. Returns the finished receipt, or nil
    /// when the file was left to someone else (gone before its claim, recorded by another instance).
    /// Throws when a step failed; what it left behind is what a later `resume` starts from.
    private func live(_ start: (ReceiptLife, ReceiptLife.Action), _ file: inout FileInHand) async throws -> Receipt? {
        var (life, action) = start
        let tree = self.tree
        let writer = OutboundWriter(tree: tree, ledger: ledger, now: now)
        let (receiptId, name, claimedPath, orgId) = (file.receiptId, file.name, file.claimedPath(in: tree), file.participant.orgId)
        while true {
            switch action {
            case .claim:
                let found = try await BlockingWork.run { try tree.claim(name, from: orgId, receiptId: receiptId) } != nil
                if found { try crashes.reach(.fileClaimed) }
                action = life.claimed(found: found)
            case .recordClaim:
                do {
                    (file.receipt, file.firstAccepted) = try await recordClaim(claimedPath, receiptId: receiptId, name: name, sender: orgId)
                } catch let error as LedgerError where error.code == .duplicateReceipt && file.adopted {
                    action = life.claimRecorded(byAnother: true)
                    continue
                }
                try crashes.reach(.fileRecorded)
                action = life.claimRecorded()
            case .copyOriginalIntoWork:
                let source = try await reprocessSource(of: file.recorded)
                _ = try await BlockingWork.run { try tree.copyIntoWork(source, receiptId: receiptId, name: name) }
                action = life.originalCopied()
            case .judge:
                file.judged = try await judgeFile(
                    file.recorded, claimedPath: claimedPath, participant: file.participant, firstAccepted: file.firstAccepted, logger: file.logger)
                action = life.judged()
            case .prepareOutputs:
                try await writer.prepare(file.decided.outputs, sourceId: receiptId)
                try crashes.reach(.filePrepared)
                action = life.prepared()
            case .commitJudgement:
                let judged = file.decided
                do {
                    try await holdLease(judged.receipt)
                    try await ledger.update(
                        judged.receipt, recordingDeliveries: judged.deliveries, findings: judged.findings, applying: judged.changes)
                    file.receipt = judged.receipt
                } catch {
                    file.failure = error
                    action = life.commitFailed(refused: FileProcessor.certainlyNotRecorded(error))
                    continue
                }
                try crashes.reach(.fileCommitted)
                action = life.committed()
            case .discardOutputs:
                await writer.discard(file.decided.outputs, sourceId: receiptId)
                action = life.outputsDiscarded()
            case .placeOutputs:
                try await holdLease(file.recorded)
                // Judged in this life, the deliveries are those just committed; after a restart, the ledger's.
                try await writer.placeAll(sourceId: receiptId, recorded: file.judged?.deliveries, afterFirst: { try crashes.reach(.fileOnePlaced) })
                try crashes.reach(.filePlaced)
                action = life.placed(originalInWork: await BlockingWork.run { tree.exists(claimedPath) })
            case .fileOriginal:
                let receipt = file.recorded
                _ = try await BlockingWork.run {
                    try tree.file(
                        claimedPath, receiptId: receiptId, orgId: orgId, name: name, quarantine: receipt.outcome == .rejected,
                        at: receipt.claimedAt)
                }
                try crashes.reach(.fileFiled)
                action = life.filed()
            case .removeWorkFolder:
                await BlockingWork.run { tree.removeWork(receiptId: receiptId) }
                try crashes.reach(.fileFiled)
                action = life.filed()
            case .recordFinished:
                var receipt = file.recorded
                receipt.state = .finished
                try await ledger.update(receipt)
                file.receipt = receipt
                ExchangeMetrics.acknowledged(receipt)
                file.logger.info("file acknowledged", metadata: ["exchange.outcome": "\(receipt.outcome?.rawValue ?? "")"])
                action = life.finished()
            case .done:
                return file.receipt
            case .stop(let reason):
                switch reason {
                case .goneBeforeClaim, .recordedByAnother:
                    return nil
                case .commitRefused, .commitUncertain:
                    throw file.failure ?? LedgerError(.storage, "receipt \(receiptId): committing its judgement failed")
                }
            }
        }
    }

    /// Whether a failed commit was refused, so certainly not recorded (a lost lease, a receipt changed or
    /// taken under us), rather than failed in a way that leaves it unknown (a lost connection).
    static func certainlyNotRecorded(_ error: any Error) -> Bool {
        error is LeaseLost || [.duplicateReceipt, .conflict, .unknownReceipt].contains((error as? LedgerError)?.code)
    }

    // MARK: Steps

    /// Hashes a claimed file and records its receipt, leased to us. Returns the receipt and the first
    /// receipt that accepted the same bytes from the sender, if any (asked with the record).
    func recordClaim(
        _ path: String, receiptId: String, name: String, sender: String, reprocessOf: String? = nil
    ) async throws -> (receipt: Receipt, firstAccepted: Receipt?) {
        let (tree, maxFileBytes) = (self.tree, self.maxFileBytes)
        let (digest, size) = try await BlockingWork.run { () throws -> (String, Int64) in
            let entry = try tree.entry(at: path)
            let unreadable = entry.kind != .regular || entry.links > 1 || entry.size > maxFileBytes
            return unreadable ? (String(repeating: "0", count: 64), max(0, entry.size)) : try FileProcessor.sha256(of: path, on: tree.fileSystem)
        }
        var receipt = Receipt(
            id: receiptId, senderOrgId: sender, originalName: name, sizeBytes: size, sha256: digest, claimedAt: now())
        receipt.reprocessOf = reprocessOf
        let firstAccepted = try await ledger.recordClaim(receipt, leasedTo: owner)
        leases.noteGranted(receipt.id)
        return (receipt, firstAccepted)
    }

    // MARK: Helpers

    /// Renews the receipt's lease, or throws if another owner took it over (this process stalled past
    /// it): the other one finishes the file.
    func holdLease(_ receipt: Receipt) async throws {
        guard try await leases.holdReceipt(receipt.id) else { throw LeaseLost(what: "receipt \(receipt.id)") }
    }

    /// A receipt id: `R<sender>-<yyyymmddThhmmss>-<suffix>`, e.g. `R061014-20261129T044500-3fa9c2`.
    /// The sender comes first so that a claimed file found without its receipt after a crash can be
    /// adopted for the right participant.
    public static func receiptId(sender: String, time: Timestamp, suffix: String) -> String {
        "R\(sender)-\(time.compact)-\(suffix)"
    }

    /// The sender encoded in a receipt id.
    public static func senderOf(receiptId: String) -> String? {
        guard receiptId.hasPrefix("R"), let dash = receiptId.firstIndex(of: "-") else { return nil }
        return String(receiptId[receiptId.index(after: receiptId.startIndex)..<dash])
    }

    /// SHA-256 (lowercase hex) and size of a file, read without following links (zeros for anything
    /// that is not a regular file).
    static func sha256(of path: String, on fileSystem: any FileSystem) throws -> (String, Int64) {
        guard let file = try? fileSystem.openForReading(path) else { return (String(repeating: "0", count: 64), 0) }
        var hasher = SHA256()
        var size: Int64 = 0
        try file.forEachChunk { chunk in
            hasher.update(bufferPointer: chunk)
            size += Int64(chunk.count)
            return true
        }
        let digest = hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
        return (digest, size)
    }
}
