import ExchangeCore
import Testing

@testable import ExchangeRules

@Suite("Reference data: the files support edits are checked with file, line and reason")
struct ReferenceDataParserTests {
    let participants = [RuleWorld.ctc, RuleWorld.atc, RuleWorld.high, RuleWorld.otherHigh]

    func parse(_ files: [String: String]) throws(ConfigurationErrors) -> ReferenceData {
        try ReferenceDataParser.parse(participants: participants, files: files.mapValues { Array($0.utf8) })
    }

    func problems(_ files: [String: String]) -> [String] {
        do {
            _ = try parse(files)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    static let catalogHeader =
        "centerOrgId,schoolYear,ktsCourseNumber,sectionNumber,stateCourseCode,courseTitle,termCode,termBeginDate,termEndDate,credits,minutesPerDay\n"
    static let scaleHeader = "scaleCode,letter,minimum,maximum,passing\n"

    @Test("good files give the reference data the rules use")
    func good() throws {
        let reference = try parse([
            "catalog.csv": Self.catalogHeader + "165901,2026,WLD101,AM-01,480510,Welding I,FY,2025-08-13,2026-05-22,1.5,150\n",
            "grading-scales.csv": Self.scaleHeader + "KY10PT,A,90,100,true\nKY10PT,B,80,89.99,true\nKY10PT,I,,,false\n",
            "attendance-codes.csv": "centerOrgId,localCode,attendanceStatus,excuseStatus,description\n165901,UNK,A,UK,Unknown absence\n",
            "course-mappings.csv": "centerOrgId,ktsCourseNumber,homeSchoolOrgId,homeCourseNumber,homeCourseTitle,homeGradingScaleCode\n"
                + "165901,WLD101,*,CTE-WLD1,,\n",
            "calendars.csv": "orgId,schoolYear,kind,firstDate,lastDate,note\n165901,2026,instructional,2025-08-13,2026-05-22,year\n"
                + "165901,2026,closed,2025-11-26,2025-11-28,Thanksgiving\n",
            "schedule.conf": "# nightly\ngrade_posting_time = 21:30\ntime_zone = America/Chicago\nwaiver_window = 01-02..02-28\ndaily_summary_time = 07:15\n",
        ])
        #expect(reference.catalog.count == 1)
        #expect(reference.gradingScales["KY10PT"]?.band(numeric: 85)?.letter == "B")
        #expect(reference.gradingScales["KY10PT"]?.band(letter: "I")?.range == nil)
        #expect(reference.attendanceCodes["165901"]?["UNK"] == AttendanceCodeMeaning(status: "A", excuse: "UK"))
        #expect(reference.courseMapping(center: "165901", course: "WLD101", homeSchool: "061010")?.homeCourseNumber == "CTE-WLD1")
        #expect(reference.isInstructional(LocalDate("2025-11-25")!, at: "165901"))
        #expect(!reference.isInstructional(LocalDate("2025-11-26")!, at: "165901"))
        #expect(reference.previousInstructionalDay(before: LocalDate("2025-12-01")!, at: "165901") == LocalDate("2025-11-25"))
        #expect(reference.policy.gradePostingTime.description == "21:30")
        #expect(reference.policy.dailySummaryTime.description == "07:15")
        #expect(NightlySchedule(policy: reference.policy).time(of: .dailySummary).description == "07:15")
        #expect(reference.policy.timeZone == .central)
        #expect(reference.policy.waiverWindow.upperBound == MonthDay(month: 2, day: 28))
    }

    @Test("an unknown grading scale in a course mapping is refused with file and line")
    func unknownScale() {
        let found = problems([
            "course-mappings.csv": "centerOrgId,ktsCourseNumber,homeSchoolOrgId,homeCourseNumber,homeCourseTitle,homeGradingScaleCode\n"
                + "165901,WLD101,061010,CTE-WLD1,,NOPE\n"
        ])
        #expect(found == ["course-mappings.csv:2: homeGradingScaleCode 'NOPE' is not a scale in grading-scales.csv"])
    }

    @Test("overlapping bands of one scale are refused, naming both lines")
    func overlappingBands() {
        let found = problems(["grading-scales.csv": Self.scaleHeader + "KY10PT,A,90,100,true\nKY10PT,B,80,90,true\nOTHER,B,80,90,true\n"])
        #expect(found == ["grading-scales.csv:3: the band B 80-90 overlaps A 90-100 on line 2 of scale KY10PT"])
    }

    @Test("a catalog entry for an organisation that is not a center is refused")
    func catalogForUnknownCenter() {
        let found = problems([
            "catalog.csv": Self.catalogHeader + "999999,2026,WLD101,AM-01,480510,Welding I,FY,2025-08-13,2026-05-22,1.5,150\n"
                + "061010,2026,WLD101,AM-01,480510,Welding I,FY,2025-08-13,2026-05-22,1.5,150\n"
        ])
        #expect(found == [
            "catalog.csv:2: centerOrgId '999999' is not in participants.csv",
            "catalog.csv:3: centerOrgId 061010 is A1, not a technical center (A2 or C2)",
        ])
    }

