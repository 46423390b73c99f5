"""The logical field tables of every KTS Exchange file type: the one source of both bindings.

`tools/gen_schemas.py` turns these tables into the XSD and the Table Schema JSON under `Schemas/` and
into the copy embedded in the `ktsx` binary. Edit here, regenerate, and commit all three.
Field order is the CSV column order and the XML element order.
"""

from dataclasses import dataclass, field
from typing import Optional

NAMESPACE = "urn:ky:kde:ktsx:1.0"


@dataclass(frozen=True)
class SimpleType:
    """A named simple type shared by several fields (an `xs:simpleType` in XML)."""

    name: str
    kind: str  # string | integer | number | boolean | date | time | datetime
    doc: str
    pattern: Optional[str] = None
    enum: Optional[tuple] = None
    min_length: Optional[int] = None
    max_length: Optional[int] = None
    minimum: Optional[object] = None
    maximum: Optional[object] = None


@dataclass(frozen=True)
class Field:
    name: str
    type: SimpleType
    required: bool
    doc: str
    sensitive: bool = False  # student data: never echoed in messages, error files or logs


def string(name, doc, max_length, pattern=None, enum=None, min_length=1):
    return SimpleType(name, "string", doc, pattern=pattern, enum=enum, min_length=min_length, max_length=max_length)


def text(max_length):
    return SimpleType(f"Text{max_length}", "string", f"Text of 1 to {max_length} characters.",
                      min_length=1, max_length=max_length)


def codes(name, doc, values):
    return SimpleType(name, "string", doc, enum=tuple(values))


