#!/usr/bin/env python3
"""The review site while large originals are viewed: /healthz latency with nothing else asked, then while
six pages of six large rejected originals (each error on its last line, so each page reads its whole file)
are asked at once, and the service's peak memory. The views and the /healthz polling are the hostile-client
suite's own section (`Tests/HostileClient/hostile_client.py originals`).

Usage (from the package root; builds ktsx in release mode):
  python3 Benchmarks/review_under_load.py [--megabytes 100] [--files 6]
"""

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from service_bench import ROOT, build, enrollment, percentile, write_config  # noqa: E402

SUITE = os.path.join(ROOT, "Tests", "HostileClient", "hostile_client.py")


def large_original(path, megabytes, index):
    """Enrollments from 061010 of about `megabytes` MB, each with its own record id; the last row's birth
    date is 2009-13-45, the file's only error. Returns the number of the last line."""
    header, *rows = [line for line in enrollment("061010", index).split("\n") if line]
    target, size, count = megabytes * 1_000_000, 0, 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(header + "\n")
        while size < target:
            for row in rows:
                line = "%08x-%04x-4000-8000-%012x" % (index, count % 65536, count) + row[row.index(","):] + "\n"
                out.write(line)
                size += len(line)
                count += 1
        cells = rows[0].split(",")
        cells[0], cells[8] = "%08x-ffff-4000-8000-%012x" % (index, count), "2009-13-45"
        out.write(",".join(cells) + "\n")
    return count + 2


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_site(port, seconds=10):
    """Returns once the review site on `port` answers /healthz (or after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return
        except OSError:
            time.sleep(0.05)


def healthz_alone(port, count=200):
    """Milliseconds of /healthz with nothing else asked."""
    times = []
    for _ in range(count):
        start = time.monotonic()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10).read()
        times.append(1000 * (time.monotonic() - start))
        time.sleep(0.01)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--files", type=int, default=6)
    options = parser.parse_args()
    ktsx = build()
    base = tempfile.mkdtemp(prefix="ktsx-review-load-")
    try:
        port = free_port()
        write_config(base, ["061010"], "300ms", "100ms")
        with open(os.path.join(base, "config", "ktsx.conf"), "a") as out:
            out.write(f"review_address = 127.0.0.1:{port}\nmax_file_size = {options.megabytes * 2}MB\nmax_records = 10000000\n")
        config = os.path.join(base, "config")
        subprocess.run([ktsx, "init", "--config", config], check=True, stdout=subprocess.DEVNULL)
        password = "a support password for the benchmark"
        subprocess.run([ktsx, "hash-password", "--user", "support", "--cost", "12", "--config", config], input=password + "\n",
                       text=True, check=True, stdout=subprocess.DEVNULL)
        names, last_line = [], 0
        for index in range(options.files):
            name = f"KTSX_ENR_061010_20260220T08{index:02d}00_0001.csv"
            last_line = large_original(os.path.join(base, "drop", "061010", "inbound", name), options.megabytes, index)
            names.append(name)
        subprocess.run([ktsx, "run", "--once", "--config", config, "--max-wait", "600", "--log-level", "warning"], check=True)
        ledger = sqlite3.connect(os.path.join(base, "state", "ledger.sqlite"))
        receipts = [ledger.execute("select id from receipt where original_name = ?", (name,)).fetchone()[0] for name in names]
        ledger.close()

        service = subprocess.Popen([ktsx, "run", "--config", config, "--log-level", "warning"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            wait_for_site(port)
            alone = healthz_alone(port)
            world = os.path.join(base, "world.json")
            with open(world, "w") as out:
                json.dump({"port": port, "user": "support", "password": password, "largeReceipts": receipts,
                           "largeLastLine": last_line, "secrets": [], "studentData": []}, out)
            suite = subprocess.run([sys.executable, SUITE, world, "originals"], capture_output=True, text=True)
            report = json.loads(suite.stdout)["originals"]
            status = open(f"/proc/{service.pid}/status").read()
            peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024
        finally:
            service.terminate()
            service.wait()
        print(f"review site: {options.files} originals of {options.megabytes} MB ({last_line - 1:,} records each) viewed at once")
        print(f"  /healthz alone:        p50 {statistics.median(alone):.1f} ms, p95 {percentile(alone, 0.95):.1f} ms, max {max(alone):.1f} ms")
        during = report["healthzMillis"]
        print(f"  /healthz during views: p50 {during['p50']} ms, p95 {during['p95']} ms, max {during['max']} ms "
              f"({report['healthzCount']} asked)")
        print(f"  views: {report['viewsSeconds']} s each, all {options.files} in {report['allViewsSeconds']} s")
        print(f"  ktsx peak resident memory: {peak:.0f} MB")
        print(f"  violations: {report['violations'] or 'none'}")
        return 1 if report["violations"] else 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
