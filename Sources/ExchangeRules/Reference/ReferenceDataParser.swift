import ExchangeCore

/// Reads the reference files of the configuration directory and checks them against each other. Every
/// problem is reported with its file, line and reason; nothing half-checked is returned.
///
/// | file | columns |
/// |---|---|
/// | `catalog.csv` | centerOrgId, schoolYear, ktsCourseNumber, sectionNumber, stateCourseCode, courseTitle, termCode, termBeginDate, termEndDate, credits, minutesPerDay |
/// | `attendance-codes.csv` | centerOrgId, localCode, attendanceStatus, excuseStatus, description |
/// | `grading-scales.csv` | scaleCode, letter, minimum, maximum, passing |
/// | `course-mappings.csv` | centerOrgId, ktsCourseNumber, homeSchoolOrgId, homeCourseNumber, homeCourseTitle, homeGradingScaleCode |
/// | `calendars.csv` | orgId, schoolYear, kind, firstDate, lastDate, note |
/// | `schedule.conf` | `key = value` lines |
///
/// Each file is optional: a missing one is an empty table (and `schedule.conf` the defaults).
public enum ReferenceDataParser {
    /// The reference files, in the order they are read.
    public static let files = [
        "catalog.csv", "attendance-codes.csv", "grading-scales.csv", "course-mappings.csv", "calendars.csv", "schedule.conf",
    ]

    static let catalogColumns = [
        "centerOrgId", "schoolYear", "ktsCourseNumber", "sectionNumber", "stateCourseCode", "courseTitle", "termCode",
        "termBeginDate", "termEndDate", "credits", "minutesPerDay",
    ]
    static let codeColumns = ["centerOrgId", "localCode", "attendanceStatus", "excuseStatus", "description"]
    static let scaleColumns = ["scaleCode", "letter", "minimum", "maximum", "passing"]
    static let mappingColumns = [
        "centerOrgId", "ktsCourseNumber", "homeSchoolOrgId", "homeCourseNumber", "homeCourseTitle", "homeGradingScaleCode",
    ]
    static let calendarColumns = ["orgId", "schoolYear", "kind", "firstDate", "lastDate", "note"]
    static let scheduleKeys = [
        "time_zone", "grade_posting_time", "unknown_sync_time", "daily_summary_time", "catch_up_days", "waiver_window",
        "max_credits", "pickup_threshold_hours", "quiet_days",
    ]
    static let termCodes: Set<String> = ["FY", "S1", "S2", "Q1", "Q2", "Q3", "Q4", "T1", "T2", "T3", "SU"]

    /// Builds the reference data from the participants and the files' bytes (by file name; absent files
    /// are empty).
    /// - Throws: `ConfigurationErrors` naming every problem.
    public static func parse(participants: [Participant], files: [String: [UInt8]]) throws(ConfigurationErrors) -> ReferenceData {
        var errors: [ConfigurationError] = []
        let byOrg = Dictionary(participants.map { ($0.orgId, $0) }, uniquingKeysWith: { first, _ in first })
        var check = Checker(participants: byOrg)

        let scales = gradingScales(files["grading-scales.csv"], check: &check)
        let catalog = catalogSections(files["catalog.csv"], check: &check)
        let codes = attendanceCodes(files["attendance-codes.csv"], check: &check)
        let mappings = courseMappings(files["course-mappings.csv"], scales: scales, check: &check)
        let calendars = calendars(files["calendars.csv"], check: &check)
        var policy = ExchangePolicy()
        if let bytes = files["schedule.conf"] {
            policy = schedule(String(decoding: bytes, as: UTF8.self), check: &check)
        }
        errors = check.errors
        guard errors.isEmpty else { throw ConfigurationErrors(errors) }
        return ReferenceData(
            participants: participants, catalog: catalog, attendanceCodes: codes, gradingScales: scales, courseMappings: mappings,
            calendars: calendars, policy: policy)
    }

    /// Collects problems and checks common cell kinds.
    struct Checker {
        let participants: [String: Participant]
        var errors: [ConfigurationError] = []
        var file = ""
        var line = 0

