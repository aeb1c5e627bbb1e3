"""Seeded synthetic point sets, the generator of ``shoal gen``: the same
seed gives the same rows whatever the thread count, in memory or streamed
to a file of any size.

In memory, ``blobs`` returns ``(X, y)`` as ``sklearn.datasets.make_blobs``
does (``X`` float32, ``y`` int32, -1 for noise; ``return_centers=True``
adds the true centres). With ``out=`` the rows are streamed to a .parquet,
.npy, .f32 or .csv file (and the labels to ``labels_out``), written
atomically, and the true centres are returned.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _shoal
from ._progress import progress_callback

__all__ = ["blobs", "spatial", "uniform"]


def _run(kind: str, rows: int, return_centers: bool, **kw: Any) -> Any:
    if not isinstance(rows, int | np.integer) or rows < 0:
        raise ValueError(f"rows must be an integer >= 0, got {rows!r}")
    out = kw.get("out")
    progress = kw.pop("progress", None)
    for key in ("out", "labels_out", "centers_out"):
        if kw.get(key) is not None:
            kw[key] = str(kw[key])
    with progress_callback(progress) as cb:
        x, y, centers = _shoal.generate(kind, int(rows), progress=cb, **kw)
    if out is not None:
        return centers
    return (x, y, centers) if return_centers else (x, y)


def blobs(
    rows: int,
    dim: int = 2,
    k: int = 3,
    *,
    seed: int = 0,
    spread: float = 1.0,
    center_box: float = 10.0,
    zipf: float = 0.0,
    noise: float = 0.0,
    out: Any = None,
    labels_out: Any = None,
    centers_out: Any = None,
    dtype: str = "float32",
    row_group_rows: int = 1 << 20,
    return_centers: bool = False,
    progress: Any = None,
) -> Any:
    """Isotropic Gaussian clusters: ``k`` centres uniform in
    ``[-center_box, center_box]^dim``, standard deviation ``spread``; cluster
    ``i`` weighted ``1/(i+1)^zipf``; a ``noise`` fraction of uniform rows
    labelled -1."""
    return _run(
        "blobs",
        rows,
        return_centers,
        dim=int(dim),
        k=int(k),
        seed=int(seed),
        spread=float(spread),
        center_box=float(center_box),
        zipf=float(zipf),
        noise=float(noise),
        out=out,
        labels_out=labels_out,
        centers_out=centers_out,
        dtype=dtype,
        row_group_rows=int(row_group_rows),
        progress=progress,
    )


def spatial(
    rows: int,
    k: int = 12,
    *,
    seed: int = 0,
    noise: float = 0.05,
    bbox: tuple[float, float, float, float] | None = None,
    zipf: float = 1.1,
    out: Any = None,
    labels_out: Any = None,
    centers_out: Any = None,
    dtype: str = "float32",
    row_group_rows: int = 1 << 20,
    return_centers: bool = False,
    progress: Any = None,
) -> Any:
    """GPS fixes around ``k`` cities (columns lat, lon in degrees): city ``i``
    weighted ``1/(i+1)^zipf``, spreads of 1-8 km, a ``noise`` fraction of
    uniform background (label -1) in ``bbox`` = (min_lat, min_lon, max_lat,
    max_lon), by default the contiguous United States."""
    return _run(
        "spatial",
        rows,
        return_centers,
        k=int(k),
        seed=int(seed),
        zipf=float(zipf),
        noise=float(noise),
        bbox=None if bbox is None else [float(v) for v in bbox],
        out=out,
        labels_out=labels_out,
        centers_out=centers_out,
        dtype=dtype,
        row_group_rows=int(row_group_rows),
        progress=progress,
    )


def uniform(
    rows: int,
    dim: int = 2,
    *,
    seed: int = 0,
    half_width: float = 10.0,
    out: Any = None,
    dtype: str = "float32",
    row_group_rows: int = 1 << 20,
    progress: Any = None,
) -> Any:
    """Uniform rows in ``[-half_width, half_width]^dim`` (labels all 0)."""
    return _run(
        "uniform",
        rows,
        False,
        dim=int(dim),
        seed=int(seed),
        center_box=float(half_width),
        out=out,
        dtype=dtype,
        row_group_rows=int(row_group_rows),
        progress=progress,
    )
