import ExchangeCore
import ExchangeTesting
import Foundation
import Testing

@testable import ExchangeRules

/// One case per rule: a valid record changed so that exactly that rule must object. Judged by the
/// standard rule book, so each case fails if its rule is taken out of the book.
struct RuleCase: CustomTestStringConvertible, Sendable {
    let type: ExchangeType
    let code: String
    let why: String
    let change: @Sendable (inout [String: String]) -> Void
    var sender: String? = nil
    var emptyRoster = false
    var received: Timestamp = RuleWorld.received
    var waivers: [WaiverRequest] = []
    /// The record's homeSchoolOrgId, for a case sent by another school than the one whose enrollment is held.
    var heldBy: String? = nil
    /// School years retired from the ledger.
    var retired: Set<Int> = []

    var testDescription: String { "\(code): \(why)" }

    /// What the standard rule book finds in the case's record, in the case's world.
    var violations: [RuleViolation] {
        var held = emptyRoster ? InMemoryHeldRecords() : RuleWorld.held
        held.waiverRequests = waivers
        return RuleWorld.violations(type, sender: sender, held: held, received: received, retired: retired) { values in
            change(&values)
            if let school = heldBy { values["homeSchoolOrgId"] = school }
        }
    }
}

/// 2026-01-15 10:00 Eastern, inside the waiver window.
let januaryReceipt = Timestamp(secondsSinceEpoch: 1_768_489_200)

