import ExchangeCore

/// A high school's attendance at the technical centers over a date range, as the centers' accepted
/// records stand now: one entry per record held (a record a center updated appears in its latest
/// version, a deleted one not at all), each absence with an unknown excuse (UK) marked as unknown, and
/// one the school was sent as unknown (in an unknown-attendance sync) that the center has since excused
/// or not marked resolved. Grouped per student and per course section. Pure.
public struct AttendanceReport: Sendable, Equatable {
    /// Where an absence stands with its unknown excuse.
    public enum Unknown: String, Sendable {
        /// Not an unknown absence.
        case none = ""
        /// An absence whose excuse is unknown (UK) today.
        case open = "unknown"
        /// Sent to the school as unknown, and since given another excuse or status by the center.
        case resolved = "resolved"
    }

    /// One attendance record.
    public struct Entry: Sendable, Equatable {
        /// Its natural key.
        public var key: String
        /// The day, `YYYY-MM-DD`.
        public var date: String
        /// The student's state ID.
        public var ssid: String
        /// The technical center.
        public var centerOrgId: String
        /// Course and section (empty for DAY attendance that names none).
        public var course: String
        public var section: String
        /// DAY or PERIOD, and the period.
        public var granularity: String
        public var period: String
        /// P, A, T or E, and EX, UX, UK or XM.
        public var status: String
        public var excuse: String
        /// Minutes absent, arrival and departure, as sent.
        public var absentMinutes: String
        public var arrivalTime: String
        public var departureTime: String
        /// When the center entered it.
        public var recordedDateTime: String
        /// Where it stands with an unknown excuse.
        public var unknown: Unknown
    }

    /// A student as the school's own roster names them.
    public struct Student: Sendable, Equatable {
        public var ssid: String
        public var lastName: String
        public var firstName: String
        public var localStudentNumber: String
    }

    /// The entries, by date, center, student and key.
    public var entries: [Entry]
    /// The students the entries name, by `ssid|center`: from the enrollment the school holds of the
    /// student at that center (its own, withdrawn or not). A student the school holds no enrollment of
    /// there (another school took them over, say) is shown by state ID alone.
    public var students: [String: Student]

    /// The report from the school's held attendance (deleted records included: they are left out here),
    /// its own enrollments (for names), and the keys of the attendance it was sent as unknown.
    public init(attendance: [HeldRecord], ownEnrollments: [HeldRecord], reportedUnknown: Set<String>) {
        entries = attendance.filter { $0.type == .attendance && !$0.deleted }.map { record in
            let excuse = record["excuseStatus"], status = record["attendanceStatus"]
            let unknown: Unknown =
                excuse == "UK" && status != "P" ? .open : reportedUnknown.contains(record.naturalKey) ? .resolved : .none
            return Entry(
                key: record.naturalKey, date: record["attendanceDate"], ssid: record["ssid"], centerOrgId: record["techCenterOrgId"],
                course: record["ktsCourseNumber"], section: record["sectionNumber"], granularity: record["granularity"], period: record["periodCode"],
                status: status, excuse: excuse, absentMinutes: record["absentMinutes"], arrivalTime: record["arrivalTime"],
                departureTime: record["departureTime"], recordedDateTime: record["recordedDateTime"], unknown: unknown)
        }.sorted { ($0.date, $0.centerOrgId, $0.ssid, $0.key) < ($1.date, $1.centerOrgId, $1.ssid, $1.key) }
        var students: [String: Student] = [:]
        let ordered = ownEnrollments.filter { $0.type == .enrollment }.sorted {
            ($0.acceptedAt.secondsSinceEpoch, $0.naturalKey) < ($1.acceptedAt.secondsSinceEpoch, $1.naturalKey)
        }
        for enrollment in ordered {
            // The enrollment accepted last names the student (a name corrected later wins; of one second, the
            // last by key).
            let ssid = enrollment["ssid"]
            students["\(ssid)|\(enrollment["techCenterOrgId"])"] = Student(
                ssid: ssid, lastName: enrollment["lastName"], firstName: enrollment["firstName"], localStudentNumber: enrollment["localStudentNumber"])
        }
        let named = Set(entries.map { "\($0.ssid)|\($0.centerOrgId)" })
        self.students = students.filter { named.contains($0.key) }
    }

