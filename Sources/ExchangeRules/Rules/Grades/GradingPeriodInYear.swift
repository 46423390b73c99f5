import ExchangeCore

/// GRD-02: the grading period begins on or before it ends and lies inside the school year.
public struct GradingPeriodInYear: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .grd02 }
    public var types: Set<ExchangeType> { [.grades] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard let begin = record.date("gradingPeriodBeginDate"), let end = record.date("gradingPeriodEndDate"),
            let year = record.schoolYear
        else { return nil }
        if begin > end {
            return violation("gradingPeriodEndDate", "The grading period ends (\(end)) before it begins (\(begin)).")
        }
        let bounds = LocalDate.schoolYearBounds(year)
        if !bounds.contains(begin) || !bounds.contains(end) {
            return violation(
                "gradingPeriodBeginDate",
                "The grading period \(begin) to \(end) is not inside school year \(year) (\(bounds.lowerBound) to \(bounds.upperBound)).")
        }
        return nil
    }
}
