#!/usr/bin/env python3
"""Writes the test fixtures under Fixtures/: realistic valid files of every KTS Exchange type in both
bindings, small invalid files with planted mistakes, and Fixtures/MANIFEST.md describing each one.

Everything is derived from the field tables in tools/schema_fields.py and is deterministic (seeded
random generators, fixed dates, no wall clock): running the script twice writes the same bytes.

Usage (from the package root):
    python3 tools/gen_fixtures.py            write the fixtures (needs nothing but Python 3.11)
    python3 tools/gen_fixtures.py --check    regenerate in memory, compare with the files on disk, and
                                             run every fixture through the reference oracles:
                                             xmllint (XML) and frictionless (CSV); exits 1 on any
                                             disagreement with a fixture's intended verdict.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable, Optional
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from schema_fields import (  # noqa: E402
    ACKNOWLEDGEMENT, ATTENDANCE, ENROLLMENT, ERRORS, EXCHANGE_TYPES, GRADES, HEADER, NAMESPACE, WAIVERS, upper_camel,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Fixtures")
SCHEMAS = os.path.join(ROOT, "Schemas")
TYPES = {t.code: t for t in EXCHANGE_TYPES}
BOM = "\ufeff"
SCHOOL_YEAR = 2026

# The frictionless options every CSV check uses. Without them frictionless guesses the encoding with
# chardet (a file whose first 100 kB is ASCII may be read as something else) and sniffs the dialect
# with csv.Sniffer (';' inside values such as periods "1;2;3" can win as the delimiter).
FRICTIONLESS_OPTIONS = [
    "--format", "csv",
    "--encoding", "utf-8",
    "--dialect", '{"delimiter": ",", "quoteChar": "\\"", "doubleQuote": true}',
]


# ---------------------------------------------------------------------------------------------------
# Reference data: organisations, catalog, calendar, people
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Org:
    org_id: str
    name: str
    classification: str


TECH_CENTERS = {
    "061014": Org("061014", "Ridgeline Area Technology Center", "C2"),       # state-operated ATC
    "165901": Org("165901", "Bluegrass Career and Technical Center", "A2"),  # district-operated CTC
}
HIGH_SCHOOLS = {
    "061010": Org("061010", "Ridgeline High School", "A1"),
    "061020": Org("061020", "Licking River High School", "A1"),
    "081010": Org("081010", "Kenton Hills High School", "A1"),
    "165010": Org("165010", "Bluegrass Central High School", "A1"),
    "165020": Org("165020", "Elkhorn Creek High School", "A1"),
    "165030": Org("165030", "Paris Pike High School", "A1"),
}
FEEDERS = {"061014": ("061010", "061020", "081010"), "165901": ("165010", "165020", "165030")}
STUDENTS_PER_SCHOOL = {"061010": 170, "061020": 70, "081010": 60, "165010": 60, "165020": 140, "165030": 50}


@dataclass(frozen=True)
class Course:
    kts: str
    state: str
    title: str
    term: str  # FY, S1, S2
    credits: str
    scale: str
    follow_on: Optional[str] = None  # S1 course -> its S2 sequel


CATALOG = {
    "061014": (
        Course("AUT101", "470611", "Automotive Maintenance and Light Repair I", "FY", "2", "KY10PT"),
        Course("WLD101", "480511", "Welding I: Shielded Metal Arc", "FY", "2", "KY10PT"),
        Course("ELE101", "460311", "Fundamentals of Electricity", "FY", "2", "KY10PT"),
        Course("CAR101", "460211", "Carpentry Fundamentals", "FY", "2", "KY10PT"),
        Course("HLT101", "170111", "Principles of Health Science", "FY", "2", "KY10PT"),
        Course("MNA201", "170511", "Medicaid Nurse Aide", "S1", "1", "KY10PT", "HLT210"),
        Course("HLT210", "170220", "Emergency Procedures", "S2", "1", "KY10PT"),
        Course("IT101", "110141", "Computer and Technology Essentials", "S1", "1", "KY10PT", "IT110"),
        Course("IT110", "110451", "Networking Fundamentals", "S2", "1", "KY10PT"),
        Course("MCH101", "480502", "Machine Tool Technology I", "S1", "1", "KY10PT", "MCH102"),
        Course("MCH102", "480503", "Machine Tool Technology II", "S2", "1", "KY10PT"),
    ),
    "165901": (
        Course("CUL101", "200401", "Culinary Arts I", "FY", "2", "KY10PT"),
        Course("DRF101", "151311", "Drafting and Design Fundamentals", "FY", "2", "KYSBG4"),
        Course("DSL101", "470605", "Diesel Technology I", "FY", "2", "KY10PT"),
        Course("IMT101", "470303", "Industrial Maintenance I", "FY", "2", "KY10PT"),
        Course("LAW101", "430107", "Introduction to Law Enforcement", "FY", "2", "KY10PT"),
        Course("PHT101", "170601", "Pharmacy Technician I", "S1", "1", "KY10PT", "PHT102"),
        Course("PHT102", "170602", "Pharmacy Technician II", "S2", "1", "KY10PT"),
        Course("EMR101", "170231", "Emergency Medical Responder", "S1", "1", "KY10PT", "WBL201"),
        Course("WBL201", "170299", "Work-Based Learning: Health Science", "S2", "1", "PASSFAIL"),
    ),
}
COURSES = {c.kts: c for courses in CATALOG.values() for c in courses}
# Section -> (center period code, high-school periods the student is away).
SECTIONS = {"AM-01": ("AM", "1;2;3"), "AM-02": ("AM", "1;2;3"), "PM-01": ("PM", "5;6;7")}
SESSION_START = {"AM": time(7, 50), "PM": time(11, 45)}
SESSION_MINUTES = 165

FIRST_DAY = date(2025, 8, 13)
GRADING_PERIODS = {
    "Q1": (date(2025, 8, 13), date(2025, 10, 10)),
    "Q2": (date(2025, 10, 20), date(2025, 12, 19)),
    "S1": (date(2025, 8, 13), date(2025, 12, 19)),
    "Q3": (date(2026, 1, 5), date(2026, 3, 13)),
    "Q4": (date(2026, 3, 16), date(2026, 5, 22)),
    "S2": (date(2026, 1, 5), date(2026, 5, 22)),
}
TERM_START = {"FY": FIRST_DAY, "S1": FIRST_DAY, "S2": date(2026, 1, 5)}

FIRST_NAMES = (
    "Aiden", "Brayden", "Caleb", "Carter", "Colton", "Dakota", "Elijah", "Emma", "Ethan", "Gavin",
    "Hailey", "Hunter", "Isabella", "Jackson", "Jacob", "Jaylen", "José", "Kaylee", "Landon", "Logan",
    "Madison", "Mason", "Noah", "Olivia", "Paisley", "Peyton", "Riley", "Sofía", "Tanner", "Zoë",
    "Chloé", "Ángel", "Renée", "Nevaeh", "DeShawn", "Ja'Marcus", "Mary Beth", "Anh", "Braxton", "Kinsley",
    "Wyatt", "Harper", "Cheyenne", "Easton", "Aubree", "Bentley", "Raegan", "Maverick", "Jasmine", "Eli",
)
MIDDLE_NAMES = (
    "James", "Lynn", "Grace", "Michael", "Marie", "Lee", "Ann", "Wayne", "Dale", "Rose", "Ray",
    "Elizabeth", "Alexander", "Jo", "Anne-Marie", "Luis", "Ngọc", "Thomas", "Faith", "Cole",
)
LAST_NAMES = (
    "Adams", "Baker", "Begley", "Bowling", "Branham", "Brewer", "Caudill", "Collins", "Combs", "Cornett",
    "Dixon", "Fields", "Gabbard", "García", "Hall", "Hensley", "Hernández", "Howard", "Johnson", "Lewis",
    "Lykins", "Mullins", "Muñoz", "Nguyễn", "O'Brien", "O'Neal", "Osborne", "Peña", "Ritchie", "Sizemore",
    "Slone", "Smith-Caudill", "St. Clair", "Stamper", "Turner", "Van Meter", "Whitaker", "Wilson", "Yonts",
    "McDaniel", "Napier", "Pennington", "Sexton", "Tackett", "Noble", "Ramírez", "Abdi", "Patel",
)


# ---------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------

def rng_for(name: str) -> random.Random:
    return random.Random(f"ktsx-fixtures-{name}")


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def eastern_offset(d: date) -> str:
    """UTC offset of America/New_York (Frankfort) on a date of school year 2026 (switches at 2 am)."""
    dst = (date(2025, 3, 9) <= d < date(2025, 11, 2)) or (date(2026, 3, 8) <= d < date(2026, 11, 1))
    return "-04:00" if dst else "-05:00"


def ts(dt: datetime, utc: bool = False) -> str:
    """An xs:dateTime / Table Schema datetime in Eastern time, or in UTC with Z."""
    if utc:
        hours = 4 if eastern_offset(dt.date()) == "-04:00" else 5
        return (dt + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + eastern_offset(dt.date())


def school_days(start: date, end: date):
    d = start
    while d <= end:
        if d.weekday() < 5:
            yield d
        d += timedelta(days=1)


def add_minutes(t: time, minutes: int) -> time:
    return (datetime.combine(date(2000, 1, 1), t) + timedelta(minutes=minutes)).time()


def dec(value: float, places: int = 2) -> str:
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


@dataclass
class Student:
    ssid: str
    local_number: str
    last: str
    first: str
    middle: Optional[str]
    birth: date
    grade: str
    home: str


@dataclass
class Enrollment:
    student: Student
    center: str
    course: Course
    section: str
    entry: date
    exit: Optional[date] = None
    exit_reason: Optional[str] = None


def build_world():
    """Students of every high school and their technical-center enrollments for school year 2026."""
    rng = rng_for("world")
    used_ssids = set()
    students = {}
    for school, count in STUDENTS_PER_SCHOOL.items():
        pool = []
        for _ in range(count):
            while True:
                ssid = f"{rng.randint(10**9, 10**10 - 1)}"
                if ssid not in used_ssids:
                    used_ssids.add(ssid)
                    break
            grade = rng.choices(("09", "10", "11", "12"), weights=(5, 25, 35, 35))[0]
            age_year = {"09": 2010, "10": 2009, "11": 2008, "12": 2007}[grade]
            birth = date(age_year, 9, 2) + timedelta(days=rng.randint(0, 364))
            middle = rng.choice(MIDDLE_NAMES) if rng.random() < 0.6 else None
            pool.append(Student(ssid, f"{school[:3]}{rng.randint(100000, 999999)}", rng.choice(LAST_NAMES),
                                rng.choice(FIRST_NAMES), middle, birth, grade, school))
        students[school] = pool
    # A few names that exercise CSV quoting (comma, double quote) and XML escaping.
    specials = students["061010"]
    specials[50].last, specials[50].first = "Whitaker, Jr.", "Robert"
    specials[77].first, specials[77].middle = 'Katherine "Kate"', "Lynn, Marie"
    specials[101].last, specials[101].first, specials[101].middle = "O'Brien", "Zoë", "Ann"
    specials[133].first, specials[133].last = "José", "Hernández-Muñoz"
    specials2 = students["165020"]
    specials2[2].last, specials2[2].first = "D'Angelo-Peña", "Mary Beth"
    specials2[5].first, specials2[5].last = "Zoë", "Nguyễn"

    enrollments = []
    for center, feeders in FEEDERS.items():
        fy = [c for c in CATALOG[center] if c.term == "FY"]
        s1 = [c for c in CATALOG[center] if c.term == "S1"]
        for school in feeders:
            for st in students[school]:
                section = rng.choices(("AM-01", "AM-02", "PM-01"), weights=(4, 2, 4))[0]
                late = rng.random() < 0.08
                entry = FIRST_DAY if not late else rng.choice(list(school_days(date(2025, 8, 18), date(2025, 9, 5))))
                if rng.random() < 0.62:
                    enrollments.append(Enrollment(st, center, rng.choice(fy), section, entry))
                else:
                    first = rng.choice(s1)
                    enrollments.append(Enrollment(st, center, first, section, entry))
                    enrollments.append(Enrollment(st, center, COURSES[first.follow_on], section, TERM_START["S2"]))
                e = enrollments[-1]
                if e.course.term != "S2" and rng.random() < 0.05:
                    e.exit = rng.choice(list(school_days(date(2025, 9, 8), date(2025, 9, 26))))
                    e.exit_reason = rng.choice(("TRANSFERRED", "WITHDRAWN", "SCHEDULE_CHANGE", "NO_SHOW"))
    return students, enrollments


def active_on(e: Enrollment, d: date) -> bool:
    start, end = {"FY": (FIRST_DAY, date(2026, 5, 22)), "S1": GRADING_PERIODS["S1"],
                  "S2": GRADING_PERIODS["S2"]}[e.course.term]
    return max(start, e.entry) <= d <= min(end, e.exit or end)


# ---------------------------------------------------------------------------------------------------
# Record builders: each returns an ordered dict field name -> lexical value (absent = not present)
# ---------------------------------------------------------------------------------------------------

def ordered(exchange, values: dict) -> dict:
    names = [f.name for f in exchange.fields]
    unknown = set(values) - set(names)
    assert not unknown, unknown
    missing = [f.name for f in exchange.fields if f.required and values.get(f.name) in (None, "")]
    assert not missing, (exchange.code, missing)
    return {n: values[n] for n in names if values.get(n) not in (None, "")}


def enrollment_record(rng, e: Enrollment, action: str, modified: datetime) -> dict:
    """`modified` is when the file was made: exits after it are not known yet."""
    st = e.student
    known_exit = e.exit is not None and e.exit < modified.date()
    changed = modified - timedelta(minutes=rng.randint(5, 60 * 24 * 3))
    if known_exit:
        changed = max(changed, datetime.combine(e.exit, time(15, 0)) + timedelta(minutes=rng.randint(1, 600)))
        changed = min(changed, modified - timedelta(minutes=5))
    return ordered(ENROLLMENT, {
        "recordId": new_uuid(rng),
        "action": action,
        "schoolYear": str(SCHOOL_YEAR),
        "ssid": st.ssid,
        "localStudentNumber": st.local_number if rng.random() < 0.85 else None,
        "lastName": st.last,
        "firstName": st.first,
        "middleName": st.middle,
        "birthDate": st.birth.isoformat(),
        "gradeLevel": st.grade,
        "homeSchoolOrgId": st.home,
        "techCenterOrgId": e.center,
        "ktsCourseNumber": e.course.kts,
        "sectionNumber": e.section,
        "stateCourseCode": e.course.state,
        "termCode": e.course.term,
        "entryDate": e.entry.isoformat(),
        "exitDate": e.exit.isoformat() if known_exit else None,
        "exitReason": e.exit_reason if known_exit else None,
        "periods": SECTIONS[e.section][1] if rng.random() < 0.85 else None,
        "dualCredit": rng.choice(("DC", "KDCS")) if e.course.term == "FY" and rng.random() < 0.06 else None,
        "repeatIndicator": ("true" if rng.random() < 0.08 else "false") if rng.random() < 0.3 else None,
        "attemptedCredits": e.course.credits if rng.random() < 0.7 else None,
        "lastModified": ts(changed, utc=rng.random() < 0.1),
    })


ATT_CODES = {("A", "EX"): "EXC", ("A", "UX"): "UNX", ("A", "UK"): "UNK", ("A", "XM"): "SCH",
             ("T", "EX"): "TEX", ("T", "UX"): "TUX", ("T", "UK"): "TUK",
             ("E", "EX"): "EEX", ("E", "UX"): "EUX", ("E", "UK"): "EUK", ("P", None): "PRS"}
ED_FI = "uri://ed-fi.org/AttendanceEventCategoryDescriptor#"
CATEGORIES = {("P", None): ED_FI + "In Attendance", ("A", "EX"): ED_FI + "Excused Absence",
              ("A", "UX"): ED_FI + "Unexcused Absence",
              ("A", "UK"): "uri://education.ky.gov/AttendanceEventCategoryDescriptor#Unknown Absence",
              ("A", "XM"): ED_FI + "In Attendance", "T": ED_FI + "Tardy", "E": ED_FI + "Early departure"}
REASONS = {
    ("A", "EX"): ("Doctor appointment", "Kentucky State Fair (statutory excused day)", "Court appearance",
                  "Funeral – grandmother", "Educational enhancement opportunity (EEO)", "Illness, parent note"),
    ("A", "UX"): ("No note received within 3 days", "Skipped bus", None),
    ("A", "UK"): (None, None, "Parent called, note pending"),
    ("A", "XM"): ("SkillsUSA regional competition", "FFA field day", "Dual credit campus visit (KCTCS)"),
    ("T", "EX"): ("Bus 14 late", "Dentist – note on file"),
    ("T", "UX"): ("Overslept", None),
    ("T", "UK"): (None,),
    ("E", "EX"): ("Left with parent, orthodontist", "Sent home ill by school nurse"),
    ("E", "UX"): ("Left campus without checking out",),
    ("E", "UK"): (None,),
}
# Free text that exercises CSV quoting: a comma, a double quote and a line break in one value.
TRICKY_REASON = 'Bus 14 late, driver said "road closed" on KY-17\nParent confirmed by phone'
TRICKY_REASON_2 = 'Parent note: "stomach bug, back tomorrow"\nSigned by guardian (Renée Ó Súilleabháin)'


def attendance_record(rng, center: str, st: Student, day: date, granularity: str, e: Optional[Enrollment],
                      status: Optional[str] = None, excuse: Optional[str] = None, action: str = "add",
                      recorded: Optional[datetime] = None, modified: Optional[datetime] = None,
                      reason: Optional[str] = None, session: str = "AM") -> dict:
    if status is None:
        status = rng.choices(("P", "A", "T", "E"), weights=(84, 9, 4, 3))[0]
    if status != "P" and excuse is None:
        excuse = rng.choices(("EX", "UX", "UK", "XM"), weights=(35, 25, 35, 5))[0] if status == "A" \
            else rng.choices(("EX", "UX", "UK"), weights=(45, 30, 25))[0]
    if status == "P":
        excuse = None
    if e is not None:
        session = SECTIONS[e.section][0]
    start = SESSION_START[session]
    length = SESSION_MINUTES
    arrival = departure = None
    minutes = duration = None
    if status == "A":
        minutes, duration = length, "1"
    elif status == "T":
        late = rng.choice((5, 8, 12, 15, 20, 35))
        arrival = add_minutes(start, late).strftime("%H:%M:%S")
        minutes, duration = late, dec(late / length)
    elif status == "E":
        early = rng.choice((30, 45, 60, 75))
        departure = add_minutes(start, length - early).strftime("%H:%M:%S")
        minutes, duration = early, dec(early / length)
    key = (status, excuse)
    if reason is None and status != "P":
        reason = rng.choice(REASONS[key])
    if recorded is None:
        taken = add_minutes(start, rng.randint(5, 40))  # the teacher takes attendance early in the session
        if arrival:
            taken = max(taken, add_minutes(time.fromisoformat(arrival), rng.randint(1, 6)))
        if departure:
            taken = max(taken, add_minutes(time.fromisoformat(departure), rng.randint(1, 6)))
        recorded = datetime.combine(day, taken).replace(second=rng.randint(0, 59))
    modified = modified or recorded + timedelta(minutes=rng.choice((0, 0, 0, 3, 47, 190)))
    return ordered(ATTENDANCE, {
        "recordId": new_uuid(rng),
        "action": action,
        "schoolYear": str(SCHOOL_YEAR),
        "ssid": st.ssid,
        "techCenterOrgId": center,
        "homeSchoolOrgId": st.home,
        "ktsCourseNumber": e.course.kts if granularity == "PERIOD" else None,
        "sectionNumber": e.section if granularity == "PERIOD" else None,
        "granularity": granularity,
        "attendanceDate": day.isoformat(),
        "periodCode": session if granularity == "PERIOD" else None,
        "attendanceStatus": status,
        "excuseStatus": excuse,
        "localAttendanceCode": ATT_CODES[key] if rng.random() < 0.7 else None,
        "attendanceCategory": CATEGORIES.get(key, CATEGORIES.get(status)) if rng.random() < 0.6 else None,
        "absentMinutes": str(minutes) if minutes is not None and rng.random() < 0.9 else None,
        "eventDuration": duration if rng.random() < 0.8 else None,
        "arrivalTime": arrival,
        "departureTime": departure,
        "reason": reason,
        "recordedDateTime": ts(recorded, utc=rng.random() < 0.1),
        "lastModified": ts(modified),
    })


KY10PT = (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("F", 0))
SBG4 = (("4", 3.5), ("3", 2.5), ("2", 1.5), ("1", 0))
COMMENTS = (
    "Excellent shop safety record.", "Needs to complete the OSHA 10 module.", "Missing lab reports 3 and 4.",
    "Strong MIG bead work, keep it up", "Très bien – ready for certification testing.",
    "Quiz average < 70; retake offered.", "Earned NCCER Core credential.", "Attendance is affecting grade.",
)
TRICKY_COMMENT = 'Finished "Lab 4: brake inspection", great work.\nRetest on ASE safety quiz scheduled 1/12.'


def letter_for(scale, value):
    for letter, low in scale:
        if value >= low:
            return letter
    return scale[-1][0]


def grade_record(rng, e: Enrollment, grade_type: str, period: str, as_of: date, posted: datetime,
                 comment: Optional[str] = None) -> dict:
    course = e.course
    begin, end = GRADING_PERIODS[period]
    begin = max(begin, e.entry)
    withdrawn = e.exit is not None and e.exit <= end
    letter = numeric = result = attempted = earned = None
    scale = course.scale
    if scale == "KY10PT":
        value = max(38.0, min(100.0, rng.gauss(84, 9)))
        value = round(value * 2) / 2
        numeric, letter = dec(value), letter_for(KY10PT, value)
    elif scale == "KYSBG4":
        value = max(1.0, min(4.0, round(rng.gauss(3.0, 0.6), 1)))
        numeric, letter = dec(value, 1), letter_for(SBG4, value)
    else:
        letter = "P" if rng.random() < 0.93 else "F"
    incomplete = grade_type == "FINAL" and not withdrawn and rng.random() < 0.02
    if withdrawn:
        letter, numeric = "W", None
    elif incomplete:
        letter, numeric = "I", None
    if grade_type in ("FINAL", "SEMESTER"):
        attempted = course.credits if grade_type == "FINAL" or course.term != "FY" \
            else dec(float(course.credits) / 2)
        failed = letter in ("F",) or withdrawn or incomplete
        earned = "0" if failed else attempted
    if grade_type == "FINAL":
        result = "WITHDRAWN" if withdrawn else "INCOMPLETE" if incomplete else \
            "FAIL" if letter == "F" else "PASS"
    current = {"PROGRESS": "true", "FINAL": "false"}.get(grade_type, "false" if rng.random() < 0.7 else None)
    if comment is None and rng.random() < 0.12:
        comment = rng.choice(COMMENTS)
    return ordered(GRADES, {
        "recordId": new_uuid(rng),
        "action": "add",
        "schoolYear": str(SCHOOL_YEAR),
        "ssid": e.student.ssid,
        "techCenterOrgId": e.center,
        "homeSchoolOrgId": e.student.home,
        "ktsCourseNumber": course.kts,
        "sectionNumber": e.section,
        "stateCourseCode": course.state,
        "courseTitle": course.title if rng.random() < 0.9 else None,
        "gradeType": grade_type,
        "gradingPeriodCode": period,
        "gradingPeriodBeginDate": begin.isoformat(),
        "gradingPeriodEndDate": end.isoformat(),
        "gradingScaleCode": scale,
        "letterGrade": letter,
        "numericGrade": numeric,
        "currentGradeIndicator": current,
        "asOfDate": min(as_of, e.exit or as_of).isoformat(),
        "courseAttemptResult": result,
        "creditsAttempted": attempted,
        "creditsEarned": earned,
        "creditType": ("CTE" if rng.random() < 0.8 else "CARNEGIE") if attempted else None,
        "dualCredit": "DC" if attempted and course.kts in ("WLD101", "EMR101") and rng.random() < 0.3 else None,
        "noCredit": "false" if attempted and rng.random() < 0.2 else None,
        "repeatIndicator": "true" if rng.random() < 0.02 else None,
        "comment": comment,
        "postedDateTime": ts(posted + timedelta(seconds=rng.randint(0, 5400))),
    })


# ---------------------------------------------------------------------------------------------------
# Bindings: XML and CSV writers that remember on which physical line everything landed
# ---------------------------------------------------------------------------------------------------

@dataclass
class XmlDoc:
    """An XML file as a root, optional header items and records; each record is a list of
    (element, text) pairs so that invalid variants can reorder, drop or add elements."""
    exchange: object
    header: Optional[list]
    records: list
    bom: bool = False
    namespace: str = NAMESPACE


def xml_text(value: str) -> str:
    return escape(value)


def render_xml(doc: XmlDoc):
    """Returns (text, lines) where lines[(record index, element)] is the element's 1-based line,
    lines[(index, None)] the record start tag, and lines[("Header", element)] for header items."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<{doc.exchange.root} xmlns="{doc.namespace}">']
    lines = {}

    def emit(indent, name, value):
        if value is None:
            out.append(f"{indent}<{name}/>")
        else:
            out.append(f"{indent}<{name}>{xml_text(value)}</{name}>")

    if doc.header is not None:
        out.append("  <Header>")
        for name, value in doc.header:
            lines[("Header", name)] = len(out) + 1
            emit("    ", name, value)
        out.append("  </Header>")
    for i, rec in enumerate(doc.records):
        lines[(i, None)] = len(out) + 1
        out.append(f"  <{doc.exchange.record}>")
        for name, value in rec:
            lines.setdefault((i, name), len(out) + 1)
            emit("    ", name, value)
            out[-1:] = out[-1].split("\n")  # a value with a line break spans lines
        out.append(f"  </{doc.exchange.record}>")
    out.append(f"</{doc.exchange.root}>")
    text = "\n".join(out) + "\n"
    return (BOM if doc.bom else "") + text, lines


