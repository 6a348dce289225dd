#!/usr/bin/env python3
"""What a screenshot shows, without an imaging library: decodes an 8-bit
RGB or RGBA PNG (zlib and the five PNG filters, as the PNG specification
defines them) and prints

  WIDTH HEIGHT NONWHITE_SHARE COUNT_OF_EACH_COLOUR...

where each colour given as #rrggbb counts the pixels within 8 of it on
every channel.

usage: png_stats.py FILE.png [#rrggbb ...]
"""
import struct
import sys
import zlib


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), "8-bit RGB(A) only"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    w, h, bpp, rows = decode(sys.argv[1])
    want = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in sys.argv[2:]]
    counts = [0] * len(want)
    nonwhite = 0
    for line in rows:
        for x in range(0, w * bpp, bpp):
            px = line[x], line[x + 1], line[x + 2]
            if px != (255, 255, 255):
                nonwhite += 1
            for k, c in enumerate(want):
                if all(abs(px[j] - c[j]) <= 8 for j in range(3)):
                    counts[k] += 1
    print(w, h, f"{nonwhite / (w * h):.4f}", *counts)


if __name__ == "__main__":
    main()