let ruleCases: [RuleCase] = [
    RuleCase(type: .enrollment, code: "ENR-01", why: "another high school's record", change: { $0["homeSchoolOrgId"] = "165020" }, emptyRoster: true),
    RuleCase(type: .enrollment, code: "ENR-02", why: "center not a participant", change: { $0["techCenterOrgId"] = "999999" }, emptyRoster: true),
    RuleCase(type: .enrollment, code: "ENR-02", why: "center is a high school", change: { $0["techCenterOrgId"] = "165020" }, emptyRoster: true),
    RuleCase(type: .enrollment, code: "ENR-03", why: "section not in the catalog", change: { $0["sectionNumber"] = "PM-09" }, emptyRoster: true),
    RuleCase(type: .enrollment, code: "ENR-03", why: "state course code differs", change: { $0["stateCourseCode"] = "480511" }, emptyRoster: true),
    RuleCase(type: .enrollment, code: "ENR-04", why: "entry before the term", change: { $0["entryDate"] = "2025-08-01" }, emptyRoster: true),
    RuleCase(type: .enrollment, code: "ENR-04", why: "exit before entry", change: {
        $0["exitDate"] = "2025-08-12"
        $0["exitReason"] = "WITHDRAWN"
    }, emptyRoster: true),
    RuleCase(type: .enrollment, code: "ENR-07", why: "add of an enrollment on file", change: { _ in }),
    RuleCase(type: .enrollment, code: "ENR-07", why: "update of an enrollment not on file", change: { $0["action"] = "update" }, emptyRoster: true),
    RuleCase(type: .enrollment, code: "ENR-08", why: "exit date without a reason", change: { $0["exitDate"] = "2025-12-19" }, emptyRoster: true),
    RuleCase(type: .attendance, code: "ATT-01", why: "student not enrolled that day", change: { $0["ssid"] = "9999999999" }),
    RuleCase(type: .attendance, code: "ATT-02", why: "home school differs from the enrollment", change: { $0["homeSchoolOrgId"] = "165020" }),
    RuleCase(type: .attendance, code: "ATT-03", why: "a Saturday", change: { $0["attendanceDate"] = "2025-10-11" }),
    RuleCase(type: .attendance, code: "ATT-03", why: "a closed day", change: {
        $0["attendanceDate"] = "2025-11-26"
    }, received: Timestamp(secondsSinceEpoch: 1_765_000_000)),
    RuleCase(type: .attendance, code: "ATT-03", why: "in the future", change: { $0["attendanceDate"] = "2025-10-16" }),
    RuleCase(type: .attendance, code: "ATT-04", why: "present with an excuse", change: { $0["attendanceStatus"] = "P"; $0["absentMinutes"] = nil }),
    RuleCase(type: .attendance, code: "ATT-04", why: "absent without an excuse", change: { $0["excuseStatus"] = nil }),
    RuleCase(type: .attendance, code: "ATT-05", why: "tardy without arrival time", change: { $0["attendanceStatus"] = "T"; $0["absentMinutes"] = "10" }),
    RuleCase(type: .attendance, code: "ATT-05", why: "more minutes than the section has", change: { $0["absentMinutes"] = "151" }),
    RuleCase(type: .attendance, code: "ATT-07", why: "update of attendance not on file", change: { $0["action"] = "update" }),
    RuleCase(type: .attendance, code: "ATT-08", why: "local code not in the map", change: { $0["localAttendanceCode"] = "ZZ" }),
    RuleCase(type: .attendance, code: "ATT-08", why: "local code means something else", change: { $0["localAttendanceCode"] = "PRS" }),
    RuleCase(type: .attendance, code: "ATT-10", why: "another center's record", change: { $0["techCenterOrgId"] = "061014" }),
    RuleCase(type: .attendance, code: "ATT-11", why: "PERIOD without a period", change: { $0["periodCode"] = nil }),
    RuleCase(type: .grades, code: "GRD-01", why: "no enrollment in the section", change: { $0["sectionNumber"] = "PM-01" }),
    RuleCase(type: .grades, code: "GRD-13", why: "home school differs from the enrollment", change: { $0["homeSchoolOrgId"] = "165020" }),
    RuleCase(type: .grades, code: "GRD-02", why: "period ends before it begins", change: { $0["gradingPeriodEndDate"] = "2025-08-01" }),
    RuleCase(type: .grades, code: "GRD-02", why: "period outside the year", change: { $0["gradingPeriodBeginDate"] = "2025-06-01" }),
    RuleCase(type: .grades, code: "GRD-03", why: "unknown scale", change: { $0["gradingScaleCode"] = "NOPE" }),
    RuleCase(type: .grades, code: "GRD-03", why: "letter not on the scale", change: { $0["letterGrade"] = "E" }),
    RuleCase(type: .grades, code: "GRD-03", why: "number outside the letter's band", change: { $0["numericGrade"] = "95" }),
    RuleCase(type: .grades, code: "GRD-03", why: "neither letter nor number", change: { $0["letterGrade"] = nil; $0["numericGrade"] = nil }),
    RuleCase(type: .grades, code: "GRD-04", why: "final without a result", change: { $0["courseAttemptResult"] = nil }),
    RuleCase(type: .grades, code: "GRD-04", why: "final in progress", change: { $0["currentGradeIndicator"] = "true" }),
    RuleCase(type: .grades, code: "GRD-05", why: "earned above attempted", change: { $0["creditsEarned"] = "2" }),
    RuleCase(type: .grades, code: "GRD-05", why: "failed with credit", change: {
        $0["courseAttemptResult"] = "FAIL"
        $0["letterGrade"] = "F"
        $0["numericGrade"] = "50"
    }),
    RuleCase(type: .grades, code: "GRD-05", why: "above the maximum credits", change: { $0["creditsAttempted"] = "4"; $0["creditsEarned"] = "4" }),
    RuleCase(type: .grades, code: "GRD-06", why: "as-of date in the future", change: { $0["asOfDate"] = "2025-10-20" }),
    RuleCase(type: .grades, code: "GRD-10", why: "another center's grade", change: { $0["techCenterOrgId"] = "061014" }),
    RuleCase(type: .grades, code: "GRD-11", why: "delete of a grade not on file", change: { $0["action"] = "delete" }),
    RuleCase(type: .waiver, code: "WVR-01", why: "an ATC asks", change: { $0["centerOrgId"] = "061014"; $0["centerClassification"] = "C2" },
             sender: "061014", received: januaryReceipt),
    RuleCase(type: .waiver, code: "WVR-01", why: "classification disagrees with the register", change: { $0["centerClassification"] = "C1" },
             received: januaryReceipt),
    RuleCase(type: .waiver, code: "WVR-02", why: "outside January 1 - March 1", change: { _ in }),
    RuleCase(type: .waiver, code: "WVR-03", why: "not the next school year", change: { $0["waiverSchoolYear"] = "2026" }, received: januaryReceipt),
    RuleCase(type: .waiver, code: "WVR-04", why: "amend without a prior request", change: { $0["action"] = "amend"; $0["priorWaiverId"] = "55555555-5555-4555-8555-555555555555" },
             received: januaryReceipt),
    RuleCase(type: .waiver, code: "WVR-04", why: "a recordId used before", change: { $0["recordId"] = "55555555-5555-4555-8555-555555555555" },
             received: januaryReceipt, waivers: [WaiverRequest(
                 id: "55555555-5555-4555-8555-555555555555", centerOrgId: "165901", schoolYear: 2027, values: [:], receiptId: "R0",
                 receivedAt: januaryReceipt, status: .denied)]),
    RuleCase(type: .enrollment, code: "ENR-07", why: "update of another school's enrollment", change: { $0["action"] = "update" },
             sender: "165020", heldBy: "165020"),
    RuleCase(type: .waiver, code: "WVR-05", why: "no superintendent approval", change: { $0["superintendentApproval"] = "false" }, received: januaryReceipt),
    RuleCase(type: .waiver, code: "WVR-05", why: "reason OTHER unexplained", change: { $0["reasonCode"] = "OTHER" }, received: januaryReceipt),
    RuleCase(type: .waiver, code: "WVR-07", why: "another center's request", change: { $0["centerOrgId"] = "061014" }, received: januaryReceipt),
    RuleCase(type: .attendance, code: "ATT-12", why: "attendance from a center waived for the year", change: { _ in }, waivers: [approvedWaiver]),
    RuleCase(type: .grades, code: "GRD-12", why: "grades from a center waived for the year", change: { _ in }, waivers: [approvedWaiver]),
    RuleCase(type: .enrollment, code: "ENR-09", why: "an enrollment of a retired year", change: { _ in }, emptyRoster: true, retired: [2026]),
    RuleCase(type: .attendance, code: "ATT-13", why: "attendance of a retired year", change: { _ in }, retired: [2026]),
    RuleCase(type: .grades, code: "GRD-14", why: "a grade of a retired year", change: { _ in }, retired: [2026]),
]

