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


# ---- k-means on Dask: the local fit, to the bit ----


def _bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def _same_fit(a, b):
    np.testing.assert_array_equal(_bits(a.cluster_centers_), _bits(b.cluster_centers_))
    assert a.inertia_ == b.inertia_
    assert a.n_iter_ == b.n_iter_


@pytest.fixture(scope="module")
def uniform_file(tmp_path_factory):
    """Uniform points: clusters with no natural borders take many iterations."""
    p = tmp_path_factory.mktemp("u") / "u.parquet"
    shoal.gen.uniform(120_000, dim=3, seed=3, out=p, row_group_rows=10_000)
    return p


@pytest.mark.parametrize(
    "init,algorithm,resident",
    [("k-means++", "lloyd", True), ("k-means||", "lloyd", False), ("random", "subsample", True)],
)
def test_fit_on_dask_equals_the_local_fit(client, uniform_file, init, algorithm, resident):
    local = shoal.KMeans(12, init=init, n_init=1, random_state=5, algorithm=algorithm).fit_file(uniform_file)
    assert local.n_iter_ > 3
    dk = sd.KMeans(12, init=init, random_state=5, algorithm=algorithm, resident=resident, client=client)
    dk.fit(uniform_file)
    _same_fit(dk, local)
    assert dk.counts_.sum() == 120_000
    assert list(dk.feature_names_in_) == ["x0", "x1", "x2"]


def test_a_dataset_of_files_equals_the_fit_of_their_concatenation(client, tmp_path):
    """Row numbers run on across files (the sample's and k-means||'s per-row
    keys are the concatenation's): files cut at partition boundaries fit
    as the one file holding all their rows."""
    x = shoal.gen.uniform(700_000, dim=16, seed=9)[0]
    whole = tmp_path / "whole.npy"
    np.save(whole, x)
    per = shoal._shoal.file_partitions(str(whole))[3][0][1]
    cuts = [0, 2 * per, 3 * per, len(x)]
    assert cuts[-2] < cuts[-1]
    files = []
    for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        files.append(tmp_path / f"part-{i}.npy")
        np.save(files[-1], x[a:b])
    local = shoal.KMeans(9, init="k-means||", n_init=1, random_state=2).fit_file(whole)
    dk = sd.KMeans(9, init="k-means||", random_state=2, client=client).fit(files)
    _same_fit(dk, local)


def test_a_dask_array_is_fitted_as_shoal_kmeans_fits_the_array(client):
    da = pytest.importorskip("dask.array")
    x = shoal.gen.uniform(140_000, dim=4, seed=4)[0]
    local = shoal.KMeans(7, init="k-means++", n_init=1, random_state=1).fit(x)
    # chunks of the array source's partitions (65536 rows)
    dx = da.from_array(x, chunks=(65536, 2))
    dk = sd.KMeans(7, init="k-means++", random_state=1, client=client).fit(dx)
    _same_fit(dk, local)
    labels = dk.labels_
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), local.labels_)
    t = dk.transform(dx[:1000]).compute()
    np.testing.assert_allclose(t, local.transform(x[:1000]), rtol=1e-6)
    with pytest.raises(ValueError, match="features"):
        dk.predict(dx[:, :3])


def test_a_dask_dataframe_uses_its_numeric_or_chosen_columns(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    x = shoal.gen.uniform(20_000, dim=3, seed=8)[0]
    df = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "name": ["p"] * len(x)})
    ddf = dd.from_pandas(df, npartitions=1)
    local = shoal.KMeans(5, init="k-means++", n_init=1, random_state=3).fit(x[:, :2])
    dk = sd.KMeans(5, init="k-means++", random_state=3, columns=["a", "b"], client=client).fit(ddf)
    _same_fit(dk, local)
    assert list(dk.feature_names_in_) == ["a", "b"]
    allnum = sd.KMeans(5, init="k-means++", random_state=3, client=client).fit(ddf)
    assert allnum.n_features_in_ == 3


def test_bad_input_raises_naming_the_file(client, tmp_path, uniform_file):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not a parquet file PAR1")
    with pytest.raises(Exception, match="bad.parquet"):
        sd.KMeans(3, client=client).fit([uniform_file, bad])
    with pytest.raises(FileNotFoundError, match="missing.parquet"):
        sd.KMeans(3, client=client).fit([uniform_file, tmp_path / "missing.parquet"])
    with pytest.raises(ValueError, match="algorithm"):
        sd.KMeans(3, algorithm="minibatch", client=client).fit(uniform_file)
    with pytest.raises(ValueError, match="n_samples"):
        sd.KMeans(200_000, client=client).fit(uniform_file)


