#!/usr/bin/env python3
"""The review site's /healthz while the service is busiest: a backlog of --files enrollment files from
--participants high schools drains while the night's grade posting of --grades staged grades runs.

The grades are put in the ledger before the start, as if a center had sent them during the day (held,
waiting for the posting); the service's clock starts just after the posting time, so its scheduler posts
them at once while the backlog is dropped. /healthz is asked every 20 ms from the drop until the last
acknowledgement; the report gives its latency over the whole drain and over the posting's span alone.

Usage (from the package root; builds ktsx in release mode):
  python3 Benchmarks/healthz_under_load.py [--files 10000] [--participants 200] [--grades 100000] [--ktsx PATH]
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from review_under_load import free_port, wait_for_site  # noqa: E402
from service_bench import ROOT, build, enrollment, percentile, write_config  # noqa: E402

# 22:00:05 in Kentucky's eastern time on 2026-02-19: the grade posting of that night is due.
CLOCK = "2026-02-20T03:00:05Z"
GRADE_EXAMPLE = os.path.join(ROOT, "Schemas", "examples", "GRD.example.csv")


def stage_grades(ledger_path, schools, count):
    """`count` accepted grades from the center 061014 for students of `schools`, waiting for the posting."""
    header, row = [line for line in open(GRADE_EXAMPLE, encoding="utf-8").read().split("\n") if line][:2]
    names, values = header.split(","), row.split(",")
    ledger = sqlite3.connect(ledger_path)
    ledger.execute(
        "INSERT INTO receipt (id, sender_org_id, original_name, size_bytes, sha256, state, claimed_at, file_type, binding, outcome) "
        "VALUES ('R061014-bench', '061014', 'grades.csv', 1, 'bench', 'finished', 1771500000, 'GRD', 'CSV', 'ACCEPTED')")
    rows = []
    for index in range(count):
        fields = {name: value for name, value in zip(names, values) if value}
        school = schools[index % len(schools)]
        fields.update({"recordId": "%08x-0000-4000-8000-%012x" % (index, index), "ssid": "%010d" % (1_000_000_000 + index),
                       "techCenterOrgId": "061014", "homeSchoolOrgId": school})
        key = "|".join(fields.get(f, "") for f in ["ssid", "techCenterOrgId", "ktsCourseNumber", "sectionNumber", "gradeType",
                                                   "gradingPeriodCode"])
        rows.append(("GRD", key, "061014", school, 2026, fields["ssid"], "061014", fields["asOfDate"],
                     json.dumps(fields, sort_keys=True, separators=(",", ":")), "R061014-bench", 1771500000, 0, 1))
    ledger.executemany(
        "INSERT INTO held_record (type, natural_key, sender_org_id, recipient_org_id, school_year, ssid, center_org_id, record_date, "
        "fields, receipt_id, accepted_at, deleted, pending_posting) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    ledger.commit()
    ledger.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--grades", type=int, default=100_000)
    parser.add_argument("--ktsx", help="a ktsx binary to measure instead of a fresh release build")
    options = parser.parse_args()
    ktsx = options.ktsx or build()
    os.environ["KTSX_CLOCK_START"] = CLOCK
    base = tempfile.mkdtemp(prefix="ktsx-healthz-")
    service = None
    try:
        port = free_port()
        orgs = [f"{200001 + i}" for i in range(options.participants)]
        write_config(base, orgs, "200ms", "200ms")
        config = os.path.join(base, "config")
        with open(os.path.join(config, "ktsx.conf"), "a") as out:
            out.write(f"review_address = 127.0.0.1:{port}\n")
        subprocess.run([ktsx, "init", "--config", config], check=True, stdout=subprocess.DEVNULL)
        # Any command opens (and makes) the ledger.
        subprocess.run([ktsx, "status", "--config", config], check=True, stdout=subprocess.DEVNULL)
        stage_grades(os.path.join(base, "state", "ledger.sqlite"), orgs, options.grades)
        staging = os.path.join(base, "staging")
        os.makedirs(staging)
        names = []
        for index in range(options.files):
            org = orgs[index % len(orgs)]
            name = f"KTSX_ENR_{org}_20260219T000000_{index:05d}.csv"
            with open(os.path.join(staging, name), "w") as out:
                out.write(enrollment(org, index))
            names.append((org, name))

        service = subprocess.Popen([ktsx, "run", "--config", config, "--log-level", "error"])
        wait_for_site(port)
        samples = []  # (seconds since the drop, milliseconds)
        done = threading.Event()
        started = time.monotonic()

        def poll():
            while not done.is_set():
                begin = time.monotonic()
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30).read()
                samples.append((begin - started, 1000 * (time.monotonic() - begin)))
                time.sleep(0.02)

        poller = threading.Thread(target=poll)
        poller.start()
        for org, name in names:
            os.rename(os.path.join(staging, name), os.path.join(base, "drop", org, "inbound", name))
        remaining = set(names)
        posting_seen = []  # seconds since the drop at which posting files were first and last seen
        posted_schools = set()
        while remaining or len(posted_schools) < len(orgs):
            time.sleep(0.2)
            remaining = {(org, name) for org, name in remaining if not os.path.exists(f"{base}/drop/{org}/outbound/{name}.ack.csv")}
            newly = {org for org in orgs if org not in posted_schools
                     and any(entry.startswith("KTSX_GPO_") for entry in os.listdir(f"{base}/drop/{org}/outbound"))}
            if newly:
                posting_seen.append(time.monotonic() - started)
                posted_schools |= newly
            if time.monotonic() - started > 1800:
                break
        drained = time.monotonic() - started
        done.set()
        poller.join()
    finally:
        if service:
            service.terminate()
            service.wait()
        shutil.rmtree(base, ignore_errors=True)
    every = [millis for _, millis in samples]
    first, last = (posting_seen[0], posting_seen[-1]) if posting_seen else (0, 0)
    during_posting = [millis for at, millis in samples if at <= last]
    print(f"{options.files} enrollment files from {options.participants} high schools dropped at once, drained in {drained:.1f} s "
          f"({options.files / drained:.0f} files/s, {len(remaining)} not acknowledged); the night's posting of {options.grades} grades "
          f"to {len(posted_schools)} high schools, its files seen from {first:.1f} s to {last:.1f} s after the drop")
    for label, values in [("/healthz while the backlog drained", every), ("/healthz until the posting's last file", during_posting)]:
        if values:
            print(f"  {label}: {len(values)} asked, p50 {statistics.median(values):.1f} ms, p99 {percentile(values, 0.99):.1f} ms, "
                  f"max {max(values):.1f} ms")
    return 0 if not remaining and len(posted_schools) == len(orgs) else 1


if __name__ == "__main__":
    sys.exit(main())
