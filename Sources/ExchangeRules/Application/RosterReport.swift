import ExchangeCore

/// A technical center's roster on one day, by course section, as the high schools' accepted enrollments
/// stand now, with each enrolled student's attendance that day as the center sent it: a student with
/// none is marked, on an instructional day, as attendance still to send. Pure.
public struct RosterReport: Sendable, Equatable {
    /// One student enrolled in a section on the day.
    public struct Enrolled: Sendable, Equatable {
        public var ssid: String
        public var lastName: String
        public var firstName: String
        public var homeSchoolOrgId: String
        public var gradeLevel: String
        public var entryDate: String
        public var exitDate: String
        /// The attendance statuses sent for the student in this section that day (DAY attendance counts
        /// for every section), in key order; empty when none was sent.
        public var statuses: [String]
    }

    /// One course section and its students.
    public struct Section: Sendable, Equatable {
        public var course: String
        public var section: String
        /// By name, then state ID.
        public var students: [Enrolled]
        /// Students without attendance that day.
        public var missing: Int { students.filter(\.statuses.isEmpty).count }
    }

    /// The day.
    public var date: LocalDate
    /// Whether it is an instructional day at the center (else nothing is missing).
    public var instructional: Bool
    /// The sections with students that day, in course and section order.
    public var sections: [Section]

    /// Students without attendance that day, counted once per section.
    public var missing: Int { instructional ? sections.reduce(0) { $0 + $1.missing } : 0 }

    /// The roster of `center` on `date` from its enrollments (deleted ones included: left out here) and
    /// the attendance it sent for that day (any school's).
    public init(center: String, date: LocalDate, instructional: Bool, enrollments: [HeldRecord], attendance: [HeldRecord]) {
        self.date = date
        self.instructional = instructional
        let day = date.description
        let sent = attendance.filter { $0.type == .attendance && !$0.deleted && $0["techCenterOrgId"] == center && $0["attendanceDate"] == day }
            .sorted { $0.naturalKey < $1.naturalKey }
        let enrolled = enrollments.filter { record in
            record.type == .enrollment && !record.deleted && record["techCenterOrgId"] == center && record["entryDate"] <= day
                && (record["exitDate"].isEmpty || record["exitDate"] >= day)
        }
        sections = Dictionary(grouping: enrolled) { "\($0["ktsCourseNumber"])|\($0["sectionNumber"])" }.map { _, records in
            let (course, section) = (records[0]["ktsCourseNumber"], records[0]["sectionNumber"])
            let students = records.map { record in
                let ssid = record["ssid"]
                let statuses = sent.filter { entry in
                    entry["ssid"] == ssid
                        && (entry["granularity"] != "PERIOD" || (entry["ktsCourseNumber"] == course && entry["sectionNumber"] == section))
                }.map { $0["attendanceStatus"] }
                return Enrolled(
                    ssid: ssid, lastName: record["lastName"], firstName: record["firstName"], homeSchoolOrgId: record["homeSchoolOrgId"],
                    gradeLevel: record["gradeLevel"], entryDate: record["entryDate"], exitDate: record["exitDate"], statuses: statuses)
            }.sorted { ($0.lastName, $0.firstName, $0.ssid) < ($1.lastName, $1.firstName, $1.ssid) }
            return Section(course: course, section: section, students: students)
        }.sorted { ($0.course, $0.section) < ($1.course, $1.section) }
    }
}
