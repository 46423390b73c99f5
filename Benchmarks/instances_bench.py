#!/usr/bin/env python3
"""Backlog drain with one and with two `ktsx run` instances on the same machine and the same drop tree.

--files enrollment files from --participants high schools are dropped at once; the running services
(quiet period 200 ms, poll 200 ms) judge, apply and route every one; the time from the drop to the last
acknowledgement gives files per second. Three runs on fresh trees: one instance on the SQLite ledger (the
embedded default), one on PostgreSQL, two on PostgreSQL (instance names a and b).

PostgreSQL: KTSX_BENCH_POSTGRES_URL if set, else a throwaway server started by scripts/postgres.sh.

Usage (from the package root; builds ktsx in release mode):
  python3 Benchmarks/instances_bench.py [--files 5000] [--participants 200] [--only sqlite,postgres,postgres2]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from service_bench import build, cpu_seconds, enrollment, write_config  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine_cpu():
    """Idle and total jiffies of the whole machine (/proc/stat)."""
    with open("/proc/stat") as stat:
        parts = [int(x) for x in stat.readline().split()[1:]]
    return parts[3] + parts[4], sum(parts)


def drain(ktsx, files, participants, instances, ledger):
    """Seconds from the drop to the last acknowledgement, the instances' CPU seconds, the files not
    acknowledged, and how busy the whole machine (ktsx, PostgreSQL, everything) was meanwhile."""
    base = tempfile.mkdtemp(prefix="ktsx-instances-")
    orgs = [f"{200001 + i}" for i in range(participants)]
    write_config(base, orgs, "200ms", "200ms")
    with open(f"{base}/config/ktsx.conf", "a") as conf:
        conf.write("review_address = off\n")
        if ledger:
            schema = "bench_" + uuid.uuid4().hex
            conf.write(f"ledger = {ledger}{'&' if '?' in ledger else '?'}schema={schema}\n")
    subprocess.run([ktsx, "init", "--config", f"{base}/config"], check=True, stdout=subprocess.DEVNULL)
    configs = []
    for index in range(instances):
        config = f"{base}/config-{index}"
        shutil.copytree(f"{base}/config", config)
        with open(f"{config}/ktsx.conf", "a") as conf:
            conf.write(f"instance_name = {'ab'[index]}\n")
        configs.append(config)
    staging = f"{base}/staging"
    os.makedirs(staging)
    names = []
    for index in range(files):
        org = orgs[index % len(orgs)]
        name = f"KTSX_ENR_{org}_20251001T000000_{index:05d}.csv"
        with open(f"{staging}/{name}", "w") as out:
            out.write(enrollment(org, index))
        names.append((org, name))
    services = [subprocess.Popen([ktsx, "run", "--config", config, "--log-level", "error"]) for config in configs]
    time.sleep(3)  # started, the first nightly jobs out of the way
    idle_before, total_before = machine_cpu()
    started = time.perf_counter()
    for org, name in names:
        os.rename(f"{staging}/{name}", f"{base}/drop/{org}/inbound/{name}")
    remaining = set(names)
    while remaining and time.perf_counter() - started < 1800:
        time.sleep(0.2)
        remaining = {(org, name) for org, name in remaining if not os.path.exists(f"{base}/drop/{org}/outbound/{name}.ack.csv")}
    elapsed = time.perf_counter() - started
    idle_after, total_after = machine_cpu()
    busy = 1 - (idle_after - idle_before) / max(1, total_after - total_before)
    cpu = sum(cpu_seconds(service.pid) for service in services)
    for service in services:
        service.terminate()
        service.wait()
    shutil.rmtree(base)
    return elapsed, cpu, len(remaining), busy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--only", default="sqlite,postgres,postgres2",
                        help="which runs, of sqlite, postgres (one instance) and postgres2 (two)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    ktsx = build()
    url = os.environ.get("KTSX_BENCH_POSTGRES_URL")
    cluster = None
    if not url:
        cluster = tempfile.mkdtemp(prefix="ktsx-bench-postgres-")
        url = subprocess.run(["bash", f"{ROOT}/scripts/postgres.sh", "start", cluster], check=True, capture_output=True,
                             text=True).stdout.strip()
    try:
        rows = []
        for key, label, instances, ledger in [("sqlite", "1 instance, SQLite", 1, None),
                                              ("postgres", "1 instance, PostgreSQL", 1, url),
                                              ("postgres2", "2 instances, PostgreSQL", 2, url)]:
            if key not in only:
                continue
            elapsed, cpu, missing, busy = drain(ktsx, args.files, args.participants, instances, ledger)
            rows.append((label, elapsed, cpu, missing, busy))
    finally:
        if cluster:
            subprocess.run(["bash", f"{ROOT}/scripts/postgres.sh", "stop", cluster], check=False)
    print(f"\n{args.files} enrollment files from {args.participants} high schools, dropped at once "
          "(every file judged, applied and routed; quiet period and poll 200 ms):\n")
    print(f"| ledger and instances | drained in | files/s | CPU seconds of ktsx | machine busy ({os.cpu_count()} cores) | files not acknowledged |")
    print("|---|---|---|---|---|---|")
    for label, elapsed, cpu, missing, busy in rows:
        print(f"| {label} | {elapsed:.1f} s | {args.files / elapsed:.0f} | {cpu:.1f} | {busy * 100:.0f}% | {missing} |")
    return 0 if all(row[3] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
