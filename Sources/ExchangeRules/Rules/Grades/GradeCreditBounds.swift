import ExchangeCore

/// GRD-05: 0 ≤ creditsEarned ≤ creditsAttempted ≤ the configured maximum; FAIL and WITHDRAWN earn no
/// credit; PASS earns some unless noCredit is set; noCredit earns none.
public struct GradeCreditBounds: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .grd05 }
    public var types: Set<ExchangeType> { [.grades] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["action"] != "delete" else { return nil }
        let attempted = record.number("creditsAttempted")
        let earned = record.number("creditsEarned")
        let maximum = context.reference.policy.maxCredits
        if let attempted, attempted > maximum {
            return violation("creditsAttempted", "creditsAttempted \(record["creditsAttempted"]) is above the most one course gives (\(GradeOnScale.text(maximum))).")
        }
        if let attempted, let earned, earned > attempted {
            return violation("creditsEarned", "creditsEarned is more than creditsAttempted.")
        }
        let noCredit = ["true", "1"].contains(record["noCredit"])
        let result = record["courseAttemptResult"]
        if let earned, earned > 0, result == "FAIL" || result == "WITHDRAWN" || noCredit {
            // The student's result is not repeated: the message names the rule.
            return violation(
                "creditsEarned", "creditsEarned must be 0 for this record: FAIL and WITHDRAWN results, and noCredit true, earn no credit.")
        }
        if let earned, earned == 0, result == "PASS", !noCredit {
            return violation("creditsEarned", "creditsEarned is 0, but this record's result earns credit: give the credits, or set noCredit to true.")
        }
        return nil
    }
}
