#!/usr/bin/env python3
"""Writes Schemas/examples/: a short example file of every type in each binding, for the specification
(Schemas/README.md). Each is the header and first three records of the matching valid fixture, so the
examples are as valid as the fixtures (the test suite validates them too).

Usage: python3 tools/gen_examples.py   (from the package root, after tools/gen_fixtures.py)
"""

import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from schema_fields import EXCHANGE_TYPES  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Schemas", "examples")
RECORDS = 3


def xml_example(text, record):
    text = text.lstrip("\ufeff")
    head, rest = text.split(f"  <{record}>", 1)
    records = re.findall(rf"  <{record}>.*?</{record}>\n", f"  <{record}>" + rest, flags=re.S)[:RECORDS]
    root_end = re.search(r"</Ktsx\w+File>\n?$", text).group(0)
    head = re.sub(r"<RecordCount>\d+</RecordCount>", f"<RecordCount>{len(records)}</RecordCount>", head)
    return head + "".join(records) + root_end


def csv_example(text):
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    lines, records, current, quotes = [], 0, "", 0
    for line in text.split("\n"):
        current = line if not current else current + "\n" + line
        quotes += line.count('"')
        if quotes % 2 == 0:
            lines.append(current)
            current, quotes = "", 0
            if len(lines) == RECORDS + 1:
                break
    return "\n".join(lines) + "\n"


def main():
    os.makedirs(OUT, exist_ok=True)
    # Every type partners send (those with an exchange descriptor), from its first valid fixture.
    records = {exchange.code: exchange.record for exchange in EXCHANGE_TYPES if exchange.exchange}
    written = 0
    for code, record in records.items():
        for extension in ("xml", "csv"):
            source = sorted(glob.glob(os.path.join(ROOT, "Fixtures", "valid", f"KTSX_{code}_*.{extension}")))[0]
            text = open(source, encoding="utf-8", newline="").read()
            example = xml_example(text, record) if extension == "xml" else csv_example(text)
            with open(os.path.join(OUT, f"{code}.example.{extension}"), "w", encoding="utf-8", newline="") as out:
                out.write(example)
            written += 1
    print(f"wrote {written} examples to Schemas/examples/")


if __name__ == "__main__":
    main()
