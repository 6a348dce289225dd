#!/usr/bin/env python3
"""The benchmark figures of meter-warehouse(5), computed a second way.

Reads enriched property hours (NDJSON, as meter-enrich writes them) and
the floor areas, and prints per property, period and energy quantity (and
'total') the figures of the view benchmark as tab-separated lines:

  participant property period quantity column value

Written from the man page's definitions, not from the SQL: plain Python
loops, the local calendar read from each record's "local" field, and the
energy signature fitted with mean-centred sums (the view uses raw sums).

usage: benchmark_ref.py HOURS.ndjson FIRST_DATE LAST_DATE PERIOD AREA...
  AREA: participant/property=m2
"""
import json
import math
import sys

ENERGY = ("electricity", "gas", "heat", "cooling")


def offset_minutes(local):
    sign = -1 if local[19] == "-" else 1
    return sign * (int(local[20:22]) * 60 + int(local[23:25]))


def day_complete(hours):
    """Every hour of the local day present, each with an outside
    temperature (hdd), 23 or 25 hours when the clocks change."""
    locs = sorted(h["local"] for h in hours)
    want = 24 + (offset_minutes(locs[0]) - offset_minutes(locs[-1])) // 60
    return (locs[0][11:13] == "00" and locs[-1][11:13] == "23"
            and len(hours) == want
            and all(h.get("hdd") is not None for h in hours))


def fit(days):
    n = len(days)
    if n < 7:
        return None
    mx = sum(x for x, _ in days) / n
    my = sum(y for _, y in days) / n
    sxx = sum((x - mx) ** 2 for x, _ in days)
    sxy = sum((x - mx) * (y - my) for x, y in days)
    syy = sum((y - my) ** 2 for _, y in days)
    if sxx <= 0:
        return None
    b = sxy / sxx
    r2 = sxy * sxy / (sxx * syy) if syy > 0 else None
    return b, my - b * mx, r2, n


def nearest_rank(values, p):
    v = sorted(values)
    k = max(1, math.ceil(round(len(v) * p, 9)))
    return v[k - 1]


def figures(hours, area, hours_expected):
    out = {}
    energy = sum(h["value"] for h in hours)
    out["energy_kwh"] = energy
    out["kwh_per_m2"] = energy / area
    co2 = [h["co2_kg"] for h in hours if h.get("co2_kg") is not None]
    if co2:
        out["co2_kg_per_m2"] = sum(co2) / area
    known = [h for h in hours if h.get("office_hours") is not None]
    if known:
        out["outside_office_share"] = (
            sum(h["value"] for h in known if not h["office_hours"])
            / sum(h["value"] for h in known))
    out["weekend_holiday_share"] = sum(
        h["value"] for h in hours
        if h["weekday"] >= 6 or h.get("holiday") is True) / energy
    out["hours_present"] = len(hours)
    out["coverage"] = len(hours) / hours_expected
    return out


def per_quantity(hours, area, hours_expected):
    out = figures(hours, area, hours_expected)
    peak = max(h["value"] for h in hours)
    out["peak_kw"] = peak
    out["load_factor"] = out["energy_kwh"] / len(hours) / peak
    days = {}
    for h in hours:
        days.setdefault(h["local"][:10], []).append(h)
    night = []
    for d in days.values():
        nh = [h["value"] for h in d if int(h["local"][11:13]) < 5]
        if nh:
            night.append(sum(nh) / len(nh))
    out["baseload_kw"] = nearest_rank(night, 0.1)
    pts = [(sum(h["hdd"] for h in d) / 24, sum(h["value"] for h in d))
           for d in days.values() if day_complete(d)]
    f = fit(pts)
    if f:
        out["hdd_slope_kwh_per_dd"], out["hdd_intercept_kwh"], r2, n = f
        out["signature_days"] = n
        if r2 is not None:
            out["hdd_r2"] = r2
    return out


def main():
    path, first, last, period = sys.argv[1:5]
    areas = {}
    for a in sys.argv[5:]:
        key, m2 = a.split("=")
        areas[tuple(key.split("/"))] = float(m2)
    d0 = tuple(int(x) for x in first.split("-"))
    d1 = tuple(int(x) for x in last.split("-"))
    import datetime
    hours_expected = ((datetime.date(*d1) - datetime.date(*d0)).days + 1) * 24
    groups = {}
    with open(path) as fp:
        for line in fp:
            h = json.loads(line)
            if h["quantity"] not in ENERGY or not first <= h["local"][:10] <= last:
                continue
            key = (h["participant"], h["property"])
            groups.setdefault(key, {}).setdefault(h["quantity"], []).append(h)
    for key, qs in sorted(groups.items()):
        area = areas[key]
        rows = {q: per_quantity(hs, area, hours_expected) for q, hs in qs.items()}
        total = figures([h for hs in qs.values() for h in hs], area, hours_expected)
        # the total's CO2 only when every quantity has one
        if any("co2_kg_per_m2" not in r for r in rows.values()):
            total.pop("co2_kg_per_m2", None)
        total["hours_present"] = min(len(hs) for hs in qs.values())
        total["coverage"] = total["hours_present"] / hours_expected
        rows["total"] = total
        for q, figs in sorted(rows.items()):
            for col, v in sorted(figs.items()):
                print(f"{key[0]}\t{key[1]}\t{period}\t{q}\t{col}\t{v!r}")


if __name__ == "__main__":
    main()
