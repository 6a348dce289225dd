#!/usr/bin/env python3
"""Generate DSMR 5 telegrams, and what they must give, for tests/42-formats.bats.

dsmr_gen.py day OUT EXPECTED
    A day (2024-01-15, Europe/Amsterdam) of telegrams every 10 s into OUT,
    with CRCs; EXPECTED gets "HOUR-UTC KWH" per hour: the difference of the
    tariffs' sum between the telegrams at the hour's start and end.
dsmr_gen.py one YYMMDDhhmmssX T1 T2 [GAS-TS GAS-M3]
    One telegram on standard output.
The CRC is CRC-16/ARC computed here, not by the program under test.
"""
import random
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo


def crc16(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def telegram(ts, t1, t2, gas=None):
    lines = ["/ISK5\\2M550T-1012", "", "1-3:0.2.8(50)", f"0-0:1.0.0({ts})",
             f"1-0:1.8.1({t1:010.3f}*kWh)", f"1-0:1.8.2({t2:010.3f}*kWh)",
             "1-0:2.8.1(000000.000*kWh)", "1-0:2.8.2(000000.000*kWh)",
             "1-0:1.7.0(00.111*kW)", "1-0:2.7.0(00.000*kW)"]
    if gas:
        lines += ["0-1:24.1.0(003)", f"0-1:24.2.1({gas[0]})({gas[1]:09.3f}*m3)"]
    body = ("\r\n".join(lines) + "\r\n!").encode()
    return body + b"%04X\r\n" % crc16(body)


def day(out, expected):
    random.seed(16)
    ams = ZoneInfo("Europe/Amsterdam")
    start = datetime(2024, 1, 15, tzinfo=ams).astimezone(timezone.utc)
    t1, t2 = 1234.567, 890.123
    at_hour = {}
    with open(out, "wb") as f:
        for k in range(8640 + 1):
            t = start + timedelta(seconds=10 * k)
            loc = t.astimezone(ams)
            flag = "S" if loc.dst() else "W"
            f.write(telegram(loc.strftime("%y%m%d%H%M%S") + flag, t1, t2))
            if t.minute == 0 and t.second == 0:
                at_hour[t] = round(t1 + t2, 3)
            # the low tariff by night, the high by day; whole Wh
            step = random.randint(0, 9) / 1000
            if 7 <= loc.hour < 23:
                t1 = round(t1 + step, 3)
            else:
                t2 = round(t2 + step, 3)
            if k % 97 == 0:            # noise between telegrams, as captures have
                f.write(b"\xff\xff garbage\r\n")
    hours = sorted(at_hour)
    with open(expected, "w") as f:
        for a, b in zip(hours, hours[1:]):
            f.write("%s %.3f\n" % (a.strftime("%Y-%m-%dT%H:%M:%SZ"), at_hour[b] - at_hour[a]))


if __name__ == "__main__":
    if sys.argv[1] == "day":
        day(sys.argv[2], sys.argv[3])
    else:
        gas = (sys.argv[5], float(sys.argv[6])) if len(sys.argv) > 6 else None
        sys.stdout.buffer.write(telegram(sys.argv[2], float(sys.argv[3]),
                                         float(sys.argv[4]), gas))
