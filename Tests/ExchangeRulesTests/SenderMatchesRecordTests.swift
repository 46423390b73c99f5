import ExchangeCore
import Testing

@testable import ExchangeRules

@Suite("Rule: a record's sending organisation is the folder it came from")
struct SenderMatchesRecordTests {
    @Test("each type's sending field is checked, with its rule code", arguments: [
        (ExchangeType.enrollment, "homeSchoolOrgId", "ENR-01"), (.attendance, "techCenterOrgId", "ATT-10"),
        (.grades, "techCenterOrgId", "GRD-10"), (.waiver, "centerOrgId", "WVR-07"),
    ])
    func mismatch(type: ExchangeType, field: String, code: String) throws {
        let rule = SenderMatchesRecord()
        let context = RuleContext(senderOrgId: "061010")
        #expect(rule.check(RecordFacts(type: type, line: 2, values: [field: "061010"]), context: context) == nil)
        let violation = try #require(rule.check(RecordFacts(type: type, line: 2, values: [field: "061020"]), context: context))
        #expect(violation.code == code)
        #expect(violation.field == field)
        #expect(violation.message.contains("061020"))
    }

    @Test("a record without the field (a schema error, reported already) and our own types are left alone")
    func notApplicable() {
        let rule = SenderMatchesRecord()
        let context = RuleContext(senderOrgId: "061010")
        #expect(rule.check(RecordFacts(type: .enrollment, line: 2, values: [:]), context: context) == nil)
        #expect(rule.check(RecordFacts(type: .acknowledgement, line: 2, values: ["senderOrgId": "1"]), context: context) == nil)
    }

    @Test("the rule book captures what its rules read, and recordId")
    func captured() {
        #expect(RuleBook.standard.capturedFields == ["recordId", "homeSchoolOrgId", "techCenterOrgId", "centerOrgId"])
    }
}
