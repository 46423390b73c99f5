import ExchangeCore

/// GRD-13: the grade's home high school is the one on the student's enrollment in the section (the
/// nightly posting sends it there), and a delete's is the school that received the grade on file (a
/// mismatch is rejected, never re-routed).
public struct GradeHomeSchoolMatches: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .grd13 }
    public var types: Set<ExchangeType> { [.grades] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        if record["action"] == "delete" {
            return EnrollmentLookup.deleteReceiverMismatch(record, context: context, what: "grade").map { violation("homeSchoolOrgId", $0) }
        }
        guard let begin = record.date("gradingPeriodBeginDate"),
            let end = record.date("gradingPeriodEndDate"), begin <= end,
            let message = EnrollmentLookup.homeSchoolMismatch(record, dates: begin...end, context: context, what: "grades")
        else { return nil }
        return violation("homeSchoolOrgId", message)
    }
}
