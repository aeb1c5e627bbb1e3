#!/usr/bin/env python3
"""The streaming pass over a Parquet dataset of many files against the same
row groups in one file, and over a local S3-compatible server (moto) against
the local disk.

usage: bench_dataset.py --shoal target/release/shoal --dir DIR
                        [--rows 20M] [--dim 8] [--files 100] [--repeat 5]
                        [--s3]   (needs moto[server] and boto3 in this Python)

Writes DIR/one.parquet with `shoal gen` (--files row groups), splits it with
pyarrow into DIR/ds/part=NNN/part-0.parquet (one row group each, the same
row groups in the same order), then times `shoal bench read` on each,
alternating, cold (every file evicted from the page cache with
posix_fadvise DONTNEED before the run: the files read from disk, as in
production) and warm. With --s3 it uploads both to a moto server on
127.0.0.1 and times the same pass against the URLs, with the number of
requests shoal made (`-v`). Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import time


def evict(paths: list[pathlib.Path]) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def bench(shoal: str, target: str, env: dict[str, str] | None = None) -> tuple[float, int | None]:
    r = subprocess.run(
        [shoal, "bench", "read", target, "--json", "-q", "-v"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    secs = json.loads(r.stdout)["seconds"]
    req = None
    for line in r.stderr.splitlines():
        if line.startswith("object storage:"):
            req = int(line.split()[2])
    return secs, req


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shoal", required=True)
    ap.add_argument("--dir", required=True, type=pathlib.Path)
    ap.add_argument("--rows", default="20M")
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--s3", action="store_true")
    a = ap.parse_args()
    import pyarrow.parquet as pq

    a.dir.mkdir(parents=True, exist_ok=True)
    one = a.dir / "one.parquet"
    rows = int(
        float(a.rows.rstrip("Mk"))
        * (1_000_000 if a.rows.endswith("M") else 1000 if a.rows.endswith("k") else 1)
    )
    rg = rows // a.files
    if not one.exists():
        subprocess.run(
            [
                a.shoal,
                "gen",
                "blobs",
                "--rows",
                str(rows),
                "--dim",
                str(a.dim),
                "-k",
                "16",
                "--row-group-rows",
                str(rg),
                "--out",
                str(one),
                "-q",
            ],
            check=True,
        )
    ds = a.dir / "ds"
    if not ds.exists():
        f = pq.ParquetFile(one)
        tmp = a.dir / "ds.tmp"
        for g in range(f.num_row_groups):
            t = f.read_row_group(g)
            out = tmp / f"part={g:03d}" / "part-0.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(t, out, row_group_size=t.num_rows, compression="snappy", use_dictionary=False)
        tmp.rename(ds)
    parts = sorted(ds.rglob("*.parquet"))
    res: dict[str, list[float]] = {"one_cold": [], "ds_cold": [], "one_warm": [], "ds_warm": []}
    for _ in range(a.repeat):
        for name, target, files in (("one", one, [one]), ("ds", ds, parts)):
            evict(files)
            res[f"{name}_cold"].append(bench(a.shoal, str(target))[0])
            res[f"{name}_warm"].append(bench(a.shoal, str(target))[0])
    med = {k: statistics.median(v) for k, v in res.items()}
    out = {
        "rows": rows,
        "dim": a.dim,
        "files": len(parts),
        "bytes": sum(p.stat().st_size for p in parts),
        "median_seconds": med,
        "dataset_over_file_cold": med["ds_cold"] / med["one_cold"],
        "dataset_over_file_warm": med["ds_warm"] / med["one_warm"],
    }
    if a.s3:
        import boto3

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(3)
            endpoint = f"http://127.0.0.1:{port}"
            c = boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id="x",
                aws_secret_access_key="x",
                region_name="us-east-1",
            )
            c.create_bucket(Bucket="bench")
            c.upload_file(str(one), "bench", "one.parquet")
            for p in parts:
                c.upload_file(str(p), "bench", "ds/" + p.relative_to(ds).as_posix())
            env = dict(
                os.environ,
                AWS_ACCESS_KEY_ID="x",
                AWS_SECRET_ACCESS_KEY="x",
                AWS_REGION="us-east-1",
                AWS_ENDPOINT_URL=endpoint,
                AWS_ALLOW_HTTP="true",
            )
            s3: dict[str, list[float]] = {"one": [], "ds": []}
            reqs: dict[str, int | None] = {}
            for _ in range(a.repeat):
                for name, url in (("one", "s3://bench/one.parquet"), ("ds", "s3://bench/ds/")):
                    secs, req = bench(a.shoal, url, env)
                    s3[name].append(secs)
                    reqs[name] = req
            # The server's own pace: every object of the dataset fetched
            # whole, one after another, by boto3.
            bare = []
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                for p in parts:
                    c.get_object(Bucket="bench", Key="ds/" + p.relative_to(ds).as_posix())["Body"].read()
                bare.append(time.perf_counter() - t0)
            s3["boto3_get_all_ds"] = bare
            m = {k: statistics.median(v) for k, v in s3.items()}
            f = pq.ParquetFile(one)
            out["s3"] = {
                "median_seconds": m,
                "requests_per_pass": reqs,
                "row_groups": f.num_row_groups,
                "column_chunks": f.num_row_groups * f.metadata.num_columns,
                "ds_disk_cold_over_s3": med["ds_cold"] / m["ds"],
                "ds_disk_warm_over_s3": med["ds_warm"] / m["ds"],
                "boto3_get_over_shoal_pass": m["boto3_get_all_ds"] / m["ds"],
            }
        finally:
            moto.terminate()
            moto.wait(10)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