/// An approved waiver of the rule world's center for its school year.
let approvedWaiver = WaiverRequest(
    id: "66666666-6666-4666-8666-666666666666", centerOrgId: "165901", schoolYear: 2026, values: [:], receiptId: "R0",
    receivedAt: januaryReceipt, status: .approved)

@Suite("Rules: each named rule refuses what it must, with its code")
struct RuleTests {
    @Test("a valid record of each type passes every rule", arguments: ExchangeType.partnerTypes)
    func validRecordPasses(type: ExchangeType) {
        let held = type == .enrollment ? InMemoryHeldRecords() : RuleWorld.held
        let received = type == .waiver ? januaryReceipt : RuleWorld.received
        #expect(RuleWorld.codes(type, held: held, received: received) == [])
    }

    @Test("each rule objects to its case", arguments: ruleCases)
    func ruleObjects(_ rule: RuleCase) {
        let codes = rule.violations.map(\.code.rawValue)
        #expect(codes.contains(rule.code), "codes were \(codes)")
    }

    /// The cases no corrected resend can fix: the rule says why, case by case (the same code can be fixable
    /// in another case: a classification typed wrong, a center number mistyped, a request sent too early).
    static let noResendFixes: Set<String> = [
        "WVR-01: an ATC asks", "ATT-12: attendance from a center waived for the year", "GRD-12: grades from a center waived for the year",
        "ENR-09: an enrollment of a retired year", "ATT-13: attendance of a retired year", "GRD-14: a grade of a retired year",
    ]

    @Test("a violation says no resend fixes it exactly where none can", arguments: ruleCases)
    func noResendFixes(_ rule: RuleCase) {
        let own = rule.violations.filter { $0.code.rawValue == rule.code }
        #expect(!own.isEmpty)
        for violation in own {
            #expect((violation.noResendFixes != nil) == Self.noResendFixes.contains(rule.testDescription), "\(violation.message)")
        }
    }

    @Test("a waiver request outside the window: too early can be sent again inside it, too late cannot")
    func waiverWindow() {
        let october = RuleWorld.violations(.waiver).first { $0.code == .wvr02 }
        #expect(october?.noResendFixes == nil && october?.message.hasSuffix("Send it again inside the window.") == true)
        let april = RuleWorld.violations(.waiver, received: Timestamp(secondsSinceEpoch: januaryReceipt.secondsSinceEpoch + 90 * 86_400))
            .first { $0.code == .wvr02 }
        #expect(april?.noResendFixes != nil && april?.message.contains("after this year's window closed") == true, "\(String(describing: april))")
    }