def xml_record(rec: dict) -> list:
    return [(upper_camel(k), v) for k, v in rec.items()]


def xml_header(sender, year, count, created, batch=None, source=None) -> list:
    items = [("SenderOrgId", sender), ("SchoolYear", str(year)), ("RecordCount", str(count)),
             ("CreatedDateTime", created)]
    if batch:
        items.append(("BatchId", batch))
    if source:
        items.append(("SourceSystem", source))
    order = [upper_camel(f.name) for f in HEADER]
    assert [n for n, _ in items] == [n for n in order if n in dict(items)]
    return items


def csv_cell(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass
class CsvDoc:
    """A CSV file as rows of raw cells (row 0 is the header); a row may be a str to write it verbatim."""
    rows: list
    crlf: bool = False
    bom: bool = False
    encoding: str = "utf-8"


def csv_rows(exchange, records: list) -> list:
    names = [f.name for f in exchange.fields]
    return [names] + [[r.get(n, "") for n in names] for r in records]


def render_csv(doc: CsvDoc):
    """Returns (bytes, lines) where lines[k] is the physical 1-based line on which logical row k starts
    (row 0 = header; frictionless calls it rowNumber k + 1)."""
    newline = "\r\n" if doc.crlf else "\n"
    parts, lines, line = [], [], 1
    for row in doc.rows:
        text = row if isinstance(row, str) else ",".join(csv_cell(c) for c in row)
        lines.append(line)
        line += text.count("\n") + 1
        parts.append(text + newline)
    text = (BOM if doc.bom else "") + "".join(parts)
    return text.encode(doc.encoding), lines


# ---------------------------------------------------------------------------------------------------
# Fixture bookkeeping
# ---------------------------------------------------------------------------------------------------

@dataclass
class Fixture:
    path: str  # relative to Fixtures/
    data: bytes
    type: str  # ENR, ATT, ...
    binding: str  # XML, CSV
    valid: bool  # intended verdict of the oracle
    exercises: str
    mistakes: str = ""  # for invalid files: what was planted where
    # XML: exact set of (line, text expected in xmllint's message for that line).
    xml_errors: list = field(default_factory=list)
    # CSV: (frictionless error type, rowNumber or None); `csv_exact` requires the reported set to be equal.
    csv_errors: list = field(default_factory=list)
    csv_exact: bool = True
    records: int = 0
    note: str = ""  # expected behaviour beyond the oracles (e.g. record-count mismatch)


def file_name(code: str, sender: str, created: datetime, seq: int, ext: str) -> str:
    return f"KTSX_{code}_{sender}_{created:%Y%m%dT%H%M%S}_{seq:04d}.{ext}"


# ---------------------------------------------------------------------------------------------------
# Valid files
# ---------------------------------------------------------------------------------------------------

def valid_datasets(enrollments):
    """The records of every valid file: name -> dict(type, sender, created, records, ...)."""
    sets = {}

    # ENR CSV: Ridgeline High School's roster, exported from Excel (UTF-8 BOM, CRLF). The school piloted
    # with a small file _0001 in August (not a fixture) holding its first 40 enrollments; this file adds
    # the rest and updates pilot enrollments that changed since (exits, corrected periods and credits),
    # and deletes one entered by mistake.
    rng = rng_for("enr-csv")
    created = datetime(2025, 9, 29, 7, 30)
    mine = [e for e in enrollments if e.student.home == "061010"]
    pilot, rest = mine[:40], mine[40:]
    records = [enrollment_record(rng, e, "add", created) for e in rest]
    for n, e in enumerate(pilot[1:]):
        if e.exit or n % 6 == 0:
            rec = enrollment_record(rng, e, "update", created)
            rec["periods"] = SECTIONS[e.section][1]
            rec["attemptedCredits"] = e.course.credits
            records.append(ordered(ENROLLMENT, rec))
    records.append(enrollment_record(rng, pilot[0], "delete", created))
    sets["ENR-CSV"] = dict(type="ENR", sender="061010", created=created, records=records, seq=2,
                           crlf=True, bom=True,
                           exercises="Roster from a high school (Excel export: UTF-8 BOM, CRLF); names with "
                                     "comma, double quote, apostrophe and non-ASCII letters; FY/S1/S2 terms, "
                                     "exits, dual credit; updates (exits, corrections) and 1 delete of "
                                     "enrollments sent in an earlier pilot file")

    # ENR XML: Elkhorn Creek High School's first roster of the year, all adds.
    rng = rng_for("enr-xml")
    created = datetime(2025, 8, 11, 15, 30)
    mine = [e for e in enrollments if e.student.home == "165020"]
    records = [enrollment_record(rng, e, "add", created) for e in mine]
    sets["ENR-XML"] = dict(type="ENR", sender="165020", created=created, records=records, seq=1,
                           batch=new_uuid(rng), source="Infinite Campus (KSIS) KTS roster export",
                           exercises="Start-of-year roster from a high school, all adds; escaping of & and "
                                     "apostrophes; non-ASCII names")

    # ATT CSV: Ridgeline ATC, period attendance for Wed 1 Oct 2025, sent at 02:00 the next night;
    # plus updates resolving 30 Sep unknown absences.
    rng = rng_for("att-csv")
    created = datetime(2025, 10, 2, 2, 0)
    day = date(2025, 10, 1)
    mine = [e for e in enrollments if e.center == "061014" and active_on(e, day)]
    records = []
    for i, e in enumerate(mine):
        reason = {17: TRICKY_REASON, 120: TRICKY_REASON_2}.get(i)
        status = "T" if i == 17 else "A" if i == 120 else None
        excuse = "EX" if i in (17, 120) else None
        records.append(attendance_record(rng, "061014", e.student, day, "PERIOD", e, status, excuse,
                                         reason=reason))
    prev = date(2025, 9, 30)
    for e in [e for e in mine if active_on(e, prev)][5::23][:11]:
        recorded = datetime.combine(prev, add_minutes(SESSION_START[SECTIONS[e.section][0]], 12))
        records.append(attendance_record(
            rng, "061014", e.student, prev, "PERIOD", e, "A", "EX", action="update", recorded=recorded,
            modified=datetime(2025, 10, 1, 9, rng.randint(0, 59), rng.randint(0, 59)),
            reason="Parent note received 10/1"))
    sets["ATT-CSV"] = dict(type="ATT", sender="061014", created=created, records=records, seq=1,
                           exercises="A technical center's PERIOD attendance for one day (P/A/T/E with the "
                                     "excuse rules, arrival/departure times, Ed-Fi categories); quoted values "
                                     "with comma, double quote and line break; updates resolving unknown "
                                     "absences of the day before")

    # ATT XML: Bluegrass CTC, DAY attendance for Tue 10 Feb 2026 (EST offsets), a few PERIOD rows.
    rng = rng_for("att-xml")
    created = datetime(2026, 2, 11, 2, 0)
    day = date(2026, 2, 10)
    mine = [e for e in enrollments if e.center == "165901" and active_on(e, day)]
    records = []
    for i, e in enumerate(mine):
        session = SECTIONS[e.section][0]
        records.append(attendance_record(rng, "165901", e.student, day, "DAY", None, session=session,
                                         reason="Snow make-up day; roads in Harrison Co. icy, bus <30 min late"
                                         if i == 4 else None, status="T" if i == 4 else None))
        if i % 25 == 7:
            records.append(attendance_record(rng, "165901", e.student, day, "PERIOD", e,
                                             status=rng.choice(("T", "E")), excuse="UK"))
    sets["ATT-XML"] = dict(type="ATT", sender="165901", created=created, records=records, seq=1,
                           batch=new_uuid(rng), source="Infinite Campus (KSIS)",
                           exercises="A CTC's DAY attendance for one winter day (EST offsets, some UTC 'Z' "
                                     "times) plus a few PERIOD records; escaping of < in a reason")

    # GRD XML: Ridgeline ATC, first nine weeks (Q1) grading-period grades; starts with a UTF-8 BOM.
    rng = rng_for("grd-xml")
    created = datetime(2025, 10, 31, 18, 0)
    mine = [e for e in enrollments if e.center == "061014" and e.course.term != "S2"]
    records = []
    for i, e in enumerate(mine):
        comment = "Shop grade < 70 on Lab 2 & Lab 3; retake offered." if i == 9 else None
        records.append(grade_record(rng, e, "GRADING_PERIOD", "Q1", date(2025, 10, 10),
                                    datetime(2025, 10, 14, 15, 0), comment=comment))
    for e in [e for e in mine if not e.exit][::40]:
        records.append(grade_record(rng, e, "PROGRESS", "Q2", date(2025, 10, 30), datetime(2025, 10, 31, 14, 0)))
    sets["GRD-XML"] = dict(type="GRD", sender="061014", created=created, records=records, seq=1, bom=True,
                           source="Infinite Campus (KSIS) grade export",
                           exercises="First nine-weeks grades from an ATC (KY10PT scale, letter + numeric), "
                                     "a few PROGRESS grades for eligibility; file starts with a UTF-8 BOM")

    # GRD CSV: Bluegrass CTC, end of first semester: SEMESTER grades of full-year courses and FINAL
    # grades with credits of first-semester courses; a few EXAM grades.
    rng = rng_for("grd-csv")
    created = datetime(2026, 1, 9, 22, 30)
    mine = [e for e in enrollments if e.center == "165901" and e.course.term in ("FY", "S1")]
    records = []
    for i, e in enumerate(mine):
        comment = TRICKY_COMMENT if i in (3, 90) else None
        if e.course.term == "FY":
            records.append(grade_record(rng, e, "SEMESTER", "S1", date(2025, 12, 19),
                                        datetime(2026, 1, 8, 15, 0), comment=comment))
        else:
            if i % 9 == 0 and not e.exit:
                records.append(grade_record(rng, e, "EXAM", "S1", date(2025, 12, 17), datetime(2026, 1, 8, 15, 0)))
            records.append(grade_record(rng, e, "FINAL", "S1", date(2025, 12, 19),
                                        datetime(2026, 1, 8, 15, 0), comment=comment))
    sets["GRD-CSV"] = dict(type="GRD", sender="165901", created=created, records=records, seq=1,
                           exercises="End-of-semester grades from a CTC: SEMESTER grades (half the credits) "
                                     "of full-year courses, FINAL grades with courseAttemptResult and credits "
                                     "(PASS/FAIL/INCOMPLETE/WITHDRAWN), EXAM grades, KY10PT, KYSBG4 "
                                     "(standards 1-4) scales; comment with comma, quote and line break")

    # WVR: Bluegrass CTC (class A2) asks to be exempt for school year 2027, inside the 1 Jan - 1 Mar window.
    sets["WVR-CSV"] = waiver_set("wvr-csv", datetime(2026, 1, 15, 10, 15), 1,
                                 "Waiver history of one CTC for 2027: submit, amend, withdraw, submit again, "
                                 "two amends (priorWaiverId chain); multi-line texts with commas and quotes")
    sets["WVR-XML"] = waiver_set("wvr-xml", datetime(2026, 2, 10, 14, 30), 1,
                                 "Same shape as the CSV waiver file in XML; reasonCode OTHER with reasonText; "
                                 "E.164 phone; & in text")
    return sets


def waiver_set(name, created, seq, exercises):
    rng = rng_for(name)
    center = TECH_CENTERS["165901"]
    xml = name.endswith("xml")
    base = dict(
        centerOrgId=center.org_id, centerName=center.name, centerClassification=center.classification,
        operatingDistrictNumber="165", waiverSchoolYear="2027", waiverScope="FULL_EXCHANGE",
        affectedHomeSchoolOrgIds=";".join(FEEDERS["165901"]),
        submitterName="Dr. Renée Castellanos", submitterTitle="Principal, Bluegrass Career and Technical Center",
        submitterEmail="renee.castellanos@bluegrass.kyschools.us",
        submitterPhone="+18595550142" if xml else "859-555-0142",
        superintendentApproval="true",
    )
    alt = ("Enrollment, attendance and grades will be entered by the center's registrar directly in each "
           "feeder school's KSIS instance,\nweekly, using the \"Tech Center Student\" ad hoc filter & the "
           "district's shared roster.\nHome-school counselors receive a printed attendance summary every "
           "Friday.")
    steps = [
        ("submit", "ALT_SIS", None, 0),
        ("amend", "ALT_SIS", "Correction: the feeder list now includes Paris Pike High School.", 1),
        ("withdraw", "ALT_SIS", "Withdrawn: the district will join the exchange after all.", 2),
        ("submit", "OTHER" if xml else "CAPACITY",
         "The center's only registrar retires in March; a replacement, trained on KSIS, starts in August."
         if xml else "Registrar position vacant, posting closes 2/28.", 16),
        ("amend", "OTHER" if xml else "CAPACITY", "Amended approval date after the board meeting of 2/9.", 20),
        ("amend", "TECHNICAL", "Our SIS vendor's KTS export will not support the 2027 catalog until "
                               "spring, per ticket \"KSIS-4471\".", 27),
    ]
    records, previous = [], None
    for i, (action, reason, text, day_offset) in enumerate(steps):
        submitted = datetime(2026, 1, 5, 9, 0) + timedelta(days=day_offset, minutes=37 * i)
        rid = new_uuid(rng)
        rec = dict(base, recordId=rid, action=action, reasonCode=reason, reasonText=text,
                   alternateProcess=alt, approvalDate=(submitted.date() - timedelta(days=3)).isoformat(),
                   submittedDateTime=ts(submitted), priorWaiverId=previous if action != "submit" else None)
        if action == "withdraw":
            rec["affectedHomeSchoolOrgIds"] = None
        records.append(ordered(WAIVERS, rec))
        previous = rid
    return dict(type="WVR", sender="165901", created=created, records=records, seq=seq, schoolYear=2027,
                batch=new_uuid(rng) if xml else None, exercises=exercises)


def semantic_check(sets):
    """The valid files must also respect the business rules of record-layouts section 8 (as far as one file
    can show them), so that they stay usable once ktsx checks rules. Fails loudly (AssertionError)."""
    sy_start, sy_end = date(SCHOOL_YEAR - 1, 7, 1), date(SCHOOL_YEAR, 6, 30)

    def d(v):
        return date.fromisoformat(v)

    def in_year(v):
        return sy_start <= d(v) <= sy_end

    for key, ds in sets.items():
        created = ds["created"].date()
        ids = [r["recordId"] for r in ds["records"]]
        assert len(ids) == len(set(ids)), key
        for r in ds["records"]:
            where = (key, r["recordId"])
            if ds["type"] == "ENR":
                assert r["homeSchoolOrgId"] == ds["sender"] and r["techCenterOrgId"] in TECH_CENTERS, where
                assert in_year(r["entryDate"]) and COURSES[r["ktsCourseNumber"]].term == r["termCode"], where
                assert ("exitDate" in r) == ("exitReason" in r), where
                assert "exitDate" not in r or (in_year(r["exitDate"]) and r["entryDate"] <= r["exitDate"]), where
                assert r["homeSchoolOrgId"] in FEEDERS[r["techCenterOrgId"]], where
            elif ds["type"] == "ATT":
                status, excuse = r["attendanceStatus"], r.get("excuseStatus")
                assert r["techCenterOrgId"] == ds["sender"], where
                assert in_year(r["attendanceDate"]) and d(r["attendanceDate"]) < created, where
                assert d(r["attendanceDate"]).weekday() < 5, where
                assert (excuse is None) == (status == "P"), where  # ATT-04
                assert excuse != "XM" or status == "A", where
                assert ("arrivalTime" in r) == (status == "T"), where  # ATT-05
                assert ("departureTime" in r) == (status == "E"), where
                if r["granularity"] == "PERIOD":
                    assert all(k in r for k in ("ktsCourseNumber", "sectionNumber", "periodCode")), where
                else:
                    assert not any(k in r for k in ("ktsCourseNumber", "sectionNumber", "periodCode")), where
                assert r["recordedDateTime"][:10] >= r["attendanceDate"], where
                assert r["homeSchoolOrgId"] in FEEDERS[ds["sender"]], where
            elif ds["type"] == "GRD":
                gt = r["gradeType"]
                assert r["techCenterOrgId"] == ds["sender"], where
                assert in_year(r["gradingPeriodBeginDate"]) and in_year(r["gradingPeriodEndDate"]), where
                assert r["gradingPeriodBeginDate"] <= r["asOfDate"] <= r["gradingPeriodEndDate"], where
                assert "letterGrade" in r or "numericGrade" in r, where
                if gt == "FINAL":  # GRD-04
                    assert all(k in r for k in ("courseAttemptResult", "creditsAttempted", "creditsEarned")), where
                    assert r.get("currentGradeIndicator") != "true", where
                if gt == "SEMESTER":
                    assert "creditsAttempted" in r and "creditsEarned" in r, where
                if "creditsEarned" in r:  # GRD-05
                    assert 0 <= float(r["creditsEarned"]) <= float(r["creditsAttempted"]) <= 3, where
                if r.get("courseAttemptResult") in ("FAIL", "WITHDRAWN", "INCOMPLETE"):
                    assert r["creditsEarned"] == "0", where
                if r.get("courseAttemptResult") == "PASS":
                    assert float(r["creditsEarned"]) > 0, where
                if r["gradingScaleCode"] == "KY10PT" and "numericGrade" in r:  # GRD-03
                    assert letter_for(KY10PT, float(r["numericGrade"])) == r["letterGrade"], where
            elif ds["type"] == "WVR":
                assert r["centerOrgId"] == ds["sender"] and r["centerClassification"] == "A2", where
                assert r["superintendentApproval"] == "true", where
                assert r["approvalDate"] <= r["submittedDateTime"][:10], where
                assert "2026-01-01" <= r["submittedDateTime"][:10] <= "2026-03-01", where
                assert r["reasonCode"] != "OTHER" or "reasonText" in r, where
                assert ("priorWaiverId" in r) == (r["action"] != "submit"), where
                assert r.get("priorWaiverId") in (None, *ids[:ids.index(r["recordId"])]), where


def render_set(ds, binding):
    exchange = TYPES[ds["type"]]
    ext = binding.lower()
    name = file_name(ds["type"], ds["sender"], ds["created"], ds["seq"], ext)
    if binding == "XML":
        header = xml_header(ds["sender"], ds.get("schoolYear", SCHOOL_YEAR), len(ds["records"]),
                            ts(ds["created"]), ds.get("batch"), ds.get("source"))
        data, _ = render_xml(XmlDoc(exchange, header, [xml_record(r) for r in ds["records"]],
                                    bom=ds.get("bom", False)))
        data = data.encode("utf-8")
    else:
        data, _ = render_csv(CsvDoc(csv_rows(exchange, ds["records"]), crlf=ds.get("crlf", False),
                                    bom=ds.get("bom", False)))
    return name, data


# ---------------------------------------------------------------------------------------------------
# Invalid files
# ---------------------------------------------------------------------------------------------------

def sample(ds, n, start=0, where: Optional[Callable[[dict], bool]] = None, multiline=False):
    """n records of a valid dataset (deep-copied), by default skipping values with line breaks so that
    a CSV line equals its row unless a case wants otherwise."""
    picked = []
    for rec in ds["records"][start:]:
        if where is None or where(rec):
            if multiline or all("\n" not in v for v in rec.values()):
                picked.append(dict(rec))
        if len(picked) == n:
            break
    assert len(picked) == n, (ds["type"], n)
    return picked


def invalid_fixtures(sets):
    out = []
    enr_x, enr_c = sets["ENR-XML"], sets["ENR-CSV"]
    att_x, att_c = sets["ATT-XML"], sets["ATT-CSV"]
    grd_x, grd_c = sets["GRD-XML"], sets["GRD-CSV"]
    wvr_x = sets["WVR-XML"]

    # ---- XML ------------------------------------------------------------------------------------
    def xml_case(name, ds, records, exercises, mutate, header_count=None, namespace=NAMESPACE):
        exchange = TYPES[ds["type"]]
        xrecs = [xml_record(r) for r in records]
        planted = mutate(xrecs)  # returns [(record index, element, description, expected message)]
        header = xml_header(ds["sender"], ds.get("schoolYear", SCHOOL_YEAR),
                            header_count if header_count is not None else len(xrecs),
                            ts(ds["created"]), ds.get("batch"))
        text, lines = render_xml(XmlDoc(exchange, header, xrecs, namespace=namespace))
        mistakes, errors = [], []
        for where, elem, description, message in planted:
            line = lines[(where, elem)]
            mistakes.append(f"line {line}: {description}")
            if message is not None:
                errors.append((line, message))
        out.append(Fixture(f"invalid/{name}", text.encode("utf-8"), ds["type"], "XML", not errors, exercises,
                           "; ".join(mistakes), xml_errors=errors, records=len(xrecs)))
        return lines

    def set_value(rec, elem, value):
        for k, (n, _) in enumerate(rec):
            if n == elem:
                rec[k] = (n, value)
                return
        raise KeyError(elem)

    def replace(index, elem, value, description, message):
        def mutate(xrecs):
            set_value(xrecs[index], elem, value)
            return [(index, elem, description, message)]
        return mutate

    recs = sample(enr_x, 15, where=lambda r: True)
    s2 = next(i for i, r in enumerate(recs) if r["termCode"] in ("S2",))
    xml_case("enr-entry-date-feb30.xml", enr_x, recs, "XML date that does not exist (xs:date)",
             replace(s2, "EntryDate", "2026-02-30", "<EntryDate>2026-02-30</EntryDate> (February has no 30th)",
                     "'2026-02-30' is not a valid value of the atomic type"))

    recs = sample(att_x, 20)
    absent = [i for i, r in enumerate(recs) if r["attendanceStatus"] != "P"]
    absent += [i for i in range(len(recs)) if i not in absent]
    targets = sorted(absent[:3])

    def excuse_xx(xrecs):
        planted = []
        for i in targets:
            rec = xrecs[i]
            names = [n for n, _ in rec]
            if "ExcuseStatus" in names:
                set_value(rec, "ExcuseStatus", "XX")
            else:
                rec.insert(names.index("AttendanceStatus") + 1, ("ExcuseStatus", "XX"))
            planted.append((i, "ExcuseStatus", "<ExcuseStatus>XX</ExcuseStatus> (not a code of the set)",
                            "[facet 'enumeration'] The value 'XX' is not an element of the set"))
        return planted
    att_xx_lines = xml_case("att-excuse-code-xx.xml", att_x, recs,
                            "Unknown code in an enumerated field, in three records (the ERR example lists "
                            "these)", excuse_xx)

    recs = sample(grd_x, 12)

    def drop_scale(xrecs):
        rec = xrecs[6]
        k = [n for n, _ in rec].index("GradingScaleCode")
        del rec[k]
        return [(6, rec[k][0], "<GradingScaleCode> left out of the 7th Grade (required); the error is "
                               f"reported on the next element, <{rec[k][0]}>",
                 "This element is not expected. Expected is ( {urn:ky:kde:ktsx:1.0}GradingScaleCode )")]
    xml_case("grd-missing-grading-scale.xml", grd_x, recs, "A required element is missing", drop_scale)

    recs = sample(enr_x, 15, start=20)
    xml_case("enr-ssid-9-digits.xml", enr_x, recs, "A state student ID with 9 digits (pattern)",
             replace(4, "Ssid", recs[4]["ssid"][1:], "<Ssid> has 9 digits (leading digit lost)",
                     "[facet 'pattern'] The value"))

    recs = sample(wvr_x, 3, multiline=True)
    xml_case("wvr-center-name-too-long.xml", wvr_x, recs, "A value longer than its maximum length",
             replace(0, "CenterName", "Bluegrass Career and Technical Center of the Fayette County Public Schools",
                     "<CenterName> of 74 characters (Text60)", "[facet 'maxLength']"))

    recs = sample(att_x, 18, where=lambda r: "eventDuration" in r)
    k = next(i for i, r in enumerate(recs) if r["attendanceStatus"] in ("T", "E"))
    xml_case("att-event-duration-percent.xml", att_x, recs, "A number out of range (0 to 1)",
             replace(k, "EventDuration", "50", "<EventDuration>50</EventDuration> (a percentage instead of a "
                     "fraction of the day)", "[facet 'maxInclusive'] The value '50' is greater than"))

    recs = sample(grd_x, 14)
    recs.append(dict(recs[9]))
    recs[-1]["gradeType"], recs[-1]["gradingPeriodCode"] = "PROGRESS", "Q2"
    recs[-1]["gradingPeriodBeginDate"], recs[-1]["gradingPeriodEndDate"] = "2025-10-20", "2025-12-19"
    recs[-1]["asOfDate"], recs[-1]["currentGradeIndicator"] = "2025-10-30", "true"

    def dup(xrecs):
        return [(14, None, "the 15th Grade repeats the RecordId of the 10th (copied record, only the "
                                 "grade type and period were changed)", "Duplicate key-sequence")]
    lines = xml_case("grd-duplicate-record-id.xml", grd_x, recs, "Two records with the same RecordId "
                     "(xs:unique)", dup)

    recs = sample(enr_x, 12, start=40)

    def swap_names(xrecs):
        rec = xrecs[2]
        names = [n for n, _ in rec]
        a, b = names.index("LastName"), names.index("FirstName")
        rec[a], rec[b] = rec[b], rec[a]
        return [(2, "FirstName", "<FirstName> written before <LastName> in the 3rd Enrollment",
                 "This element is not expected. Expected is ( {urn:ky:kde:ktsx:1.0}LastName )")]
    xml_case("enr-wrong-element-order.xml", enr_x, recs, "Elements out of schema order", swap_names)

    recs = sample(att_x, 16)

    def sync_type(xrecs):
        for rec in xrecs:
            k = [n for n, _ in rec].index("RecordedDateTime")
            rec.insert(k, ("SyncType", "REALTIME"))
        return [(i, "SyncType", "", "This element is not expected.") for i in range(16)]
    lines = xml_case("att-unknown-element-synctype.xml", att_x, recs, "An element the schema does not know",
                     sync_type)
    out[-1].mistakes = (f"lines {', '.join(str(lines[(i, 'SyncType')]) for i in range(16))}: every record "
                        "carries <SyncType>REALTIME</SyncType> (proposed in the research draft, not in the "
                        "schema) before <RecordedDateTime>; xmllint reports each one")

    recs = sample(enr_x, 19, start=60)
    lines = xml_case("enr-record-count-mismatch.xml", enr_x, recs,
                     "Header RecordCount says 20 but 19 records follow (schema-valid; the file gate rejects it)",
                     lambda xrecs: [("Header", "RecordCount", "<RecordCount>20</RecordCount> for 19 Enrollment "
                                                              "elements", None)], header_count=20)
    out[-1].note = "schema-valid by design; ktsx must reject the whole file with record-count-mismatch"

    recs = sample(grd_x, 10, start=30, where=lambda r: "currentGradeIndicator" in r)
    xml_case("grd-boolean-y.xml", grd_x, recs, "A non-boolean in a boolean element (IC exports Y/N)",
             replace(4, "CurrentGradeIndicator", "Y", "<CurrentGradeIndicator>Y</CurrentGradeIndicator>",
                     "'Y' is not a valid value of the atomic type"))

    recs = sample(att_x, 14, start=40)
    xml_case("att-datetime-space.xml", att_x, recs,
             "A date-time with a space instead of T (frictionless would accept it in CSV!)",
             replace(8, "RecordedDateTime", "2026-02-10 08:14:00",
                     "<RecordedDateTime>2026-02-10 08:14:00</RecordedDateTime>",
                     "'2026-02-10 08:14:00' is not a valid value of the atomic type"))

    recs = sample(wvr_x, 2, multiline=True)
    xml_case("wvr-phone-parentheses.xml", wvr_x, recs, "A phone number in a format the pattern does not allow",
             replace(1, "SubmitterPhone", "(859) 555-0142", "<SubmitterPhone>(859) 555-0142</SubmitterPhone>",
                     "[facet 'pattern'] The value '(859) 555-0142' is not accepted"))

    recs = sample(enr_x, 12, start=80, where=lambda r: "middleName" not in r)

    def empty_middle(xrecs):
        planted = []
        for i in (1, 5):
            rec = xrecs[i]
            k = [n for n, _ in rec].index("FirstName") + 1
            rec.insert(k, ("MiddleName", None))
            planted.append((i, "MiddleName", "empty <MiddleName/> (optional element written empty instead of "
                                             "left out)", "[facet 'minLength']"))
        return planted
    xml_case("enr-empty-element.xml", enr_x, recs, "Empty optional elements", empty_middle)

    recs = sample(grd_x, 10, start=50)

    def nothing(xrecs):
        return [(0, None, "root element in namespace urn:ky:kde:ktsx:0.9 (a draft namespace); nothing "
                          "in the file matches the schema", None)]
    lines = xml_case("grd-wrong-namespace.xml", grd_x, recs, "Root element in the wrong namespace", nothing,
                     namespace="urn:ky:kde:ktsx:0.9")
    out[-1].valid = False
    out[-1].xml_errors = [(2, "No matching global declaration available for the validation root")]
    out[-1].mistakes = "line 2: xmlns=\"urn:ky:kde:ktsx:0.9\" on the root (a draft namespace)"

    # ---- CSV ------------------------------------------------------------------------------------
    def csv_case(name, ds, records, exercises, mutate, exact=True, encoding="utf-8"):
        exchange = TYPES[ds["type"]]
        rows = csv_rows(exchange, records)
        planted = mutate(rows)  # [(logical row index, description, [(error type, row known?)])]
        data, lines = render_csv(CsvDoc(rows, encoding=encoding))
        mistakes, errors = [], []
        for row, description, types in planted:
            if row is None:
                mistakes.append(f"line 1 (header): {description}")
            else:
                mistakes.append(f"line {lines[row]} (row {row + 1}): {description}")
            for t in types:
                errors.append((t, None if row is None or t.endswith("-label") else row + 1))
        out.append(Fixture(f"invalid/{name}", data, ds["type"], "CSV", False, exercises, "; ".join(mistakes),
                           csv_errors=errors, csv_exact=exact, records=len(records)))
        return lines

    def col(exchange, name):
        return [f.name for f in exchange.fields].index(name)

    def cell(exchange, rownum, fieldname, value, description, types):
        def mutate(rows):
            rows[rownum][col(exchange, fieldname)] = value
            return [(rownum, description, types)]
        return mutate

    recs = sample(enr_c, 15)
    csv_case("enr-birth-date-feb29.csv", enr_c, recs, "A date that does not exist (2009 is not a leap year)",
             cell(ENROLLMENT, 6, "birthDate", "2009-02-29", "birthDate 2009-02-29", ["type-error"]))

    recs = sample(att_c, 18)  # plus, first, a record whose reason spans two lines
    tricky = next(r for r in att_c["records"] if r.get("reason") == TRICKY_REASON)
    recs = [dict(tricky)] + [r for r in recs if r["recordId"] != tricky["recordId"]][:17]
    first_absence = next(i for i, r in enumerate(recs) if r["attendanceStatus"] in ("A", "T", "E") and i > 0)
    pick = sorted(([first_absence] + [i for i in (6, 11, 14) if i != first_absence])[:3])

    def csv_xx(rows):
        planted = []
        for i in pick:
            row = rows[i + 1]
            row[col(ATTENDANCE, "excuseStatus")] = "XX"
            if row[col(ATTENDANCE, "attendanceStatus")] == "P":  # make it an absence with a bad excuse
                row[col(ATTENDANCE, "attendanceStatus")] = "A"
                row[col(ATTENDANCE, "localAttendanceCode")] = ""
                row[col(ATTENDANCE, "attendanceCategory")] = ""
                row[col(ATTENDANCE, "absentMinutes")] = str(SESSION_MINUTES)
                row[col(ATTENDANCE, "eventDuration")] = "1"
            planted.append((i + 1, "excuseStatus XX", ["constraint-error"]))
        return planted
    att_xx_csv_lines = csv_case("att-excuse-code-xx.csv", att_c, recs,
                                "Unknown code in an enumerated column, in three rows; the first record's reason "
                                "spans two lines, so line = row + 1 after it (the ERR example lists these)",
                                csv_xx)

    recs = sample(enr_c, 12, start=30)
    csv_case("enr-missing-last-name.csv", enr_c, recs, "A required value left empty",
             cell(ENROLLMENT, 9, "lastName", "", "lastName empty (required)", ["constraint-error"]))

    recs = sample(att_c, 20, start=30)
    csv_case("att-ssid-9-digits.csv", att_c, recs, "A state student ID with 9 digits (Excel dropped the "
             "leading zero of 0123456789)",
             cell(ATTENDANCE, 3, "ssid", "123456789", "ssid 123456789 (9 digits)", ["constraint-error"]))

    recs = sample(grd_c, 12, where=lambda r: "courseTitle" in r)
    csv_case("grd-course-title-too-long.csv", grd_c, recs, "A value longer than its maximum length",
             cell(GRADES, 5, "courseTitle", "Pharmacy Technician I - Pharmacy Law, Ethics and Calculations (Lab)",
                  "courseTitle of 67 characters (Text60)", ["constraint-error"]))

    recs = sample(enr_c, 14, start=50, where=lambda r: "attemptedCredits" in r)
    csv_case("enr-credits-clock-hours.csv", enr_c, recs, "A number out of range (credits 0 to 10)",
             cell(ENROLLMENT, 8, "attemptedCredits", "135", "attemptedCredits 135 (clock hours instead of credits)",
                  ["constraint-error"]))

    recs = sample(grd_c, 15, start=20)
    recs[11]["recordId"] = recs[4]["recordId"]
    csv_case("grd-duplicate-record-id.csv", grd_c, recs, "Two rows with the same recordId (primary key)",
             lambda rows: [(12, "recordId repeats row 6 (line 6)", ["primary-key"])])

    recs = sample(enr_c, 10, start=70)

    def drop_middle(rows):
        k = col(ENROLLMENT, "middleName")
        for row in rows:
            del row[k]
        return [(None, "no middleName column at all (header and cells); every later column shifts left",
                 ["incorrect-label", "missing-label"])]
    csv_case("enr-missing-column.csv", enr_c, recs, "A column missing (middleName)", drop_middle, exact=False)

    recs = sample(att_c, 12, start=60)

    def add_sync(rows):
        rows[0].append("syncType")
        for row in rows[1:]:
            row.append("REALTIME")
        # frictionless reports the extra label once and no extra-cell for the rows under it.
        return [(None, "extra column syncType appended (from the research draft)", ["extra-label"])]
    csv_case("att-extra-column-synctype.csv", att_c, recs, "An extra column", add_sync)
    out[-1].mistakes = ("line 1 (header): extra column syncType appended (proposed in the research draft); "
                        "lines 2-13: every data row has the extra cell REALTIME")

    recs = sample(grd_c, 10, start=40)

    def upper_ssid(rows):
        rows[0][col(GRADES, "ssid")] = "SSID"
        return [(None, "header label SSID instead of ssid (labels are case-sensitive)", ["incorrect-label"])]
    csv_case("grd-header-ssid-uppercase.csv", grd_c, recs, "A misspelled header label", upper_ssid)

    recs = sample(att_c, 14, start=90)

    def short_row(rows):
        del rows[7][-2:]
        # frictionless reports each absent required cell twice: missing-cell and constraint-error.
        return [(7, "row stops after the reason column (recordedDateTime and lastModified missing)",
                 ["missing-cell", "constraint-error"])]
    csv_case("att-row-too-few-cells.csv", att_c, recs, "A row with too few cells", short_row)

    recs = sample(att_c, 14, start=110, where=lambda r: r["attendanceStatus"] == "P")

    def unquoted(rows):
        row = rows[9]
        row[col(ATTENDANCE, "attendanceStatus")] = "T"
        row[col(ATTENDANCE, "excuseStatus")] = "EX"
        row[col(ATTENDANCE, "arrivalTime")] = "08:02:00"
        row[col(ATTENDANCE, "localAttendanceCode")] = "TEX"
        row[col(ATTENDANCE, "attendanceCategory")] = CATEGORIES["T"]
        row[col(ATTENDANCE, "absentMinutes")] = "12"
        row[col(ATTENDANCE, "reason")] = "Bus late, route 14"
        rows[9] = ",".join(csv_cell(c) if n != col(ATTENDANCE, "reason") else c for n, c in enumerate(row))
        return [(9, "reason 'Bus late, route 14' written without quotes: the comma splits it, ' route 14' "
                    "lands in recordedDateTime and the row has one cell too many",
                 ["type-error", "extra-cell"])]
    csv_case("att-unquoted-comma.csv", att_c, recs, "A row with too many cells (unquoted comma)", unquoted)

    recs = sample(enr_c, 12, start=100)

    def blank(rows):
        rows.insert(7, "")
        return [(7, "empty line between two records (frictionless also reports its empty primary key)",
                 ["blank-row", "primary-key"])]
    csv_case("enr-blank-row.csv", enr_c, recs, "A blank row", blank)

    wvr_c = sets["WVR-CSV"]
    recs = sample(wvr_c, 2, multiline=True)
    csv_case("wvr-phone-extension.csv", wvr_c, recs,
             "A phone number with an extension; regression for the Phone pattern, whose top-level '|' "
             "frictionless used to anchor on one side only (^a|b$), letting this value through in CSV",
             cell(WAIVERS, 2, "submitterPhone", "859-555-0142 ext 12", "submitterPhone 859-555-0142 ext 12",
                  ["constraint-error"]))

    recs = sample(grd_c, 12, start=60, where=lambda r: r["gradeType"] == "FINAL")
    csv_case("grd-boolean-y.csv", grd_c, recs, "A non-boolean in a boolean column (IC exports Y/N)",
             cell(GRADES, 5, "noCredit", "N", "noCredit N", ["type-error"]))

    recs = sample(att_c, 16, start=140)
    csv_case("att-datetime-us-format.csv", att_c, recs, "A date-time that is not ISO 8601",
             cell(ATTENDANCE, 12, "recordedDateTime", "10/01/2025 08:14 AM", "recordedDateTime 10/01/2025 08:14 AM",
                  ["type-error"]))

    def cp1252(rec):
        try:
            "".join(rec.values()).encode("cp1252")
            return True
        except UnicodeEncodeError:
            return False
    recs = sample(enr_c, 10, start=3, where=cp1252)
    recs[2]["firstName"], recs[2]["lastName"] = "José", "Muñoz"
    csv_case("enr-windows-1252.csv", enr_c, recs, "A file saved as Windows-1252 instead of UTF-8",
             lambda rows: [(3, "'José Muñoz' encoded in Windows-1252 (bytes E9, F1): not UTF-8",
                            ["encoding-error"])], encoding="cp1252")
    out[-1].csv_errors = [("encoding-error", None)]

    return out, att_xx_lines, att_xx_csv_lines


# ---------------------------------------------------------------------------------------------------
# ACK and ERR examples: what ktsx answers to the two excuse-code-XX files above
# ---------------------------------------------------------------------------------------------------

def ack_err_fixtures(sets, invalid, att_xx_lines, att_xx_csv_lines):
    out = []
    for binding, stem in (("XML", "att-excuse-code-xx.xml"), ("CSV", "att-excuse-code-xx.csv")):
        source = next(f for f in invalid if f.path == f"invalid/{stem}")
        ds = sets[f"ATT-{binding}"]
        received = ds["created"] + timedelta(seconds=7)
        # As the service names a receipt: sender, time of receipt (UTC), six hex digits.
        receipt = f"R{ds['sender']}-" + ts(received, utc=True).replace("-", "").replace(":", "").rstrip("Z") + "-" + (
            "0a0417" if binding == "XML" else "0a0418")
        errors = []
        if binding == "XML":
            root = "/KtsxAttendanceFile/Attendance"
            for line, _ in source.xml_errors:
                index = next(i for (i, e), ln in att_xx_lines.items() if e == "ExcuseStatus" and ln == line)
                errors.append(dict(line=line, path=f"{root}[{index + 1}]/ExcuseStatus", field="excuseStatus"))
        else:
            rows = [r for _, r in source.csv_errors]
            for row in rows:
                errors.append(dict(line=att_xx_csv_lines[row - 1], field="excuseStatus"))
        record_ids = _record_ids(source)
        err_records = []
        for e in errors:
            key = record_ids.get(e["line"])
            err_records.append(ordered(ERRORS, dict(
                receiptId=receipt, inputFile=stem, line=str(e["line"]),
                column=str(e["column"]) if "column" in e else None, path=e.get("path"),
                recordKey=key, field=e["field"], code="constraint-error",
                message=("ExcuseStatus" if binding == "XML" else "excuseStatus")
                + " value 'XX' is not one of the allowed codes: EX, UX, UK, XM.")))
        err_name = stem.rsplit(".", 1)[0] + f".errors.{binding.lower()}"
        ack = ordered(ACKNOWLEDGEMENT, dict(
            receiptId=receipt, inputFile=stem, senderOrgId=ds["sender"], fileType="ATT", binding=binding,
            contentSha256=hashlib.sha256(source.data).hexdigest(), sizeBytes=str(len(source.data)),
            receivedDateTime=ts(received, utc=True), processedDateTime=ts(received + timedelta(seconds=1), utc=True),
            outcome="REJECTED", recordsReceived=str(source.records), recordsAccepted="0",
            recordsRejected=str(source.records), errorCount=str(len(err_records)), errorFile=err_name,
            # AcknowledgementMessage's words for a file refused at the gate (a test holds the two together).
            message=f"Rejected: the file has {len(err_records)} errors (see the error file), so nothing in it was applied "
                    "and its records were not yet checked against the exchange's rules. Fix it and send the whole file again."))
        ack_name = stem.rsplit(".", 1)[0] + f".ack.{binding.lower()}"
        what = (f"Acknowledgement ktsx would write for invalid/{stem} (REJECTED; real SHA-256 and size of "
                "that fixture)")
        located = "line and path" if binding == "XML" else "line and field"
        what_err = f"Error list for invalid/{stem}: one row per planted excuse code, with {located}"
        for exchange, name, records, exercises in ((ACKNOWLEDGEMENT, ack_name, [ack], what),
                                                   (ERRORS, err_name, err_records, what_err)):
            if binding == "XML":
                data, _ = render_xml(XmlDoc(exchange, None, [xml_record(r) for r in records]))
                data = data.encode("utf-8")
            else:
                data, _ = render_csv(CsvDoc(csv_rows(exchange, records)))
            out.append(Fixture(f"valid/{name}", data, exchange.code, binding, True, exercises,
                               records=len(records)))
    return out


def _record_ids(source: Fixture) -> dict:
    """line -> recordId of the record that contains it (XML: the element's line; CSV: the row's line)."""
    text = source.data.decode("utf-8")
    result = {}
    if source.binding == "XML":
        current = None
        for n, line in enumerate(text.split("\n"), 1):
            m = re.search(r"<RecordId>([^<]+)</RecordId>", line)
            if m:
                current = m.group(1)
            result[n] = current
    else:
        import csv
        import io
        reader = csv.reader(io.StringIO(text, newline=""))
        next(reader)
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            result[line] = row[0]
    return result


# ---------------------------------------------------------------------------------------------------
# Assembly, MANIFEST, writing
# ---------------------------------------------------------------------------------------------------

def build():
    _, enrollments = build_world()
    sets = valid_datasets(enrollments)
    semantic_check(sets)
    fixtures = []
    for key, ds in sets.items():
        binding = key.split("-")[1]
        name, data = render_set(ds, binding)
        fixtures.append(Fixture(f"valid/{name}", data, ds["type"], binding, True, ds["exercises"],
                                records=len(ds["records"])))
    invalid, att_xx_lines, att_xx_csv_lines = invalid_fixtures(sets)
    fixtures += ack_err_fixtures(sets, invalid, att_xx_lines, att_xx_csv_lines)
    fixtures += invalid
    fixtures.sort(key=lambda f: (f.path.split("/")[0] != "valid", f.path))
    manifest = render_manifest(fixtures)
    return fixtures, manifest


def _shell(arg: str) -> str:
    return arg if re.fullmatch(r"[A-Za-z0-9_./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def describe_bytes(data: bytes) -> str:
    bits = []
    if data.startswith(b"\xef\xbb\xbf"):
        bits.append("UTF-8 BOM")
    bits.append("CRLF" if b"\r\n" in data else "LF")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        bits.append("not UTF-8")
    return ", ".join(bits)


def render_manifest(fixtures) -> str:
    lines = [
        "# Fixtures",
        "",
        "Generated by `python3 tools/gen_fixtures.py` from `tools/schema_fields.py`; do not edit by hand.",
        "`python3 tools/gen_fixtures.py --check` regenerates in memory, compares with these files and runs",
        "every fixture through the reference oracles:",
        "",
        "- XML: `xmllint --noout --nonet --schema Schemas/<TYPE>.xsd FILE` (exit 0 = valid).",
        "- CSV: `frictionless validate --json " + " ".join(_shell(o) for o in FRICTIONLESS_OPTIONS)
        + " --schema Schemas/<TYPE>.schema.json FILE`",
        "  (`valid` in the JSON report; exit 1 = invalid). Run both oracles from the package root with",
        "  relative paths: frictionless refuses absolute paths (resource-error \"path ... is not safe\")",
        "  unless given `--trusted`.",
        "",
        "Why the frictionless options: without `--encoding utf-8` frictionless guesses the encoding with",
        "chardet and reads `invalid/enr-windows-1252.csv` as iso8859-3, calling it **valid**; with it, the file",
        "fails with encoding-error, and a leading UTF-8 BOM is still stripped (frictionless switches to",
        "utf-8-sig by itself). `--format csv` and `--dialect` pin what frictionless would otherwise sniff with",
        "`csv.Sniffer` (';' is one of the delimiters it tries, and values such as `1;2;3` contain it); on these",
        "files the sniffer happens to guess right, so they are a precaution. CRLF line ends need no option.",
        "",
        "Line numbers are physical lines, 1-based; for a CSV row it is the line the row starts on, and for an",
        "XML mistake the line of the element. For CSV, `row` is the logical row as frictionless counts it",
        "(header = row 1, a blank line counts as a row); it differs from the line after a quoted value that",
        "spans lines. In the ERR examples `column` is the 1-based field position in the CSV header.",
        "xmllint reports a missing required element on the line of the element that follows it, and a",
        "duplicate RecordId on the line of the repeating record's start tag.",
        "Valid files were generated for school year 2026 (July 2025 - June 2026) with fictitious",
        "organisations: technical centers 061014 (Ridgeline ATC, class C2) and 165901 (Bluegrass CTC, class",
        "A2); high schools 061010, 061020, 081010 (feed 061014) and 165010, 165020, 165030 (feed 165901).",
        "Update and delete records refer to records sent in earlier files that are not fixtures.",
        "",
        "| file | type | binding | records | bytes | verdict | what it exercises | planted mistake (line) "
        "| oracle reports |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for fx in fixtures:
        verdict = "invalid" if fx.path.startswith("invalid/") else "valid"
        if fx.note:
            verdict += f" ({fx.note})"
        exercises = fx.exercises
        if fx.path.startswith("valid/"):
            exercises += f" [{describe_bytes(fx.data)}]"
        else:
            layout = describe_bytes(fx.data)
            if layout != "LF":
                exercises += f" [{layout}]"
        lines.append(f"| `{fx.path}` | {fx.type} | {fx.binding} | {fx.records} | {len(fx.data)} | {verdict} | "
                     f"{_md(exercises)} | {_md(fx.mistakes) or '-'} | {_md(oracle_summary(fx))} |")
    return "\n".join(lines) + "\n"


def oracle_summary(fx: Fixture) -> str:
    if fx.binding == "XML":
        if not fx.xml_errors:
            return "xmllint: valid"
        return "xmllint: errors on line " + ", ".join(str(line) for line in sorted({ln for ln, _ in fx.xml_errors}))
    if fx.valid:
        return "frictionless: valid"
    parts = sorted({f"{t} row {r}" if r else t for t, r in fx.csv_errors},
                   key=lambda p: (int(p.rsplit(" ", 1)[1]) if " row " in p else 0, p))
    return "frictionless: " + ", ".join(parts) + ("" if fx.csv_exact else " (among others)")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write(fixtures, manifest):
    for sub in ("valid", "invalid"):
        os.makedirs(os.path.join(FIXTURES, sub), exist_ok=True)
    for fx in fixtures:
        with open(os.path.join(FIXTURES, fx.path), "wb") as fh:
            fh.write(fx.data)
    with open(os.path.join(FIXTURES, "MANIFEST.md"), "w", encoding="utf-8", newline="\n") as fh:
        fh.write(manifest)
    known = {fx.path for fx in fixtures}
    for sub in ("valid", "invalid"):
        for name in sorted(os.listdir(os.path.join(FIXTURES, sub))):
            if f"{sub}/{name}" not in known:
                print(f"warning: Fixtures/{sub}/{name} is not produced by this generator (left alone)")
    print(f"wrote {len(fixtures)} fixtures and MANIFEST.md under {os.path.relpath(FIXTURES, os.getcwd())}/")


# ---------------------------------------------------------------------------------------------------
# --check: the oracles
# ---------------------------------------------------------------------------------------------------

def run_xmllint(fx: Fixture, cwd: str, path: str):
    proc = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", f"Schemas/{fx.type}.xsd", path],
                          capture_output=True, text=True, cwd=cwd)
    errors = []
    for line in proc.stderr.splitlines():
        m = re.match(r"^(.*?):(\d+): (.*)$", line)
        if m and m.group(1) == path:
            errors.append((int(m.group(2)), m.group(3)))
    return proc.returncode == 0, errors, proc.stderr


def run_frictionless(fx: Fixture, cwd: str, path: str):
    # Both paths relative: frictionless refuses absolute paths ("path ... is not safe").
    proc = subprocess.run(["frictionless", "validate", "--json", *FRICTIONLESS_OPTIONS,
                           "--schema", f"Schemas/{fx.type}.schema.json", path],
                          capture_output=True, text=True, cwd=cwd)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None, [], proc.stdout + proc.stderr
    errors = list(report.get("errors", []))
    for task in report.get("tasks", []):
        errors += task.get("errors", [])
    valid = bool(report.get("valid"))
    if valid != (proc.returncode == 0):
        return None, errors, f"exit code {proc.returncode} disagrees with valid={valid}"
    return valid, errors, proc.stdout


def xml_record_count_check(fx: Fixture) -> Optional[str]:
    text = fx.data.decode("utf-8-sig")
    m = re.search(r"<RecordCount>(\d+)</RecordCount>", text)
    if not m:
        return None
    exchange = TYPES[fx.type]
    actual = len(re.findall(rf"<{exchange.record}>", text))
    declared = int(m.group(1))
    if declared != actual:
        return f"RecordCount {declared} but {actual} <{exchange.record}> elements"
    return None


def xml_shape_check(fx: Fixture) -> list:
    """Pretty-printing promises: start tags on one line, no empty elements in valid files."""
    problems = []
    for n, line in enumerate(fx.data.decode("utf-8-sig").split("\n"), 1):
        if re.search(r"<[^>]*$", line):
            problems.append(f"line {n}: a tag spans lines")
        if fx.valid and re.search(r"<\w+/>|<(\w+)></\1>", line):
            problems.append(f"line {n}: empty element in a valid file")
    return problems


def verdict(valid: bool) -> str:
    return "valid" if valid else "invalid"


def check_xml(fx: Fixture, tmp: str) -> list:
    valid, errors, raw = run_xmllint(fx, tmp, fx.path)
    if valid != fx.valid:
        return [f"xmllint says {verdict(valid)}, intended {verdict(fx.valid)}\n{raw}"]
    problems = []
    if not fx.valid:
        got = {line for line, _ in errors}
        want = {line for line, _ in fx.xml_errors}
        if got != want:
            problems.append(f"xmllint error lines {sorted(got)}, expected {sorted(want)}\n{raw}")
        for line, text in fx.xml_errors:
            if not any(ln == line and text in msg for ln, msg in errors):
                problems.append(f"no xmllint error at line {line} containing {text!r}\n{raw}")
    problems += xml_shape_check(fx)
    count = xml_record_count_check(fx)
    if count and "record-count" not in fx.path:
        problems.append(count)
    if "record-count" in fx.path and not count:
        problems.append("RecordCount was meant to disagree with the records")
    return problems


def check_csv(fx: Fixture, tmp: str) -> list:
    valid, errors, raw = run_frictionless(fx, tmp, fx.path)
    if valid is None:
        return [f"frictionless gave no usable report: {raw[:2000]}"]
    if valid != fx.valid:
        shown = [(e.get("type"), e.get("rowNumber"), e.get("fieldName"), e.get("note")) for e in errors]
        return [f"frictionless says {verdict(valid)}, intended {verdict(fx.valid)}: {shown[:10]}"]
    if fx.valid:
        return []
    got = {(e.get("type"), e.get("rowNumber")) for e in errors}
    want = set(fx.csv_errors)
    if fx.csv_exact and got != want:
        return [f"frictionless errors {sorted(got, key=str)}, expected {sorted(want, key=str)}"]
    if not fx.csv_exact and not want <= got:
        return [f"frictionless errors {sorted(got, key=str)} lack {sorted(want - got, key=str)}"]
    return []


def check(fixtures, manifest) -> int:
    failures = []

    def fail(fx, message):
        failures.append(f"{fx.path}: {message}")

    # 1. The files on disk are what the generator produces now.
    for fx in fixtures:
        path = os.path.join(FIXTURES, fx.path)
        if not os.path.exists(path):
            fail(fx, "missing on disk (run python3 tools/gen_fixtures.py)")
            continue
        with open(path, "rb") as fh:
            if fh.read() != fx.data:
                fail(fx, "differs from what the generator produces (stale; regenerate)")
    manifest_path = os.path.join(FIXTURES, "MANIFEST.md")
    if not os.path.exists(manifest_path) or open(manifest_path, encoding="utf-8").read() != manifest:
        failures.append("MANIFEST.md: missing or stale")

    for tool in ("xmllint", "frictionless"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found (apt-get install -y libxml2-utils / pip install frictionless)")
            return 2

    # 2. Every fixture gets the verdict it was made for, with the planted errors and no others.
    # The fresh bytes are checked (not the files on disk) in a scratch copy of the package layout.
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(SCHEMAS, os.path.join(tmp, "Schemas"))
        for sub in ("valid", "invalid"):
            os.makedirs(os.path.join(tmp, sub))
        for fx in fixtures:
            with open(os.path.join(tmp, fx.path), "wb") as fh:
                fh.write(fx.data)
            problems = check_xml(fx, tmp) if fx.binding == "XML" else check_csv(fx, tmp)
            for problem in problems:
                fail(fx, problem)
            print(f"  ok  {fx.path}" if not any(f.startswith(fx.path + ":") for f in failures)
                  else f"FAIL  {fx.path}")

    if failures:
        print("\nFixture check FAILED:")
        for f in failures:
            print(" - " + f)
        return 1
    print(f"\nall {len(fixtures)} fixtures agree with the oracles")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the files on disk with a fresh generation and run the oracles")
    args = parser.parse_args(argv)
    fixtures, manifest = build()
    if args.check:
        return check(fixtures, manifest)
    write(fixtures, manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
