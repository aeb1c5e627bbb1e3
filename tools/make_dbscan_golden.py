#!/usr/bin/env python3
"""Freeze scikit-learn's DBSCAN and agreement scores as golden values.

usage: make_dbscan_golden.py SHARED_DATA OUT.json

For each noisy clustbench set (and a slice of the NYC pickups, haversine),
the points are rounded to float32 exactly as shoal reads them, eps is the
80th percentile of the distance to the min_samples-th neighbour, and
sklearn.cluster.DBSCAN runs on those float32 values (as float64). The JSON
holds the parameters, sklearn's labels and core sample indices, and
sklearn's ARI, AMI, NMI, homogeneity, completeness, V-measure and
Fowlkes-Mallows of DBSCAN's labels against the reference labels.
"""
import gzip
import json
import sys

import numpy as np
import sklearn
from sklearn import metrics
from sklearn.cluster import DBSCAN
from sklearn.neighbors import NearestNeighbors

SETS = [
    ("other/chameleon_t7_10k", 10),
    ("other/hdbscan", 8),
    ("graves/ring_noisy", 8),
    ("graves/zigzag_outliers", 5),
    ("graves/dense", 5),
    ("sipu/compound", 5),
    ("wut/x2", 5),
    ("sipu/aggregation", 8),
]


def load(shared, name):
    with gzip.open(f"{shared}/clustbench/{name}.data.gz", "rt") as f:
        x = np.loadtxt(f, ndmin=2).astype(np.float32)
    with gzip.open(f"{shared}/clustbench/{name}.labels0.gz", "rt") as f:
        y = np.loadtxt(f, dtype=np.int64)
    return x, y


def scores(truth, pred):
    return {
        "adjusted_rand": metrics.adjusted_rand_score(truth, pred),
        "adjusted_mutual_info": metrics.adjusted_mutual_info_score(truth, pred),
        "normalized_mutual_info": metrics.normalized_mutual_info_score(truth, pred),
        "homogeneity": metrics.homogeneity_score(truth, pred),
        "completeness": metrics.completeness_score(truth, pred),
        "v_measure": metrics.v_measure_score(truth, pred),
        "fowlkes_mallows": metrics.fowlkes_mallows_score(truth, pred),
    }


def run(x64, eps, ms, metric):
    db = DBSCAN(eps=eps, min_samples=ms, metric=metric).fit(x64)
    return db.labels_, db.core_sample_indices_


def main():
    shared, out = sys.argv[1], sys.argv[2]
    cases = []
    for name, ms in SETS:
        x, truth = load(shared, name)
        x64 = x.astype(np.float64)
        kd = NearestNeighbors(n_neighbors=ms).fit(x64).kneighbors(x64)[0][:, -1]
        eps = float(np.quantile(kd, 0.8))
        labels, core = run(x64, eps, ms, "euclidean")
        cases.append({
            "name": name, "metric": "euclidean", "eps": eps, "min_samples": ms,
            "labels": labels.tolist(), "core": core.tolist(),
            "truth_scores": scores(truth, labels),
        })
    # 20 000 NYC pickups, haversine: eps 150 m.
    pts = np.loadtxt(f"{shared}/spatial/uber_nyc_2014_04_pickups_latlon.csv",
                     delimiter=",", skiprows=1, max_rows=20000).astype(np.float32)
    eps = 150.0 / 6371008.8
    labels, core = run(np.radians(pts.astype(np.float64)), eps, 20, "haversine")
    cases.append({
        "name": "spatial/uber_nyc_first20k", "metric": "haversine", "eps": eps,
        "min_samples": 20, "labels": labels.tolist(), "core": core.tolist(),
    })
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, open(out, "w"))


if __name__ == "__main__":
    main()
