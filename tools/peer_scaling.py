#!/usr/bin/env python3
"""One peer run for `shoal bench scaling`, on the very file shoal reads.

usage: peer_scaling.py --peer P --algo A --file F --format parquet|npy|f32
                       [--k K] [--threads T] [--seed S] [--max-iter N]
                       [--centers C.npy] [--eps E] [--min-samples M]
                       [--micro M] [--out PATH]

`shoal bench scaling` carries a copy of this script and runs it with the
Python given by `--python`, as a child process it times from the outside
(whole process: interpreter start, imports, loading the file, the work).
The data are loaded into memory the way a notebook loads them (np.load,
pyarrow.parquet.read_table), because that is how users meet these tools.

Prints one JSON line: {"quality_name", "quality", "passes", "seconds"}
(seconds: the work alone, in process). Exit codes: 0 done, 4 a package is
missing (the message names it), 5 out of memory (MemoryError), 2 this peer
does not do this algorithm.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

MISSING, OOM, UNSUPPORTED = 4, 5, 2

# What each peer does, as the closest equivalent of shoal's algorithm.
SUPPORTS = {
    "sklearn": {"lloyd", "minibatch", "assign", "dbscan"},
    # scikit-learn with Intel's extension patched in (patch_sklearn()).
    "sklearnex": {"lloyd", "dbscan"},
    "faiss": {"lloyd", "subsample", "assign"},
    "scipy": {"lloyd", "assign", "linkage-micro"},
    "fastcluster": {"linkage-micro"},
    "pyarrow": {"read"},
    "datashader": {"scatter"},
    "matplotlib": {"scatter"},
}


def load(path: str, fmt: str):
    import numpy as np

    if fmt == "npy":
        return np.load(path)
    if fmt == "f32":
        with open(path + ".json") as f:
            dim = int(json.load(f)["dim"])
        return np.fromfile(path, dtype=np.float32).reshape(-1, dim)
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    return np.column_stack([c.to_numpy() for c in t.columns]).astype(np.float32, copy=False)


def inertia(x, centers, labels) -> float:
    import numpy as np

    total = 0.0
    for s in range(0, len(x), 1 << 20):
        d = x[s : s + (1 << 20)] - centers[labels[s : s + (1 << 20)]]
        total += float(np.einsum("ij,ij->", d, d, dtype=np.float64))
    return total


def run(a: argparse.Namespace) -> dict:
    import numpy as np

    out: dict = {"quality_name": None, "quality": None, "passes": 1}
    if a.algo == "read":
        import pyarrow.parquet as pq

        if a.format != "parquet":
            print("pyarrow reads Parquet only", file=sys.stderr)
            sys.exit(UNSUPPORTED)
        t = time.perf_counter()
        total, rows = 0.0, 0
        for b in pq.ParquetFile(a.file).iter_batches(batch_size=1 << 16):
            for c in b.columns:
                total += float(np.sum(c.to_numpy(), dtype=np.float64))
            rows += b.num_rows
        out.update(seconds=time.perf_counter() - t, quality_name="checksum", quality=total)
        return out
    x = load(a.file, a.format)
    t = time.perf_counter()
    if a.peer == "sklearnex":
        from sklearnex import patch_sklearn

        patch_sklearn(verbose=False)
    if a.algo == "lloyd":
        if a.peer in ("sklearn", "sklearnex"):
            from sklearn.cluster import KMeans

            km = KMeans(a.k, n_init=1, max_iter=a.max_iter, random_state=a.seed).fit(x)
            out.update(quality=float(km.inertia_), passes=int(km.n_iter_))
        elif a.peer == "faiss":
            import faiss

            km = faiss.Kmeans(
                x.shape[1], a.k, niter=a.max_iter, seed=a.seed + 1, max_points_per_centroid=1 << 30
            )
            km.train(x)
            out.update(quality=float(km.obj[-1]), passes=a.max_iter)
        else:
            from scipy.cluster.vq import kmeans2

            c, lab = kmeans2(x, a.k, iter=a.max_iter, minit="++", seed=a.seed)
            out.update(quality=inertia(x, c, lab), passes=a.max_iter)
        out["quality_name"] = "inertia"
    elif a.algo == "minibatch":
        from sklearn.cluster import MiniBatchKMeans

        km = MiniBatchKMeans(a.k, batch_size=1024, random_state=a.seed, n_init=1).fit(x)
        out.update(quality_name="inertia", quality=float(km.inertia_), passes=int(km.n_iter_) + 1)
    elif a.algo == "subsample":
        import faiss

        km = faiss.Kmeans(x.shape[1], a.k, niter=a.max_iter, seed=a.seed + 1)
        km.train(x)
        d, _ = km.index.search(x, 1)
        out.update(quality_name="inertia", quality=float(d.astype(np.float64).sum()), passes=2)
    elif a.algo == "assign":
        c = np.load(a.centers).astype(np.float32)
        if a.peer == "sklearn":
            from sklearn.metrics import pairwise_distances_argmin_min

            lab, d = pairwise_distances_argmin_min(x, c)
            q = float((d.astype(np.float64) ** 2).sum())
        elif a.peer == "faiss":
            import faiss

            idx = faiss.IndexFlatL2(c.shape[1])
            idx.add(c)
            d, lab = idx.search(x, 1)
            q = float(d.astype(np.float64).sum())
        else:
            from scipy.cluster.vq import vq

            lab, d = vq(x, c, check_finite=False)
            q = float((d.astype(np.float64) ** 2).sum())
        np.save(a.out, np.asarray(lab, dtype=np.int32).ravel())
        out.update(quality_name="inertia", quality=q)
    elif a.algo == "dbscan":
        from sklearn.cluster import DBSCAN

        lab = DBSCAN(eps=a.eps, min_samples=a.min_samples, n_jobs=a.threads).fit(x).labels_
        np.save(a.out, lab.astype(np.int32))
        out.update(quality_name="clusters", quality=int(lab.max()) + 1)
    elif a.algo == "linkage-micro":
        # Peers have no micro-clusters: ward over every row, as users run them.
        if a.peer == "fastcluster":
            import fastcluster

            z = fastcluster.linkage_vector(x, method="ward")
        else:
            from scipy.cluster.hierarchy import linkage

            z = linkage(x, method="ward")
        out.update(quality_name="top merge height", quality=float(z[-1, 2]))
    elif a.algo == "scatter":
        if a.peer == "datashader":
            import datashader as ds
            import datashader.transfer_functions as tf
            import pandas as pd

            df = pd.DataFrame({"x": x[:, 0], "y": x[:, 1]})
            agg = ds.Canvas(plot_width=1000, plot_height=800).points(df, "x", "y")
            tf.shade(agg, how="log").to_pil().save(a.out)
        else:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(10, 8), dpi=100)
            ax.scatter(x[:, 0], x[:, 1], s=1)
            fig.savefig(a.out)
    out["seconds"] = time.perf_counter() - t
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--peer", required=True, choices=sorted(SUPPORTS))
    p.add_argument("--algo", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--format", required=True, choices=["parquet", "npy", "f32"])
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-iter", type=int, default=20)
    p.add_argument("--centers")
    p.add_argument("--eps", type=float, default=0.1)
    p.add_argument("--min-samples", type=int, default=10)
    p.add_argument("--out", default=os.devnull)
    a = p.parse_args()
    if a.algo not in SUPPORTS[a.peer]:
        print(f"{a.peer} has no equivalent of {a.algo}", file=sys.stderr)
        sys.exit(UNSUPPORTED)
    try:
        if a.peer == "faiss":
            import faiss

            faiss.omp_set_num_threads(a.threads)
        print(json.dumps(run(a)))
    except ImportError as e:
        print(f"missing package: {e.name or e}", file=sys.stderr)
        sys.exit(MISSING)
    except MemoryError:
        print("MemoryError", file=sys.stderr)
        sys.exit(OOM)


if __name__ == "__main__":
    main()
