#!/usr/bin/env python3
"""shoal.dask.assign_parquet on a loopback LocalCluster (2 workers x 1
thread) against shoal.assign_file over the same files, one after another,
in one process (2 threads). Best of 3 each, in one run.

    PY tools/bench_dask_assign.py DIR   # DIR: 16 files of 2M x 2 made if empty
"""

import pathlib
import sys
import time

from distributed import Client, LocalCluster

import shoal
import shoal.dask as sd

if __name__ == "__main__":
    root = pathlib.Path(sys.argv[1])
    files = sorted(root.glob("*.parquet"))
    if not files:
        for i in range(16):
            shoal.gen.blobs(
                2_000_000, dim=2, k=10, seed=i, out=root / f"part-{i:02d}.parquet", progress=False
            )
        files = sorted(root.glob("*.parquet"))
    km = shoal.KMeans(10, random_state=0).fit(shoal.gen.blobs(100_000, dim=2, k=10, seed=0)[0])

    def best(f):
        return min(f() for _ in range(3))

    def local():
        t = time.perf_counter()
        for f in files:
            shoal.assign_file(f, model=km, out=pathlib.Path("/tmp/out_local") / f.name)
        return time.perf_counter() - t

    pathlib.Path("/tmp/out_local").mkdir(exist_ok=True)
    tl = best(local)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as c,
        Client(c) as cl,
    ):

        def dist():
            t = time.perf_counter()
            sd.assign_parquet(root, km, "/tmp/out_dask", client=cl)
            return time.perf_counter() - t

        td = best(dist)
    print(
        f"{len(files)} files, 32M rows x 2: local assign_file loop {tl:.3f} s, assign_parquet on 2 workers {td:.3f} s, ratio {td / tl:.2f}"
    )
