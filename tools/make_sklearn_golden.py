#!/usr/bin/env python3
"""Freezes scikit-learn's k-means results on the clustbench sets in
../shared/data as golden values for shoal's tests.

usage: make_sklearn_golden.py SHARED_DATA_DIR OUT.json
Needs numpy and scikit-learn (a virtual environment outside the repo).

For each dataset (X read from NAME.data.gz and rounded to float32, as shoal
reads it; k = the reference labelling's number of clusters):
  * lloyd: KMeans(init=C, n_init=1, algorithm="lloyd", tol=1e-4) with C = the
    rows at `init_rows` (drawn with numpy's default_rng(0)), for max_iter 1,
    3 and 300: centroids, labels, inertia, n_iter.
  * best10: KMeans(k, n_init=10, random_state=0) on the float64 values:
    the best inertia of 10 k-means++ starts, and its ARI against the
    reference labels (noise points, label 0, excluded).
"""
import gzip, json, os, sys

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

DATASETS = ["sipu/a1", "sipu/a2", "sipu/a3", "sipu/s1", "sipu/s2", "sipu/s3", "sipu/s4",
            "sipu/d31", "sipu/r15", "fcps/hepta", "other/iris", "uci/wine", "g2mg/g2mg_16_50"]

def load(base, name):
    x = np.loadtxt(gzip.open(os.path.join(base, "clustbench", name + ".data.gz"), "rt"), ndmin=2)
    y = np.loadtxt(gzip.open(os.path.join(base, "clustbench", name + ".labels0.gz"), "rt"), dtype=int)
    return x, y

def main():
    base, out = sys.argv[1], sys.argv[2]
    result = {"sklearn": sklearn.__version__, "numpy": np.__version__, "datasets": {}}
    for name in DATASETS:
        x64, y = load(base, name)
        x = x64.astype(np.float32)
        k = int(len(set(y[y > 0])))
        rows = np.random.default_rng(0).choice(len(x), size=k, replace=False)
        entry = {"n": int(len(x)), "d": int(x.shape[1]), "k": k, "init_rows": rows.tolist(), "lloyd": {}}
        for it in (1, 3, 300):
            km = KMeans(n_clusters=k, init=x[rows], n_init=1, algorithm="lloyd", max_iter=it, tol=1e-4).fit(x)
            entry["lloyd"][str(it)] = {
                "centroids": km.cluster_centers_.astype(float).tolist(),
                "labels": km.labels_.tolist(),
                "inertia": float(km.inertia_),
                "n_iter": int(km.n_iter_),
            }
        best = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x64)
        keep = y > 0
        entry["best10"] = {
            "inertia": float(best.inertia_),
            "ari": float(adjusted_rand_score(y[keep], best.labels_[keep])),
        }
        result["datasets"][name] = entry
        print(name, k, entry["lloyd"]["300"]["n_iter"], best.inertia_, file=sys.stderr)
    json.dump(result, open(out, "w"))

main()
