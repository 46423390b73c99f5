/// What the records of a file came to under the rules: how many were judged and failed, their first
/// violations (as issues) and the failing records.
public struct RecordVerdicts: Sendable, Equatable {
    /// Records judged.
    public var considered: Int
    /// Records that broke at least one rule.
    public var failedRecords: Int
    /// Violations in all (the issues keep only the first ones).
    public var violationCount: Int
    /// The first violations, as issues.
    public var issues: [ValidationIssue]
    /// The failing records: line, recordId, codes, and why no resend fixes some of them (by code).
    public var rejected: [(line: Int, key: String?, codes: [String], noResendFixes: [String: String])]
    /// Records accepted as identical to the version on file from the same sender (nothing applied again).
    public var alreadyOnFile: Int

    /// Creates the verdicts.
    public init(
        considered: Int = 0, failedRecords: Int = 0, violationCount: Int = 0, issues: [ValidationIssue] = [],
        rejected: [(line: Int, key: String?, codes: [String], noResendFixes: [String: String])] = [], alreadyOnFile: Int = 0
    ) {
        self.considered = considered
        self.failedRecords = failedRecords
        self.violationCount = violationCount
        self.issues = issues
        self.rejected = rejected
        self.alreadyOnFile = alreadyOnFile
    }

    public static func == (lhs: RecordVerdicts, rhs: RecordVerdicts) -> Bool {
        lhs.considered == rhs.considered && lhs.failedRecords == rhs.failedRecords && lhs.violationCount == rhs.violationCount
            && lhs.issues == rhs.issues && lhs.rejected.elementsEqual(rhs.rejected) { $0 == $1 } && lhs.alreadyOnFile == rhs.alreadyOnFile
    }
}

/// The outcome of a judged file (DESIGN section 4), decided from its validation report and its records'
/// verdicts (pure): the file gate first (any problem with the file as a whole rejects it, and nothing in
/// it is applied), then each record on its own (some failed: accepted with errors; all failed: rejected).
public struct FileVerdict: Sendable, Equatable {
    /// The outcome.
    public var outcome: FileOutcome
    /// The issues the error file lists.
    public var issues: [ValidationIssue]
    /// Errors in all (the issues may be fewer).
    public var errorCount: Int
    /// Records the file held (read, or judged again).
    public var recordsReceived: Int
    /// Records refused.
    public var recordsRejected: Int
    /// The records refused one by one, kept with the receipt (only when the others were accepted).
    public var rejectedRecords: [RejectedRecord]

    /// Each record refused under the rules, in file order (the first ones kept), for the
    /// acknowledgement's advice.
    public var refusedRecords: [RefusedRecord]
    /// Records accepted as identical to the version on file (sent again), for the acknowledgement.
    public var recordsAlreadyOnFile: Int
    /// Whether the file's records were judged under the rules (false: refused at the gate, as a whole).
    public var rulesChecked: Bool
    /// Whether the file's accepted records are applied (held, routed).
    public var applies: Bool { outcome == .accepted || outcome == .acceptedWithErrors }

    /// Decides a file's verdict.
    /// - Parameters:
    ///   - report: The validation report of the file.
    ///   - verdicts: What its records came to under the rules.
    ///   - receiptId: The file's receipt.
    ///   - senderOrgId: The folder the file came from.
    ///   - recordsSeen: Records read (more than `maxRecords` when the file was read no further).
    ///   - maxRecords: The most records one file may hold.
    ///   - judgedAgainOnly: Only the records that failed before were judged (support's reprocess of failed
    ///     records): the file holds the records judged.
    public init(
        report: ValidationReport, verdicts: RecordVerdicts, receiptId: String, senderOrgId: String, recordsSeen: Int, maxRecords: Int,
        judgedAgainOnly: Bool
    ) {
        var received = judgedAgainOnly ? verdicts.considered : report.recordCount
        var issues = report.issues
        var errorCount = report.errorCount
        if recordsSeen > maxRecords {
            issues.insert(
                ValidationIssue(
                    code: .tooManyRecords,
                    message: "The file holds more than \(maxRecords) records, the most one file may hold; it was read no "
                        + "further and nothing in it was applied. Split it into files of at most \(maxRecords) records."),
                at: 0)
            errorCount += 1
            received = recordsSeen
        }
        if let declared = report.declaredSender, declared != senderOrgId {
            issues.insert(
                ValidationIssue(
                    code: .senderMismatch,
                    message: "The header's SenderOrgId is \(declared), but the file was dropped in the folder of "
                        + "\(senderOrgId), so nothing in it was applied. If it is your file, your student system wrote the wrong "
                        + "organisation number into the export: correct SenderOrgId to \(senderOrgId) (in the export's settings, or "
                        + "ask its vendor) and send it again. If it is \(declared)'s file, \(declared) sends it from its own folder.",
                    path: report.type.map { "/\($0.xmlRootElement)/Header/SenderOrgId" }, field: "senderOrgId"),
                at: 0)
            errorCount += 1
        }
        var outcome: FileOutcome = errorCount == 0 && report.type != nil ? .accepted : .rejected
        rulesChecked = outcome == .accepted
        if outcome == .accepted, verdicts.failedRecords > 0 {
            issues = verdicts.issues
            errorCount = verdicts.violationCount
            outcome = verdicts.failedRecords < received ? .acceptedWithErrors : .rejected
        }
        self.outcome = outcome
        self.issues = issues
        self.errorCount = errorCount
        recordsReceived = received
        recordsRejected = outcome == .rejected ? received : verdicts.failedRecords
        refusedRecords = rulesChecked ? verdicts.rejected.map { RefusedRecord(codes: $0.codes, noResendFixes: $0.noResendFixes) } : []
        recordsAlreadyOnFile = outcome == .accepted || outcome == .acceptedWithErrors ? verdicts.alreadyOnFile : 0
        rejectedRecords = outcome == .acceptedWithErrors
            ? verdicts.rejected.map { RejectedRecord(receiptId: receiptId, line: $0.line, recordKey: $0.key, codes: $0.codes) } : []
    }
}
