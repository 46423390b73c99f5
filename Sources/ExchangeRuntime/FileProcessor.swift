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
    public func process(_ name: String, from participant: Participant, logger: Logger) async throws -> Receipt? {
        let receiptId = newReceiptId(participant.orgId)
        let started = ContinuousClock.now
        let tree = self.tree
        guard let claimed = try await BlockingWork.run({ try tree.claim(name, from: participant.orgId, receiptId: receiptId) }) else {
            return nil
        }
        CrashPoint.fileClaimed.reach()
        let receipt = try await recordClaim(claimed, receiptId: receiptId, name: name, sender: participant.orgId)
        CrashPoint.fileRecorded.reach()
        var logger = logger
        logger[metadataKey: "exchange.receipt"] = "\(receipt.id)"
        let acknowledged = try await judgeAndAcknowledge(receipt, claimedPath: claimed, participant: participant, logger: logger)
        ExchangeMetrics.claimToAcknowledgement(acknowledged, took: ContinuousClock.now - started)
        return acknowledged
    }

    /// Claims an entry that must not be read (a link, a folder, a FIFO, an oversize file) the same way
    /// as a file, and acknowledges it as rejected with the reason. It is moved, never opened.
    public func setAside(_ entry: DropEntry, from participant: Participant, logger: Logger) async throws -> Receipt? {
        try await process(entry.name, from: participant, logger: logger)
    }

    /// Finishes a receipt that a crash left `claimed` or `writing`.
    public func resume(_ receipt: Receipt, participant: Participant, logger: Logger) async throws {
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
            let tree = self.tree
            if receipt.reprocessOf != nil, await !BlockingWork.run({ tree.exists(claimed) }) {
                let source = try await reprocessSource(of: receipt)
                _ = try await BlockingWork.run { [receipt] in try tree.copyIntoWork(source, receiptId: receipt.id, name: receipt.originalName) }
            }
            // Judged again: the same bytes give the same judgement.
            _ = try await judgeAndAcknowledge(receipt, claimedPath: claimed, participant: participant, logger: logger)
        case .writing:
            let tree = self.tree
            let original = await BlockingWork.run { tree.exists(claimed) } ? claimed : nil
            try await placeOutputs(of: &receipt, participant: participant, originalPath: original, logger: logger)
        }
    }

    /// Records a claimed file found in the work area with no receipt (a crash between claim and record),
    /// and takes it to its acknowledgement.
    /// - Returns: false when another instance, which found the same claim, recorded it first: it finishes
    ///   the file (an expected race, not a fault).
    @discardableResult
    public func adoptClaimed(receiptId: String, participant: Participant, logger: Logger) async throws -> Bool {
        let tree = self.tree
        let names = try await BlockingWork.run { try tree.list("\(tree.work)/\(receiptId)").map(\.name) }
        guard let name = names.first else {
            await BlockingWork.run { tree.removeWork(receiptId: receiptId) }
            return true
        }
        let receipt: Receipt
        do {
            receipt = try await recordClaim("\(tree.work)/\(receiptId)/\(name)", receiptId: receiptId, name: name, sender: participant.orgId)
        } catch let error as LedgerError where error.code == .duplicateReceipt {
            return false
        }
        _ = try await judgeAndAcknowledge(receipt, claimedPath: "\(tree.work)/\(receiptId)/\(name)", participant: participant, logger: logger)
        return true
    }

    // MARK: Steps

    func recordClaim(_ path: String, receiptId: String, name: String, sender: String, reprocessOf: String? = nil) async throws -> Receipt {
        let (tree, maxFileBytes) = (self.tree, self.maxFileBytes)
        let (digest, size) = try await BlockingWork.run { () throws -> (String, Int64) in
            let entry = try tree.entry(at: path)
            let unreadable = entry.kind != .regular || entry.links > 1 || entry.size > maxFileBytes
            return unreadable ? (String(repeating: "0", count: 64), max(0, entry.size)) : try FileProcessor.sha256(of: path, on: tree.fileSystem)
        }
        var receipt = Receipt(
            id: receiptId, senderOrgId: sender, originalName: name, sizeBytes: size, sha256: digest, claimedAt: now())
        receipt.reprocessOf = reprocessOf
        try await ledger.recordClaim(receipt, leasedTo: owner)
        leases.noteGranted(receipt.id)
        return receipt
    }

    func judgeAndAcknowledge(_ receipt: Receipt, claimedPath: String, participant: Participant, logger: Logger)
        async throws -> Receipt
    {
        var receipt = receipt
        try await holdLease(receipt)
        let tree = self.tree
        let before = try await BlockingWork.run { try tree.entry(at: claimedPath) }
        if let reason = setAsideReason(before) {
            let issue = ValidationIssue(code: .notARegularFile(reason), message: FileProcessor.explanation(reason, size: receipt.sizeBytes))
            logger.info("entry set aside unread", metadata: ["exchange.reason": "\(issue.code)"])
            return try await acknowledge(
                &receipt, report: nil, issues: [issue], errorCount: 1, outcome: .rejected, participant: participant,
                originalPath: claimedPath, logger: logger)
        }
        // Judging again only the records that failed is not a second copy of the file's accepted records.
        if !receipt.failedRecordsOnly, let first = try await ledger.firstAccepted(sender: receipt.senderOrgId, sha256: receipt.sha256),
            first.id != receipt.id
        {
            receipt.fileType = first.fileType
            receipt.binding = first.binding
            receipt.recordsReceived = first.recordsReceived
            receipt.duplicateOf = first.id
            logger.info("file is a duplicate", metadata: ["exchange.first_receipt": "\(first.id)"])
            return try await acknowledge(
                &receipt, report: nil, issues: [], errorCount: 0, outcome: .duplicate, participant: participant,
                originalPath: claimedPath, logger: logger)
        }
        let onlyLines = receipt.failedRecordsOnly ? try await linesToJudgeAgain(receipt) : nil
        // A rule that asked something its batch did not fetch was answered "nothing held": the file is
        // judged again with those questions fetched for every batch (and the fault logged).
        var judgement = try await judge(receipt, claimedPath: claimedPath, participant: participant, onlyLines: onlyLines, logger: logger)
        var asked = HeldStateRequest()
        for _ in 0..<2 where !judgement.missed.isEmpty {
            logger.error("a rule asked the ledger something its batch did not fetch; the file is judged again with it")
            asked.formUnion(judgement.missed)
            judgement = try await judge(
                receipt, claimedPath: claimedPath, participant: participant, onlyLines: onlyLines, alsoAsk: asked, logger: logger)
        }
        guard judgement.missed.isEmpty else {
            throw LedgerError(.storage, "receipt \(receipt.id): the rules asked questions their batches did not fetch; the file is retried")
        }
        let report = judgement.report
        // Someone still writing into the file (through a descriptor opened before the claim), or a file
        // swapped in under it: what was read is not what was hashed and will be kept. Nothing is applied.
        let after = try await BlockingWork.run { try tree.entry(at: claimedPath) }
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
            return try await acknowledge(
                &receipt, report: report, issues: [issue], errorCount: 1, outcome: .rejected, participant: participant,
                originalPath: claimedPath, logger: logger)
        }
        receipt.fileType = report.type
        receipt.binding = report.binding
        if judgement.recordsSeen > maxRecords { logger.info("file has too many records", metadata: ["exchange.limit": "\(maxRecords)"]) }
        let verdict = FileVerdict(
            report: report, verdicts: judgement.verdicts, receiptId: receipt.id, senderOrgId: participant.orgId,
            recordsSeen: judgement.recordsSeen, maxRecords: maxRecords, judgedAgainOnly: onlyLines != nil)
        receipt.recordsReceived = verdict.recordsReceived
        receipt.recordsRejected = verdict.recordsRejected
        logger.info(
            "file judged",
            metadata: [
                "exchange.type": "\(report.type?.code ?? "UNKNOWN")", "exchange.outcome": "\(verdict.outcome.rawValue)",
                "exchange.errors": "\(verdict.errorCount)",
            ])
        var routed: [OutboundFile] = []
        var changes = LedgerChanges.none
        if verdict.applies {
            changes = LedgerChanges(held: judgement.applier.changes, waivers: judgement.applier.waiverChanges)
            routed = try await routedFiles(judgement.applier.routedNow, receipt: receipt, reference: judgement.reference, logger: logger)
        }
        return try await acknowledge(
            &receipt, report: report, issues: verdict.issues, errorCount: verdict.errorCount, outcome: verdict.outcome,
            participant: participant, originalPath: claimedPath, logger: logger, rejectedRecords: verdict.rejectedRecords, routed: routed,
            changes: changes)
    }

    /// What reading and judging a file's records came to.
    struct Judgement {
        /// Validation's report.
        let report: ValidationReport
        /// The records judged (up to `maxRecords`), the failing ones and their issues.
        let verdicts: RecordVerdicts
        /// The applier, with the accepted records' changes and what to route.
        let applier: RecordApplier
        /// The reference data the file was judged under.
        let reference: ReferenceData
        /// Records read (past `maxRecords`, reading stopped).
        let recordsSeen: Int
        /// What the rules asked outside their batches' requests.
        let missed: HeldStateRequest
    }

    /// Reads the file and judges its records, in a pipeline: validation runs on a thread of
    /// `BlockingWork` and hands the records over a batch at a time (`RecordFeed`); each batch's held state
    /// is fetched from the ledger in a few queries, then its records are judged in file order. The
    /// receipt's lease is renewed as batches and read progress come, and reading stops if it was lost.
    private func judge(
        _ receipt: Receipt, claimedPath: String, participant: Participant, onlyLines: Set<Int>?,
        alsoAsk: HeldStateRequest = HeldStateRequest(), logger: Logger
    ) async throws -> Judgement {
        let held = LedgerHeldRecords(ledger: ledger)
        let reference = self.reference()
        let applier = RecordApplier(
            rules: rules, context: RuleContext(senderOrgId: participant.orgId, reference: reference, held: held, receivedAt: receipt.claimedAt),
            receiptId: receipt.id, fieldTypes: RecordFiles.partnerFieldTypes)
        let judged = RecordJudgements(
            applier: applier, held: held, senderOrgId: participant.orgId, limit: validator.issueLimit, onlyLines: onlyLines,
            alsoAsk: alsoAsk)
        let feed = RecordFeed(batchSize: RecordJudgements.defaultBatchSize)
        let (processor, maxRecords, name) = (self, self.maxRecords, receipt.originalName)
        async let reading = BlockingWork.run { () throws -> (ValidationReport, Int) in
            defer { feed.finish() }
            var seen = 0
            let report = try processor.validate(
                claimedPath, name: name,
                onRecord: { record in
                    seen += 1
                    // Past the limit nothing is judged: the file is rejected whole.
                    if seen <= maxRecords { feed.add(record) }
                },
                progress: { read in feed.send(.progress(read: read)) },
                stopReading: { seen > maxRecords || feed.isStopped })
            feed.flush()
            return (report, seen)
        }
        // Every event is taken, even after a failure, so the reading thread never waits on a full feed.
        var failure: (any Error)?
        for await event in feed.events {
            defer { feed.taken() }
            guard failure == nil else { continue }
            do {
                // A long judgement keeps its lease, and stops if another instance took it.
                try await holdLease(receipt)
                switch event {
                case .records(let records):
                    try await judged.judge(records)
                case .progress(let read):
                    logger.info(
                        "validating a long file",
                        metadata: ["exchange.read_mib": "\(read >> 20)", "exchange.size_mib": "\(receipt.sizeBytes >> 20)"])
                }
            } catch {
                failure = error
                feed.stop()
            }
        }
        let (report, recordsSeen) = try await reading
        if let failure { throw failure }
        return Judgement(
            report: report, verdicts: judged.verdicts, applier: applier, reference: reference, recordsSeen: recordsSeen,
            missed: held.missed)
    }

    /// The files that carry accepted enrollments to their centers and attendance to the home high schools,
    /// one per recipient (and school year), in each recipient's binding.
    private func routedFiles(
        _ routed: [String: [HeldRecord]], receipt: Receipt, reference: ReferenceData, logger: Logger
    ) async throws -> [OutboundFile] {
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
                let name = try await writer.freeName(preferred, fallback: "\(receipt.id)-\(year).\(type.code).\(binding.fileExtension)", recipient: recipient)
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

    func validate(
        _ path: String, name: String, onRecord: @escaping RecordFactsHandler, progress: @escaping (Int64) -> Void,
        stopReading: @escaping () -> Bool
    ) throws -> ValidationReport {
        // The work area is ours, but the sender could have swapped the file for a link between our lstat
        // and the claim: never follow one, never block on a FIFO.
        guard let file = try? tree.fileSystem.openForReading(path) else {
            return ValidationReport(
                file: name, type: nil, binding: nil, recordCount: 0,
                issues: [
                    ValidationIssue(
                        code: .notARegularFile(.symbolicLink),
                        message: "The file could not be opened as a regular file (links are never followed) and was not read.")
                ],
                errorCount: 1)
        }
        guard file.entry.links <= 1 else {
            return ValidationReport(
                file: name, type: nil, binding: nil, recordCount: 0,
                issues: [ValidationIssue(code: .notARegularFile(.hardLink), message: FileProcessor.explanation(.hardLink, size: 0))],
                errorCount: 1)
        }
        return try validator.validate(
            reading: { buffer throws(FileReadError) in
                do {
                    return try file.read(into: buffer)
                } catch {
                    throw FileReadError(file: name, reason: "\(error)")
                }
            }, displayName: name, capturing: RecordFiles.partnerFieldNames, onRecord: onRecord, progress: progress,
            stopReading: stopReading)
    }

    private func acknowledge(
        _ receipt: inout Receipt, report: ValidationReport?, issues: [ValidationIssue], errorCount: Int,
        outcome: FileOutcome, participant: Participant, originalPath: String?, logger: Logger,
        rejectedRecords: [RejectedRecord] = [], routed: [OutboundFile] = [], changes: LedgerChanges = .none
    ) async throws -> Receipt {
        let binding = FileProcessor.outputBinding(for: participant, report: report, name: receipt.originalName)
        let writer = OutboundWriter(tree: tree, ledger: ledger, now: now)
        let (originalName, receiptId) = (receipt.originalName, receipt.id)
        func freeName(_ suffix: String) async throws -> String {
            try await writer.freeName(originalName + suffix, fallback: "\(receiptId)\(suffix)", recipient: participant.orgId)
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
        receipt.ackFile = try await freeName(".ack.\(binding.fileExtension)")
        receipt.errorFile = issues.isEmpty ? nil : try await freeName(".errors.\(binding.fileExtension)")
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

        try await writer.prepare(outputs, sourceId: receipt.id)
        CrashPoint.filePrepared.reach()
        receipt.state = .writing
        do {
            try await holdLease(receipt)
            try await ledger.update(
                receipt, recordingDeliveries: writer.deliveries(of: outputs, sourceId: receipt.id, at: processed),
                findings: ReceiptFindings(issues: issues, rejectedRecords: rejectedRecords), applying: changes)
        } catch {
            // Refused, so certainly not recorded (not a lost connection, after which the commit may have
            // happened): the temporaries would never be placed; a retry judges the file afresh.
            if error is LeaseLost || [.duplicateReceipt, .conflict, .unknownReceipt].contains((error as? LedgerError)?.code) {
                await writer.discard(outputs, sourceId: receipt.id)
            }
            throw error
        }
        CrashPoint.fileCommitted.reach()
        try await placeOutputs(of: &receipt, participant: participant, originalPath: originalPath, logger: logger)
        return receipt
    }

    private func placeOutputs(of receipt: inout Receipt, participant: Participant, originalPath: String?, logger: Logger) async throws {
        try await holdLease(receipt)
        try await OutboundWriter(tree: tree, ledger: ledger, now: now).placeAll(sourceId: receipt.id, afterFirst: CrashPoint.fileOnePlaced)
        CrashPoint.filePlaced.reach()
        let (tree, filed) = (self.tree, receipt)
        try await BlockingWork.run {
            if let originalPath {
                try tree.file(
                    originalPath, receiptId: filed.id, orgId: participant.orgId, name: filed.originalName,
                    quarantine: filed.outcome == .rejected, at: filed.claimedAt)
            } else {
                // Filed before a crash that came before its work folder was removed.
                tree.removeWork(receiptId: filed.id)
            }
        }
        CrashPoint.fileFiled.reach()
        receipt.state = .finished
        try await ledger.update(receipt)
        ExchangeMetrics.acknowledged(receipt)
        logger.info("file acknowledged", metadata: ["exchange.outcome": "\(receipt.outcome?.rawValue ?? "")"])
    }

    // MARK: Helpers

    /// Renews the receipt's lease, or throws if another owner took it over (this process stalled past
    /// it): the other one finishes the file.
    private func holdLease(_ receipt: Receipt) async throws {
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

/// Judges a file's records a batch at a time, as validation hands them over: the held state a batch may
/// ask about is fetched in a few queries (`LedgerHeldRecords.prefetch`), then each record is judged in
/// file order through the file's `RecordApplier` (which sees what earlier records of the file changed).
/// Keeps the first violations (up to a limit) and counts the rest and the records that failed.
final class RecordJudgements {
    let applier: RecordApplier
    let held: LedgerHeldRecords
    let senderOrgId: String
    let limit: Int
    /// When set, only the records starting on these lines are judged (the others were applied already).
    let onlyLines: Set<Int>?
    /// Questions fetched with every batch besides the batch's own (those a rule asked outside its batch
    /// when the file was judged before).
    let alsoAsk: HeldStateRequest
    /// What the records judged so far came to (the failing records kept up to `maxRejectedRecords`).
    private(set) var verdicts = RecordVerdicts()
    static let maxRejectedRecords = 100_000
    /// Records per batch: one prefetch (three queries) per this many records.
    static let defaultBatchSize = 1_000

    init(
        applier: RecordApplier, held: LedgerHeldRecords, senderOrgId: String, limit: Int, onlyLines: Set<Int>? = nil,
        alsoAsk: HeldStateRequest = HeldStateRequest()
    ) {
        self.applier = applier
        self.held = held
        self.senderOrgId = senderOrgId
        self.limit = limit
        self.onlyLines = onlyLines
        self.alsoAsk = alsoAsk
    }

    /// Judges a batch of records, in file order, after fetching what they may ask.
    func judge(_ records: [RecordFacts]) async throws(LedgerError) {
        let batch = records.filter { onlyLines?.contains($0.line) ?? true }.map(applier.canonical)
        guard !batch.isEmpty else { return }
        var request = alsoAsk
        for record in batch { request.add(record, sender: senderOrgId) }
        try await held.prefetch(request)
        for record in batch { judgeNow(record) }
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
