#!/usr/bin/env python3
"""Writes Fixtures/scenario/: the golden scenario, a miniature school year run through the real `ktsx`
binary by Tests/KTSXCommandTests/GoldenScenarioTests.swift.

Two centers (Ridgeline ATC, class C2; Bluegrass CTC, class A2), three high schools (Ridgeline High opted
into the unknown-attendance sync), fifty students; each center teaches students of all three high schools,
so each day's attendance file (XML from the ATC, CSV from the CTC) is routed to three receivers. The week of January 12, 2026: enrollments on Monday
morning, attendance every afternoon (unknown absences resolved later, one stale correction), progress
and final grades with a course mapping onto a second grading scale, the nightly jobs run twice for the
same night, waivers from both centers inside the window and from the CTC after it.

    config/       the reference data (participants, catalog, scales, mappings, calendars, schedule)
    drops/        the files the partners drop, one per step
    steps.tsv     clock (UTC) <TAB> action <TAB> arguments: drop ORG FILE | run | ktsx ARG...
    expected/     the whole outbound tree at the end, ids and times normalised (written by the test
                  with KTSX_UPDATE_GOLDEN=1, reviewed, committed)

Deterministic: running it twice writes the same bytes.

Usage (from the package root):  python3 tools/gen_scenario.py
"""

import csv
import io
import os
import random
import shutil
import sys
import uuid
from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from schema_fields import ATTENDANCE, ENROLLMENT, GRADES, HEADER, NAMESPACE, WAIVERS, upper_camel  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fixtures", "scenario")
YEAR = 2026
RNG = random.Random("ktsx-golden-scenario")

ATC, CTC = "061014", "165901"
RIDGELINE, LICKING, ELKHORN = "061010", "061020", "165020"
PARTICIPANTS = [
    (ATC, "Ridgeline Area Technology Center", "C2", "America/New_York", "same", "false", "false"),
    (CTC, "Bluegrass Career and Technical Center", "A2", "America/New_York", "csv", "false", "false"),
    (RIDGELINE, "Ridgeline High School", "A1", "America/New_York", "same", "false", "true"),
    (LICKING, "Licking River High School", "A1", "America/New_York", "xml", "false", "false"),
    (ELKHORN, "Elkhorn Creek High School", "A1", "America/Chicago", "csv", "false", "false"),
]
FY = (date(2025, 8, 13), date(2026, 5, 22))
S1 = (date(2025, 8, 13), date(2025, 12, 19))
# center, course, section, state code, title, term, credits, period code, session start
SECTIONS = [
    (ATC, "WLD101", "AM-01", "480511", "Welding I: Shielded Metal Arc", "FY", "2", "AM"),
    (ATC, "AUT101", "PM-01", "470611", "Automotive Maintenance I", "FY", "2", "PM"),
    (ATC, "IT101", "AM-02", "110141", "Computer and Technology Essentials", "S1", "1", "AM"),
    (CTC, "CUL101", "AM-01", "200401", "Culinary Arts I", "FY", "2", "AM"),
    (CTC, "DRF101", "PM-01", "151311", "Drafting and Design Fundamentals", "FY", "2", "PM"),
]
CODES = {("A", "EX"): "EXC", ("A", "UX"): "UNX", ("A", "UK"): "UNK", ("T", "UX"): "TUX", ("P", ""): "PRS"}
KY10PT = [("A", "90", "100", "true"), ("B", "80", "89.99", "true"), ("C", "70", "79.99", "true"),
          ("D", "60", "69.99", "true"), ("F", "0", "59.99", "false"), ("I", "", "", "false")]
HS7PT = [("A", "93", "100", "true"), ("B", "85", "92.99", "true"), ("C", "77", "84.99", "true"),
         ("D", "70", "76.99", "true"), ("F", "0", "69.99", "false")]
WEEK = [date(2026, 1, 12) + timedelta(days=i) for i in range(5)]
FIRST = ["Aiden", "Brayden", "Caleb", "Emma", "Hailey", "José", "Kaylee", "Madison", "Noah", "Zoë", "Renée", "Anh"]
LAST = ["Adams", "Begley", "Caudill", "Combs", "García", "Hensley", "Muñoz", "O'Brien", "Sizemore", "Whitaker, Jr."]


def uid():
    return str(uuid.UUID(int=RNG.getrandbits(128), version=4))


