#!/usr/bin/env python3
"""A year of hourly load as PJM's hourly files write it (Datetime,PJME_MW;
hour ending, Eastern prevailing time): the label is the hour's local start
plus one hour on the clock, so the fall-back day has 02:00 twice and the
spring-forward day no 03:00.  The real files are not in the project's data;
this writes their shape, from the clock rules (zoneinfo), not from the
program under test.

pjm_year.py OUT.csv EXPECTED: EXPECTED gets "UTC-START MWH" per row.
"""
import random
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

ny = ZoneInfo("America/New_York")
random.seed(2019)
t = datetime(2019, 1, 1, 5, tzinfo=timezone.utc)      # 00:00 EST
with open(sys.argv[1], "w") as out, open(sys.argv[2], "w") as exp:
    out.write("Datetime,PJME_MW\n")
    while t < datetime(2020, 1, 1, 5, tzinfo=timezone.utc):
        label = t.astimezone(ny).replace(tzinfo=None) + timedelta(hours=1)
        mw = round(random.uniform(20000, 45000), 1)
        out.write(f"{label:%Y-%m-%d %H:%M:%S},{mw}\n")
        exp.write(f"{t:%Y-%m-%dT%H:%M:%SZ} {mw:.1f}\n")
        t += timedelta(hours=1)
