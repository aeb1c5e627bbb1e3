#!/usr/bin/env python3
"""Converts Natural Earth 1:110m countries (the npm package world-atlas@2,
countries-110m.json, TopoJSON) into the compact file shoal's map figures
embed: crates/shoal-plot/data/world-110m.bin.

    mkdir /tmp/wa && cd /tmp/wa && npm install world-atlas@2
    python3 tools/make_world.py /tmp/wa/node_modules/world-atlas/countries-110m.json \
        crates/shoal-plot/data/world-110m.bin

Each TopoJSON arc used by one country is coastline, by two a border
between countries (topojson-client's mesh rule). The file is

    b"SHW1", u32 line count, then per line: u8 kind (0 coast, 1 border),
    u16 point count, points as (i16 lon, i16 lat) in hundredths of a degree,

all little-endian. Hundredths (1.1 km) are finer than 1:110m's detail.
Natural Earth is in the public domain; world-atlas is ISC-licensed.
"""

import json
import struct
import sys
from collections import Counter


def decode_arcs(topo):
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        out.append(pts)
    return out


def arc_uses(geometries):
    """How many countries use each arc (an arc once per ring)."""
    uses = Counter()

    def walk(a):
        if isinstance(a, int):
            uses[a if a >= 0 else ~a] += 1
        else:
            for b in a:
                walk(b)

    for g in geometries:
        walk(g.get("arcs", []))
    return uses


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        topo = json.load(f)
    arcs = decode_arcs(topo)
    uses = arc_uses(topo["objects"]["countries"]["geometries"])
    lines = []
    for i, pts in enumerate(arcs):
        if uses[i] == 0:
            continue
        kind = 0 if uses[i] == 1 else 1
        q = []
        for lon, lat in pts:
            p = (round(lon * 100), round(lat * 100))
            if not q or q[-1] != p:
                q.append(p)
        if len(q) >= 2:
            lines.append((kind, q))
    buf = bytearray(b"SHW1")
    buf += struct.pack("<I", len(lines))
    for kind, q in lines:
        buf += struct.pack("<BH", kind, len(q))
        for lon, lat in q:
            buf += struct.pack("<hh", lon, lat)
    with open(dst, "wb") as f:
        f.write(buf)
    coast = sum(1 for k, _ in lines if k == 0)
    print(f"{dst}: {len(lines)} lines ({coast} coast, {len(lines) - coast} border), "
          f"{sum(len(q) for _, q in lines)} points, {len(buf)} bytes")


if __name__ == "__main__":
    main()
