"""Parquet datasets written by pyarrow (Hive-partitioned directories) and
object storage (a local S3-compatible server, moto, on 127.0.0.1): the
command line and the Python package read them as one source, with the
results of one local file holding the same row groups in the same order."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import shoal

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
ds = pytest.importorskip("pyarrow.dataset")

ROOT = pathlib.Path(__file__).resolve().parents[2]


def shoal_bin() -> str:
    b = os.environ.get("SHOAL_BIN") or str(ROOT / "target" / "debug" / "shoal")
    if not os.path.isfile(b):
        pytest.skip(f"the shoal binary is not built at {b} (cargo build, or set SHOAL_BIN)")
    return b


def run(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([shoal_bin(), *args], capture_output=True, text=True, env=env, timeout=600)
    if check and r.returncode != 0:
        raise AssertionError(f"shoal {' '.join(args)} exited {r.returncode}: {r.stderr}")
    return r


def model_of(path: pathlib.Path) -> dict:
    m = json.loads(path.read_text())
    m.pop("source", None)
    return m


@pytest.fixture(scope="module")
def hive(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, pathlib.Path]:
    """A pyarrow dataset (Hive partitions region/day, several files per
    partition, small pages), and one file of its row groups in path order."""
    root = tmp_path_factory.mktemp("hive")
    rng = np.random.default_rng(7)
    n = 120_000
    centres = rng.uniform(-10, 10, size=(6, 3))
    lab = rng.integers(0, 6, n)
    x = (centres[lab] + rng.normal(size=(n, 3))).astype(np.float32)
    t = pa.table(
        {
            "x": x[:, 0],
            "y": x[:, 1],
            "z": x[:, 2],
            "id": np.arange(n, dtype=np.int64),
            "region": rng.choice(["north", "south", "east west"], n),
            "day": rng.integers(1, 3, n).astype(np.int32),
        }
    )
    out = root / "ds"
    ds.write_dataset(
        t,
        out,
        format="parquet",
        partitioning=["region", "day"],
        partitioning_flavor="hive",
        max_rows_per_file=9000,
        max_rows_per_group=3000,
        file_options=ds.ParquetFileFormat().make_write_options(data_page_size=4096),
    )
    (out / "_SUCCESS").write_text("")
    parts = sorted(p for p in out.rglob("*.parquet"))
    assert len(parts) > 6
    one = root / "one.parquet"
    schema = pq.read_schema(parts[0])
    with pq.ParquetWriter(one, schema, data_page_size=4096) as w:
        for p in parts:
            f = pq.ParquetFile(p)
            for g in range(f.num_row_groups):
                rg = f.read_row_group(g)
                w.write_table(rg, row_group_size=rg.num_rows)
    return out, one


def test_a_pyarrow_dataset_fits_as_one_file(hive, tmp_path):
    out, one = hive
    cols = "x,y,z"
    run(
        "fit",
        str(one),
        "--columns",
        cols,
        "-k",
        "6",
        "--seed",
        "3",
        "--model",
        str(tmp_path / "m1.json"),
        "--labels",
        str(tmp_path / "l1.npy"),
    )
    run(
        "fit",
        str(out),
        "--columns",
        cols,
        "-k",
        "6",
        "--seed",
        "3",
        "--model",
        str(tmp_path / "m2.json"),
        "--labels",
        str(tmp_path / "l2.npy"),
    )
    assert model_of(tmp_path / "m1.json") == model_of(tmp_path / "m2.json")
    assert (tmp_path / "l1.npy").read_bytes() == (tmp_path / "l2.npy").read_bytes()

    # The partition keys and the row count, as pyarrow sees the dataset.
    info = json.loads(run("info", str(out), "--json").stdout)
    d = ds.dataset(out, format="parquet", partitioning="hive")
    assert info["rows"] == d.count_rows()
    keys = dict((k, v) for k, v in info["dataset"]["partitions"])
    assert keys["region"] == ["east west", "north", "south"]  # percent-decoded
    assert keys["day"] == ["1", "2"]

    # --filter: pyarrow's filtered row count.
    f = json.loads(run("info", str(out), "--filter", "region=north,day=2", "--json").stdout)
    want = d.count_rows(filter=(ds.field("region") == "north") & (ds.field("day") == 2))
    assert f["rows"] == want

    # The Python package takes the directory as a path.
    km = shoal.KMeans(n_clusters=6, random_state=3).fit_file(str(out), columns=["x", "y", "z"])
    assert km.cluster_centers_.shape == (6, 3)


def test_labels_dir_joins_back_with_pyarrow(hive, tmp_path):
    out, _ = hive
    run("fit", str(out), "--columns", "x,y,z", "-k", "6", "--model", str(tmp_path / "m.json"))
    labels = tmp_path / "labels"
    run(
        "assign",
        str(out),
        "--columns",
        "x,y,z",
        "--model",
        str(tmp_path / "m.json"),
        "--labels-dir",
        str(labels),
        "--keep-columns",
    )
    for p in sorted(out.rglob("*.parquet")):
        rel = p.relative_to(out)
        src = pq.read_table(p)
        got = pq.read_table(labels / rel)
        assert got.num_rows == src.num_rows
        assert got.column("id").equals(src.column("id"))
        region = rel.parts[0].split("=", 1)[1]
        assert set(got.column("region").to_pylist()) == {region.replace("%20", " ")}
        c = got.column("cluster").to_numpy()
        assert c.min() >= 0 and c.max() < 6


# ---- object storage --------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(env_extra: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    pytest.importorskip("moto", reason="moto[server] is not installed (pip install .[test])")
    port = free_port()
    env = dict(os.environ, **(env_extra or {}))
    p = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return p, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    p.kill()
    pytest.fail("moto server did not start")


def s3_env(endpoint: str, home: pathlib.Path, key: str = "testing") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        AWS_ALLOW_HTTP="true",
        HOME=str(home),  # no profile of the machine's
    )
    return env


def client(endpoint: str):
    boto3 = pytest.importorskip("boto3")
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture(scope="module")
def s3(hive, tmp_path_factory):
    """A moto server holding the dataset under s3://data/ds/ and the single
    file at s3://data/one.parquet."""
    out, one = hive
    proc, endpoint = start_moto()
    c = client(endpoint)
    c.create_bucket(Bucket="data")
    for p in out.rglob("*"):
        if p.is_file():
            c.upload_file(str(p), "data", "ds/" + p.relative_to(out).as_posix())
    c.upload_file(str(one), "data", "one.parquet", ExtraArgs={"ACL": "public-read"})
    home = tmp_path_factory.mktemp("home")
    yield endpoint, s3_env(endpoint, home), c
    proc.terminate()
    proc.wait(10)


