import Foundation

/// The record types of the partner file specification (`Schemas/README.md`), as far as the model needs them:
/// field names in order (the CSV header row), the XML root and record element names, and the natural keys.
///
/// Written from the specification, not from the product: a test that shared the product's tables could not
/// catch a mistake in them.
enum RecordType: String, CaseIterable, Sendable {
    case enrollment = "ENR"
    case attendance = "ATT"
    case grade = "GRD"
    case waiver = "WVR"
    case acknowledgement = "ACK"
    case errorList = "ERR"
    case gradePosting = "GPO"
    case unknownAttendance = "UKA"
    case waiverDecision = "WVD"
    case dailySummary = "SUM"

    /// The field names, in the order of the specification's table (and of the CSV header row).
    var fields: [String] {
        switch self {
        case .enrollment:
            return ["recordId", "action", "schoolYear", "ssid", "localStudentNumber", "lastName", "firstName", "middleName",
                    "birthDate", "gradeLevel", "homeSchoolOrgId", "techCenterOrgId", "ktsCourseNumber", "sectionNumber",
                    "stateCourseCode", "termCode", "entryDate", "exitDate", "exitReason", "periods", "dualCredit",
                    "repeatIndicator", "attemptedCredits", "lastModified"]
        case .attendance:
            return ["recordId", "action", "schoolYear", "ssid", "techCenterOrgId", "homeSchoolOrgId", "ktsCourseNumber",
                    "sectionNumber", "granularity", "attendanceDate", "periodCode", "attendanceStatus", "excuseStatus",
                    "localAttendanceCode", "attendanceCategory", "absentMinutes", "eventDuration", "arrivalTime",
                    "departureTime", "reason", "recordedDateTime", "lastModified"]
        case .grade:
            return ["recordId", "action", "schoolYear", "ssid", "techCenterOrgId", "homeSchoolOrgId", "ktsCourseNumber",
                    "sectionNumber", "stateCourseCode", "courseTitle", "gradeType", "gradingPeriodCode",
                    "gradingPeriodBeginDate", "gradingPeriodEndDate", "gradingScaleCode", "letterGrade", "numericGrade",
                    "currentGradeIndicator", "asOfDate", "courseAttemptResult", "creditsAttempted", "creditsEarned",
                    "creditType", "dualCredit", "noCredit", "repeatIndicator", "comment", "postedDateTime"]
        case .waiver:
            return ["recordId", "action", "centerOrgId", "centerName", "centerClassification", "operatingDistrictNumber",
                    "waiverSchoolYear", "waiverScope", "reasonCode", "reasonText", "alternateProcess",
                    "affectedHomeSchoolOrgIds", "submitterName", "submitterTitle", "submitterEmail", "submitterPhone",
                    "superintendentApproval", "approvalDate", "submittedDateTime", "priorWaiverId"]
        case .acknowledgement:
            return ["receiptId", "inputFile", "senderOrgId", "fileType", "binding", "contentSha256", "sizeBytes",
                    "receivedDateTime", "processedDateTime", "outcome", "recordsReceived", "recordsAccepted",
                    "recordsRejected", "errorCount", "errorFile", "firstReceiptId", "message"]
        case .errorList:
            return ["receiptId", "inputFile", "line", "column", "path", "recordKey", "field", "code", "message"]
        case .gradePosting:
            return ["recordId", "action", "schoolYear", "ssid", "homeSchoolOrgId", "techCenterOrgId", "ktsCourseNumber",
                    "sectionNumber", "stateCourseCode", "homeCourseNumber", "courseTitle", "gradeType", "gradingPeriodCode",
                    "gradingScaleCode", "letterGrade", "numericGrade", "sourceGradingScaleCode", "sourceLetterGrade",
                    "passing", "courseAttemptResult", "creditsAttempted", "creditsEarned", "creditType", "dualCredit",
                    "asOfDate", "postedDateTime", "receiptId"]
        case .unknownAttendance:
            return ["recordId", "schoolYear", "ssid", "homeSchoolOrgId", "techCenterOrgId", "ktsCourseNumber",
                    "sectionNumber", "granularity", "attendanceDate", "periodCode", "attendanceStatus", "excuseStatus",
                    "absentMinutes", "recordedDateTime", "receiptId"]
        case .waiverDecision:
            return ["waiverId", "centerOrgId", "waiverSchoolYear", "decision", "reason", "decidedDateTime", "requestReceiptId"]
        case .dailySummary:
            return ["summaryDate", "orgId", "lineType", "fileName", "receiptId", "fileType", "outcome", "recordsReceived",
                    "recordsAccepted", "recordsRejected", "errorCount", "eventDateTime", "hoursWaiting"]
        }
    }

    /// The XML root element (namespace `urn:ky:kde:ktsx:1.0`).
    var xmlRoot: String {
        switch self {
        case .enrollment: return "KtsxEnrollmentFile"
        case .attendance: return "KtsxAttendanceFile"
        case .grade: return "KtsxGradeFile"
        case .waiver: return "KtsxWaiverFile"
        case .acknowledgement: return "KtsxAcknowledgementFile"
        case .errorList: return "KtsxErrorFile"
        case .gradePosting: return "KtsxGradePostingFile"
        case .unknownAttendance: return "KtsxUnknownAttendanceFile"
        case .waiverDecision: return "KtsxWaiverDecisionFile"
        case .dailySummary: return "KtsxDailySummaryFile"
        }
    }

    /// The XML element of one record.
    var xmlRecord: String {
        switch self {
        case .enrollment: return "Enrollment"
        case .attendance: return "Attendance"
        case .grade: return "Grade"
        case .waiver: return "Waiver"
        case .acknowledgement: return "Acknowledgement"
        case .errorList: return "Error"
        case .gradePosting: return "GradePosting"
        case .unknownAttendance: return "UnknownAbsence"
        case .waiverDecision: return "WaiverDecision"
        case .dailySummary: return "SummaryLine"
        }
    }

    /// The natural key fields the rules use (Schemas/README.md, "Natural key").
    var naturalKey: [String] {
        switch self {
        case .enrollment: return ["ssid", "techCenterOrgId", "ktsCourseNumber", "sectionNumber", "entryDate"]
        case .attendance: return ["ssid", "techCenterOrgId", "attendanceDate", "ktsCourseNumber", "sectionNumber", "periodCode"]
        case .grade: return ["ssid", "techCenterOrgId", "ktsCourseNumber", "sectionNumber", "gradeType", "gradingPeriodCode"]
        case .waiver: return ["centerOrgId", "waiverSchoolYear"]
        default: return []
        }
    }

    /// The type whose XML root is `name`, if any.
    static func fromXMLRoot(_ name: String) -> RecordType? { allCases.first { $0.xmlRoot == name } }

    /// The type whose CSV header row is exactly `header`, if any.
    static func fromCSVHeader(_ header: [String]) -> RecordType? { allCases.first { $0.fields == header } }
}

/// A file's binding: XML or CSV.
enum Binding: String, Sendable {
    case xml = "XML"
    case csv = "CSV"

    /// The file name extension.
    var fileExtension: String { self == .xml ? "xml" : "csv" }
}

/// The XML element name of a field: UpperCamelCase (`recordId` → `RecordId`).
func xmlElementName(_ field: String) -> String { field.prefix(1).uppercased() + field.dropFirst() }

/// The field name of an XML element: lowerCamelCase (`RecordId` → `recordId`).
func fieldName(ofElement element: String) -> String { element.prefix(1).lowercased() + element.dropFirst() }

/// The namespace of every exchange file.
let exchangeNamespace = "urn:ky:kde:ktsx:1.0"
