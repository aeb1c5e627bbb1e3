"""shoal.dask on a loopback LocalCluster (2 worker processes of one thread):
assign_parquet writes, file by file, what shoal.assign_file writes, and
leaves nothing on an error."""

import numpy as np
import pytest

import shoal

distributed = pytest.importorskip("distributed")
import shoal.dask as sd  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture
def dataset(tmp_path):
    """Three part files in Hive-style directories, beside _SUCCESS and a hidden file."""
    root = tmp_path / "ds"
    parts = []
    for i, sub in enumerate(["day=1", "day=2", "day=2"]):
        d = root / sub
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"part-{i}.parquet"
        shoal.gen.blobs(30_000 + 1000 * i, dim=3, k=4, seed=i, out=p, row_group_rows=8192)
        parts.append((p, shoal.gen.blobs(30_000 + 1000 * i, dim=3, k=4, seed=i)[0]))
    (root / "_SUCCESS").write_text("")
    (root / "day=1" / ".part-9.parquet").write_bytes(b"not parquet")
    return root, parts


def test_assign_parquet_writes_what_assign_file_writes(client, tmp_path, dataset):
    root, parts = dataset
    km = shoal.KMeans(4, random_state=0).fit(parts[0][1])
    out = tmp_path / "labels"
    r = sd.assign_parquet(root, km, out, client=client)
    rel = [p.relative_to(root) for p, _ in parts]
    assert [o.relative_to(out) for o in r["outputs"]] == rel
    assert sorted(q.relative_to(out) for q in out.rglob("*") if q.is_file()) == sorted(rel)
    x = np.concatenate([v for _, v in parts])
    assert r["rows"] == len(x)
    # totals over the dataset: numpy's, from the same rows and centres
    d2 = ((x[:, None, :].astype(np.float64) - km.cluster_centers_[None].astype(np.float64)) ** 2).sum(2)
    assert abs(r["inertia"] / d2.min(1).sum() - 1) < 1e-5
    np.testing.assert_array_equal(r["counts"], np.bincount(d2.argmin(1), minlength=4))
    # each output is the file shoal.assign_file (shoal assign) writes
    for (p, _), o in zip(parts, r["outputs"], strict=True):
        local = tmp_path / "local.parquet"
        shoal.assign_file(p, model=km, out=local)
        assert o.read_bytes() == local.read_bytes(), o
    # a glob and a list name the same files
    g = sd.assign_parquet(str(root / "day=*" / "*.parquet"), km, tmp_path / "g", client=client)
    assert g["rows"] == r["rows"] and g["inertia"] == r["inertia"]


def test_a_corrupt_file_fails_the_whole_dataset_and_leaves_nothing(client, tmp_path, dataset):
    root, parts = dataset
    (root / "day=2" / "part-5.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
    km = shoal.KMeans(4, random_state=0).fit(parts[0][1])
    out = tmp_path / "labels"
    with pytest.raises(Exception, match="part-5.parquet"):
        sd.assign_parquet(root, km, out, client=client)
    assert [q for q in out.rglob("*") if q.is_file()] == []
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no .parquet files"):
        sd.assign_parquet(empty, km, out, client=client)