    @Test("each rule case asks the held records only what its batch request fetched, and gets the same codes", arguments: ruleCases)
    func batchRequestCoversTheRules(_ rule: RuleCase) {
        var held = rule.emptyRoster ? InMemoryHeldRecords() : RuleWorld.held
        held.waiverRequests = rule.waivers
        var values = RuleWorld.values(of: rule.type)
        rule.change(&values)
        if let school = rule.heldBy { values["homeSchoolOrgId"] = school }
        let record = RecordFacts(type: rule.type, line: 2, values: values)
        let sender = rule.sender ?? RuleWorld.sender(of: rule.type)
        var request = HeldStateRequest()
        request.add(record, sender: sender)
        let prefetched = OnlyWhatWasAsked(state: held.answer(request))
        let judge = { (held: any HeldRecords) in
            RuleBook.standard.judge(
                record,
                context: RuleContext(
                    senderOrgId: sender, reference: RuleWorld.reference, held: held, receivedAt: rule.received, retiredSchoolYears: rule.retired)
            ).map(\.code)
        }
        let fromBatch = judge(prefetched)
        #expect(prefetched.unasked.isEmpty, "asked outside the request: \(prefetched.unasked)")
        #expect(fromBatch == judge(held))
    }

    @Test("every type held by key has its key rule, and every keyed type a center sends its waived-center rule; no code twice")
    func sharedRulesCoverEveryType() {
        let descriptors = ExchangeType.partnerTypes.compactMap(\.descriptor)
        #expect(descriptors.count == ExchangeType.partnerTypes.count)
        let keyed = descriptors.filter { $0.holding == .byNaturalKey }
        #expect(keyed.allSatisfy { $0.keyRule != nil })
        // A waived center sends nothing through the exchange: each keyed type it sends is refused.
        #expect(keyed.filter { $0.senderField == $0.centerField }.allSatisfy { $0.waivedRule != nil })
        let codes = descriptors.flatMap { [$0.senderRule] + [$0.keyRule, $0.waivedRule].compactMap { $0 } }
        #expect(codes.count == Set(codes).count, "\(codes)")
    }

    @Test("every rule code has a case that gives it")
    func everyRuleCovered() {
        let covered = Set(ruleCases.map(\.code))
        let uncovered = RuleCode.allCases.map(\.rawValue).filter { !covered.contains($0) }
        #expect(uncovered.isEmpty, "rule codes without a case: \(uncovered)")
    }

    @Test("the rule codes are exactly the codes the specification's rule table lists")
    func ruleCodesMatchTheSpecification() throws {
        let spec = try String(contentsOf: Repository.schemas.appendingPathComponent("README.md"), encoding: .utf8)
        let listed = spec.split(separator: "\n").compactMap { line -> String? in
            // A rule row: | `ENR-01` | what the rule requires | what to do |
            guard line.hasPrefix("| `"), let end = line.dropFirst(3).firstIndex(of: "`") else { return nil }
            let code = String(line[line.index(line.startIndex, offsetBy: 3)..<end])
            return code.wholeMatch(of: /[A-Z]{3}-[0-9]{2}/) != nil ? code : nil
        }
        #expect(listed.count == Set(listed).count, "a code listed twice: \(listed)")
        let known = RuleCode.allCases.map(\.rawValue)
        #expect(Set(listed) == Set(known), "only in the spec: \(Set(listed).subtracting(known)); only in RuleCode: \(Set(known).subtracting(listed))")
    }

    @Test("messages name no student data")
    func noStudentData() {
        for rule in ruleCases {
            var values = RuleWorld.values(of: rule.type)
            rule.change(&values)
            let context = RuleContext(
                senderOrgId: rule.sender ?? RuleWorld.sender(of: rule.type), reference: RuleWorld.reference,
                held: rule.emptyRoster ? InMemoryHeldRecords() : RuleWorld.held, receivedAt: rule.received)
            // A grade is the student's too: named by its field, never by its value.
            let grades = [values["letterGrade"], values["numericGrade"]].compactMap { $0 }.filter { !$0.isEmpty }
            for violation in RuleBook.standard.judge(RecordFacts(type: rule.type, line: 2, values: values), context: context) {
                for secret in ["1234567890", "Doe", "2009-04-01"] {
                    #expect(!violation.message.contains(secret), "\(violation.code) shows student data: \(violation.message)")
                }
                let words = violation.message.split { !$0.isLetter && !$0.isNumber && $0 != "." && $0 != "+" }
                    .map { $0.hasSuffix(".") ? String($0.dropLast()) : String($0) }
                for grade in grades {
                    #expect(!words.contains(grade), "\(violation.code) shows the student's grade: \(violation.message)")
                }
            }
        }
    }