    @Test("every problem of every file is reported at once", arguments: [
        ("catalog.csv", catalogHeader + "165901,2026,WLD101,AM-01,48051,Welding I,XX,2026-05-22,2025-08-13,11,0\n",
         ["stateCourseCode '48051'", "termCode 'XX'", "credits '11'", "minutesPerDay '0'", "termBeginDate 2026-05-22 is after termEndDate"]),
        ("catalog.csv", catalogHeader + "165901,2026,WLD101,AM-01,480510,Welding,FY,2025-08-13,2026-05-22,1,150\n"
            + "165901,2026,WLD101,AM-01,480510,Welding,FY,2025-08-13,2026-05-22,1,150\n", ["listed twice (first on line 2)"]),
        ("attendance-codes.csv", "centerOrgId,localCode,attendanceStatus,excuseStatus,description\n165901,PRS,P,EX,x\n165901,ABS,A,,x\n",
         ["excuseStatus must be empty for P", "excuseStatus '' must be EX, UX, UK or XM for A"]),
        ("calendars.csv", "orgId,schoolYear,kind,firstDate,lastDate,note\n165901,2026,holiday,2026-07-01,2026-07-02,x\n",
         ["kind 'holiday'", "not inside school year 2026"]),
        ("schedule.conf", "grade_posting_time = 25:00\nnightly = yes\ncatch_up_days = -1\n",
         ["schedule.conf:1: 'grade_posting_time' is '25:00'", "schedule.conf:2: unknown setting 'nightly'", "schedule.conf:3:"]),
        ("grading-scales.csv", "scaleCode,letter,minimum\nKY10PT,A,90\n", ["the header is 'scaleCode,letter,minimum'"]),
    ])
    func problemsReported(file: String, text: String, expected: [String]) {
        let found = problems([file: text])
        for fragment in expected {
            #expect(found.contains { $0.contains(fragment) }, "\(fragment) not in \(found)")
        }
        #expect(found.allSatisfy { $0.hasPrefix(file + ":") })
    }

    @Test("participants.csv takes the optional unknownSync column and refuses it for a center")
    func participantsUnknownSync() throws {
        let good = "orgId,name,classification,timeZone,outputFormat,doneMarker,unknownSync\n061010,High,A1,America/New_York,same,false,true\n"
        #expect(try ConfigurationParser.participants(from: Array(good.utf8)).first?.unknownSync == true)
        let old = "orgId,name,classification,timeZone,outputFormat,doneMarker\n061010,High,A1,America/New_York,same,false\n"
        #expect(try ConfigurationParser.participants(from: Array(old.utf8)).first?.unknownSync == false)
        let bad = "orgId,name,classification,timeZone,outputFormat,doneMarker,unknownSync\n165901,CTC,A2,America/New_York,same,false,true\n"
        #expect(throws: ConfigurationErrors.self) { try ConfigurationParser.participants(from: Array(bad.utf8)) }
    }
}

