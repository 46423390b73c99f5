import ExchangeCore

/// Finds the enrollment an attendance or grade record belongs to.
enum EnrollmentLookup {
    /// The student's active enrollments at `center` (in `course`/`section` when given) whose dates
    /// overlap `dates`.
    static func covering(
        _ record: RecordFacts, center: String, dates: ClosedRange<LocalDate>, context: RuleContext
    ) -> [HeldRecord] {
        let course = record["ktsCourseNumber"]
        let section = record["sectionNumber"]
        return context.held.enrollments(ssid: record["ssid"], center: center).filter { enrollment in
            guard !enrollment.deleted, let entry = LocalDate(enrollment["entryDate"]) else { return false }
            let exit = LocalDate(enrollment["exitDate"]) ?? LocalDate(dayNumber: .max / 2)
            if !course.isEmpty, enrollment["ktsCourseNumber"] != course { return false }
            if !section.isEmpty, enrollment["sectionNumber"] != section { return false }
            return entry <= dates.upperBound && dates.lowerBound <= exit
        }
    }

    /// The message for a `delete` whose `homeSchoolOrgId` is not the high school that received the record on
    /// file (its receiver): the delete goes where the record went, whatever the student's enrollment says now
    /// (the student may have moved since). Nil when it names that school, or nothing is on file (ATT-07,
    /// GRD-11 say so).
    static func deleteReceiverMismatch(_ record: RecordFacts, context: RuleContext, what: String) -> String? {
        guard let held = context.held.record(record.type, key: record.naturalKey), !held.deleted,
            held.recipientOrgId != record["homeSchoolOrgId"]
        else { return nil }
        return "homeSchoolOrgId \(record["homeSchoolOrgId"]) is not the high school that received the \(what) on file "
            + "(\(held.recipientOrgId)). A delete names the school that received the record; \(what) are never re-routed."
    }

    /// The message for a record whose `homeSchoolOrgId` is not the home high school of the enrollments
    /// covering `dates`; nil when it is (or when there is no such enrollment, a rule of its own).
    static func homeSchoolMismatch(_ record: RecordFacts, dates: ClosedRange<LocalDate>, context: RuleContext, what: String) -> String? {
        let homeSchools = Set(covering(record, center: context.senderOrgId, dates: dates, context: context).map { $0["homeSchoolOrgId"] })
        guard !homeSchools.isEmpty, !homeSchools.contains(record["homeSchoolOrgId"]) else { return nil }
        return "homeSchoolOrgId \(record["homeSchoolOrgId"]) is not the student's home high school on the enrollment "
            + "(\(homeSchools.sorted().joined(separator: ", "))). Correct it; \(what) are never re-routed."
    }
}

/// ATT-01: the student is enrolled at the sending center on the attendance date (in the section, for
/// PERIOD attendance).
public struct AttendanceStudentEnrolled: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .att01 }
    public var types: Set<ExchangeType> { [.attendance] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["action"] != "delete", let date = record.date("attendanceDate") else { return nil }
        guard EnrollmentLookup.covering(record, center: context.senderOrgId, dates: date...date, context: context).isEmpty else {
            return nil
        }
        let section = record["sectionNumber"].isEmpty ? "" : " in course \(record["ktsCourseNumber"]) section \(record["sectionNumber"])"
        return violation(
            "ssid",
            "The student has no enrollment at this center\(section) on \(date). Ask the home high school to send the "
                + "enrollment, or check the student ID and date.")
    }
}

/// ATT-02: the record's home high school is the one on the student's enrollment, and a delete's is the
/// school that received the attendance on file (a mismatch is rejected, never re-routed).
public struct AttendanceHomeSchoolMatches: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .att02 }
    public var types: Set<ExchangeType> { [.attendance] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        if record["action"] == "delete" {
            return EnrollmentLookup.deleteReceiverMismatch(record, context: context, what: "attendance").map { violation("homeSchoolOrgId", $0) }
        }
        guard let date = record.date("attendanceDate"),
            let message = EnrollmentLookup.homeSchoolMismatch(record, dates: date...date, context: context, what: "records")
        else { return nil }
        return violation("homeSchoolOrgId", message)
    }
}
