/// What a pre-check found for one file (`ktsx validate --config`): its validation report, and what the
/// exchange would do with it if its sender sent it now, its records judged under the rules (nothing kept).
public struct PreCheckedFile: Sendable, Equatable {
    /// The receipt id a pre-check's verdict carries: no receipt is made.
    public static let receiptId = "PRE-CHECK"
    /// The validation report (form, encoding, schema).
    public var report: ValidationReport
    /// The participant the file was judged as coming from.
    public var senderOrgId: String
    /// The verdict, with the rule errors when the file passed the gate.
    public var verdict: FileVerdict
    /// The lines of the records that would not be applied (a file partly accepted).
    public var rejectedLines: [Int]

    /// Creates one.
    public init(report: ValidationReport, senderOrgId: String, verdict: FileVerdict, rejectedLines: [Int]) {
        self.report = report
        self.senderOrgId = senderOrgId
        self.verdict = verdict
        self.rejectedLines = rejectedLines
    }

    /// Whether every record would be applied.
    public var wouldBeAccepted: Bool { verdict.outcome == .accepted }

    /// The report with the verdict's issues and error count: the gate's, or the rules'.
    public var judgedReport: ValidationReport {
        var judged = report
        judged.issues = verdict.issues
        judged.errorCount = verdict.errorCount
        return judged
    }

    /// One sentence: what would be applied, in the future tense (empty for a file refused at the gate,
    /// whose report says why).
    public var summary: String {
        guard verdict.rulesChecked else { return "" }
        let received = verdict.recordsReceived
        let errors = "\(verdict.errorCount) error\(verdict.errorCount == 1 ? "" : "s")"
        let onFile = verdict.recordsAlreadyOnFile == 0 ? ""
            : " (\(verdict.recordsAlreadyOnFile) of them on file already, exactly as sent: nothing would change for "
                + (verdict.recordsAlreadyOnFile == 1 ? "it)" : "those)")
        switch verdict.outcome {
        case .accepted:
            return (received == 1 ? "its one record would be applied" : "all \(received) records would be applied") + onFile
        case .acceptedWithErrors:
            return "\(received - verdict.recordsRejected) of \(received) records would be applied\(onFile); "
                + "\(verdict.recordsRejected) would not\(AcknowledgementMessage.naming(lines: rejectedLines)), \(errors)"
        case .rejected, .duplicate:
            return (received == 1 ? "its one record would not be applied" : "none of its \(received) records would be applied") + ", \(errors)"
        }
    }
}
