"""``shoal-dask``: ``shoal fit``, ``shoal assign`` and ``shoal linkage
--micro-clusters`` on a Dask cluster, for people who do not write Python.

    shoal-dask --local 2 fit data/ -k 50 --model MODEL.json
    shoal-dask --scheduler tcp://host:8786 assign data/ --model MODEL.json --out-dir labels/
    shoal-dask --local 2 linkage data/ --method ward --micro-clusters 2000 \\
        --criterion maxclust -t 50 --labels-dir ward/ --z Z.npy

DATASET is a directory (every .parquet file below it), a quoted glob, or
files. ``fit`` writes the MODEL.json ``shoal fit`` writes (``shoal assign``
reads it). Exit status: 0 done, 1 bad data or a failed run (the message
names the file), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np


def _dataset(names: list[str]) -> Any:
    return names[0] if len(names) == 1 else names


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shoal-dask", description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--scheduler", metavar="ADDR", help="a running scheduler, e.g. tcp://HOST:8786")
    where.add_argument("--local", type=int, metavar="N", help="start a loopback LocalCluster of N workers")
    p.add_argument("--threads-per-worker", type=int, default=1, metavar="T", help="with --local (default 1)")
    p.add_argument(
        "--memory", default="256MiB", help="the fit's memory budget, as shoal fit's (default 256MiB)"
    )
    p.add_argument("--columns", type=lambda s: s.split(","), metavar="A,B,...", help="columns to cluster")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="k-means, as shoal fit; writes MODEL.json")
    f.add_argument("dataset", nargs="+", metavar="DATASET")
    f.add_argument("-k", type=int, required=True, metavar="K")
    f.add_argument("--algo", choices=["lloyd", "subsample"], default="lloyd")
    f.add_argument(
        "--init",
        default="kmeans-parallel",
        metavar="METHOD|FILE.npy",
        help="kmeans-parallel, kmeans++, random or a .npy",
    )
    f.add_argument("--n-init", type=int, default=1, metavar="N")
    f.add_argument("--max-iter", type=int, default=300, metavar="N")
    f.add_argument("--tol", type=float, default=1e-4)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--sample-size", type=int, metavar="M")
    f.add_argument("--model", required=True, metavar="MODEL.json")

    a = sub.add_parser("assign", help="every row's nearest centroid and distance, one file per input")
    a.add_argument("dataset", nargs="+", metavar="DATASET")
    a.add_argument("--model", required=True, metavar="MODEL.json")
    a.add_argument("--out-dir", required=True, metavar="DIR")

    h = sub.add_parser(
        "linkage", help="micro-clusters on Dask, the tree here (shoal linkage --micro-clusters)"
    )
    h.add_argument("dataset", nargs="+", metavar="DATASET")
    h.add_argument("--method", default="ward")
    h.add_argument("--micro-clusters", type=int, required=True, metavar="M")
    h.add_argument("--criterion", metavar="NAME", help="fcluster's criterion, e.g. maxclust")
    h.add_argument("-t", type=float, metavar="T", help="fcluster's threshold")
    h.add_argument("--labels-dir", metavar="DIR", help="every row's flat label, one file per input")
    h.add_argument("--z", metavar="Z.npy", help="scipy's linkage matrix")
    h.add_argument("--seed", type=int, default=0)
    return p


_INITS = {
    "kmeans-parallel": "k-means||",
    "kmeans||": "k-means||",
    "kmeans++": "k-means++",
    "random": "random",
}


def _run(args: argparse.Namespace, client: Any) -> None:
    import shoal.dask as sd

    progress = False if args.quiet else None
    data = _dataset(args.dataset)
    if args.command == "fit":
        init: Any = _INITS.get(args.init, args.init)
        if init not in _INITS.values():
            if not os.path.isfile(init):
                raise _Usage(
                    f"--init {args.init!r}: expected kmeans-parallel, kmeans++, random or a .npy file"
                )
            init = np.load(init)
        km = sd.KMeans(
            args.k,
            init=init,
            n_init=args.n_init,
            max_iter=args.max_iter,
            tol=args.tol,
            random_state=args.seed,
            algorithm=args.algo,
            sample_size=args.sample_size,
            columns=args.columns,
            memory=args.memory,
            verbose=0 if args.quiet else 1,
            client=client,
        )
        km.fit(data, model_out=args.model)
        print(
            f"{args.model}: k = {args.k}, {km.n_iter_} iterations, inertia {km.inertia_:.6g}, "
            f"{int(km.counts_.sum())} rows"
        )
    elif args.command == "assign":
        import json

        with open(args.model) as fh:
            m = json.load(fh)
        if m.get("format") != "shoal-kmeans-1" or m.get("scaling"):
            raise _Usage(f"{args.model}: a shoal model without scaling expected")
        centroids = np.asarray(m["centroids"], dtype=np.float32)
        r = sd.assign_parquet(
            data, centroids=centroids, out_dir=args.out_dir, columns=args.columns, client=client
        )
        print(f"{args.out_dir}: {len(r['outputs'])} files, {r['rows']} rows, inertia {r['inertia']:.6g}")
    else:
        if (args.criterion is None) != (args.t is None):
            raise _Usage("give --criterion and -t together")
        r = sd.linkage_micro(
            data,
            args.method,
            micro_clusters=args.micro_clusters,
            criterion=args.criterion,
            t=args.t,
            labels_dir=args.labels_dir,
            columns=args.columns,
            seed=args.seed,
            client=client,
            progress=progress,
        )
        if args.z:
            _save_atomic(args.z, r.Z)
        print(f"{r.rows} rows, {len(r.Z) + 1} leaves" + (f", clusters of {r.sizes} rows" if r.sizes else ""))


class _Usage(Exception):
    pass


def _save_atomic(path: str, a: np.ndarray) -> None:
    """np.save to a hidden temporary beside ``path``, renamed into place."""
    d, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(d, f".{name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.save(fh, a)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("shoal-dask: needs dask.distributed: pip install shoal[dask]", file=sys.stderr)
        return 2
    cluster = None
    try:
        if args.local is not None:
            if args.local < 1:
                raise _Usage("--local needs at least 1 worker")
            cluster = LocalCluster(
                n_workers=args.local,
                threads_per_worker=args.threads_per_worker,
                processes=True,
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            client = Client(args.scheduler)
        try:
            _run(args, client)
        finally:
            client.close()
    except _Usage as e:
        print(f"shoal-dask: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shoal-dask: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError) as e:
        print(f"shoal-dask: error: {e}", file=sys.stderr)
        return 1
    finally:
        if cluster is not None:
            cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
