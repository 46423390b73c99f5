#!/usr/bin/env python3
"""Writes Fixtures/reference/: the reference data of the fixture world (the organisations, catalog,
calendars and people that tools/gen_fixtures.py draws its files from), so that the rules can judge the
fixtures as a real exchange would, and Fixtures/reference/roster/: one enrollment file per high school
with every enrollment of the world, which tests drop first so that attendance and grades find their
students.

Deterministic: running it twice writes the same bytes.

Usage (from the package root):  python3 tools/gen_reference.py
"""

import csv
import io
import os
import sys
from datetime import date, datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as world  # noqa: E402
from schema_fields import ENROLLMENT  # noqa: E402

OUT = os.path.join(world.FIXTURES, "reference")
TERMS = {"FY": (world.FIRST_DAY, date(2026, 5, 22)), "S1": world.GRADING_PERIODS["S1"], "S2": world.GRADING_PERIODS["S2"]}
CENTRAL = {"165030"}  # one fictional school on Central time, so both zones are exercised
SCALES = {
    "KY10PT": [("A", "90", "100", True), ("B", "80", "89.99", True), ("C", "70", "79.99", True), ("D", "60", "69.99", True),
               ("F", "0", "59.99", False), ("I", "", "", False), ("W", "", "", False)],
    "KYSBG4": [("4", "3.5", "4", True), ("3", "2.5", "3.49", True), ("2", "1.5", "2.49", True), ("1", "0", "1.49", False),
               ("I", "", "", False), ("W", "", "", False)],
    "PASSFAIL": [("P", "", "", True), ("F", "", "", False), ("I", "", "", False), ("W", "", "", False)],
    "HS7PT": [("A", "93", "100", True), ("B", "85", "92.99", True), ("C", "77", "84.99", True), ("D", "70", "76.99", True),
              ("F", "0", "69.99", False), ("I", "", "", False), ("W", "", "", False)],
}


def table(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def files():
    orgs = {**world.TECH_CENTERS, **world.HIGH_SCHOOLS}
    result = {}
    result["participants.csv"] = table(
        ["orgId", "name", "classification", "timeZone", "outputFormat", "doneMarker", "unknownSync"],
        [[o.org_id, o.name, o.classification, "America/Chicago" if o.org_id in CENTRAL else "America/New_York",
          "same", "false", "true" if o.org_id in ("061010", "165020") else "false"] for o in sorted(orgs.values(), key=lambda o: o.org_id)])
    catalog = []
    for center, courses in sorted(world.CATALOG.items()):
        for course in courses:
            begin, end = TERMS[course.term]
            for section in sorted(world.SECTIONS):
                catalog.append([center, world.SCHOOL_YEAR, course.kts, section, course.state, course.title[:60], course.term,
                                begin.isoformat(), end.isoformat(), course.credits, world.SESSION_MINUTES])
    result["catalog.csv"] = table(
        ["centerOrgId", "schoolYear", "ktsCourseNumber", "sectionNumber", "stateCourseCode", "courseTitle", "termCode",
         "termBeginDate", "termEndDate", "credits", "minutesPerDay"], catalog)
    codes = []
    for center in sorted(world.TECH_CENTERS):
        for (status, excuse), code in sorted(world.ATT_CODES.items(), key=lambda item: item[1]):
            codes.append([center, code, status, excuse or "", f"{status} {excuse or ''}".strip()])
    result["attendance-codes.csv"] = table(["centerOrgId", "localCode", "attendanceStatus", "excuseStatus", "description"], codes)
    result["grading-scales.csv"] = table(
        ["scaleCode", "letter", "minimum", "maximum", "passing"],
        [[code, letter, low, high, "true" if passing else "false"] for code, bands in SCALES.items() for letter, low, high, passing in bands])
    result["course-mappings.csv"] = table(
        ["centerOrgId", "ktsCourseNumber", "homeSchoolOrgId", "homeCourseNumber", "homeCourseTitle", "homeGradingScaleCode"],
        [["061014", "WLD101", "061020", "CTE-WLD1", "Welding Technology I", "HS7PT"],
         ["061014", "AUT101", "*", "CTE-AUT1", "", ""]])
    result["calendars.csv"] = table(
        ["orgId", "schoolYear", "kind", "firstDate", "lastDate", "note"],
        [[org, world.SCHOOL_YEAR, "instructional", world.FIRST_DAY.isoformat(), "2026-05-22", "regular year"]
         for org in sorted(orgs)])
    result["schedule.conf"] = (
        "# Nightly jobs and thresholds (Kentucky time)\n"
        "time_zone = America/New_York\n"
        "grade_posting_time = 22:00\n"
        "unknown_sync_time = 05:30\n"
        "catch_up_days = 7\n"
        "waiver_window = 01-01..03-01\n"
        "max_credits = 3\n")
    return result


def rosters():
    _, enrollments = world.build_world()
    rng = world.rng_for("reference-roster")
    made = datetime(2026, 2, 19, 7, 0)
    by_school = {}
    for e in enrollments:
        by_school.setdefault(e.student.home, []).append(world.enrollment_record(rng, e, "add", made))
    result = {}
    for school, records in sorted(by_school.items()):
        data, _ = world.render_csv(world.CsvDoc(world.csv_rows(ENROLLMENT, records)))
        result[f"roster/KTSX_ENR_{school}_20260219T070000_0001.csv"] = data
    return result


def main():
    os.makedirs(os.path.join(OUT, "roster"), exist_ok=True)
    for name, text in files().items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="") as out:
            out.write(text)
    for name, data in rosters().items():
        with open(os.path.join(OUT, name), "wb") as out:
            out.write(data)
    print(f"wrote Fixtures/reference/ ({len(files())} files) and {len(rosters())} roster files")


if __name__ == "__main__":
    main()
