#!/usr/bin/python3
"""A synthetic building with known coefficients, for meter-baseline's
recovery tests (tests/78-baseline.bats): two years of hourly property hours
of participant "syn", property "lab" in Europe/Amsterdam, as meter-enrich
writes them (value, outside_temp_c).  The baseline is 2021; 2022 uses
(1 - SAVED) of the model, so the savings fraction is known too.

  daily:  a day's usage is 20 + 1.5 HDD + 2.5 CDD (balance points 59 and
          72 degF, degC-days of the day's mean temperature) plus noise,
          spread evenly over its hours
  hourly: an hour's usage is 2 on weekdays 08-18 local, else 0.5, plus
          0.3 degC below 55 degF, plus noise

Usage: baseline_synth.py daily|hourly > hours.ndjson"""
import datetime as dt
import json
import math
import random
import sys
from zoneinfo import ZoneInfo

SAVED = 0.10
ZONE = ZoneInfo("Europe/Amsterdam")
HBP, CBP = (59 - 32) * 5 / 9, (72 - 32) * 5 / 9
KINK = (55 - 32) * 5 / 9


def temperature(t, rnd):
    doy = t.timetuple().tm_yday
    return (11 + 13 * math.sin(2 * math.pi * (doy - 110) / 365)
            + 4 * math.sin(2 * math.pi * (t.hour - 9) / 24) + rnd.gauss(0, 1.5))


def hours():
    t = dt.datetime(2021, 1, 1, tzinfo=ZONE).astimezone(dt.timezone.utc)
    end = dt.datetime(2023, 1, 1, tzinfo=ZONE).astimezone(dt.timezone.utc)
    while t < end:
        yield t
        t += dt.timedelta(hours=1)


def main():
    kind = sys.argv[1]
    rnd = random.Random(18)
    rows = [(t, t.astimezone(ZONE), temperature(t.astimezone(ZONE), rnd))
            for t in hours()]
    days = {}
    for _, local, temp in rows:
        days.setdefault(local.date(), []).append(temp)
    use_of_day = {}
    for d, temps in days.items():
        mean = sum(temps) / len(temps)
        use_of_day[d] = (20 + 1.5 * max(HBP - mean, 0) + 2.5 * max(mean - CBP, 0)
                         + rnd.gauss(0, 1)) / len(temps)
    for t, local, temp in rows:
        if kind == "daily":
            use = use_of_day[local.date()]
        else:
            busy = local.isoweekday() <= 5 and 8 <= local.hour < 18
            use = (2 if busy else 0.5) + 0.3 * max(KINK - temp, 0) + rnd.gauss(0, 0.05)
        if local.year == 2022:
            use *= 1 - SAVED
        print(json.dumps({"participant": "syn", "property": "lab",
                          "quantity": "electricity",
                          "hour": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "value": round(use, 9), "unit": "kWh", "meters": 1,
                          "meters_expected": 1, "coverage": 1,
                          "quality": "measured",
                          "local": local.isoformat(),
                          "outside_temp_c": round(temp, 9)}))


main()
