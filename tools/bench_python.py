#!/usr/bin/env python3
# ruff: noqa: B023  (each lambda is called at once, inside its loop turn)
"""shoal's Python API against scipy, scikit-learn and fastcluster, in one
process, same data, same session (issue 22's table).

    PYTHON=/path/to/venv/bin/python   # with shoal, scipy, scikit-learn, fastcluster
    env -u OPENBLAS_CORETYPE $PYTHON tools/bench_python.py [--quick]

Prints one line per row: the workload, each tool's best-of-R seconds, and
shoal's speed-up over the others (and inertias where they differ).
"""

import sys
import time

import numpy as np

import shoal
import shoal.cluster.hierarchy as sh
import shoal.cluster.vq as svq
import shoal.metrics as smet

QUICK = "--quick" in sys.argv


def best(f, r=3):
    t = []
    out = None
    for _ in range(r):
        t0 = time.perf_counter()
        out = f()
        t.append(time.perf_counter() - t0)
    return min(t), out


def row(name, times, extra="", unit="s", scale=1.0):
    ours = times["shoal"]
    others = ", ".join(
        f"{k} {v * scale:.4f} {unit} ({v / ours:.1f}x)" for k, v in times.items() if k != "shoal"
    )
    print(f"{name}: shoal {ours * scale:.4f} {unit}; {others} {extra}", flush=True)


def inertia(x, centers):
    _, dist = svq.vq(x.astype(np.float64), np.asarray(centers, dtype=np.float64))
    return float(np.sum(dist * dist))


def blobs(n, d, k, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(scale=10, size=(k, d))
    lab = rng.integers(0, k, n)
    return (c[lab] + rng.normal(size=(n, d))).astype(np.float64)


def main():
    import scipy.cluster.hierarchy as sch
    import scipy.cluster.vq as scv
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.cluster import MiniBatchKMeans as SkMB
    from sklearn.metrics import silhouette_score

    n = 200_000 if QUICK else 1_000_000
    for d, k in [(2, 10), (32, 100)]:
        x = blobs(n, d, k)
        x32 = x.astype(np.float32)
        book = x[:: n // k][:k].copy()
        t = {}
        t["shoal"], (c1, _) = best(lambda: svq.vq(x, book))
        t["scipy"], (c2, _) = best(lambda: scv.vq(x, book))
        row(f"vq {n}x{d} k={k} (float64)", t, f"codes equal: {np.array_equal(c1, c2)}")
        t = {}
        t["shoal"], (b1, d1) = best(lambda: svq.kmeans(x, book, thresh=1e-5), r=1)
        t["scipy"], (b2, d2) = best(lambda: scv.kmeans(x, book, thresh=1e-5), r=1)
        row(f"scipy kmeans {n}x{d} k={k} from the same book", t, f"distortion {d1:.6g} vs {d2:.6g}")
        init = x32[:: n // k][:k].copy()
        t = {}
        t["shoal"], a = best(lambda: shoal.KMeans(k, init=init, n_init=1).fit(x32), r=2)
        t["scikit-learn"], b = best(lambda: SkKMeans(k, init=init, n_init=1).fit(x32), r=1)
        row(
            f"KMeans {n}x{d} k={k} float32, same init",
            t,
            f"inertia {a.inertia_:.6g} vs {b.inertia_:.6g}; iterations {a.n_iter_} vs {b.n_iter_}",
        )
        t = {}
        t["shoal"], a = best(lambda: shoal.MiniBatchKMeans(k, random_state=0, batch_size=1024).fit(x32), r=2)
        t["scikit-learn"], b = best(lambda: SkMB(k, random_state=0, batch_size=1024).fit(x32), r=1)
        ia, ib = (
            -a.score(x32),
            -SkKMeans(k, init=b.cluster_centers_, n_init=1, max_iter=1).fit(x32).score(x32),
        )
        row(f"MiniBatchKMeans {n}x{d} k={k}", t, f"inertia {ia:.6g} vs {ib:.6g}")

    m = 5_000 if QUICK else 20_000
    x = blobs(m, 2, 10, seed=1)
    for method in ["ward", "single", "average"]:
        t = {}
        t["shoal"], z1 = best(lambda: sh.linkage(x, method), r=1)
        t["scipy"], z2 = best(lambda: sch.linkage(x, method), r=1)
        try:
            import fastcluster

            if method in ("ward", "single"):
                t["fastcluster"], _ = best(lambda: fastcluster.linkage_vector(x, method), r=1)
            else:
                t["fastcluster"], _ = best(lambda: fastcluster.linkage(x, method), r=1)
        except ImportError:
            pass
        row(f"linkage {m}x2 {method}", t, f"Z equal to scipy: {np.array_equal(z1, z2)}")

    x = blobs(20_000, 8, 6, seed=2)
    lab = SkKMeans(6, n_init=1, random_state=0).fit_predict(x)
    t = {}
    t["shoal"], s1 = best(lambda: smet.silhouette_score(x, lab), r=1)
    t["scikit-learn"], s2 = best(lambda: silhouette_score(x, lab), r=1)
    row("silhouette_score 20000x8", t, f"{s1:.10f} vs {s2:.10f}")

    from sklearn.cluster import DBSCAN as SkDBSCAN

    x = blobs(50_000 if QUICK else 200_000, 2, 10, seed=4)
    t = {}
    t["shoal"], l1 = best(lambda: shoal.DBSCAN(eps=0.1, min_samples=10).fit(x).labels_, r=1)
    t["scikit-learn"], l2 = best(lambda: SkDBSCAN(eps=0.1, min_samples=10).fit(x).labels_, r=1)
    row(f"DBSCAN {len(x)}x2 eps 0.1", t, f"labels equal: {np.array_equal(l1, l2)}")

    pts = np.array([[1.0, 2.0], [1.5, 1.8], [5.0, 8.0], [8.0, 8.0], [1.0, 0.6], [9.0, 11.0]])
    cb = pts[:2].copy()
    reps = 2000

    def per_call(f):
        f()
        t0 = time.perf_counter()
        for _ in range(reps):
            f()
        return (time.perf_counter() - t0) / reps

    t = {"shoal": per_call(lambda: svq.vq(pts, cb)), "scipy": per_call(lambda: scv.vq(pts, cb))}
    row("per call: vq on the tutorial's 6 points", t, unit="us", scale=1e6)
    t = {
        "shoal": per_call(lambda: sh.fcluster(sh.linkage(pts, "ward"), 3, "distance")),
        "scipy": per_call(lambda: sch.fcluster(sch.linkage(pts, "ward"), 3, "distance")),
    }
    row("per call: linkage + fcluster on the 6 points", t, unit="us", scale=1e6)


if __name__ == "__main__":
    main()