UUID = string("Uuid", "A unique id of 36 characters with hyphens (a UUID, such as 3f2b8c1e-5d4a-4e6b-9c7d-0a1b2c3d4e5f), which your student system gives each record.", None,
              pattern="[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
SSID = string("Ssid", "Kentucky student state ID: 10 digits.", None, pattern="[0-9]{10}")
ORG_ID = string("OrgId", "Organisation: 3-digit district number + 3-digit school number (DDDSSS).", None,
                pattern="[0-9]{6}")
ORG_ID_LIST = string("OrgIdList", "One or more DDDSSS organisation numbers separated by ';'.", None,
                     pattern="[0-9]{6}(;[0-9]{6})*")
DISTRICT = string("DistrictNumber", "3-digit Kentucky district number.", None, pattern="[0-9]{3}")
SCHOOL_YEAR = SimpleType("SchoolYear", "integer", "School year named by its end year: 2026 is July 2025 - June 2026.",
                         minimum=2000, maximum=2099)
COURSE = string("KtsCourseNumber", "Course number from the year's KTS course catalog.", None,
                pattern="[A-Z0-9]{1,20}")
SECTION = string("SectionNumber", "Section number at the technical center.", None, pattern="[A-Z0-9-]{1,10}")
STATE_COURSE = string("StateCourseCode", "Kentucky 6-digit state course code.", None, pattern="[0-9]{6}")
PERIODS = string("PeriodList", "High-school periods, 1 to 10 letters or digits each, separated by ';'.", None,
                 pattern="[A-Za-z0-9]{1,10}(;[A-Za-z0-9]{1,10})*")
CREDITS = SimpleType("Credits", "number", "Credits: a decimal number from 0 to 10.", minimum=0, maximum=10)
DATE = SimpleType("Date", "date", "A calendar date, YYYY-MM-DD.")
TIME = SimpleType("Time", "time", "A time of day, HH:MM:SS.")
DATETIME = SimpleType("DateTime", "datetime", "A date and time, YYYY-MM-DDTHH:MM:SS with an optional offset or Z.")
BOOLEAN = SimpleType("Boolean", "boolean", "true or false.")
COUNT = SimpleType("Count", "integer", "A whole number, 0 or more.", minimum=0)
SCALE_CODE = string("GradingScaleCode", "A registered grading scale code, e.g. KY10PT.", None,
                    pattern="[A-Z0-9_-]{1,20}")
EMAIL = string("Email", "An e-mail address.", 254, pattern="[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}")
PHONE = string("Phone", "A phone number: ###-###-#### or + and 10 to 15 digits.", None,
               pattern="([0-9]{3}-[0-9]{3}-[0-9]{4}|\\+[0-9]{10,15})")
SHA256 = string("Sha256", "A SHA-256 digest in lowercase hex.", None, pattern="[0-9a-f]{64}")
RECEIPT = string("ReceiptId", "A receipt id given by KTS Exchange.", None, pattern="[A-Za-z0-9-]{1,40}")

ACTION = codes("RecordAction", "What the record does: add, update or delete.", ["add", "update", "delete"])
GRADE_LEVEL = codes("GradeLevel", "Grade level 09 to 12.", ["09", "10", "11", "12"])
TERM = codes("TermCode", "Term: FY (year round), S1-S2, Q1-Q4, T1-T3, SU (summer).",
             ["FY", "S1", "S2", "Q1", "Q2", "Q3", "Q4", "T1", "T2", "T3", "SU"])
EXIT_REASON = codes("ExitReason", "Why the student left the section.",
                    ["TRANSFERRED", "WITHDRAWN", "COMPLETED", "SCHEDULE_CHANGE", "NO_SHOW", "OTHER"])
DUAL_CREDIT = codes("DualCredit", "DC (dual credit) or KDCS (Kentucky dual credit scholarship).", ["DC", "KDCS"])
GRANULARITY = codes("AttendanceGranularity", "DAY for daily attendance, PERIOD for one class period.",
                    ["DAY", "PERIOD"])
ATT_STATUS = codes("AttendanceStatus", "P present, A absent, T tardy, E early release.", ["P", "A", "T", "E"])
EXCUSE = codes("ExcuseStatus", "EX excused, UX unexcused, UK unknown, XM exempt.", ["EX", "UX", "UK", "XM"])
MINUTES = SimpleType("Minutes", "integer", "Minutes in a day, 0 to 1440.", minimum=0, maximum=1440)
DURATION = SimpleType("DayFraction", "number", "Fraction of the day or period, 0 to 1.", minimum=0, maximum=1)
GRADE_TYPE = codes("GradeType", "Kind of grade.", ["PROGRESS", "GRADING_PERIOD", "SEMESTER", "EXAM", "FINAL"])
GRADING_PERIOD = codes("GradingPeriodCode", "Q1-Q4 nine weeks, S1-S2 semesters, T1-T3 trimesters, W1-W6 six weeks, EOY.",
                       ["Q1", "Q2", "Q3", "Q4", "S1", "S2", "T1", "T2", "T3",
                        "W1", "W2", "W3", "W4", "W5", "W6", "EOY"])
NUMERIC_GRADE = SimpleType("NumericGrade", "number", "A numeric grade from 0 to 999.99.", minimum=0, maximum=999.99)
ATTEMPT = codes("CourseAttemptResult", "Result of the course attempt.", ["PASS", "FAIL", "INCOMPLETE", "WITHDRAWN"])
CREDIT_TYPE = codes("CreditType", "CARNEGIE (default) or CTE credit.", ["CARNEGIE", "CTE"])
WAIVER_ACTION = codes("WaiverAction", "submit a new request, amend or withdraw an earlier one.",
                      ["submit", "amend", "withdraw"])
CLASSIFICATION = codes("Classification", "KDE school classification.",
                       ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "B1", "B2", "C1", "C2", "D1",
                        "F1", "F2", "F3", "J1", "M1", "M2", "R1"])
WAIVER_SCOPE = codes("WaiverScope", "What the waiver covers.", ["FULL_EXCHANGE"])
WAIVER_REASON = codes("WaiverReason", "Why the center asks for a waiver.",
                      ["ALT_SIS", "CAPACITY", "TECHNICAL", "PROGRAM_CHANGE", "OTHER"])
BINDING = codes("Binding", "The file's binding.", ["XML", "CSV", "UNKNOWN"])
OUTCOME = codes("Outcome", "What happened to the file.", ["ACCEPTED", "ACCEPTED_WITH_ERRORS", "REJECTED", "DUPLICATE"])
ERROR_CODE = string("ErrorCode", "A stable error code: a rule id such as ATT-04 or a check name such as type-error.",
                    None, pattern="[A-Za-z0-9-]{1,60}")
LINE = SimpleType("LineNumber", "integer", "A line number, 1 or more.", minimum=1)


def f(name, type_, required, doc, sensitive=False):
    return Field(name, type_, required, doc, sensitive)


