#!/usr/bin/env python3
"""shoal.dask.KMeans on a loopback LocalCluster (2 worker processes x 1
thread) over a dataset of 16 Parquet files, 10 Lloyd iterations from given
centres (tol 0), as tools/peer_dask_kmeans.py runs dask-ml's KMeans on the
same files; time it as a whole process against that script.

    PY tools/bench_dask_kmeans.py make DIR ROWS DIM K   # 16 files + DIR/init.npy
    PY tools/bench_dask_kmeans.py fit DIR [ITERS] [resident|streamed]
    PY tools/bench_dask_kmeans.py overhead DIR          # seconds per iteration, Dask vs in-process

`overhead` fits with 10 and with 30 iterations on Dask and in this process
(the same partitions run by a loop, no Dask) and prints the seconds per
iteration of each and their difference: the framework's cost per iteration.
"""

import pathlib
import sys
import time

import numpy as np

import shoal
import shoal.dask as sd


def make(root: pathlib.Path, rows: int, dim: int, k: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    per = rows // 16
    for i in range(16):
        shoal.gen.blobs(per, dim=dim, k=k, seed=i, out=root / f"part-{i:02d}.parquet", progress=False)
    _, _, centres = shoal.gen.blobs(k, dim=dim, k=k, seed=0, return_centers=True)
    # start away from the truth: the centres moved by a unit in every coordinate
    np.save(root / "init.npy", (centres + 1.0).astype(np.float32))


def cluster():
    from distributed import Client, LocalCluster

    lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    return lc, Client(lc)


def fit(root: pathlib.Path, iters: int, resident: bool, client) -> tuple[float, sd.KMeans]:
    init = np.load(root / "init.npy")
    t = time.perf_counter()
    km = sd.KMeans(
        init.shape[0], init=init, max_iter=iters, tol=0.0, resident=resident, client=client
    ).fit(root)
    return time.perf_counter() - t, km


class _Done:
    def __init__(self, r):
        self.r = r

    def done(self):
        return True

    def result(self):
        return self.r


class InProcess:
    """The runner's protocol without Dask: this process runs every partition."""

    def __init__(self, parts):
        self.parts = parts

    def submit(self, job):
        return _Done([p.run(job) for p in self.parts])


def in_process(root: pathlib.Path, iters: int) -> float:
    from shoal import _shoal

    init = np.load(root / "init.npy")
    plan, rows, dim, _ = sd._dataset_plan(root, None)
    chunk = _shoal.chunk_rows(256 << 20, dim)
    parts = [_shoal.partition_file(f, None, i, off, chunk, True) for f, i, off in plan]
    t = time.perf_counter()
    _shoal.kmeans_fit_remote(
        InProcess(parts), rows, dim, k=init.shape[0], chunk_rows=chunk, init_centers=init, max_iter=iters, tol=0.0
    )
    return time.perf_counter() - t


if __name__ == "__main__":
    cmd, root = sys.argv[1], pathlib.Path(sys.argv[2])
    if cmd == "make":
        make(root, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "fit":
        iters = int(sys.argv[3]) if len(sys.argv) > 3 else 10
        resident = (sys.argv[4] if len(sys.argv) > 4 else "resident") == "resident"
        lc, c = cluster()
        el, km = fit(root, iters, resident, c)
        print(f"shoal.dask fit {el:.2f} s, {km.n_iter_} iterations, inertia {km.inertia_:.6e}")
        c.close()
        lc.close()
    elif cmd == "overhead":
        lc, c = cluster()
        d = [min(fit(root, n, True, c)[0] for _ in range(2)) for n in (10, 30)]
        c.close()
        lc.close()
        p = [min(in_process(root, n) for _ in range(2)) for n in (10, 30)]
        dask_it, local_it = (d[1] - d[0]) / 20, (p[1] - p[0]) / 20
        print(f"per iteration: Dask {dask_it:.3f} s, in process {local_it:.3f} s, framework {dask_it - local_it:.3f} s")
