import ExchangeCore

/// One section of a technical center's KTS course catalog for a school year (`catalog.csv`).
public struct CatalogSection: Sendable, Equatable {
    /// The center.
    public var centerOrgId: String
    /// The school year, by its end year.
    public var schoolYear: Int
    /// The KTS course number.
    public var ktsCourseNumber: String
    /// The section.
    public var sectionNumber: String
    /// The Kentucky state course code taught in the section.
    public var stateCourseCode: String
    /// The course title.
    public var courseTitle: String
    /// The term (FY, S1, ...).
    public var termCode: String
    /// First and last day of the section's term.
    public var termDates: ClosedRange<LocalDate>
    /// Credits a full attempt earns.
    public var credits: Double
    /// Length of the section's class time per day, in minutes.
    public var minutesPerDay: Int

    /// Creates a section.
    public init(
        centerOrgId: String, schoolYear: Int, ktsCourseNumber: String, sectionNumber: String, stateCourseCode: String,
        courseTitle: String, termCode: String, termDates: ClosedRange<LocalDate>, credits: Double, minutesPerDay: Int
    ) {
        self.centerOrgId = centerOrgId
        self.schoolYear = schoolYear
        self.ktsCourseNumber = ktsCourseNumber
        self.sectionNumber = sectionNumber
        self.stateCourseCode = stateCourseCode
        self.courseTitle = courseTitle
        self.termCode = termCode
        self.termDates = termDates
        self.credits = credits
        self.minutesPerDay = minutesPerDay
    }

    /// The catalog key of the section.
    public var key: CatalogKey {
        CatalogKey(centerOrgId: centerOrgId, schoolYear: schoolYear, ktsCourseNumber: ktsCourseNumber, sectionNumber: sectionNumber)
    }
}

/// Identifies a catalog section.
public struct CatalogKey: Sendable, Hashable {
    /// The center.
    public var centerOrgId: String
    /// The school year.
    public var schoolYear: Int
    /// The KTS course number.
    public var ktsCourseNumber: String
    /// The section.
    public var sectionNumber: String

    /// Creates a key.
    public init(centerOrgId: String, schoolYear: Int, ktsCourseNumber: String, sectionNumber: String) {
        self.centerOrgId = centerOrgId
        self.schoolYear = schoolYear
        self.ktsCourseNumber = ktsCourseNumber
        self.sectionNumber = sectionNumber
    }
}

/// What a center's local attendance code means (`attendance-codes.csv`).
public struct AttendanceCodeMeaning: Sendable, Equatable {
    /// P, A, T or E.
    public var status: String
    /// EX, UX, UK, XM, or "" for present.
    public var excuse: String

    /// Creates a meaning.
    public init(status: String, excuse: String) {
        self.status = status
        self.excuse = excuse
    }
}

/// A grading scale: letters with optional numeric bands and whether each passes (`grading-scales.csv`).
public struct GradingScale: Sendable, Equatable {
    /// One letter of the scale.
    public struct Band: Sendable, Equatable {
        /// The letter (A, B, ..., I).
        public var letter: String
        /// The numeric range of the letter; nil for a letter with no numeric meaning (I for incomplete).
        public var range: ClosedRange<Double>?
        /// Whether the letter passes the course (athletic eligibility).
        public var passing: Bool

        /// Creates a band.
        public init(letter: String, range: ClosedRange<Double>?, passing: Bool) {
            self.letter = letter
            self.range = range
            self.passing = passing
        }
    }

    /// The scale's code, e.g. KY10PT.
    public var code: String
    /// The letters, in file order.
    public var bands: [Band]

    /// Creates a scale.
    public init(code: String, bands: [Band]) {
        self.code = code
        self.bands = bands
    }

    /// The band of a letter.
    public func band(letter: String) -> Band? { bands.first { $0.letter == letter } }

    /// The band whose range holds `value`.
    public func band(numeric value: Double) -> Band? { bands.first { $0.range?.contains(value) ?? false } }

    /// The lowest and highest numeric grade of the scale.
    public var numericRange: ClosedRange<Double>? {
        let ranges = bands.compactMap(\.range)
        guard let low = ranges.map(\.lowerBound).min(), let high = ranges.map(\.upperBound).max() else { return nil }
        return low...high
    }
}

/// How a center's course appears at a high school (`course-mappings.csv`).
public struct CourseMapping: Sendable, Equatable {
    /// The center.
    public var centerOrgId: String
    /// The center's KTS course number.
    public var ktsCourseNumber: String
    /// The high school, or `*` for every high school without a mapping of its own.
    public var homeSchoolOrgId: String
    /// The high school's course number.
    public var homeCourseNumber: String
    /// The high school's course title ("" keeps the center's).
    public var homeCourseTitle: String
    /// The high school's grading scale ("" keeps the center's scale).
    public var homeGradingScaleCode: String

    /// Creates a mapping.
    public init(
        centerOrgId: String, ktsCourseNumber: String, homeSchoolOrgId: String, homeCourseNumber: String, homeCourseTitle: String,
        homeGradingScaleCode: String
    ) {
        self.centerOrgId = centerOrgId
        self.ktsCourseNumber = ktsCourseNumber
        self.homeSchoolOrgId = homeSchoolOrgId
        self.homeCourseNumber = homeCourseNumber
        self.homeCourseTitle = homeCourseTitle
        self.homeGradingScaleCode = homeGradingScaleCode
    }
}

/// An organisation's instructional days in one school year (`calendars.csv`): weekdays inside an
/// `instructional` range and outside every `closed` range.
public struct InstructionalCalendar: Sendable, Equatable {
    /// Ranges of instructional weekdays.
    public var instructional: [ClosedRange<LocalDate>]
    /// Ranges of days without instruction (holidays, breaks).
    public var closed: [ClosedRange<LocalDate>]