@dataclass(frozen=True)
class Exchange:
    """How the exchange handles the records of a type partners send (the Swift `RecordTypeDescriptor`)."""

    sender_field: str  # the organisation that sends the record: must be the folder it came from
    center_field: str  # the technical center the record is about
    receiver_field: Optional[str]  # who receives it (None: support decides it)
    year_field: str  # the school year the record belongs to
    date_field: Optional[str]  # the date a held record is filed under
    delivery: str  # at-once: routed with the acknowledgement | nightly: in the night's posting | decision: support decides
    output: str  # the type code of the file that carries it to its receiver
    held_as: str  # record: held by natural key | waiver: in the waiver register
    sender_rule: str  # the rule code of a record whose sender_field is not the sender
    key_rule: Optional[str] = None  # the rule code of an add of a key on file, or a change of one not on file
    waived_rule: Optional[str] = None  # the rule code of a record from a center waived for the year


@dataclass(frozen=True)
class ExchangeType:
    code: str  # ENR, ATT, ...
    root: str  # XML root element
    record: str  # XML record element
    title: str
    fields: tuple
    natural_key: tuple = ()
    has_header: bool = True
    max_records: Optional[int] = None
    swift_case: str = ""  # the case of Swift's ExchangeType
    display: str = ""  # the name a school clerk reads in messages
    exchange: Optional[Exchange] = None  # partner types only


HEADER = (
    f("senderOrgId", ORG_ID, True, "The sending organisation; must be the folder the file was dropped in."),
    f("schoolYear", SCHOOL_YEAR, True, "The school year of the records."),
    f("recordCount", COUNT, True, "How many records follow the header."),
    f("createdDateTime", DATETIME, True, "When the sender created the file."),
    f("batchId", UUID, False, "The sender's own id for the file."),
    f("sourceSystem", text(60), False, "The system that produced the file."),
)

ENROLLMENT = ExchangeType("ENR", "KtsxEnrollmentFile", "Enrollment", "Enrollment (roster)", (
    f("recordId", UUID, True, "Unique id of this record, never reused."),
    f("action", ACTION, True, "add, update or delete."),
    f("schoolYear", SCHOOL_YEAR, True, "School year of the enrollment."),
    f("ssid", SSID, True, "Student state ID.", sensitive=True),
    f("localStudentNumber", text(20), False, "The home district's student number.", sensitive=True),
    f("lastName", text(60), True, "Student's last name.", sensitive=True),
    f("firstName", text(60), True, "Student's first name.", sensitive=True),
    f("middleName", text(60), False, "Student's middle name.", sensitive=True),
    f("birthDate", DATE, True, "Student's birth date.", sensitive=True),
    f("gradeLevel", GRADE_LEVEL, True, "Grade level 09-12."),
    f("homeSchoolOrgId", ORG_ID, True, "The home high school; must be the sender."),
    f("techCenterOrgId", ORG_ID, True, "The technical center the student attends."),
    f("ktsCourseNumber", COURSE, True, "Course number from the KTS course catalog."),
    f("sectionNumber", SECTION, True, "Section at the technical center."),
    f("stateCourseCode", STATE_COURSE, True, "Kentucky state course code of the section."),
    f("termCode", TERM, True, "Term of the section."),
    f("entryDate", DATE, True, "First day in the section."),
    f("exitDate", DATE, False, "Last day in the section (inclusive)."),
    f("exitReason", EXIT_REASON, False, "Why the student left; required with exitDate."),
    f("periods", PERIODS, False, "High-school periods the student is away."),
    f("dualCredit", DUAL_CREDIT, False, "Dual credit flag."),
    f("repeatIndicator", BOOLEAN, False, "The student is repeating the course."),
    f("attemptedCredits", CREDITS, False, "Credits the high school expects to award."),
    f("lastModified", DATETIME, True, "When the record last changed at the sender."),
),
    natural_key=("ssid", "techCenterOrgId", "ktsCourseNumber", "sectionNumber", "entryDate"),
    swift_case="enrollment", display="enrollment",
    exchange=Exchange(sender_field="homeSchoolOrgId", center_field="techCenterOrgId", receiver_field="techCenterOrgId", year_field="schoolYear",
                      date_field="entryDate", delivery="at-once", output="ENR", held_as="record",
                      sender_rule="ENR-01", key_rule="ENR-07"))

