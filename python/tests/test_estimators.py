"""shoal.KMeans, MiniBatchKMeans and shoal.metrics against scikit-learn:
the estimator contract, the same fit from the same start, the same scores;
the GIL released during a fit; an array fitted without a copy."""

import pickle
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import clustbench

import shoal
import shoal.metrics as sm

sklearn = pytest.importorskip("sklearn")
from sklearn import metrics as skm  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402

# scikit-learn's checks that need sample weights, which shoal's estimators do not take yet
SAMPLE_WEIGHT_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": "sample weights not yet supported",
    "check_sample_weights_invariance": "sample weights not yet supported",
    "check_sample_weights_not_an_array": "sample weights not yet supported",
    "check_sample_weights_list": "sample weights not yet supported",
    "check_sample_weights_shape": "sample weights not yet supported",
    "check_sample_weight_equivalence": "sample weights not yet supported",
    "check_sample_weights_not_overwritten": "sample weights not yet supported",
    "check_sample_weight_equivalence_on_sparse_data": "sample weights not yet supported",
    "check_all_zero_sample_weights_error": "sample weights not yet supported",
    "check_sample_weights_pandas_series": "sample weights not yet supported (run when pandas is installed)",
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    c = rng.normal(scale=8, size=(6, 4))
    x = np.concatenate([m + rng.normal(size=(2000, 4)) for m in c]).astype(np.float32)
    return x, c


def test_kmeans_from_the_same_start_equals_scikit_learn(data):
    x, c = data
    init = x[:: len(x) // 6][:6]
    ours = shoal.KMeans(6, init=init, n_init=1, tol=1e-8, max_iter=300).fit(x)
    theirs = SkKMeans(6, init=init, n_init=1, tol=1e-8, max_iter=300, algorithm="lloyd").fit(
        x.astype(np.float64)
    )
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-4, atol=1e-4)
    assert abs(ours.inertia_ / theirs.inertia_ - 1) < 1e-5
    assert skm.adjusted_rand_score(ours.labels_, theirs.labels_) == 1.0
    np.testing.assert_array_equal(ours.predict(x), ours.labels_)
    assert ours.transform(x).shape == (len(x), 6)
    assert abs(-ours.score(x) / ours.inertia_ - 1) < 1e-4


def test_kmeans_plus_plus_finds_the_blobs(data):
    x, _ = data
    for est in (shoal.KMeans(6, random_state=0), shoal.MiniBatchKMeans(6, random_state=0, n_init=3)):
        est.fit(x)
        sk = SkKMeans(6, random_state=0, n_init=10).fit(x)
        assert est.inertia_ <= sk.inertia_ * 1.001, type(est).__name__
        assert est.cluster_centers_.dtype == np.float32
        assert est.n_features_in_ == 4


def test_minibatch_partial_fit_converges(data):
    x, _ = data
    m = shoal.MiniBatchKMeans(6, random_state=1)
    rng = np.random.default_rng(0)
    for _ in range(60):
        m.partial_fit(x[rng.choice(len(x), 512)])
    sk = SkKMeans(6, random_state=0, n_init=10).fit(x)
    inertia = -m.score(x)
    assert inertia <= sk.inertia_ * 1.05