def test_s3_results_equal_the_local_run(hive, s3, tmp_path):
    out, one = hive
    endpoint, env, c = s3
    info = json.loads(run("info", "s3://data/ds", "--json", env=env).stdout)
    local = json.loads(run("info", str(out), "--json").stdout)
    for k in ("rows", "dim", "columns", "row_groups", "file_bytes", "dataset"):
        assert info[k] == local[k], k

    fit = ["--columns", "x,y,z", "-k", "6", "--seed", "5"]
    run(
        "fit",
        str(out),
        *fit,
        "--model",
        str(tmp_path / "m_local.json"),
        "--labels",
        str(tmp_path / "l_local.parquet"),
    )
    run(
        "fit",
        "s3://data/ds/",
        *fit,
        "--model",
        str(tmp_path / "m_s3.json"),
        "--labels",
        "s3://data/out/labels.parquet",
        env=env,
    )
    assert model_of(tmp_path / "m_local.json") == model_of(tmp_path / "m_s3.json")
    c.download_file("data", "out/labels.parquet", str(tmp_path / "l_s3.parquet"))
    assert (tmp_path / "l_s3.parquet").read_bytes() == (tmp_path / "l_local.parquet").read_bytes()

    # assign, its output in the bucket, with the input's columns.
    run(
        "assign",
        "s3://data/one.parquet",
        "--columns",
        "x,y,z",
        "--model",
        str(tmp_path / "m_local.json"),
        "--out",
        "s3://data/out/a.parquet",
        "--keep-columns",
        env=env,
    )
    run(
        "assign",
        str(one),
        "--columns",
        "x,y,z",
        "--model",
        str(tmp_path / "m_local.json"),
        "--out",
        str(tmp_path / "a.parquet"),
        "--keep-columns",
    )
    c.download_file("data", "out/a.parquet", str(tmp_path / "a_s3.parquet"))
    assert pq.read_table(tmp_path / "a_s3.parquet").equals(pq.read_table(tmp_path / "a.parquet"))

    # A glob and a --labels-dir in the bucket.
    run(
        "assign",
        "s3://data/ds/region=north/*/*.parquet",
        "--columns",
        "x,y,z",
        "--model",
        str(tmp_path / "m_local.json"),
        "--labels-dir",
        "s3://data/out/north",
        env=env,
    )
    keys = sorted(o["Key"] for o in c.list_objects_v2(Bucket="data", Prefix="out/north/")["Contents"])
    parts = sorted(
        p.relative_to(out / "region=north").as_posix() for p in (out / "region=north").rglob("*.parquet")
    )
    assert keys == ["out/north/_SUCCESS"] + ["out/north/" + p for p in parts]