@Suite("Kentucky time and the nightly schedule")
struct ScheduleTests {
    @Test("Eastern and Central local time across both daylight-saving changes")
    func localTime() {
        // 2026-03-08 07:00Z is 03:00 EDT (the change at 2:00 EST); 06:59Z is 01:59 EST.
        #expect(KentuckyZone.eastern.local(Timestamp(secondsSinceEpoch: 1_772_953_200)).minutes == 3 * 60)
        #expect(KentuckyZone.eastern.local(Timestamp(secondsSinceEpoch: 1_772_953_140)).minutes == 1 * 60 + 59)
        // 2026-11-01 06:00Z is 01:00 EST (back from 02:00 EDT); Central changes an hour later: 06:59Z is
        // 01:59 CDT, 07:00Z is 01:00 CST.
        #expect(KentuckyZone.eastern.local(Timestamp(secondsSinceEpoch: 1_793_512_800)).minutes == 60)
        #expect(KentuckyZone.central.local(Timestamp(secondsSinceEpoch: 1_793_516_340)).minutes == 119)
        #expect(KentuckyZone.central.local(Timestamp(secondsSinceEpoch: 1_793_516_400)).minutes == 60)
        // Midnight UTC on January 15 is still January 14 in Kentucky.
        #expect(KentuckyZone.eastern.local(Timestamp(secondsSinceEpoch: 1_768_435_200)).date == LocalDate("2026-01-14"))
        let date = LocalDate("2026-07-04")!
        let instant = KentuckyZone.central.instant(of: date, at: TimeOfDay("22:00")!)
        #expect(KentuckyZone.central.local(instant).date == date)
        #expect(KentuckyZone.central.local(instant).minutes == 22 * 60)
    }

    @Test("dates: weekdays, school years, parsing")
    func dates() {
        #expect(LocalDate("2026-01-12")?.isoweekdayName == "Monday")
        #expect(LocalDate("2025-07-01")?.schoolYear == 2026)
        #expect(LocalDate("2026-06-30")?.schoolYear == 2026)
        #expect(LocalDate("2026-02-30") == nil)
        #expect(LocalDate("2026-1-5") == nil)
        #expect(LocalDate("2024-02-29")?.description == "2024-02-29")
    }

    @Test("a job is due once its local time has passed; a new installation starts with the latest night")
    func dueTonight() {
        let schedule = NightlySchedule(policy: ExchangePolicy())
        let evening = KentuckyZone.eastern.instant(of: LocalDate("2026-01-14")!, at: TimeOfDay("22:05")!)
        let afternoon = KentuckyZone.eastern.instant(of: LocalDate("2026-01-14")!, at: TimeOfDay("15:00")!)
        #expect(schedule.dueNights(of: .gradePosting, now: evening, lastNight: nil) == [LocalDate("2026-01-14")!])
        #expect(schedule.dueNights(of: .gradePosting, now: afternoon, lastNight: LocalDate("2026-01-13")).isEmpty)
        #expect(schedule.dueNights(of: .gradePosting, now: evening, lastNight: LocalDate("2026-01-14")).isEmpty)
        #expect(schedule.nextTime(of: .gradePosting, after: afternoon) == KentuckyZone.eastern.instant(of: LocalDate("2026-01-14")!, at: TimeOfDay("22:00")!))
    }

    @Test("after downtime every missed night is caught up once, at most catch_up_days back")
    func catchUp() {
        var policy = ExchangePolicy()
        policy.catchUpDays = 3
        let schedule = NightlySchedule(policy: policy)
        let now = KentuckyZone.eastern.instant(of: LocalDate("2026-01-20")!, at: TimeOfDay("06:00")!)
        #expect(schedule.dueNights(of: .unknownSync, now: now, lastNight: LocalDate("2026-01-18")) == [LocalDate("2026-01-19")!, LocalDate("2026-01-20")!])
        #expect(schedule.dueNights(of: .unknownSync, now: now, lastNight: LocalDate("2026-01-01")) == (18...20).map { LocalDate("2026-01-\($0)")! })
    }
}

extension LocalDate {
    var isoweekdayName: String { ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][isoWeekday - 1] }
}

@Suite("Grade posting and the unknown-attendance sync pick and map records")
struct PostingTests {
    func grade(_ change: (inout [String: String]) -> Void = { _ in }, recipient: String = "061010", deleted: Bool = false) -> HeldRecord {
        var values = RuleWorld.gradeValues
        change(&values)
        return HeldRecord(
            type: .grades, naturalKey: NaturalKey.of(.grades, values), senderOrgId: "165901", recipientOrgId: recipient, schoolYear: 2026,
            values: values, receiptId: "R7", acceptedAt: RuleWorld.received, deleted: deleted)
    }

