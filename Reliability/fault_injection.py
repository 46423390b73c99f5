#!/usr/bin/env python3
"""Fault injection against the real `ktsx run`: each fault is injected while the service runs with files
arriving, then removed; the run checks that the service said what was wrong, kept going where it could
(the other participants' files were acknowledged meanwhile), stopped without damage where it could not,
and that in the end every file has exactly one acknowledgement and nothing is left in inbound/ or the work
area. Needs root (it mounts small tmpfs file systems and read-only bind mounts) and sqlite3.

  sudo python3 Reliability/fault_injection.py [--ktsx PATH]        (builds ktsx in debug mode by default)

Faults: a full outbound/ (tmpfs), a read-only outbound/, a participant's inbound/ refused (read-only), the
ledger locked by another process, the ledger file deleted under the service, a full disk under the state
directory and drop tree together, a clock that jumps forward past nightly jobs and back.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
from service_bench import enrollment  # noqa: E402  (the enrollment example with fresh ids per file)

CATALOG = os.path.join(ROOT, "Fixtures", "reference", "catalog.csv")
CLOCK = "2026-02-20T15:00:00Z"
SCHOOLS = ["100001", "100002"]


class Tree:
    def __init__(self, ktsx, base, clock=CLOCK):
        self.ktsx, self.base, self.clock = ktsx, base, clock
        self.config = os.path.join(base, "config")
        os.makedirs(self.config)
        with open(os.path.join(self.config, "ktsx.conf"), "w") as out:
            out.write("drop_root = ../fs/drop\nstate_dir = ../fs/state\nquiet_period = 200ms\npoll_interval = 200ms\n"
                      "review_address = off\n")
        with open(os.path.join(self.config, "participants.csv"), "w") as out:
            out.write("orgId,name,classification,timeZone,outputFormat,doneMarker\n")
            out.write("061014,Ridgeline Area Technology Center,C2,America/New_York,same,false\n")
            for org in SCHOOLS:
                out.write(f"{org},School {org},A1,America/New_York,same,false\n")
        with open(CATALOG, encoding="utf-8") as source, open(os.path.join(self.config, "catalog.csv"), "w") as out:
            for number, line in enumerate(source):
                if number == 0 or line.startswith("061014,"):
                    out.write(line)
        self.dropped = []
        self.counter = 0
        self.service = None
        self.log = os.path.join(base, "service.log")

    def env(self):
        return dict(os.environ, KTSX_CLOCK_START=self.clock)

    def init(self):
        subprocess.run([self.ktsx, "init", "--config", self.config], check=True, stdout=subprocess.DEVNULL, env=self.env())

    def start(self):
        self.service = subprocess.Popen([self.ktsx, "run", "--config", self.config, "--log-level", "info"],
                                        stdout=subprocess.DEVNULL, stderr=open(self.log, "a"), env=self.env())

    def stop(self):
        if self.service and self.service.poll() is None:
            self.service.send_signal(signal.SIGTERM)
            self.service.wait(timeout=60)

    def drop(self, org, count=3):
        for _ in range(count):
            self.counter += 1
            name = f"KTSX_ENR_{org}_20251001T000000_{self.counter:04d}.csv"
            path = os.path.join(self.base, "fs", "drop", org, "inbound", name)
            with open(path + ".part", "w") as out:
                out.write(enrollment(org, self.counter))
            os.rename(path + ".part", path)
            self.dropped.append((org, name))

    def outbound(self, org):
        return os.path.join(self.base, "fs", "drop", org, "outbound")

    def acks(self, org):
        try:
            return [n for n in os.listdir(self.outbound(org)) if ".ack." in n and not n.startswith(".")]
        except OSError:
            return []

    def acknowledged(self, org, name):
        return any(n == f"{name}.ack.csv" for n in self.acks(org))

    def wait_for(self, predicate, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if predicate():
                return True
            time.sleep(0.2)
        return predicate()

    def log_text(self):
        try:
            return open(self.log, encoding="utf-8", errors="replace").read()
        except OSError:
            return ""

    def all_acknowledged(self, seconds):
        return self.wait_for(lambda: all(self.acknowledged(o, n) for o, n in self.dropped), seconds)

    def settle(self, seconds):
        """Waits for every file's acknowledgement, stops the service; returns (all came, what is wrong)."""
        healed = self.all_acknowledged(seconds)
        self.stop()
        return healed, self.verdict()

    @staticmethod
    def describe(problems):
        return "; ".join(problems) if problems else "one ack per file, nothing left behind"

    def verdict(self):
        """Every dropped file: exactly one acknowledgement naming it; inbound and work empty."""
        problems = []
        for org, name in self.dropped:
            naming = [n for n in self.acks(org) if name in open(os.path.join(self.outbound(org), n), errors="replace").read()]
            if len(naming) != 1:
                problems.append(f"{name}: {len(naming)} acknowledgements")
        for org in SCHOOLS:
            left = [n for n in os.listdir(os.path.join(self.base, "fs", "drop", org, "inbound")) if not n.startswith(".")]
            if left:
                problems.append(f"{org}/inbound still holds {len(left)} files")
        work = os.path.join(self.base, "fs", "state", "work")
        if os.path.isdir(work) and os.listdir(work):
            problems.append(f"work area holds {os.listdir(work)}")
        return problems


