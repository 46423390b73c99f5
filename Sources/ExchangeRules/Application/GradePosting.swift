import ExchangeCore

/// Turns staged grades into grade-posting rows for the home high schools (pure): the high school's course
/// number and title from the course mapping, the letter on the high school's scale (from the numeric
/// grade when the scales differ), and whether the grade passes, for athletic eligibility.
public enum GradePosting {
    /// The rows to post, by high school, in the order given. A grade deleted before it was ever posted
    /// is left out: the high school never had it.
    public static func rows(for grades: [GradeToPost], reference: ReferenceData) -> [String: [[String: String]]] {
        var rows: [String: [[String: String]]] = [:]
        for item in grades {
            guard !(item.grade.deleted && !item.postedBefore) else { continue }
            rows[item.grade.recipientOrgId, default: []].append(row(for: item, reference: reference))
        }
        return rows
    }

    /// One posting row.
    public static func row(for item: GradeToPost, reference: ReferenceData) -> [String: String] {
        let grade = item.grade
        let center = grade.senderOrgId
        let mapping = reference.courseMapping(center: center, course: grade["ktsCourseNumber"], homeSchool: grade.recipientOrgId)
        let sourceScaleCode = grade["gradingScaleCode"]
        let sourceScale = reference.gradingScales[sourceScaleCode]
        let numeric = Double(grade["numericGrade"])
        var sourceLetter = grade["letterGrade"]
        if sourceLetter.isEmpty, let numeric, let band = sourceScale?.band(numeric: numeric) { sourceLetter = band.letter }
        let targetScaleCode = mapping.flatMap { $0.homeGradingScaleCode.isEmpty ? nil : $0.homeGradingScaleCode } ?? sourceScaleCode
        let targetScale = reference.gradingScales[targetScaleCode]
        var letter = sourceLetter
        if targetScaleCode != sourceScaleCode {
            if let numeric, let band = targetScale?.band(numeric: numeric) {
                letter = band.letter
            } else if targetScale?.band(letter: sourceLetter) == nil {
                letter = ""
            }
        }
        var passing: String?
        switch grade["courseAttemptResult"] {
        case "PASS": passing = "true"
        case "FAIL", "WITHDRAWN", "INCOMPLETE": passing = "false"
        default: passing = targetScale?.band(letter: letter).map { $0.passing ? "true" : "false" }
        }
        let key = CatalogKey(
            centerOrgId: center, schoolYear: grade.schoolYear, ktsCourseNumber: grade["ktsCourseNumber"], sectionNumber: grade["sectionNumber"])
        let title = mapping.flatMap { $0.homeCourseTitle.isEmpty ? nil : $0.homeCourseTitle }
            ?? (grade["courseTitle"].isEmpty ? reference.catalog[key]?.courseTitle : grade["courseTitle"])
        var row: [String: String] = [
            "recordId": grade["recordId"],
            "action": grade.deleted ? "delete" : item.postedBefore ? "update" : "add",
            "gradingScaleCode": targetScaleCode, "sourceGradingScaleCode": sourceScaleCode, "receiptId": grade.receiptId,
        ]
        for field in [
            "schoolYear", "ssid", "homeSchoolOrgId", "techCenterOrgId", "ktsCourseNumber", "sectionNumber", "stateCourseCode",
            "gradeType", "gradingPeriodCode", "numericGrade", "courseAttemptResult", "creditsAttempted", "creditsEarned", "creditType",
            "dualCredit", "asOfDate", "postedDateTime",
        ] where !grade[field].isEmpty {
            row[field] = grade[field]
        }
        if let number = mapping?.homeCourseNumber { row["homeCourseNumber"] = number }
        if let title { row["courseTitle"] = title }
        if !letter.isEmpty { row["letterGrade"] = letter }
        if !sourceLetter.isEmpty { row["sourceLetterGrade"] = sourceLetter }
        if let passing { row["passing"] = passing }
        return row
    }
}

/// Picks the unknown absences for the nightly sync (pure).
public enum UnknownAttendanceSync {
    /// The sync rows for one high school from the attendance held for it on one day: records not deleted
    /// whose excuse is still UK, in key order.
    public static func rows(from attendance: [HeldRecord]) -> [[String: String]] {
        attendance.filter { !$0.deleted && $0["excuseStatus"] == "UK" && $0["attendanceStatus"] != "P" }
            .sorted { $0.naturalKey < $1.naturalKey }
            .map { record in
                var row: [String: String] = ["receiptId": record.receiptId]
                for field in [
                    "recordId", "schoolYear", "ssid", "homeSchoolOrgId", "techCenterOrgId", "ktsCourseNumber", "sectionNumber",
                    "granularity", "attendanceDate", "periodCode", "attendanceStatus", "excuseStatus", "absentMinutes", "recordedDateTime",
                ] where !record[field].isEmpty {
                    row[field] = record[field]
                }
                return row
            }
    }
}
