import ExchangeCore

/// ATT-05: tardy needs an arrival time, early release a departure time, arrival comes before departure,
/// and absent minutes fit in the section's class time.
public struct AttendanceTimesAndMinutes: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .att05 }
    public var types: Set<ExchangeType> { [.attendance] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        let status = record["attendanceStatus"]
        if status == "T", record["arrivalTime"].isEmpty {
            return violation("arrivalTime", "A tardy (T) needs the arrivalTime.")
        }
        if status == "E", record["departureTime"].isEmpty {
            return violation("departureTime", "An early release (E) needs the departureTime.")
        }
        let arrival = record["arrivalTime"].prefix(8)
        let departure = record["departureTime"].prefix(8)
        if !arrival.isEmpty, !departure.isEmpty, arrival >= departure {
            return violation("departureTime", "departureTime \(departure) is not after arrivalTime \(arrival).")
        }
        if let minutes = Int(record["absentMinutes"]), let year = record.schoolYear, !record["sectionNumber"].isEmpty {
            let key = CatalogKey(
                centerOrgId: context.senderOrgId, schoolYear: year, ktsCourseNumber: record["ktsCourseNumber"],
                sectionNumber: record["sectionNumber"])
            if let section = context.reference.catalog[key], minutes > section.minutesPerDay {
                return violation(
                    "absentMinutes",
                    "absentMinutes \(minutes) is more than the section's \(section.minutesPerDay) minutes of class a day.")
            }
        }
        return nil
    }
}