def test_s3_reads_a_request_per_row_group_not_per_page(hive, s3):
    out, one = hive
    _, env, _ = s3
    r = run("info", "s3://data/one.parquet", "--stats", "-v", env=env)
    line = [ln for ln in r.stderr.splitlines() if ln.startswith("object storage:")][-1]
    requests = int(line.split()[2])
    f = pq.ParquetFile(one)
    row_groups = f.num_row_groups
    pages = sum(
        1
        for g in range(row_groups)
        for c in range(3)
        for _ in range(max(1, f.metadata.row_group(g).column(c).total_compressed_size // 4096))
    )
    # head, footer, one request per row group (its three column chunks
    # coalesced), head again after the pass.
    assert requests <= row_groups + 4, (requests, row_groups)
    assert requests < pages / 2, (requests, pages)


def test_s3_errors_name_the_url_and_the_cause(s3, tmp_path):
    endpoint, env, _ = s3
    r = run("info", "s3://no-such-bucket/x.parquet", env=env, check=False)
    assert r.returncode == 1
    assert "s3://no-such-bucket/x.parquet" in r.stderr
    assert "no such object" in r.stderr
    r = run("info", "s3://data/nothing-here/", env=env, check=False)
    assert r.returncode == 2 and "no Parquet objects below" in r.stderr
    r = run("info", "s3://data/one.parquet", "--storage-option", "aws_no_such_key=1", env=env, check=False)
    assert r.returncode == 2 and "aws_no_such_key" in r.stderr
    r = run(
        "fit",
        "s3://data/one.parquet",
        "-k",
        "2",
        "--model",
        str(tmp_path / "m.json"),
        "--checkpoint",
        str(tmp_path / "ck"),
        env=env,
        check=False,
    )
    assert r.returncode == 2 and "need local input files" in r.stderr, r.stderr
    # Over plain HTTP (a public-read object, to anonymous ranged GETs).
    r = json.loads(run("info", f"{endpoint}/data/one.parquet", "--json", env=env).stdout)
    assert r["rows"] == 120_000


def test_s3_wrong_credentials_are_refused(hive, tmp_path):
    # A server that checks every request's signature against its users.
    proc, endpoint = start_moto({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        env = s3_env(endpoint, tmp_path, key="AKIANOTAREALKEY00000")
        r = run("info", "s3://data/one.parquet", "--storage-option", "max_retries=1", env=env, check=False)
        assert r.returncode == 1, r.stderr
        assert "s3://data/one.parquet" in r.stderr
        assert "credentials" in r.stderr or "denied" in r.stderr or "Forbidden" in r.stderr, r.stderr
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_server_that_stops_mid_pass_ends_the_run_cleanly(hive, tmp_path):
    out, one = hive
    proc, endpoint = start_moto()
    try:
        c = client(endpoint)
        c.create_bucket(Bucket="data")
        c.upload_file(str(one), "data", "one.parquet")
        env = s3_env(endpoint, tmp_path)
        fit = subprocess.Popen(
            [
                shoal_bin(),
                "fit",
                "s3://data/one.parquet",
                "--columns",
                "x,y,z",
                "-k",
                "40",
                "--tol",
                "0",
                "--max-iter",
                "100000",
                "--model",
                str(tmp_path / "m.json"),
                "--labels",
                "s3://data/out/l.parquet",
                "--storage-option",
                "max_retries=2",
                "--storage-option",
                "retry_timeout=3",
                "--storage-option",
                "timeout=2s",
                "-q",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        time.sleep(3)
        assert fit.poll() is None, fit.communicate()[1]
        # The server stops answering (and the in-memory bucket survives it).
        proc.send_signal(signal.SIGSTOP)
        try:
            _, err = fit.communicate(timeout=120)
        finally:
            proc.send_signal(signal.SIGCONT)
        assert fit.returncode == 1, err
        assert "s3://data/one.parquet" in err, err
        assert not (tmp_path / "m.json").exists()
        keys = [o["Key"] for o in c.list_objects_v2(Bucket="data").get("Contents", [])]
        assert keys == ["one.parquet"], keys
        uploads = c.list_multipart_uploads(Bucket="data").get("Uploads", [])
        assert uploads == [], uploads
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        proc.wait(10)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_s3_credentials_from_a_profile(s3, tmp_path):
    endpoint, env, _ = s3
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[bench]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    (aws / "config").write_text(f"[profile bench]\nregion = us-east-1\nendpoint_url = {endpoint}\n")
    e = {
        k: v
        for k, v in env.items()
        if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION")
    }
    e.update(HOME=str(tmp_path), AWS_PROFILE="bench")
    info = json.loads(run("info", "s3://data/one.parquet", "--json", env=e).stdout)
    assert info["rows"] == 120_000
