import Foundation

/// One organisation in `participants.csv` (DESIGN section 5).
struct Participant: Sendable {
    /// `DDDSSS`.
    var orgId: String
    var name: String
    /// `A1` high school, `A2` CTC (district-operated center), `C2` ATC (state-operated center).
    var classification: String
    /// `America/New_York` or `America/Chicago`.
    var timeZone: String
    /// `xml`, `csv` or `same`.
    var outputFormat: String
    /// A high school that takes the nightly unknown-attendance file.
    var unknownSync: Bool

    /// A technical center (A2 or C2).
    var isCenter: Bool { classification == "A2" || classification == "C2" }

    /// The binding of files this participant receives from others: its outputFormat, `same` meaning XML
    /// (DESIGN section 2).
    var receivedBinding: Binding { outputFormat == "csv" ? .csv : .xml }

    /// The binding of the answer (ack, error file) to a file sent in `sent`: the sent binding when
    /// outputFormat is `same`, else the outputFormat (DESIGN section 2).
    func answerBinding(forSent sent: Binding) -> Binding {
        switch outputFormat {
        case "xml": return .xml
        case "csv": return .csv
        default: return sent
        }
    }
}

/// A course section in a center's catalog (`catalog.csv`).
struct Section: Sendable, Hashable {
    var centerOrgId: String
    var course: String
    var section: String
    var stateCourseCode: String
    var title: String
    /// FY, S1 or S2.
    var termCode: String
    var termBegin: CivilDate
    var termEnd: CivilDate
    var credits: Int
    var minutesPerDay: Int

    /// The period code a PERIOD attendance record names: `AM` or `PM` from the section number.
    var periodCode: String { String(section.prefix(2)) }
}

/// A student with a home high school.
struct Student: Sendable {
    var ssid: String
    var homeSchool: String
    var lastName: String
    var firstName: String
    var middleName: String?
    var birthDate: CivilDate
    var gradeLevel: String
    var localNumber: String?
}

/// One band of a grading scale (`grading-scales.csv`); letters without bands (I) have no minimum or maximum.
struct ScaleBand: Sendable {
    var letter: String
    var minimum: Decimal?
    var maximum: Decimal?
    var passing: Bool
}

/// A grading scale.
struct GradingScale: Sendable {
    var code: String
    var bands: [ScaleBand]

    /// The band of `letter`.
    func band(_ letter: String) -> ScaleBand? { bands.first { $0.letter == letter } }

    /// The letter whose band holds `number`.
    func letter(for number: Decimal) -> ScaleBand? {
        bands.first { band in
            guard let min = band.minimum, let max = band.maximum else { return false }
            return min <= number && number <= max
        }
    }

    /// The lowest and highest number of the scale.
    var range: ClosedRange<Decimal> {
        let mins = bands.compactMap(\.minimum), maxs = bands.compactMap(\.maximum)
        return (mins.min() ?? 0)...(maxs.max() ?? 0)
    }
}

/// How a center's course appears at a high school (`course-mappings.csv`); `homeSchool` `*` is every school
/// without its own line.
struct CourseMapping: Sendable {
    var centerOrgId: String
    var course: String
    var homeSchool: String
    var homeCourseNumber: String
    var homeTitle: String
    var homeScale: String
}

/// A center's local attendance code and its meaning (`attendance-codes.csv`).
struct AttendanceCode: Sendable {
    var centerOrgId: String
    var localCode: String
    var status: String
    var excuse: String?
}

/// A planned enrollment of a student in a section (what the high school will send).
struct PlannedEnrollment: Sendable {
    var student: Student
    var section: Section
    var entryDate: CivilDate
    var exitDate: CivilDate?
    var exitReason: String?
    /// The simulated day the high school sends it (the first day for enrollments that began before).
    var sendDay: CivilDate
}

/// A random world: participants, reference data, students and their enrollments, and the days played.
struct World: Sendable {
    /// The seed that made it.
    var seed: UInt64
    /// Every participant; centers first.
    var participants: [Participant]
    var sections: [Section]
    var students: [Student]
    var scales: [GradingScale]
    var mappings: [CourseMapping]
    var codes: [AttendanceCode]
    /// Closed weekdays for every organisation's calendar (winter break aside).
    var closedDays: [CivilDate]
    /// The weekdays played, in order (some may be closed).
    var days: [CivilDate]
    /// The enrollments the high schools will send.
    var plannedEnrollments: [PlannedEnrollment]
    /// An orgId no participant has.
    var unknownOrgId: String
    /// The school year played.
    let schoolYear = 2026
    /// The zone of the job times (`schedule.conf`).
    let scheduleTimeZone = "America/New_York"
    /// `max_credits` of schedule.conf.
    let maxCredits: Decimal = 3

