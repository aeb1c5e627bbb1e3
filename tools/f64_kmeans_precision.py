#!/usr/bin/env python3
"""How far shoal's f32 k-means (f64 sums) lands from scikit-learn's float64
KMeans on float64 files, from the same initial centroids.

usage: f64_kmeans_precision.py SHOAL SHARED_DATA DIR
Needs numpy and scikit-learn.

For each clustbench set: X as float64 .npy, k = the reference labels' k,
initial centroids = k rows drawn with default_rng(0); scikit-learn
KMeans(init=C, n_init=1, algorithm="lloyd", tol=1e-4) on the float64 X,
and `shoal fit X.npy -k k --init C.npy --tol 1e-4`. Prints the iterations
of each, the largest centroid difference relative to the data's spread
(max over centroids and columns of |c_shoal - c_sklearn| / std of the
column), the inertia's relative difference, and the share of labels that
differ.
"""
import gzip
import json
import os
import subprocess
import sys

import numpy as np
from sklearn.cluster import KMeans

SETS = ["sipu/s1", "sipu/a1", "fcps/hepta", "other/iris", "uci/wine", "sipu/d31"]


def main():
    shoal, shared, out = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    print(f"{'set':<12} {'n':>6} {'d':>3} {'k':>3} {'iter sk/shoal':>13} {'centroid diff / std':>20} {'inertia rel':>12} {'labels differ':>13}")
    for name in SETS:
        x = np.loadtxt(gzip.open(f"{shared}/clustbench/{name}.data.gz", "rt"), ndmin=2)
        y = np.loadtxt(gzip.open(f"{shared}/clustbench/{name}.labels0.gz", "rt"), dtype=int)
        k = len(set(y[y > 0]))
        c0 = x[np.random.default_rng(0).choice(len(x), size=k, replace=False)]
        xp, cp, mp, lp = (os.path.join(out, f) for f in ("x.npy", "c.npy", "m.json", "l.npy"))
        np.save(xp, x)
        np.save(cp, c0)
        km = KMeans(n_clusters=k, init=c0, n_init=1, algorithm="lloyd", tol=1e-4, max_iter=300).fit(x)
        subprocess.run(
            [shoal, "fit", xp, "-k", str(k), "--init", cp, "--tol", "1e-4", "--model", mp, "--labels", lp, "-q"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        m = json.load(open(mp))
        c = np.array(m["centroids"], dtype=np.float64)
        spread = x.std(axis=0)
        diff = np.max(np.abs(c - km.cluster_centers_) / spread)
        inertia = abs(m["inertia"] - km.inertia_) / km.inertia_
        labels = np.load(lp)
        frac = np.mean(labels != km.labels_)
        print(f"{name:<12} {len(x):>6} {x.shape[1]:>3} {k:>3} {km.n_iter_:>6}/{m['iterations']:<6} {diff:>20.2e} {inertia:>12.2e} {frac:>13.2e}")


main()
