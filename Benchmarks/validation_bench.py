#!/usr/bin/env python3
"""Validation benchmark: `ktsx validate` beside the reference tools on the same generated files.

Generates an attendance file of about --mb megabytes in each binding (records taken from the valid
fixtures, repeated with fresh record ids), then runs every command once a round for --runs rounds (so
the machine's drift falls on every tool alike) and prints the median throughput (MB/s), the
peak resident memory of each run, and ratios against the references:

  XML: ktsx validate            vs  xmllint --stream --schema Schemas/ATT.xsd --noout
                                    xmllint --stream --noout (libxml2's parse alone: the ceiling of any
                                    libxml2-based validator)
  CSV: ktsx validate            vs  frictionless validate --schema Schemas/ATT.schema.json
                                    python3 csv.reader (parse only, no checks)
                                    pyarrow.csv and polars reading into typed columns (typed_read.py;
                                    skipped when the module is not installed)

Usage (from the package root; builds ktsx in release mode first):
  python3 Benchmarks/validation_bench.py [--mb 100] [--runs 3] [--skip-frictionless]
Numbers and the command that produced them go to BENCHMARKS.md.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, ".build-bench-data")
XML_FIXTURE = "Fixtures/valid/KTSX_ATT_165901_20260211T020000_0001.xml"
CSV_FIXTURE = "Fixtures/valid/KTSX_ATT_061014_20251002T020000_0001.csv"


def record_id(counter):
    return str(uuid.UUID(int=(0x5A17 << 112) | counter))


def generate_xml(path, megabytes):
    text = open(os.path.join(ROOT, XML_FIXTURE), encoding="utf-8").read()
    head, rest = text.split("</Header>\n", 1)
    body = rest[: rest.rindex("</KtsxAttendanceFile>")]
    records = re.findall(r"  <Attendance>.*?</Attendance>\n", body, flags=re.S)
    target = megabytes * 1_000_000
    chunks, size, count = [], 0, 0
    while size < target:
        for record in records:
            record = re.sub(r"<RecordId>[^<]*</RecordId>", f"<RecordId>{record_id(count)}</RecordId>", record)
            chunks.append(record)
            size += len(record)
            count += 1
    head = re.sub(r"<RecordCount>\d+</RecordCount>", f"<RecordCount>{count}</RecordCount>", head)
    with open(path, "w", encoding="utf-8") as out:
        out.write(head + "</Header>\n" + "".join(chunks) + "</KtsxAttendanceFile>\n")
    return count


def generate_csv(path, megabytes):
    lines = open(os.path.join(ROOT, CSV_FIXTURE), encoding="utf-8", newline="").read().split("\n")
    header, rows = lines[0], [line for line in lines[1:] if line and line[0] != '"' and line.count('"') == 0]
    target = megabytes * 1_000_000
    out_rows, size, count = [], 0, 0
    while size < target:
        for row in rows:
            row = record_id(count) + row[row.index(","):]
            out_rows.append(row)
            size += len(row) + 1
            count += 1
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(header + "\n" + "\n".join(out_rows) + "\n")
    return count


def run(command):
    """Runs `command` under /usr/bin/time; returns (seconds, peak RSS in MB, exit status).

    (The peak is measured by /usr/bin/time in the child: rusage of a child forked from this Python
    process would count the pages it inherited.)"""
    report = os.path.join(DATA, "time.txt")
    started = time.perf_counter()
    status = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report] + command, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT).returncode
    elapsed = time.perf_counter() - started
    kilobytes = int(open(report).read().strip().splitlines()[-1])
    return elapsed, kilobytes / 1024, status


def summarize(name, command, size_mb, results):
    """The median time and the largest peak of one command's runs."""
    seconds = statistics.median(r[0] for r in results)
    rss = max(r[1] for r in results)
    statuses = sorted({r[2] for r in results})
    return {"name": name, "seconds": seconds, "mbps": size_mb / seconds, "rss": rss, "status": statuses,
            "command": " ".join(command)}


def measure(name, command, size_mb, runs):
    return summarize(name, command, size_mb, [run(command) for _ in range(runs)])


