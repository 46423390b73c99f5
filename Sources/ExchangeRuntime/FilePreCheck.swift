import ExchangeCore
import ExchangeRules
import ExchangeValidation

/// Judges a file as the exchange would if a participant sent it now, and keeps nothing: its form,
/// encoding and schema first, then each record under the rules against the reference data and the
/// ledger's held records, which are read and never written. Nothing is acknowledged, routed or recorded.
/// `ktsx validate --config` runs it.
public struct FilePreCheck: Sendable {
    let validator: FileValidator
    let ledger: any LedgerStore
    let reference: ReferenceData
    let rules: RuleBook
    let maxRecords: Int

    /// A pre-check over one configuration's reference data and ledger.
    /// - Parameters:
    ///   - ledger: Read only (open it read-only: `SQLiteLedger(path:readOnly:)`).
    ///   - maxRecords: The most records a file may hold (`max_records`): a file over it is refused whole,
    ///     as on arrival.
    public init(
        validator: FileValidator, ledger: any LedgerStore, reference: ReferenceData, rules: RuleBook = .standard,
        maxRecords: Int = ServiceSettings.defaultMaxRecords
    ) {
        self.validator = validator
        self.ledger = ledger
        self.reference = reference
        self.rules = rules
        self.maxRecords = maxRecords
    }

    /// A file whose sender is not known: none named, and none in the file (a CSV file never says), or
    /// one that is not a participant.
    public struct UnknownSender: Error, CustomStringConvertible {
        /// The file, and the organisation named (nil: none).
        public var file: String
        public var orgId: String?
        public var description: String {
            guard let orgId else {
                return "\(file): the file does not say who sends it (a CSV file never does): name its sender with --as ORGID"
            }
            return "\(file): \(orgId) is not a participant of this configuration (participants.csv)"
        }
    }

    /// Judges the file at `path` as if `senderOrgId` (or, when nil, the sender its header names) sent it
    /// at `now`.
    /// - Throws: `FileReadError` when the file cannot be read, `UnknownSender`, `LedgerError` when the
    ///   ledger cannot be read.
    public func check(path: String, displayName: String, senderOrgId: String?, at now: Timestamp) async throws -> PreCheckedFile {
        try await check(displayName: displayName, senderOrgId: senderOrgId, at: now) { validator, onRecord, stopReading throws(FileReadError) in
            try validator.validate(
                path: path, displayName: displayName, capturing: RecordFiles.partnerFieldNames, onRecord: onRecord, stopReading: stopReading)
        }
    }

    /// Judges `bytes` (a file uploaded to the review site, say, kept in memory only) as `check(path:…)`
    /// judges a file.
    public func check(bytes: [UInt8], displayName: String, senderOrgId: String?, at now: Timestamp) async throws -> PreCheckedFile {
        try await check(displayName: displayName, senderOrgId: senderOrgId, at: now) { validator, onRecord, stopReading throws(FileReadError) in
            var offset = 0
            return try bytes.withUnsafeBytes { all in
                Result { () throws(FileReadError) in
                    try validator.validate(
                        reading: { buffer in
                            let count = min(buffer.count, all.count - offset)
                            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)]))
                            offset += count
                            return count
                        }, rewind: { offset = 0 }, displayName: displayName, capturing: RecordFiles.partnerFieldNames, onRecord: onRecord,
                        stopReading: stopReading)
                }
            }.get()
        }
    }

    /// Judges the file `validate` reads (handing each record to its handler, and asking whether to stop).
    private func check(
        displayName: String, senderOrgId: String?, at now: Timestamp,
        validate: @escaping @Sendable (FileValidator, @escaping RecordFactsHandler, @escaping () -> Bool) throws(FileReadError) -> ValidationReport
    ) async throws -> PreCheckedFile {
        let (validator, maxRecords) = (self.validator, self.maxRecords)
        let (report, records, seen) = try await BlockingWork.run { () throws -> (ValidationReport, [RecordFacts], Int) in
            var records: [RecordFacts] = []
            var seen = 0
            let report = try validate(
                validator,
                { record in
                    seen += 1
                    if seen <= maxRecords { records.append(record) }
                }, { seen > maxRecords })
            return (report, records, seen)
        }
        // A file refused at the gate is answered without a sender, if none is known.
        let orgId = senderOrgId ?? report.declaredSender
        let sender = orgId.flatMap { reference.participants[$0] }
        let passedGate = report.isValid && seen <= maxRecords && (report.declaredSender ?? orgId) == orgId
        if passedGate, sender == nil { throw UnknownSender(file: displayName, orgId: orgId) }
        let retiredYears = passedGate ? Set(try await ledger.retiredYears().map(\.schoolYear)) : []
        var asked = HeldStateRequest()
        var verdicts = RecordVerdicts()
        var missed = HeldStateRequest()
        // As on arrival: a rule that asked outside its batch is answered once more with the question fetched.
        for _ in 0..<3 where passedGate {
            guard let sender else { break }
            let held = LedgerHeldRecords(ledger: ledger)
            let applier = RecordApplier(
                rules: rules,
                context: RuleContext(
                    senderOrgId: sender.orgId, reference: reference, held: held, receivedAt: now, retiredSchoolYears: retiredYears),
                receiptId: PreCheckedFile.receiptId, fieldTypes: RecordFiles.partnerFieldTypes)
            let judged = RecordJudgements(applier: applier, held: held, senderOrgId: sender.orgId, limit: validator.issueLimit, alsoAsk: asked)
            var start = 0
            while start < records.count {
                let end = min(records.count, start + RecordJudgements.defaultBatchSize)
                try await judged.judge(Array(records[start..<end]))
                start = end
            }
            verdicts = judged.verdicts
            missed = held.missed
            if missed.isEmpty { break }
            asked.formUnion(missed)
        }
        // Still asking after the last round: no verdict rests on an answer that was not read.
        guard missed.isEmpty else { throw LedgerError(.storage, "\(displayName): the rules asked questions their batches did not fetch") }
        let verdict = FileVerdict(
            report: report, verdicts: verdicts, receiptId: PreCheckedFile.receiptId, senderOrgId: orgId ?? "", recordsSeen: seen,
            maxRecords: maxRecords, judgedAgainOnly: false)
        let rejectedLines = verdict.outcome == .acceptedWithErrors ? verdict.rejectedRecords.map(\.line) : []
        return PreCheckedFile(report: report, senderOrgId: orgId ?? "", verdict: verdict, rejectedLines: rejectedLines)
    }
}
