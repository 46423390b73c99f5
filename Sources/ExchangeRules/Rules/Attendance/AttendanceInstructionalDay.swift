import ExchangeCore

/// ATT-03: the attendance date is inside the school year, not in the future (the center's local date),
/// and an instructional day on the center's calendar (any weekday when the center has no calendar).
public struct AttendanceInstructionalDay: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .att03 }
    public var types: Set<ExchangeType> { [.attendance] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["action"] != "delete", let date = record.date("attendanceDate"), let year = record.schoolYear else { return nil }
        let bounds = LocalDate.schoolYearBounds(year)
        if !bounds.contains(date) {
            return violation(
                "attendanceDate", "attendanceDate \(date) is outside school year \(year) (\(bounds.lowerBound) to \(bounds.upperBound)).")
        }
        if date > context.senderToday {
            return violation("attendanceDate", "attendanceDate \(date) is in the future. Send attendance on or after the day.")
        }
        if !context.reference.isInstructional(date, at: context.senderOrgId) {
            return violation(
                "attendanceDate",
                "\(date) is not an instructional day on the center's calendar. Check the date; support can correct the calendar.")
        }
        return nil
    }
}