        mutating func fail(_ reason: String) { errors.append(ConfigurationError(file: file, line: line, reason: reason)) }

        mutating func table(_ bytes: [UInt8]?, _ name: String, _ columns: [String]) -> [ConfigurationTable.Row] {
            file = name
            guard let bytes else { return [] }
            return ConfigurationTable(bytes: bytes, file: name, columns: columns, errors: &errors).rows
        }

        mutating func center(_ row: ConfigurationTable.Row, _ column: String) -> String? {
            let orgId = row[column]
            guard let participant = participants[orgId] else {
                fail("\(column) '\(orgId)' is not in participants.csv")
                return nil
            }
            guard participant.classification.isTechnicalCenter else {
                fail("\(column) \(orgId) is \(participant.classification.rawValue), not a technical center (A2 or C2)")
                return nil
            }
            return orgId
        }

        mutating func year(_ row: ConfigurationTable.Row) -> Int? {
            guard let year = Int(row["schoolYear"]), (2000...2099).contains(year) else {
                fail("schoolYear '\(row["schoolYear"])' must be a year from 2000 to 2099 (the year the school year ends)")
                return nil
            }
            return year
        }

        mutating func date(_ row: ConfigurationTable.Row, _ column: String) -> LocalDate? {
            guard let date = LocalDate(row[column]) else {
                fail("\(column) '\(row[column])' is not a date YYYY-MM-DD")
                return nil
            }
            return date
        }

        mutating func pattern(_ row: ConfigurationTable.Row, _ column: String, _ allowed: (UInt8) -> Bool, length: ClosedRange<Int>, what: String) -> String? {
            let value = row[column]
            guard length.contains(value.utf8.count), value.utf8.allSatisfy(allowed) else {
                fail("\(column) '\(value)' must be \(what)")
                return nil
            }
            return value
        }

        mutating func boolean(_ row: ConfigurationTable.Row, _ column: String) -> Bool? {
            switch row[column] {
            case "true": return true
            case "false": return false
            default:
                fail("\(column) '\(row[column])' must be true or false")
                return nil
            }
        }

        mutating func number(_ row: ConfigurationTable.Row, _ column: String, in range: ClosedRange<Double>) -> Double? {
            guard let value = Double(row[column]), value.isFinite, range.contains(value) else {
                fail("\(column) '\(row[column])' must be a number from \(ReferenceDataParser.format(range.lowerBound)) to \(ReferenceDataParser.format(range.upperBound))")
                return nil
            }
            return value
        }

        mutating func once<Key: Hashable>(_ key: Key, in seen: inout [Key: Int], _ what: String) -> Bool {
            if let first = seen[key] {
                fail("\(what) is listed twice (first on line \(first))")
                return false
            }
            seen[key] = line
            return true
        }
    }

    static func isUpperAlnum(_ byte: UInt8) -> Bool { (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) }
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    // MARK: Files

