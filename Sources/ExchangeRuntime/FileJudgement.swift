import ExchangeCore
import ExchangeRules
import ExchangeValidation
import Logging

/// Judging a claimed file: reading and validating it, judging its records against the ledger, and
/// deciding its outcome and every output, in memory. Nothing here writes to the drop tree or commits.
extension FileProcessor {
    /// Judges a claimed file (set aside unread, a duplicate, changed while read, or its records judged)
    /// and decides its outcome and outputs.
    /// - Parameters:
    ///   - firstAccepted: The first receipt that accepted the same bytes, when the ledger answered it with the
    ///     claim's record (nil: ask it now).
    ///   - naming: How the outputs are named (`.free`, unless the file is taken up again after a restore).
    func judgeFile(
        _ receipt: Receipt, claimedPath: String, participant: Participant, firstAccepted: Receipt?? = nil, naming: OutputNaming = .free,
        logger: Logger
    ) async throws -> JudgedFile {
        var receipt = receipt
        try await holdLease(receipt)
        let tree = self.tree
        let before = try await BlockingWork.run { try tree.entry(at: claimedPath) }
        if let reason = setAsideReason(before) {
            let issue = ValidationIssue(code: .notARegularFile(reason), message: FileProcessor.explanation(reason, size: receipt.sizeBytes))
            logger.info("entry set aside unread", metadata: ["exchange.reason": "\(issue.code)"])
            return try await decide(
                receipt, report: nil, issues: [issue], errorCount: 1, outcome: .rejected, participant: participant, naming: naming)
        }
        // Judging again only the records that failed is not a second copy of the file's accepted records.
        var first: Receipt?
        if !receipt.failedRecordsOnly {
            first = if let firstAccepted { firstAccepted } else { try await ledger.firstAccepted(sender: receipt.senderOrgId, sha256: receipt.sha256) }
        }
        if let first, first.id != receipt.id {
            receipt.fileType = first.fileType
            receipt.binding = first.binding
            receipt.recordsReceived = first.recordsReceived
            receipt.duplicateOf = first.id
            logger.info("file is a duplicate", metadata: ["exchange.first_receipt": "\(first.id)"])
            return try await decide(
                receipt, report: nil, issues: [], errorCount: 0, outcome: .duplicate, participant: participant, naming: naming,
                earlier: first)
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
            return try await decide(
                receipt, report: report, issues: [issue], errorCount: 1, outcome: .rejected, participant: participant, naming: naming)
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
        var routed: [(file: OutboundFile, fallback: String)] = []
        var changes = LedgerChanges.none
        if verdict.applies {
            changes = LedgerChanges(held: judgement.applier.changes, waivers: judgement.applier.waiverChanges)
            routed = routedFiles(judgement.applier.routedNow, receipt: receipt, reference: judgement.reference, logger: logger)
        }
        return try await decide(
            receipt, report: report, issues: verdict.issues, errorCount: verdict.errorCount, outcome: verdict.outcome,
            participant: participant, rejectedRecords: verdict.rejectedRecords, routed: routed, changes: changes, naming: naming,
            rulesChecked: verdict.rulesChecked, refusedRecords: verdict.refusedRecords, alreadyOnFile: verdict.recordsAlreadyOnFile)
    }

    /// How a judgement names its outputs.
    enum OutputNaming {
        /// Names free in the recipients' `outbound/` now: a file judged for the first time.
        case free
        /// The names its outputs were given when the file was judged before the ledger was restored from a
        /// backup (`takeUpAgain`, `OutboundWriter.namesWrittenBefore`).
        case asWrittenBefore
    }

    /// A judged file: its receipt with the outcome and counts (`writing`), and everything its commit records
    /// and its placing writes, decided in memory.
    struct JudgedFile {
        /// The receipt as it is to be committed.
        var receipt: Receipt
        /// The outputs, in the order they are placed (the acknowledgement last).
        var outputs: [OutboundFile]
        /// Their deliveries.
        var deliveries: [Delivery]
        /// The issues and the failing records.
        var findings: ReceiptFindings
        /// What the accepted records change in the ledger.
        var changes: LedgerChanges
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
        let retiredYears = Set(try await ledger.retiredYears().map(\.schoolYear))
        let applier = RecordApplier(
            rules: rules,
            context: RuleContext(
                senderOrgId: participant.orgId, reference: reference, held: held, receivedAt: receipt.claimedAt,
                retiredSchoolYears: retiredYears),
            receiptId: receipt.id, fieldTypes: RecordFiles.partnerFieldTypes)
        // A file large enough to hold more than `maxRecords` records is first only validated, up to that
        // count: one over it is rejected whole without its records judged (judged records are kept until the
        // file's one commit, so a 1 GB file would take its first `maxRecords` records' worth of memory for
        // nothing). Smaller files cannot be over it: no exchange record is shorter than 64 bytes.
        if receipt.sizeBytes > Int64(maxRecords) * 64, onlyLines == nil {
            let (processor, maxRecords, name) = (self, self.maxRecords, receipt.originalName)
            let (report, seen) = try await BlockingWork.run { () throws -> (ValidationReport, Int) in
                var seen = 0
                // Counting only: no record's values are captured.
                let report = try processor.validate(
                    claimedPath, name: name, capturing: [], onRecord: { _ in seen += 1 }, progress: { _ in },
                    stopReading: { seen > maxRecords })
                return (report, seen)
            }
            if seen > maxRecords {
                return Judgement(
                    report: report, verdicts: RecordVerdicts(), applier: applier, reference: reference, recordsSeen: seen,
                    missed: HeldStateRequest())
            }
        }
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
    /// one per recipient (and school year), in each recipient's binding, each under its preferred name
    /// (`decide` chooses the names free) with the name it takes if that one is held.
    private func routedFiles(
        _ routed: [String: [HeldRecord]], receipt: Receipt, reference: ReferenceData, logger: Logger
    ) -> [(file: OutboundFile, fallback: String)] {
        let tag = String(receipt.id.split(separator: "-").last ?? "")
        var files: [(file: OutboundFile, fallback: String)] = []
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
                let file = OutboundFile(
                    recipientOrgId: recipient, name: preferred,
                    bytes: RecordFiles.render(type, rows: rows, header: (receipt.senderOrgId, year, receipt.claimedAt), binding: binding),
                    records: rows.count, carried: yearRecords.map { RecordReference(receiptId: $0.receiptId, recordId: $0["recordId"]) })
                files.append((file, "\(receipt.id)-\(year).\(type.code).\(binding.fileExtension)"))
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
        case .special:
            "This is not a file of data but a special entry of the server's file system (a pipe or a device), and it was not "
                + "read. Upload the file itself into inbound/ and send it again."
        case .tooLarge(let limit):
            "The file is \(size) bytes, over the limit of \(limit) bytes, and was not read. Split it into smaller files."
        }
    }

    func validate(
        _ path: String, name: String, capturing: Set<String> = RecordFiles.partnerFieldNames,
        onRecord: @escaping RecordFactsHandler, progress: @escaping (Int64) -> Void, stopReading: @escaping () -> Bool
    ) throws -> ValidationReport {
        // The work area is ours, but the sender could have swapped the file for a link between our lstat
        // and the claim: never follow one, never block on a FIFO.
        guard let file = try? tree.fileSystem.openForReading(path) else {
            return ValidationReport(
                file: name, type: nil, binding: nil, recordCount: 0,
                issues: [
                    ValidationIssue(
                        code: .notARegularFile(.symbolicLink),
                        message: "The file could not be opened as a file of its own (it was replaced by a link or shortcut while "
                            + "it was received; links are never followed) and was not read. Upload the file itself and send it again.")
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
            },
            rewind: { () throws(FileReadError) in
                do {
                    try file.rewind()
                } catch {
                    throw FileReadError(file: name, reason: "\(error)")
                }
            }, displayName: name, capturing: capturing, onRecord: onRecord, progress: progress,
            stopReading: stopReading)
    }

    /// Decides a judged file's outputs: the acknowledgement and error file to its sender (names free in
    /// its `outbound/`) and the routed files, in the order they are to be placed, with the receipt's
    /// outcome and counts. Nothing is written.
    private func decide(
        _ receipt: Receipt, report: ValidationReport?, issues: [ValidationIssue], errorCount: Int, outcome: FileOutcome,
        participant: Participant, rejectedRecords: [RejectedRecord] = [], routed: [(file: OutboundFile, fallback: String)] = [],
        changes: LedgerChanges = .none, naming: OutputNaming, rulesChecked: Bool = false, refusedRecords: [RefusedRecord] = [],
        alreadyOnFile: Int = 0, earlier: Receipt? = nil
    ) async throws -> JudgedFile {
        var receipt = receipt
        let binding = FileProcessor.outputBinding(for: participant, report: report, name: receipt.originalName)
        let writer = OutboundWriter(tree: tree, ledger: ledger, now: now)
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
        // Every output's name chosen at once: the routed files', the error file's, the acknowledgement's.
        let suffixes = (issues.isEmpty ? [] : [".errors.\(binding.fileExtension)"]) + [".ack.\(binding.fileExtension)"]
        let wanted =
            routed.map { OutboundWriter.WantedName(recipient: $0.file.recipientOrgId, preferred: $0.file.name, fallback: $0.fallback) }
            + suffixes.map {
                OutboundWriter.WantedName(recipient: participant.orgId, preferred: receipt.originalName + $0, fallback: receipt.id + $0)
            }
        let names = switch naming {
        case .free: try await writer.freeNames(wanted)
        case .asWrittenBefore: try await writer.namesWrittenBefore(wanted)
        }
        var routedFiles = routed.map(\.file)
        for index in routedFiles.indices { routedFiles[index].name = names[index] }
        receipt.errorFile = issues.isEmpty ? nil : names[routed.count]
        receipt.ackFile = names.last
        let processed = now()
        receipt.finishedAt = processed
        receipt.state = .writing

        // Routed files first, then the error file, then the acknowledgement: when the acknowledgement
        // appears, everything it speaks of is in place.
        var outputs = routedFiles
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
            message: AcknowledgementMessage(
                outcome: outcome, errorCount: errorCount, recordsReceived: receipt.recordsReceived, recordsRejected: receipt.recordsRejected,
                rejectedLines: rejectedRecords.map(\.line), refusedRecords: refusedRecords, alreadyOnFile: alreadyOnFile,
                rulesChecked: rulesChecked,
                duplicateOf: earlier.map {
                    // The day of receipt as the sender counts days (its own time zone).
                    AcknowledgementMessage.EarlierReceipt(
                        id: $0.id, received: reference().zone(of: participant.orgId).local($0.claimedAt).date.description,
                        outcome: $0.outcome ?? .accepted,
                        recordsNotApplied: $0.recordsRejected)
                }, reprocessOf: receipt.reprocessOf
            ).text)
        outputs.append(
            OutboundFile(recipientOrgId: participant.orgId, name: receipt.ackFile!, bytes: AcknowledgementRenderer.acknowledgement(ack, as: binding)))
        return JudgedFile(
            receipt: receipt, outputs: outputs, deliveries: writer.deliveries(of: outputs, sourceId: receipt.id, at: processed),
            findings: ReceiptFindings(issues: issues, rejectedRecords: rejectedRecords), changes: changes)
    }

    // MARK: Output binding
    static func outputBinding(for participant: Participant, report: ValidationReport?, name: String) -> Binding {
        switch participant.outputFormat {
        case .xml: return .xml
        case .csv: return .csv
        case .same: return report?.binding ?? (name.lowercased().hasSuffix(".xml") ? .xml : .csv)
        }
    }

    /// SHA-256 (lowercase hex) and size of a file, read without following links (zeros for anything
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
        verdicts.alreadyOnFile = applier.alreadyOnFile
        guard !violations.isEmpty else { return }
        verdicts.failedRecords += 1
        if verdicts.rejected.count < RecordJudgements.maxRejectedRecords {
            var noResendFixes: [String: String] = [:]
            for violation in violations { if let why = violation.noResendFixes { noResendFixes[violation.code.rawValue] = why } }
            verdicts.rejected.append((record.line, record.recordId, violations.map(\.code.rawValue), noResendFixes))
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
