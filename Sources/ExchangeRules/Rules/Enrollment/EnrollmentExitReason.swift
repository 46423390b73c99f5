import ExchangeCore

/// ENR-08: an exitReason is given exactly when an exitDate is.
public struct EnrollmentExitReason: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .enr08 }
    public var types: Set<ExchangeType> { [.enrollment] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        switch (record["exitDate"].isEmpty, record["exitReason"].isEmpty) {
        case (false, true):
            violation("exitReason", "An exitDate is given without an exitReason. Say why the student left the section.")
        case (true, false):
            violation("exitDate", "An exitReason is given without an exitDate. Give the student's last day in the section.")
        default:
            nil
        }
    }
}
