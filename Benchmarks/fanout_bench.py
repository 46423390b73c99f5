#!/usr/bin/env python3
"""Fan-out: a day's attendance as centers send it. --centers centers each teach --students students from
--schools high schools; the high schools' enrollments are sent first (and routed to the centers), then
every center drops one attendance file for all its students at once, --days times (one school day each).
Each attendance file is routed to every high school: one file per receiving school.

Measured: drop-to-ack of the centers' attendance files (p50, p99, max, with the quiet period and poll
interval of the suite, 1 s and 500 ms), and how long the service took per file (from its log's judged
timing when present, otherwise drop-to-ack less the wait for quiet). Checked: every attendance file is
ACCEPTED and every high school received exactly one file from each center each day, carrying exactly its
own students' records (counted against the model of who attends where, written here).

Usage (from the package root; builds ktsx in release mode):
  python3 Benchmarks/fanout_bench.py [--centers 10] [--schools 40] [--students 300] [--days 3]
"""

import argparse
import csv
import io
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import gen_scenario as world  # noqa: E402
from schema_fields import ATTENDANCE, ENROLLMENT  # noqa: E402
from service_bench import percentile  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRST_DAY = date(2026, 1, 13)


def config(base, centers, schools):
    os.makedirs(os.path.join(base, "config"), exist_ok=True)
    files = {
        "ktsx.conf": "drop_root = ../drop\nstate_dir = ../state\nquiet_period = 1s\npoll_interval = 500ms\n",
        "participants.csv": world.table(
            ["orgId", "name", "classification", "timeZone", "outputFormat", "doneMarker", "unknownSync"],
            [[c, f"Center {c}", "A2", "America/New_York", "csv", "false", "false"] for c in centers]
            + [[s, f"High School {s}", "A1", "America/New_York", "same", "false", "false"] for s in schools]),
        "catalog.csv": world.table(
            ["centerOrgId", "schoolYear", "ktsCourseNumber", "sectionNumber", "stateCourseCode", "courseTitle", "termCode",
             "termBeginDate", "termEndDate", "credits", "minutesPerDay"],
            [[c, world.YEAR, "CUL101", "AM-01", "200401", "Culinary Arts I", "FY", world.FY[0].isoformat(),
              world.FY[1].isoformat(), 2, 165] for c in centers]),
        "attendance-codes.csv": world.table(
            ["centerOrgId", "localCode", "attendanceStatus", "excuseStatus", "description"],
            [[c, code, s, e, f"{s} {e}".strip()] for c in centers for (s, e), code in world.CODES.items()]),
        "calendars.csv": world.table(
            ["orgId", "schoolYear", "kind", "firstDate", "lastDate", "note"],
            [[org, world.YEAR, "instructional", world.FY[0].isoformat(), world.FY[1].isoformat(), "school year"]
             for org in centers + schools]),
        "schedule.conf": "time_zone = America/New_York\ngrade_posting_time = 22:00\nunknown_sync_time = 05:30\n"
                         "catch_up_days = 7\nwaiver_window = 01-01..03-01\nmax_credits = 3\n",
    }
    for name, text in files.items():
        with open(os.path.join(base, "config", name), "w", encoding="utf-8") as out:
            out.write(text)


def section(center):
    return (center, "CUL101", "AM-01", "200401", "Culinary Arts I", "FY", "2", "AM")


def drop(base, org, name, text):
    path = os.path.join(base, "drop", org, "inbound", name)
    with open(path + ".part", "w", encoding="utf-8") as out:
        out.write(text)
    os.rename(path + ".part", path)
    return time.perf_counter()


def wait_for(paths, timeout=600):
    """Waits until every path exists; returns {path: perf_counter when first seen}."""
    seen, deadline = {}, time.time() + timeout
    while len(seen) < len(paths) and time.time() < deadline:
        for path in paths:
            if path not in seen and os.path.exists(path):
                seen[path] = time.perf_counter()
        time.sleep(0.005)
    missing = [p for p in paths if p not in seen]
    if missing:
        raise SystemExit(f"no acknowledgement after {timeout} s: {missing[:3]}")
    return seen