    static func catalogSections(_ bytes: [UInt8]?, check: inout Checker) -> [CatalogSection] {
        var sections: [CatalogSection] = []
        var seen: [CatalogKey: Int] = [:]
        for row in check.table(bytes, "catalog.csv", catalogColumns) {
            check.line = row.line
            let errorsBefore = check.errors.count
            let center = check.center(row, "centerOrgId")
            let year = check.year(row)
            let course = check.pattern(row, "ktsCourseNumber", isUpperAlnum, length: 1...20, what: "1 to 20 capital letters or digits")
            let section = check.pattern(
                row, "sectionNumber", { isUpperAlnum($0) || $0 == 0x2D }, length: 1...10, what: "1 to 10 capital letters, digits or '-'")
            let stateCode = check.pattern(row, "stateCourseCode", isDigit, length: 6...6, what: "a 6-digit state course code")
            if row["courseTitle"].isEmpty || row["courseTitle"].count > 60 { check.fail("courseTitle must be 1 to 60 characters") }
            if !termCodes.contains(row["termCode"]) {
                check.fail("termCode '\(row["termCode"])' must be one of \(termCodes.sorted().joined(separator: ", "))")
            }
            let begin = check.date(row, "termBeginDate")
            let end = check.date(row, "termEndDate")
            let credits = check.number(row, "credits", in: 0...10)
            let minutes = Int(row["minutesPerDay"]).flatMap { (1...1440).contains($0) ? $0 : nil }
            if minutes == nil { check.fail("minutesPerDay '\(row["minutesPerDay"])' must be a whole number of minutes from 1 to 1440") }
            if let begin, let end, let year {
                let bounds = LocalDate.schoolYearBounds(year)
                if begin > end {
                    check.fail("termBeginDate \(begin) is after termEndDate \(end)")
                } else if !bounds.contains(begin) || !bounds.contains(end) {
                    check.fail("the term \(begin) to \(end) is not inside school year \(year) (\(bounds.lowerBound) to \(bounds.upperBound))")
                }
            }
            guard check.errors.count == errorsBefore, let center, let year, let course, let section, let stateCode, let begin,
                let end, let credits, let minutes
            else { continue }
            let key = CatalogKey(centerOrgId: center, schoolYear: year, ktsCourseNumber: course, sectionNumber: section)
            guard check.once(key, in: &seen, "section \(course)-\(section) of \(center) for \(year)") else { continue }
            sections.append(
                CatalogSection(
                    centerOrgId: center, schoolYear: year, ktsCourseNumber: course, sectionNumber: section, stateCourseCode: stateCode,
                    courseTitle: row["courseTitle"], termCode: row["termCode"], termDates: begin...end, credits: credits,
                    minutesPerDay: minutes))
        }
        return sections
    }

    static func attendanceCodes(_ bytes: [UInt8]?, check: inout Checker) -> [String: [String: AttendanceCodeMeaning]] {
        var codes: [String: [String: AttendanceCodeMeaning]] = [:]
        var seen: [String: Int] = [:]
        for row in check.table(bytes, "attendance-codes.csv", codeColumns) {
            check.line = row.line
            let errorsBefore = check.errors.count
            let center = check.center(row, "centerOrgId")
            let code = row["localCode"]
            if code.isEmpty || code.count > 10 { check.fail("localCode '\(code)' must be 1 to 10 characters") }
            let status = row["attendanceStatus"]
            let excuse = row["excuseStatus"]
            if !["P", "A", "T", "E"].contains(status) {
                check.fail("attendanceStatus '\(status)' must be P, A, T or E")
            } else if status == "P", !excuse.isEmpty {
                check.fail("excuseStatus must be empty for P (present); found '\(excuse)'")
            } else if status != "P", !["EX", "UX", "UK", "XM"].contains(excuse) {
                check.fail("excuseStatus '\(excuse)' must be EX, UX, UK or XM for \(status)")
            } else if excuse == "XM", status != "A" {
                check.fail("excuseStatus XM (exempt) goes only with A (absent)")
            }
            guard check.errors.count == errorsBefore, let center else { continue }
            guard check.once("\(center) \(code)", in: &seen, "code \(code) of \(center)") else { continue }
            codes[center, default: [:]][code] = AttendanceCodeMeaning(status: status, excuse: excuse)
        }
        return codes
    }

