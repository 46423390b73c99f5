import ExchangeCore
import Testing

/// A file's outcome from its report and its records' verdicts: the file gate first, then each record.
@Suite("File verdict: the gate, then each record")
struct FileVerdictTests {
    static func report(
        type: ExchangeType? = .attendance, records: Int = 10, issues: [ValidationIssue] = [], sender: String? = nil
    ) -> ValidationReport {
        var report = ValidationReport(file: "f.csv", type: type, binding: .csv, recordCount: records, issues: issues, errorCount: issues.count)
        report.declaredSender = sender
        return report
    }

    static let violation = ValidationIssue(code: ValidationIssue.Code(rawValue: "ATT-01"), message: "not enrolled", line: 3, recordKey: "r3")

    static func verdict(
        _ report: ValidationReport, _ verdicts: RecordVerdicts = RecordVerdicts(considered: 10), seen: Int = 10, again: Bool = false
    ) -> FileVerdict {
        FileVerdict(
            report: report, verdicts: verdicts, receiptId: "R1", senderOrgId: "165901", recordsSeen: seen, maxRecords: 100,
            judgedAgainOnly: again)
    }

    @Test("a clean file is accepted whole")
    func accepted() {
        let verdict = Self.verdict(Self.report())
        #expect(verdict.outcome == .accepted && verdict.applies)
        #expect(verdict.recordsReceived == 10 && verdict.recordsRejected == 0 && verdict.errorCount == 0 && verdict.issues.isEmpty)
    }

    @Test("some records failing: accepted with errors, the failing records kept; all failing: rejected, none kept")
    func recordsFailing() {
        let some = RecordVerdicts(considered: 10, failedRecords: 2, violationCount: 3, issues: [Self.violation], rejected: [(3, "r3", ["ATT-01"], [:]), (5, nil, ["ATT-03", "ATT-04"], [:])])
        let partly = Self.verdict(Self.report(), some)
        #expect(partly.outcome == .acceptedWithErrors && partly.applies)
        #expect(partly.recordsRejected == 2 && partly.errorCount == 3 && partly.issues == [Self.violation])
        #expect(partly.rejectedRecords == [
            RejectedRecord(receiptId: "R1", line: 3, recordKey: "r3", codes: ["ATT-01"]),
            RejectedRecord(receiptId: "R1", line: 5, recordKey: nil, codes: ["ATT-03", "ATT-04"]),
        ])
        var all = some
        all.failedRecords = 10
        let whole = Self.verdict(Self.report(), all)
        #expect(whole.outcome == .rejected && !whole.applies)
        #expect(whole.recordsRejected == 10 && whole.rejectedRecords.isEmpty)
        #expect(whole.refusedRecords == [RefusedRecord(codes: ["ATT-01"]), RefusedRecord(codes: ["ATT-03", "ATT-04"])], "kept for the advice")
    }

    @Test("a problem with the file as a whole rejects it, whatever its records came to")
    func gate() {
        let schema = ValidationIssue(code: .typeError, message: "bad date", line: 4)
        let some = RecordVerdicts(considered: 10, failedRecords: 1, violationCount: 1, issues: [Self.violation], rejected: [(3, "r3", ["ATT-01"], [:])])
        let rejected = Self.verdict(Self.report(issues: [schema]), some)
        #expect(rejected.outcome == .rejected && rejected.issues == [schema] && rejected.errorCount == 1 && rejected.recordsRejected == 10)
        #expect(!rejected.rulesChecked && rejected.refusedRecords.isEmpty)
        #expect(Self.verdict(Self.report(type: nil, records: 0)).outcome == .rejected)
    }

    @Test("a header naming another sender, and a file over the record limit, are named first")
    func fileLevelIssuesFirst() {
        let mismatch = Self.verdict(Self.report(sender: "061014"))
        #expect(mismatch.outcome == .rejected)
        #expect(mismatch.issues.first?.code == .senderMismatch && mismatch.issues.first?.path == "/KtsxAttendanceFile/Header/SenderOrgId")
        let tooMany = Self.verdict(Self.report(records: 100), RecordVerdicts(considered: 100), seen: 101)
        #expect(tooMany.outcome == .rejected && tooMany.issues.first?.code == .tooManyRecords)
        #expect(tooMany.recordsReceived == 101 && tooMany.recordsRejected == 101)
    }

    @Test("judged again at support's request, the file holds the records judged")
    func judgedAgain() {
        let verdict = Self.verdict(Self.report(records: 10), RecordVerdicts(considered: 2), again: true)
        #expect(verdict.outcome == .accepted && verdict.recordsReceived == 2)
    }
}
