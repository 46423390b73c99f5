#!/usr/bin/env python3
"""Load run: 200 participants drop 10,000 small files at once, one of them a flood, plus one 1 GB file;
`ktsx run` (the real service, release build) drains them while quiet participants keep dropping a file
every two seconds.

What it measures and checks:
  - drain: time from the drop to the last acknowledgement, files per second;
  - fairness: the drop-to-ack latency of the quiet participants' files (probes) while the backlog drains,
    beside the flood's own drain time: a flood must not keep another sender waiting;
  - memory: the service's peak resident set (VmHWM) and its resident set sampled through the run;
  - nothing lost or doubled: every dropped file has exactly one acknowledgement, inbound/ and the work
    area are empty at the end.

The participants: one high school floods (--flood files), --busy high schools drop the rest of --files
evenly, the others drop only probes; the center 061014 drops one attendance file of --big-mb megabytes
(made by Benchmarks/validation_bench.py's generator and kept in .build-bench-data/). Its ~4.7 million
records are over `max_records`, so it is hashed whole, read until the limit is passed and rejected.

Usage (from the package root):
  python3 Benchmarks/load_run.py [--files 10000] [--participants 200] [--flood 4000] [--busy 120] [--big-mb 1000]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from service_bench import CLOCK, enrollment, percentile, write_config  # noqa: E402
from validation_bench import DATA, generate_csv  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CENTER = "061014"


def memory_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class AckWatcher:
    """Polls every outbound/ folder and notes when each acknowledgement first appears."""

    def __init__(self, base, orgs):
        self.base, self.orgs = base, orgs
        self.seen = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.poll()
            time.sleep(0.05)

    def poll(self):
        now = time.perf_counter()
        for org in self.orgs:
            with os.scandir(f"{self.base}/drop/{org}/outbound") as entries:
                for entry in entries:
                    if ".ack." in entry.name and not entry.name.startswith("."):
                        self.seen.setdefault((org, entry.name), now)


def main(argv=None):
    """Runs the load; prints its report and returns (exit status, the figures)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--flood", type=int, default=4000)
    parser.add_argument("--busy", type=int, default=120)
    parser.add_argument("--big-mb", type=int, default=1000)
    parser.add_argument("--probe-every", type=float, default=2.0)
    args = parser.parse_args(argv)

    subprocess.run(["swift", "build", "-c", "release", "--product", "ktsx"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    ktsx = os.path.join(ROOT, ".build", "release", "ktsx")
    os.environ["KTSX_CLOCK_START"] = CLOCK
    big = None
    if args.big_mb > 0:
        os.makedirs(DATA, exist_ok=True)
        big = os.path.join(DATA, f"att-{args.big_mb}mb.csv")
        if not os.path.exists(big):
            print(f"generating {big} ...", flush=True)
            generate_csv(big, args.big_mb)

    os.makedirs(DATA, exist_ok=True)
    base = tempfile.mkdtemp(prefix="load-run-", dir=DATA)
    orgs = [f"{300001 + i}" for i in range(args.participants - 1)]
    flood, busy, quiet = orgs[0], orgs[1 : 1 + args.busy], orgs[1 + args.busy :]
    write_config(base, orgs, "1s", "500ms")
    with open(f"{base}/config/ktsx.conf", "a") as conf:
        conf.write("max_file_size = 2GB\nreview_address = off\n")
    subprocess.run([ktsx, "init", "--config", f"{base}/config"], check=True, stdout=subprocess.DEVNULL)

    # Everything is written beside the tree first, then renamed into inbound/ at once.
    staging = f"{base}/staging"
    os.makedirs(staging)
    planned = []  # (org, name)
    for index in range(args.flood):
        planned.append((flood, f"KTSX_ENR_{flood}_20251001T000000_{index:05d}.csv"))
    rest = args.files - args.flood
    for index in range(rest):
        org = busy[index % len(busy)]
        planned.append((org, f"KTSX_ENR_{org}_20251001T000000_{index:05d}.csv"))
    for number, (org, name) in enumerate(planned):
        with open(f"{staging}/{org}-{name}", "w") as out:
            out.write(enrollment(org, number))
    big_name = f"KTSX_ATT_{CENTER}_20251002T020000_big.csv"
    if big:
        # A copy, not a link: the service refuses a file with a second name (hard-link) unread.
        shutil.copy(big, f"{staging}/{CENTER}-{big_name}")

    service = subprocess.Popen([ktsx, "run", "--config", f"{base}/config", "--log-level", "error"])
    time.sleep(1.5)
    watcher = AckWatcher(base, [CENTER] + orgs)
    watcher.thread.start()
    dropped_at = {}
    start = time.perf_counter()
    for org, name in planned:
        os.rename(f"{staging}/{org}-{name}", f"{base}/drop/{org}/inbound/{name}")
        dropped_at[(org, name)] = start
    if big:
        os.rename(f"{staging}/{CENTER}-{big_name}", f"{base}/drop/{CENTER}/inbound/{big_name}")
        dropped_at[(CENTER, big_name)] = start
    drop_seconds = time.perf_counter() - start

    # Probes from the quiet participants until the backlog is drained; memory sampled meanwhile.
    expected = set(dropped_at)
    probes = []
    rss_samples = []
    probe_index = 0
    next_probe = time.perf_counter()
    while True:
        now = time.perf_counter()
        rss_samples.append(memory_kb(service.pid, "VmRSS"))
        backlog_acks = sum(1 for (org, name) in expected if (org, name + ".ack.csv") in watcher.seen)
        if backlog_acks == len(expected):
            break
        if now - start > 1800 or service.poll() is not None:
            print("the backlog did not drain (or the service stopped)", file=sys.stderr)
            break
        if now >= next_probe and quiet:
            org = quiet[probe_index % len(quiet)]
            name = f"KTSX_ENR_{org}_20251001T000000_probe{probe_index:04d}.csv"
            path = f"{base}/drop/{org}/inbound/{name}"
            with open(path + ".part", "w") as out:
                out.write(enrollment(org, 100_000 + probe_index))
            os.rename(path + ".part", path)
            dropped_at[(org, name)] = time.perf_counter()
            probes.append((org, name))
            probe_index += 1
            next_probe += args.probe_every
        time.sleep(0.1)
    # The last probes' acknowledgements.
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and any((o, n + ".ack.csv") not in watcher.seen for o, n in probes):
        time.sleep(0.1)
    peak_kb = memory_kb(service.pid, "VmHWM")
    service.terminate()
    service.wait()
    watcher.stop.set()
    watcher.thread.join()
    watcher.poll()

    def ack_time(key):
        seen = watcher.seen.get((key[0], key[1] + ".ack.csv"))
        return None if seen is None else seen - dropped_at[key]

    backlog_times = [ack_time(key) for key in expected]
    missing = [key for key in dropped_at if ack_time(key) is None]
    drained = max(t for t in backlog_times if t is not None)
    flood_done = max((ack_time(key) for key in expected if key[0] == flood), default=0.0)
    busy_done = {org: 0.0 for org in busy}
    for key in expected:
        if key[0] in busy_done:
            busy_done[key[0]] = max(busy_done[key[0]], ack_time(key) or 0)
    probe_latencies = [ack_time(key) for key in probes if ack_time(key) is not None]
    big_latency = ack_time((CENTER, big_name)) if big else None

    # Exactly one acknowledgement per file, nothing left behind.
    ack_counts = {}
    for org in [CENTER] + orgs:
        for name in os.listdir(f"{base}/drop/{org}/outbound"):
            if ".ack." in name:
                ack_counts[org] = ack_counts.get(org, 0) + 1
    dropped_counts = {}
    for org, _ in dropped_at:
        dropped_counts[org] = dropped_counts.get(org, 0) + 1
    doubled = {org: n for org, n in ack_counts.items() if n != dropped_counts.get(org, 0)}
    left_inbound = sum(len(os.listdir(f"{base}/drop/{org}/inbound")) for org in [CENTER] + orgs)
    left_work = len(os.listdir(f"{base}/state/work")) if os.path.isdir(f"{base}/state/work") else 0
    big_verdict = ""
    if big:
        errors = f"{base}/drop/{CENTER}/outbound/{big_name}.errors.csv"
        big_verdict = "too-many-records" if os.path.exists(errors) and ",too-many-records," in open(errors).read() else "?"
    shutil.rmtree(base)

    print(f"\nload run: {len(expected)} files dropped at once in {drop_seconds:.1f} s by {args.participants} participants "
          f"(one flood of {args.flood}, {args.files - args.flood} from {len(busy)} schools"
          + (f", one {args.big_mb} MB attendance file from {CENTER}" if big else "") + f"), {len(probes)} probes from "
          f"{len(quiet)} quiet schools every {args.probe_every:g} s")
    print(f"  backlog drained in {drained:.1f} s: {len(expected) / drained:.0f} files/s")
    if busy_done:
        print(f"  flood's last ack {flood_done:.1f} s; busy schools' last ack: median {statistics.median(busy_done.values()):.1f} s, "
              f"max {max(busy_done.values()):.1f} s")
    if probe_latencies:
        print(f"  probes (quiet schools, dropped during the drain): p50 {statistics.median(probe_latencies):.2f} s, "
              f"p99 {percentile(probe_latencies, 0.99):.2f} s, max {max(probe_latencies):.2f} s")
    if big:
        print(f"  {args.big_mb} MB file: acknowledged {big_latency:.1f} s after the drop, verdict {big_verdict}")
    print(f"  service memory: peak {peak_kb / 1024:.0f} MB (VmHWM); resident set sampled: median "
          f"{statistics.median(rss_samples) / 1024:.0f} MB, max {max(rss_samples) / 1024:.0f} MB")
    print(f"  files without an acknowledgement: {len(missing)}; participants with acks != files dropped: {len(doubled)}; "
          f"left in inbound/: {left_inbound}; left in the work area: {left_work}")
    figures = {
        "files": len(expected), "drain_rate": len(expected) / drained, "probe_p50": statistics.median(probe_latencies or [0]),
        "probe_p99": percentile(probe_latencies, 0.99) if probe_latencies else None, "probes": len(probe_latencies),
        "big_seconds": big_latency, "big_verdict": big_verdict, "peak_mb": peak_kb / 1024,
        "lost": len(missing) + len(doubled) + left_inbound + left_work,
    }
    return (0 if not missing and not doubled and left_inbound == 0 and left_work == 0 else 1), figures


if __name__ == "__main__":
    sys.exit(main()[0])
