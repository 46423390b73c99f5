import Crypto
import ExchangeCore
import ExchangeRules
import ExchangeValidation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Takes one dropped file from claim to acknowledgement, in steps that a crash can interrupt anywhere:
///
/// 1. claim: rename out of `inbound/` into the work area, hash, record the receipt (`claimed`);
/// 2. judge: duplicate? else validate; choose the outcome and the output names;
/// 3. prepare the acknowledgement (and error file) as hidden temporaries in the sender's `outbound/`;
/// 4. record the judgement, the output names and the deliveries (`writing`), in one transaction;
/// 5. place the outputs (a link that never replaces), file the original in the archive or quarantine;
/// 6. record `finished`.
///
/// `resume` finishes a receipt found `claimed` or `writing` after a restart: a claimed file is judged
/// again (the same bytes give the same judgement); a writing one has its outputs placed, unless they were
/// placed and taken already. So no file is lost and no file gets a second acknowledgement.
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

    /// Creates a processor.
    /// - Parameters:
    ///   - maxRecords: Records one file may hold; a file with more is rejected, read no further.
    ///   - reference: The reference data in force (it may be reloaded between files).
    ///   - now: The wall clock (injected for tests).
    ///   - newReceiptId: Makes a fresh receipt id for a sender (injected for tests); it must start as
    ///     `receiptId(sender:time:suffix:)` does, so that recovery can tell the sender.
    ///   - owner: Who holds the leases of the files in hand.
    public init(
        tree: DropTree, ledger: any LedgerStore, validator: FileValidator, maxFileBytes: Int64,
        maxRecords: Int = ServiceSettings.defaultMaxRecords, rules: RuleBook = .standard,
        reference: @escaping @Sendable () -> ReferenceData, now: @escaping @Sendable () -> Timestamp,
        newReceiptId: @escaping @Sendable (_ senderOrgId: String) -> String, owner: String = "ktsx"
    ) {
        self.owner = owner
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
    public func process(_ name: String, from participant: Participant, logger: Logger) throws -> Receipt? {
        let receiptId = newReceiptId(participant.orgId)
        let started = ContinuousClock.now
        guard let claimed = try tree.claim(name, from: participant.orgId, receiptId: receiptId) else { return nil }
        CrashPoint.fileClaimed.reach()
        let receipt = try recordClaim(claimed, receiptId: receiptId, name: name, sender: participant.orgId)
        CrashPoint.fileRecorded.reach()
        var logger = logger
        logger[metadataKey: "exchange.receipt"] = "\(receipt.id)"
        let acknowledged = try judgeAndAcknowledge(receipt, claimedPath: claimed, participant: participant, logger: logger)
        ExchangeMetrics.claimToAcknowledgement(acknowledged, took: ContinuousClock.now - started)
        return acknowledged
    }

    /// Claims an entry that must not be read (a link, a folder, a FIFO, an oversize file) the same way
    /// as a file, and acknowledges it as rejected with the reason. It is moved, never opened.
    public func setAside(_ entry: DropEntry, from participant: Participant, logger: Logger) throws -> Receipt? {
        try process(entry.name, from: participant, logger: logger)
    }

    /// Finishes a receipt that a crash left `claimed` or `writing`.
    public func resume(_ receipt: Receipt, participant: Participant, logger: Logger) throws {
        var receipt = receipt
        var logger = logger
        logger[metadataKey: "exchange.receipt"] = "\(receipt.id)"
        let claimed = "\(tree.work)/\(receipt.id)/\(receipt.originalName)"
        switch receipt.state {
        case .finished:
            return
        case .claimed:
            // A file judged again on support's request is claimed before it is copied out of the archive:
            // copy it (again) if the copy did not finish.
            if receipt.reprocessOf != nil, !tree.exists(claimed) {
                _ = try tree.copyIntoWork(try reprocessSource(of: receipt), receiptId: receipt.id, name: receipt.originalName)
            }
            // Judged again: the same bytes give the same judgement.
            _ = try judgeAndAcknowledge(receipt, claimedPath: claimed, participant: participant, logger: logger)
        case .writing:
            try placeOutputs(of: &receipt, participant: participant, originalPath: tree.exists(claimed) ? claimed : nil, logger: logger)
        }
    }

    /// Records a claimed file found in the work area with no receipt (a crash between claim and record),
    /// and takes it to its acknowledgement.
    /// - Returns: false when another instance, which found the same claim, recorded it first: it finishes
    ///   the file (an expected race, not a fault).
    @discardableResult
    public func adoptClaimed(receiptId: String, participant: Participant, logger: Logger) throws -> Bool {
        let names = try tree.list("\(tree.work)/\(receiptId)").map(\.name)
        guard let name = names.first else {
            tree.removeWork(receiptId: receiptId)
            return true
        }
        let receipt: Receipt
        do {
            receipt = try recordClaim("\(tree.work)/\(receiptId)/\(name)", receiptId: receiptId, name: name, sender: participant.orgId)
        } catch let error as LedgerError where error.code == .duplicateReceipt {
            return false
        }
        _ = try judgeAndAcknowledge(receipt, claimedPath: "\(tree.work)/\(receiptId)/\(name)", participant: participant, logger: logger)
        return true
    }

    // MARK: Steps

    func recordClaim(_ path: String, receiptId: String, name: String, sender: String, reprocessOf: String? = nil) throws -> Receipt {
        let entry = try tree.entry(at: path)
        let unreadable = entry.kind != .regular || entry.links > 1 || entry.size > maxFileBytes
        let (digest, size) = unreadable ? (String(repeating: "0", count: 64), max(0, entry.size)) : try FileProcessor.sha256(of: path)
        var receipt = Receipt(
            id: receiptId, senderOrgId: sender, originalName: name, sizeBytes: size, sha256: digest, claimedAt: now())
        receipt.reprocessOf = reprocessOf
        try ledger.recordClaim(receipt, leasedTo: owner)
        leases.noteGranted(receipt.id)
        return receipt
    }

    func judgeAndAcknowledge(_ receipt: Receipt, claimedPath: String, participant: Participant, logger: Logger)
        throws -> Receipt
    {
        var receipt = receipt
        try holdLease(receipt)
        let before = try tree.entry(at: claimedPath)
        if let reason = setAsideReason(before) {
            let issue = ValidationIssue(code: .notARegularFile(reason), message: FileProcessor.explanation(reason, size: receipt.sizeBytes))
            logger.info("entry set aside unread", metadata: ["exchange.reason": "\(issue.code)"])
            return try acknowledge(
                &receipt, report: nil, issues: [issue], errorCount: 1, outcome: .rejected, participant: participant,
                originalPath: claimedPath, logger: logger)
        }
        // Judging again only the records that failed is not a second copy of the file's accepted records.
        if !receipt.failedRecordsOnly, let first = try ledger.firstAccepted(sender: receipt.senderOrgId, sha256: receipt.sha256),
            first.id != receipt.id
        {
            receipt.fileType = first.fileType
            receipt.binding = first.binding
            receipt.recordsReceived = first.recordsReceived
            receipt.duplicateOf = first.id
            logger.info("file is a duplicate", metadata: ["exchange.first_receipt": "\(first.id)"])
            return try acknowledge(
                &receipt, report: nil, issues: [], errorCount: 0, outcome: .duplicate, participant: participant,
                originalPath: claimedPath, logger: logger)
        }
        let held = LedgerHeldRecords(ledger: ledger)
        let reference = self.reference()
        let applier = RecordApplier(
            rules: rules, context: RuleContext(senderOrgId: participant.orgId, reference: reference, held: held, receivedAt: receipt.claimedAt),
            receiptId: receipt.id, fieldTypes: RecordFiles.partnerFieldTypes)
        let onlyLines = receipt.failedRecordsOnly ? try linesToJudgeAgain(receipt) : nil
        let judged = RecordJudgements(
            applier: applier, held: held, senderOrgId: participant.orgId, limit: validator.issueLimit, onlyLines: onlyLines)
        let size = receipt.sizeBytes
        var recordsSeen = 0
        var leaseLost = false
        let maxRecords = self.maxRecords
        let leases = self.leases
        let report = try validate(
            claimedPath, name: receipt.originalName,
            onRecord: { record in
                recordsSeen += 1
                // A long judgement keeps its lease (every 5,000 records), and stops if another instance took it.
                if recordsSeen % 5_000 == 0, !((try? leases.holdReceipt(receipt.id)) ?? true) { leaseLost = true }
                // Past the limit nothing is judged: the file is rejected whole.
                if recordsSeen <= maxRecords { judged.judge(record) }
            },
            progress: { read in
                // A long file keeps its lease while it is read.
                if !((try? leases.holdReceipt(receipt.id)) ?? true) { leaseLost = true }
                logger.info(
                    "validating a long file",
                    metadata: ["exchange.read_mib": "\(read >> 20)", "exchange.size_mib": "\(size >> 20)"])
            },
            stopReading: { recordsSeen > maxRecords || leaseLost })
        judged.finish()
        try held.rethrow()
        if leaseLost { throw LeaseLost(what: "receipt \(receipt.id)") }
        // Someone still writing into the file (through a descriptor opened before the claim), or a file
        // swapped in under it: what was read is not what was hashed and will be kept. Nothing is applied.
        let after = try tree.entry(at: claimedPath)
        if after.size != before.size || after.modified != before.modified || after.inode != before.inode
            || before.size != receipt.sizeBytes
        {
            logger.warning(
                "file changed while it was read",
                metadata: ["exchange.size_before": "\(receipt.sizeBytes)", "exchange.size_after": "\(after.size)"])
            let issue = ValidationIssue(
                code: .fileChanged,
                message: "The file changed while it was being read (\(receipt.sizeBytes) bytes when received, \(after.size) when read), "
                    + "so it was still being written. Nothing in it was applied. Send it again once it is complete: write it under a "
                    + "temporary name and rename it when done, or use a done marker.")
            receipt.fileType = report.type
            receipt.binding = report.binding
            receipt.recordsReceived = report.recordCount
            return try acknowledge(
                &receipt, report: report, issues: [issue], errorCount: 1, outcome: .rejected, participant: participant,
                originalPath: claimedPath, logger: logger)
        }
        receipt.fileType = report.type
        receipt.binding = report.binding
        if recordsSeen > maxRecords { logger.info("file has too many records", metadata: ["exchange.limit": "\(maxRecords)"]) }
        let verdict = FileVerdict(
            report: report, verdicts: judged.verdicts, receiptId: receipt.id, senderOrgId: participant.orgId, recordsSeen: recordsSeen,
            maxRecords: maxRecords, judgedAgainOnly: onlyLines != nil)
        receipt.recordsReceived = verdict.recordsReceived
        receipt.recordsRejected = verdict.recordsRejected
        var judgedMetadata: Logger.Metadata = [
            "exchange.type": "\(report.type?.code ?? "UNKNOWN")", "exchange.outcome": "\(verdict.outcome.rawValue)",
            "exchange.errors": "\(verdict.errorCount)",
        ]
        // A rule that asks something its batch did not fetch is answered, one query at a time: say so.
        if held.singleLookups > 0 { judgedMetadata["exchange.single_lookups"] = "\(held.singleLookups)" }
        logger.info("file judged", metadata: judgedMetadata)
        var routed: [OutboundFile] = []
        var changes = LedgerChanges.none
        if verdict.applies {
            changes = LedgerChanges(held: applier.changes, waivers: applier.waiverChanges)
            routed = try routedFiles(applier.routedNow, receipt: receipt, reference: reference, logger: logger)
        }
        return try acknowledge(
            &receipt, report: report, issues: verdict.issues, errorCount: verdict.errorCount, outcome: verdict.outcome,
            participant: participant, originalPath: claimedPath, logger: logger, rejectedRecords: verdict.rejectedRecords, routed: routed,
            changes: changes)
    }

    /// The files that carry accepted enrollments to their centers and attendance to the home high schools,
    /// one per recipient (and school year), in each recipient's binding.
    private func routedFiles(
        _ routed: [String: [HeldRecord]], receipt: Receipt, reference: ReferenceData, logger: Logger
    ) throws -> [OutboundFile] {
        let writer = OutboundWriter(tree: tree, ledger: ledger, now: now)
        let tag = String(receipt.id.split(separator: "-").last ?? "")
        var files: [OutboundFile] = []
        for recipient in routed.keys.sorted() {
            guard let participant = reference.participants[recipient] else {
                logger.warning("accepted records for an organisation that is not a participant were not routed", metadata: ["exchange.recipient": "\(recipient)"])
                continue
            }
            let records = routed[recipient]!
            let binding = RecordFiles.binding(for: participant)
            for year in Set(records.map(\.schoolYear)).sorted() {
                let yearRecords = records.filter { $0.schoolYear == year }
                let rows = yearRecords.map(\.values)
                guard let type = records.first?.type else { continue }
                let yearTag = Set(records.map(\.schoolYear)).count == 1 ? tag : "\(tag)-\(year)"
                let preferred = RecordFiles.name(type, orgId: receipt.senderOrgId, time: receipt.claimedAt, tag: yearTag, binding: binding)
                let name = try writer.freeName(preferred, fallback: "\(receipt.id)-\(year).\(type.code).\(binding.fileExtension)", recipient: recipient)
                files.append(
                    OutboundFile(
                        recipientOrgId: recipient, name: name,
                        bytes: RecordFiles.render(
                            type, rows: rows, header: (receipt.senderOrgId, year, receipt.claimedAt), binding: binding),
                        records: rows.count,
                        carried: yearRecords.map { RecordReference(receiptId: $0.receiptId, recordId: $0["recordId"]) }))
            }
        }
        return files
    }

    /// Why a claimed entry must not be read, if it must not: a link (symbolic, or a file with more than
    /// one name), a folder, a FIFO or device, or a file over the limit (from `lstat`; nothing is opened).
    private func setAsideReason(_ entry: DropEntry) -> ReadinessTracker.SetAsideReason? {
        switch entry.kind {
        case .symbolicLink: return .symbolicLink
        case .directory: return .directory
        case .special: return .special
        case .regular:
            if entry.links > 1 { return .hardLink }
            return entry.size > maxFileBytes ? .tooLarge(limit: maxFileBytes) : nil
        }
    }

    static func explanation(_ reason: ReadinessTracker.SetAsideReason, size: Int64) -> String {
        switch reason {
        case .symbolicLink: "The file is a symbolic link. Links are never followed; upload the file itself."
        case .hardLink:
            "The file is a hard link (it has another name, perhaps outside your folder) and was not read. Upload the file itself."
        case .directory: "This is a folder, not a file, and was not read. Upload files directly into inbound/."
        case .special: "This is not a regular file (a FIFO, socket or device) and was not read."
        case .tooLarge(let limit):
            "The file is \(size) bytes, over the limit of \(limit) bytes, and was not read. Split it into smaller files."
        }
    }

    private func validate(
        _ path: String, name: String, onRecord: @escaping RecordFactsHandler, progress: @escaping (Int64) -> Void,
        stopReading: @escaping () -> Bool
    ) throws -> ValidationReport {
        // The work area is ours, but the sender could have swapped the file for a link between our lstat
        // and the claim: never follow one, never block on a FIFO.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else {
            return ValidationReport(
                file: name, type: nil, binding: nil, recordCount: 0,
                issues: [ValidationIssue(code: .notARegularFile(.symbolicLink), message: "The file could not be opened as a regular file; links are never followed.")],
                errorCount: 1)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            return ValidationReport(
                file: name, type: nil, binding: nil, recordCount: 0,
                issues: [ValidationIssue(code: .notARegularFile(.special), message: "The file is not a regular file and was not read.")],
                errorCount: 1)
        }
        guard info.st_nlink <= 1 else {
            return ValidationReport(
                file: name, type: nil, binding: nil, recordCount: 0,
                issues: [ValidationIssue(code: .notARegularFile(.hardLink), message: FileProcessor.explanation(.hardLink, size: 0))],
                errorCount: 1)
        }
        return try validator.validate(
            fileDescriptor: descriptor, displayName: name, capturing: RecordFiles.partnerFieldNames, onRecord: onRecord,
            progress: progress, stopReading: stopReading)
    }

    private func acknowledge(
        _ receipt: inout Receipt, report: ValidationReport?, issues: [ValidationIssue], errorCount: Int,
        outcome: FileOutcome, participant: Participant, originalPath: String?, logger: Logger,
        rejectedRecords: [RejectedRecord] = [], routed: [OutboundFile] = [], changes: LedgerChanges = .none
    ) throws -> Receipt {
        let binding = FileProcessor.outputBinding(for: participant, report: report, name: receipt.originalName)
        let writer = OutboundWriter(tree: tree, ledger: ledger, now: now)
        func freeName(_ suffix: String) throws -> String {
            try writer.freeName(receipt.originalName + suffix, fallback: "\(receipt.id)\(suffix)", recipient: participant.orgId)
        }
        receipt.outcome = outcome
        receipt.errorCount = errorCount
        switch outcome {
        case .accepted:
            receipt.recordsAccepted = receipt.recordsReceived
            receipt.recordsRejected = 0
        case .acceptedWithErrors:
            receipt.recordsAccepted = receipt.recordsReceived - receipt.recordsRejected
        case .rejected:
            receipt.recordsAccepted = 0
            receipt.recordsRejected = receipt.recordsReceived
        case .duplicate:
            receipt.recordsAccepted = 0
            receipt.recordsRejected = 0
        }
        receipt.ackFile = try freeName(".ack.\(binding.fileExtension)")
        receipt.errorFile = issues.isEmpty ? nil : try freeName(".errors.\(binding.fileExtension)")
        let processed = now()
        receipt.finishedAt = processed

        // Routed files first, then the error file, then the acknowledgement: when the acknowledgement
        // appears, everything it speaks of is in place.
        var outputs = routed
        if let errorFile = receipt.errorFile {
            let entries = issues.map { ErrorEntry(receiptId: receipt.id, inputFile: receipt.originalName, issue: $0) }
            outputs.append(OutboundFile(recipientOrgId: participant.orgId, name: errorFile, bytes: AcknowledgementRenderer.errors(entries, as: binding)))
        }
        let ack = Acknowledgement(
            receiptId: receipt.id, inputFile: receipt.originalName, senderOrgId: receipt.senderOrgId,
            fileType: receipt.fileType, binding: receipt.binding, contentSHA256: receipt.sha256, sizeBytes: receipt.sizeBytes,
            received: receipt.claimedAt, processed: processed, outcome: outcome, recordsReceived: receipt.recordsReceived,
            recordsAccepted: receipt.recordsAccepted, recordsRejected: receipt.recordsRejected, errorCount: errorCount,
            errorFile: receipt.errorFile, firstReceiptId: receipt.duplicateOf,
            message: FileProcessor.summary(outcome: outcome, errorCount: errorCount, receipt: receipt, codes: Set(issues.map(\.code.rawValue))))
        outputs.append(
            OutboundFile(recipientOrgId: participant.orgId, name: receipt.ackFile!, bytes: AcknowledgementRenderer.acknowledgement(ack, as: binding)))

        try writer.prepare(outputs, sourceId: receipt.id)
        CrashPoint.filePrepared.reach()
        receipt.state = .writing
        do {
            try holdLease(receipt)
            try ledger.update(
                receipt, recordingDeliveries: writer.deliveries(of: outputs, sourceId: receipt.id, at: processed),
                findings: ReceiptFindings(issues: issues, rejectedRecords: rejectedRecords), applying: changes)
        } catch {
            // Refused, so certainly not recorded (not a lost connection, after which the commit may have
            // happened): the temporaries would never be placed; a retry judges the file afresh.
            if error is LeaseLost || [.duplicateReceipt, .conflict, .unknownReceipt].contains((error as? LedgerError)?.code) {
                writer.discard(outputs, sourceId: receipt.id)
            }
            throw error
        }
        CrashPoint.fileCommitted.reach()
        try placeOutputs(of: &receipt, participant: participant, originalPath: originalPath, logger: logger)
        return receipt
    }

    private func placeOutputs(of receipt: inout Receipt, participant: Participant, originalPath: String?, logger: Logger) throws {
        try holdLease(receipt)
        try OutboundWriter(tree: tree, ledger: ledger, now: now).placeAll(sourceId: receipt.id, afterFirst: CrashPoint.fileOnePlaced)
        CrashPoint.filePlaced.reach()
        if let originalPath {
            try tree.file(
                originalPath, receiptId: receipt.id, orgId: participant.orgId, name: receipt.originalName,
                quarantine: receipt.outcome == .rejected, at: receipt.claimedAt)
        } else {
            // Filed before a crash that came before its work folder was removed.
            tree.removeWork(receiptId: receipt.id)
        }
        CrashPoint.fileFiled.reach()
        receipt.state = .finished
        try ledger.update(receipt)
        ExchangeMetrics.acknowledged(receipt)
        logger.info("file acknowledged", metadata: ["exchange.outcome": "\(receipt.outcome?.rawValue ?? "")"])
    }

    // MARK: Helpers

    /// Renews the receipt's lease, or throws if another owner took it over (this process stalled past
    /// it): the other one finishes the file.
    private func holdLease(_ receipt: Receipt) throws {
        guard try leases.holdReceipt(receipt.id) else { throw LeaseLost(what: "receipt \(receipt.id)") }
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

    static func outputBinding(for participant: Participant, report: ValidationReport?, name: String) -> Binding {
        switch participant.outputFormat {
        case .xml: return .xml
        case .csv: return .csv
        case .same: return report?.binding ?? (name.lowercased().hasSuffix(".xml") ? .xml : .csv)
        }
    }

    static func summary(outcome: FileOutcome, errorCount: Int, receipt: Receipt, codes: Set<String> = []) -> String {
        let verdict = verdictSummary(outcome: outcome, errorCount: errorCount, receipt: receipt, codes: codes)
        guard let earlier = receipt.reprocessOf else { return verdict }
        return "Judged again at support's request (earlier receipt \(earlier)). " + verdict
    }

    private static func verdictSummary(outcome: FileOutcome, errorCount: Int, receipt: Receipt, codes: Set<String>) -> String {
        switch outcome {
        case .accepted: "Accepted: \(receipt.recordsReceived) record\(receipt.recordsReceived == 1 ? "" : "s")."
        case .acceptedWithErrors: "Accepted with \(errorCount) error\(errorCount == 1 ? "" : "s"); see the error file."
        case .rejected:
            "Rejected: \(errorCount) error\(errorCount == 1 ? "" : "s") (see the error file). Nothing in the file was applied; "
                + ResendAdvice.forRejection(codes: codes)
        case .duplicate:
            "These bytes were already received from you as receipt \(receipt.duplicateOf ?? "?"); nothing was applied again. Do not send them again."
        }
    }

    /// SHA-256 (lowercase hex) and size of a file, read without following links.
    static func sha256(of path: String) throws -> (String, Int64) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else { return (String(repeating: "0", count: 64), 0) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            return (String(repeating: "0", count: 64), 0)
        }
        var hasher = SHA256()
        var size: Int64 = 0
        try DropTree.forEachChunk(of: descriptor, path: path) { chunk in
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

/// Judges records as validation hands them out, a batch at a time: the records of a batch are collected
/// (in canonical form), the held state they may ask about is fetched in a few queries
/// (`LedgerHeldRecords.prefetch`), then each is judged in file order through the file's `RecordApplier`
/// (which sees what earlier records of the file changed). Keeps the first violations (up to a limit) and
/// counts the rest and the records that failed. `finish()` judges the last batch.
final class RecordJudgements {
    let applier: RecordApplier
    let held: LedgerHeldRecords
    let senderOrgId: String
    let limit: Int
    /// When set, only the records starting on these lines are judged (the others were applied already).
    let onlyLines: Set<Int>?
    /// Records judged together after one prefetch.
    let batchSize: Int
    private var batch: [RecordFacts] = []
    /// What the records judged so far came to (the failing records kept up to `maxRejectedRecords`).
    private(set) var verdicts = RecordVerdicts()
    static let maxRejectedRecords = 100_000
    /// Records per batch: one prefetch (three queries) per this many records.
    static let defaultBatchSize = 1_000

    init(
        applier: RecordApplier, held: LedgerHeldRecords, senderOrgId: String, limit: Int, onlyLines: Set<Int>? = nil,
        batchSize: Int = RecordJudgements.defaultBatchSize
    ) {
        self.applier = applier
        self.held = held
        self.senderOrgId = senderOrgId
        self.limit = limit
        self.onlyLines = onlyLines
        self.batchSize = max(1, batchSize)
    }

    /// Takes a record into the batch; a full batch is judged.
    func judge(_ record: RecordFacts) {
        if let onlyLines, !onlyLines.contains(record.line) { return }
        batch.append(applier.canonical(record))
        if batch.count >= batchSize { judgeBatch() }
    }

    /// Judges the records still in the batch.
    func finish() {
        if !batch.isEmpty { judgeBatch() }
    }

    private func judgeBatch() {
        var request = HeldStateRequest()
        for record in batch { request.add(record, sender: senderOrgId) }
        held.prefetch(request)
        for record in batch { judgeNow(record) }
        batch.removeAll(keepingCapacity: true)
    }

    private func judgeNow(_ record: RecordFacts) {
        verdicts.considered += 1
        let violations = applier.considerCanonical(record)
        guard !violations.isEmpty else { return }
        verdicts.failedRecords += 1
        if verdicts.rejected.count < RecordJudgements.maxRejectedRecords {
            verdicts.rejected.append((record.line, record.recordId, violations.map(\.code.rawValue)))
        }
        for violation in violations {
            verdicts.violationCount += 1
            guard verdicts.issues.count < limit else { continue }
            verdicts.issues.append(
                ValidationIssue(
                    code: ValidationIssue.Code(rawValue: violation.code.rawValue), message: violation.message, line: record.line,
                    path: record.path.map { path in violation.field.map { "\(path)/\($0.prefix(1).uppercased() + $0.dropFirst())" } ?? path },
                    field: violation.field, recordKey: record.recordId))
        }
    }
}
