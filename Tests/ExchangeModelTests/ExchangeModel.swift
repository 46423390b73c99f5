import Foundation

/// What the model predicts for one dropped file: its acknowledgement and which records were refused and why.
struct FileExpectation: Sendable {
    var file: DropFile
    /// `ACCEPTED`, `ACCEPTED_WITH_ERRORS`, `REJECTED` or `DUPLICATE`.
    var outcome: String
    /// The binding the ack and error file must be in; nil when the file's binding cannot be known (bad encoding).
    var answerBinding: Binding?
    /// recordIds accepted, in file order.
    var accepted: [String]
    /// recordId → the rule codes the model found (all of them; the product must list at least the planted one).
    var refused: [String: [String]]
    /// For a duplicate: the name of the first copy.
    var firstCopy: String?
    /// True when every refusal is one no resend can fix (a waiver from an ATC): the ack must not advise sending
    /// the file again (DESIGN section 4).
    var refusalIsFinal: Bool
}

/// One record the model expects in a receiver's `outbound/`.
struct ExpectedDelivery: Sendable {
    /// The receiver.
    var receiver: String
    /// ENR or ATT (routed at once), GPO (grade posting) or UKA (unknown-attendance sync).
    var type: RecordType
    /// The values the delivered record must have; `receiptId` is filled from the ack of `sourceFile`.
    var values: [String: String]
    /// The dropped file that carried the record.
    var sourceFile: String
    /// Where it comes from, for reports ("routed at once", "posting of 2026-01-12 22:00", ...).
    var occasion: String
    /// Other values a field may take where the documents leave the choice open: a difference there is reported as
    /// an open question, not a failure.
    var alternatives: [String: String] = [:]
}

/// The exchange as DESIGN.md and Schemas/README.md describe it: the rules, the roster and the records held, what
/// each file's acknowledgement says, and what every participant must find in its `outbound/`.
///
/// It shares no code with the product. Each rule is written from the rule table of Schemas/README.md ("Rule
/// codes"), restricted to what the scenario generator sends; where a document leaves a choice open, the choice is
/// noted beside the code.
struct ExchangeModel: Sendable {
    let world: World
    /// Enrollments on file by natural key (the roster).
    private(set) var roster: [String: ModelRecord] = [:]
    /// Attendance on file by natural key: the latest accepted record and the file that carried it.
    private(set) var attendance: [String: (record: ModelRecord, file: String)] = [:]
    /// Grades on file by natural key.
    private(set) var grades: [String: ModelRecord] = [:]
    /// Grades accepted since the last posting, with the file that carried each.
    private var unposted: [(record: ModelRecord, file: String)] = []
    /// Bytes of files accepted (fully or partly) per sender, with the first file's name: a later copy is a DUPLICATE.
    private var acceptedBytes: [String: [Data: String]] = [:]
    /// Waiver requests on file: `center|year`.
    private var waivers: Set<String> = []
    /// Days whose unknown absences were sent.
    private var syncedDays: Set<CivilDate> = []
    /// Per high school, the natural keys of the attendance it was sent as unknown.
    private var reportedUnknown: [String: Set<String>] = [:]
    /// Who sent the enrollment on file under each natural key (a withdrawal too): a high school that takes a
    /// student over holds the key from then on.
    private var enrollmentSender: [String: (sender: String, ssid: String, center: String)] = [:]
    /// Every file's expectation, in the order dropped.
    private(set) var files: [FileExpectation] = []
    /// Every expected delivery.
    private(set) var deliveries: [ExpectedDelivery] = []
    /// Inconsistencies between what the generator planted and what the model judged (bugs of this test).
    private(set) var selfCheckFailures: [String] = []

    init(world: World) { self.world = world }

    // MARK: - Files

    /// Judges the files of one wave, dropped together and processed at `now`.
    mutating func process(_ wave: [DropFile], now: Date) {
        for file in wave { process(file, now: now) }
    }

