"""shoal.cluster against scipy.cluster on generated data and the clustbench
sets: the same trees, labels, layouts and codebooks; the same exceptions."""

import warnings

import numpy as np
import pytest
from conftest import clustbench

import shoal.cluster.hierarchy as h
import shoal.cluster.vq as vq

sh = pytest.importorskip("scipy.cluster.hierarchy")
svq = pytest.importorskip("scipy.cluster.vq")
from scipy.spatial.distance import pdist  # noqa: E402

METHODS = ["single", "complete", "average", "weighted", "centroid", "median", "ward"]


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=6, size=(5, 3))
    return np.concatenate([c + rng.normal(size=(80, 3)) for c in centres])


@pytest.mark.parametrize("method", METHODS)
def test_linkage_equals_scipy(blobs, method):
    np.testing.assert_array_equal(h.linkage(blobs, method), sh.linkage(blobs, method))
    y = pdist(blobs)
    np.testing.assert_array_equal(h.linkage(y, method), sh.linkage(y, method))


@pytest.mark.parametrize("name", ["fcps/engytime", "sipu/aggregation", "fcps/lsun"])
def test_clustbench_trees_and_cuts_equal_scipy(name):
    x, _ = clustbench(name)
    for method in ["single", "average", "ward"]:
        z = h.linkage(x, method)
        zs = sh.linkage(x, method)
        np.testing.assert_array_equal(z, zs)
        for k in (2, 5, 9):
            np.testing.assert_array_equal(h.fcluster(z, k, "maxclust"), sh.fcluster(zs, k, "maxclust"))
        t = zs[-5, 2]
        np.testing.assert_array_equal(h.fcluster(z, t, "distance"), sh.fcluster(zs, t, "distance"))
    np.testing.assert_array_equal(h.fcluster(z, 1.0), sh.fcluster(zs, 1.0))


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cityblock", "chebyshev", "cosine"])
def test_metrics_of_linkage_equal_scipy(blobs, metric):
    np.testing.assert_allclose(
        h.linkage(blobs, "average", metric), sh.linkage(blobs, "average", metric), rtol=1e-12, atol=1e-12
    )


def test_tree_tools_equal_scipy(blobs):
    z = sh.linkage(blobs, "ward")
    np.testing.assert_array_equal(h.cophenet(z), sh.cophenet(z))
    c1, _ = h.cophenet(z, pdist(blobs))
    c2, _ = sh.cophenet(z, pdist(blobs))
    assert abs(c1 - c2) < 1e-12
    np.testing.assert_allclose(h.inconsistent(z, 3), sh.inconsistent(z, 3), rtol=1e-12)
    np.testing.assert_array_equal(h.leaves_list(z), sh.leaves_list(z))
    np.testing.assert_array_equal(h.maxdists(z), sh.maxdists(z))
    r = sh.inconsistent(z)
    np.testing.assert_allclose(h.maxinconsts(z, r), sh.maxinconsts(z, r))
    np.testing.assert_allclose(h.maxRstat(z, r, 1), sh.maxRstat(z, r, 1))
    np.testing.assert_array_equal(h.cut_tree(z, n_clusters=[2, 5]), sh.cut_tree(z, n_clusters=[2, 5]))
    np.testing.assert_allclose(h.optimal_leaf_ordering(z, blobs), sh.optimal_leaf_ordering(z, blobs))
    np.testing.assert_array_equal(h.to_mlab_linkage(z), sh.to_mlab_linkage(z))
    np.testing.assert_array_equal(h.from_mlab_linkage(sh.to_mlab_linkage(z)), z)
    assert h.to_tree(z).pre_order() == sh.to_tree(z).pre_order()
    for trunc, p in [(None, 30), ("lastp", 12), ("level", 3)]:
        a = h.dendrogram(z, p=p, truncate_mode=trunc, no_plot=True)
        b = sh.dendrogram(z, p=p, truncate_mode=trunc, no_plot=True)
        for key in ("icoord", "dcoord", "ivl", "leaves", "color_list", "leaves_color_list"):
            assert a[key] == b[key], (trunc, key)
        # leaf_label_func names every shown leaf, contracted ones too
        name = lambda i: f"node {i * 7}"  # noqa: E731
        a = h.dendrogram(z, p=p, truncate_mode=trunc, no_plot=True, leaf_label_func=name)
        b = sh.dendrogram(z, p=p, truncate_mode=trunc, no_plot=True, leaf_label_func=name)
        assert a["ivl"] == b["ivl"], trunc
    # children ordered by size or height, links coloured by a function: scipy's dicts
    keys = ("icoord", "dcoord", "ivl", "leaves", "color_list", "leaves_color_list")
    colour = lambda i: "red" if i % 3 else "blue"  # noqa: E731
    for kw in (
        {"count_sort": "ascending"},
        {"count_sort": "descending"},
        {"count_sort": True},
        {"distance_sort": "ascending"},
        {"distance_sort": "descending", "truncate_mode": "lastp", "p": 9},
        {"count_sort": "descending", "distance_sort": "ascending"},
        {"link_color_func": colour},
        {"link_color_func": colour, "truncate_mode": "level", "p": 3},
    ):
        a = h.dendrogram(z, no_plot=True, **kw)
        b = sh.dendrogram(z, no_plot=True, **kw)
        for key in keys:
            assert a[key] == b[key], (kw, key)
    # a count column that disagrees with the children: scipy's maxdists ignores it
    bad = z.copy()
    bad[0, 3] = 5
    np.testing.assert_array_equal(h.maxdists(bad), sh.maxdists(bad))
    assert h.is_valid_linkage(z) and h.is_monotonic(z) == sh.is_monotonic(z)


