import ExchangeCore

/// ATT-11: PERIOD attendance names its course, section and period.
public struct AttendancePeriodFields: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .att11 }
    public var types: Set<ExchangeType> { [.attendance] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["granularity"] == "PERIOD" else { return nil }
        for field in ["ktsCourseNumber", "sectionNumber", "periodCode"] where record[field].isEmpty {
            return violation(field, "PERIOD attendance needs \(field). Give it, or send the day's attendance with granularity DAY.")
        }
        return nil
    }
}
