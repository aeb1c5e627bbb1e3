#!/usr/bin/env python3
"""Freeze scipy's and scikit-learn's answers on float64 inputs, where
rounding the input to float32 would change them.

usage: make_f64_golden.py SHARED_DATA OUT_DIR
Needs numpy, scipy and scikit-learn (a virtual environment outside the repo).

Inputs (float64, C order):
  * iris: ../shared/data/clustbench/other/iris.data.gz (measurements to one
    decimal, 150 x 4, many tied distances). Read by the tests from
    ../shared/data directly (clustbench is not vendored).
  * ties.npy (written here): 600 x 3 measurements to one decimal, a seeded
    mixture of three groups: most distances are tied with many others.
  * gps.npy (written here): 6000 (lat, lon) fixes given to 6 decimals, the
    first 6000 Uber pickups of ../shared/data/spatial moved by seeded
    Gaussian noise of about 30 m and rounded to 1e-6 degree, as a phone's
    GPS reports them; float32 keeps only about 4e-6 degree there.

Expected values (expected.json, and Z_<set>_<method>[_olo].npy):
  * linkage: scipy.cluster.hierarchy.linkage(X, method) for all 7 methods on
    iris, ties and the first 1500 rows of gps, and with optimal_ordering for
    average and ward on ties;
  * fcluster of every tree for maxclust 2..6 and for 3 distance thresholds
    (quantiles of the merge heights, moved off any height);
  * DBSCAN (scikit-learn, algorithm="brute", so every pair is compared in
    float64): euclidean on gps (eps in degrees) and on ties, haversine on
    gps (np.radians of the degrees; eps in radians). For each, the script
    checks that no pair is within 1e-9 relative of eps (the pairs real
    arithmetic puts at eps are decided by rounding, and scikit-learn's own
    algorithms disagree on them) and records how many pairs float32
    rounding moves across eps (so the test is known to be sensitive);
  * silhouette_score, davies_bouldin_score, calinski_harabasz_score of the
    DBSCAN labellings and of iris's reference labels.
"""
import gzip
import json
import os
import sys

import numpy as np
import scipy
import sklearn
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist, squareform
from sklearn.cluster import DBSCAN
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

METHODS = ["single", "complete", "average", "weighted", "centroid", "median", "ward"]
EARTH_RADIUS_M = 6371008.8


def iris(shared):
    with gzip.open(f"{shared}/clustbench/other/iris.data.gz", "rt") as f:
        x = np.loadtxt(f, ndmin=2)
    with gzip.open(f"{shared}/clustbench/other/iris.labels0.gz", "rt") as f:
        y = np.loadtxt(f, dtype=np.int64)
    return x, y


def ties():
    rng = np.random.default_rng(19)
    centres = np.array([[5.0, 3.0, 1.5], [6.5, 2.5, 4.5], [4.5, 4.0, 6.0]])
    g = rng.integers(0, 3, size=600)
    x = centres[g] + rng.normal(0.0, 0.6, size=(600, 3))
    return np.round(x, 1)


def gps(shared):
    x = np.loadtxt(
        f"{shared}/spatial/uber_nyc_2014_04_pickups_latlon.csv",
        delimiter=",",
        skiprows=1,
        max_rows=6000,
    )
    rng = np.random.default_rng(6)
    x = x + rng.normal(0.0, 0.0003, size=x.shape)
    return np.round(x, 6)


def haversine_pairs(x):
    r = np.radians(x)
    lat, lon = r[:, 0], r[:, 1]
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(0.5 * dlat) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(0.5 * dlon) ** 2
    return 2.0 * np.arcsin(np.sqrt(a))


def pair_distances(x, metric):
    if metric == "haversine":
        d = haversine_pairs(x)
        return d[np.triu_indices(len(x), 1)]
    return pdist(x)


def check_eps(x, eps, metric):
    """Pairs too near eps to compare, and pairs float32 moves across eps."""
    d64 = pair_distances(x, metric)
    close = int(np.sum(np.abs(d64 - eps) <= 1e-9 * eps))
    d32 = pair_distances(x.astype(np.float32).astype(np.float64), metric)
    moved = int(np.sum((d64 <= eps) != (d32 <= eps)))
    return close, moved


def cuts(z):
    out = {}
    for k in range(2, 7):
        out[f"maxclust_{k}"] = fcluster(z, k, criterion="maxclust").tolist()
    h = np.unique(z[:, 2])
    for q in (0.5, 0.9, 0.98):
        t = float(np.quantile(h, q))
        # off any merge height, so the cut does not depend on rounding
        above = h[h > t]
        if len(above):
            t = 0.5 * (t + float(above[0])) if t in h else t
        out[f"distance_{q}"] = {"t": t, "labels": fcluster(z, t, criterion="distance").tolist()}
    return out


