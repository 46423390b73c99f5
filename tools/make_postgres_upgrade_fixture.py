#!/usr/bin/env python3
"""Makes the PostgreSQL upgrade fixture: the golden scenario's week (Fixtures/scenario) played by a given
ktsx binary on a PostgreSQL ledger in schema `ktsx_fixture`, dumped as plain SQL. Run it with the release
before a migration, so the upgrade test opens a ledger that release really made.

Usage (from the package root; PostgreSQL from scripts/postgres.sh):
  python3 tools/make_postgres_upgrade_fixture.py KTSX_BINARY POSTGRES_URL OUTPUT.sql
"""

import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "Fixtures", "scenario")
SCHEMA = "ktsx_fixture"


def main():
    ktsx, url, output = sys.argv[1:4]
    server = url.split("?")[0]
    subprocess.run(["psql", server, "-qc", f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"], check=True)
    base = tempfile.mkdtemp(prefix="ktsx-fixture-")
    try:
        shutil.copytree(os.path.join(SCENARIO, "config"), os.path.join(base, "config"))
        with open(os.path.join(base, "config", "ktsx.conf"), "w") as conf:
            conf.write(f"drop_root = ../drop\nstate_dir = ../state\nreview_address = off\nledger = {url}&schema={SCHEMA}\n")
        config = ["--config", os.path.join(base, "config")]
        subprocess.run([ktsx, "init", *config], check=True, stdout=subprocess.DEVNULL)
        for line in open(os.path.join(SCENARIO, "steps.tsv"), encoding="utf-8"):
            if line.startswith("#") or not line.strip():
                continue
            clock, action, *args = line.rstrip("\n").split("\t")
            env = dict(os.environ, KTSX_CLOCK_START=clock)
            if action == "drop":
                org, name = args
                shutil.copyfile(os.path.join(SCENARIO, "drops", name), os.path.join(base, "drop", org, "inbound", name))
            elif action == "run":
                subprocess.run([ktsx, "run", "--once", "--max-wait", "30", *config], env=env, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            else:
                subprocess.run([ktsx, *args, *config], env=env, check=True, stdout=subprocess.DEVNULL)
        dump = subprocess.run(["pg_dump", "--schema", SCHEMA, "--no-owner", "--no-privileges", server], check=True,
                              capture_output=True, text=True).stdout
        with open(output, "w", encoding="utf-8") as out:
            out.write(dump)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"wrote {output}: the scenario's week on PostgreSQL, schema {SCHEMA}")


if __name__ == "__main__":
    main()