ATTENDANCE = ExchangeType("ATT", "KtsxAttendanceFile", "Attendance", "Attendance", (
    f("recordId", UUID, True, "Unique id of this record, never reused."),
    f("action", ACTION, True, "add, update or delete."),
    f("schoolYear", SCHOOL_YEAR, True, "School year of the attendance."),
    f("ssid", SSID, True, "Student state ID.", sensitive=True),
    f("techCenterOrgId", ORG_ID, True, "The technical center; must be the sender."),
    f("homeSchoolOrgId", ORG_ID, True, "The student's home high school (routing target)."),
    f("ktsCourseNumber", COURSE, False, "Course number; required for PERIOD attendance."),
    f("sectionNumber", SECTION, False, "Section; required for PERIOD attendance."),
    f("granularity", GRANULARITY, True, "DAY or PERIOD."),
    f("attendanceDate", DATE, True, "The day the attendance is for."),
    f("periodCode", text(10), False, "Class period; required for PERIOD attendance."),
    f("attendanceStatus", ATT_STATUS, True, "P, A, T or E."),
    f("excuseStatus", EXCUSE, False, "EX, UX, UK or XM; required for A, T and E, empty for P."),
    f("localAttendanceCode", text(10), False, "The center's own attendance code."),
    f("attendanceCategory", text(255), False, "Ed-Fi attendance event category descriptor."),
    f("absentMinutes", MINUTES, False, "Minutes absent, 0 to 1440."),
    f("eventDuration", DURATION, False, "Fraction of the day or period, 0 to 1."),
    f("arrivalTime", TIME, False, "Arrival time; required for T."),
    f("departureTime", TIME, False, "Departure time; required for E."),
    f("reason", text(255), False, "Free-text reason."),
    f("recordedDateTime", DATETIME, True, "When the attendance was entered at the center."),
    f("lastModified", DATETIME, True, "When the record last changed at the sender."),
),
    # The date first: a day's attendance, the most a ledger receives, then sits side by side in the key's
    # index instead of one page each over a year's (ledger migration 8 rewrote keys held before).
    natural_key=("attendanceDate", "ssid", "techCenterOrgId", "ktsCourseNumber", "sectionNumber", "periodCode"),
    swift_case="attendance", display="attendance",
    exchange=Exchange(sender_field="techCenterOrgId", center_field="techCenterOrgId", receiver_field="homeSchoolOrgId", year_field="schoolYear",
                      date_field="attendanceDate", delivery="at-once", output="ATT", held_as="record",
                      sender_rule="ATT-10", key_rule="ATT-07", waived_rule="ATT-12"))

GRADES = ExchangeType("GRD", "KtsxGradeFile", "Grade", "Grades", (
    f("recordId", UUID, True, "Unique id of this record, never reused."),
    f("action", ACTION, True, "add, update or delete."),
    f("schoolYear", SCHOOL_YEAR, True, "School year of the grade."),
    f("ssid", SSID, True, "Student state ID.", sensitive=True),
    f("techCenterOrgId", ORG_ID, True, "The technical center; must be the sender."),
    f("homeSchoolOrgId", ORG_ID, True, "The student's home high school (routing target)."),
    f("ktsCourseNumber", COURSE, True, "Course number from the KTS course catalog."),
    f("sectionNumber", SECTION, True, "Section at the technical center."),
    f("stateCourseCode", STATE_COURSE, True, "Kentucky state course code."),
    f("courseTitle", text(60), False, "Course title."),
    f("gradeType", GRADE_TYPE, True, "PROGRESS, GRADING_PERIOD, SEMESTER, EXAM or FINAL."),
    f("gradingPeriodCode", GRADING_PERIOD, True, "The grading period."),
    f("gradingPeriodBeginDate", DATE, True, "First day of the grading period."),
    f("gradingPeriodEndDate", DATE, True, "Last day of the grading period."),
    f("gradingScaleCode", SCALE_CODE, True, "The grading scale the grade is on."),
    f("letterGrade", text(20), False, "Letter grade on the scale; letter or numeric grade required.", sensitive=True),
    f("numericGrade", NUMERIC_GRADE, False, "Numeric grade on the scale.", sensitive=True),
    f("currentGradeIndicator", BOOLEAN, False, "true for an in-progress grade."),
    f("asOfDate", DATE, True, "The date the grade reflects."),
    f("courseAttemptResult", ATTEMPT, False, "PASS, FAIL, INCOMPLETE or WITHDRAWN; required for FINAL."),
    f("creditsAttempted", CREDITS, False, "Credits attempted; required for FINAL and SEMESTER."),
    f("creditsEarned", CREDITS, False, "Credits earned; required for FINAL and SEMESTER."),
    f("creditType", CREDIT_TYPE, False, "CARNEGIE or CTE."),
    f("dualCredit", DUAL_CREDIT, False, "Dual credit flag."),
    f("noCredit", BOOLEAN, False, "The course gives no credit."),
    f("repeatIndicator", BOOLEAN, False, "The student is repeating the course."),
    f("comment", text(1024), False, "Teacher comment."),
    f("postedDateTime", DATETIME, True, "When the grade was posted at the center."),
),
    natural_key=("ssid", "techCenterOrgId", "ktsCourseNumber", "sectionNumber", "gradeType", "gradingPeriodCode"),
    swift_case="grades", display="grades",
    exchange=Exchange(sender_field="techCenterOrgId", center_field="techCenterOrgId", receiver_field="homeSchoolOrgId", year_field="schoolYear",
                      date_field="asOfDate", delivery="nightly", output="GPO", held_as="record",
                      sender_rule="GRD-10", key_rule="GRD-11", waived_rule="GRD-12"))