def test_a_worker_killed_mid_fit_changes_nothing(uniform_file, monkeypatch):
    """A worker process killed during Lloyd iteration 3: Dask loads its
    partitions again from the file, and the fit ends as it would have."""
    import os
    import signal

    local = shoal.KMeans(12, init="k-means++", n_init=1, random_state=5).fit_file(uniform_file)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    c = distributed.Client(cluster)
    try:
        pids = c.run(os.getpid)
        victim = max(pids.values())
        submit = sd._Runner.submit
        killed = []

        def submit_then_kill(self, job):
            pending = submit(self, job)
            # pass 1 draws the sample; pass 4 is Lloyd iteration 3
            if self.n == 4 and not killed:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
            return pending

        monkeypatch.setattr(sd._Runner, "submit", submit_then_kill)
        dk = sd.KMeans(12, init="k-means++", random_state=5, client=c).fit(uniform_file)
        assert killed
        _same_fit(dk, local)
    finally:
        c.close()
        cluster.close()


def test_a_file_partition_travels_as_its_file_name(uniform_file, tmp_path):
    """Pickled (moved between workers), a file partition is its recipe, not
    its rows; unpickled, it reads the file on first use and answers the
    same; if the file has gone, that use raises naming it."""
    import pickle
    import shutil

    from shoal import _shoal

    copy = tmp_path / "copy.parquet"
    shutil.copy(uniform_file, copy)
    chunk = _shoal.chunk_rows(256 << 20, 3)
    part = _shoal.partition_file(str(copy), None, 1, 0, chunk, True)
    assert part.rows == 10_000 and part.resident
    blob = pickle.dumps(part)
    assert len(blob) < 1000  # 10,000 rows x 3 values would be 120 kB
    back = pickle.loads(blob)

    class Done:
        def __init__(self, r):
            self.r = r

        def done(self):
            return True

        def result(self):
            return self.r

    class InProcess:  # the runner's protocol, without Dask
        jobs = []

        def submit(self, job):
            self.jobs.append(job)
            return Done([part.run(job)])

    r = _shoal.kmeans_fit_remote(InProcess(), part.rows, 3, k=4, chunk_rows=chunk, init="k-means++")
    assert r["rows"] == 10_000 and len(InProcess.jobs) == r["n_iter"] + 2
    for job in InProcess.jobs:
        assert back.run(job) == part.run(job)
    gone = pickle.loads(blob)
    copy.unlink()
    with pytest.raises(FileNotFoundError, match="copy.parquet"):
        gone.run(InProcess.jobs[0])


def test_linkage_micro_on_dask_is_shoal_linkage_with_micro_clusters(client, tmp_path, dataset):
    """The same micro-clusters (Lloyd), so the same tree and the same flat
    label for every row as shoal.linkage_file on one file; over a dataset,
    the labels join back file by file."""
    root, parts = dataset
    one = parts[0][0]
    local_labels = tmp_path / "local.parquet"
    local = shoal.linkage_file(
        one,
        "ward",
        micro_clusters=40,
        micro_algorithm="lloyd",
        labels_out=local_labels,
        criterion="maxclust",
        t=4,
    )
    out = tmp_path / "ld"
    dk = sd.linkage_micro(
        [one], "ward", micro_clusters=40, criterion="maxclust", t=4, labels_dir=out, client=client
    )
    np.testing.assert_array_equal(dk.Z, local.Z)
    np.testing.assert_array_equal(dk.weights, local.weights)
    assert dk.sizes == local.sizes
    assert (out / one.name).read_bytes() == local_labels.read_bytes()
    # a dataset: one labels file per input, as many rows as it holds, labels 1..4
    d = sd.linkage_micro(
        root, "ward", micro_clusters=40, criterion="maxclust", t=4, labels_dir=tmp_path / "d", client=client
    )
    assert d.rows == sum(len(x) for _, x in parts) == sum(d.sizes)
    pq = pytest.importorskip("pyarrow.parquet")

    def labels(p):
        return pq.read_table(tmp_path / "d" / p.relative_to(root)).column(0).to_numpy()

    for p, x in parts:
        lab = labels(p)
        assert len(lab) == len(x) and set(np.unique(lab)) <= {1, 2, 3, 4}
    # the blobs' four clusters: each true blob lands in one flat cluster
    x0, lab0 = parts[0][1], labels(parts[0][0])
    truth = shoal.gen.blobs(30_000, dim=3, k=4, seed=0)[1]
    agree = sum(np.bincount(lab0[truth == c]).max() for c in range(4)) / len(x0)
    assert agree > 0.99
    with pytest.raises(ValueError, match="criterion"):
        sd.linkage_micro(root, labels_dir=tmp_path / "e", client=client)


