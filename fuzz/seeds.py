"""Adds the seed inputs of shoal's fuzz targets to fuzz/corpus/TARGET/.

Seeds are small valid (and a few broken) inputs of every kind each target
reads: the reader fixtures of ../shared/data, scipy's linkage test vectors,
and files written here by numpy and pyarrow with every encoding and
compression the Parquet reader meets. The fuzzer grows its corpus from them;
`cargo fuzz cmin` then minimises fuzz/corpus/ in place.

    python fuzz/seeds.py          (numpy, pyarrow and scipy needed)
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.cluster.hierarchy import linkage

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
OUT = HERE / "corpus"
MAX_SEED = 8192


def put(target: str, name: str, data: bytes) -> None:
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def npy_bytes(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, a, allow_pickle=False)
    return b.getvalue()


def parquet_bytes(table: pa.Table, **kw: object) -> bytes:
    b = io.BytesIO()
    pq.write_table(table, b, **kw)
    return b.getvalue()


def fixtures() -> None:
    for f in sorted((SHARED / "fixtures").iterdir()):
        if f.name.endswith(".expect.npy") or f.stat().st_size > MAX_SEED:
            continue
        kind = {".npy": "npy", ".csv": "csv", ".parquet": "parquet"}.get(f.suffix)
        if kind:
            put(kind, f.name, f.read_bytes())


def npy() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 3))
    for dt in ["<f4", ">f4", "<f8", "<f2", "<i4", "<i8", "<u2", "|u1", "|i1"]:
        put("npy", f"gen_{dt[1:]}_{dt[0] != '>'}.npy", npy_bytes((x * 10).astype(dt)))
    put("npy", "gen_fortran.npy", npy_bytes(np.asfortranarray(x.astype("<f4"))))
    put("npy", "gen_1d.npy", npy_bytes(x[:, 0].astype("<f4")))
    put("npy", "gen_empty.npy", npy_bytes(np.zeros((0, 3), "<f4")))
    put("npy", "gen_nan.npy", npy_bytes(np.array([[1, np.nan], [np.inf, 2]], "<f4")))
    b = bytearray(npy_bytes(x.astype("<f4")))
    b[6] = 2  # version 2.0 header layout
    put("npy", "gen_v2_claim.npy", bytes(b))


def csv() -> None:
    put("csv", "gen_plain.csv", b"x,y\n1,2\n3.5,-4e3\n")
    put("csv", "gen_noheader.csv", b"1,2,3\n4,5,6\n")
    put("csv", "gen_quoted.csv", b'"a","b"\n"1","2"\n,3\nnan,inf\n')
    put("csv", "gen_crlf.csv", b"lat,lon\r\n48.85,2.35\r\n51.5,-0.12\r\n")
    put("csv", "gen_semicolon.csv", b"a;b\n1;2\n")


def parquet() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 2)).astype("float32")
    base = pa.table({"x": x[:, 0], "y": x[:, 1]})
    for comp in ["NONE", "SNAPPY", "GZIP", "ZSTD", "LZ4", "BROTLI"]:
        put("parquet", f"gen_{comp.lower()}.parquet", parquet_bytes(base, compression=comp))
    put(
        "parquet",
        "gen_rowgroups_v2.parquet",
        parquet_bytes(base, row_group_size=5, data_page_version="2.0", compression="NONE"),
    )
    put(
        "parquet",
        "gen_dict.parquet",
        parquet_bytes(pa.table({"x": np.repeat(x[:3, 0], 4)}), use_dictionary=True),
    )
    put(
        "parquet",
        "gen_plain_nostats.parquet",
        parquet_bytes(base, use_dictionary=False, write_statistics=False, compression="NONE"),
    )
    mixed = pa.table(
        {
            "id": pa.array(range(6), pa.int64()),
            "f64": pa.array([1.0, None, 3.0, 4.0, 5.0, 6.0]),
            "i32": pa.array([1, 2, 3, 4, 5, 6], pa.int32()),
            "f16": pa.array(np.arange(6, dtype=np.float16)),
            "name": pa.array(list("abcdef")),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(np.arange(12, dtype="float32")), 2),
            "lst": pa.array([[1.0, 2.0]] * 6, pa.list_(pa.float64())),
        }
    )
    put("parquet", "gen_mixed.parquet", parquet_bytes(mixed, compression="NONE"))
    put("parquet", "gen_empty.parquet", parquet_bytes(base.slice(0, 0)))


def raw_f32() -> None:
    body = np.arange(12, dtype="<f4").tobytes()
    for i, side in enumerate([b'{"dim": 3}', b'{"dim": 4}', b'{"dim": 0}', b"[3]", b""]):
        put("raw_f32", f"gen_side{i}.bin", bytes([len(side)]) + side + body)
    for name in ["raw3", "raw_ragged"]:
        side = (SHARED / "fixtures" / f"{name}.f32.json").read_bytes()
        body = (SHARED / "fixtures" / f"{name}.f32").read_bytes()
        put("raw_f32", f"{name}.bin", bytes([len(side)]) + side + body)
    put("raw_f32", "gen_ragged.bin", bytes([10]) + b'{"dim": 5}' + body)


def z_npy() -> None:
    for f in sorted((SHARED / "scipy_cluster" / "expected").glob("linkage_*.csv")):
        z = np.loadtxt(f, delimiter=",", ndmin=2, skiprows=1)
        put("z_npy", f.stem + ".npy", npy_bytes(z.astype("<f8")))
    x = np.random.default_rng(2).normal(size=(9, 2))
    for method in ["single", "ward", "centroid"]:
        put("z_npy", f"gen_{method}.npy", npy_bytes(linkage(x, method)))
    z = linkage(x, "single")
    z[3, 0] = 40  # a merge of a cluster that does not exist yet
    put("z_npy", "gen_bad_index.npy", npy_bytes(z))


def model_json() -> None:
    model = {
        "format": "shoal-kmeans-1",
        "algo": "lloyd",
        "k": 2,
        "dim": 2,
        "columns": ["x", "y"],
        "centroids": [[0.0, 1.0], [2.0, 3.0]],
        "counts": [5, 7],
        "inertia": 1.5,
        "iterations": 3,
        "converged": True,
        "empty_cluster_relocations": 0,
        "scaling": {"kind": "standardize", "shift": [0.0, 1.0], "scale": [1.0, 2.0]},
        "init": "k-means++",
        "n_init": 1,
        "seed": 0,
        "tol": 1e-4,
        "max_iter": 300,
        "rows": 12,
        "skipped_rows": 0,
        "source": "points.parquet",
    }
    put("model_json", "gen_model.json", json.dumps(model).encode())
    m2 = dict(model, scaling=None, k=3)
    put("model_json", "gen_bad_k.json", json.dumps(m2).encode())


def tree() -> None:
    rng = np.random.default_rng(3)
    for i in range(8):
        put("tree", f"gen_{i}.bin", rng.integers(0, 256, size=8 + 8 * i, dtype=np.uint8).tobytes())


def args() -> None:
    seeds = {
        0: ["256MiB", "1.5G", "100", "4KB", "0", "18446744073709551615"],
        1: ["30s", "500ms", "1h", "2m30s", "0.5"],
        2: ["2..30", "2,4,8", "1..1"],
        3: ["1000", "1_000", "1e6"],
        4: ["1M,10M", "1M..1B", "100k"],
        5: ["2,32", "1..4"],
        6: ["1,2", "1..4", "2"],
        7: ["1000x800", "10x10"],
        8: ["-10,35,30,60", "0,0,1,1"],
        9: ["500m", "50km", "0.01rad", "0.3", "1e-3"],
    }
    for which, values in seeds.items():
        for i, v in enumerate(values):
            put("args", f"gen_{which}_{i}.txt", struct.pack("B", which) + v.encode())


def main() -> None:
    for f in [fixtures, npy, csv, parquet, raw_f32, z_npy, model_json, tree, args]:
        f()
    for d in sorted(OUT.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")


if __name__ == "__main__":
    main()
