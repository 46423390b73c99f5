import ExchangeCore

/// GRD-04: a FINAL grade carries its result and credits and is not marked in progress; a SEMESTER
/// grade carries its credits.
public struct FinalGradeComplete: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .grd04 }
    public var types: Set<ExchangeType> { [.grades] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["action"] != "delete" else { return nil }
        let type = record["gradeType"]
        guard type == "FINAL" || type == "SEMESTER" else { return nil }
        let required = type == "FINAL" ? ["courseAttemptResult", "creditsAttempted", "creditsEarned"] : ["creditsAttempted", "creditsEarned"]
        for field in required where record[field].isEmpty {
            return violation(field, "A \(type) grade needs \(field).")
        }
        if type == "FINAL", ["true", "1"].contains(record["currentGradeIndicator"]) {
            return violation("currentGradeIndicator", "A FINAL grade cannot be in progress; set currentGradeIndicator to false or leave it empty.")
        }
        return nil
    }
}
