#!/usr/bin/env python3
"""scikit-learn's usual k-selection loop, timed: for each k, MiniBatchKMeans
(batch 1024, n_init=3) on all the points, its inertia, and
silhouette_score(sample_size=S), davies_bouldin_score and
calinski_harabasz_score on a seeded sample of the same size.

usage: peer_sweep.py X.npy KMIN KMAX [S]
Needs numpy and scikit-learn. Prints one JSON line: total seconds, peak
RSS, and per k the inertia and scores.
"""
import json
import resource
import sys
import time

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score


def main():
    x = np.load(sys.argv[1])
    kmin, kmax = int(sys.argv[2]), int(sys.argv[3])
    s = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    idx = rng.choice(len(x), size=min(s, len(x)), replace=False)
    out = []
    for k in range(kmin, kmax + 1):
        m = MiniBatchKMeans(k, batch_size=1024, n_init=3, random_state=0).fit(x)
        ls = m.predict(x[idx])
        out.append({
            "k": k,
            "inertia": float(m.inertia_),
            "silhouette": float(silhouette_score(x[idx], ls)),
            "davies_bouldin": float(davies_bouldin_score(x[idx], ls)),
            "calinski_harabasz": float(calinski_harabasz_score(x[idx], ls)),
        })
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": secs, "peak_rss_bytes": rss, "points": out}))


main()
