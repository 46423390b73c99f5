#!/usr/bin/env python3
"""A statewide school year through the real service, days compressed (DESIGN.md section 8, "Growth").

The world (written here, the model the run is checked against): --centers technical centers (half area
technology centers, C2, sending XML by period; half district centers, A2, sending CSV by day; every fifth in
Central time), --schools high schools (outputs in CSV, XML or as sent; a third opted in to the
unknown-attendance sync; every fifth in Central time), --students students, each at one center's section
from their high school's feeder centers. The school year 2025-26: --days instructional days from 2025-08-13,
with the state's usual closures.

Each instructional day is played through `ktsx run` with its clock (KTSX_CLOCK_START) at 17:00 Eastern:
- on the first day every high school sends its enrollments; every fifth day ten schools send changes
  (students leaving with an exit date and reason, new students entering);
- every center drops the day's attendance at once, one file for all its students (an unknown excuse for about
  one absence in eight, resolved by an update in the next day's file; one file in twenty carries a record for
  a student the center does not have, so it is ACCEPTED_WITH_ERRORS);
- on four days the centers send grades (progress for three quarters, final on the last day); in January a
  quarter of the district centers ask for waivers, and support approves or denies each with `ktsx waiver`;
- partners pick up their outbound files (they are checked against the model, then deleted).
The night then runs as `ktsx run --once` with its clock at 06:30 Eastern of the next instructional day: grade
posting, the unknown-attendance sync, daily summaries (each night logs its job's duration).

Checked every day: every file is acknowledged with the outcome the model expects; every high school received
from every center that teaches its students exactly those students' attendance records; after grading
nights, every school's posting holds its students' grades. Measured: files and records per day, drop-to-ack
p50/p99 of the attendance files in the first and the last week, each nightly job's duration over the first
and the last five nights, the review pages' and `ktsx status|submissions|show|audit` p95 after the first
week and at the end, the ledger's size, the service's peak memory.

Usage (from the package root; builds ktsx in release mode):
  python3 Benchmarks/year_run.py [--ledger sqlite|postgres] [--centers 100] [--schools 250] [--students 50000] [--days 175]
"""

import argparse
import csv
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta, timezone
from http.cookiejar import CookieJar
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import gen_scenario as world  # noqa: E402
from review_under_load import free_port  # noqa: E402
from schema_fields import ATTENDANCE, ENROLLMENT, GRADES, WAIVERS  # noqa: E402
from service_bench import ROOT, percentile  # noqa: E402

EASTERN, CENTRAL = ZoneInfo("America/New_York"), ZoneInfo("America/Chicago")
YEAR = world.YEAR
FIRST_DAY, LAST_DATE = date(2025, 8, 13), date(2026, 5, 22)
CLOSED = [(date(2025, 9, 1), date(2025, 9, 1), "Labor Day"), (date(2025, 10, 9), date(2025, 10, 10), "fall break"),
          (date(2025, 11, 4), date(2025, 11, 4), "election day"), (date(2025, 11, 26), date(2025, 11, 28), "Thanksgiving"),
          (date(2025, 12, 22), date(2026, 1, 2), "winter break"), (date(2026, 1, 19), date(2026, 1, 19), "Martin Luther King Jr. Day"),
          (date(2026, 2, 16), date(2026, 2, 16), "Presidents' Day"), (date(2026, 3, 30), date(2026, 4, 3), "spring break")]
COURSES = [("WLD101", "AM-01", "480511", "Welding I: Shielded Metal Arc", "FY", "2", "AM"),
           ("CUL101", "PM-01", "200401", "Culinary Arts I", "FY", "2", "PM")]
QUARTERS = [("Q1", 0.25), ("Q2", 0.5), ("Q3", 0.75)]
PASSWORD = "year-run-password"


def instructional_days(count):
    days, day = [], FIRST_DAY
    while len(days) < count and day <= LAST_DATE:
        if day.weekday() < 5 and not any(a <= day <= b for a, b, _ in CLOSED):
            days.append(day)
        day += timedelta(days=1)
    return days


def utc(day, hour, minute=0, zone=EASTERN):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(day, hour, minute, zone):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).isoformat()