def main(argv=None):
    """Runs the fan-out; prints its report and returns the drop-to-ack seconds of the attendance files."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--centers", type=int, default=10)
    parser.add_argument("--schools", type=int, default=40)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the tree (its path is printed)")
    args = parser.parse_args(argv)

    subprocess.run(["swift", "build", "-c", "release", "--product", "ktsx"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    ktsx = os.path.join(ROOT, ".build", "release", "ktsx")
    centers = [f"{300001 + i}" for i in range(args.centers)]
    schools = [f"{310001 + i}" for i in range(args.schools)]
    # The model: student n of center c goes to high school n mod schools.
    attends = {c: [world.Student(ci * args.students + n, schools[n % len(schools)]) for n in range(args.students)]
               for ci, c in enumerate(centers)}

    # School days from FIRST_DAY on (weekdays), all before the service's clock.
    days = [d for d in (FIRST_DAY + timedelta(days=i) for i in range(args.days * 2 + 2)) if d.weekday() < 5][:args.days]
    base = tempfile.mkdtemp(prefix="ktsx-fanout-")
    config(base, centers, schools)
    env = dict(os.environ, KTSX_CLOCK_START=f"{(days[-1] + timedelta(days=1)).isoformat()}T20:00:00Z")
    subprocess.run([ktsx, "init", "--config", f"{base}/config"], check=True, stdout=subprocess.DEVNULL, env=env)
    log = open(os.path.join(base, "service.log"), "w")
    service = subprocess.Popen([ktsx, "run", "--config", f"{base}/config", "--log-level", "error"], env=env, stdout=log, stderr=log)
    try:
        # The high schools' enrollments, one file each, routed to the centers.
        acks = []
        for school in schools:
            records = [world.enrollment(st, section(c), world.FY[0], None, None)
                       for c in centers for st in attends[c] if st.home == school]
            name = f"KTSX_ENR_{school}_20260109T153000_0001.csv"
            drop(base, school, name, world.render(ENROLLMENT, school, records, "csv", None))
            acks.append(f"{base}/drop/{school}/outbound/{name}.ack.csv")
        wait_for(acks)
        refused = [a for a in acks if ",ACCEPTED," not in open(a).read()]
        if refused:
            raise SystemExit(f"enrollments not accepted: {open(refused[0]).read()[:400]}")

        latencies = []
        for day_index, day in enumerate(days):
            before = {s: set(os.listdir(f"{base}/drop/{s}/outbound")) for s in schools}
            dropped, names = {}, {}
            for c in centers:
                records = []
                for n, st in enumerate(attends[c]):
                    status, excuse = world.status_for(n, day_index)
                    excuse = "EX" if excuse == "UK" else excuse  # unknowns are resolved another day; here all are known
                    records.append(world.attendance(st, section(c), day, status, excuse, world.eastern(day, 15, 0)))
                name = f"KTSX_ATT_{c}_{day.strftime('%Y%m%d')}T200000_0001.csv"
                names[c] = name
                dropped[c] = drop(base, c, name, world.render(ATTENDANCE, c, records, "csv", None))
            seen = wait_for([f"{base}/drop/{c}/outbound/{names[c]}.ack.csv" for c in centers])
            for c in centers:
                ack = f"{base}/drop/{c}/outbound/{names[c]}.ack.csv"
                latencies.append(seen[ack] - dropped[c])
                if ",ACCEPTED," not in open(ack).read():
                    raise SystemExit(f"attendance not accepted: {open(ack).read()[:400]}")
            # Every school got one file per center, with exactly its own students' records.
            for s in schools:
                new = sorted(set(os.listdir(f"{base}/drop/{s}/outbound")) - before[s])
                if len(new) != len(centers):
                    raise SystemExit(f"{s} received {len(new)} files on day {day_index + 1}, expected {len(centers)}")
                got = 0
                for name in new:
                    text = open(f"{base}/drop/{s}/outbound/{name}", encoding="utf-8").read()
                    rows = list(csv.DictReader(io.StringIO(text))) if name.endswith(".csv") else []
                    got += len(rows) if rows else text.count("<Attendance>")
                    if rows and any(r["homeSchoolOrgId"] != s for r in rows):
                        raise SystemExit(f"{s} received another school's students")
                expected = sum(1 for c in centers for st in attends[c] if st.home == s)
                if got != expected:
                    raise SystemExit(f"{s} received {got} records on day {day_index + 1}, expected {expected}")
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait()
        log.close()
    records = args.students
    print(f"\nFan-out: {args.centers} centers, each one attendance file of {records} records for students of "
          f"{args.schools} high schools, dropped at once, {args.days} days (quiet period 1 s, poll 500 ms)\n")
    print("| measure | result |")
    print("|---|---|")
    print(f"| attendance files | {len(latencies)}, all ACCEPTED; every school received one file per center per day "
          f"with exactly its own students |")
    print(f"| drop-to-ack | p50 {statistics.median(latencies):.2f} s, p99 {percentile(latencies, 0.99):.2f} s, "
          f"max {max(latencies):.2f} s |")
    if args.keep:
        print(f"\ntree kept at {base}")
    else:
        shutil.rmtree(base)
    return latencies


if __name__ == "__main__":
    main()