def mount_tmpfs(path, size):
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], check=True)


def umount(path):
    subprocess.run(["umount", "-l", path], check=False)


def fill(directory):
    """Fills the file system of `directory` to the last byte; returns the filler's path."""
    filler = os.path.join(directory, ".filler")
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(descriptor)
    return filler


# Each scenario returns (what was injected, what happened, passed).

def broken_outbound(tree, size, break_it, mend, fault, error, mended):
    """One school's outbound/ on a small tmpfs, broken by `break_it` (given the folder) while its files and
    another school's arrive, then mended: the other school is served meanwhile, the log names `error`,
    and every file is acknowledged once after `mend`."""
    org = SCHOOLS[0]
    outbound = tree.outbound(org)
    mount_tmpfs(outbound, size)
    try:
        state = break_it(outbound)
        tree.start()
        tree.drop(org)
        tree.drop(SCHOOLS[1])
        others = tree.wait_for(lambda: all(tree.acknowledged(o, n) for o, n in tree.dropped if o == SCHOOLS[1]), 20)
        time.sleep(2)
        stayed_up = tree.service.poll() is None
        said = error in tree.log_text()
        mend(outbound, state)
        healed, problems = tree.settle(120)
        return (fault,
                f"other school acknowledged meanwhile: {others}; service up: {stayed_up}; log names '{error}': {said}; "
                f"all acknowledged {mended}: {healed}; {tree.describe(problems)}",
                others and stayed_up and said and healed and not problems)
    finally:
        tree.stop()
        umount(outbound)


def outbound_full(tree):
    return broken_outbound(
        tree, "64k", break_it=fill, mend=lambda _, filler: os.remove(filler),
        fault="outbound/ of one school full (64 KB tmpfs, filled)", error="No space left on device", mended="after space returned")


def outbound_read_only(tree):
    def remount(mode):
        return lambda outbound, *_: subprocess.run(["mount", "-o", f"remount,{mode}", outbound], check=True)
    return broken_outbound(
        tree, "1m", break_it=remount("ro"), mend=remount("rw"),
        fault="outbound/ of one school read-only", error="Read-only file system", mended="once writable")