    @Test("a second waiver for the year is refused, an amendment of the pending one is accepted")
    func oneWaiverPerYear() {
        var held = RuleWorld.held
        held.waiverRequests = [
            WaiverRequest(id: "44444444-4444-4444-8444-444444444444", centerOrgId: "165901", schoolYear: 2027, values: [:], receiptId: "R1",
                          receivedAt: januaryReceipt)
        ]
        #expect(RuleWorld.codes(.waiver, held: held, received: januaryReceipt) { $0["recordId"] = "66666666-6666-4666-8666-666666666666" } == ["WVR-04"])
        #expect(RuleWorld.codes(.waiver, held: held, received: januaryReceipt) {
            $0["recordId"] = "66666666-6666-4666-8666-666666666666"
            $0["action"] = "amend"
            $0["priorWaiverId"] = "44444444-4444-4444-8444-444444444444"
        } == [])
    }

    @Test("a center with an approved waiver gets no enrollments for that year")
    func waivedCenter() {
        var held = InMemoryHeldRecords()
        held.waiverRequests = [
            WaiverRequest(id: "w", centerOrgId: "165901", schoolYear: 2026, values: [:], receiptId: "R1", receivedAt: januaryReceipt, status: .approved)
        ]
        #expect(RuleWorld.codes(.enrollment, held: held) == ["ENR-02"])
        #expect(RuleWorld.violations(.enrollment, held: held).first?.noResendFixes != nil, "the same code for a mistyped center is fixable")
    }

    @Test("a center with an approved waiver sends no attendance or grades that year (ATT-12, GRD-12)", arguments: [
        (ExchangeType.attendance, "ATT-12"), (.grades, "GRD-12"),
    ])
    func waivedCenterRecords(type: ExchangeType, code: String) {
        var held = RuleWorld.held
        held.waiverRequests = [
            WaiverRequest(id: "w", centerOrgId: "165901", schoolYear: 2026, values: [:], receiptId: "R1", receivedAt: januaryReceipt, status: .approved)
        ]
        #expect(RuleWorld.codes(type, held: held) == [code])
        held.waiverRequests[0].status = .denied
        #expect(RuleWorld.codes(type, held: held) == [])
    }

    @Test("records of a retired school year are refused, whatever their action (ENR-09, ATT-13, GRD-14); other years' are judged as before", arguments: [
        (ExchangeType.enrollment, "ENR-09"), (.attendance, "ATT-13"), (.grades, "GRD-14"),
    ])
    func retiredYear(type: ExchangeType, code: String) {
        let held = type == .enrollment ? InMemoryHeldRecords() : RuleWorld.held
        #expect(RuleWorld.codes(type, held: held, retired: [2026]) == [code])
        #expect(RuleWorld.codes(type, held: RuleWorld.held, retired: [2026]) { $0["action"] = "delete" } == [code])
        // Alone, however else the record is wrong (it can no longer be corrected here).
        #expect(RuleWorld.codes(type, held: InMemoryHeldRecords(), retired: [2026]) { $0["techCenterOrgId"] = "999999" } == [code])
        #expect(RuleWorld.codes(type, held: held, retired: [2025]) == [])
        #expect(RuleWorld.violations(type, held: held, retired: [2026]).first?.noResendFixes != nil, "no resend fixes it: the acknowledgement says so")
    }

    @Test("a record naming another organisation gets that code alone, not the errors of judging it against the other's records",
          arguments: [(ExchangeType.attendance, "techCenterOrgId", "ATT-10"), (.grades, "techCenterOrgId", "GRD-10"), (.enrollment, "homeSchoolOrgId", "ENR-01")])
    func anotherOrganisation(type: ExchangeType, field: String, code: String) {
        // No enrollment held and an action that needs one: ATT-01, ATT-07 and the like would follow.
        #expect(RuleWorld.codes(type, held: InMemoryHeldRecords()) { $0[field] = "999999"; $0["action"] = "update" } == [code])
    }

    @Test("a waiver is never refused for a retired year: it asks for the next one")
    func retiredYearWaiver() {
        #expect(RuleWorld.codes(.waiver, received: januaryReceipt, retired: [2025, 2026, 2027]) == [])
    }

    @Test("newer attendance supersedes; older is stale (ATT-07)")
    func staleAttendance() {
        var held = RuleWorld.held
        let values = RuleWorld.attendanceValues
        held.hold(
            HeldRecord(
                type: .attendance, naturalKey: NaturalKey.of(.attendance, values), senderOrgId: "165901", recipientOrgId: "061010",
                schoolYear: 2026, values: values, receiptId: "R2", acceptedAt: RuleWorld.received, deleted: false))
        #expect(RuleWorld.codes(.attendance, held: held) { $0["action"] = "update"; $0["recordedDateTime"] = "2025-10-15T08:00:00-04:00"; $0["excuseStatus"] = "EX" } == [])
        #expect(RuleWorld.codes(.attendance, held: held) { $0["action"] = "update"; $0["recordedDateTime"] = "2025-10-14T12:59:00Z" } == ["ATT-07"])
    }
}