    static func gradingScales(_ bytes: [UInt8]?, check: inout Checker) -> [GradingScale] {
        var scales: [String: GradingScale] = [:]
        var order: [String] = []
        var seen: [String: Int] = [:]
        var bandLines: [String: [(range: ClosedRange<Double>, letter: String, line: Int)]] = [:]
        for row in check.table(bytes, "grading-scales.csv", scaleColumns) {
            check.line = row.line
            let errorsBefore = check.errors.count
            let code = check.pattern(
                row, "scaleCode", { isUpperAlnum($0) || $0 == 0x2D || $0 == 0x5F }, length: 1...20,
                what: "1 to 20 capital letters, digits, '-' or '_'")
            let letter = row["letter"]
            if letter.isEmpty || letter.count > 20 { check.fail("letter '\(letter)' must be 1 to 20 characters") }
            var range: ClosedRange<Double>?
            switch (row["minimum"].isEmpty, row["maximum"].isEmpty) {
            case (true, true): range = nil
            case (false, false):
                if let low = check.number(row, "minimum", in: 0...999.99), let high = check.number(row, "maximum", in: 0...999.99) {
                    if low > high { check.fail("minimum \(format(low)) is above maximum \(format(high))") } else { range = low...high }
                }
            default: check.fail("give both minimum and maximum, or neither (for a letter without a numeric band)")
            }
            let passing = check.boolean(row, "passing")
            guard check.errors.count == errorsBefore, let code, let passing else { continue }
            guard check.once("\(code) \(letter)", in: &seen, "letter \(letter) of scale \(code)") else { continue }
            if let range {
                if let overlap = bandLines[code, default: []].first(where: { $0.range.overlaps(range) }) {
                    check.fail(
                        "the band \(letter) \(format(range.lowerBound))-\(format(range.upperBound)) overlaps \(overlap.letter) "
                            + "\(format(overlap.range.lowerBound))-\(format(overlap.range.upperBound)) on line \(overlap.line) of scale \(code)")
                    continue
                }
                bandLines[code, default: []].append((range, letter, row.line))
            }
            if scales[code] == nil {
                scales[code] = GradingScale(code: code, bands: [])
                order.append(code)
            }
            scales[code]!.bands.append(GradingScale.Band(letter: letter, range: range, passing: passing))
        }
        return order.map { scales[$0]! }
    }

    static func courseMappings(_ bytes: [UInt8]?, scales: [GradingScale], check: inout Checker) -> [CourseMapping] {
        var mappings: [CourseMapping] = []
        var seen: [String: Int] = [:]
        let scaleCodes = Set(scales.map(\.code))
        for row in check.table(bytes, "course-mappings.csv", mappingColumns) {
            check.line = row.line
            let errorsBefore = check.errors.count
            let center = check.center(row, "centerOrgId")
            let course = check.pattern(row, "ktsCourseNumber", isUpperAlnum, length: 1...20, what: "1 to 20 capital letters or digits")
            let school = row["homeSchoolOrgId"]
            if school != "*" {
                if let participant = check.participants[school] {
                    if participant.classification.isTechnicalCenter {
                        check.fail("homeSchoolOrgId \(school) is a technical center; map courses to high schools (or * for all)")
                    }
                } else {
                    check.fail("homeSchoolOrgId '\(school)' is not in participants.csv (use * for every high school)")
                }
            }
            let homeCourse = check.pattern(
                row, "homeCourseNumber",
                { isUpperAlnum($0) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F }, length: 1...20,
                what: "1 to 20 letters, digits, '.', '-' or '_'")
            if row["homeCourseTitle"].count > 60 { check.fail("homeCourseTitle must be at most 60 characters") }
            let scale = row["homeGradingScaleCode"]
            if !scale.isEmpty, !scaleCodes.contains(scale) {
                check.fail("homeGradingScaleCode '\(scale)' is not a scale in grading-scales.csv")
            }
            guard check.errors.count == errorsBefore, let center, let course, let homeCourse else { continue }
            guard check.once("\(center) \(course) \(school)", in: &seen, "the mapping of \(course) of \(center) for \(school)") else { continue }
            mappings.append(
                CourseMapping(
                    centerOrgId: center, ktsCourseNumber: course, homeSchoolOrgId: school, homeCourseNumber: homeCourse,
                    homeCourseTitle: row["homeCourseTitle"], homeGradingScaleCode: scale))
        }
        return mappings
    }