    /// Judges one file (DESIGN section 4): duplicate check, file gate, then each record in order.
    mutating func process(_ file: DropFile, now: Date) {
        let sender = world.participant(file.sender)!
        let answer: Binding? = file.mistake == .badEncoding ? nil : sender.answerBinding(forSent: file.binding)
        if let first = acceptedBytes[file.sender]?[file.bytes] {
            files.append(FileExpectation(file: file, outcome: "DUPLICATE", answerBinding: answer, accepted: [], refused: [:], firstCopy: first, refusalIsFinal: false))
            return
        }
        if file.mistake != nil {
            files.append(FileExpectation(file: file, outcome: "REJECTED", answerBinding: answer, accepted: [], refused: [:], firstCopy: nil, refusalIsFinal: false))
            return
        }
        var accepted: [String] = []
        var refused: [String: [String]] = [:]
        for record in file.records {
            let codes: [String]
            switch file.type {
            case .enrollment: codes = enrollmentRuleCodes(record, sender: file.sender)
            case .attendance: codes = attendanceRuleCodes(record, sender: file.sender, now: now)
            case .grade: codes = gradeRuleCodes(record, sender: file.sender, now: now)
            case .waiver: codes = waiverRuleCodes(record, sender: file.sender, now: now)
            default: codes = ["unexpected type"]
            }
            if let planted = record.plantedRule, !codes.contains(planted) {
                selfCheckFailures.append("\(file.name) record \(record.recordId): planted \(planted) but the model found \(codes)")
            } else if record.plantedRule == nil, !codes.isEmpty {
                selfCheckFailures.append("\(file.name) record \(record.recordId): nothing planted but the model found \(codes)")
            }
            if codes.isEmpty {
                accepted.append(record.recordId)
                apply(record, file: file)
            } else {
                refused[record.recordId] = codes
            }
        }
        // "A file in which no record was accepted is REJECTED" (DESIGN section 4).
        let outcome = accepted.isEmpty ? "REJECTED" : refused.isEmpty ? "ACCEPTED" : "ACCEPTED_WITH_ERRORS"
        if !accepted.isEmpty { acceptedBytes[file.sender, default: [:]][file.bytes] = file.name }
        let final = !refused.isEmpty && refused.values.allSatisfy { $0 == ["WVR-01"] }
        files.append(FileExpectation(file: file, outcome: outcome, answerBinding: answer, accepted: accepted, refused: refused, firstCopy: nil, refusalIsFinal: final))
    }

    /// Applies an accepted record: the roster, attendance, grades and waiver register, and routing at once
    /// (enrollments to their center, attendance to the student's home high school).
    private mutating func apply(_ record: ModelRecord, file: DropFile) {
        let key = record.naturalKey
        switch record.type {
        case .enrollment:
            if record["action"] == "delete" { roster[key] = nil } else { roster[key] = record }
            enrollmentSender[key] = (file.sender, record["ssid"]!, record["techCenterOrgId"]!)
            deliveries.append(ExpectedDelivery(receiver: record["techCenterOrgId"]!, type: .enrollment, values: record.values,
                                               sourceFile: file.name, occasion: "routed at once"))
        case .attendance:
            if record["action"] == "delete" { attendance[key] = nil } else { attendance[key] = (record, file.name) }
            deliveries.append(ExpectedDelivery(receiver: record["homeSchoolOrgId"]!, type: .attendance, values: record.values,
                                               sourceFile: file.name, occasion: "routed at once"))
        case .grade:
            if record["action"] == "delete" { grades[key] = nil } else { grades[key] = record }
            unposted.append((record, file.name))
        case .waiver:
            waivers.insert("\(record["centerOrgId"]!)|\(record["waiverSchoolYear"]!)")
        default: break
        }
    }

    // MARK: - Nightly jobs

    /// `ktsx post-grades`: one posting per high school with every grade accepted since the last posting, mapped
    /// through the course mapping and the high school's scale (Schemas/README.md, "What the exchange sends on").
    mutating func postGrades(occasion: String) {
        for (record, file) in unposted {
            let (values, alternatives) = posting(of: record)
            deliveries.append(ExpectedDelivery(receiver: record["homeSchoolOrgId"]!, type: .gradePosting, values: values,
                                               sourceFile: file, occasion: occasion, alternatives: alternatives))
        }
        unposted = []
    }

