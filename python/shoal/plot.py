"""Figures in notebooks and files: scatter plots (and maps) of clusters,
dendrograms and silhouette analyses, drawn by shoal's own renderer (no
matplotlib needed). Every function returns a :class:`Figure`, which
Jupyter shows inline (SVG, or PNG) and ``save`` writes to ``.svg`` or
``.png`` atomically.

A scatter of more points than ``max_markers`` is drawn as a colour-density
raster filled in one streaming pass, so a hundred million points draw in
bounded memory; more than two columns are drawn on their first two
principal components.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from typing import Any

import numpy as np

from . import _shoal

__all__ = ["Figure", "dendrogram", "scatter", "scatter_file", "silhouette"]


class Figure:
    """A drawn figure: ``svg`` text, ``png()`` bytes, ``save(path)``."""

    def __init__(self, svg: str, kind: str, **info: Any):
        self.svg = svg
        self.kind = kind
        self.info = info

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_png_(self) -> bytes:
        return self.png()

    def png(self) -> bytes:
        """The figure rendered to PNG."""
        return bytes(_shoal.svg_to_png(self.svg))

    def save(self, path: Any) -> pathlib.Path:
        """Writes ``.svg`` or ``.png`` (by the name's ending) through a
        temporary file renamed into place."""
        p = pathlib.Path(path)
        ext = p.suffix.lower()
        if ext == ".svg":
            data = self.svg.encode()
        elif ext == ".png":
            data = self.png()
        else:
            raise ValueError(f"{p}: a figure is saved as .svg or .png, not {ext or 'no extension'!r}")
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent if str(p.parent) else ".")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, p)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return p

    def __repr__(self) -> str:
        return f"<shoal.plot.Figure {self.kind} {self.info}>"


def _labels(labels: Any, n: int) -> np.ndarray | None:
    if labels is None:
        return None
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(f"labels must be 1-D with one label per row ({n}), got shape {lab.shape}")
    if not np.issubdtype(lab.dtype, np.integer):
        if not np.all(np.mod(lab, 1) == 0):
            raise ValueError("labels must be whole numbers (-1 for noise)")
    return np.ascontiguousarray(lab, dtype=np.int64)


def _centers(centroids: Any, columns: list[str] | None) -> np.ndarray | None:
    """Centroids as float32 rows: an array as given, or a fitted estimator's
    ``cluster_centers_``, reordered to ``columns`` when it knows its
    features' names."""
    if centroids is None:
        return None
    if hasattr(centroids, "cluster_centers_"):
        names = [str(v) for v in getattr(centroids, "feature_names_in_", [])]
        cc = np.asarray(centroids.cluster_centers_)
        if columns is not None and names and all(c in names for c in columns):
            cc = cc[:, [names.index(c) for c in columns]]
        centroids = cc
    return np.ascontiguousarray(centroids, dtype=np.float32)


def scatter(
    X: Any,
    labels: Any = None,
    *,
    centroids: Any = None,
    title: str = "",
    xlabel: str | None = None,
    ylabel: str | None = None,
    map: bool = False,
    size: tuple[int, int] = (800, 600),
    dark: bool = False,
    max_markers: int = 20_000,
) -> Figure:
    """Points coloured by cluster (tab10; noise, -1, grey) with ``centroids``
    as red X markers. ``map=True``: the columns are longitude and latitude
    in degrees, drawn on an equirectangular map with coastlines, borders and
    a scale bar. A fitted estimator's ``cluster_centers_`` can be passed as
    ``centroids`` (or the estimator itself)."""
    x = np.asarray(X)
    if x.ndim != 2:
        raise ValueError(f"Expected 2D array, got {x.ndim}D array instead.")
    x = np.ascontiguousarray(x, dtype=np.float32)
    lab = _labels(labels, x.shape[0])
    c = _centers(centroids, None)
    svg, mode = _shoal.plot_scatter(
        x,
        lab,
        c,
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
        map=bool(map),
        width=int(size[0]),
        height=int(size[1]),
        dark=bool(dark),
        max_markers=int(max_markers),
    )
    return Figure(svg, "map" if map else "scatter", rows=x.shape[0], mode=mode)


def scatter_file(
    path: Any,
    labels: Any = None,
    *,
    label_column: str = "cluster",
    columns: list[str] | None = None,
    centroids: Any = None,
    title: str = "",
    xlabel: str | None = None,
    ylabel: str | None = None,
    map: bool = False,
    size: tuple[int, int] = (800, 600),
    dark: bool = False,
    max_markers: int = 20_000,
    memory: Any = "256MiB",
) -> Figure:
    """A scatter plot (or map) of a .parquet, .npy, .f32 or .csv file of any
    size, streamed with bounded memory: ``labels`` is a labels file written
    by ``fit_file(labels_out=)``, ``assign_file`` or the command line (its
    ``label_column`` for Parquet/CSV), read beside the data; ``centroids``
    an array or a fitted estimator. With ``map=True`` the selected
    ``columns`` are longitude then latitude (``columns=["lon", "lat"]``)."""
    from ._units import parse_memory

    c = _centers(centroids, columns)
    svg, mode = _shoal.plot_scatter_file(
        str(path),
        None if labels is None else str(labels),
        label_column=label_column,
        columns=columns,
        centroids=c,
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
        map=bool(map),
        width=int(size[0]),
        height=int(size[1]),
        dark=bool(dark),
        max_markers=int(max_markers),
        memory=parse_memory(memory),
    )
    return Figure(svg, "map" if map else "scatter", path=str(path), mode=mode)


def dendrogram(
    Z: Any,
    *,
    truncate_mode: str | None = None,
    p: int = 30,
    color_threshold: float | None = None,
    cut: float | None = None,
    labels: Any = None,
    title: str = "",
    leaf_rotation: float = 90.0,
    size: tuple[int, int] = (800, 600),
    dark: bool = False,
) -> Figure:
    """scipy's dendrogram of a linkage matrix (its layout and colours, as
    ``scipy.cluster.hierarchy.dendrogram`` draws it), with a dashed line at
    ``cut`` (an ``fcluster`` distance threshold)."""
    z = np.ascontiguousarray(Z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != 4:
        raise ValueError(f"Linkage matrix 'Z' must have shape (n-1, 4), got {z.shape}")
    if truncate_mode == "mtica":
        truncate_mode = "level"
    svg = _shoal.plot_dendrogram(
        z,
        truncate_mode=truncate_mode,
        p=int(p),
        color_threshold=None if color_threshold is None else float(color_threshold),
        cut=None if cut is None else float(cut),
        labels=None if labels is None else [str(v) for v in labels],
        title=title,
        leaf_rotation=float(leaf_rotation),
        width=int(size[0]),
        height=int(size[1]),
        dark=bool(dark),
    )
    return Figure(svg, "dendrogram", leaves=z.shape[0] + 1)


def silhouette(
    X: Any,
    labels: Any,
    *,
    title: str = "",
    size: tuple[int, int] = (800, 600),
    dark: bool = False,
) -> Figure:
    """scikit-learn's silhouette analysis: each cluster's silhouette values
    sorted in a band, the mean (``silhouette_score``) as a red dashed line."""
    x = np.ascontiguousarray(X, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"Expected 2D array, got {x.ndim}D array instead.")
    lab = _labels(labels, x.shape[0])
    svg, mean = _shoal.plot_silhouette(
        x, lab, title=title, width=int(size[0]), height=int(size[1]), dark=bool(dark)
    )
    return Figure(svg, "silhouette", rows=x.shape[0], mean=mean)