def eastern(day, hh, mm):
    return f"{day.isoformat()}T{hh:02d}:{mm:02d}:00-05:00"


def table(header, rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header] + rows)
    return out.getvalue()


def ordered(exchange, values):
    names = [f.name for f in exchange.fields]
    assert not set(values) - set(names), set(values) - set(names)
    return {n: values[n] for n in names if values.get(n) not in (None, "")}


def render(exchange, sender, records, binding, created):
    if binding == "csv":
        names = [f.name for f in exchange.fields]
        return table(names, [[r.get(n, "") for n in names] for r in records])
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<{exchange.root} xmlns="{NAMESPACE}">', "  <Header>",
             f"    <SenderOrgId>{sender}</SenderOrgId>", f"    <SchoolYear>{YEAR}</SchoolYear>",
             f"    <RecordCount>{len(records)}</RecordCount>", f"    <CreatedDateTime>{created}</CreatedDateTime>", "  </Header>"]
    for record in records:
        lines.append(f"  <{exchange.record}>")
        lines += [f"    <{upper_camel(k)}>{escape(v)}</{upper_camel(k)}>" for k, v in record.items()]
        lines.append(f"  </{exchange.record}>")
    lines.append(f"</{exchange.root}>")
    return "\n".join(lines) + "\n"


class Student:
    def __init__(self, n, home):
        self.ssid = f"{2100000000 + n * 7919:010d}"
        self.home = home
        self.first = FIRST[n % len(FIRST)]
        self.last = LAST[(n * 7) % len(LAST)]
        self.birth = date(2008, 9, 1) + timedelta(days=(n * 37) % 365)
        self.grade = ("10", "11", "12")[n % 3]


def world():
    students = [Student(n, RIDGELINE if n < 20 else LICKING if n < 35 else ELKHORN) for n in range(50)]
    enrollments = []  # (student, section tuple, entry, exit, reason)
    for n, st in enumerate(students):
        if st.home == ELKHORN:
            # Most Elkhorn students at the CTC, every fifth at the ATC's welding section.
            section = SECTIONS[0] if n % 5 == 0 else SECTIONS[3] if n % 2 else SECTIONS[4]
        else:
            # Ridgeline and Licking students at the ATC, every sixth at the CTC's culinary section: each center's
            # attendance covers three high schools, and those two schools' students attend two centers.
            section = SECTIONS[3] if n % 6 == 0 else SECTIONS[0] if n % 2 else SECTIONS[1]
        enrollments.append((st, section, FY[0], None, None))
        if st.home == RIDGELINE and n < 5:
            enrollments.append((st, SECTIONS[2], S1[0], S1[1], "COMPLETED"))
    return students, enrollments


def enrollment(st, section, entry, exit_, reason):
    center, course, sec, state, _, term, credits, _ = section
    return ordered(ENROLLMENT, {
        "recordId": uid(), "action": "add", "schoolYear": str(YEAR), "ssid": st.ssid, "lastName": st.last,
        "firstName": st.first, "birthDate": st.birth.isoformat(), "gradeLevel": st.grade, "homeSchoolOrgId": st.home,
        "techCenterOrgId": center, "ktsCourseNumber": course, "sectionNumber": sec, "stateCourseCode": state, "termCode": term,
        "entryDate": entry.isoformat(), "exitDate": exit_.isoformat() if exit_ else None, "exitReason": reason,
        "attemptedCredits": credits, "lastModified": eastern(date(2026, 1, 9), 15, 30),
    })


def attendance(st, section, day, status, excuse, recorded, action="add", granularity=None):
    center, course, sec, _, _, _, _, period = section
    granularity = granularity or ("PERIOD" if center == ATC else "DAY")
    record = {
        "recordId": uid(), "action": action, "schoolYear": str(YEAR), "ssid": st.ssid, "techCenterOrgId": center,
        "homeSchoolOrgId": st.home, "granularity": granularity, "attendanceDate": day.isoformat(),
        "attendanceStatus": status, "excuseStatus": excuse or None, "localAttendanceCode": CODES.get((status, excuse or "")),
        "recordedDateTime": recorded, "lastModified": recorded,
    }
    if granularity == "PERIOD":
        record.update({"ktsCourseNumber": course, "sectionNumber": sec, "periodCode": period})
    if status == "A":
        record["absentMinutes"] = "165"
    if status == "T":
        record["arrivalTime"] = "08:05:00" if period == "AM" else "12:00:00"
        record["absentMinutes"] = "15"
    return ordered(ATTENDANCE, record)