    /// The GPO record of an accepted grade, and the values the documents leave open.
    func posting(of grade: ModelRecord) -> (values: [String: String], alternatives: [String: String]) {
        let center = grade["techCenterOrgId"]!, course = grade["ktsCourseNumber"]!, home = grade["homeSchoolOrgId"]!
        let mapping = world.mapping(center: center, course: course, homeSchool: home)
        let sourceScale = world.scale(grade["gradingScaleCode"]!)!
        let targetScale = mapping.flatMap { world.scale($0.homeScale) } ?? sourceScale
        let numeric = grade["numericGrade"].flatMap { Decimal(string: $0) }
        let sourceLetter = grade["letterGrade"] ?? numeric.flatMap { sourceScale.letter(for: $0)?.letter }
        // Converted from the numeric grade when the scales differ (the generator always sends a number then).
        let letter = targetScale.code == sourceScale.code ? sourceLetter : numeric.flatMap { targetScale.letter(for: $0)?.letter }
        var values: [String: String] = [:]
        for field in ["recordId", "action", "schoolYear", "ssid", "homeSchoolOrgId", "techCenterOrgId", "ktsCourseNumber", "sectionNumber",
                      "stateCourseCode", "gradeType", "gradingPeriodCode", "numericGrade", "courseAttemptResult", "creditsAttempted",
                      "creditsEarned", "creditType", "dualCredit", "asOfDate", "postedDateTime"] {
            values[field] = grade[field]
        }
        values["homeCourseNumber"] = mapping?.homeCourseNumber
        values["courseTitle"] = mapping?.homeTitle ?? grade["courseTitle"]
        values["gradingScaleCode"] = targetScale.code
        values["letterGrade"] = letter
        values["sourceGradingScaleCode"] = sourceScale.code
        values["sourceLetterGrade"] = sourceLetter
        // Passing is read on the scale the posted letter is on (the high school's): a choice the documents leave open.
        values["passing"] = letter.flatMap { targetScale.band($0)?.passing }.map { $0 ? "true" : "false" }
        var alternatives: [String: String] = [:]
        if let sourcePassing = sourceLetter.flatMap({ sourceScale.band($0)?.passing }).map({ $0 ? "true" : "false" }), sourcePassing != values["passing"] {
            alternatives["passing"] = sourcePassing  // "whether it passes ... from the scale": which scale is not said
        }
        return (values, alternatives)
    }

    /// `ktsx sync-unknown-attendance --date day`: each opted-in high school gets the absences of `day` still marked
    /// UK, from every center (DESIGN section 3, "Unknown-attendance sync").
    mutating func syncUnknownAttendance(day: CivilDate, occasion: String) {
        // "A day is sent once."
        guard syncedDays.insert(day).inserted else { return }
        let optedIn = Set(world.highSchools.filter(\.unknownSync).map(\.orgId))
        for (record, file) in attendance.values.sorted(by: { $0.record.recordId < $1.record.recordId }) {
            guard let home = record["homeSchoolOrgId"], optedIn.contains(home), record["attendanceDate"] == day.iso,
                  record["excuseStatus"] == "UK", record["attendanceStatus"] != "P" else { continue }
            var values: [String: String] = [:]
            for field in RecordType.unknownAttendance.fields where field != "receiptId" { values[field] = record[field] }
            deliveries.append(ExpectedDelivery(receiver: home, type: .unknownAttendance, values: values, sourceFile: file,
                                               occasion: occasion))
            reportedUnknown[home, default: []].insert(record.naturalKey)
        }
    }

    // MARK: - The high school's attendance report