@Suite("Record applier: records of one file see each other")
struct RecordApplierTests {
    @Test("an add then an update of one key in one file are both accepted; a second add is refused")
    func overlay() {
        let applier = RecordApplier(
            rules: .standard,
            context: RuleContext(senderOrgId: "061010", reference: RuleWorld.reference, held: InMemoryHeldRecords(), receivedAt: RuleWorld.received),
            receiptId: "R9", fieldTypes: ["repeatIndicator": .boolean])
        var values = RuleWorld.enrollmentValues
        #expect(applier.consider(RecordFacts(type: .enrollment, line: 2, values: values)).isEmpty)
        values["action"] = "update"
        values["repeatIndicator"] = "1"
        #expect(applier.consider(RecordFacts(type: .enrollment, line: 3, values: values)).isEmpty)
        values["action"] = "add"
        #expect(applier.consider(RecordFacts(type: .enrollment, line: 4, values: values)).map(\.code.rawValue) == ["ENR-07"])
        #expect(applier.changes.count == 2)
        #expect(applier.changes.last?.values["repeatIndicator"] == "true")
        #expect(applier.routedNow["165901"]?.count == 2)
    }

    @Test("a record sent again exactly as on file from its sender is accepted and changes nothing; changed, or from another sender, it is judged as before",
          arguments: [ExchangeType.enrollment, .attendance, .grades])
    func sentAgain(type: ExchangeType) {
        let sender = RuleWorld.sender(of: type)
        let first = RecordApplier(
            rules: .standard, context: RuleContext(senderOrgId: sender, reference: RuleWorld.reference, held: RuleWorld.held, receivedAt: RuleWorld.received),
            receiptId: "R1", fieldTypes: [:])
        let values = RuleWorld.values(of: type)
        var held = RuleWorld.held
        if type != .enrollment || RuleWorld.held.record(type, key: RecordFacts(type: type, line: 2, values: values).naturalKey) == nil {
            #expect(first.consider(RecordFacts(type: type, line: 2, values: values)).isEmpty)
            for change in first.changes { held.hold(change) }
        }
        let again = RecordApplier(
            rules: .standard, context: RuleContext(senderOrgId: sender, reference: RuleWorld.reference, held: held, receivedAt: RuleWorld.received),
            receiptId: "R2", fieldTypes: [:])
        #expect(again.consider(RecordFacts(type: type, line: 2, values: values)).isEmpty)
        #expect(again.alreadyOnFile == 1 && again.changes.isEmpty && again.routedNow.isEmpty)
        // The same key with another recordId is a second add: refused as before.
        var other = values
        other["recordId"] = "12345678-1234-4234-8234-123456789012"
        #expect(again.consider(RecordFacts(type: type, line: 3, values: other)).map(\.code.rawValue) == [type.descriptor!.keyRule!.rawValue])
        #expect(again.alreadyOnFile == 1)
    }

