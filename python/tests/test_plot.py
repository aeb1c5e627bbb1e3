"""shoal.plot: figures decoded and measured (pixels of each cluster's
colour, the density path past max_markers), the dendrogram's links at
scipy's coordinates, and files written atomically."""

import io
import re

import numpy as np
import pytest

import shoal
import shoal.plot as sp

TAB10 = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]


def _pixels(fig):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(fig.png())).convert("RGB"))


def _count(img, rgb, tol=12):
    return int((np.abs(img.astype(int) - np.array(rgb)).max(axis=2) <= tol).sum())


@pytest.fixture(scope="module")
def blobs():
    x, y, c = shoal.gen.blobs(3000, dim=2, k=4, seed=4, return_centers=True)
    return x, y, c


def test_scatter_markers_draw_each_cluster_in_its_colour(blobs):
    pytest.importorskip("PIL")
    x, y, c = blobs
    fig = sp.scatter(x, y, centroids=c, title="four blobs")
    assert fig.info["mode"] == "markers"
    img = _pixels(fig)
    assert img.shape == (600, 800, 3)
    for rgb in TAB10:
        assert _count(img, rgb) > 200, rgb
    assert _count(img, (255, 0, 0), tol=0) > 20  # the centroids' red X
    assert "four blobs" in fig.svg and fig._repr_svg_() == fig.svg
    # without labels: one colour only
    one = _pixels(sp.scatter(x))
    assert _count(one, TAB10[0]) > 200 and _count(one, TAB10[1]) == 0


def test_scatter_past_max_markers_is_a_density_raster(blobs):
    pytest.importorskip("PIL")
    x, y, _ = blobs
    fig = sp.scatter(x, y, max_markers=100)
    assert fig.info["mode"] == "density"
    assert "data:image/png;base64" in fig.svg
    img = _pixels(fig)
    # the raster mixes colours by count; each cluster still shows as its own hue
    for rgb in TAB10:
        assert _count(img, rgb, tol=40) > 50, rgb


def test_scatter_of_many_columns_draws_principal_components():
    x, y = shoal.gen.blobs(2000, dim=6, k=3, seed=2)
    fig = sp.scatter(x, y)
    assert "principal component 1" in fig.svg


def test_map_needs_degrees():
    gps, lab = shoal.gen.spatial(5000, k=3, seed=1)
    fig = sp.scatter(gps[:, ::-1], lab, map=True)  # longitude, latitude
    assert fig.kind == "map" and " km" in fig.svg
    with pytest.raises(ValueError, match="degrees"):
        sp.scatter(gps * 10, lab, map=True)


def test_dendrogram_links_are_scipys():
    h = pytest.importorskip("scipy.cluster.hierarchy")
    x, _ = shoal.gen.blobs(40, dim=2, k=3, seed=9)
    z = h.linkage(x.astype(np.float64), "ward")
    fig = sp.dendrogram(z, cut=z[-3, 2])
    d = h.dendrogram(z, no_plot=True)
    # one polyline per link, as many as scipy's icoord
    assert len(re.findall(r"<polyline", fig.svg)) >= len(d["icoord"])
    assert all(str(v) in fig.svg for v in d["ivl"][:5])
    with pytest.raises(ValueError):
        sp.dendrogram(z[:, :3])


def test_silhouette_mean_is_scikit_learns(blobs):
    skm = pytest.importorskip("sklearn.metrics")
    x, y, _ = blobs
    keep = y >= 0
    fig = sp.silhouette(x[keep], y[keep])
    assert abs(fig.info["mean"] - skm.silhouette_score(x[keep].astype(np.float64), y[keep])) < 1e-9


def test_save_writes_svg_and_png_atomically(tmp_path, blobs):
    x, y, _ = blobs
    fig = sp.scatter(x, y)
    fig.save(tmp_path / "f.svg")
    fig.save(tmp_path / "f.png")
    assert (tmp_path / "f.svg").read_text().startswith("<svg")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="svg or .png"):
        fig.save(tmp_path / "f.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "f.svg"]
    with pytest.raises(ValueError, match="one label per row"):
        sp.scatter(x, y[:10])


def test_scatter_of_a_file_equals_the_scatter_of_its_rows(tmp_path):
    pytest.importorskip("PIL")
    p = tmp_path / "gps.parquet"
    shoal.gen.spatial(60_000, k=5, seed=3, noise=0.02, out=p)
    km = shoal.KMeans(5, random_state=0)
    lab = tmp_path / "labels.parquet"
    km.fit_file(p, labels_out=lab)
    x, _ = shoal.gen.spatial(60_000, k=5, seed=3, noise=0.02)  # the file's rows (same seed)
    # the same rows, labels and centroids from memory and from the files:
    # the same density raster, the same picture
    kw = {"map": True, "max_markers": 1000, "xlabel": "lon", "ylabel": "lat"}
    a = sp.scatter_file(p, lab, columns=["lon", "lat"], centroids=km, **kw)
    b = sp.scatter(x[:, ::-1], km.predict(x), centroids=km.cluster_centers_[:, ::-1], **kw)
    assert a.info["mode"] == b.info["mode"] == "density"
    assert np.array_equal(_pixels(a), _pixels(b))
    with pytest.raises(FileNotFoundError):
        sp.scatter_file(tmp_path / "missing.parquet")
    with pytest.raises(ValueError, match="columns"):
        sp.scatter_file(p, centroids=np.zeros((3, 5), np.float32))