    /// What a high school's attendance report (DESIGN section 6, issue 19) must list from `from` through `to`,
    /// one row per record on file, by the report's CSV columns: the centers' attendance for its students as it
    /// stands (the latest accepted record per natural key; a withdrawn one not at all), an absence whose excuse
    /// is UK `unknown`, one the school was sent as unknown that no longer is `resolved`; a student named (from
    /// the world) only when the school holds an enrollment of theirs at that center (its own, withdrawn or not:
    /// once another school has taken the student over, by state ID alone).
    func attendanceReport(school: String, from: CivilDate, to: CivilDate) -> [[String: String]] {
        attendance.values.compactMap { entry -> [String: String]? in
            let record = entry.record
            guard record["homeSchoolOrgId"] == school, let date = CivilDate(iso: record["attendanceDate"]!), from <= date, date <= to else { return nil }
            let unknown = record["excuseStatus"] == "UK" && record["attendanceStatus"] != "P"
            var row: [String: String] = [
                "attendanceDate": date.iso, "ssid": record["ssid"]!, "techCenterOrgId": record["techCenterOrgId"]!,
                "unknownExcuse": unknown ? "unknown" : reportedUnknown[school, default: []].contains(record.naturalKey) ? "resolved" : "",
            ]
            for field in ["ktsCourseNumber", "sectionNumber", "granularity", "periodCode", "attendanceStatus", "excuseStatus", "absentMinutes",
                          "arrivalTime", "departureTime", "recordedDateTime"] {
                row[field] = record[field] ?? ""
            }
            let student = world.students.first { $0.ssid == record["ssid"] }
            let named = enrollmentSender.values.contains {
                $0.sender == school && $0.ssid == record["ssid"] && $0.center == record["techCenterOrgId"]
            }
            row["lastName"] = named ? student?.lastName ?? "" : ""
            row["firstName"] = named ? student?.firstName ?? "" : ""
            row["localStudentNumber"] = named ? student?.localNumber ?? "" : ""
            return row
        }
    }

    // MARK: - Rules (Schemas/README.md, "Rule codes")

    /// The participant's local date at `now` (its own time zone: Kentucky spans Eastern and Central).
    private func localDate(of orgId: String, at now: Date) -> CivilDate {
        localDate(zone: world.participant(orgId)!.timeZone, at: now)
    }