def measure_interleaved(commands, runs):
    """Runs every (name, command, size) once per round, `runs` rounds: a machine that slows down or speeds
    up during the benchmark (these vary by up to 1.8x) then shifts every tool alike, and the ratios of one
    run stay fair. Returns the summaries by name."""
    results = {name: [] for name, _, _ in commands}
    for _ in range(runs):
        for name, command, _ in commands:
            results[name].append(run(command))
    return {name: summarize(name, command, size_mb, results[name]) for name, command, size_mb in commands}


def compare(mb, runs, skip_frictionless=False):
    """Builds ktsx, generates the files (once) and measures every command; returns the table's rows as
    (result, ktsx's result it is compared with, or None) and the file sizes."""
    subprocess.run(["swift", "build", "-c", "release", "--product", "ktsx"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    ktsx = os.path.join(ROOT, ".build", "release", "ktsx")
    os.makedirs(DATA, exist_ok=True)
    xml_path = os.path.join(DATA, f"att-{mb}mb.xml")
    csv_path = os.path.join(DATA, f"att-{mb}mb.csv")
    if not os.path.exists(xml_path):
        generate_xml(xml_path, mb)
    if not os.path.exists(csv_path):
        generate_csv(csv_path, mb)
    xml_mb = os.path.getsize(xml_path) / 1_000_000
    csv_mb = os.path.getsize(csv_path) / 1_000_000

    typed = os.path.join(ROOT, "Benchmarks", "typed_read.py")
    xml_commands = [
        ("ktsx validate (XML)", [ktsx, "validate", xml_path]),
        ("xmllint --stream --schema", ["xmllint", "--stream", "--schema", "Schemas/ATT.xsd", "--noout", xml_path]),
        ("xmllint --stream --noout (parse only)", ["xmllint", "--stream", "--noout", xml_path]),
    ]
    csv_commands = [
        ("ktsx validate (CSV)", [ktsx, "validate", csv_path]),
        ("python3 csv.reader (parse only)",
         [sys.executable, "-c", "import csv,sys\nfor _ in csv.reader(open(sys.argv[1], newline='')): pass", csv_path]),
    ]
    for tool, threads in [("pyarrow", "1"), ("pyarrow", "all"), ("polars", "1")]:
        if subprocess.run([sys.executable, "-c", f"import {tool}"], capture_output=True).returncode != 0:
            continue
        label = f"{tool} typed read, {'1 thread' if threads == '1' else 'all threads'}"
        csv_commands.append((label, [sys.executable, typed, tool, threads, "Schemas/ATT.schema.json", csv_path]))
    measured = measure_interleaved([(name, command, xml_mb) for name, command in xml_commands]
                                   + [(name, command, csv_mb) for name, command in csv_commands], runs)
    xml_ours, csv_ours = measured["ktsx validate (XML)"], measured["ktsx validate (CSV)"]
    rows = [(measured[name], None if name == xml_ours["name"] else xml_ours) for name, _ in xml_commands]
    rows += [(measured[name], None if name == csv_ours["name"] else csv_ours) for name, _ in csv_commands]
    if not skip_frictionless:
        frictionless = measure("frictionless validate", ["frictionless", "validate", "--trusted", "--schema",
                                                         "Schemas/ATT.schema.json", csv_path], csv_mb, 1)
        rows.append((frictionless, csv_ours))
    description = (f"files: {os.path.relpath(xml_path, ROOT)} ({xml_mb:.1f} MB), {os.path.relpath(csv_path, ROOT)} "
                   f"({csv_mb:.1f} MB); median of {runs} rounds, every command once a round (frictionless: 1 run)")
    return rows, description


def print_table(rows):
    print("| command | seconds | MB/s | peak RSS MB | exit | ktsx speed-up |")
    print("|---|---|---|---|---|---|")
    for result, ours in rows:
        ratio = f"{result['seconds'] / ours['seconds']:.2f}x" if ours else "-"
        print(f"| {result['name']} | {result['seconds']:.2f} | {result['mbps']:.1f} | {result['rss']:.1f} | "
              f"{','.join(map(str, result['status']))} | {ratio} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-frictionless", action="store_true")
    args = parser.parse_args()
    rows, description = compare(args.mb, args.runs, args.skip_frictionless)
    print(f"\n{description}\n")
    print_table(rows)


if __name__ == "__main__":
    main()