def davies_bouldin_direct(x, labels):
    """scikit-learn's davies_bouldin_score, with every distance taken from
    coordinate differences (np.linalg.norm) instead of its dot-product
    formula, which loses digits far from the origin."""
    ks = np.unique(labels)
    cent = np.array([x[labels == k].mean(axis=0) for k in ks])
    intra = np.array([np.linalg.norm(x[labels == k] - c, axis=1).mean() for k, c in zip(ks, cent)])
    dc = np.linalg.norm(cent[:, None, :] - cent[None, :, :], axis=2)
    if np.allclose(intra, 0) or np.allclose(dc, 0):
        return 0.0
    dc[dc == 0] = np.inf
    return float(np.mean(np.max((intra[:, None] + intra[None, :]) / dc, axis=1)))


def scores(x, labels):
    """scikit-learn's scores. Its euclidean distances are computed as
    |x|^2 - 2 x.y + |y|^2, which cancels for points far from the origin
    relative to their spread (GPS degrees: about 1e-9 relative in the
    silhouette); the *_direct values are the same definitions on distances
    from coordinate differences (silhouette_score on scipy's pdist matrix,
    metric="precomputed"), which is how shoal computes them."""
    d = squareform(pdist(x))
    return {
        "silhouette": float(silhouette_score(x, labels)),
        "silhouette_direct": float(silhouette_score(d, labels, metric="precomputed")),
        "davies_bouldin": float(davies_bouldin_score(x, labels)),
        "davies_bouldin_direct": davies_bouldin_direct(x, labels),
        "calinski_harabasz": float(calinski_harabasz_score(x, labels)),
    }


def main():
    shared, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    xi, yi = iris(shared)
    xt = ties()
    xg = gps(shared)
    np.save(os.path.join(out, "ties.npy"), xt)
    np.save(os.path.join(out, "gps.npy"), xg)
    sets = {"iris": xi, "ties": xt, "gps1500": xg[:1500]}
    result = {
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "linkage": {},
        "dbscan": {},
        "scores": {},
    }
    for name, x in sets.items():
        x32 = x.astype(np.float32).astype(np.float64)
        for m in METHODS:
            z = linkage(x, m)
            np.save(os.path.join(out, f"Z_{name}_{m}.npy"), z)
            z32 = linkage(x32, m)
            differs = bool(
                not np.array_equal(z[:, :2], z32[:, :2])
                or np.max(np.abs(z[:, 2] - z32[:, 2]) / np.maximum(z[:, 2], 1e-300)) > 1e-12
            )
            result["linkage"][f"{name}_{m}"] = {
                "n": len(x),
                "cuts": cuts(z),
                "f32_input_differs": differs,
            }
            print(name, m, "f32 differs" if differs else "f32 same", file=sys.stderr)
    for m in ("average", "ward"):
        z = linkage(xt, m, optimal_ordering=True)
        np.save(os.path.join(out, f"Z_ties_{m}_olo.npy"), z)
    cases = [
        ("gps_euclidean", xg, 0.0009, 8, "euclidean", xg),
        ("gps_haversine", xg, 120.0 / EARTH_RADIUS_M, 8, "haversine", np.radians(xg)),
        ("ties_euclidean", xt, 0.35, 6, "euclidean", xt),
    ]
    for name, x, eps, ms, metric, fit_x in cases:
        close, moved = check_eps(x, eps, metric)
        if close:
            raise SystemExit(f"{name}: {close} pairs within 1e-9 of eps={eps}; pick another eps")
        db = DBSCAN(eps=eps, min_samples=ms, metric=metric, algorithm="brute").fit(fit_x)
        labels = db.labels_
        entry = {
            "eps": eps,
            "min_samples": ms,
            "metric": metric,
            "labels": labels.tolist(),
            "clusters": int(labels.max() + 1),
            "noise": int(np.sum(labels == -1)),
            "f32_pairs_moved_across_eps": moved,
        }
        if len(set(labels)) >= 2:
            entry["scores"] = scores(x, labels)
        result["dbscan"][name] = entry
        print(name, entry["clusters"], "clusters", entry["noise"], "noise", moved, "pairs moved by f32", file=sys.stderr)
    result["scores"]["iris_truth"] = scores(xi, yi)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(result, f)


main()