WAIVERS = ExchangeType("WVR", "KtsxWaiverFile", "Waiver", "Waiver request", (
    f("recordId", UUID, True, "Id of this waiver request."),
    f("action", WAIVER_ACTION, True, "submit, amend or withdraw."),
    f("centerOrgId", ORG_ID, True, "The technical center; must be the sender."),
    f("centerName", text(60), True, "Name of the center."),
    f("centerClassification", CLASSIFICATION, True, "KDE classification; only A2 (CTC) centers may ask."),
    f("operatingDistrictNumber", DISTRICT, True, "District that operates the center."),
    f("waiverSchoolYear", SCHOOL_YEAR, True, "The school year the waiver covers."),
    f("waiverScope", WAIVER_SCOPE, True, "FULL_EXCHANGE."),
    f("reasonCode", WAIVER_REASON, True, "Why the waiver is requested."),
    f("reasonText", text(2000), False, "Explanation; required when reasonCode is OTHER."),
    f("alternateProcess", text(1000), True, "How records will reach the high schools instead."),
    f("affectedHomeSchoolOrgIds", ORG_ID_LIST, False, "Feeder high schools affected."),
    f("submitterName", text(100), True, "Who submits the request."),
    f("submitterTitle", text(100), True, "Their title."),
    f("submitterEmail", EMAIL, True, "Their e-mail address."),
    f("submitterPhone", PHONE, False, "Their phone number."),
    f("superintendentApproval", BOOLEAN, True, "The superintendent approved the request; must be true."),
    f("approvalDate", DATE, True, "Date of the superintendent's approval."),
    f("submittedDateTime", DATETIME, True, "When the request was submitted."),
    f("priorWaiverId", UUID, False, "The request amended or withdrawn; required for amend and withdraw."),
),
    natural_key=("centerOrgId", "waiverSchoolYear"),
    swift_case="waiver", display="waiver request",
    exchange=Exchange(sender_field="centerOrgId", center_field="centerOrgId", receiver_field=None, year_field="waiverSchoolYear",
                      date_field=None, delivery="decision", output="WVD", held_as="waiver",
                      sender_rule="WVR-07"))

# The types partners send, in the order the specification lists them.
PARTNER_TYPES = (ENROLLMENT, ATTENDANCE, GRADES, WAIVERS)
FILE_TYPE = codes("FileType", "The exchange type of the acknowledged file, or UNKNOWN.",
                  [exchange.code for exchange in PARTNER_TYPES] + ["UNKNOWN"])

ACKNOWLEDGEMENT = ExchangeType("ACK", "KtsxAcknowledgementFile", "Acknowledgement", "Acknowledgement", (
    f("receiptId", RECEIPT, True, "The receipt id of the file."),
    f("inputFile", text(255), True, "The name the file was dropped under."),
    f("senderOrgId", ORG_ID, True, "The organisation whose folder the file was dropped in."),
    f("fileType", FILE_TYPE, True, "The recognised type."),
    f("binding", BINDING, True, "XML or CSV."),
    f("contentSha256", SHA256, True, "SHA-256 of the file's bytes."),
    f("sizeBytes", COUNT, True, "Size of the file in bytes."),
    f("receivedDateTime", DATETIME, True, "When the file was claimed."),
    f("processedDateTime", DATETIME, True, "When the file was judged."),
    f("outcome", OUTCOME, True, "ACCEPTED, ACCEPTED_WITH_ERRORS, REJECTED or DUPLICATE."),
    f("recordsReceived", COUNT, True, "Records in the file."),
    f("recordsAccepted", COUNT, True, "Records accepted."),
    f("recordsRejected", COUNT, True, "Records rejected."),
    f("errorCount", COUNT, True, "Errors listed in the error file."),
    f("errorFile", text(255), False, "Name of the error file, when there is one."),
    f("firstReceiptId", RECEIPT, False, "For DUPLICATE: the receipt of the first copy."),
    f("message", text(2000), False, "A summary in words."),
), has_header=False, max_records=1, swift_case="acknowledgement", display="acknowledgement")

