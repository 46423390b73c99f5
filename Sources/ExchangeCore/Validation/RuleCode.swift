/// The code of a record rule, as partners see it in error files and the specification lists it
/// (Schemas/README.md, "Rules"; a test checks that the two lists are the same). Codes are stable: a
/// rule's code never changes meaning, and a retired code is never reused.
public enum RuleCode: String, CaseIterable, Sendable, Codable {
    /// The enrollment's `homeSchoolOrgId` is the sender.
    case enr01 = "ENR-01"
    /// The technical center takes part in the exchange (a registered A2 or C2 center) and has no approved
    /// waiver for the year.
    case enr02 = "ENR-02"
    /// The course and section are in the center's KTS course catalog for the year, with the catalog's state
    /// course code and term.
    case enr03 = "ENR-03"
    /// Entry on or before exit, both inside the school year and the section's term.
    case enr04 = "ENR-04"
    /// `add` is for an enrollment not on file, `update`/`delete` for one on file from your school (another
    /// school's enrollment of the student is not shown; an `add` takes the student over).
    case enr07 = "ENR-07"
    /// An `exitReason` exactly when there is an `exitDate`.
    case enr08 = "ENR-08"
    /// The school year is not retired from the exchange (`ktsx retire`): a closed year's enrollments no longer
    /// change here.
    case enr09 = "ENR-09"
    /// The student is enrolled at the center on that day (in that section, for PERIOD attendance).
    case att01 = "ATT-01"
    /// `homeSchoolOrgId` is the home high school on the enrollment (records are never re-routed); for a
    /// `delete`, the high school that received the attendance on file.
    case att02 = "ATT-02"
    /// The day is inside the school year, not in the future, and an instructional day on the center's calendar.
    case att03 = "ATT-03"
    /// An excuse for A, T and E; none for P; XM only with A.
    case att04 = "ATT-04"
    /// T has an arrival time, E a departure time, arrival before departure, absent minutes within the section's
    /// class time.
    case att05 = "ATT-05"
    /// `add` for attendance not on file, `update`/`delete` for attendance on file; a record older (by
    /// `recordedDateTime`) than the one on file is stale.
    case att07 = "ATT-07"
    /// A local attendance code is in the center's code map and means the same status and excuse.
    case att08 = "ATT-08"
    /// The record's `techCenterOrgId` is the sender.
    case att10 = "ATT-10"
    /// PERIOD attendance names its course, section and period.
    case att11 = "ATT-11"
    /// The center has no approved waiver for the school year.
    case att12 = "ATT-12"
    /// The school year is not retired from the exchange: a closed year's attendance no longer changes here.
    case att13 = "ATT-13"
    /// The student is enrolled in the course and section during the grading period.
    case grd01 = "GRD-01"
    /// The grading period begins before it ends and lies in the school year.
    case grd02 = "GRD-02"
    /// The grade is on a registered scale: a letter of the scale, a number in its range, and the number in the
    /// letter's band.
    case grd03 = "GRD-03"
    /// FINAL has a result and credits and is not in progress; SEMESTER has credits.
    case grd04 = "GRD-04"
    /// 0 ≤ earned ≤ attempted ≤ the maximum; FAIL, WITHDRAWN and noCredit earn none; PASS earns some.
    case grd05 = "GRD-05"
    /// `asOfDate` is not in the future nor before the grading period.
    case grd06 = "GRD-06"
    /// The record's `techCenterOrgId` is the sender.
    case grd10 = "GRD-10"
    /// `add` for a grade not on file, `update`/`delete` for one on file.
    case grd11 = "GRD-11"
    /// The center has no approved waiver for the school year.
    case grd12 = "GRD-12"
    /// `homeSchoolOrgId` is the home high school on the student's enrollment (grades are never re-routed); for
    /// a `delete`, the high school that received the grade on file.
    case grd13 = "GRD-13"
    /// The school year is not retired from the exchange: a closed year's grades no longer change here.
    case grd14 = "GRD-14"
    /// Only a district-operated CTC (class A2) may ask; state-operated ATCs (C2) may not.
    case wvr01 = "WVR-01"
    /// Requests arrive from January 1 to March 1, Kentucky time.
    case wvr02 = "WVR-02"
    /// A request covers the next school year.
    case wvr03 = "WVR-03"
    /// One request per center and year; amend (while pending) and withdraw name it in `priorWaiverId`; a
    /// request's `recordId` is never reused.
    case wvr04 = "WVR-04"
    /// The superintendent approved it on or before submission; reason OTHER is explained.
    case wvr05 = "WVR-05"
    /// The record's `centerOrgId` is the sender.
    case wvr07 = "WVR-07"
}
