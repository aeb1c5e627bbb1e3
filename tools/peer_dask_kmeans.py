#!/usr/bin/env python3
"""dask-ml's KMeans on the dataset tools/bench_dask_kmeans.py makes: the
16 Parquet files read with dask.dataframe, on a loopback LocalCluster of 2
worker processes x 1 thread, 10 iterations from the same centres (tol 0).
Runs in the peers' environment (dask[distributed,dataframe], dask-ml, pyarrow).

    PEERS_PY tools/peer_dask_kmeans.py DIR [ITERS]
"""

import pathlib
import sys
import time

import numpy as np

if __name__ == "__main__":
    import dask.dataframe as dd
    from dask_ml.cluster import KMeans
    from distributed import Client, LocalCluster

    root = pathlib.Path(sys.argv[1])
    iters = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = Client(lc)
    init = np.load(root / "init.npy")
    t = time.perf_counter()
    X = dd.read_parquet(sorted(str(p) for p in root.glob("*.parquet"))).to_dask_array(lengths=True)
    km = KMeans(n_clusters=init.shape[0], init=init, max_iter=iters, tol=0.0, random_state=0).fit(X)
    print(f"dask-ml fit {time.perf_counter() - t:.2f} s, inertia {km.inertia_:.6e}")
    c.close()
    lc.close()