def status_for(n, day_index):
    """Mostly present; a pattern of unknown, excused, unexcused absences and tardies."""
    k = (n * 3 + day_index * 5) % 17
    return {0: ("A", "UK"), 1: ("A", "UK"), 2: ("A", "EX"), 3: ("T", "UX"), 4: ("A", "UX")}.get(k, ("P", ""))


def config_files():
    files = {}
    files["participants.csv"] = table(
        ["orgId", "name", "classification", "timeZone", "outputFormat", "doneMarker", "unknownSync"], [list(p) for p in PARTICIPANTS])
    rows = []
    for center, course, sec, state, title, term, credits, _ in SECTIONS:
        begin, end = FY if term == "FY" else S1
        rows.append([center, YEAR, course, sec, state, title, term, begin.isoformat(), end.isoformat(), credits, 165])
    files["catalog.csv"] = table(
        ["centerOrgId", "schoolYear", "ktsCourseNumber", "sectionNumber", "stateCourseCode", "courseTitle", "termCode",
         "termBeginDate", "termEndDate", "credits", "minutesPerDay"], rows)
    files["attendance-codes.csv"] = table(
        ["centerOrgId", "localCode", "attendanceStatus", "excuseStatus", "description"],
        [[center, code, s, e, f"{s} {e}".strip()] for center in (ATC, CTC) for (s, e), code in CODES.items()])
    files["grading-scales.csv"] = table(
        ["scaleCode", "letter", "minimum", "maximum", "passing"],
        [["KY10PT", *band] for band in KY10PT] + [["HS7PT", *band] for band in HS7PT])
    files["course-mappings.csv"] = table(
        ["centerOrgId", "ktsCourseNumber", "homeSchoolOrgId", "homeCourseNumber", "homeCourseTitle", "homeGradingScaleCode"],
        [[ATC, "WLD101", LICKING, "CTE-WLD1", "Welding Technology I", "HS7PT"]])
    cal = []
    for org, *_ in PARTICIPANTS:
        cal += [[org, YEAR, "instructional", "2025-08-13", "2026-05-22", "school year"],
                [org, YEAR, "closed", "2025-12-22", "2026-01-02", "winter break"],
                [org, YEAR, "closed", "2026-01-19", "2026-01-19", "Martin Luther King Jr. Day"]]
    files["calendars.csv"] = table(["orgId", "schoolYear", "kind", "firstDate", "lastDate", "note"], cal)
    files["schedule.conf"] = ("# Nightly jobs (Kentucky time)\ntime_zone = America/New_York\ngrade_posting_time = 22:00\n"
                              "unknown_sync_time = 05:30\ncatch_up_days = 7\nwaiver_window = 01-01..03-01\nmax_credits = 3\n")
    return files


