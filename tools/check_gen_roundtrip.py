#!/usr/bin/env python3
"""Reads files written by `shoal gen` with numpy and pyarrow (not with
shoal) and checks them: shapes, dtypes, that every format holds the same
values for the same seed, labels and centres consistent with the points.

usage: check_gen_roundtrip.py PATH/TO/shoal
Needs numpy and pyarrow (a virtual environment outside the repo). Exit 0 = ok.
"""
import json, os, subprocess, sys, tempfile

import numpy as np
import pyarrow.parquet as pq

shoal = sys.argv[1]
with tempfile.TemporaryDirectory() as d:
    def gen(*args):
        subprocess.run([shoal, "gen", *args, "-q"], check=True, stdout=subprocess.DEVNULL)

    common = ["--rows", "300000", "--seed", "5"]
    gen("blobs", *common, "--dim", "3", "--k", "4", "--out", f"{d}/b.npy",
        "--labels-out", f"{d}/l.npy", "--centers-out", f"{d}/c.npy")
    gen("blobs", *common, "--dim", "3", "--k", "4", "--out", f"{d}/b.parquet",
        "--labels-out", f"{d}/l.parquet", "--row-group-rows", "100000")
    gen("blobs", *common, "--dim", "3", "--k", "4", "--out", f"{d}/b.f32")
    gen("blobs", *common, "--dim", "3", "--k", "4", "--out", f"{d}/b16.parquet", "--dtype", "f16")
    gen("blobs", *common, "--dim", "3", "--k", "4", "--out", f"{d}/b64.npy", "--dtype", "f64")
    gen("spatial", *common, "--k", "8", "--out", f"{d}/s.parquet", "--labels-out", f"{d}/sl.npy")

    x = np.load(f"{d}/b.npy")
    assert x.dtype == np.float32 and x.shape == (300000, 3), (x.dtype, x.shape)
    t = pq.read_table(f"{d}/b.parquet")
    assert t.column_names == ["x0", "x1", "x2"]
    assert pq.ParquetFile(f"{d}/b.parquet").metadata.num_row_groups == 3
    xp = np.stack([t[c].to_numpy() for c in t.column_names], 1)
    assert np.array_equal(x, xp), "parquet and npy differ"
    assert json.load(open(f"{d}/b.f32.json"))["dim"] == 3
    assert np.array_equal(x, np.fromfile(f"{d}/b.f32", "<f4").reshape(-1, 3)), "raw differs"
    t16 = pq.read_table(f"{d}/b16.parquet")
    assert str(t16.schema.field("x0").type) == "halffloat"
    x16 = np.stack([t16[c].to_numpy() for c in t16.column_names], 1)
    assert np.array_equal(x16, x.astype(np.float16)), "f16 is not the rounded f32"
    x64 = np.load(f"{d}/b64.npy")
    assert x64.dtype == np.float64 and np.array_equal(x64.astype(np.float32), x)
    lab = np.load(f"{d}/l.npy")
    assert lab.dtype == np.int32 and lab.shape == (300000,)
    assert np.array_equal(lab, pq.read_table(f"{d}/l.parquet")["cluster"].to_numpy())
    c = np.load(f"{d}/c.npy")
    for k in range(4):
        assert np.abs(x[lab == k].mean(0) - c[k]).max() < 0.03, k
    s = pq.read_table(f"{d}/s.parquet")
    assert s.column_names == ["lat", "lon"]
    sl = np.load(f"{d}/sl.npy")
    assert 0.04 < (sl == -1).mean() < 0.06
print("ok: numpy and pyarrow read every generated file; formats agree bit for bit")