    /// Technical centers.
    var centers: [Participant] { participants.filter(\.isCenter) }
    /// High schools.
    var highSchools: [Participant] { participants.filter { $0.classification == "A1" } }

    /// The participant `orgId`.
    func participant(_ orgId: String) -> Participant? { participants.first { $0.orgId == orgId } }

    /// The instructional-day ranges of the calendars (the same for every organisation).
    static let yearBegin = CivilDate(2025, 8, 13), yearEnd = CivilDate(2026, 5, 22)
    static let winterBreak = CivilDate(2025, 12, 22)...CivilDate(2026, 1, 2)

    /// Whether `day` is instructional on the (shared) calendar: a weekday in the year, outside every closed range.
    func isInstructional(_ day: CivilDate) -> Bool {
        !day.isWeekend && day >= World.yearBegin && day <= World.yearEnd && !World.winterBreak.contains(day)
            && !closedDays.contains(day)
    }

    /// The section `course`/`section` of a center.
    func section(center: String, course: String, section: String) -> Section? {
        sections.first { $0.centerOrgId == center && $0.course == course && $0.section == section }
    }

    /// The grading scale `code`.
    func scale(_ code: String) -> GradingScale? { scales.first { $0.code == code } }

    /// The course mapping for a grade of `center`'s `course` posted to `homeSchool` (its own line, else `*`).
    func mapping(center: String, course: String, homeSchool: String) -> CourseMapping? {
        mappings.first { $0.centerOrgId == center && $0.course == course && $0.homeSchool == homeSchool }
            ?? mappings.first { $0.centerOrgId == center && $0.course == course && $0.homeSchool == "*" }
    }
}

