import ExchangeCore

/// ENR-03: the course and section are in the center's KTS course catalog for the school year, and the
/// state course code and term agree with the catalog.
public struct EnrollmentSectionInCatalog: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .enr03 }
    public var types: Set<ExchangeType> { [.enrollment] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["action"] != "delete", let year = record.schoolYear else { return nil }
        let center = record["techCenterOrgId"]
        let course = record["ktsCourseNumber"]
        let sectionNumber = record["sectionNumber"]
        let key = CatalogKey(centerOrgId: center, schoolYear: year, ktsCourseNumber: course, sectionNumber: sectionNumber)
        guard let section = context.reference.catalog[key] else {
            return violation(
                "sectionNumber",
                "Course \(course) section \(sectionNumber) is not in the \(year) KTS course catalog of center \(center). "
                    + "Check the course and section numbers with the center.")
        }
        if record["stateCourseCode"] != section.stateCourseCode {
            return violation(
                "stateCourseCode",
                "stateCourseCode \(record["stateCourseCode"]) does not match the catalog, which gives \(section.stateCourseCode) "
                    + "for course \(course) section \(sectionNumber). Use \(section.stateCourseCode).")
        }
        if record["termCode"] != section.termCode {
            return violation(
                "termCode",
                "termCode \(record["termCode"]) does not match the catalog, which gives \(section.termCode) for course \(course) "
                    + "section \(sectionNumber).")
        }
        return nil
    }
}