class World:
    """Who attends where: the model every output is checked against."""

    def __init__(self, centers, schools, students):
        self.centers = [f"{400001 + i}" for i in range(centers)]
        self.schools = [f"{500001 + j}" for j in range(schools)]
        self.kind = {c: ("C2" if i % 2 == 0 else "A2") for i, c in enumerate(self.centers)}
        self.zone = {org: (CENTRAL if i % 5 == 4 else EASTERN) for group in (self.centers, self.schools) for i, org in enumerate(group)}
        self.output = {s: ("same", "csv", "xml")[j % 3] for j, s in enumerate(self.schools)}
        self.unknown_sync = {s: j % 3 == 0 for j, s in enumerate(self.schools)}
        self.feeders = {s: [self.centers[j % centers]] + ([self.centers[(j * 7 + 3) % centers]] if j % 3 == 0 and centers > 1 else [])
                        for j, s in enumerate(self.schools)}
        self.students = []  # (student, center, course index)
        for n in range(students):
            home = self.schools[n % schools]
            feeders = self.feeders[home]
            self.students.append((world.Student(n, home), feeders[(n // schools) % len(feeders)], n % 2))
        # 97 in 100 enrolled in August; the rest enter during the year.
        self.enrolled = {st.ssid: (st, center, course) for n, (st, center, course) in enumerate(self.students) if n % 100 < 97}
        self.waiting = [s for n, s in enumerate(self.students) if n % 100 >= 97]
        self.left = {}

    def section(self, center, course):
        number, section, state, title, term, credits, period = COURSES[course]
        return (center, number, section, state, title, term, credits, period)

    def at(self, center):
        return [(st, course) for st, c, course in self.enrolled.values() if c == center]


def config(base, w, days, ledger, port):
    os.makedirs(os.path.join(base, "config"), exist_ok=True)
    conf = ["drop_root = ../drop", "state_dir = ../state", "quiet_period = 1s", "poll_interval = 500ms",
            f"review_address = 127.0.0.1:{port}", "log_format = json"]
    if ledger:
        conf.append(f"ledger = {ledger}")
    cal = []
    for org in w.centers + w.schools:
        cal.append([org, YEAR, "instructional", days[0].isoformat(), days[-1].isoformat(), "school year"])
        cal += [[org, YEAR, "closed", a.isoformat(), b.isoformat(), note] for a, b, note in CLOSED if a <= days[-1]]
    files = {
        "ktsx.conf": "\n".join(conf) + "\n",
        "participants.csv": world.table(
            ["orgId", "name", "classification", "timeZone", "outputFormat", "doneMarker", "unknownSync"],
            [[c, f"Center {c}", w.kind[c], w.zone[c].key, "csv", "false", "false"] for c in w.centers]
            + [[s, f"High School {s}", "A1", w.zone[s].key, w.output[s], "false", str(w.unknown_sync[s]).lower()] for s in w.schools]),
        "catalog.csv": world.table(
            ["centerOrgId", "schoolYear", "ktsCourseNumber", "sectionNumber", "stateCourseCode", "courseTitle", "termCode",
             "termBeginDate", "termEndDate", "credits", "minutesPerDay"],
            [[c, YEAR, n, s, state, title, term, days[0].isoformat(), days[-1].isoformat(), credits, 165]
             for c in w.centers for n, s, state, title, term, credits, _ in COURSES]),
        "attendance-codes.csv": world.table(
            ["centerOrgId", "localCode", "attendanceStatus", "excuseStatus", "description"],
            [[c, code, s, e, f"{s} {e}".strip()] for c in w.centers for (s, e), code in world.CODES.items()]),
        "grading-scales.csv": world.table(["scaleCode", "letter", "minimum", "maximum", "passing"], [["KY10PT", *b] for b in world.KY10PT]),
        "calendars.csv": world.table(["orgId", "schoolYear", "kind", "firstDate", "lastDate", "note"], cal),
        "schedule.conf": "time_zone = America/New_York\ngrade_posting_time = 22:00\nunknown_sync_time = 05:30\n"
                         "catch_up_days = 14\nwaiver_window = 01-01..03-01\nmax_credits = 3\n",
    }
    for name, text in files.items():
        with open(os.path.join(base, "config", name), "w", encoding="utf-8") as out:
            out.write(text)


class Year:
    def __init__(self, args, base, ktsx, ledger_url, port=None):
        self.args, self.base, self.ktsx = args, base, ktsx
        self.w = World(args.centers, args.schools, args.students)
        self.days = instructional_days(args.days)
        self.port = port or free_port()
        if port is None:
            config(base, self.w, self.days, ledger_url, self.port)
        self.ledger_url = ledger_url
        self.log_path = os.path.join(base, "service.log")
        self.unknowns = {c: [] for c in self.w.centers}  # yesterday's UK records, resolved today
        self.rows = []  # one per day
        self.latency = {}  # day index -> [seconds]
        self.nights = []  # (day index, {job: ms})
        self.peak_kb = 0
        self.grades = {}  # school -> expected rows in the next posting
        self.waivers = []
        self.probes = {}
        self.entries = {}  # ssid -> entry date
        self.postings = []  # (day index, ms, grades) of the nights after grading days

    # -- the service ---------------------------------------------------------------------------------------

    def env(self, clock):
        return dict(os.environ, KTSX_CLOCK_START=clock)

    def ktsx_run(self, *args, clock, check=True):
        return subprocess.run([self.ktsx, *args, "--config", f"{self.base}/config"], env=self.env(clock), capture_output=True,
                              text=True, check=check)

    def start(self, clock):
        log = open(self.log_path, "a")
        service = subprocess.Popen([self.ktsx, "run", "--config", f"{self.base}/config", "--log-level", "warning"],
                                   env=self.env(clock), stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2).read()
                return service
            except OSError:
                if service.poll() is not None:
                    raise SystemExit(f"ktsx run stopped: see {self.log_path}")
                time.sleep(0.05)
        raise SystemExit("the service did not answer /healthz within 60 s")

    def stop(self, service):
        try:
            with open(f"/proc/{service.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        except OSError:
            pass
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=120)

    # -- files ---------------------------------------------------------------------------------------------

    def drop(self, org, name, text):
        path = os.path.join(self.base, "drop", org, "inbound", name)
        with open(path + ".part", "w", encoding="utf-8") as out:
            out.write(text)
        os.rename(path + ".part", path)
        return path, time.perf_counter()

    def acknowledged(self, drops, timeout=900):
        """Waits for every dropped file's acknowledgement; checks each outcome; returns drop-to-ack seconds."""
        waiting = {}
        for org, name, at, want in drops:
            output = self.w.output.get(org, "csv")
            extension = name.rsplit(".", 1)[1] if output == "same" else output
            waiting[f"{self.base}/drop/{org}/outbound/{name}.ack.{extension}"] = (at, want)
        seconds, deadline = [], time.time() + timeout
        while waiting and time.time() < deadline:
            for ack in list(waiting):
                if os.path.exists(ack):
                    at, want = waiting.pop(ack)
                    seconds.append(time.perf_counter() - at)
                    text = open(ack, encoding="utf-8").read()
                    if f",{want}," not in text and f">{want}<" not in text:
                        raise SystemExit(f"{os.path.basename(ack)}: expected {want}, got:\n{text[:1500]}")
            time.sleep(0.005)
        if waiting:
            raise SystemExit(f"no acknowledgement after {timeout} s: {list(waiting)[:3]}")
        return seconds

    def pick_up(self, org, kind):
        """The rows of every new `kind` file in org's outbound/ (then deleted, as a partner picks them up)."""
        folder = f"{self.base}/drop/{org}/outbound"
        rows = []
        for name in os.listdir(folder):
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            if f"_{kind}_" in name and ".ack." not in name and ".errors." not in name:
                text = open(path, encoding="utf-8").read()
                if name.endswith(".csv"):
                    rows += list(csv.DictReader(io.StringIO(text)))
                else:
                    rows += [{"xml": True}] * text.count("</" + {"ATT": "Attendance", "GPO": "GradePosting", "ENR": "Enrollment"}[kind] + ">")
            os.unlink(path)
        return rows

    # -- a day ---------------------------------------------------------------------------------------------

    def enrollment(self, st, center, course, day, action="add", exit_=None, reason=None):
        entry = self.entries.setdefault(st.ssid, day)
        record = world.enrollment(st, self.w.section(center, course), entry, exit_, reason)
        record["action"] = action
        record["lastModified"] = local(day, 7, 0, self.w.zone[st.home])
        return record

    def enrollments(self, index, day):
        """Enrollment files of the day: (org, name, text, expected outcome, records)."""
        by_school = {}
        if index == 0:
            for st, center, course in self.w.enrolled.values():
                by_school.setdefault(st.home, []).append(self.enrollment(st, center, course, day))
        elif index % 5 == 0:
            group = (index // 5) % max(1, len(self.w.schools) // 10)
            schools = self.w.schools[group * 10:(group + 1) * 10]
            for school in schools:
                present = [v for v in self.w.enrolled.values() if v[0].home == school][:2]
                for st, center, course in present:
                    by_school.setdefault(school, []).append(
                        self.enrollment(st, center, course, day, "update", exit_=day, reason="WITHDRAWN"))
                    self.w.left[st.ssid] = (st, center, course, day)
                    del self.w.enrolled[st.ssid]
                newcomers = [s for s in self.w.waiting if s[0].home == school][:2]
                for item in newcomers:
                    st, center, course = item
                    self.w.waiting.remove(item)
                    by_school.setdefault(school, []).append(self.enrollment(st, center, course, day))
                    self.w.enrolled[st.ssid] = item
        out = []
        for school, records in sorted(by_school.items()):
            name = f"KTSX_ENR_{school}_{day:%Y%m%d}T070000_0001.csv"
            out.append((school, name, world.render(ENROLLMENT, school, records, "csv", None), "ACCEPTED", records))
        return out

    def attendance(self, index, day):
        """Each center's attendance file, and what each school must receive: {school: records}."""
        files, expected = [], {}
        for ci, center in enumerate(self.w.centers):
            zone = self.w.zone[center]
            period = self.w.kind[center] == "C2"
            binding = "xml" if period else "csv"
            records, unknown = [], []
            for n, (st, course) in enumerate(self.w.at(center)):
                status, excuse = world.status_for(n, index)
                record = world.attendance(st, self.w.section(center, course), day, status, excuse, local(day, 14, n % 60, zone),
                                          granularity="PERIOD" if period else "DAY")
                records.append(record)
                if excuse == "UK":
                    unknown.append(record)
            for k, old in enumerate(self.unknowns[center]):
                if old["ssid"] not in self.w.enrolled:
                    continue
                fixed = dict(old)
                fixed.update(recordId=world.uid(), action="update", excuseStatus="EX" if k % 2 == 0 else "UX",
                             localAttendanceCode="EXC" if k % 2 == 0 else "UNX",
                             recordedDateTime=local(day, 13, 0, zone), lastModified=local(day, 13, 0, zone))
                records.append(world.ordered(ATTENDANCE, fixed))
            self.unknowns[center] = unknown
            for record in records:
                expected[record["homeSchoolOrgId"]] = expected.get(record["homeSchoolOrgId"], 0) + 1
            outcome = "ACCEPTED"
            if (index * len(self.w.centers) + ci) % 20 == 7 and records:
                bad = dict(records[0])
                bad.update(recordId=world.uid(), ssid="2199999993")  # ATT-01: a student the center does not have
                records.append(world.ordered(ATTENDANCE, bad))
                outcome = "ACCEPTED_WITH_ERRORS"
            name = f"KTSX_ATT_{center}_{day:%Y%m%d}T163000_0001.{binding}"
            files.append((center, name, world.render(ATTENDANCE, center, records, binding, local(day, 16, 30, zone)), outcome, records))
        return files, expected

    def grade_files(self, index, day):
        """Grades on the quarters' last days and the year's last day."""
        marks = {max(0, int(len(self.days) * f) - 1): code for code, f in QUARTERS}
        final = index == len(self.days) - 1
        if index not in marks and not final:
            return []
        files = []
        for center in self.w.centers:
            zone = self.w.zone[center]
            records = []
            for st, course in self.w.at(center):
                number, section, state, title, term, credits, _ = COURSES[course]
                value = 55 + (int(st.ssid) // 7919 * 13 + index) % 45
                letter = next(b[0] for b in world.KY10PT if b[1] and float(b[1]) <= value)
                record = {
                    "recordId": world.uid(), "action": "add", "schoolYear": str(YEAR), "ssid": st.ssid, "techCenterOrgId": center,
                    "homeSchoolOrgId": st.home, "ktsCourseNumber": number, "sectionNumber": section, "stateCourseCode": state,
                    "gradingScaleCode": "KY10PT", "letterGrade": letter, "asOfDate": day.isoformat(),
                    "postedDateTime": local(day, 16, 0, zone)}
                if self.w.kind[center] == "C2":
                    record["numericGrade"] = str(value)
                if final:
                    passed = value >= 60
                    record.update(gradeType="FINAL", gradingPeriodCode="EOY", gradingPeriodBeginDate=self.days[0].isoformat(),
                                  gradingPeriodEndDate=day.isoformat(), currentGradeIndicator="false", courseTitle=title,
                                  courseAttemptResult="PASS" if passed else "FAIL", creditsAttempted=credits,
                                  creditsEarned=credits if passed else "0", creditType="CTE")
                else:
                    record.update(gradeType="PROGRESS", gradingPeriodCode=marks[index], gradingPeriodBeginDate=self.days[0].isoformat(),
                                  gradingPeriodEndDate=day.isoformat(), currentGradeIndicator="true")
                records.append(world.ordered(GRADES, record))
                self.grades[st.home] = self.grades.get(st.home, 0) + 1
            binding = "xml" if self.w.kind[center] == "C2" else "csv"
            name = f"KTSX_GRD_{center}_{day:%Y%m%d}T170000_0001.{binding}"
            files.append((center, name, world.render(GRADES, center, records, binding, local(day, 17, 0, zone)), "ACCEPTED", records))
        return files

    def waiver_files(self, index, day):
        """In January's first week back, a quarter of the district centers (A2) ask for a waiver."""
        if not (day.month == 1 and day.day >= 5 and not self.waivers):
            return []
        files = []
        for center in [c for c in self.w.centers if self.w.kind[c] == "A2"][::4]:
            record = world.ordered(WAIVERS, {
                "recordId": world.uid(), "action": "submit", "centerOrgId": center, "centerName": f"Center {center}",
                "centerClassification": "A2", "operatingDistrictNumber": center[:3], "waiverSchoolYear": str(YEAR + 1),
                "waiverScope": "FULL_EXCHANGE", "reasonCode": "ALT_SIS", "alternateProcess": "Rosters and grades by the district's SIS export.",
                "submitterName": "Pat Lee", "submitterTitle": "Principal", "submitterEmail": "pat.lee@example.org",
                "superintendentApproval": "true", "approvalDate": (day - timedelta(days=2)).isoformat(),
                "submittedDateTime": local(day, 9, 0, self.w.zone[center])})
            self.waivers.append(record["recordId"])
            name = f"KTSX_WVR_{center}_{day:%Y%m%d}T100000_0001.csv"
            files.append((center, name, world.render(WAIVERS, center, [record], "csv", None), "ACCEPTED", [record]))
        return files

    def play_day(self, index, day):
        service = self.start(utc(day, 17))
        try:
            counts = {"files": 0, "records": 0}

            def send(batch):
                drops = []
                for org, name, text, want, records in batch:
                    _, at = self.drop(org, name, text)
                    drops.append((org, name, at, want))
                    counts["files"] += 1
                    counts["records"] += len(records)
                return self.acknowledged(drops)

            enrollments = self.enrollments(index, day)
            if enrollments:
                send(enrollments)
                # Each center received its students' enrollments from every school that sent.
                for center in self.w.centers:
                    self.pick_up(center, "ENR")
            att, expected = self.attendance(index, day)
            self.latency[index] = send(att)
            for school in self.w.schools:
                got = len(self.pick_up(school, "ATT"))
                if got != expected.get(school, 0):
                    raise SystemExit(f"day {index + 1}: {school} received {got} attendance records, the model says {expected.get(school, 0)}")
            grades = self.grade_files(index, day)
            if grades:
                send(grades)
            waivers = self.waiver_files(index, day)
            if waivers:
                send(waivers)
            if index == 5 or index == len(self.days) - 1:
                when = "first week" if index == 5 else "end"
                self.probes[when] = self.probe(day)
                print(f"p95 ms ({when}): " + ", ".join(f"{k} {v:.0f}" for k, v in self.probes[when].items()), flush=True)
        finally:
            self.stop(service)
        if self.waivers and day.month == 1 and not getattr(self, "decided", False):
            for k, waiver in enumerate(self.waivers):
                verb = "approve" if k % 2 == 0 else "deny"
                self.ktsx_run("waiver", verb, waiver, "--reason", "Decided in the year's run.", clock=utc(day, 18))
            self.decided = True
        return counts

    def play_night(self, index, day):
        """The nights up to the next instructional day's 06:30 (its grade posting, sync and summaries)."""
        following = self.days[index + 1] if index + 1 < len(self.days) else day + timedelta(days=1)
        started = time.perf_counter()
        result = self.ktsx_run("run", "--once", "--log-level", "notice", clock=utc(following, 6, 30))
        wall = time.perf_counter() - started
        with open(self.log_path, "a") as log:
            log.write(result.stderr)
        jobs = {}
        for line in result.stderr.splitlines():
            if '"nightly job done"' in line:
                entry = json.loads(line)
                job = entry["exchange.job"]
                jobs[job] = jobs.get(job, 0) + int(entry["exchange.milliseconds"])
        jobs["whole night"] = int(wall * 1000)
        if self.grades:
            self.postings.append((index, jobs.get("grade-posting", 0), sum(self.grades.values())))
        self.nights.append((index, jobs))
        # Grade postings: every school received its students' grades.
        posted = {s: len(self.pick_up(s, "GPO")) for s in self.w.schools}
        if self.grades:
            for school, want in self.grades.items():
                if posted.get(school, 0) != want:
                    raise SystemExit(f"night after day {index + 1}: {school} got {posted.get(school, 0)} posted grades, the model says {want}")
            self.grades = {}
        elif any(posted.values()):
            raise SystemExit(f"night after day {index + 1}: grades posted when none were sent")
        # Everything else (syncs, summaries, decisions) is picked up too.
        for org in self.w.centers + self.w.schools:
            folder = f"{self.base}/drop/{org}/outbound"
            for name in os.listdir(folder):
                if not name.startswith("."):
                    os.unlink(os.path.join(folder, name))

    # -- pages and commands --------------------------------------------------------------------------------

    def probe(self, day, rounds=20):
        """p95 milliseconds of each review page and support command, with the service running."""
        site = f"http://127.0.0.1:{self.port}"
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{site}/login").read().decode()
        token = page.split('name="token" value="')[1].split('"')[0]
        request = urllib.request.Request(
            f"{site}/login", data=urllib.parse.urlencode({"username": "yearrun", "password": PASSWORD, "token": token,
                                                          "next": "/submissions"}).encode(),
            headers={"Origin": site, "Content-Type": "application/x-www-form-urlencoded"})
        opener.open(request).read()
        listing = json.loads(self.ktsx_run("submissions", "--type", "ATT", "--format", "json", clock=utc(day, 18)).stdout)
        entries = listing if isinstance(listing, list) else next(v for v in listing.values() if isinstance(v, list))
        receipt = next(e for e in entries if "_ATT_" in json.dumps(e))
        receipt_id = receipt.get("receiptId") or receipt.get("id")
        pages = ["/submissions", f"/receipts/{receipt_id}", "/deliveries", "/quiet", "/waivers", "/status"]
        results = {}
        for path in pages:
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                answer = opener.open(site + path)
                answer.read()
                if answer.status != 200 or answer.url.endswith("/login"):
                    raise SystemExit(f"{path}: not a page ({answer.status} {answer.url})")
                times.append(1000 * (time.perf_counter() - start))
            results[f"page {path.split('/')[1] if path.count('/') == 1 else 'receipt'}"] = percentile(times, 0.95)
        # The audit of the day before: attendance only, both in the first week and at the end (the last day's
        # final grades are a posting's worth of records more).
        audited = self.days[self.days.index(day) - 1].isoformat()
        commands = [["status"], ["submissions"], ["show", receipt_id], ["audit", "--from", audited, "--to", audited]]
        for command in commands:
            times = []
            for _ in range(max(3, rounds // 4)):
                start = time.perf_counter()
                self.ktsx_run(*command, clock=utc(day, 18))
                times.append(1000 * (time.perf_counter() - start))
            results[f"ktsx {command[0]}"] = percentile(times, 0.95)
        return results

    def ledger_bytes(self):
        if not self.ledger_url:
            return sum(os.path.getsize(f"{self.base}/state/{name}") for name in os.listdir(f"{self.base}/state")
                       if name.startswith("ledger.sqlite"))
        out = subprocess.run(["psql", self.ledger_url.split("?")[0], "-tAc", "SELECT pg_database_size(current_database())"],
                             capture_output=True, text=True, check=True).stdout
        return int(out.strip())


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--ledger", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--centers", type=int, default=100)
    parser.add_argument("--schools", type=int, default=250)
    parser.add_argument("--students", type=int, default=50000)
    parser.add_argument("--days", type=int, default=175)
    parser.add_argument("--keep", action="store_true", help="keep the tree (its path is printed)")
    parser.add_argument("--stop-after", type=int, help="play only the first N days of the year (the first week's probe is on day 6)")
    parser.add_argument("--probe-tree", help="only time the pages and commands on a tree a kept run left, at its last day")
    args = parser.parse_args(argv)
    if args.probe_tree:
        return probe_tree(args)

    subprocess.run(["swift", "build", "-c", "release", "--product", "ktsx"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    ktsx = os.path.join(ROOT, ".build", "release", "ktsx")
    base = tempfile.mkdtemp(prefix="ktsx-year-")
    pg_dir, ledger_url = None, None
    if args.ledger == "postgres":
        pg_dir = tempfile.mkdtemp(prefix="ktsx-year-postgres-")  # the server's user must reach it: not inside base
        ledger_url = subprocess.run(["bash", os.path.join(ROOT, "scripts", "postgres.sh"), "start", pg_dir], capture_output=True,
                                    text=True, check=True).stdout.strip()
    year = Year(args, base, ktsx, ledger_url)
    try:
        subprocess.run([ktsx, "init", "--config", f"{base}/config"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([ktsx, "hash-password", "--user", "yearrun", "--config", f"{base}/config"], input=PASSWORD, text=True,
                       check=True, stdout=subprocess.DEVNULL)
        began = time.monotonic()
        sizes = {}
        for index, day in enumerate(year.days):
            counts = year.play_day(index, day)
            year.play_night(index, day)
            year.rows.append((day, counts))
            if index in (4, len(year.days) - 1):
                sizes[index] = year.ledger_bytes()
            if args.stop_after and index + 1 >= args.stop_after:
                print(f"stopped after day {index + 1}: ledger {year.ledger_bytes() / 1e6:.0f} MB, peak memory {year.peak_kb / 1024:.0f} MB")
                return
            lat = year.latency[index]
            night = year.nights[-1][1]
            print(f"day {index + 1:3d} {day}: {counts['files']:4d} files {counts['records']:6d} records, "
                  f"ack p50 {statistics.median(lat):.2f} s p99 {percentile(lat, 0.99):.2f} s max {max(lat):.2f} s, night {night['whole night'] / 1000:.2f} s "
                  f"({', '.join(f'{k} {v} ms' for k, v in sorted(night.items()) if k != 'whole night')}), "
                  f"{time.monotonic() - began:.0f} s in", flush=True)
        report(year, args, sizes, time.monotonic() - began)
    finally:
        if pg_dir and not args.keep:
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "postgres.sh"), "stop", pg_dir], check=False)
        if args.keep:
            print(f"\ntree kept at {base}" + (f" (PostgreSQL still runs: bash scripts/postgres.sh stop {pg_dir})" if pg_dir else ""))
        else:
            shutil.rmtree(base, ignore_errors=True)


def probe_tree(args):
    """The end's pages and commands, again, on a kept tree (same world: the same --centers/--schools/--students/--days)."""
    ktsx = os.path.join(ROOT, ".build", "release", "ktsx")
    conf = open(os.path.join(args.probe_tree, "config", "ktsx.conf")).read()
    port = int(conf.split("review_address = 127.0.0.1:")[1].split()[0])
    ledger = conf.split("ledger = ")[1].split()[0] if "\nledger = " in conf else None
    year = Year(args, args.probe_tree, ktsx, ledger, port=port)
    day = year.days[-1]
    service = year.start(utc(day, 17))
    try:
        results = year.probe(day)
    finally:
        year.stop(service)
    print("p95 ms (end, again): " + ", ".join(f"{k} {v:.0f}" for k, v in results.items()))
    print(f"ledger: {year.ledger_bytes() / 1e6:.0f} MB; peak memory of the service {year.peak_kb / 1024:.0f} MB")


def report(year, args, sizes, seconds):
    days = len(year.days)
    week = min(5, days - 1)
    # The first week is days 2-6: day 1 also carries every school's enrollments.
    first = [s for i in range(1, week + 1) for s in year.latency[i]]
    last = [s for i in range(days - week, days) for s in year.latency[i]]
    files = [c["files"] for _, c in year.rows]
    records = [c["records"] for _, c in year.rows]
    print(f"\nA school year on {args.ledger}: {args.centers} centers, {args.schools} high schools, {args.students} students, "
          f"{days} instructional days, played in {seconds / 60:.1f} min\n")
    print("| measure | first week | last week | end / start |")
    print("|---|---|---|---|")

    def row(name, a, b, unit, fmt="{:.2f}"):
        ratio = b / a if a else float("nan")
        print(f"| {name} | {fmt.format(a)} {unit} | {fmt.format(b)} {unit} | {ratio:.2f} |")

    row("attendance drop-to-ack p50", statistics.median(first), statistics.median(last), "s")
    row("attendance drop-to-ack p99", percentile(first, 0.99), percentile(last, 0.99), "s")
    jobs = sorted({job for _, night in year.nights for job in night})
    for job in jobs:
        def mean(nights):
            values = [n.get(job, 0) for _, n in nights]
            return statistics.mean(values) if values else 0
        # Grade posting has work only after grading days: those nights are compared below, and the whole
        # night without it here.
        early, late = year.nights[1:week + 1], year.nights[-week:]
        row(f"night: {job}", mean(early), mean(late), "ms", "{:.0f}")
    without = [[n["whole night"] - n.get("grade-posting", 0) for _, n in nights]
               for nights in (year.nights[1:week + 1], year.nights[-week:])]
    row("night without the grade posting", statistics.mean(without[0]), statistics.mean(without[1]), "ms", "{:.0f}")
    if len(year.postings) >= 2:
        (a, first_ms, first_count), (b, last_ms, last_count) = year.postings[0], year.postings[-1]
        row(f"grade posting: first ({first_count} grades, night {a + 1}) and last ({last_count}, night {b + 1})",
            first_ms, last_ms, "ms", "{:.0f}")
    start, end = year.probes.get("first week", {}), year.probes.get("end", {})
    for name in start:
        row(f"p95 {name}", start[name], end.get(name, float("nan")), "ms", "{:.0f}")
    print(f"\n- files a day: {min(files)}-{max(files)} (mean {statistics.mean(files):.0f}); records a day: {min(records)}-{max(records)} "
          f"(mean {statistics.mean(records):.0f}); {sum(files)} files and {sum(records)} records in the year")
    if 4 in sizes and days - 1 in sizes:
        per_day = (sizes[days - 1] - sizes[4]) / max(1, days - 5)
        print(f"- ledger: {sizes[4] / 1e6:.0f} MB after the first week, {sizes[days - 1] / 1e6:.0f} MB at the end "
              f"({per_day / 1e6:.1f} MB a day)")
    print(f"- the service's peak memory (VmHWM, any day): {year.peak_kb / 1024:.0f} MB")


if __name__ == "__main__":
    main()