def inbound_refused(tree):
    org = SCHOOLS[0]
    inbound = os.path.join(tree.base, "fs", "drop", org, "inbound")
    tree.drop(org)
    subprocess.run(["mount", "--bind", inbound, inbound], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", inbound], check=True)
        tree.start()
        tree.drop(SCHOOLS[1])
        others = tree.wait_for(lambda: all(tree.acknowledged(o, n) for o, n in tree.dropped if o == SCHOOLS[1]), 20)
        stayed_up = tree.service.poll() is None
        # The bind mount is another file system: the claim's rename fails with EXDEV (or EROFS).
        said = "Read-only file system" in tree.log_text() or "cross-device link" in tree.log_text()
        # Said once per file (and again each minute), not at every pass.
        repeats = sum(1 for line in tree.log_text().splitlines() if " error " in line and "could not process a file" in line)
    finally:
        umount(inbound)
    healed, problems = tree.settle(60)
    return ("one school's inbound/ refused (read-only bind mount: files cannot be claimed)",
            f"other school acknowledged meanwhile: {others}; service up: {stayed_up}; log names the refusal: {said} "
            f"({repeats} error lines for 3 files); all acknowledged once released: {healed}; {tree.describe(problems)}",
            others and stayed_up and said and repeats <= 6 and healed and not problems)


def ledger_locked(tree):
    tree.start()
    time.sleep(1)
    ledger = os.path.join(tree.base, "fs", "state", "ledger.sqlite")
    locker = subprocess.Popen(["sqlite3", ledger], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    locker.stdin.write("PRAGMA busy_timeout=5000; BEGIN EXCLUSIVE; SELECT count(*) FROM receipt;\n")
    locker.stdin.flush()
    time.sleep(1)
    tree.drop(SCHOOLS[0])
    tree.drop(SCHOOLS[1])
    time.sleep(20)
    stayed_up = tree.service.poll() is None
    said = "database is locked" in tree.log_text()
    locker.stdin.write("ROLLBACK;\n.quit\n")
    locker.stdin.flush()
    locker.wait(timeout=10)
    healed, problems = tree.settle(150)
    return ("the ledger locked by another process for 20 s (sqlite3 BEGIN EXCLUSIVE)",
            f"service up: {stayed_up}; log names the lock: {said}; all acknowledged after the lock: {healed}; "
            f"{tree.describe(problems)}", stayed_up and said and healed and not problems)


def ledger_deleted(tree):
    tree.start()
    tree.drop(SCHOOLS[0])
    first = tree.all_acknowledged(20)
    ledger = os.path.join(tree.base, "fs", "state", "ledger.sqlite")
    for suffix in ["", "-wal", "-shm"]:
        if os.path.exists(ledger + suffix):
            os.remove(ledger + suffix)
    tree.drop(SCHOOLS[1])
    stopped = tree.wait_for(lambda: tree.service.poll() is not None, 20)
    said = "ledger" in tree.log_text() and "removed or replaced" in tree.log_text()
    untouched = all(not tree.acknowledged(o, n) for o, n in tree.dropped if o == SCHOOLS[1])
    tree.start()  # a new ledger: the files waiting are judged
    healed, problems = tree.settle(30)
    return ("the ledger file deleted under the running service",
            f"files before acknowledged: {first}; service stopped: {stopped}; log says why: {said}; "
            f"nothing judged without a ledger: {untouched}; after a restart all acknowledged: {healed}; "
            f"{tree.describe(problems)}",
            first and stopped and said and untouched and healed and not problems)


def state_full(tree):
    """The drop tree and state directory on one small file system, filled up."""
    state = os.path.join(tree.base, "fs", "state")
    tree.start()
    time.sleep(2)
    filler = fill(state)
    # The participant's upload itself needs room: make a little, drop, fill the rest.
    os.truncate(filler, max(0, os.path.getsize(filler) - 64 * 1024))
    tree.drop(SCHOOLS[0], count=2)
    second = fill(os.path.join(tree.base, "fs", "drop"))
    time.sleep(10)
    stayed_up = tree.service.poll() is None
    said = "disk is full" in tree.log_text() or "No space left on device" in tree.log_text()
    os.remove(filler)
    os.remove(second)

    healed, problems = tree.settle(150)
    return ("the disk under the drop tree and the state directory full (4 MB tmpfs, filled)",
            f"service up: {stayed_up}; log names the full disk: {said}; all acknowledged after space returned: {healed}; "
            f"{tree.describe(problems)}", stayed_up and said and healed and not problems)


def clock_jumps(tree):
    """A run on a clock two days ahead, then one back at the start: each nightly job once per night."""
    tree.drop(SCHOOLS[0])
    runs = []
    for clock in ["2026-02-20T15:00:00Z", "2026-02-22T15:00:00Z", "2026-02-20T15:30:00Z", "2026-02-22T15:30:00Z"]:
        tree.clock = clock
        subprocess.run([tree.ktsx, "run", "--once", "--config", tree.config, "--log-level", "error"], check=True,
                       stdout=subprocess.DEVNULL, env=tree.env())
    out = subprocess.run(["sqlite3", os.path.join(tree.base, "fs", "state", "ledger.sqlite"),
                          "SELECT job, run_key, count(*) FROM job_run GROUP BY job, run_key HAVING count(*) > 1"],
                         capture_output=True, text=True)
    nights = subprocess.run(["sqlite3", os.path.join(tree.base, "fs", "state", "ledger.sqlite"),
                             "SELECT count(*) FROM job_run WHERE run_key LIKE 'night:%'"], capture_output=True, text=True)
    problems = tree.verdict()
    twice = out.stdout.strip()
    return ("the clock jumps two days forward, back, and forward again (run --once each time)",
            f"job runs recorded twice: {twice or 'none'}; night markers: {nights.stdout.strip()}; "
            f"{tree.describe(problems)}", not twice and not problems)


SCENARIOS = [outbound_full, outbound_read_only, inbound_refused, ledger_locked, ledger_deleted, state_full, clock_jumps]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ktsx")
    parser.add_argument("--only")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("fault injection mounts file systems: run it as root", file=sys.stderr)
        return 2
    ktsx = args.ktsx
    if not ktsx:
        subprocess.run(["swift", "build", "--product", "ktsx"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        ktsx = os.path.join(ROOT, ".build", "debug", "ktsx")
    results = []
    for scenario in SCENARIOS:
        if args.only and scenario.__name__ != args.only:
            continue
        base = tempfile.mkdtemp(prefix=f"ktsx-fault-{scenario.__name__}-")
        fs = os.path.join(base, "fs")
        os.makedirs(fs)
        if scenario is state_full:
            mount_tmpfs(fs, "4m")
        try:
            tree = Tree(ktsx, base)
            tree.init()
            started = time.time()
            fault, outcome, passed = scenario(tree)
            results.append((scenario.__name__, fault, outcome, passed, time.time() - started))
            print(f"{'PASS' if passed else 'FAIL'}  {fault}\n      {outcome}", flush=True)
            if not passed:
                notable = [line for line in tree.log_text().splitlines() if " error " in line or " critical " in line or " warning " in line]
                print("      log (errors):\n" + "\n".join("        " + line[:300] for line in notable[-6:]))
        finally:
            if scenario is state_full:
                umount(fs)
            shutil.rmtree(base, ignore_errors=True)
    failed = [r for r in results if not r[3]]
    print(f"\n{len(results) - len(failed)} of {len(results)} faults handled")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
