"""Files of any size from Python: shoal.linkage_file (exact, micro-clusters,
sample), shoal.dbscan_file, shoal.gen, progress callbacks and interrupts,
checked against scipy and scikit-learn on the same rows."""

import numpy as np
import pytest
from conftest import clustbench

import shoal

scipy_h = pytest.importorskip("scipy.cluster.hierarchy")
from scipy.cluster.vq import vq as scipy_vq  # noqa: E402


@pytest.fixture(scope="module")
def engytime(tmp_path_factory):
    x, y = clustbench("fcps/engytime")
    p = tmp_path_factory.mktemp("engytime") / "x.npy"
    np.save(p, x)  # float64: the exact path keeps it float64
    return p, x, y


@pytest.mark.parametrize("method", ["ward", "single", "average", "complete"])
def test_exact_linkage_of_a_file_is_scipys(tmp_path, engytime, method):
    p, x, _ = engytime
    x = x[:1500]
    q = tmp_path / "x.npy"
    np.save(q, x)
    lab = tmp_path / "labels.npy"
    r = shoal.linkage_file(q, method, labels_out=lab, criterion="maxclust", t=4, z_out=tmp_path / "z.npy")
    z = scipy_h.linkage(x, method)
    np.testing.assert_array_equal(r.Z[:, :2], z[:, :2])
    np.testing.assert_allclose(r.Z[:, 2:], z[:, 2:], rtol=1e-12)
    np.testing.assert_array_equal(np.load(tmp_path / "z.npy"), r.Z)
    theirs = scipy_h.fcluster(z, 4, "maxclust")
    np.testing.assert_array_equal(np.load(lab), theirs)
    assert r.sizes == np.bincount(theirs)[1:].tolist()
    assert r.rows == len(x) and r.precision == "f64" and r.leaves is None


def test_micro_cluster_linkage_labels_every_row_through_its_leaf(tmp_path, engytime):
    p, x, y = engytime
    lab = tmp_path / "labels.npy"
    r = shoal.linkage_file(p, "ward", micro_clusters=200, labels_out=lab, t=2, seed=3)
    assert r.rows == len(x)
    assert r.leaves.shape[0] == r.Z.shape[0] + 1 == len(r.weights)
    assert int(r.weights.sum()) == len(x)
    assert scipy_h.is_valid_linkage(r.Z)
    # each row's label is its nearest leaf's flat cluster (scipy's vq and fcluster)
    leaf_labels = scipy_h.fcluster(r.Z, 2, "maxclust")
    near, _ = scipy_vq(x.astype(np.float32), r.leaves.astype(np.float32))
    labels = np.load(lab)
    np.testing.assert_array_equal(labels, leaf_labels[near])
    # engytime's two Gaussians are found
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(y, labels) > 0.6


def test_sampled_linkage_links_rows_of_the_file(tmp_path, engytime):
    p, x, _ = engytime
    r = shoal.linkage_file(p, "average", sample=300, seed=1)
    assert r.leaves.shape == (300, 2)
    rows = {tuple(v) for v in x.astype(np.float32)}
    assert all(tuple(v) in rows for v in r.leaves)
    z = scipy_h.linkage(r.leaves.astype(np.float64), "average")
    np.testing.assert_array_equal(r.Z[:, :2], z[:, :2])
    np.testing.assert_allclose(r.Z[:, 2], z[:, 2], rtol=1e-5)


def test_linkage_file_refuses_bad_input_before_writing(tmp_path, engytime):
    p, _, _ = engytime
    with pytest.raises(FileNotFoundError):
        shoal.linkage_file(tmp_path / "missing.npy")
    with pytest.raises(ValueError, match="Invalid method"):
        shoal.linkage_file(p, "wart")
    with pytest.raises(ValueError, match="needs a cut"):
        shoal.linkage_file(p, labels_out=tmp_path / "l.npy")
    with pytest.raises(ValueError, match="whole number"):
        shoal.linkage_file(p, micro_clusters=50, labels_out=tmp_path / "l.npy", t=2.5)
    # the exact tree of every row needs more than this budget: refused, no file
    with pytest.raises(ValueError, match="memory"):
        shoal.linkage_file(p, "average", memory="1MiB", z_out=tmp_path / "z.npy")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name,eps,min_samples", [("fcps/engytime", 0.3, 8), ("sipu/aggregation", 1.5, 5)])
def test_dbscan_file_equals_scikit_learn(tmp_path, name, eps, min_samples):
    from sklearn.cluster import DBSCAN as SkDBSCAN

    x, _ = clustbench(name)
    p = tmp_path / "x.npy"
    np.save(p, x)
    out = tmp_path / "labels.npy"
    r = shoal.dbscan_file(p, eps, min_samples, labels_out=out)
    theirs = SkDBSCAN(eps=eps, min_samples=min_samples).fit(x)
    np.testing.assert_array_equal(r.labels, theirs.labels_)
    np.testing.assert_array_equal(r.core_sample_indices, theirs.core_sample_indices_)
    np.testing.assert_array_equal(np.load(out), theirs.labels_)
    assert r.n_clusters == theirs.labels_.max() + 1