extension World {
    /// Builds the world of `seed`: 1–5 centers, 1–8 high schools, 10–200 students, 3–6 weekdays from
    /// Monday 2026-01-12.
    static func generate(seed: UInt64) -> World {
        var random = SeededRandom(seed: seed)
        let zones = ["America/New_York", "America/Chicago"]
        var usedIds = Set<String>()
        func newOrgId(school: ClosedRange<Int>) -> String {
            while true {
                let id = String(format: "%03d%03d", Int.random(in: 1...199, using: &random), Int.random(in: school, using: &random))
                if usedIds.insert(id).inserted { return id }
            }
        }
        let centerCount = Int.random(in: 1...5, using: &random)
        let schoolCount = Int.random(in: 1...8, using: &random)
        var participants: [Participant] = []
        for index in 0..<centerCount {
            // Both classes in every world with two centers or more.
            let classification = index == 0 ? "C2" : index == 1 ? "A2" : (random.chance(0.5) ? "A2" : "C2")
            participants.append(Participant(
                orgId: newOrgId(school: 900...999), name: "Center \(index + 1) \(classification == "C2" ? "Area Technology Center" : "Career and Technical Center")",
                classification: classification, timeZone: zones.randomElement(using: &random)!,
                outputFormat: ["xml", "csv", "same"].randomElement(using: &random)!, unknownSync: false))
        }
        for index in 0..<schoolCount {
            // Every outputFormat and both unknownSync values show up across worlds; the first three schools take
            // one format each so that a world with three schools or more has all of them.
            let format = index < 3 ? ["xml", "csv", "same"][(index + Int(seed % 3)) % 3] : ["xml", "csv", "same"].randomElement(using: &random)!
            participants.append(Participant(
                orgId: newOrgId(school: 10...99), name: "High School \(index + 1)", classification: "A1",
                timeZone: zones.randomElement(using: &random)!, outputFormat: format,
                unknownSync: index == 0 ? true : index == 1 ? false : random.chance(0.5)))
        }
        let unknownOrgId = newOrgId(school: 100...199)

        // Catalogs: 2–5 courses per center, one or two sections each, full year or second semester; sometimes a
        // first-semester course that ended before the days played (its students' final grades arrive now).
        let courseNames = [("WLD", "Welding"), ("AUT", "Automotive Maintenance"), ("CUL", "Culinary Arts"), ("IT", "Computer Essentials"),
                           ("ELE", "Electricity"), ("CAR", "Carpentry"), ("HVAC", "Heating and Air"), ("EMR", "Emergency Medical"),
                           ("DRF", "Drafting"), ("PHT", "Pharmacy Technician")]
        var sections: [Section] = []
        var mappings: [CourseMapping] = []
        var codes: [AttendanceCode] = []
        for center in participants where center.isCenter {
            let courses = courseNames.shuffled(using: &random).prefix(Int.random(in: 2...5, using: &random))
            for (courseIndex, course) in courses.enumerated() {
                let number = "\(course.0)\(101 + courseIndex)"
                let term = courseIndex == 0 ? "FY" : ["FY", "FY", "S2", "S1"].randomElement(using: &random)!
                let (begin, end): (CivilDate, CivilDate) = switch term {
                case "S1": (World.yearBegin, CivilDate(2025, 12, 19))
                case "S2": (CivilDate(2026, 1, 5), World.yearEnd)
                default: (World.yearBegin, World.yearEnd)
                }
                let stateCode = String(format: "%06d", Int.random(in: 100_000...499_999, using: &random))
                let sectionNames = random.chance(0.5) ? ["AM-01", "PM-01"] : [random.chance(0.5) ? "AM-01" : "PM-02"]
                for name in sectionNames {
                    sections.append(Section(
                        centerOrgId: center.orgId, course: number, section: name, stateCourseCode: stateCode,
                        title: "\(course.1) \(courseIndex + 1)", termCode: term, termBegin: begin, termEnd: end,
                        credits: term == "FY" ? 2 : 1, minutesPerDay: [120, 150, 165, 180].randomElement(using: &random)!))
                }
                // Mappings: none, one for every school, or one for a school on its own seven-point scale.
                switch Int.random(in: 0..<3, using: &random) {
                case 1:
                    mappings.append(CourseMapping(centerOrgId: center.orgId, course: number, homeSchool: "*",
                                                  homeCourseNumber: "CTE-\(number)", homeTitle: "\(course.1) Technology", homeScale: "KY10PT"))
                case 2:
                    let school = participants.filter { $0.classification == "A1" }.randomElement(using: &random)!
                    mappings.append(CourseMapping(centerOrgId: center.orgId, course: number, homeSchool: school.orgId,
                                                  homeCourseNumber: "HS.\(number)", homeTitle: "\(course.1) (HS)", homeScale: "HS7PT"))
                default: break
                }
            }
            codes += [
                AttendanceCode(centerOrgId: center.orgId, localCode: "PRS", status: "P", excuse: nil),
                AttendanceCode(centerOrgId: center.orgId, localCode: "UNK", status: "A", excuse: "UK"),
                AttendanceCode(centerOrgId: center.orgId, localCode: "EXC", status: "A", excuse: "EX"),
                AttendanceCode(centerOrgId: center.orgId, localCode: "UNX", status: "A", excuse: "UX"),
                AttendanceCode(centerOrgId: center.orgId, localCode: "TUX", status: "T", excuse: "UX"),
                AttendanceCode(centerOrgId: center.orgId, localCode: "TUK", status: "T", excuse: "UK"),
                AttendanceCode(centerOrgId: center.orgId, localCode: "ERL", status: "E", excuse: "EX"),
            ]
        }
        let scales = [
            GradingScale(code: "KY10PT", bands: [
                ScaleBand(letter: "A", minimum: 90, maximum: 100, passing: true),
                ScaleBand(letter: "B", minimum: 80, maximum: Decimal(string: "89.99"), passing: true),
                ScaleBand(letter: "C", minimum: 70, maximum: Decimal(string: "79.99"), passing: true),
                ScaleBand(letter: "D", minimum: 60, maximum: Decimal(string: "69.99"), passing: true),
                ScaleBand(letter: "F", minimum: 0, maximum: Decimal(string: "59.99"), passing: false),
                ScaleBand(letter: "I", minimum: nil, maximum: nil, passing: false),
            ]),
            GradingScale(code: "HS7PT", bands: [
                ScaleBand(letter: "A", minimum: 93, maximum: 100, passing: true),
                ScaleBand(letter: "B", minimum: 85, maximum: Decimal(string: "92.99"), passing: true),
                ScaleBand(letter: "C", minimum: 77, maximum: Decimal(string: "84.99"), passing: true),
                ScaleBand(letter: "D", minimum: 70, maximum: Decimal(string: "76.99"), passing: true),
                ScaleBand(letter: "F", minimum: 0, maximum: Decimal(string: "69.99"), passing: false),
            ]),
        ]

        // Days: 3–6 weekdays from Monday 2026-01-12 (Martin Luther King Jr. Day, the 19th, is closed); sometimes
        // a snow day.
        var days: [CivilDate] = []
        var day = CivilDate(2026, 1, 12)
        let dayCount = Int.random(in: 3...6, using: &random)
        while days.count < dayCount {
            if !day.isWeekend { days.append(day) }
            day = day.adding(1)
        }
        var closedDays = [CivilDate(2026, 1, 19)]
        if random.chance(0.4) { closedDays.append(days[Int.random(in: 1..<days.count, using: &random)]) }

        // Students and the enrollments their high schools will send.
        let lastNames = ["Adams", "O'Brien", "García", "Begley", "Sizemore", "Hensley", "Caudill", "Whitaker, Jr.", "Muñoz", "Combs",
                         "Nguyễn", "Van Meter", "\"Doc\" Holliday", "Lê"]
        let firstNames = ["Aiden", "Brayden", "Caleb", "Emma", "Hailey", "José", "Kaylee", "Madison", "Noah", "Zoë", "Renée", "Anh"]
        var students: [Student] = []
        var planned: [PlannedEnrollment] = []
        let studentCount = Int.random(in: 10...200, using: &random)
        let schools = participants.filter { $0.classification == "A1" }
        let current = sections.filter { $0.termCode != "S1" }
        let firstSemester = sections.filter { $0.termCode == "S1" }
        var ssids = Set<String>()
        for index in 0..<studentCount {
            var ssid: String
            repeat { ssid = String(Int.random(in: 1_000_000_000...9_999_999_999, using: &random)) } while !ssids.insert(ssid).inserted
            let student = Student(
                ssid: ssid, homeSchool: schools[index % schools.count].orgId,
                lastName: lastNames.randomElement(using: &random)!, firstName: firstNames.randomElement(using: &random)!,
                middleName: random.chance(0.3) ? "Lynn" : nil,
                birthDate: CivilDate(2008, 1, 1).adding(Int.random(in: 0...900, using: &random)),
                gradeLevel: ["09", "10", "11", "12"].randomElement(using: &random)!,
                localNumber: random.chance(0.5) ? String(Int.random(in: 100_000...999_999, using: &random)) : nil)
            students.append(student)
            // One current section, sometimes a second one (possibly at another center); late starters begin on a
            // day played.
            var chosen: [Section] = [current.randomElement(using: &random)!]
            if random.chance(0.3), let other = current.randomElement(using: &random), other.course != chosen[0].course || other.centerOrgId != chosen[0].centerOrgId {
                chosen.append(other)
            }
            for section in chosen {
                let lateStart = random.chance(0.12) && days.count > 1
                let sendDay = lateStart ? days[Int.random(in: 1..<days.count, using: &random)] : days[0]
                let entry = lateStart ? sendDay : section.termBegin
                planned.append(PlannedEnrollment(student: student, section: section, entryDate: entry, exitDate: nil, exitReason: nil, sendDay: sendDay))
            }
            if let finished = firstSemester.randomElement(using: &random), random.chance(0.3) {
                planned.append(PlannedEnrollment(student: student, section: finished, entryDate: finished.termBegin, exitDate: finished.termEnd,
                                                 exitReason: "COMPLETED", sendDay: days[0]))
            }
        }
        return World(seed: seed, participants: participants, sections: sections, students: students, scales: scales, mappings: mappings,
                     codes: codes, closedDays: closedDays, days: days, plannedEnrollments: planned, unknownOrgId: unknownOrgId)
    }

    /// A one-line description for reports.
    var summary: String {
        let centerText = centers.map { "\($0.orgId)(\($0.classification),\($0.outputFormat),\($0.timeZone.hasSuffix("York") ? "ET" : "CT"))" }
        let schoolText = highSchools.map { "\($0.orgId)(\($0.outputFormat)\($0.unknownSync ? ",sync" : ""))" }
        return "world seed \(seed): centers \(centerText.joined(separator: " ")); schools \(schoolText.joined(separator: " ")); "
            + "\(students.count) students; days \(days.first!)…\(days.last!) (\(days.count)); closed \(closedDays.map(\.iso).joined(separator: ","))"
    }
}
