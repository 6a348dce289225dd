#!/usr/bin/env python3
"""wh_dump.py WAREHOUSE: the warehouse's tables and views as canonical
text, the same for an SQLite file and a postgresql:// URI when they hold
the same: rows sorted, numbers to 9 significant digits, NULL as "-".
The tables and views whose rows carry the time of a load or a run (loads,
runs, meter_seen) are left out; so is meter_schema, PostgreSQL's own.
Reads with the sqlite3 and psql command-line clients, not the programs
under test."""
import csv
import io
import subprocess
import sys

RELATIONS = ["participant", "contract", "property", "meter", "meter_hour",
             "property_hour", "property_day", "calendar_month", "meter_span",
             "settings", "monthly_consumption", "daily_consumption",
             "hourly_profile", "building_comparison", "data_quality",
             "property_hour_checked", "benchmark_day", "benchmark"]


def rows(wh, rel):
    sql = f"SELECT * FROM {rel}"
    if wh.startswith("postgres"):
        out = subprocess.run(["psql", "-X", "-q", "--csv", "-t", "-d", wh, "-c", sql],
                             check=True, capture_output=True, text=True).stdout
    else:
        out = subprocess.run(["sqlite3", "-csv", "-nullvalue", "\\N", wh, sql],
                             check=True, capture_output=True, text=True).stdout
    return list(csv.reader(io.StringIO(out)))


def canon(v, pg):
    if (pg and v == "") or v == "\\N":
        return "-"
    try:
        f = float(v)
    except ValueError:
        return v
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return "%.9g" % f


def main():
    wh = sys.argv[1]
    pg = wh.startswith("postgres")
    for rel in RELATIONS:
        print(f"== {rel}")
        for line in sorted("|".join(canon(v, pg) for v in r) for r in rows(wh, rel)):
            print(line)


main()