def main():
    students, enrollments = world()
    drops, steps = {}, []

    def drop(clock, org, name, text):
        drops[name] = text
        steps.append((clock, "drop", org, name))

    def run(clock):
        steps.append((clock, "run"))

    def ktsx(clock, *args):
        steps.append((clock, "ktsx", *args))

    # Monday 07:00 ET: each high school sends its enrollments.
    monday = WEEK[0]
    for school, binding in ((RIDGELINE, "csv"), (LICKING, "xml"), (ELKHORN, "csv")):
        records = [enrollment(*e) for e in enrollments if e[0].home == school]
        if school == RIDGELINE:
            bad = dict(records[1])
            bad.update(recordId=uid(), sectionNumber="PM-09", ssid="2199999991")  # ENR-03: no such section
            records.insert(2, ordered(ENROLLMENT, bad))
            bad = dict(records[3])
            bad.update(recordId=uid(), exitDate="2026-01-09", ssid="2199999992")  # ENR-08: exit without a reason
            bad.pop("exitReason", None)
            records.insert(4, ordered(ENROLLMENT, bad))
        drop("2026-01-12T12:00:00Z", school, f"KTSX_ENR_{school}_20260112T070000_0001.{binding}",
             render(ENROLLMENT, school, records, binding, "2026-01-12T07:00:00-05:00"))
    run("2026-01-12T12:00:00Z")

    # Each afternoon at 16:30 ET the centers send the day's attendance; each morning at 06:00 ET the
    # service runs (the unknown-attendance sync is due at 05:30).
    by_student = {}
    for st, section, entry, exit_, _ in enrollments:
        if exit_ is None:
            by_student[st.ssid] = (st, section)
    first_unknowns = []
    for i, day in enumerate(WEEK):
        for center, binding in ((ATC, "xml"), (CTC, "csv")):
            records = []
            for n, (st, section) in enumerate(by_student.values()):
                if section[0] != center:
                    continue
                status, excuse = status_for(n, i)
                records.append(attendance(st, section, day, status, excuse, eastern(day, 15, 0 + n % 50)))
                if i == 0 and excuse == "UK":
                    first_unknowns.append(records[-1])
            if i == 0 and center == ATC:  # ATT-04: present with an excuse
                st, section = next(v for v in by_student.values() if v[1][0] == ATC)
                bad = dict(records[0])
                bad.update(recordId=uid(), attendanceStatus="P", excuseStatus="EX", periodCode="PM", localAttendanceCode="")
                bad.pop("absentMinutes", None)
                bad.pop("arrivalTime", None)
                records.append(ordered(ATTENDANCE, bad))
            if i == 0 and center == CTC:  # ATT-01: a student the center does not have
                bad = dict(records[0])
                bad.update(recordId=uid(), ssid="2199999993")
                records.append(ordered(ATTENDANCE, bad))
            if i == 1 and center == ATC:  # Monday's unknowns resolved, and one stale correction (ATT-07)
                for k, old in enumerate(u for u in first_unknowns if u["techCenterOrgId"] == ATC):
                    fixed = dict(old)
                    fixed.update(recordId=uid(), action="update", excuseStatus="EX" if k % 2 == 0 else "UX",
                                 localAttendanceCode="EXC" if k % 2 == 0 else "UNX",
                                 recordedDateTime=eastern(day, 14, 0), lastModified=eastern(day, 14, 0))
                    records.append(ordered(ATTENDANCE, fixed))
                    if k == 0:
                        stale = dict(fixed)
                        stale.update(recordId=uid(), excuseStatus="UX", localAttendanceCode="UNX",
                                     recordedDateTime=eastern(monday, 8, 0), lastModified=eastern(monday, 8, 0))
                        records.append(ordered(ATTENDANCE, stale))
            drop(f"2026-01-{12 + i}T21:30:00Z", center, f"KTSX_ATT_{center}_{day:%Y%m%d}T163000_0001.{binding}",
                 render(ATTENDANCE, center, records, binding, eastern(day, 16, 30)))
        run(f"2026-01-{12 + i}T21:30:00Z")
        if i < 4:
            run(f"2026-01-{13 + i}T11:00:00Z")
        if i == 0:
            # Support runs the sync again by hand the same morning: Monday was sent already, nothing new.
            ktsx("2026-01-13T11:05:00Z", "sync-unknown-attendance")
        if i == 2:
            # Wednesday 17:00 ET: grades. Progress grades on the welding and culinary courses, final
            # grades of the first-semester IT course, two with mistakes.
            grades_atc, grades_ctc = [], []
            for n, (st, section, entry, exit_, _) in enumerate(enrollments):
                center, course, sec, state, title, term, credits, _ = section
                if term == "S1":
                    value = 70 + (n * 7) % 30
                    letter = next(b[0] for b in KY10PT if b[1] and float(b[1]) <= value)
                    grades_atc.append(ordered(GRADES, {
                        "recordId": uid(), "action": "add", "schoolYear": str(YEAR), "ssid": st.ssid, "techCenterOrgId": center,
                        "homeSchoolOrgId": st.home, "ktsCourseNumber": course, "sectionNumber": sec, "stateCourseCode": state,
                        "courseTitle": title, "gradeType": "FINAL", "gradingPeriodCode": "S1",
                        "gradingPeriodBeginDate": S1[0].isoformat(), "gradingPeriodEndDate": S1[1].isoformat(),
                        "gradingScaleCode": "KY10PT", "letterGrade": letter, "numericGrade": str(value),
                        "currentGradeIndicator": "false", "asOfDate": S1[1].isoformat(), "courseAttemptResult": "PASS",
                        "creditsAttempted": credits, "creditsEarned": credits, "creditType": "CTE",
                        "postedDateTime": eastern(WEEK[2], 16, 45)}))
                elif course in ("WLD101", "CUL101"):
                    value = 62 + (n * 11) % 38
                    record = {
                        "recordId": uid(), "action": "add", "schoolYear": str(YEAR), "ssid": st.ssid, "techCenterOrgId": center,
                        "homeSchoolOrgId": st.home, "ktsCourseNumber": course, "sectionNumber": sec, "stateCourseCode": state,
                        "gradeType": "PROGRESS", "gradingPeriodCode": "Q3", "gradingPeriodBeginDate": "2026-01-05",
                        "gradingPeriodEndDate": "2026-03-13", "gradingScaleCode": "KY10PT", "currentGradeIndicator": "true",
                        "asOfDate": WEEK[2].isoformat(), "postedDateTime": eastern(WEEK[2], 16, 50)}
                    letter = next(b[0] for b in KY10PT if b[1] and float(b[1]) <= value)
                    if center == ATC:
                        record["numericGrade"] = str(value)
                    record["letterGrade"] = letter
                    (grades_atc if center == ATC else grades_ctc).append(ordered(GRADES, record))
            bad = dict(grades_atc[0])
            bad.update(recordId=uid(), letterGrade="A", ssid=grades_atc[1]["ssid"], homeSchoolOrgId=grades_atc[1]["homeSchoolOrgId"],
                       ktsCourseNumber=grades_atc[1]["ktsCourseNumber"], sectionNumber=grades_atc[1]["sectionNumber"],
                       stateCourseCode=grades_atc[1]["stateCourseCode"])
            grades_atc.append(bad)  # GRD-03: the letter does not match the number (and ENR gives no S1 section: GRD-01)
            final = next(g for g in grades_atc if g["gradeType"] == "FINAL")
            missing = dict(final)
            missing.update(recordId=uid(), gradingPeriodCode="Q2", gradeType="FINAL")
            missing.pop("creditsEarned")
            grades_atc.append(missing)  # GRD-04: a final grade without creditsEarned
            drop("2026-01-14T22:00:00Z", ATC, "KTSX_GRD_061014_20260114T170000_0001.xml",
                 render(GRADES, ATC, grades_atc, "xml", eastern(WEEK[2], 17, 0)))
            drop("2026-01-14T22:00:00Z", CTC, "KTSX_GRD_165901_20260114T170000_0001.csv",
                 render(GRADES, CTC, grades_ctc, "csv", eastern(WEEK[2], 17, 0)))
            run("2026-01-14T22:00:00Z")
            # 22:05 ET: the nightly posting; then support posts by hand and the service runs again the same
            # night: neither writes a second file.
            run("2026-01-15T03:05:00Z")
            ktsx("2026-01-15T03:07:00Z", "post-grades")
            run("2026-01-15T03:10:00Z")
            changed_grade = next(g for g in grades_atc if g["gradeType"] == "PROGRESS" and g["homeSchoolOrgId"] == LICKING)
        if i == 3:
            update = dict(changed_grade)
            update.update(recordId=uid(), action="update", numericGrade="93", letterGrade="A", asOfDate=WEEK[3].isoformat(),
                          postedDateTime=eastern(WEEK[3], 16, 0))
            drop("2026-01-15T22:00:00Z", ATC, "KTSX_GRD_061014_20260115T170000_0001.xml",
                 render(GRADES, ATC, [ordered(GRADES, update)], "xml", eastern(WEEK[3], 17, 0)))
            run("2026-01-15T22:00:00Z")
            run("2026-01-16T03:05:00Z")

    # Friday: waiver requests. The CTC (A2) inside the window; the ATC (C2) is refused.
    def waiver(center, name, classification, action="submit", prior=None, submitted="2026-01-16T09:00:00-05:00"):
        return ordered(WAIVERS, {
            "recordId": uid(), "action": action, "centerOrgId": center, "centerName": name,
            "centerClassification": classification, "operatingDistrictNumber": center[:3], "waiverSchoolYear": str(YEAR + 1),
            "waiverScope": "FULL_EXCHANGE", "reasonCode": "ALT_SIS", "alternateProcess": "Rosters and grades by the district's own SIS export.",
            "submitterName": "Pat Lee", "submitterTitle": "Principal", "submitterEmail": "pat.lee@example.org",
            "superintendentApproval": "true", "approvalDate": "2026-01-14", "submittedDateTime": submitted, "priorWaiverId": prior})
    ctc_waiver = waiver(CTC, "Bluegrass Career and Technical Center", "A2")
    drop("2026-01-16T15:15:00Z", CTC, "KTSX_WVR_165901_20260116T100000_0001.csv",
         render(WAIVERS, CTC, [ctc_waiver], "csv", "2026-01-16T10:00:00-05:00"))
    drop("2026-01-16T15:15:00Z", ATC, "KTSX_WVR_061014_20260116T100000_0001.xml",
         render(WAIVERS, ATC, [waiver(ATC, "Ridgeline Area Technology Center", "C2")], "xml", "2026-01-16T10:00:00-05:00"))
    run("2026-01-16T15:15:00Z")
    ktsx("2026-01-16T16:00:00Z", "waiver", "approve", ctc_waiver["recordId"], "--reason",
         "Approved for 2026-27: the district's SIS export reaches every feeder high school.")
    # March 5: the CTC tries to amend its (approved) request, after the window.
    drop("2026-03-05T15:00:00Z", CTC, "KTSX_WVR_165901_20260305T100000_0001.csv",
         render(WAIVERS, CTC, [waiver(CTC, "Bluegrass Career and Technical Center", "A2", "amend", ctc_waiver["recordId"],
                                      "2026-03-05T09:00:00-05:00")], "csv", "2026-03-05T10:00:00-05:00"))
    drop("2026-03-05T15:00:00Z", ATC, "KTSX_WVR_061014_20260305T100000_0001.csv",
         render(WAIVERS, ATC, [waiver(ATC, "Ridgeline Area Technology Center", "C2", submitted="2026-03-05T09:30:00-05:00")],
                "csv", "2026-03-05T10:00:00-05:00"))
    run("2026-03-05T15:00:00Z")

    for sub in ("config", "drops"):
        shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
        os.makedirs(os.path.join(OUT, sub))
    for name, text in config_files().items():
        with open(os.path.join(OUT, "config", name), "w", encoding="utf-8", newline="") as out:
            out.write(text)
    for name, text in drops.items():
        with open(os.path.join(OUT, "drops", name), "w", encoding="utf-8", newline="") as out:
            out.write(text)
    steps.sort(key=lambda s: s[0])  # stable: steps at one clock keep their order
    with open(os.path.join(OUT, "steps.tsv"), "w", encoding="utf-8") as out:
        out.write("# clock (UTC)\taction\targuments\n")
        for step in steps:
            out.write("\t".join(step) + "\n")
    write_embedded(config_files(), drops, steps)
    print(f"wrote Fixtures/scenario/: {len(drops)} drops, {len(steps)} steps, and its copy for `ktsx demo`")


