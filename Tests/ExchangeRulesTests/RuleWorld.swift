import ExchangeCore

@testable import ExchangeRules

/// A small exchange for rule tests: a CTC (165901, A2), an ATC (061014, C2), two high schools, one
/// catalog section, a code map, two grading scales, a calendar, and one enrolled student.
enum RuleWorld {
    static let ctc = Participant(orgId: "165901", name: "Bluegrass CTC", classification: .a2)
    static let atc = Participant(orgId: "061014", name: "Ridgeline ATC", classification: .c2)
    static let high = Participant(orgId: "061010", name: "Ridgeline High", classification: .a1, unknownSync: true)
    static let otherHigh = Participant(orgId: "165020", name: "Central High", classification: .a1, timeZone: "America/Chicago")

    static let section = CatalogSection(
        centerOrgId: "165901", schoolYear: 2026, ktsCourseNumber: "WLD101", sectionNumber: "AM-01", stateCourseCode: "480510",
        courseTitle: "Welding I", termCode: "FY", termDates: LocalDate("2025-08-13")!...LocalDate("2026-05-22")!, credits: 1.5,
        minutesPerDay: 150)

    static let reference = ReferenceData(
        participants: [ctc, atc, high, otherHigh], catalog: [section],
        attendanceCodes: ["165901": ["UNK": AttendanceCodeMeaning(status: "A", excuse: "UK"), "PRS": AttendanceCodeMeaning(status: "P", excuse: "")]],
        gradingScales: [
            GradingScale(code: "KY10PT", bands: [
                .init(letter: "A", range: 90...100, passing: true), .init(letter: "B", range: 80...89.99, passing: true),
                .init(letter: "C", range: 70...79.99, passing: true), .init(letter: "D", range: 60...69.99, passing: true),
                .init(letter: "F", range: 0...59.99, passing: false), .init(letter: "I", range: nil, passing: false),
            ]),
            GradingScale(code: "HS7PT", bands: [
                .init(letter: "A", range: 93...100, passing: true), .init(letter: "B", range: 85...92.99, passing: true),
                .init(letter: "C", range: 77...84.99, passing: true), .init(letter: "D", range: 70...76.99, passing: true),
                .init(letter: "F", range: 0...69.99, passing: false),
            ]),
        ],
        courseMappings: [
            CourseMapping(
                centerOrgId: "165901", ktsCourseNumber: "WLD101", homeSchoolOrgId: "061010", homeCourseNumber: "CTE-WLD1",
                homeCourseTitle: "Welding Technology I", homeGradingScaleCode: "HS7PT")
        ],
        calendars: ["165901": [2026: InstructionalCalendar(
            instructional: [LocalDate("2025-08-13")!...LocalDate("2026-05-22")!],
            closed: [LocalDate("2025-11-26")!...LocalDate("2025-11-28")!])]])

    /// 2025-10-15 15:00 Eastern.
    static let received = Timestamp(secondsSinceEpoch: 1_760_554_800)

    static let enrollmentValues: [String: String] = [
        "recordId": "11111111-1111-4111-8111-111111111111", "action": "add", "schoolYear": "2026", "ssid": "1234567890",
        "lastName": "Doe", "firstName": "Jo", "birthDate": "2009-04-01", "gradeLevel": "11", "homeSchoolOrgId": "061010",
        "techCenterOrgId": "165901", "ktsCourseNumber": "WLD101", "sectionNumber": "AM-01", "stateCourseCode": "480510",
        "termCode": "FY", "entryDate": "2025-08-13", "lastModified": "2025-08-01T09:00:00-04:00",
    ]

    static let attendanceValues: [String: String] = [
        "recordId": "22222222-2222-4222-8222-222222222222", "action": "add", "schoolYear": "2026", "ssid": "1234567890",
        "techCenterOrgId": "165901", "homeSchoolOrgId": "061010", "ktsCourseNumber": "WLD101", "sectionNumber": "AM-01",
        "granularity": "PERIOD", "attendanceDate": "2025-10-14", "periodCode": "AM", "attendanceStatus": "A", "excuseStatus": "UK",
        "absentMinutes": "150", "recordedDateTime": "2025-10-14T09:00:00-04:00", "lastModified": "2025-10-14T09:00:00-04:00",
    ]

