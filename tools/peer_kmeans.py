#!/usr/bin/env python3
"""Peer k-means timings on the same .npy files shoal uses (benches/README.md).

usage:
  peer_kmeans.py assign PEER X.npy C.npy [REPEAT]      PEER: sklearn | faiss | scipy
  peer_kmeans.py lloyd  PEER X.npy C.npy ITERS         full Lloyd from C (tol 0): sklearn | faiss
  peer_kmeans.py e2e    sklearn X.npy K SEED           KMeans(k, n_init=1) incl. k-means++
  peer_kmeans.py faiss_default faiss X.npy K SEED        faiss.Kmeans default (sampled) + full assignment
  peer_kmeans.py minibatch sklearn X.npy K SEED BATCH  MiniBatchKMeans(k, batch_size=BATCH) fit, then full-data inertia
  peer_kmeans.py inertia none X.npy C.npy              inertia of the given centres (e.g. the true ones)
Prints one JSON line: seconds (in-process, best of REPEAT for assign), points/s,
inertia, iterations, peak RSS. Needs numpy, scipy, scikit-learn, faiss-cpu.
"""
import json, resource, sys, time

import numpy as np

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

mode, peer = sys.argv[1], sys.argv[2]
X = np.load(sys.argv[3])
out = {"mode": mode, "peer": peer, "n": X.shape[0], "d": X.shape[1]}

def inertia_of(C):
    import faiss
    idx = faiss.IndexFlatL2(C.shape[1]); idx.add(np.ascontiguousarray(C, dtype=np.float32))
    D, _ = idx.search(X, 1)
    return float(D.astype(np.float64).sum())

if mode == "assign":
    C = np.load(sys.argv[4]).astype(np.float32)
    repeat = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    best = float("inf")
    if peer == "sklearn":
        from sklearn.cluster import KMeans
        km = KMeans(n_clusters=len(C), init=C, n_init=1, max_iter=1).fit(X[:len(C) * 2])
        km.cluster_centers_ = C
        f = lambda: km.predict(X)
    elif peer == "faiss":
        import faiss
        idx = faiss.IndexFlatL2(X.shape[1]); idx.add(C)
        f = lambda: idx.search(X, 1)
    elif peer == "scipy":
        from scipy.cluster.vq import vq
        f = lambda: vq(X, C, check_finite=False)
    for _ in range(repeat):
        t = time.perf_counter(); f(); best = min(best, time.perf_counter() - t)
    out.update(k=len(C), seconds=best, points_per_s=X.shape[0] / best)
elif mode == "lloyd":
    C = np.load(sys.argv[4]).astype(np.float32)
    iters = int(sys.argv[5])
    t = time.perf_counter()
    if peer == "sklearn":
        from sklearn.cluster import KMeans
        km = KMeans(n_clusters=len(C), init=C, n_init=1, max_iter=iters, tol=0, algorithm="lloyd").fit(X)
        cent, n_iter = km.cluster_centers_, int(km.n_iter_)
    elif peer == "faiss":
        import faiss
        km = faiss.Kmeans(X.shape[1], len(C), niter=iters, max_points_per_centroid=10**9, seed=1)
        km.train(X, init_centroids=C)
        cent, n_iter = km.centroids, iters
    secs = time.perf_counter() - t
    out.update(k=len(C), seconds=secs, iterations=n_iter, inertia=inertia_of(cent))
elif mode == "e2e":
    from sklearn.cluster import KMeans
    k, seed = int(sys.argv[4]), int(sys.argv[5])
    t = time.perf_counter()
    km = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(X)
    out.update(k=k, seconds=time.perf_counter() - t, iterations=int(km.n_iter_), inertia=float(km.inertia_))
elif mode == "faiss_default":
    import faiss
    k, seed = int(sys.argv[4]), int(sys.argv[5])
    t = time.perf_counter()
    km = faiss.Kmeans(X.shape[1], k, niter=20, seed=seed)
    km.train(X)
    D, I = km.index.search(X, 1)
    out.update(k=k, seconds=time.perf_counter() - t, inertia=float(D.astype(np.float64).sum()))
elif mode == "minibatch":
    from sklearn.cluster import MiniBatchKMeans
    k, seed, batch = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    t = time.perf_counter()
    km = MiniBatchKMeans(n_clusters=k, batch_size=batch, random_state=seed, n_init=1).fit(X)
    secs = time.perf_counter() - t
    out.update(k=k, batch=batch, seconds=secs, steps=int(km.n_steps_), inertia=inertia_of(km.cluster_centers_))
elif mode == "inertia":
    C = np.load(sys.argv[4]).astype(np.float32)
    out.update(k=len(C), inertia=inertia_of(C))
out["peak_rss_bytes"] = rss()
print(json.dumps(out))
