#!/usr/bin/env python3
"""Service benchmark: drop-to-ack latency, and the time to drain a backlog of small files.

  latency: `ktsx run` polls a tree (quiet period --quiet, poll interval --poll); files are dropped one at a
           time and the time until each acknowledgement appears in outbound/ is measured (p50, p99, max).
           DESIGN.md promises an acknowledgement within one quiet period plus one poll interval.
  backlog: --files small files from --participants participants are dropped at once, then
           `ktsx run --once` (quiet period 0) acknowledges them all; files per second.
  idle:    `ktsx run` watches --idle-participants empty folders (poll 2 s) for --idle-seconds: its CPU
           share, CPU per poll and resident memory.

Usage (from the package root; builds ktsx in release mode):
  python3 Benchmarks/service_bench.py [--files 10000] [--participants 200] [--latency-files 40]
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "Schemas", "examples", "ENR.example.csv")


CATALOG = os.path.join(ROOT, "Fixtures", "reference", "catalog.csv")
CLOCK = "2026-02-20T15:00:00Z"  # after the example's dates: every enrollment passes the rules


def write_config(base, orgs, quiet, poll):
    """The high schools `orgs` and the center 061014, with the fixture world's catalog: every file's
    enrollments are judged by the rules, accepted, and routed to the center."""
    os.makedirs(os.path.join(base, "config"), exist_ok=True)
    with open(os.path.join(base, "config", "ktsx.conf"), "w") as out:
        out.write(f"drop_root = ../drop\nstate_dir = ../state\nquiet_period = {quiet}\npoll_interval = {poll}\n")
    with open(os.path.join(base, "config", "participants.csv"), "w") as out:
        out.write("orgId,name,classification,timeZone,outputFormat,doneMarker\n")
        out.write("061014,Ridgeline Area Technology Center,C2,America/New_York,same,false\n")
        for org in orgs:
            out.write(f"{org},School {org},A1,America/New_York,same,false\n")
    with open(CATALOG, encoding="utf-8") as source, open(os.path.join(base, "config", "catalog.csv"), "w") as out:
        for number, line in enumerate(source):
            if number == 0 or line.startswith("061014,"):
                out.write(line)


def enrollment(org, index):
    """The enrollment example as sent by `org`, with fresh record ids and students (so no file is a
    duplicate and no enrollment is on file already)."""
    lines = open(EXAMPLE, encoding="utf-8").read().split("\n")
    out = [lines[0]]
    for number, line in enumerate(lines[1:]):
        if not line:
            continue
        record_id = "%08x-%04x-4000-8000-%012x" % (int(org), number, index)
        _, action, year, _, rest = line.split(",", 4)
        ssid = "%010d" % ((int(org) * 100_000 + index * 10 + number) % 10**10)
        out.append(",".join([record_id, action, year, ssid, rest.replace(",061010,061014,", f",{org},061014,")]))
    return "\n".join(out) + "\n"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def build():
    subprocess.run(["swift", "build", "-c", "release", "--product", "ktsx"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    os.environ["KTSX_CLOCK_START"] = CLOCK
    return os.path.join(ROOT, ".build", "release", "ktsx")


def measure_latency(ktsx, files, quiet, poll):
    """Drop-to-ack seconds of `files` files dropped one at a time into a running service."""
    base = tempfile.mkdtemp(prefix="ktsx-latency-")
    write_config(base, ["100001"], quiet, poll)
    subprocess.run([ktsx, "init", "--config", f"{base}/config"], check=True, stdout=subprocess.DEVNULL)
    service = subprocess.Popen([ktsx, "run", "--config", f"{base}/config", "--log-level", "error"])
    time.sleep(1)
    latencies = []
    for index in range(files):
        name = f"KTSX_ENR_100001_20251001T000000_{index:04d}.csv"
        path = f"{base}/drop/100001/inbound/{name}"
        with open(path + ".part", "w") as out:
            out.write(enrollment("100001", index))
        os.rename(path + ".part", path)
        dropped = time.perf_counter()
        ack = f"{base}/drop/100001/outbound/{name}.ack.csv"
        while not os.path.exists(ack):
            time.sleep(0.005)
        latencies.append(time.perf_counter() - dropped)
        time.sleep(0.2)
    service.send_signal(signal.SIGTERM)
    service.wait()
    shutil.rmtree(base)
    return latencies


def measure_backlog(ktsx, files, participants):
    """Seconds for `ktsx run --once` to drain `files` files from `participants` participants, and the
    counts of acknowledgements, accepted files and routed files."""
    base = tempfile.mkdtemp(prefix="ktsx-backlog-")
    orgs = [f"{200001 + i}" for i in range(participants)]
    write_config(base, orgs, "0s", "100ms")
    subprocess.run([ktsx, "init", "--config", f"{base}/config"], check=True, stdout=subprocess.DEVNULL)
    for index in range(files):
        org = orgs[index % len(orgs)]
        with open(f"{base}/drop/{org}/inbound/KTSX_ENR_{org}_20251001T000000_{index:05d}.csv", "w") as out:
            out.write(enrollment(org, index))
    # A backlog is files that came earlier: on disk, not still being written back while it drains.
    os.sync()
    started = time.perf_counter()
    subprocess.run([ktsx, "run", "--once", "--config", f"{base}/config", "--log-level", "error"], capture_output=True, text=True)
    drained = time.perf_counter() - started
    acks = sum(1 for org in orgs for name in os.listdir(f"{base}/drop/{org}/outbound") if ".ack." in name)
    accepted = sum(1 for org in orgs for name in os.listdir(f"{base}/drop/{org}/outbound")
                   if ".ack." in name and ",ACCEPTED," in open(f"{base}/drop/{org}/outbound/{name}").read())
    routed = len(os.listdir(f"{base}/drop/061014/outbound"))
    shutil.rmtree(base)
    return drained, acks, accepted, routed


def cpu_seconds(pid):
    """User plus system CPU seconds of a process so far (/proc/PID/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_idle(ktsx, participants, seconds, poll):
    """CPU the service spends watching `participants` empty folders: (CPU seconds per second of wall
    time, milliseconds per poll, resident MB)."""
    base = tempfile.mkdtemp(prefix="ktsx-idle-")
    write_config(base, [f"{400001 + i}" for i in range(participants)], "5s", poll)
    with open(f"{base}/config/ktsx.conf", "a") as conf:
        conf.write("review_address = off\n")
    subprocess.run([ktsx, "init", "--config", f"{base}/config"], check=True, stdout=subprocess.DEVNULL)
    service = subprocess.Popen([ktsx, "run", "--config", f"{base}/config", "--log-level", "error"])
    time.sleep(5)  # started, recovered, the nightly jobs of a fresh installation run
    before, started = cpu_seconds(service.pid), time.perf_counter()
    time.sleep(seconds)
    used, elapsed = cpu_seconds(service.pid) - before, time.perf_counter() - started
    status = open(f"/proc/{service.pid}/status").read()
    rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    service.send_signal(signal.SIGTERM)
    service.wait()
    shutil.rmtree(base)
    poll_seconds = float(poll[:-2]) / 1000 if poll.endswith("ms") else float(poll[:-1])
    return used / elapsed, 1000 * used / (elapsed / poll_seconds), rss_kb / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--latency-files", type=int, default=40)
    parser.add_argument("--quiet", default="1s")
    parser.add_argument("--poll", default="500ms")
    parser.add_argument("--idle-participants", type=int, default=500)
    parser.add_argument("--idle-seconds", type=int, default=30)
    args = parser.parse_args()
    ktsx = build()
    latencies = measure_latency(ktsx, args.latency_files, args.quiet, args.poll)
    drained, acks, accepted, routed = measure_backlog(ktsx, args.files, args.participants)
    idle_share, idle_ms, idle_rss = measure_idle(ktsx, args.idle_participants, args.idle_seconds, "2s")

    print(f"\nlatency ({args.latency_files} files, quiet period {args.quiet}, poll interval {args.poll}):")
    print(f"  p50 {statistics.median(latencies):.3f} s, p99 {percentile(latencies, 0.99):.3f} s, "
          f"max {max(latencies):.3f} s")
    print(f"backlog ({args.files} files from {args.participants} participants, quiet period 0):")
    print(f"  {drained:.1f} s, {args.files / drained:.0f} files/s, {acks} acknowledgements ({accepted} ACCEPTED), "
          f"{routed} files routed to the center")
    print(f"idle ({args.idle_participants} participants, poll interval 2s, {args.idle_seconds} s):")
    print(f"  {100 * idle_share:.2f} % of one core, {idle_ms:.1f} ms of CPU per poll, resident {idle_rss:.0f} MB")
    return 0 if acks == args.files else 1


if __name__ == "__main__":
    sys.exit(main())