def test_estimator_contract(data):
    x, _ = data
    est = shoal.KMeans(4, random_state=2, tol=1e-3)
    assert est.get_params()["n_clusters"] == 4
    c = clone(est)
    assert c.get_params() == est.get_params()
    est.fit(x)
    est2 = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est2.predict(x), est.predict(x))
    with pytest.raises(ValueError):
        shoal.KMeans(3).fit(np.array([[np.nan, 1.0], [1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(ValueError):
        shoal.KMeans(3).fit(np.ones(5))
    with pytest.raises(ValueError):
        shoal.KMeans(10).fit(np.ones((3, 2)))
    with pytest.raises(ValueError):
        shoal.KMeans(2).fit(np.empty((0, 2)))
    with pytest.raises(ValueError):
        shoal.KMeans(2).fit(np.array([["a", "b"], ["c", "d"]], dtype=object))
    with pytest.raises(sklearn.exceptions.NotFittedError):
        shoal.KMeans(2).predict(x)
    with pytest.raises(ValueError):
        est.predict(x[:, :2])


def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    # the checks that need what shoal does not do yet: sample weights, and
    # fitting float64 data exactly in float64
    expected = SAMPLE_WEIGHT_CHECKS
    for est in (
        shoal.KMeans(n_clusters=3, random_state=0),
        shoal.MiniBatchKMeans(n_clusters=3, random_state=0),
    ):
        results = check_estimator(est, expected_failed_checks=expected, on_fail=None)
        failed = [r for r in results if r["status"] == "failed"]
        assert not failed, [(r["check_name"], str(r["exception"])[:200]) for r in failed]


def test_a_fit_releases_the_gil():
    x = np.random.default_rng(0).random((2_000_000, 8), dtype=np.float32)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    t0 = time.perf_counter()
    shoal.KMeans(32, random_state=0, max_iter=20, tol=0).fit(x)
    t1 = time.perf_counter()
    stop.set()
    t.join()
    during = [v for v in ticks if t0 < v < t1]
    # the other thread kept ticking through the fit (about once a ms)
    assert len(during) > 0.2 * (t1 - t0) * 1000, (len(during), t1 - t0)


def test_a_float32_array_is_fitted_without_a_copy():
    code = """
import resource, numpy as np, shoal
x = np.random.default_rng(0).random((8_000_000, 8), dtype=np.float32)
shoal.KMeans(8, random_state=0, max_iter=3).fit(x[:1000])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
km = shoal.KMeans(8, random_state=0, max_iter=3).fit(x)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
labels = km.labels_.nbytes
print((after - before - labels) / x.nbytes)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    extra = float(out.stdout.strip())
    # a copy would add 1.0; the 100 000-row sample and buffers are a few percent
    assert extra < 0.05, extra


def test_a_read_only_memmap_is_fitted_in_place(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(1).random((8_000_000, 8), dtype=np.float32))
    code = f"""
import resource, numpy as np, shoal
x = np.load({str(path)!r}, mmap_mode="r")
shoal.KMeans(8, random_state=0, max_iter=3).fit(np.asarray(x[:1000]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
km = shoal.KMeans(8, random_state=0, max_iter=3).fit(x)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(type(x).__name__, x.flags.writeable, (after - before - km.labels_.nbytes) / x.nbytes)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    kind, writeable, extra = out.stdout.split()
    assert kind == "memmap" and writeable == "False"
    # the mapped pages count once as they are read (about 1.0); a copy would add another 1.0
    assert float(extra) < 1.1, extra


@pytest.mark.parametrize("name", ["fcps/engytime", "sipu/aggregation"])
def test_metrics_equal_scikit_learn(name):
    x, y = clustbench(name)
    pred = SkKMeans(4, random_state=0, n_init=1).fit_predict(x)
    assert abs(sm.silhouette_score(x, y) - skm.silhouette_score(x, y)) < 1e-10
    np.testing.assert_allclose(sm.silhouette_samples(x, pred), skm.silhouette_samples(x, pred), atol=1e-10)
    assert abs(sm.davies_bouldin_score(x, y) - skm.davies_bouldin_score(x, y)) < 1e-9
    assert abs(sm.calinski_harabasz_score(x, y) / skm.calinski_harabasz_score(x, y) - 1) < 1e-9
    for ours, theirs in [
        (sm.adjusted_rand_score, skm.adjusted_rand_score),
        (sm.adjusted_mutual_info_score, skm.adjusted_mutual_info_score),
        (sm.normalized_mutual_info_score, skm.normalized_mutual_info_score),
        (sm.v_measure_score, skm.v_measure_score),
        (sm.fowlkes_mallows_score, skm.fowlkes_mallows_score),
    ]:
        assert abs(ours(y, pred) - theirs(y, pred)) < 1e-10, ours.__name__
    np.testing.assert_allclose(
        sm.homogeneity_completeness_v_measure(y, pred),
        skm.homogeneity_completeness_v_measure(y, pred),
        atol=1e-10,
    )
    s1 = sm.silhouette_score(x, pred, sample_size=500, random_state=3)
    s2 = skm.silhouette_score(x, pred, sample_size=500, random_state=3)
    assert abs(s1 - s2) < 1e-10
    with pytest.raises(ValueError):
        sm.silhouette_score(x, np.zeros(len(x)))


def test_files_larger_than_memory_are_fitted_streaming(tmp_path, data):
    x, _ = data
    p = tmp_path / "x.npy"
    np.save(p, x)
    info = shoal.read_info(p)
    assert (info["rows"], info["dim"]) == x.shape
    init = x[:: len(x) // 6][:6]
    a = shoal.KMeans(6, init=init).fit(x)
    b = shoal.KMeans(6, init=init).fit_file(p, memory="64MiB")
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_
    with pytest.raises(FileNotFoundError):
        shoal.KMeans(2).fit_file(tmp_path / "missing.npy")
    # labels of every row, streamed to a file: those of predict on the array
    lab = tmp_path / "labels.npy"
    c = shoal.KMeans(6, init=init).fit_file(p, labels_out=lab)
    np.testing.assert_array_equal(np.load(lab), c.predict(x))
    out = tmp_path / "codes.npy"
    r = shoal.assign_file(p, model=c, out=out)
    np.testing.assert_array_equal(np.load(out), c.predict(x))
    assert r["rows"] == len(x) and abs(r["inertia"] / c.inertia_ - 1) < 1e-6
    # centroids of the wrong dimension: refused, nothing left behind
    with pytest.raises(ValueError):
        shoal.assign_file(p, np.zeros((3, 2), np.float32), out=tmp_path / "bad.npy")
    assert not (tmp_path / "bad.npy").exists()


def test_a_budget_too_small_for_the_sample_is_refused_up_front(tmp_path):
    # 200k rows and k = 20000: the sample (every row) takes 6.4 MB, over a
    # quarter of 16 MiB; refused before any pass, naming the least budget.
    p = tmp_path / "x.npy"
    np.save(p, np.random.default_rng(0).normal(size=(200_000, 4)).astype(np.float32))
    with pytest.raises(ValueError, match=r"of at least \d+MiB"):
        shoal.KMeans(20_000, init="random", n_init=1).fit_file(p, memory="16MiB")


@pytest.mark.parametrize("name,eps,min_samples", [("fcps/engytime", 0.3, 8), ("sipu/aggregation", 1.5, 5)])
def test_dbscan_equals_scikit_learn(name, eps, min_samples):
    from sklearn.cluster import DBSCAN as SkDBSCAN

    x, _ = clustbench(name)
    ours = shoal.DBSCAN(eps=eps, min_samples=min_samples).fit(x)
    theirs = SkDBSCAN(eps=eps, min_samples=min_samples).fit(x)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_array_equal(ours.core_sample_indices_, theirs.core_sample_indices_)
    np.testing.assert_array_equal(ours.components_, theirs.components_)


def test_haversine_dbscan_equals_scikit_learn():
    from sklearn.cluster import DBSCAN as SkDBSCAN

    rng = np.random.default_rng(5)
    centres = np.array([[40.7, -74.0], [40.8, -73.9], [51.5, -0.1]])
    deg = np.concatenate([c + rng.normal(scale=0.01, size=(300, 2)) for c in centres])
    rad = np.radians(deg)
    eps = 0.5 / 6371.0088  # 500 m
    ours = shoal.DBSCAN(eps=eps, min_samples=10, metric="haversine").fit(rad)
    theirs = SkDBSCAN(eps=eps, min_samples=10, metric="haversine", algorithm="ball_tree").fit(rad)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)


@pytest.mark.parametrize("linkage", ["ward", "complete", "average", "single"])
def test_agglomerative_equals_scikit_learn(linkage):
    from sklearn.cluster import AgglomerativeClustering as SkAgg

    x, _ = clustbench("sipu/aggregation")
    ours = shoal.AgglomerativeClustering(n_clusters=7, linkage=linkage, compute_distances=True).fit(x)
    theirs = SkAgg(n_clusters=7, linkage=linkage, compute_distances=True).fit(x)
    assert skm.adjusted_rand_score(ours.labels_, theirs.labels_) == 1.0
    np.testing.assert_allclose(np.sort(ours.distances_), np.sort(theirs.distances_), rtol=1e-9, atol=1e-12)
    t = np.sort(theirs.distances_)[-5] * 0.999
    a = shoal.AgglomerativeClustering(n_clusters=None, distance_threshold=t, linkage=linkage).fit(x)
    b = SkAgg(n_clusters=None, distance_threshold=t, linkage=linkage).fit(x)
    assert a.n_clusters_ == b.n_clusters_
    assert skm.adjusted_rand_score(a.labels_, b.labels_) == 1.0


def test_dbscan_and_agglomerative_pass_the_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    expected = SAMPLE_WEIGHT_CHECKS
    for est in (shoal.DBSCAN(), shoal.AgglomerativeClustering()):
        results = check_estimator(est, expected_failed_checks=expected, on_fail=None)
        failed = [r for r in results if r["status"] == "failed"]
        assert not failed, [(r["check_name"], str(r["exception"])[:200]) for r in failed]