ERRORS = ExchangeType("ERR", "KtsxErrorFile", "Error", "Error list", (
    f("receiptId", RECEIPT, True, "The receipt id of the file."),
    f("inputFile", text(255), True, "The name the file was dropped under."),
    f("line", LINE, False, "Line in the file (CSV: 1-based, counting the header)."),
    f("column", COUNT, False, "Column on the line, when known."),
    f("path", text(1024), False, "XML: element path of the error."),
    f("recordKey", text(255), False, "The failing record's recordId."),
    f("field", text(100), False, "The field in error."),
    f("code", ERROR_CODE, True, "Stable error code: a rule id or a check name."),
    f("message", text(2000), True, "What is wrong and what to do."),
), has_header=False, swift_case="errorList", display="error list")

DECISION = codes("WaiverDecisionCode", "APPROVED or DENIED.", ["APPROVED", "DENIED"])
LOCAL_COURSE = string("LocalCourseNumber", "A high school's own course number.", None, pattern="[A-Za-z0-9_.-]{1,20}")

GRADE_POSTING = ExchangeType("GPO", "KtsxGradePostingFile", "GradePosting", "Grade posting", (
    f("recordId", UUID, True, "The recordId of the grade record the center sent."),
    f("action", ACTION, True, "add, update or delete: what the high school does with its copy of the grade."),
    f("schoolYear", SCHOOL_YEAR, True, "School year of the grade."),
    f("ssid", SSID, True, "Student state ID.", sensitive=True),
    f("homeSchoolOrgId", ORG_ID, True, "The high school the grade is posted to."),
    f("techCenterOrgId", ORG_ID, True, "The technical center that sent the grade."),
    f("ktsCourseNumber", COURSE, True, "Course number at the technical center."),
    f("sectionNumber", SECTION, True, "Section at the technical center."),
    f("stateCourseCode", STATE_COURSE, True, "Kentucky state course code."),
    f("homeCourseNumber", LOCAL_COURSE, False, "The high school's course number, from the course mapping."),
    f("courseTitle", text(60), False, "Course title: the high school's when mapped, else the center's."),
    f("gradeType", GRADE_TYPE, True, "PROGRESS, GRADING_PERIOD, SEMESTER, EXAM or FINAL."),
    f("gradingPeriodCode", GRADING_PERIOD, True, "The grading period."),
    f("gradingScaleCode", SCALE_CODE, True, "The scale the letter grade is on: the high school's when mapped."),
    f("letterGrade", text(20), False, "Letter grade on gradingScaleCode.", sensitive=True),
    f("numericGrade", NUMERIC_GRADE, False, "Numeric grade as the center sent it.", sensitive=True),
    f("sourceGradingScaleCode", SCALE_CODE, True, "The center's grading scale."),
    f("sourceLetterGrade", text(20), False, "The letter grade as the center sent it or derived on its scale."),
    f("passing", BOOLEAN, False, "Whether the grade passes (for athletic eligibility), from the scale."),
    f("courseAttemptResult", ATTEMPT, False, "PASS, FAIL, INCOMPLETE or WITHDRAWN."),
    f("creditsAttempted", CREDITS, False, "Credits attempted."),
    f("creditsEarned", CREDITS, False, "Credits earned."),
    f("creditType", CREDIT_TYPE, False, "CARNEGIE or CTE."),
    f("dualCredit", DUAL_CREDIT, False, "Dual credit flag."),
    f("asOfDate", DATE, True, "The date the grade reflects."),
    f("postedDateTime", DATETIME, True, "When the center posted the grade."),
    f("receiptId", RECEIPT, True, "The receipt of the file that carried the grade."),
), has_header=False, swift_case="gradePosting", display="grade posting")

