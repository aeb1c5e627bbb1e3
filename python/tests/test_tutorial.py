"""The tutorial our users learned from (../shared/seed/article.txt), its
snippets with shoal's imports instead of scipy's and scikit-learn's: the
same answers where the tutorial's code fixes them (same data, same seeds),
and the figures drawn (matplotlib's Agg backend) when matplotlib is there."""

import numpy as np
import pytest

import shoal
from shoal.cluster.hierarchy import dendrogram, fcluster, linkage
from shoal.cluster.vq import kmeans, vq

sh = pytest.importorskip("scipy.cluster.hierarchy")
svq = pytest.importorskip("scipy.cluster.vq")

POINTS = np.array([[1.0, 2.0], [1.5, 1.8], [5.0, 8.0], [8.0, 8.0], [1.0, 0.6], [9.0, 11.0]])


def test_hierarchical_and_kmeans_snippets():
    Z = linkage(POINTS, method="ward")
    clusters = fcluster(Z, t=3, criterion="distance")
    np.testing.assert_array_equal(
        clusters, sh.fcluster(sh.linkage(POINTS, "ward"), t=3, criterion="distance")
    )
    for t in [1.5, 3, 5]:
        assert len(np.unique(fcluster(Z, t=t, criterion="distance"))) == len(
            np.unique(sh.fcluster(Z, t=t, criterion="distance"))
        )
    np.random.seed(0)
    centroids, distortion = kmeans(POINTS, 2)
    np.random.seed(0)
    c2, d2 = svq.kmeans(POINTS, 2)
    np.testing.assert_array_equal(centroids, c2)
    idx, _ = vq(POINTS, centroids)
    np.testing.assert_array_equal(idx, svq.vq(POINTS, c2)[0])


def test_side_by_side_snippet_with_its_figures():
    np.random.seed(42)
    points1 = np.random.randn(50, 2) * 1.5 + np.array([5, 5])
    points2 = np.random.randn(50, 2) * 1.0 + np.array([1, 1])
    points3 = np.random.randn(50, 2) * 0.5 + np.array([8, 1])
    points = np.vstack([points1, points2, points3])
    state = np.random.get_state()
    centroids, _ = kmeans(points, 3)
    idx, _ = vq(points, centroids)
    np.random.set_state(state)
    c2, _ = svq.kmeans(points, 3)
    np.testing.assert_array_equal(centroids, c2)
    Z = linkage(points, "ward")
    h_clusters = fcluster(Z, t=6, criterion="distance")
    np.testing.assert_array_equal(
        h_clusters, sh.fcluster(sh.linkage(points, "ward"), t=6, criterion="distance")
    )
    d = dendrogram(
        Z,
        truncate_mode="lastp",
        p=12,
        leaf_rotation=90.0,
        leaf_font_size=8.0,
        show_contracted=True,
        no_plot=True,
    )
    assert d["ivl"] == sh.dendrogram(Z, truncate_mode="lastp", p=12, no_plot=True)["ivl"]
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    plt.figure(figsize=(12, 5))
    plt.subplot(1, 2, 1)
    plt.scatter(points[:, 0], points[:, 1], c=idx, cmap="viridis", s=10)
    plt.scatter(centroids[:, 0], centroids[:, 1], c="red", marker="X", s=100, label="Centroids")
    plt.subplot(1, 2, 2)
    plt.scatter(points[:, 0], points[:, 1], c=h_clusters, cmap="viridis", s=10)
    plt.close("all")
    plt.figure(figsize=(10, 7))
    dendrogram(Z, truncate_mode="lastp", p=12, leaf_rotation=90.0, leaf_font_size=8.0, show_contracted=True)
    ax = plt.gca()
    assert len(ax.get_lines()) == len(d["icoord"])
    plt.close("all")


def test_large_data_snippets():
    large_points = np.random.default_rng(1).random((1_000_000, 2))
    sample = large_points[np.random.default_rng(2).choice(len(large_points), 10_000, replace=False)]
    centroids, _ = kmeans(sample, 10, seed=3)
    all_idx, dist = vq(large_points, centroids)
    assert all_idx.shape == (1_000_000,) and set(np.unique(all_idx)) <= set(range(10))
    np.testing.assert_array_equal(all_idx, svq.vq(large_points, centroids)[0])
    mbk = shoal.MiniBatchKMeans(n_clusters=10, batch_size=1000, n_init="auto", random_state=0)
    mbk.fit(large_points[:100_000])
    assert mbk.cluster_centers_.shape == (10, 2)
