/// The namespace of every KTS Exchange XML document.
public let ktsxNamespace = "urn:ky:kde:ktsx:1.0"

/// A kind of file that travels through the exchange: the four record types partners send, the two the
/// processor writes back for every file, and the four it derives (grade posting, unknown-attendance
/// sync, waiver decision, daily summary).
public enum ExchangeType: String, CaseIterable, Sendable, Codable {
    /// Enrollment (roster): home high school → technical center.
    case enrollment = "ENR"
    /// Attendance: technical center → home high school.
    case attendance = "ATT"
    /// Grades: technical center → home high school.
    case grades = "GRD"
    /// Waiver request: CTC → state.
    case waiver = "WVR"
    /// Acknowledgement: processor → sender.
    case acknowledgement = "ACK"
    /// Error list: processor → sender.
    case errorList = "ERR"
    /// Nightly grade posting: processor → home high school.
    case gradePosting = "GPO"
    /// Nightly unknown-attendance sync: processor → home high school.
    case unknownAttendance = "UKA"
    /// Waiver decision: processor → center.
    case waiverDecision = "WVD"
    /// Daily summary: processor → every participant with something to report.
    case dailySummary = "SUM"

    /// The short code used in file names, schemas and reports (ENR, ATT, ...).
    public var code: String { rawValue }

    /// The types partners send; the processor writes the others.
    public static let partnerTypes: [ExchangeType] = [.enrollment, .attendance, .grades, .waiver]

    /// A name a school clerk recognises.
    public var displayName: String {
        switch self {
        case .enrollment: "enrollment"
        case .attendance: "attendance"
        case .grades: "grades"
        case .waiver: "waiver request"
        case .acknowledgement: "acknowledgement"
        case .errorList: "error list"
        case .gradePosting: "grade posting"
        case .unknownAttendance: "unknown-attendance sync"
        case .waiverDecision: "waiver decision"
        case .dailySummary: "daily summary"
        }
    }

    /// The root element of the XML binding.
    public var xmlRootElement: String {
        switch self {
        case .enrollment: "KtsxEnrollmentFile"
        case .attendance: "KtsxAttendanceFile"
        case .grades: "KtsxGradeFile"
        case .waiver: "KtsxWaiverFile"
        case .acknowledgement: "KtsxAcknowledgementFile"
        case .errorList: "KtsxErrorFile"
        case .gradePosting: "KtsxGradePostingFile"
        case .unknownAttendance: "KtsxUnknownAttendanceFile"
        case .waiverDecision: "KtsxWaiverDecisionFile"
        case .dailySummary: "KtsxDailySummaryFile"
        }
    }

    /// The element that holds one record in the XML binding.
    public var xmlRecordElement: String {
        switch self {
        case .enrollment: "Enrollment"
        case .attendance: "Attendance"
        case .grades: "Grade"
        case .waiver: "Waiver"
        case .acknowledgement: "Acknowledgement"
        case .errorList: "Error"
        case .gradePosting: "GradePosting"
        case .unknownAttendance: "UnknownAbsence"
        case .waiverDecision: "WaiverDecision"
        case .dailySummary: "SummaryLine"
        }
    }

    /// Whether the XML binding starts with a `Header` carrying sender, school year and record count.
    public var hasXMLHeader: Bool { ExchangeType.partnerTypes.contains(self) }

    /// The type whose XML root element is `localName` in the KTS Exchange namespace.
    public init?(xmlRootElement localName: String) {
        guard let match = ExchangeType.allCases.first(where: { $0.xmlRootElement == localName }) else { return nil }
        self = match
    }
}

/// How a file is written: XML validated by an XSD, or CSV validated by a Table Schema.
public enum Binding: String, Sendable, Codable, CaseIterable {
    /// XML in the `urn:ky:kde:ktsx:1.0` namespace.
    case xml = "XML"
    /// Comma-separated values with a header row.
    case csv = "CSV"

    /// The file-name extension of the binding.
    public var fileExtension: String { self == .xml ? "xml" : "csv" }
}
