#!/usr/bin/env python3
"""Mini-batch k-means quality on imbalanced spatial data, shoal against
scikit-learn, over many seeds.

usage: minibatch_quality.py SHOAL DIR [--rows N] [--k K] [--dim 2|32] [--algo A]
                            [--seeds S] [--data-seed D] [--sklearn] [--shoal-args ...]
Needs numpy (and scikit-learn with --sklearn).

Data: `shoal gen spatial --rows N --k K --seed D` (2-D: lat/lon around K
cities of Zipf-distributed sizes with 5% background noise), or for
--dim 32 `shoal gen blobs --dim 32 --zipf 1.1 --noise 0.05` (the same
imbalance and noise in 32 dimensions). Reference: the best inertia of 10
Lloyd runs (`shoal fit --algo lloyd --seed 0..9`). For each seed s of
0..S-1: `shoal fit --algo minibatch --seed s` (or --algo A) and, with --sklearn,
MiniBatchKMeans(K, batch_size=1024, n_init=3, random_state=s) on the same
points (its inertia_ is over all the rows). Prints the median and the 90th
percentile of inertia / best Lloyd for each, and the median time; with
--json FILE writes every figure.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def shoal_fit(shoal, x, k, algo, seed, extra, model):
    t0 = time.perf_counter()
    subprocess.run(
        [shoal, "fit", x, "-k", str(k), "--algo", algo, "--seed", str(seed), "--model", model, "-q"] + extra,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    secs = time.perf_counter() - t0
    return json.load(open(model))["inertia"], secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shoal")
    ap.add_argument("dir")
    ap.add_argument("--rows", default="1M")
    ap.add_argument("--k", type=int, default=12)
    ap.add_argument("--dim", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--data-seed", type=int, default=7)
    ap.add_argument("--algo", default="minibatch", help="shoal's algorithm under test (minibatch, subsample)")
    ap.add_argument("--sklearn", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--shoal-args", nargs=argparse.REMAINDER, default=[])
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    x = os.path.join(a.dir, f"q_{a.dim}_{a.rows}_{a.k}_{a.data_seed}.npy")
    if not os.path.exists(x):
        if a.dim == 2:
            gen = ["gen", "spatial", "--rows", a.rows, "--k", str(a.k)]
        else:
            gen = ["gen", "blobs", "--rows", a.rows, "--dim", str(a.dim), "--k", str(a.k), "--zipf", "1.1", "--noise", "0.05"]
        subprocess.run([a.shoal] + gen + ["--seed", str(a.data_seed), "--out", x, "-q"], check=True, stdout=subprocess.DEVNULL)
    model = os.path.join(a.dir, "m.json")
    lloyd = min(shoal_fit(a.shoal, x, a.k, "lloyd", s, [], model)[0] for s in range(10))
    out = {"data": x, "k": a.k, "best_lloyd": lloyd, "shoal": [], "sklearn": []}
    for s in range(a.seeds):
        inertia, secs = shoal_fit(a.shoal, x, a.k, a.algo, s, a.shoal_args, model)
        out["shoal"].append({"seed": s, "ratio": inertia / lloyd, "seconds": secs})
    if a.sklearn:
        from sklearn.cluster import MiniBatchKMeans

        pts = np.load(x).astype(np.float32)
        for s in range(a.seeds):
            t0 = time.perf_counter()
            m = MiniBatchKMeans(a.k, batch_size=1024, n_init=3, random_state=s).fit(pts)
            out["sklearn"].append({"seed": s, "ratio": m.inertia_ / lloyd, "seconds": time.perf_counter() - t0})
    for who in ("shoal", "sklearn"):
        if not out[who]:
            continue
        r = np.array([v["ratio"] for v in out[who]])
        t = np.array([v["seconds"] for v in out[who]])
        out[f"{who}_median"] = float(np.median(r))
        out[f"{who}_p90"] = float(np.percentile(r, 90))
        print(f"{who:8} median {np.median(r):.4f}  p90 {np.percentile(r, 90):.4f}  max {r.max():.4f}  time median {np.median(t):.3f} s", file=sys.stderr)
    if a.json:
        json.dump(out, open(a.json, "w"))


main()
