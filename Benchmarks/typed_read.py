#!/usr/bin/env python3
"""Reads a CSV file into typed columns with pyarrow or polars, every column converted to its Table Schema
type (string, integer as int64, number as float64, date, time, datetime with its offset), as a data
engineer would load the file instead of validating it: the reference `validation_bench.py` compares
`ktsx validate` with. Nothing is checked beyond what the conversion itself refuses.

Usage: python3 Benchmarks/typed_read.py pyarrow|polars 1|all SCHEMA.json FILE.csv
"""

import json
import os
import sys


def main():
    tool, threads, schema_path, csv_path = sys.argv[1:5]
    fields = [(field["name"], field["type"]) for field in json.load(open(schema_path, encoding="utf-8"))["fields"]]
    if tool == "pyarrow":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if threads == "1":
            pa.set_cpu_count(1)
            pa.set_io_thread_count(1)
        types = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(),
                 "date": pa.date32(), "time": pa.time32("s"), "datetime": pa.timestamp("s", tz="UTC")}
        table = pacsv.read_csv(
            csv_path, read_options=pacsv.ReadOptions(use_threads=threads != "1"),
            convert_options=pacsv.ConvertOptions(column_types={name: types[kind] for name, kind in fields}))
        rows = table.num_rows
    elif tool == "polars":
        if threads == "1":
            os.environ["POLARS_MAX_THREADS"] = "1"
        import polars as pl

        read_types = {"string": pl.Utf8, "integer": pl.Int64, "number": pl.Float64, "boolean": pl.Boolean,
                      "date": pl.Date, "time": pl.Utf8, "datetime": pl.Utf8}
        frame = pl.read_csv(csv_path, schema={name: read_types[kind] for name, kind in fields})
        # Times and datetimes with offsets are read as text and converted, as polars' reader leaves them.
        frame = frame.with_columns(
            [pl.col(name).str.to_time("%H:%M:%S") for name, kind in fields if kind == "time"]
            + [pl.col(name).str.replace("Z$", "+00:00").str.to_datetime("%Y-%m-%dT%H:%M:%S%z", time_zone="UTC")
               for name, kind in fields
               if kind == "datetime"])
        rows = frame.height
    else:
        sys.exit(f"unknown tool {tool}")
    print(rows)


if __name__ == "__main__":
    main()