    @Test("a mapped course gets the high school's number, title and scale (the letter from the numeric grade)")
    func mapped() {
        let rows = GradePosting.rows(for: [GradeToPost(grade: grade(), postedBefore: false)], reference: RuleWorld.reference)
        let row = rows["061010"]?.first
        #expect(row?["homeCourseNumber"] == "CTE-WLD1")
        #expect(row?["courseTitle"] == "Welding Technology I")
        #expect(row?["gradingScaleCode"] == "HS7PT")
        #expect(row?["letterGrade"] == "B")  // 88 is B on HS7PT (85-92.99) and on KY10PT
        #expect(row?["sourceLetterGrade"] == "B")
        #expect(row?["passing"] == "true")
        #expect(row?["action"] == "add")
        let low = GradePosting.rows(
            for: [GradeToPost(grade: grade({ $0["numericGrade"] = "80"; $0["courseAttemptResult"] = nil; $0["gradeType"] = "PROGRESS" }), postedBefore: true)],
            reference: RuleWorld.reference)["061010"]?.first
        #expect(low?["letterGrade"] == "C")  // 80 is B at the center, C at the high school
        #expect(low?["action"] == "update")
    }

    @Test("an unmapped course keeps the center's scale; passing follows the result")
    func unmapped() {
        let row = GradePosting.rows(
            for: [GradeToPost(grade: grade({ $0["courseAttemptResult"] = "FAIL"; $0["letterGrade"] = "F"; $0["numericGrade"] = "50" }, recipient: "165020"), postedBefore: false)],
            reference: RuleWorld.reference)["165020"]?.first
        #expect(row?["gradingScaleCode"] == "KY10PT")
        #expect(row?["homeCourseNumber"] == nil)
        #expect(row?["courseTitle"] == "Welding I")
        #expect(row?["passing"] == "false")
    }

    @Test("a grade deleted before it was ever posted is not posted; one posted before is posted as a delete")
    func deletes() {
        #expect(GradePosting.rows(for: [GradeToPost(grade: grade(deleted: true), postedBefore: false)], reference: RuleWorld.reference).isEmpty)
        #expect(GradePosting.rows(for: [GradeToPost(grade: grade(deleted: true), postedBefore: true)], reference: RuleWorld.reference)["061010"]?.first?["action"] == "delete")
    }

    @Test("the sync takes unknown absences only, not resolved or deleted ones")
    func unknownSync() {
        func attendance(_ excuse: String, deleted: Bool = false, period: String = "AM") -> HeldRecord {
            var values = RuleWorld.attendanceValues
            values["excuseStatus"] = excuse
            values["periodCode"] = period
            return HeldRecord(
                type: .attendance, naturalKey: NaturalKey.of(.attendance, values), senderOrgId: "165901", recipientOrgId: "061010",
                schoolYear: 2026, values: values, receiptId: "R8", acceptedAt: RuleWorld.received, deleted: deleted)
        }
        let rows = UnknownAttendanceSync.rows(from: [attendance("UK"), attendance("EX", period: "PM"), attendance("UK", deleted: true, period: "X")])
        #expect(rows.count == 1)
        #expect(rows.first?["excuseStatus"] == "UK")
        #expect(rows.first?["receiptId"] == "R8")
    }
}

@Suite("Canonical values: a record read from one binding stays valid in the other")
struct FieldValuesTests {
    @Test("booleans, numbers, times and date-times", arguments: [
        ("1", TableSchema.FieldType.boolean, "true"), ("False", .boolean, "false"), ("+05.50", .number, "5.5"), ("1E2", .number, "100"),
        ("-0", .number, "0"), (".5", .number, "0.5"), ("+7", .integer, "7"), ("2026", .integer, "2026"), ("10:05:00", .time, "10:05:00"),
        ("2026-01-12 08:00:00-0500", .datetime, "2026-01-12T08:00:00-05:00"), ("2026-01-12T08:00Z", .datetime, "2026-01-12T08:00:00Z"),
        ("2026-01-12T08:00:00.25+00:00", .datetime, "2026-01-12T08:00:00.25Z"), ("Lee, Pat", .string, "Lee, Pat"),
    ])
    func canonical(value: String, type: TableSchema.FieldType, expected: String) {
        #expect(FieldValues.canonical(value, as: type) == expected)
    }
}