    static func calendars(_ bytes: [UInt8]?, check: inout Checker) -> [String: [Int: InstructionalCalendar]] {
        var calendars: [String: [Int: InstructionalCalendar]] = [:]
        var closedOnly: [String: Int] = [:]
        for row in check.table(bytes, "calendars.csv", calendarColumns) {
            check.line = row.line
            let errorsBefore = check.errors.count
            let orgId = row["orgId"]
            if check.participants[orgId] == nil { check.fail("orgId '\(orgId)' is not in participants.csv") }
            let year = check.year(row)
            let kind = row["kind"]
            if kind != "instructional", kind != "closed" { check.fail("kind '\(kind)' must be instructional or closed") }
            let first = check.date(row, "firstDate")
            let last = check.date(row, "lastDate")
            if let first, let last, let year {
                let bounds = LocalDate.schoolYearBounds(year)
                if first > last {
                    check.fail("firstDate \(first) is after lastDate \(last)")
                } else if !bounds.contains(first) || !bounds.contains(last) {
                    check.fail("\(first) to \(last) is not inside school year \(year) (\(bounds.lowerBound) to \(bounds.upperBound))")
                }
            }
            guard check.errors.count == errorsBefore, let year, let first, let last else { continue }
            if kind == "instructional" {
                calendars[orgId, default: [:]][year, default: InstructionalCalendar()].instructional.append(first...last)
            } else {
                calendars[orgId, default: [:]][year, default: InstructionalCalendar()].closed.append(first...last)
                closedOnly[orgId + " " + String(year)] = closedOnly[orgId + " " + String(year)] ?? row.line
            }
        }
        // A year with closed days and no instructional range would make every day of it non-instructional.
        for (key, line) in closedOnly.sorted(by: { $0.value < $1.value }) {
            let parts = key.split(separator: " ")
            if calendars[String(parts[0])]?[Int(parts[1]) ?? 0]?.instructional.isEmpty ?? false {
                check.line = line
                check.fail("\(parts[0]) has closed days in \(parts[1]) but no instructional range; add an instructional row")
            }
        }
        return calendars
    }

    static func schedule(_ text: String, check: inout Checker) -> ExchangePolicy {
        check.file = "schedule.conf"
        var policy = ExchangePolicy()
        var seen: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            check.line = index + 1
            let content = (rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingWhitespace()
            if content.isEmpty { continue }
            guard let equals = content.firstIndex(of: "=") else {
                check.fail("expected 'key = value', found '\(content)'")
                continue
            }
            let key = content[..<equals].trimmingWhitespace()
            let value = content[content.index(after: equals)...].trimmingWhitespace()
            guard scheduleKeys.contains(key) else {
                check.fail("unknown setting '\(key)'; the settings are \(scheduleKeys.joined(separator: ", "))")
                continue
            }
            guard check.once(key, in: &seen, "'\(key)'") else { continue }
            func bad(_ expected: String) { check.fail("'\(key)' is '\(value)'; expected \(expected)") }
            switch key {
            case "time_zone":
                if let zone = KentuckyZone(ianaName: value) { policy.timeZone = zone } else { bad("America/New_York or America/Chicago") }
            case "grade_posting_time", "unknown_sync_time", "daily_summary_time":
                guard let time = TimeOfDay(value) else {
                    bad("a time HH:MM (24-hour)")
                    continue
                }
                switch key {
                case "grade_posting_time": policy.gradePostingTime = time
                case "unknown_sync_time": policy.unknownSyncTime = time
                default: policy.dailySummaryTime = time
                }
            case "catch_up_days":
                if let days = Int(value), (0...60).contains(days) { policy.catchUpDays = days } else { bad("a whole number from 0 to 60") }
            case "waiver_window":
                let parts = value.split(separator: "..", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2, let start = monthDay(parts[0]), let end = monthDay(parts[1]), start <= end else {
                    bad("MM-DD..MM-DD inside one calendar year, e.g. 01-01..03-01")
                    continue
                }
                policy.waiverWindow = start...end
            case "max_credits":
                if let credits = Double(value), credits > 0, credits <= 10 { policy.maxCredits = credits } else { bad("a number above 0, at most 10") }
            case "pickup_threshold_hours":
                if let hours = Int(value), hours > 0 { policy.pickupThresholdHours = hours } else { bad("a whole number of hours above 0") }
            case "quiet_days":
                if let days = Int(value), days > 0 { policy.quietDays = days } else { bad("a whole number of days above 0") }
            default: break
            }
        }
        return policy
    }

    static func monthDay(_ text: String) -> MonthDay? {
        let parts = text.split(separator: "-")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let month = Int(parts[0]), let day = Int(parts[1]),
            (1...12).contains(month), day >= 1, day <= LocalDate.daysIn(month: month, year: 2024)
        else { return nil }
        return MonthDay(month: month, day: day)
    }
}
