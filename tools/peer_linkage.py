#!/usr/bin/env python3
"""Time scipy's and fastcluster's hierarchical linkage on a .npy point set.

usage: peer_linkage.py LIB METHOD X.npy [--labels-out L.npy -t K]

LIB is `scipy`, `fastcluster` (linkage on the condensed matrix, as scipy) or
`fastcluster_vector` (fastcluster.linkage_vector, O(n*d) memory; single,
ward, centroid, median only). Prints one JSON line: seconds of the linkage
alone (pdist included where the library needs it), peak RSS of the process,
and the top merge heights (to check the answers agree with shoal's).
"""
import json
import resource
import sys
import time

import numpy as np


def main():
    lib, method, path = sys.argv[1:4]
    x = np.load(path).astype(np.float64)
    t0 = time.perf_counter()
    if lib == "scipy":
        from scipy.cluster.hierarchy import linkage
        z = linkage(x, method)
    elif lib == "fastcluster":
        import fastcluster
        z = fastcluster.linkage(x, method=method, metric="euclidean")
    elif lib == "fastcluster_vector":
        import fastcluster
        z = fastcluster.linkage_vector(x, method=method)
    else:
        raise SystemExit(f"unknown library {lib}")
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "lib": lib, "method": method, "n": int(x.shape[0]), "dim": int(x.shape[1]),
        "seconds": secs, "peak_rss_bytes": rss,
        "top_heights": [float(h) for h in z[::-1, 2][:5]],
    }))


if __name__ == "__main__":
    main()