    /// The student of an entry, named when the school holds their enrollment at the entry's center.
    public func student(of entry: Entry) -> Student {
        students["\(entry.ssid)|\(entry.centerOrgId)"] ?? Student(ssid: entry.ssid, lastName: "", firstName: "", localStudentNumber: "")
    }

    /// Counts of a group of entries.
    public struct Totals: Sendable, Equatable {
        public var present = 0, absent = 0, tardy = 0, earlyDeparture = 0, unknown = 0, resolved = 0
        /// The counts of `entries`.
        public init(_ entries: [Entry]) {
            for entry in entries {
                switch entry.status {
                case "P": present += 1
                case "A": absent += 1
                case "T": tardy += 1
                case "E": earlyDeparture += 1
                default: break
                }
                if entry.unknown == .open { unknown += 1 }
                if entry.unknown == .resolved { resolved += 1 }
            }
        }
    }

    /// The counts of every entry.
    public var totals: Totals { Totals(entries) }

    /// The entries per student, students by name (then state ID), each named as at the first center that
    /// names them.
    public var byStudent: [(student: Student, entries: [Entry], totals: Totals)] {
        Dictionary(grouping: entries, by: \.ssid).map { ssid, entries in
            let named = entries.map(student(of:)).first { !$0.lastName.isEmpty || !$0.firstName.isEmpty }
            return (named ?? student(of: entries[0]), entries, Totals(entries))
        }
            .sorted { ($0.student.lastName, $0.student.firstName, $0.student.ssid) < ($1.student.lastName, $1.student.firstName, $1.student.ssid) }
    }

    /// The entries per course section at each center (DAY attendance without a section under its center
    /// alone), in center, course and section order.
    public var bySection: [(centerOrgId: String, course: String, section: String, entries: [Entry], totals: Totals)] {
        Dictionary(grouping: entries) { "\($0.centerOrgId)|\($0.course)|\($0.section)" }.map { _, entries in
            let first = entries[0]
            return (first.centerOrgId, first.course, first.section, entries, Totals(entries))
        }.sorted { ($0.centerOrgId, $0.course, $0.section) < ($1.centerOrgId, $1.course, $1.section) }
    }

    /// The CSV export's header.
    public static let csvColumns = [
        "attendanceDate", "ssid", "localStudentNumber", "lastName", "firstName", "techCenterOrgId", "ktsCourseNumber", "sectionNumber",
        "granularity", "periodCode", "attendanceStatus", "excuseStatus", "unknownExcuse", "absentMinutes", "arrivalTime", "departureTime",
        "recordedDateTime",
    ]

    /// The entries as CSV (RFC 4180, CRLF), one row per entry in the report's order. A value a spreadsheet
    /// would take for a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is written
    /// with a leading `'`.
    public func csv() -> String {
        var out = AttendanceReport.csvColumns.joined(separator: ",") + "\r\n"
        for entry in entries {
            let student = student(of: entry)
            let cells = [
                entry.date, entry.ssid, student.localStudentNumber, student.lastName, student.firstName, entry.centerOrgId, entry.course,
                entry.section, entry.granularity, entry.period, entry.status, entry.excuse, entry.unknown.rawValue, entry.absentMinutes,
                entry.arrivalTime, entry.departureTime, entry.recordedDateTime,
            ]
            out += cells.map(AttendanceReport.csvCell).joined(separator: ",") + "\r\n"
        }
        return out
    }

    /// One CSV cell: quoted when it holds a comma, quote or line break; a formula's first character defused.
    static func csvCell(_ value: String) -> String {
        var value = value
        if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + String(value.flatMap { $0 == "\"" ? ["\"", "\""] : [$0] }) + "\""
    }
}