def test_scores_over_a_dataset_are_scikit_learns_over_its_rows(client, dataset):
    """Calinski-Harabasz and Davies-Bouldin over every row of the dataset,
    in two passes on the workers, against scikit-learn's on the
    concatenated rows labelled by the same centroids."""
    skm = pytest.importorskip("sklearn.metrics")
    root, parts = dataset
    x = np.concatenate([v for _, v in parts])
    km = shoal.KMeans(5, random_state=0).fit(x[::7])
    r = sd.scores(root, km, silhouette_sample=3000, client=client)
    labels, d = shoal._shoal.vq_f32(np.ascontiguousarray(x), km.cluster_centers_.astype(np.float32))
    assert r["rows"] == len(x)
    assert r["inertia"] == pytest.approx(float((d.astype(np.float64) ** 2).sum()), rel=1e-5)
    assert r["calinski_harabasz"] == pytest.approx(skm.calinski_harabasz_score(x, labels), rel=1e-6)
    assert r["davies_bouldin"] == pytest.approx(skm.davies_bouldin_score(x, labels), rel=1e-6)
    # the silhouette of 3000 sampled rows is near the whole data's
    full = skm.silhouette_score(x, labels, sample_size=10_000, random_state=0)
    assert r["silhouette_rows"] == 3000
    assert abs(r["silhouette"] - full) < 0.03


def test_ctrl_c_on_the_client_stops_the_fit_and_its_tasks(client, uniform_file):
    """SIGINT during a long fit: KeyboardInterrupt on the client, and the
    pass's tasks and the partitions are released on the cluster."""
    import os
    import signal
    import threading
    import time

    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            sd.KMeans(60, init="random", max_iter=100_000, tol=0.0, resident=False, client=client).fit(
                uniform_file
            )
    finally:
        timer.cancel()  # (a fit that ended first must not leave a signal behind)
    assert time.perf_counter() - t < 10

    def shoal_keys():
        return [k for k in client.who_has() if str(k).startswith(("shoal-pass", "shoal-part"))]

    for _ in range(50):
        if not shoal_keys():
            break
        time.sleep(0.1)
    assert shoal_keys() == []


def test_the_shoal_dask_command_fits_assigns_and_links(tmp_path, dataset):
    """shoal-dask fit writes shoal fit's MODEL.json with the local fit's
    centroids; assign and linkage write one file per input; bad usage
    exits 2, bad data 1 naming the file."""
    import json

    from shoal._dask_cli import main

    root, parts = dataset
    model = tmp_path / "MODEL.json"
    assert (
        main(["--local", "2", "-q", "fit", str(root), "-k", "4", "--init", "kmeans++", "--model", str(model)])
        == 0
    )
    m = json.loads(model.read_text())
    assert m["format"] == "shoal-kmeans-1" and m["k"] == 4 and m["dim"] == 3
    assert m["rows"] == sum(len(x) for _, x in parts) == sum(m["counts"])
    # the same centroids as the distributed estimator (the same engine fit)
    km = sd.KMeans(4, init="k-means++", random_state=0, client=None)
    with distributed.Client(
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    ) as c:
        km.client = c
        km.fit(root)
    np.testing.assert_array_equal(np.asarray(m["centroids"], dtype=np.float32), km.cluster_centers_)
    out = tmp_path / "labels"
    assert (
        main(["--local", "1", "-q", "assign", str(root), "--model", str(model), "--out-dir", str(out)]) == 0
    )
    assert sorted(q.relative_to(out) for q in out.rglob("*.parquet")) == sorted(
        p.relative_to(root) for p, _ in parts
    )
    z = tmp_path / "Z.npy"
    args = ["--local", "1", "-q", "linkage", str(root), "--micro-clusters", "20", "--z", str(z)]
    assert main(args + ["--criterion", "maxclust", "-t", "3", "--labels-dir", str(tmp_path / "ward")]) == 0
    assert np.load(z).shape == (19, 4)
    assert main(["--local", "1", "fit", str(root), "-k", "4", "--model", str(model), "--init", "nope"]) == 2
    assert main(args + ["--criterion", "maxclust"]) == 2
    with pytest.raises(SystemExit) as e:
        main(["fit", str(root), "-k", "4", "--model", str(model)])  # no --local / --scheduler
    assert e.value.code == 2
    assert (
        main(
            ["--local", "1", "-q", "fit", str(tmp_path / "nothere.parquet"), "-k", "2", "--model", str(model)]
        )
        == 1
    )
