#!/usr/bin/env python3
"""The performance suite in one command: validation beside the reference tools on the same generated
files and on 1 GB files, then the service (drop-to-ack latency, also while a 1 GB file is judged and while
a 10,000-file backlog drains, a day's attendance fanned out, backlog drain, idle cost of watching 500
folders), printed as one table against the promises of DESIGN.md section 8.

Usage (from the package root; builds ktsx in release mode):
  python3 Benchmarks/suite.py [--mb 100] [--runs 3] [--files 10000] [--participants 200] [--idle-participants 500]
  python3 Benchmarks/suite.py --quick      # 20 MB files, 200 MB "large" files, 2,000-file backlog, 10 s idle

Each part can also be run alone: validation_bench.py, service_bench.py, load_run.py, fanout_bench.py.
"""

import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fanout_bench  # noqa: E402
import load_run  # noqa: E402
import service_bench  # noqa: E402
import validation_bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mb", type=int)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--latency-files", type=int, default=40)
    parser.add_argument("--idle-participants", type=int, default=500)
    parser.add_argument("--idle-seconds", type=int)
    parser.add_argument("--big-mb", type=int)
    args = parser.parse_args()
    big_mb = args.big_mb or (200 if args.quick else 1000)
    mb = args.mb or (20 if args.quick else 100)
    files = args.files or (2000 if args.quick else 10000)
    idle_seconds = args.idle_seconds or (10 if args.quick else 30)

    # The typed-read references (DESIGN.md section 8 compares CSV validation with pyarrow's typed read).
    for module in ["pyarrow", "polars"]:
        if subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode != 0:
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", module], check=True)
    rows, description = validation_bench.compare(mb, args.runs)
    by_name = {row[0]["name"]: row[0] for row in rows}
    xml, xmllint = by_name["ktsx validate (XML)"], by_name["xmllint --stream --schema"]
    csv, python_csv = by_name["ktsx validate (CSV)"], by_name["python3 csv.reader (parse only)"]
    frictionless = by_name["frictionless validate"]
    xml_parse = by_name["xmllint --stream --noout (parse only)"]
    arrow_one, arrow_all = by_name["pyarrow typed read, 1 thread"], by_name["pyarrow typed read, all threads"]

    ktsx = service_bench.build()
    quiet, poll = "1s", "500ms"
    latencies = service_bench.measure_latency(ktsx, args.latency_files, quiet, poll)
    drained, acks, accepted, routed = service_bench.measure_backlog(ktsx, files, args.participants)
    idle_share, idle_ms, idle_rss = service_bench.measure_idle(ktsx, args.idle_participants, idle_seconds, "2s")
    p50, p99 = statistics.median(latencies), service_bench.percentile(latencies, 0.99)

    # Large files: `ktsx validate`'s peak memory on them, small files' latency while one is judged (alone, and
    # with a 10,000-file backlog), and a day's attendance fanned out to 40 schools.
    big = {}
    for binding, generate in [("xml", validation_bench.generate_xml), ("csv", validation_bench.generate_csv)]:
        path = os.path.join(validation_bench.DATA, f"att-{big_mb}mb.{binding}")
        if not os.path.exists(path):
            generate(path, big_mb)
        big[binding] = validation_bench.run([ktsx, "validate", path])
    _, lane = load_run.main(["--files", "0", "--flood", "0", "--busy", "0", "--participants", "40", "--big-mb", str(big_mb),
                             "--probe-every", "0.25"])
    _, load = load_run.main(["--files", str(files), "--big-mb", str(big_mb)])
    fan = fanout_bench.main([])
    fan_p99 = service_bench.percentile(fan, 0.99)

    def verdict(ok):
        return "met" if ok else "**short**"

    xml_ratio = xmllint["seconds"] / xml["seconds"]
    xml_ceiling = xml_parse["seconds"] / xml["seconds"]
    arrow_one_ratio = arrow_one["seconds"] / csv["seconds"]
    arrow_all_ratio = arrow_all["seconds"] / csv["seconds"]
    frictionless_ratio = frictionless["seconds"] / csv["seconds"]
    python_ratio = python_csv["seconds"] / csv["seconds"]
    print(f"\n{description}\n")
    validation_bench.print_table(rows)
    print()
    print("| measure | ktsx | reference on the same input | ratio | DESIGN.md section 8 | |")
    print("|---|---|---|---|---|---|")
    print(f"| XML validation | {xml['mbps']:.1f} MB/s, {xml['rss']:.0f} MB peak | xmllint --stream --schema "
          f"{xmllint['mbps']:.1f} MB/s, {xmllint['rss']:.0f} MB | {xml_ratio:.2f}x | at least 2x | {verdict(xml_ratio >= 2)} |")
    print(f"| XML validation | (same run) | xmllint --stream --noout, parse only, {xml_parse['mbps']:.1f} MB/s | "
          f"{xml_ceiling:.2f}x | at least 0.5x | {verdict(xml_ceiling >= 0.5)} |")
    print(f"| CSV validation | {csv['mbps']:.1f} MB/s | pyarrow typed read, 1 thread, {arrow_one['mbps']:.1f} MB/s, "
          f"{arrow_one['rss']:.0f} MB | {arrow_one_ratio:.2f}x | at least 1x | {verdict(arrow_one_ratio >= 1)} |")
    print(f"| CSV validation | (same run) | pyarrow typed read, all threads, {arrow_all['mbps']:.1f} MB/s | "
          f"{arrow_all_ratio:.2f}x | at least 1x with both cores | {verdict(arrow_all_ratio >= 1)} |")
    for binding in ["xml", "csv"]:
        seconds, rss, _ = big[binding]
        print(f"| {big_mb} MB {binding.upper()} file, ktsx validate | {rss:.0f} MB peak, {seconds:.1f} s | - | - | under 64 MB peak | "
              f"{verdict(rss < 64)} |")
    print(f"| the service judging a {big_mb} MB file alone | {lane['peak_mb']:.0f} MB peak; acknowledged after "
          f"{lane['big_seconds']:.1f} s ({lane['big_verdict']}) | - | - | under 64 MB peak | {verdict(lane['peak_mb'] < 64)} |")
    print(f"| CSV validation | {csv['mbps']:.1f} MB/s, {csv['rss']:.0f} MB peak | frictionless validate "
          f"{frictionless['mbps']:.1f} MB/s, {frictionless['rss']:.0f} MB | {frictionless_ratio:.1f}x | at least 50x | "
          f"{verdict(frictionless_ratio >= 50)} |")
    print(f"| CSV validation | (same run) | python3 csv.reader, parse only, {python_csv['mbps']:.1f} MB/s | "
          f"{python_ratio:.2f}x | at least 2x | {verdict(python_ratio >= 2)} |")
    print(f"| drop-to-ack latency ({args.latency_files} files, quiet {quiet}, poll {poll}) | p50 {p50:.2f} s, "
          f"p99 {p99:.2f} s | - | - | within quiet + poll = 1.5 s | {verdict(p99 <= 1.5)} |")
    print(f"| drop-to-ack while a {big_mb} MB file is judged ({lane['probes']} small files) | p50 {lane['probe_p50']:.2f} s, "
          f"p99 {lane['probe_p99']:.2f} s | - | - | within quiet + poll = 1.5 s | {verdict(lane['probe_p99'] <= 1.5)} |")
    print(f"| drop-to-ack while a {big_mb} MB file is judged and {load['files'] - 1} files drain ({load['probes']} small files) | "
          f"p50 {load['probe_p50']:.2f} s, p99 {load['probe_p99']:.2f} s | - | - | within quiet + poll = 1.5 s | "
          f"{verdict(load['probe_p99'] <= 1.5)} |")
    print(f"| a day's attendance: 10 centers' files at once, each routed to 40 schools | p99 {fan_p99:.2f} s (last "
          f"{max(fan):.2f} s) | - | - | the last within 2 s | {verdict(max(fan) <= 2)} |")
    print(f"| backlog drain ({files} files, {args.participants} participants, every file judged, applied, routed) | "
          f"{files / drained:.0f} files/s ({acks} acks, {accepted} accepted, {routed} routed) | - | - | at least 300 files/s | "
          f"{verdict(files / drained >= 300)} |")
    print(f"| idle cost ({args.idle_participants} participants, poll 2 s) | {100 * idle_share:.2f} % of a core, "
          f"{idle_ms:.1f} ms CPU per poll, {idle_rss:.0f} MB resident | - | - | - | |")
    return 0 if acks == files and lane["lost"] == 0 and load["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
