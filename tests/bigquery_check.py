#!/usr/bin/env python3
"""Check NDJSON records against a BigQuery table schema (JSON), as
`bq load --source_format=NEWLINE_DELIMITED_JSON` would take them.

bigquery_check.py SCHEMA.json FILE.ndjson...
Prints one line per problem and "N records, M fields used of K" at the end;
exits 1 when a record has a field the schema lacks, a value of an
incompatible type, or lacks a REQUIRED field, or when a schema field is
written by no record (a schema that drifted from the programs).
"""
import json
import re
import sys

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def fits(kind, v):
    if kind == "STRING":
        return isinstance(v, str)
    if kind == "TIMESTAMP":
        return isinstance(v, str) and TS.match(v) is not None
    if kind == "DATE":
        return isinstance(v, str) and DATE.match(v) is not None
    if kind == "BOOLEAN":
        return isinstance(v, bool)
    if kind == "INTEGER":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "FLOAT":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return False


def main():
    schema = {f["name"]: f for f in json.load(open(sys.argv[1]))}
    used, bad, n = set(), 0, 0
    for path in sys.argv[2:]:
        for line_no, line in enumerate(open(path), 1):
            rec = json.loads(line)
            n += 1
            for k, v in rec.items():
                f = schema.get(k)
                if f is None:
                    print(f"{path}:{line_no}: field {k} is not in the schema")
                    bad += 1
                elif v is not None and not fits(f["type"], v):
                    print(f"{path}:{line_no}: field {k} = {v!r} is not {f['type']}")
                    bad += 1
                used.add(k)
            for k, f in schema.items():
                if f.get("mode") == "REQUIRED" and rec.get(k) is None:
                    print(f"{path}:{line_no}: REQUIRED field {k} is missing")
                    bad += 1
    for k in schema:
        if k not in used:
            print(f"schema field {k} is written by no record")
            bad += 1
    print(f"{n} records, {len(used)} fields used of {len(schema)}")
    sys.exit(1 if bad or n == 0 else 0)


main()