    /// The date at `now` in `zone`.
    private func localDate(zone: String, at now: Date) -> CivilDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        let c = calendar.dateComponents([.year, .month, .day], from: now)
        return CivilDate(c.year!, c.month!, c.day!)
    }

    /// Enrollments on file for a student at a center covering `day` (in `course`/`section` when given).
    private func enrollments(ssid: String, center: String, course: String? = nil, section: String? = nil,
                             covering range: ClosedRange<CivilDate>) -> [ModelRecord] {
        roster.values.filter { enrollment in
            guard enrollment["ssid"] == ssid, enrollment["techCenterOrgId"] == center else { return false }
            if let course, enrollment["ktsCourseNumber"] != course { return false }
            if let section, enrollment["sectionNumber"] != section { return false }
            let entry = CivilDate(iso: enrollment["entryDate"]!)!
            let exit = enrollment["exitDate"].flatMap { CivilDate(iso: $0) } ?? CivilDate(9999, 12, 31)
            return entry <= range.upperBound && range.lowerBound <= exit
        }
    }

    /// ENR-01, -02, -03, -04, -07, -08.
    func enrollmentRuleCodes(_ r: ModelRecord, sender: String) -> [String] {
        var codes: [String] = []
        if r["homeSchoolOrgId"] != sender { codes.append("ENR-01") }
        let center = world.participant(r["techCenterOrgId"]!)
        if center?.isCenter != true { codes.append("ENR-02") }
        let year = Int(r["schoolYear"]!)!
        let section = year == world.schoolYear ? world.section(center: r["techCenterOrgId"]!, course: r["ktsCourseNumber"]!, section: r["sectionNumber"]!) : nil
        if section == nil || section?.stateCourseCode != r["stateCourseCode"] || section?.termCode != r["termCode"] { codes.append("ENR-03") }
        let entry = CivilDate(iso: r["entryDate"]!)!
        let exit = r["exitDate"].flatMap { CivilDate(iso: $0) }
        let yearBounds = CivilDate.schoolYearBounds(year)
        var datesWrong = !yearBounds.contains(entry) || exit.map { !yearBounds.contains($0) || $0 < entry } ?? false
        if let section {
            let term = section.termBegin...section.termEnd
            datesWrong = datesWrong || !term.contains(entry) || exit.map { !term.contains($0) } ?? false
        }
        if datesWrong { codes.append("ENR-04") }
        let existing = roster[r.naturalKey]
        switch r["action"] {
        case "add": if existing?["homeSchoolOrgId"] == sender { codes.append("ENR-07") }
        default: if existing == nil || existing?["homeSchoolOrgId"] != sender { codes.append("ENR-07") }
        }
        if (r["exitDate"] == nil) != (r["exitReason"] == nil) { codes.append("ENR-08") }
        return codes
    }

    /// ATT-01, -02, -03, -04, -05, -07, -08, -10, -11.
    func attendanceRuleCodes(_ r: ModelRecord, sender: String, now: Date) -> [String] {
        var codes: [String] = []
        let center = r["techCenterOrgId"]!
        if center != sender { codes.append("ATT-10") }
        let period = r["granularity"] == "PERIOD"
        if period, r["ktsCourseNumber"] == nil || r["sectionNumber"] == nil || r["periodCode"] == nil { codes.append("ATT-11") }
        let day = CivilDate(iso: r["attendanceDate"]!)!
        if r["action"] == "delete" {
            // A delete goes where the record on file went, whatever the enrollment says now (Schemas/README.md, rule codes).
            if let onFile = attendance[r.naturalKey]?.record, onFile["homeSchoolOrgId"] != r["homeSchoolOrgId"] { codes.append("ATT-02") }
        } else {
            let covering = enrollments(ssid: r["ssid"]!, center: center, course: period ? r["ktsCourseNumber"] ?? "" : nil,
                                       section: period ? r["sectionNumber"] ?? "" : nil, covering: day...day)
            if covering.isEmpty {
                codes.append("ATT-01")
            } else if !covering.contains(where: { $0["homeSchoolOrgId"] == r["homeSchoolOrgId"] }) {
                codes.append("ATT-02")
            }
        }
        let year = Int(r["schoolYear"]!)!
        if !CivilDate.schoolYearBounds(year).contains(day) || day > localDate(of: sender, at: now) || !world.isInstructional(day) {
            codes.append("ATT-03")
        }
        let status = r["attendanceStatus"]!, excuse = r["excuseStatus"]
        if status == "P" ? excuse != nil : excuse == nil || (excuse == "XM" && status != "A") { codes.append("ATT-04") }
        var timesWrong = (status == "T" && r["arrivalTime"] == nil) || (status == "E" && r["departureTime"] == nil)
        if let arrival = r["arrivalTime"], let departure = r["departureTime"], arrival >= departure { timesWrong = true }
        if period, let minutes = r["absentMinutes"].flatMap({ Int($0) }),
           let section = world.section(center: center, course: r["ktsCourseNumber"] ?? "", section: r["sectionNumber"] ?? ""),
           minutes > section.minutesPerDay {
            timesWrong = true
        }
        if timesWrong { codes.append("ATT-05") }
        let existing = attendance[r.naturalKey]?.record
        switch r["action"] {
        case "add":
            if existing != nil { codes.append("ATT-07") }
        default:
            if let existing {
                if let mine = parseInstant(r["recordedDateTime"]!), let theirs = parseInstant(existing["recordedDateTime"]!), mine < theirs {
                    codes.append("ATT-07")
                }
            } else {
                codes.append("ATT-07")
            }
        }
        if let local = r["localAttendanceCode"] {
            let mapped = world.codes.first { $0.centerOrgId == sender && $0.localCode == local }
            if mapped == nil || mapped?.status != status || mapped?.excuse != excuse { codes.append("ATT-08") }
        }
        return codes
    }

    /// GRD-01, -02, -03, -04, -05, -06, -10, -11, -13.
    func gradeRuleCodes(_ r: ModelRecord, sender: String, now: Date) -> [String] {
        var codes: [String] = []
        let center = r["techCenterOrgId"]!
        if center != sender { codes.append("GRD-10") }
        let begin = CivilDate(iso: r["gradingPeriodBeginDate"]!)!, end = CivilDate(iso: r["gradingPeriodEndDate"]!)!
        if r["action"] == "delete" {
            // A delete goes where the grade on file went, whatever the enrollment says now (Schemas/README.md, rule codes).
            if let onFile = grades[r.naturalKey], onFile["homeSchoolOrgId"] != r["homeSchoolOrgId"] { codes.append("GRD-13") }
        } else {
            let covering = begin <= end ? enrollments(ssid: r["ssid"]!, center: center, course: r["ktsCourseNumber"]!, section: r["sectionNumber"]!, covering: begin...end) : []
            if covering.isEmpty {
                codes.append("GRD-01")
            } else if !covering.contains(where: { $0["homeSchoolOrgId"] == r["homeSchoolOrgId"] }) {
                codes.append("GRD-13")
            }
        }
        let yearBounds = CivilDate.schoolYearBounds(Int(r["schoolYear"]!)!)
        if begin > end || !yearBounds.contains(begin) || !yearBounds.contains(end) { codes.append("GRD-02") }
        var gradeWrong = true
        if let scale = world.scale(r["gradingScaleCode"]!) {
            let letter = r["letterGrade"], number = r["numericGrade"].flatMap { Decimal(string: $0) }
            gradeWrong = letter == nil && number == nil
            if let letter, scale.band(letter) == nil { gradeWrong = true }
            if let number, !scale.range.contains(number) { gradeWrong = true }
            if let letter, let number, let band = scale.band(letter) {
                if let min = band.minimum, let max = band.maximum { if !(min...max).contains(number) { gradeWrong = true } } else { gradeWrong = true }
            }
        }
        if gradeWrong { codes.append("GRD-03") }
        let type = r["gradeType"]!
        let attempted = r["creditsAttempted"].flatMap { Decimal(string: $0) }, earned = r["creditsEarned"].flatMap { Decimal(string: $0) }
        if type == "FINAL", r["courseAttemptResult"] == nil || attempted == nil || earned == nil || r["currentGradeIndicator"] == "true" {
            codes.append("GRD-04")
        } else if type == "SEMESTER", attempted == nil || earned == nil {
            codes.append("GRD-04")
        }
        var creditsWrong = false
        if let attempted, attempted < 0 || attempted > world.maxCredits { creditsWrong = true }
        if let earned {
            if earned < 0 || earned > (attempted ?? world.maxCredits) { creditsWrong = true }
            let result = r["courseAttemptResult"]
            if (result == "FAIL" || result == "WITHDRAWN" || r["noCredit"] == "true") && earned != 0 { creditsWrong = true }
            if result == "PASS" && earned <= 0 { creditsWrong = true }
        }
        if creditsWrong { codes.append("GRD-05") }
        let asOf = CivilDate(iso: r["asOfDate"]!)!
        if asOf > localDate(of: sender, at: now) || asOf < begin { codes.append("GRD-06") }
        let existing = grades[r.naturalKey]
        if r["action"] == "add" ? existing != nil : existing == nil { codes.append("GRD-11") }
        return codes
    }

    /// WVR-01, -02, -03, -04, -05, -07 for the requests the generator sends (submissions in January).
    func waiverRuleCodes(_ r: ModelRecord, sender: String, now: Date) -> [String] {
        var codes: [String] = []
        if world.participant(sender)?.classification != "A2" || r["centerClassification"] != "A2" { codes.append("WVR-01") }
        let today = localDate(zone: world.scheduleTimeZone, at: now)  // the waiver window is in Kentucky (the schedule's) time
        let month = today.components.month, dayOfMonth = today.components.day
        if !(month == 1 || month == 2 || (month == 3 && dayOfMonth == 1)) { codes.append("WVR-02") }
        if Int(r["waiverSchoolYear"]!) != today.schoolYear + 1 { codes.append("WVR-03") }
        if r["action"] == "submit", waivers.contains("\(r["centerOrgId"]!)|\(r["waiverSchoolYear"]!)") { codes.append("WVR-04") }
        if r["superintendentApproval"] != "true" || (r["reasonCode"] == "OTHER" && r["reasonText"] == nil) { codes.append("WVR-05") }
        if r["centerOrgId"] != sender { codes.append("WVR-07") }
        return codes
    }
}
