#!/usr/bin/env python3
"""Time scikit-learn's DBSCAN and silhouette on the files shoal reads.

usage:
  peer_density.py dbscan X.npy|pts.csv EPS MIN_SAMPLES [euclidean|haversine]
      (haversine: X holds lat,lon in degrees, EPS is in radians)
  peer_density.py silhouette X.npy LABELS.npy [SAMPLE_SIZE]

Prints one JSON line: seconds of the call alone, the process's peak RSS,
and the result (clusters and noise, or the score) to check shoal agrees.
"""
import json
import resource
import sys
import time

import numpy as np


def load(path):
    if path.endswith(".csv"):
        return np.loadtxt(path, delimiter=",", skiprows=1).astype(np.float32)
    return np.load(path)


def main():
    mode = sys.argv[1]
    x = load(sys.argv[2]).astype(np.float64)
    out = {"mode": mode, "n": int(x.shape[0])}
    if mode == "dbscan":
        from sklearn.cluster import DBSCAN
        eps, ms = float(sys.argv[3]), int(sys.argv[4])
        metric = sys.argv[5] if len(sys.argv) > 5 else "euclidean"
        if metric == "haversine":
            x = np.radians(x)
        t = time.perf_counter()
        labels = DBSCAN(eps=eps, min_samples=ms, metric=metric).fit(x).labels_
        out["seconds"] = time.perf_counter() - t
        out["clusters"] = int(labels.max() + 1)
        out["noise"] = int((labels < 0).sum())
    elif mode == "silhouette":
        from sklearn.metrics import silhouette_score
        labels = np.load(sys.argv[3])
        sample = int(sys.argv[4]) if len(sys.argv) > 4 else None
        t = time.perf_counter()
        out["silhouette"] = float(silhouette_score(x, labels, sample_size=sample, random_state=0))
        out["seconds"] = time.perf_counter() - t
    else:
        raise SystemExit(f"unknown mode {mode}")
    out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