    static let gradeValues: [String: String] = [
        "recordId": "33333333-3333-4333-8333-333333333333", "action": "add", "schoolYear": "2026", "ssid": "1234567890",
        "techCenterOrgId": "165901", "homeSchoolOrgId": "061010", "ktsCourseNumber": "WLD101", "sectionNumber": "AM-01",
        "stateCourseCode": "480510", "gradeType": "FINAL", "gradingPeriodCode": "S1", "gradingPeriodBeginDate": "2025-08-13",
        "gradingPeriodEndDate": "2025-10-10", "gradingScaleCode": "KY10PT", "letterGrade": "B", "numericGrade": "88",
        "asOfDate": "2025-10-10", "courseAttemptResult": "PASS", "creditsAttempted": "1.5", "creditsEarned": "1.5",
        "postedDateTime": "2025-10-10T16:00:00-04:00",
    ]

    static let waiverValues: [String: String] = [
        "recordId": "44444444-4444-4444-8444-444444444444", "action": "submit", "centerOrgId": "165901", "centerName": "Bluegrass CTC",
        "centerClassification": "A2", "operatingDistrictNumber": "165", "waiverSchoolYear": "2027", "waiverScope": "FULL_EXCHANGE",
        "reasonCode": "ALT_SIS", "alternateProcess": "Paper rosters", "submitterName": "Pat Lee", "submitterTitle": "Principal",
        "submitterEmail": "pat@example.org", "superintendentApproval": "true", "approvalDate": "2026-01-10",
        "submittedDateTime": "2026-01-12T10:00:00-05:00",
    ]

    /// A valid record of each type partners send (none for the files the processor writes).
    static func values(of type: ExchangeType) -> [String: String] {
        switch type {
        case .enrollment: enrollmentValues
        case .attendance: attendanceValues
        case .grades: gradeValues
        case .waiver: waiverValues
        case .acknowledgement, .errorList, .gradePosting, .unknownAttendance, .waiverDecision, .dailySummary: [:]
        }
    }

    /// The student's enrollment, held.
    static var held: InMemoryHeldRecords {
        var held = InMemoryHeldRecords()
        held.hold(
            HeldRecord(
                type: .enrollment, naturalKey: NaturalKey.of(.enrollment, enrollmentValues), senderOrgId: "061010",
                recipientOrgId: "165901", schoolYear: 2026, values: enrollmentValues, receiptId: "R1", acceptedAt: received,
                deleted: false))
        return held
    }

    static func sender(of type: ExchangeType) -> String {
        type == .enrollment ? "061010" : "165901"
    }

    /// The codes the standard rule book gives a record of `type` changed by `change`.
    static func codes(
        _ type: ExchangeType, sender: String? = nil, held: InMemoryHeldRecords = held, received: Timestamp = received,
        reference: ReferenceData = reference, retired: Set<Int> = [], _ change: (inout [String: String]) -> Void = { _ in }
    ) -> [String] {
        violations(type, sender: sender, held: held, received: received, reference: reference, retired: retired, change).map(\.code.rawValue)
    }

    /// The violations the standard rule book finds in a record of `type` changed by `change`.
    static func violations(
        _ type: ExchangeType, sender: String? = nil, held: InMemoryHeldRecords = held, received: Timestamp = received,
        reference: ReferenceData = reference, retired: Set<Int> = [], _ change: (inout [String: String]) -> Void = { _ in }
    ) -> [RuleViolation] {
        var values = values(of: type)
        change(&values)
        let context = RuleContext(
            senderOrgId: sender ?? self.sender(of: type), reference: reference, held: held, receivedAt: received, retiredSchoolYears: retired)
        return RuleBook.standard.judge(RecordFacts(type: type, line: 2, values: values), context: context)
    }
}
