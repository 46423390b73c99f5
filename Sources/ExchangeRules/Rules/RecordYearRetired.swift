import ExchangeCore

/// ENR-09, ATT-13, GRD-14: a school year retired from the exchange (`ktsx retire`) is closed: its held
/// records were moved to the year's archive, so its enrollments, attendance and grades can no longer be
/// added, changed or withdrawn here (judged against an empty roster they would be refused for the wrong
/// reason, or held again beside the archive). Corrections to a closed year go through KTS support.
/// Decisive: a record of a retired year gets this code alone (against the retired roster, ATT-01 or
/// GRD-01 would ask for an enrollment no one can send any more).
public struct RecordYearRetired: RecordRule {

    /// Creates the rule.
    public init() {}

    /// Each type's code.
    static let codes: [ExchangeType: RuleCode] = [.enrollment: .enr09, .attendance: .att13, .grades: .grd14]

    public var code: RuleCode { .att13 }
    public var types: Set<ExchangeType> { Set(RecordYearRetired.codes.keys) }
    public var isDecisive: Bool { true }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard let code = RecordYearRetired.codes[record.type], let year = record.schoolYear, context.retiredSchoolYears.contains(year) else {
            return nil
        }
        return RuleViolation(
            code: code, field: "schoolYear",
            message: "School year \(year) is closed: its records were retired from the exchange and can no longer be added, "
                + "changed or withdrawn here. Ask KTS support how to correct a closed year.",
            noResendFixes: "the school year is closed and retired from the exchange: ask KTS support how to correct it")
    }
}