UNKNOWN_ATTENDANCE = ExchangeType("UKA", "KtsxUnknownAttendanceFile", "UnknownAbsence", "Unknown-attendance sync", (
    f("recordId", UUID, True, "The recordId of the attendance record the center sent."),
    f("schoolYear", SCHOOL_YEAR, True, "School year of the attendance."),
    f("ssid", SSID, True, "Student state ID.", sensitive=True),
    f("homeSchoolOrgId", ORG_ID, True, "The high school the file is for."),
    f("techCenterOrgId", ORG_ID, True, "The technical center that recorded the absence."),
    f("ktsCourseNumber", COURSE, False, "Course number, for PERIOD attendance."),
    f("sectionNumber", SECTION, False, "Section, for PERIOD attendance."),
    f("granularity", GRANULARITY, True, "DAY or PERIOD."),
    f("attendanceDate", DATE, True, "The instructional day of the absence."),
    f("periodCode", text(10), False, "Class period, for PERIOD attendance."),
    f("attendanceStatus", ATT_STATUS, True, "A, T or E."),
    f("excuseStatus", EXCUSE, True, "UK: the excuse is still unknown."),
    f("absentMinutes", MINUTES, False, "Minutes absent."),
    f("recordedDateTime", DATETIME, True, "When the attendance was entered at the center."),
    f("receiptId", RECEIPT, True, "The receipt of the file that carried the record."),
), has_header=False, swift_case="unknownAttendance", display="unknown-attendance sync")

WAIVER_DECISION = ExchangeType("WVD", "KtsxWaiverDecisionFile", "WaiverDecision", "Waiver decision", (
    f("waiverId", UUID, True, "The recordId of the waiver request."),
    f("centerOrgId", ORG_ID, True, "The center that asked."),
    f("waiverSchoolYear", SCHOOL_YEAR, True, "The school year the waiver covers."),
    f("decision", DECISION, True, "APPROVED or DENIED."),
    f("reason", text(2000), True, "Why, in the words of KTS support."),
    f("decidedDateTime", DATETIME, True, "When support decided."),
    f("requestReceiptId", RECEIPT, True, "The receipt of the file that carried the request."),
), has_header=False, max_records=1, swift_case="waiverDecision", display="waiver decision")

SUMMARY_LINE = codes("SummaryLineType", "RECEIVED: a file that arrived that day. WAITING: a file in outbound/ not yet picked up.",
                     ["RECEIVED", "WAITING"])

DAILY_SUMMARY = ExchangeType("SUM", "KtsxDailySummaryFile", "SummaryLine", "Daily summary", (
    f("summaryDate", DATE, True, "The day summarised (Kentucky time)."),
    f("orgId", ORG_ID, True, "The participant the summary is for."),
    f("lineType", SUMMARY_LINE, True, "RECEIVED or WAITING."),
    f("fileName", text(255), True, "RECEIVED: the name the file was dropped under. WAITING: its name in outbound/."),
    f("receiptId", RECEIPT, True, "RECEIVED: the file's receipt. WAITING: the receipt or job run that wrote the file."),
    f("fileType", FILE_TYPE, False, "RECEIVED: the recognised type, or UNKNOWN."),
    f("outcome", OUTCOME, False, "RECEIVED: ACCEPTED, ACCEPTED_WITH_ERRORS, REJECTED or DUPLICATE."),
    f("recordsReceived", COUNT, False, "RECEIVED: records in the file."),
    f("recordsAccepted", COUNT, False, "RECEIVED: records accepted."),
    f("recordsRejected", COUNT, False, "RECEIVED: records rejected."),
    f("errorCount", COUNT, False, "RECEIVED: errors in its error file."),
    f("eventDateTime", DATETIME, True, "RECEIVED: when the file was claimed. WAITING: when the file was written."),
    f("hoursWaiting", COUNT, False, "WAITING: hours since the file was written, to the nearest hour."),
), has_header=False, swift_case="dailySummary", display="daily summary")

EXCHANGE_TYPES = PARTNER_TYPES + (ACKNOWLEDGEMENT, ERRORS, GRADE_POSTING, UNKNOWN_ATTENDANCE, WAIVER_DECISION,
                                  DAILY_SUMMARY)


def upper_camel(name: str) -> str:
    return name[0].upper() + name[1:]
