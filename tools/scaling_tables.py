#!/usr/bin/env python3
"""The peer table of benches/README.md, generated from a `shoal bench scaling`
results.csv (standard library only).

usage: scaling_tables.py RESULTS.csv [--threads T]

For every algorithm and dimension, at the largest row count shoal finished
on T threads (default: the most in the file): shoal's median wall time and
peak RSS, the best (fastest finished) peer's, the ratio shoal / best peer,
and what became of the other peers (their time, or why they did not finish).
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict


def mb(b: float) -> str:
    return f"{b / 1e9:.2f} GB" if b >= 1e9 else f"{b / 1e6:.0f} MB"


def secs(s: float) -> str:
    return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--threads", type=int)
    a = p.parse_args()
    with open(a.results, newline="") as f:
        rows = list(csv.DictReader(f))
    threads = a.threads or max(int(r["threads"]) for r in rows)
    rows = [r for r in rows if int(r["threads"]) == threads]
    by: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        by[(r["algo"], int(r["dim"]), int(r["k"]), r["format"], int(r["rows"]), r["tool"])].append(r)

    def median(key: tuple, field: str) -> float | None:
        v = [float(r[field]) for r in by.get(key, []) if r["status"] == "ok" and r[field]]
        return statistics.median(v) if v else None

    configs = sorted({k[:4] for k in by})
    print(f"{threads} threads; whole processes; ratio = shoal's wall time / the best peer's.\n")
    print("| algorithm | d | rows | shoal | best peer | ratio | other peers |")
    print("|---|---|---|---|---|---|---|")
    for algo, dim, k, fmt in configs:
        if algo == "read" and fmt != "parquet":
            continue
        sizes = sorted(
            n for (a2, d2, k2, f2, n, t) in by if (a2, d2, k2, f2) == (algo, dim, k, fmt) and t == "shoal"
        )
        done = [n for n in sizes if median((algo, dim, k, fmt, n, "shoal"), "wall_s") is not None]
        if not done:
            continue
        # The largest size shoal finished; and, when no peer finished there,
        # also the largest size where one did.
        lines = [done[-1]]
        both = [n for n in done if any(finished_at(by, (algo, dim, k, fmt, n)))]
        if both and both[-1] != done[-1]:
            lines.append(both[-1])
        for n in lines:
            print(row(by, median, (algo, dim, k, fmt, n)))


def finished_at(by: dict, base: tuple):
    for key, rs in by.items():
        if key[:5] == base and key[5] != "shoal" and any(r["status"] == "ok" for r in rs):
            yield key[5]


def row(by: dict, median, base: tuple) -> str:
    algo, dim, _k, _fmt, n = base
    shoal_t = median(base + ("shoal",), "wall_s")
    shoal_m = median(base + ("shoal",), "peak_rss_bytes")
    peers = sorted({key[5] for key in by if key[:5] == base and key[5] != "shoal"})
    ok = sorted((w, t) for t in peers if (w := median(base + (t,), "wall_s")) is not None)
    others = []
    for t in peers:
        w = median(base + (t,), "wall_s")
        if ok and t == ok[0][1]:
            continue
        if w is not None:
            others.append(f"{t} {secs(w)}")
            continue
        r = by[base + (t,)][0]
        why = {"timeout": f"timed out ({float(r['timeout_s']):.0f} s)", "oom": "out of memory"}.get(
            r["status"], r["status"]
        )
        if r["status"] == "skipped" and "predicted" in r["reason"]:
            why = "skipped: " + r["reason"].split(" from")[0]
        elif r["status"] == "skipped":
            why = "skipped: " + r["reason"]
        others.append(f"{t} {why}")
    if ok:
        w, t = ok[0]
        m = median(base + (t,), "peak_rss_bytes")
        best = f"{t} {secs(w)}, {mb(m)}"
        ratio = f"**{shoal_t / w:.3f}**"
    else:
        best, ratio = "—", "—"
    return (
        f"| {algo} | {dim} | {n:,} | {secs(shoal_t)}, {mb(shoal_m)} | {best} | {ratio} |"
        f" {'; '.join(others) or '—'} |"
    )


if __name__ == "__main__":
    main()
