import ExchangeCore

/// WVR-03: a waiver covers the next school year: the one starting the July after the request.
public struct WaiverForNextYear: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .wvr03 }
    public var types: Set<ExchangeType> { [.waiver] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        let today = context.reference.policy.timeZone.local(context.receivedAt).date
        let next = today.schoolYear + 1
        guard let year = record.schoolYear, year != next else { return nil }
        return violation(
            "waiverSchoolYear",
            "A waiver requested now covers school year \(next) (July \(next - 1) to June \(next)); waiverSchoolYear is \(year).")
    }
}