def test_vq_and_kmeans_equal_scipy(blobs):
    for dt in (np.float32, np.float64):
        x = blobs.astype(dt)
        codes, dist = vq.vq(x, x[:7])
        c2, d2 = svq.vq(x, x[:7])
        np.testing.assert_array_equal(codes, c2)
        assert dist.dtype == d2.dtype
        np.testing.assert_array_equal(dist, d2)
    np.testing.assert_array_equal(vq.whiten(blobs), svq.whiten(blobs))
    for seed in (0, 3):
        b1, d1 = vq.kmeans(blobs, 5, seed=seed)
        b2, d2 = svq.kmeans(blobs, 5, seed=seed)
        np.testing.assert_array_equal(b1, b2)
        assert d1 == d2
        for minit in ("random", "points", "++"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                c1, l1 = vq.kmeans2(blobs, 5, minit=minit, rng=seed)
                c2, l2 = svq.kmeans2(blobs, 5, minit=minit, rng=seed)
            np.testing.assert_allclose(c1, c2, rtol=1e-12)
            np.testing.assert_array_equal(l1, l2)


def test_vq_from_five_features_follows_scipys_matrix_product_path():
    rng = np.random.default_rng(11)
    c = rng.normal(scale=5, size=(40, 16))
    x = c[rng.integers(0, 40, 20_000)] + rng.normal(size=(20_000, 16))
    for dt in (np.float32, np.float64):
        a, da = vq.vq(x.astype(dt), c.astype(dt))
        b, db = svq.vq(x.astype(dt), c.astype(dt))
        np.testing.assert_array_equal(a, b)
        assert da.dtype == db.dtype
        np.testing.assert_allclose(da, db, rtol=1e-4 if dt == np.float32 else 1e-10)
    # a point on a code: |x|^2 + |c|^2 - 2 x.c cancels to rounding, in scipy too
    np.testing.assert_allclose(vq.vq(c[:3], c)[1], svq.vq(c[:3], c)[1], atol=1e-6)
    assert np.all(vq.vq(c[:3], c)[1] < 1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.vq.vq(np.ones((3, 2)), np.ones((2, 3))),
        lambda m: m.vq.vq(np.ones((3, 2)), np.ones(2)),
        lambda m: m.vq.vq(np.array([[np.nan, 1.0]]), np.ones((1, 2))),
        lambda m: m.vq.kmeans(np.ones((3, 2)), 0),
        lambda m: m.vq.kmeans(np.ones((3, 2)), 2, iter=0),
        lambda m: m.vq.kmeans2(np.ones((3, 2)), 2, minit="bogus"),
        lambda m: m.vq.kmeans2(np.ones((3, 2)), 2, missing="bogus"),
        lambda m: m.vq.kmeans2(np.ones((3, 2, 2)), 2),
        lambda m: m.hierarchy.linkage(np.ones((4, 2)), "bogus"),
        lambda m: m.hierarchy.linkage(np.ones((4, 2)), "ward", "cityblock"),
        lambda m: m.hierarchy.linkage(np.array([1.0, np.inf, 2.0])),
        lambda m: m.hierarchy.linkage(np.ones(4)),
        lambda m: m.hierarchy.fcluster(np.ones((2, 3)), 1),
        lambda m: m.hierarchy.fcluster(np.array([[0.0, 1.0, 1.0, 2.0]]), 1, "bogus"),
        lambda m: m.hierarchy.inconsistent(np.array([[0.0, 1.0, 1.0, 2.0]]), -1),
        lambda m: m.hierarchy.leaders(np.array([[0.0, 1.0, 1.0, 2.0]]), np.array([1, 1])),
    ],
)
def test_bad_input_raises_what_scipy_raises(call):
    import scipy.cluster as sc

    import shoal.cluster as ours

    with pytest.raises(Exception) as theirs:
        call(sc)
    with pytest.raises(type(theirs.value)):
        call(ours)
