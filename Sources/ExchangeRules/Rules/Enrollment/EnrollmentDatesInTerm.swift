import ExchangeCore

/// ENR-04: entryDate is on or before exitDate, and both fall inside the school year and inside the
/// section's term.
public struct EnrollmentDatesInTerm: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .enr04 }
    public var types: Set<ExchangeType> { [.enrollment] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["action"] != "delete", let year = record.schoolYear, let entry = record.date("entryDate") else { return nil }
        let exit = record.date("exitDate")
        if let exit, exit < entry {
            return violation("exitDate", "exitDate \(exit) is before entryDate \(entry). The exit date is the last day in the section.")
        }
        let bounds = LocalDate.schoolYearBounds(year)
        for (field, date) in [("entryDate", entry), ("exitDate", exit)] {
            guard let date else { continue }
            if !bounds.contains(date) {
                return violation(
                    field, "\(field) \(date) is outside school year \(year) (\(bounds.lowerBound) to \(bounds.upperBound)).")
            }
        }
        let key = CatalogKey(
            centerOrgId: record["techCenterOrgId"], schoolYear: year, ktsCourseNumber: record["ktsCourseNumber"],
            sectionNumber: record["sectionNumber"])
        if let term = context.reference.catalog[key]?.termDates {
            if !term.contains(entry) {
                return violation(
                    "entryDate", "entryDate \(entry) is outside the section's term (\(term.lowerBound) to \(term.upperBound)).")
            }
            if let exit, !term.contains(exit) {
                return violation(
                    "exitDate", "exitDate \(exit) is outside the section's term (\(term.lowerBound) to \(term.upperBound)).")
            }
        }
        return nil
    }
}