def test_haversine_dbscan_of_a_gps_file_equals_scikit_learn(tmp_path):
    from sklearn.cluster import DBSCAN as SkDBSCAN

    rng = np.random.default_rng(11)
    centres = np.array([[48.85, 2.35], [48.9, 2.4], [45.76, 4.84]])
    deg = np.concatenate([c + rng.normal(scale=0.01, size=(400, 2)) for c in centres])
    p = tmp_path / "gps.npy"
    np.save(p, deg)  # degrees, as GPS files hold them
    eps = 0.4 / 6371.0088
    r = shoal.dbscan_file(p, eps, 10, metric="haversine")
    theirs = SkDBSCAN(eps=eps, min_samples=10, metric="haversine", algorithm="ball_tree").fit(np.radians(deg))
    np.testing.assert_array_equal(r.labels, theirs.labels_)
    with pytest.raises(ValueError, match="haversine"):
        np.save(tmp_path / "three.npy", np.zeros((10, 3)))
        shoal.dbscan_file(tmp_path / "three.npy", eps, 10, metric="haversine")


def test_gen_in_memory_and_to_files_give_the_same_rows(tmp_path):
    x, y, c = shoal.gen.blobs(200_000, dim=3, k=5, seed=7, noise=0.1, return_centers=True)
    assert x.shape == (200_000, 3) and x.dtype == np.float32
    assert y.shape == (200_000,) and set(np.unique(y)) == {-1, 0, 1, 2, 3, 4}
    assert c.shape == (5, 3) and np.all(np.abs(c) <= 10)
    assert abs((y == -1).mean() - 0.1) < 0.005
    # each blob is a unit Gaussian about its centre
    for j in range(5):
        pts = x[y == j].astype(np.float64)
        np.testing.assert_allclose(pts.mean(0), c[j], atol=0.02)
        np.testing.assert_allclose(pts.std(0), 1.0, atol=0.02)
    # the same seed streamed to files: the same rows, labels and centres
    c2 = shoal.gen.blobs(
        200_000,
        dim=3,
        k=5,
        seed=7,
        noise=0.1,
        out=tmp_path / "x.npy",
        labels_out=tmp_path / "y.npy",
        centers_out=tmp_path / "c.npy",
    )
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), x)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), y)
    np.testing.assert_array_equal(c2, c)
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), c.astype(np.float32))
    # another seed, other rows
    assert not np.array_equal(shoal.gen.blobs(1000, dim=3, k=5, seed=8)[0], x[:1000])


def test_gen_spatial_is_latitude_longitude_in_the_box(tmp_path):
    x, y = shoal.gen.spatial(50_000, k=4, seed=2, bbox=(40, -10, 50, 5), noise=0.0)
    assert x.shape == (50_000, 2) and y.min() == 0 and y.max() == 3
    assert x[:, 0].min() > 39 and x[:, 0].max() < 51 and x[:, 1].min() > -11 and x[:, 1].max() < 6
    shoal.gen.spatial(10_000, k=4, seed=2, out=tmp_path / "gps.parquet")
    info = shoal.read_info(tmp_path / "gps.parquet")
    assert info["columns"] == ["lat", "lon"] and info["rows"] == 10_000
    with pytest.raises(ValueError):
        shoal.gen.blobs(100, k=0)
    with pytest.raises(ValueError, match="both"):
        shoal.gen.blobs(100, out=tmp_path / "a.npy", labels_out=tmp_path / "a.npy")


def test_progress_callback_ends_on_the_whole_last_pass(tmp_path):
    p = tmp_path / "x.npy"
    shoal.gen.blobs(2_000_000, dim=4, k=8, seed=1, out=p)
    calls = []
    shoal.KMeans(8, random_state=0, max_iter=5).fit_file(p, progress=lambda *a: calls.append(a))
    # called every 100 ms and once at the end, whatever the speed
    assert calls
    assert all(0 <= done <= total and index >= 1 for (_, index, _, done, total) in calls)
    assert calls[-1][3] == calls[-1][4] == 2_000_000
    passes = [c[1] for c in calls]
    assert passes == sorted(passes)


@pytest.fixture(scope="module")
def slow_fit(tmp_path_factory):
    """A file and a fit that take seconds: 50 centres in uniform data never
    settle, and tol=0 runs all 300 iterations."""
    d = tmp_path_factory.mktemp("slow")
    p = d / "x.npy"
    shoal.gen.uniform(1_000_000, dim=4, seed=1, out=p)
    return p, lambda: shoal.KMeans(50, random_state=0, tol=0.0, max_iter=300)


def test_an_exception_in_the_callback_stops_the_work_and_writes_nothing(tmp_path, slow_fit):
    p, model = slow_fit

    class Stop(Exception):
        pass

    calls = []

    def stop(*a):
        calls.append(a)
        raise Stop

    out = tmp_path / "labels.npy"
    with pytest.raises(Stop):
        model().fit_file(p, labels_out=out, progress=stop)
    assert len(calls) == 1
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_interrupts_a_fit_and_writes_nothing(tmp_path, slow_fit):
    import os
    import signal
    import threading

    p, model = slow_fit
    out = tmp_path / "labels.npy"
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model().fit_file(p, labels_out=out, progress=False)
    finally:
        timer.cancel()
    assert list(tmp_path.iterdir()) == []


def test_text_bar_draws_passes_on_one_line_each():
    import io

    from shoal._progress import TextBar

    s = io.StringIO()
    bar = TextBar(stream=s)
    bar("lloyd", 2, 10, 500, 1000)
    bar("lloyd", 2, 10, 1000, 1000)
    bar("lloyd", 3, 10, 0, 1000)
    bar.close()
    lines = s.getvalue().split("\n")
    assert len(lines) == 3 and lines[-1] == ""
    assert lines[0].split("\r")[-1].startswith("lloyd 2/10 |" + "#" * 30 + "| 100%")
    assert "50%" in lines[0].split("\r")[1]
