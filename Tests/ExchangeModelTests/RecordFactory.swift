import Foundation

/// Makes clean records of each type from the world and the model's view of what is on file, planted mistakes
/// (copies of clean records with one thing wrong, each naming the rule it breaks), and tolerated spellings.
struct RecordFactory {
    let world: World
    var random: SeededRandom

    /// A random RFC 4122 version-4 UUID from the seed.
    mutating func uuid() -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let i = hex.startIndex
        func part(_ a: Int, _ b: Int) -> Substring { hex[hex.index(i, offsetBy: a)..<hex.index(i, offsetBy: b)] }
        return "\(part(0, 8))-\(part(8, 12))-\(part(12, 16))-\(part(16, 20))-\(part(20, 32))"
    }

    /// A copy of `record` with a new recordId.
    mutating func copy(_ record: ModelRecord, planting rule: String) -> ModelRecord {
        var copy = record
        copy["recordId"] = uuid()
        copy.spellings = [:]
        copy.plantedRule = rule
        return copy
    }

    /// Another participant of class `classification` than `orgId`, or the unknown orgId when there is none.
    mutating func other(than orgId: String, classification: Set<String>) -> String {
        world.participants.filter { $0.orgId != orgId && classification.contains($0.classification) }.map(\.orgId)
            .randomElement(using: &random) ?? world.unknownOrgId
    }

    /// A ten-digit state ID no student has.
    mutating func strangerSsid() -> String {
        while true {
            let ssid = String(Int.random(in: 1_000_000_000...9_999_999_999, using: &random))
            if !world.students.contains(where: { $0.ssid == ssid }) { return ssid }
        }
    }

    // MARK: - Enrollments

    /// The `add` a high school sends for a planned enrollment.
    mutating func enrollment(_ planned: PlannedEnrollment, sentOn day: CivilDate) -> ModelRecord {
        let student = planned.student, section = planned.section
        let zone = world.participant(student.homeSchool)!.timeZone
        var values: [String: String] = [
            "recordId": uuid(), "action": "add", "schoolYear": String(world.schoolYear), "ssid": student.ssid,
            "lastName": student.lastName, "firstName": student.firstName, "birthDate": student.birthDate.iso,
            "gradeLevel": student.gradeLevel, "homeSchoolOrgId": student.homeSchool, "techCenterOrgId": section.centerOrgId,
            "ktsCourseNumber": section.course, "sectionNumber": section.section, "stateCourseCode": section.stateCourseCode,
            "termCode": section.termCode, "entryDate": planned.entryDate.iso,
            "lastModified": LocalMoment(date: day.adding(-1), hour: 15, minute: 30, timeZone: zone).isoWithOffset,
        ]
        values["localStudentNumber"] = student.localNumber
        values["middleName"] = student.middleName
        values["exitDate"] = planned.exitDate?.iso
        values["exitReason"] = planned.exitReason
        if random.chance(0.5) { values["periods"] = section.section.hasPrefix("AM") ? "1;2;3" : "5;6;7" }
        if random.chance(0.1) { values["dualCredit"] = "DC" }
        if random.chance(0.3) { values["repeatIndicator"] = random.chance(0.5) ? "true" : "false" }
        if random.chance(0.6) { values["attemptedCredits"] = String(section.credits) }
        return ModelRecord(type: .enrollment, values: values)
    }

    /// An `update` that ends an enrollment on file: the student left the section on `exit`.
    mutating func exit(_ onFile: ModelRecord, on exit: CivilDate, sentOn day: CivilDate) -> ModelRecord {
        var record = onFile
        record["recordId"] = uuid()
        record["action"] = "update"
        record["exitDate"] = exit.iso
        record["exitReason"] = ["WITHDRAWN", "SCHEDULE_CHANGE", "TRANSFERRED"].randomElement(using: &random)!
        record["lastModified"] = LocalMoment(date: day, hour: 6, minute: 45, timeZone: world.participant(onFile["homeSchoolOrgId"]!)!.timeZone).isoWithOffset
        record.spellings = [:]
        return record
    }

    /// A copy of a clean enrollment with one planted mistake.
    mutating func enrollmentMistake(from clean: ModelRecord) -> ModelRecord {
        let section = world.section(center: clean["techCenterOrgId"]!, course: clean["ktsCourseNumber"]!, section: clean["sectionNumber"]!)!
        switch Int.random(in: 0..<7, using: &random) {
        case 0:
            var r = copy(clean, planting: "ENR-01")
            r["homeSchoolOrgId"] = other(than: clean["homeSchoolOrgId"]!, classification: ["A1"])
            return r
        case 1:
            var r = copy(clean, planting: "ENR-02")
            r["techCenterOrgId"] = random.chance(0.5) ? world.unknownOrgId : clean["homeSchoolOrgId"]!
            return r
        case 2:
            var r = copy(clean, planting: "ENR-03")
            if random.chance(0.5) { r["ktsCourseNumber"] = "ZZZ999" } else { r["stateCourseCode"] = section.stateCourseCode == "999999" ? "999998" : "999999" }
            return r
        case 3:
            var r = copy(clean, planting: "ENR-04")
            r["entryDate"] = section.termBegin.adding(-10).iso  // inside the school year, before the term
            return r
        case 4:
            var r = copy(clean, planting: "ENR-07")  // an update of an enrollment never sent
            r["action"] = "update"
            r["entryDate"] = CivilDate(iso: clean["entryDate"]!)!.adding(1).iso
            return r
        case 5:
            var r = copy(clean, planting: "ENR-08")  // an exit date without its reason
            r["exitDate"] = world.days.last!.iso
            r["exitReason"] = nil
            return r
        default:
            var r = copy(clean, planting: "ENR-07")  // the same enrollment added twice
            r["action"] = "add"
            return r
        }
    }

    // MARK: - Attendance

    /// A clean attendance record of a student at `center` on `day`, for a PERIOD of `section` or the whole DAY.
    mutating func attendance(ssid: String, home: String, center: Participant, day: CivilDate, section: Section?, minute: Int) -> ModelRecord {
        var values: [String: String] = [
            "recordId": uuid(), "action": "add", "schoolYear": String(world.schoolYear), "ssid": ssid,
            "techCenterOrgId": center.orgId, "homeSchoolOrgId": home, "granularity": section == nil ? "DAY" : "PERIOD",
            "attendanceDate": day.iso,
        ]
        if let section {
            values["ktsCourseNumber"] = section.course
            values["sectionNumber"] = section.section
            values["periodCode"] = section.periodCode
        }
        let roll = Double.random(in: 0..<1, using: &random)
        let (status, excuse, code): (String, String?, String) =
            roll < 0.62 ? ("P", nil, "PRS") : roll < 0.77 ? ("A", "UK", "UNK") : roll < 0.83 ? ("A", "EX", "EXC") : roll < 0.88 ? ("A", "UX", "UNX")
            : roll < 0.92 ? ("T", "UX", "TUX") : roll < 0.95 ? ("T", "UK", "TUK") : ("E", "EX", "ERL")
        values["attendanceStatus"] = status
        values["excuseStatus"] = excuse
        if random.chance(0.7) { values["localAttendanceCode"] = code }
        switch status {
        case "A":
            if random.chance(0.6) { values["absentMinutes"] = String(section?.minutesPerDay ?? 60) }
            if random.chance(0.3) { values["eventDuration"] = "1" }
        case "T":
            values["arrivalTime"] = String(format: "08:%02d:00", Int.random(in: 5...40, using: &random))
            if random.chance(0.5) { values["absentMinutes"] = String(Int.random(in: 5...40, using: &random)) }
        case "E":
            values["departureTime"] = String(format: "11:%02d:00", Int.random(in: 0...59, using: &random))
            if random.chance(0.5) { values["eventDuration"] = "0.5" }
        default: break
        }
        if status != "P", random.chance(0.3) {
            values["reason"] = ["Doctor's appointment, then dentist", "Said \"car trouble\"", "Family emergency; will call", "Bus late"].randomElement(using: &random)!
        }
        let recorded = LocalMoment(date: day, hour: 13 + minute / 60, minute: minute % 60, second: Int.random(in: 0...59, using: &random), timeZone: center.timeZone).isoWithOffset
        values["recordedDateTime"] = recorded
        values["lastModified"] = recorded
        return ModelRecord(type: .attendance, values: values)
    }

    /// The update that resolves an unknown excuse (UK) to excused or unexcused, entered later the same day.
    mutating func resolution(of onFile: ModelRecord, center: Participant, day: CivilDate) -> ModelRecord {
        var record = onFile
        record["recordId"] = uuid()
        record["action"] = "update"
        let excused = random.chance(0.6)
        if onFile["attendanceStatus"] == "T" {
            record["excuseStatus"] = "UX"
            record["localAttendanceCode"] = "TUX"
        } else {
            record["excuseStatus"] = excused ? "EX" : "UX"
            record["localAttendanceCode"] = excused ? "EXC" : "UNX"
        }
        let recorded = LocalMoment(date: day, hour: 16, minute: Int.random(in: 0...10, using: &random), timeZone: center.timeZone).isoWithOffset
        record["recordedDateTime"] = recorded
        record["lastModified"] = recorded
        record.spellings = [:]
        record.plantedRule = nil
        return record
    }

    /// A copy of a clean attendance record with one planted mistake.
    mutating func attendanceMistake(from clean: ModelRecord, center: Participant, day: CivilDate) -> ModelRecord {
        switch Int.random(in: 0..<10, using: &random) {
        case 0:
            var r = copy(clean, planting: "ATT-01")  // a student with no enrollment
            r["ssid"] = strangerSsid()
            return r
        case 1:
            var r = copy(clean, planting: "ATT-02")  // a wrong or unknown home school
            r["homeSchoolOrgId"] = random.chance(0.5) ? world.unknownOrgId : other(than: clean["homeSchoolOrgId"]!, classification: ["A1"])
            if r["homeSchoolOrgId"] == clean["homeSchoolOrgId"] { r["homeSchoolOrgId"] = world.unknownOrgId }
            return r
        case 2:
            var r = copy(clean, planting: "ATT-03")  // a weekend, a closed day or tomorrow
            var candidates = [day.adding(1), CivilDate(2026, 1, 10), CivilDate(2026, 1, 11)] + world.closedDays.filter { $0 < day }
            if day.isoWeekday == 5 { candidates.append(day.adding(3)) }
            r["attendanceDate"] = candidates.randomElement(using: &random)!.iso
            return r
        case 3:
            var r = copy(clean, planting: "ATT-04")
            if random.chance(0.5) {
                r["attendanceStatus"] = "A"; r["excuseStatus"] = nil
            } else {
                r["attendanceStatus"] = "P"; r["excuseStatus"] = "UX"
            }
            r["localAttendanceCode"] = nil; r["arrivalTime"] = nil; r["departureTime"] = nil
            return r
        case 4:
            var r = copy(clean, planting: "ATT-05")  // tardy without an arrival time
            r["attendanceStatus"] = "T"; r["excuseStatus"] = "UX"; r["localAttendanceCode"] = nil
            r["arrivalTime"] = nil; r["departureTime"] = nil
            return r
        case 5:
            return copy(clean, planting: "ATT-07")  // the same attendance added twice
        case 6:
            var r = copy(clean, planting: "ATT-08")  // a local code the center never mapped
            r["localAttendanceCode"] = "ZZZ"
            return r
        case 7:
            var r = copy(clean, planting: "ATT-10")  // another center's record
            r["techCenterOrgId"] = other(than: center.orgId, classification: ["A2", "C2"])
            return r
        case 8 where clean["granularity"] == "PERIOD":
            var r = copy(clean, planting: "ATT-11")  // a PERIOD record without its period
            r["periodCode"] = nil
            return r
        default:
            var r = copy(clean, planting: "ATT-08")  // a mapped code that means something else
            r["localAttendanceCode"] = clean["attendanceStatus"] == "P" ? "UNK" : "PRS"
            return r
        }
    }

    // MARK: - Grades

    /// A clean grade of a student in a section.
    mutating func grade(of enrollment: ModelRecord, section: Section, type: String, period: String, begin: CivilDate, end: CivilDate,
                        asOf: CivilDate, action: String, center: Participant, day: CivilDate) -> ModelRecord {
        var values: [String: String] = [
            "recordId": uuid(), "action": action, "schoolYear": String(world.schoolYear), "ssid": enrollment["ssid"]!,
            "techCenterOrgId": center.orgId, "homeSchoolOrgId": enrollment["homeSchoolOrgId"]!, "ktsCourseNumber": section.course,
            "sectionNumber": section.section, "stateCourseCode": section.stateCourseCode, "courseTitle": section.title,
            "gradeType": type, "gradingPeriodCode": period, "gradingPeriodBeginDate": begin.iso, "gradingPeriodEndDate": end.iso,
            "gradingScaleCode": "KY10PT", "asOfDate": asOf.iso,
            "postedDateTime": LocalMoment(date: day, hour: 14, minute: Int.random(in: 0...59, using: &random), timeZone: center.timeZone).isoWithOffset,
        ]
        let mapping = world.mapping(center: center.orgId, course: section.course, homeSchool: enrollment["homeSchoolOrgId"]!)
        let otherScale = mapping != nil && mapping!.homeScale != "KY10PT"
        let number = Decimal(Int.random(in: 45...100, using: &random)) + (random.chance(0.3) ? Decimal(string: "0.5")! : 0)
        let numberText = "\(min(number, 100))"
        let letter = world.scale("KY10PT")!.letter(for: min(number, 100))!.letter
        if type == "PROGRESS", !otherScale, random.chance(0.05) {
            values["letterGrade"] = "I"
        } else {
            switch Int.random(in: 0..<3, using: &random) {
            case 0 where !otherScale: values["letterGrade"] = letter
            case 1: values["numericGrade"] = numberText
            default: values["letterGrade"] = letter; values["numericGrade"] = numberText
            }
        }
        if type == "PROGRESS" { values["currentGradeIndicator"] = "true" } else if random.chance(0.5) { values["currentGradeIndicator"] = "false" }
        if type == "FINAL" || type == "SEMESTER" {
            let passes = values["letterGrade"].map { $0 != "F" && $0 != "I" } ?? (number >= 60)
            values["creditsAttempted"] = String(section.credits)
            values["creditsEarned"] = passes ? String(section.credits) : "0"
            if type == "FINAL" { values["courseAttemptResult"] = passes ? "PASS" : "FAIL" }
            values["creditType"] = random.chance(0.5) ? "CTE" : "CARNEGIE"
        }
        if random.chance(0.2) { values["comment"] = "Works well, shows up \"on time\"" }
        return ModelRecord(type: .grade, values: values)
    }

    /// A copy of a clean grade with one planted mistake.
    mutating func gradeMistake(from clean: ModelRecord, center: Participant, day: CivilDate) -> ModelRecord {
        switch Int.random(in: 0..<9, using: &random) {
        case 0:
            var r = copy(clean, planting: "GRD-01")  // a student not in the section
            r["ssid"] = strangerSsid()
            return r
        case 1:
            var r = copy(clean, planting: "GRD-02")  // the period ends before it begins
            r["gradingPeriodBeginDate"] = clean["gradingPeriodEndDate"]
            r["gradingPeriodEndDate"] = clean["gradingPeriodBeginDate"]
            r["asOfDate"] = clean["gradingPeriodEndDate"]
            return r
        case 2:
            var r = copy(clean, planting: "GRD-03")  // a letter and number that disagree, or a letter not on the scale
            if random.chance(0.5) { r["letterGrade"] = "B"; r["numericGrade"] = "95" } else { r["letterGrade"] = "Z"; r["numericGrade"] = nil }
            return r
        case 3:
            var r = copy(clean, planting: "GRD-04")  // a FINAL without its result
            r["gradeType"] = "FINAL"; r["currentGradeIndicator"] = "false"; r["courseAttemptResult"] = nil
            r["creditsAttempted"] = "1"; r["creditsEarned"] = "1"
            return r
        case 4:
            var r = copy(clean, planting: "GRD-05")  // more credits earned than attempted
            r["gradeType"] = "SEMESTER"; r["currentGradeIndicator"] = "false"; r["courseAttemptResult"] = nil
            r["creditsAttempted"] = "1"; r["creditsEarned"] = "2"
            return r
        case 5:
            var r = copy(clean, planting: "GRD-06")  // as of tomorrow
            r["asOfDate"] = day.adding(1).iso
            return r
        case 6:
            var r = copy(clean, planting: "GRD-10")
            r["techCenterOrgId"] = other(than: center.orgId, classification: ["A2", "C2"])
            return r
        case 7:
            var r = copy(clean, planting: "GRD-13")
            r["homeSchoolOrgId"] = random.chance(0.5) ? world.unknownOrgId : other(than: clean["homeSchoolOrgId"]!, classification: ["A1"])
            if r["homeSchoolOrgId"] == clean["homeSchoolOrgId"] { r["homeSchoolOrgId"] = world.unknownOrgId }
            return r
        default:
            var r = copy(clean, planting: "GRD-11")  // the same grade added twice
            r["action"] = "add"
            return r
        }
    }

    // MARK: - Waivers

    /// A waiver request for next school year from `center` (refused with WVR-01 when the center is an ATC).
    mutating func waiver(center: Participant, day: CivilDate) -> ModelRecord {
        let values: [String: String] = [
            "recordId": uuid(), "action": "submit", "centerOrgId": center.orgId, "centerName": center.name,
            "centerClassification": center.classification, "operatingDistrictNumber": String(center.orgId.prefix(3)),
            "waiverSchoolYear": String(world.schoolYear + 1), "waiverScope": "FULL_EXCHANGE", "reasonCode": "ALT_SIS",
            "alternateProcess": "Records entered by the registrar, weekly, in each feeder school's KSIS.",
            "submitterName": "Dr. Renée Castellanos", "submitterTitle": "Principal, \(center.name)",
            "submitterEmail": "principal@center.kyschools.us", "superintendentApproval": "true",
            "approvalDate": day.adding(-3).iso,
            "submittedDateTime": LocalMoment(date: day, hour: 9, minute: 0, timeZone: center.timeZone).isoWithOffset,
        ]
        return ModelRecord(type: .waiver, values: values, plantedRule: center.classification == "A2" ? nil : "WVR-01")
    }

    // MARK: - Tolerated spellings

    /// Sometimes respells one or two values the way the binding tolerates (Schemas/README.md: a one-digit month or
    /// day in a CSV date, `1`/`0` for booleans; Table Schema's integers and numbers with surrounding spaces;
    /// xs:integer's whitespace collapsing). The record must still be accepted, and routed in canonical form.
    mutating func respell(_ record: inout ModelRecord, binding: Binding) {
        guard random.chance(0.35) else { return }
        var options: [(String, String)] = []
        for field in ["repeatIndicator", "currentGradeIndicator", "noCredit"] {
            if let value = record[field] { options.append((field, value == "true" ? "1" : "0")) }
        }
        for field in ["schoolYear", "absentMinutes"] where record[field] != nil {
            options.append((field, " \(record[field]!) "))
        }
        if binding == .csv {
            for field in ["attendanceDate", "entryDate", "exitDate", "birthDate", "asOfDate", "gradingPeriodBeginDate"] {
                if let value = record[field], let date = CivilDate(iso: value), date.unpadded != value { options.append((field, date.unpadded)) }
            }
            if let minutes = record["absentMinutes"] { options.append(("absentMinutes", "0" + minutes)) }
            for field in ["attemptedCredits", "creditsAttempted", "eventDuration"] where record[field] != nil {
                options.append((field, " \(record[field]!) "))
            }
        }
        for _ in 0..<Int.random(in: 1...2, using: &random) {
            guard let (field, spelling) = options.randomElement(using: &random) else { return }
            record.spellings[field] = spelling
        }
    }
}
