import ExchangeCore
import Testing

/// The acknowledgement's message: what was applied and what to do, by cause (issue 18).
@Suite("Acknowledgement messages: what was applied, and the next step that helps")
struct AcknowledgementMessageTests {
    /// A record refused because its center's waiver was approved (what the rule gives as the reason).
    static let waived = RefusedRecord(
        codes: ["ATT-12"], noResendFixes: ["ATT-12": "the center's waiver for the school year was approved: send attendance by the waiver's alternate process"])

    @Test("partly accepted: the records not applied by line, and to send only them")
    func partlyAccepted() {
        let text = AcknowledgementMessage(
            outcome: .acceptedWithErrors, errorCount: 3, recordsReceived: 27, recordsRejected: 2, rejectedLines: [4, 6],
            refusedRecords: [RefusedRecord(codes: ["ENR-03", "ENR-04"]), RefusedRecord(codes: ["ENR-03"])], rulesChecked: true
        ).text
        #expect(text == "25 of 27 records applied; 2 not applied (lines 4, 6), with 3 errors listed in the error file. "
            + "Fix those 2 records and send only them; the others are on file.")
    }

    @Test("many records not applied: the first ten lines, then how many more")
    func manyLines() {
        let text = AcknowledgementMessage(
            outcome: .acceptedWithErrors, errorCount: 12, recordsReceived: 40, recordsRejected: 12, rejectedLines: Array(2...13),
            refusedRecords: Array(repeating: RefusedRecord(codes: ["ATT-04"]), count: 12), rulesChecked: true
        ).text
        #expect(text.contains("(lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more)"), "\(text)")
    }

    @Test("one record not applied for a cause no resend fixes: says so instead of asking for a resend")
    func partlyAcceptedUnfixable() {
        let text = AcknowledgementMessage(
            outcome: .acceptedWithErrors, errorCount: 1, recordsReceived: 5, recordsRejected: 1, rejectedLines: [3],
            refusedRecords: [Self.waived], rulesChecked: true
        ).text
        #expect(text.hasPrefix("4 of 5 records applied; 1 not applied (line 3), with 1 error listed in the error file. "))
        #expect(text.contains("Sending that record again will not change that (ATT-12:"), "\(text)")
        #expect(!text.contains("Fix"))
    }

    @Test("records refused for causes a resend fixes and for one it does not: each told apart, by record")
    func mixedCauses() {
        let text = AcknowledgementMessage(
            outcome: .acceptedWithErrors, errorCount: 4, recordsReceived: 9, recordsRejected: 3, rejectedLines: [2, 5, 7],
            refusedRecords: [RefusedRecord(codes: ["ATT-04"]), RefusedRecord(codes: ["ATT-12", "ATT-04"], noResendFixes: Self.waived.noResendFixes), RefusedRecord(codes: ["ATT-05"])], rulesChecked: true
        ).text
        #expect(text.hasSuffix("Fix the 2 records with other errors and send only them; the record refused for ATT-12 cannot come "
            + "through the exchange (ATT-12: the center's waiver for the school year was approved: send attendance by the waiver's "
            + "alternate process)."), "\(text)")
    }

    @Test("the same bytes again: the earlier receipt's day and outcome, and the records it left unapplied")
    func duplicate() {
        let earlier = AcknowledgementMessage.EarlierReceipt(id: "R1", received: "2026-01-12", outcome: .acceptedWithErrors, recordsNotApplied: 2)
        let text = AcknowledgementMessage(
            outcome: .duplicate, errorCount: 0, recordsReceived: 27, recordsRejected: 0, rulesChecked: false, duplicateOf: earlier
        ).text
        #expect(text == "These bytes were already received from you on 2026-01-12 as receipt R1 (ACCEPTED_WITH_ERRORS); nothing was "
            + "applied again. It changes nothing for the 2 records not applied then: if you have not sent them again yet, fix them "
            + "(the error file of R1 names them) and send only them, in a new file.")
        var accepted = earlier
        accepted.outcome = .accepted
        accepted.recordsNotApplied = 0
        #expect(AcknowledgementMessage(
            outcome: .duplicate, errorCount: 0, recordsReceived: 27, recordsRejected: 0, rulesChecked: false, duplicateOf: accepted
        ).text.hasSuffix("(ACCEPTED); nothing was applied again. There is no need to send them again."))
    }

    @Test("records sent again exactly as on file: counted, nothing changed for them")
    func onFileAlready() {
        let all = AcknowledgementMessage(outcome: .accepted, errorCount: 0, recordsReceived: 25, recordsRejected: 0, alreadyOnFile: 25, rulesChecked: true).text
        #expect(all == "Accepted: 25 records. All 25 applied were on file already, exactly as sent before: nothing changed.")
        let some = AcknowledgementMessage(
            outcome: .acceptedWithErrors, errorCount: 1, recordsReceived: 27, recordsRejected: 1, rejectedLines: [4],
            refusedRecords: [RefusedRecord(codes: ["ENR-03"])], alreadyOnFile: 3, rulesChecked: true
        ).text
        #expect(some.contains("with 1 error listed in the error file. 3 records applied were on file already"), "\(some)")
    }

    @Test("refused at the gate: nothing applied, its rules not checked yet, send the whole file again")
    func refusedAtTheGate() {
        let text = AcknowledgementMessage(outcome: .rejected, errorCount: 2, recordsReceived: 27, recordsRejected: 27, rulesChecked: false).text
        #expect(text.contains("nothing in it was applied and its records were not yet checked against the exchange's rules"), "\(text)")
        #expect(text.hasSuffix("Fix it and send the whole file again."))
    }

    @Test("every record refused under the rules: the count, and the advice the codes allow")
    func everyRecordRefused() {
        let one = AcknowledgementMessage(
            outcome: .rejected, errorCount: 2, recordsReceived: 1, recordsRejected: 1, refusedRecords: [RefusedRecord(codes: ["WVR-01", "WVR-03"], noResendFixes: ["WVR-01": "only a district-operated CTC (class A2) may ask for a waiver"])],
            rulesChecked: true
        ).text
        #expect(one.hasPrefix("Rejected: its one record was not applied (2 errors, see the error file). Sending it again will not change that"), "\(one)")
        let many = AcknowledgementMessage(
            outcome: .rejected, errorCount: 30, recordsReceived: 27, recordsRejected: 27,
            refusedRecords: Array(repeating: RefusedRecord(codes: ["ENR-03"]), count: 27), rulesChecked: true, reprocessOf: "R1"
        ).text
        #expect(many == "Judged again at support's request (earlier receipt R1). Rejected: none of its 27 records was applied (30 errors, "
            + "see the error file). Fix it and send it again.")
    }
}