def swift_literal(text):
    assert '"""#' not in text and "\\#" not in text
    return '#"""\n' + text + '\n"""#'


def write_embedded(config, drops, steps):
    """The scenario compiled into the binary, so that `ktsx demo` works from any directory."""
    lines = ["// Generated by tools/gen_scenario.py from the golden scenario; do not edit.", "",
             "/// The golden scenario's reference data and partner files, for `ktsx demo`.",
             "enum DemoScenario {",
             "    /// Reference files by name (participants.csv, catalog.csv, ...).",
             "    static let config: [String: String] = ["]
    for name, text in sorted(config.items()):
        lines.append(f'        "{name}": {swift_literal(text)},')
    lines += ["    ]", "", "    /// The files partners drop, by name (`KTSX_<TYPE>_<orgId>_...`).",
              "    static let drops: [String: String] = ["]
    for name, text in sorted(drops.items()):
        lines.append(f'        "{name}": {swift_literal(text)},')
    lines += ["    ]", "", "    /// The id of the waiver request the scenario approves.",
              f'    static let approvedWaiverId = "{next(s[4] for s in steps if s[1] == "ktsx" and s[2] == "waiver")}"', "}", ""]
    with open(os.path.join(ROOT, "Sources", "KTSXCommand", "DemoScenario.swift"), "w", encoding="utf-8") as out:
        out.write("\n".join(lines))


if __name__ == "__main__":
    main()
