import ExchangeCore

/// GRD-01: the student has an enrollment at the center in the course and section whose dates overlap
/// the grading period.
public struct GradeStudentEnrolled: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .grd01 }
    public var types: Set<ExchangeType> { [.grades] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["action"] != "delete", let begin = record.date("gradingPeriodBeginDate"),
            let end = record.date("gradingPeriodEndDate"), begin <= end
        else { return nil }
        guard EnrollmentLookup.covering(record, center: context.senderOrgId, dates: begin...end, context: context).isEmpty else {
            return nil
        }
        return violation(
            "ssid",
            "The student has no enrollment at this center in course \(record["ktsCourseNumber"]) section "
                + "\(record["sectionNumber"]) during the grading period \(begin) to \(end). Check the student ID, course and section.")
    }
}
