import ExchangeCore

/// What a rule knows besides the record: who sent the file and when, the reference data, and the
/// records held before (the roster, attendance, grades, waivers).
public struct RuleContext: Sendable {
    /// The sender: the folder the file was dropped in.
    public var senderOrgId: String
    /// Participants, catalog, codes, scales, mappings, calendars and the schedule.
    public var reference: ReferenceData
    /// Records accepted before this one.
    public var held: any HeldRecords
    /// When the file was received.
    public var receivedAt: Timestamp
    /// School years retired from the ledger (or being retired): their records are refused.
    public var retiredSchoolYears: Set<Int>

    /// Creates a context.
    public init(
        senderOrgId: String, reference: ReferenceData, held: any HeldRecords, receivedAt: Timestamp, retiredSchoolYears: Set<Int> = []
    ) {
        self.senderOrgId = senderOrgId
        self.reference = reference
        self.held = held
        self.receivedAt = receivedAt
        self.retiredSchoolYears = retiredSchoolYears
    }

    /// The sender's local date when the file was received ("today" for rules about the future).
    public var senderToday: LocalDate { reference.zone(of: senderOrgId).local(receivedAt).date }

    /// The sender, when it is a configured participant.
    public var sender: Participant? { reference.participants[senderOrgId] }
}

/// A record that breaks a rule: the rule's code (what partners see in the error file), the field and a
/// message a clerk can act on. Messages never carry student data.
public struct RuleViolation: Sendable, Equatable {
    /// The rule's code, e.g. `ENR-01`.
    public var code: RuleCode
    /// The field at fault.
    public var field: String?
    /// What is wrong and what to do.
    public var message: String
    /// Why no corrected resend can fix it, when none can (an ATC's waiver request, a waived center's
    /// records, a closed year): the acknowledgement says so instead of "fix and send again".
    public var noResendFixes: String?

    /// Creates a violation.
    public init(code: RuleCode, field: String?, message: String, noResendFixes: String? = nil) {
        self.code = code
        self.field = field
        self.message = message
        self.noResendFixes = noResendFixes
    }
}

/// A named rule: a small pure function of one record and the context. Adding a rule is one file and
/// one test.
public protocol RecordRule: Sendable {
    /// The rule's code (ENR-01, ATT-04, ...), as partners see it in error files.
    var code: RuleCode { get }
    /// The types the rule judges.
    var types: Set<ExchangeType> { get }
    /// The violation, if the record breaks the rule.
    func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation?
    /// Whether the rule's objection is the record's only one: the other rules' answers would rest on
    /// what no longer applies (a retired year's roster is gone), so listing them would send a clerk to fix
    /// what cannot be fixed.
    var isDecisive: Bool { get }
}

extension RecordRule {
    /// Most rules are judged beside the others.
    public var isDecisive: Bool { false }

    /// A violation of this rule.
    func violation(_ field: String?, _ message: String, noResendFixes: String? = nil) -> RuleViolation {
        RuleViolation(code: code, field: field, message: message, noResendFixes: noResendFixes)
    }
}

/// The rules the exchange applies to every record that passed the schema.
public struct RuleBook: Sendable {
    /// The rules, in the order their violations are listed.
    public var rules: [any RecordRule]

    /// A rule book with the given rules.
    public init(rules: [any RecordRule]) {
        self.rules = rules
    }

    /// The rules in force.
    public static let standard = RuleBook(rules: [
        // Decisive, in this order: a retired year's record can be corrected by no one, another
        // organisation's record only from that organisation.
        RecordYearRetired(), SenderMatchesRecord(),
        // Enrollment
        EnrollmentCenterTakesPart(), EnrollmentSectionInCatalog(), EnrollmentDatesInTerm(), EnrollmentExitReason(),
        // Attendance
        AttendancePeriodFields(), AttendanceStudentEnrolled(), AttendanceHomeSchoolMatches(), AttendanceInstructionalDay(),
        AttendanceExcuseMatchesStatus(), AttendanceTimesAndMinutes(), AttendanceLocalCodeMapped(), AttendanceNotStale(),
        // Grades
        GradeStudentEnrolled(), GradeHomeSchoolMatches(), GradingPeriodInYear(), GradeOnScale(), FinalGradeComplete(), GradeCreditBounds(),
        GradeAsOfDate(),
        // Every type with a natural key, centers with an approved waiver
        KeyMustBeHeld(), CenterNotWaived(),
        // Waivers
        WaiverFromCTC(), WaiverInsideWindow(), WaiverForNextYear(), WaiverOnePerYear(), WaiverApproved(),
    ])

    /// Every violation of `record`; only the first decisive rule's when a decisive rule objects.
    public func judge(_ record: RecordFacts, context: RuleContext) -> [RuleViolation] {
        let applicable = rules.filter { $0.types.contains(record.type) }
        for rule in applicable where rule.isDecisive {
            if let violation = rule.check(record, context: context) { return [violation] }
        }
        return applicable.compactMap { $0.isDecisive ? nil : $0.check(record, context: context) }
    }
}

extension RecordFacts {
    /// A field's value, or "" when the record has none.
    public subscript(_ field: String) -> String { values[field] ?? "" }

    /// The record's school year (its descriptor's `yearField`: the waiver's year for a waiver).
    public var schoolYear: Int? { type.descriptor.flatMap { values[$0.yearField] }.flatMap { Int($0) } }

    /// A date field.
    public func date(_ field: String) -> LocalDate? { values[field].flatMap(LocalDate.init) }

    /// A number field.
    public func number(_ field: String) -> Double? { values[field].flatMap(Double.init) }

    /// The natural key.
    public var naturalKey: String { NaturalKey.of(type, values) }
}
