import ExchangeCore

/// ENR-02: the enrollment's technical center takes part in the exchange (a configured A2 or C2
/// participant) and has no approved waiver for the school year.
public struct EnrollmentCenterTakesPart: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .enr02 }
    public var types: Set<ExchangeType> { [.enrollment] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        let center = record["techCenterOrgId"]
        // A delete only withdraws what the school sent: always possible.
        guard record["action"] != "delete" else { return nil }
        guard let participant = context.reference.participants[center] else {
            return violation(
                "techCenterOrgId",
                "techCenterOrgId \(center) does not take part in the KTS exchange. Check the center's number (district + school).")
        }
        guard participant.classification.isTechnicalCenter else {
            return violation(
                "techCenterOrgId",
                "techCenterOrgId \(center) is \(participant.name), which is not a technical center. Give the center the student attends.")
        }
        if let year = record.schoolYear, context.held.isWaived(center: center, schoolYear: year) {
            return violation(
                "techCenterOrgId",
                "\(participant.name) (\(center)) has an approved waiver for school year \(year) and does not exchange records "
                    + "through KTS that year. Ask the center how it exchanges enrollments that year.",
                noResendFixes: "the center's waiver for the school year was approved: it exchanges no records through KTS that year")
        }
        return nil
    }
}