    /// Creates a calendar.
    public init(instructional: [ClosedRange<LocalDate>] = [], closed: [ClosedRange<LocalDate>] = []) {
        self.instructional = instructional
        self.closed = closed
    }

    /// Whether students are taught on `date`.
    public func isInstructional(_ date: LocalDate) -> Bool {
        date.isWeekday && instructional.contains { $0.contains(date) } && !closed.contains { $0.contains(date) }
    }
}

/// Job times and thresholds (`schedule.conf`).
public struct ExchangePolicy: Sendable, Equatable {
    /// The zone of the job times and of the waiver window (Frankfort's by default).
    public var timeZone = KentuckyZone.eastern
    /// When the nightly grade posting runs.
    public var gradePostingTime = TimeOfDay("22:00")!
    /// When the nightly unknown-attendance sync runs.
    public var unknownSyncTime = TimeOfDay("05:30")!
    /// When each participant's summary of the day before is written (local time).
    public var dailySummaryTime = TimeOfDay("06:00")!
    /// How many past nights a restarted service catches up.
    public var catchUpDays = 7
    /// First and last day (month, day) of the waiver window, inclusive.
    public var waiverWindow = MonthDay(month: 1, day: 1)...MonthDay(month: 3, day: 1)
    /// The most credits one grade may carry.
    public var maxCredits = 3.0
    /// Hours an outbound file may wait before it is reported as not picked up.
    public var pickupThresholdHours = 48
    /// Instructional days without attendance after which a center counts as quiet.
    public var quietDays = 3

    /// The defaults of DESIGN.md.
    public init() {}
}

/// A day of the year, for yearly windows.
public struct MonthDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 1–12.
    public var month: Int
    /// 1–31.
    public var day: Int

    /// Creates a month and day.
    public init(month: Int, day: Int) {
        self.month = month
        self.day = day
    }

    /// `MM-DD`.
    public var description: String { "\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)" }

    /// Orders days of the year.
    public static func < (lhs: MonthDay, rhs: MonthDay) -> Bool { (lhs.month, lhs.day) < (rhs.month, rhs.day) }
}

/// Everything the rules look up besides the roster: who takes part, the course catalog, attendance
/// code maps, grading scales, course mappings, calendars and the schedule. Loaded from the
/// configuration directory by `ReferenceDataParser`; immutable once loaded (a reload builds a new one).
public struct ReferenceData: Sendable {
    /// Participants by orgId.
    public var participants: [String: Participant]
    /// Catalog sections.
    public var catalog: [CatalogKey: CatalogSection]
    /// Local attendance codes by center, then code.
    public var attendanceCodes: [String: [String: AttendanceCodeMeaning]]
    /// Grading scales by code.
    public var gradingScales: [String: GradingScale]
    /// Course mappings by center, then KTS course number.
    public var courseMappings: [String: [String: [CourseMapping]]]
    /// Calendars by orgId, then school year.
    public var calendars: [String: [Int: InstructionalCalendar]]
    /// Schedule and thresholds.
    public var policy: ExchangePolicy

    /// Reference data with the given parts (all but participants default to empty).
    public init(
        participants: [Participant], catalog: [CatalogSection] = [], attendanceCodes: [String: [String: AttendanceCodeMeaning]] = [:],
        gradingScales: [GradingScale] = [], courseMappings: [CourseMapping] = [],
        calendars: [String: [Int: InstructionalCalendar]] = [:], policy: ExchangePolicy = ExchangePolicy()
    ) {
        self.participants = Dictionary(participants.map { ($0.orgId, $0) }, uniquingKeysWith: { first, _ in first })
        self.catalog = Dictionary(catalog.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        self.attendanceCodes = attendanceCodes
        self.gradingScales = Dictionary(gradingScales.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
        var mappings: [String: [String: [CourseMapping]]] = [:]
        for mapping in courseMappings { mappings[mapping.centerOrgId, default: [:]][mapping.ktsCourseNumber, default: []].append(mapping) }
        self.courseMappings = mappings
        self.calendars = calendars
        self.policy = policy
    }

    /// The mapping of a center's course at a high school: its own, else the center's `*` mapping.
    public func courseMapping(center: String, course: String, homeSchool: String) -> CourseMapping? {
        let candidates = courseMappings[center]?[course] ?? []
        return candidates.first { $0.homeSchoolOrgId == homeSchool } ?? candidates.first { $0.homeSchoolOrgId == "*" }
    }

    /// The calendar of an organisation for a school year, if configured.
    public func calendar(_ orgId: String, schoolYear: Int) -> InstructionalCalendar? { calendars[orgId]?[schoolYear] }

    /// Whether `date` is an instructional day at `orgId`: by its calendar when it has one for the year,
    /// else any weekday.
    public func isInstructional(_ date: LocalDate, at orgId: String) -> Bool {
        calendar(orgId, schoolYear: date.schoolYear)?.isInstructional(date) ?? date.isWeekday
    }

    /// The last instructional day at `orgId` before `date` (looking back at most a year).
    public func previousInstructionalDay(before date: LocalDate, at orgId: String) -> LocalDate? {
        var day = date.adding(days: -1)
        for _ in 0..<366 {
            if isInstructional(day, at: orgId) { return day }
            day = day.adding(days: -1)
        }
        return nil
    }

    /// The zone of a participant (Eastern when unknown).
    public func zone(of orgId: String) -> KentuckyZone {
        participants[orgId].flatMap { KentuckyZone(ianaName: $0.timeZone) } ?? .eastern
    }
}
