import ExchangeCore

/// WVR-05: the superintendent approved the request on or before it was submitted, and a reason code of
/// OTHER is explained.
public struct WaiverApproved: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .wvr05 }
    public var types: Set<ExchangeType> { [.waiver] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["action"] != "withdraw" else { return nil }
        if !["true", "1"].contains(record["superintendentApproval"]) {
            return violation(
                "superintendentApproval", "The district superintendent must approve a waiver request; superintendentApproval must be true.")
        }
        if let approval = record.date("approvalDate"), let submitted = LocalDate(String(record["submittedDateTime"].prefix(10))),
            approval > submitted
        {
            return violation("approvalDate", "approvalDate \(approval) is after the request was submitted (\(submitted)).")
        }
        if record["reasonCode"] == "OTHER", record["reasonText"].isEmpty {
            return violation("reasonText", "reasonCode OTHER needs a reasonText explaining why.")
        }
        return nil
    }
}