    @Test("a waiver amendment replaces the pending request; a withdrawal ends it")
    func waiverChanges() {
        var held = InMemoryHeldRecords()
        held.waiverRequests = [
            WaiverRequest(id: "44444444-4444-4444-8444-444444444444", centerOrgId: "165901", schoolYear: 2027, values: [:], receiptId: "R1",
                          receivedAt: januaryReceipt)
        ]
        let applier = RecordApplier(
            rules: .standard, context: RuleContext(senderOrgId: "165901", reference: RuleWorld.reference, held: held, receivedAt: januaryReceipt),
            receiptId: "R2", fieldTypes: [:])
        var amend = RuleWorld.waiverValues
        amend["recordId"] = "77777777-7777-4777-8777-777777777777"
        amend["action"] = "amend"
        amend["priorWaiverId"] = "44444444-4444-4444-8444-444444444444"
        #expect(applier.consider(RecordFacts(type: .waiver, line: 2, values: amend)).isEmpty)
        var withdraw = amend
        withdraw["recordId"] = "88888888-8888-4888-8888-888888888888"
        withdraw["action"] = "withdraw"
        withdraw["priorWaiverId"] = "77777777-7777-4777-8777-777777777777"
        #expect(applier.consider(RecordFacts(type: .waiver, line: 3, values: withdraw)).isEmpty)
        let byId = Dictionary(uniqueKeysWithValues: applier.waiverChanges.map { ($0.id, $0.status) })
        #expect(byId == ["44444444-4444-4444-8444-444444444444": .withdrawn, "77777777-7777-4777-8777-777777777777": .withdrawn])
        // A new request for the year is possible again.
        #expect(applier.consider(RecordFacts(type: .waiver, line: 4, values: RuleWorld.waiverValues.merging(["recordId": "99999999-9999-4999-8999-999999999999"]) { $1 })).isEmpty)
    }

    @Test("a delete goes where the record went: allowed after the student moved, refused when it names another school (ATT-02, GRD-13)",
          arguments: [ExchangeType.attendance, .grades])
    func deleteAfterTheStudentMoved(type: ExchangeType) {
        var held = RuleWorld.held
        let original = RuleWorld.values(of: type)
        held.hold(
            HeldRecord(
                type: type, naturalKey: NaturalKey.of(type, original), senderOrgId: "165901", recipientOrgId: original["homeSchoolOrgId"]!,
                schoolYear: 2026, values: original, receiptId: "R1", acceptedAt: RuleWorld.received, deleted: false))
        // The student has moved: the enrollment now names another high school.
        var moved = RuleWorld.enrollmentValues
        moved["homeSchoolOrgId"] = "165020"
        held.hold(
            HeldRecord(
                type: .enrollment, naturalKey: NaturalKey.of(.enrollment, moved), senderOrgId: "165020", recipientOrgId: "165901",
                schoolYear: 2026, values: moved, receiptId: "R2", acceptedAt: RuleWorld.received, deleted: false))
        let code = type == .attendance ? "ATT-02" : "GRD-13"
        // Withdrawn from the school that received it: accepted, though the enrollment names another school now.
        #expect(RuleWorld.codes(type, held: held) { $0["action"] = "delete" } == [])
        // An update now must name the enrollment's school, and a delete naming another school is refused.
        #expect(RuleWorld.codes(type, held: held) { $0["action"] = "update" }.contains(code))
        #expect(RuleWorld.codes(type, held: held) { $0["action"] = "delete"; $0["homeSchoolOrgId"] = "165020" } == [code])
    }
}

extension InMemoryHeldRecords {
    /// What a ledger would answer to `request` from these records.
    func answer(_ request: HeldStateRequest) -> HeldState {
        var state = HeldState(answering: request)
        for (type, keys) in request.keys {
            for key in keys { state.records[type, default: [:]][key] = record(type, key: key) }
        }
        for student in request.students { state.enrollments[student] = enrollments(ssid: student.ssid, center: student.center) }
        for pair in request.centerYears { state.waivers[pair] = waivers(center: pair.center, schoolYear: pair.schoolYear) }
        return state
    }
}

/// Held records that answer only from a prefetched state, and note every question it cannot answer.
final class OnlyWhatWasAsked: HeldRecords, @unchecked Sendable {
    let state: HeldState
    private(set) var unasked: [String] = []

    init(state: HeldState) {
        self.state = state
    }

    func record(_ type: ExchangeType, key: String) -> HeldRecord? {
        if state.askedKeys[type]?.contains(key) != true { unasked.append("record \(type.code)") }
        return state.records[type]?[key]
    }

    func enrollments(ssid: String, center: String) -> [HeldRecord] {
        guard let answer = state.enrollments[StudentAtCenter(ssid: ssid, center: center)] else {
            unasked.append("enrollments at \(center)")
            return []
        }
        return answer
    }

    func waivers(center: String, schoolYear: Int) -> [WaiverRequest] {
        guard let answer = state.waivers[CenterYear(center: center, schoolYear: schoolYear)] else {
            unasked.append("waivers of \(center) for \(schoolYear)")
            return []
        }
        return answer
    }
}
