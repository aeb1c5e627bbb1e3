#!/usr/bin/env python3
"""Peer read passes over the same files shoal reads, for benches/README.md.

usage: peer_read.py pyarrow FILE.parquet [THREADS]   pyarrow iter_batches decode pass
       peer_read.py numpy_mmap FILE.f32 DIM           numpy memmap, chunked sum
Prints one JSON line: wall seconds, rows/s and peak RSS of this process.
Run with numpy and pyarrow installed in a virtual environment outside the repo.
"""
import json, resource, sys, time

import numpy as np

mode, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
rows = 0
if mode == "pyarrow":
    import pyarrow as pa
    import pyarrow.parquet as pq
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)
    pf = pq.ParquetFile(path)
    for b in pf.iter_batches(batch_size=1_000_000, use_threads=threads > 1):
        rows += b.num_rows
elif mode == "numpy_mmap":
    dim = int(sys.argv[3])
    x = np.memmap(path, dtype="<f4", mode="r").reshape(-1, dim)
    acc = 0.0
    step = 1 << 22
    for s in range(0, x.shape[0], step):
        acc += float(x[s:s + step].sum(dtype=np.float64))
    rows = x.shape[0]
else:
    sys.exit(f"unknown mode {mode}")
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"peer": mode, "file": path, "rows": rows, "wall_s": round(wall, 3),
                  "rows_per_s": rows / wall, "peak_rss_bytes": rss}))
