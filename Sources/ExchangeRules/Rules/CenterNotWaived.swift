import ExchangeCore

/// ATT-12, GRD-12: a center with an approved waiver for the school year does not exchange attendance
/// or grades through KTS that year (its records go by the alternate process it described); records it
/// sends anyway are refused with that reason rather than half-applied. Enrollments for it: ENR-02.
public struct CenterNotWaived: RecordRule {

    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .att12 }
    public var types: Set<ExchangeType> { CenterNotWaived.judged }
    /// The types whose descriptor names a waived-center rule (computed once: `types` is asked for every record).
    static let judged = Set(ExchangeType.partnerTypes.filter { $0.descriptor?.waivedRule != nil })

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard let code = record.type.descriptor?.waivedRule, let year = record.schoolYear, record["action"] != "delete",
            context.held.isWaived(center: context.senderOrgId, schoolYear: year)
        else { return nil }
        return RuleViolation(
            code: code, field: "schoolYear",
            message: "This center has an approved waiver for school year \(year) and does not exchange records through KTS "
                + "that year. Send them by the alternate process described in the waiver.",
            noResendFixes: "the center's waiver for the school year was approved: send its records by the waiver's alternate process")
    }
}
