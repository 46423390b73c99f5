import ExchangeCore

/// ATT-04: an excuse is required for absent, tardy and early release, and forbidden for present; XM
/// (exempt) goes only with absent.
public struct AttendanceExcuseMatchesStatus: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .att04 }
    public var types: Set<ExchangeType> { [.attendance] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        let status = record["attendanceStatus"]
        let excuse = record["excuseStatus"]
        if status == "P", !excuse.isEmpty {
            return violation("excuseStatus", "A present student (P) has no excuse; leave excuseStatus empty (found \(excuse)).")
        }
        if status != "P", excuse.isEmpty {
            return violation(
                "excuseStatus", "Status \(status) needs an excuseStatus: EX excused, UX unexcused or UK not known yet.")
        }
        if excuse == "XM", status != "A" {
            return violation("excuseStatus", "XM (exempt) is only for absences (A); status is \(status).")
        }
        return nil
    }
}
