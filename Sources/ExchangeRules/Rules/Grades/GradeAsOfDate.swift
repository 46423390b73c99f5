import ExchangeCore

/// GRD-06: the grade's asOfDate is not in the future (the center's local date) and not before the
/// grading period begins.
public struct GradeAsOfDate: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .grd06 }
    public var types: Set<ExchangeType> { [.grades] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["action"] != "delete", let asOf = record.date("asOfDate") else { return nil }
        if asOf > context.senderToday {
            return violation("asOfDate", "asOfDate \(asOf) is in the future.")
        }
        if let begin = record.date("gradingPeriodBeginDate"), asOf < begin {
            return violation("asOfDate", "asOfDate \(asOf) is before the grading period begins (\(begin)).")
        }
        return nil
    }
}
