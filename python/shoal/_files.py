"""Files of any size, from Python: hierarchical clustering (exact,
micro-clusters or a sample) and DBSCAN, through the engine functions the
``shoal linkage`` and ``shoal dbscan`` commands call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _shoal
from ._progress import progress_callback
from ._units import parse_memory

__all__ = ["DbscanResult", "LinkageResult", "dbscan_file", "linkage_file", "read_info"]

_METHODS = ("single", "complete", "average", "weighted", "centroid", "median", "ward")
_CRITERIA = ("maxclust", "distance", "inconsistent", "monocrit", "maxclust_monocrit")


def read_info(path: Any, columns: list[str] | None = None) -> dict[str, Any]:
    """What a file holds: rows, dim, columns, storage, format, size."""
    return _shoal.read_info(str(path), columns)


@dataclass
class LinkageResult:
    """What :func:`linkage_file` computed.

    ``Z`` is scipy's linkage matrix over the leaves: every row (exact), the
    micro-cluster centroids (``leaves``, with ``weights``, the rows each
    holds) or the sampled rows (``leaves``). ``sizes`` holds the rows of
    each flat cluster 1..k when ``labels_out`` was written."""

    Z: np.ndarray
    rows: int
    leaves: np.ndarray | None
    weights: np.ndarray | None
    sizes: list[int] | None
    algorithm: str
    precision: str


def linkage_file(
    path: Any,
    method: str = "ward",
    *,
    micro_clusters: int | None = None,
    sample: int | None = None,
    micro_algorithm: str = "minibatch",
    optimal_ordering: bool = False,
    columns: list[str] | None = None,
    seed: int = 0,
    precision: str = "auto",
    memory: Any = "1GiB",
    z_out: Any = None,
    labels_out: Any = None,
    criterion: str = "maxclust",
    t: float | None = None,
    depth: int = 2,
    progress: Any = None,
) -> LinkageResult:
    """Hierarchical clustering of a .parquet, .npy, .f32 or .csv file of any
    size, as ``shoal linkage`` does it.

    Without ``micro_clusters`` or ``sample`` every row is a leaf and the
    tree is scipy's ``linkage`` of the file's rows (in the file's precision
    with ``precision="auto"``: float64 data gives scipy's tree to the bit);
    that needs the rows and the method's working memory within ``memory``.
    With ``micro_clusters=M`` the file is first reduced by streaming k-means
    to M weighted centroids (bounded memory, any size); with ``sample=M`` to
    a seeded sample of M rows. ``labels_out`` (.npy or .parquet) receives
    every row's flat cluster (1..k, scipy's numbering) under ``fcluster``'s
    ``criterion`` and ``t``, streamed in input order; ``z_out`` the linkage
    matrix as .npy. Both are written atomically, only once the whole run
    succeeded.
    """
    if method not in _METHODS:
        raise ValueError(f"Invalid method: {method}")
    if criterion not in _CRITERIA:
        raise ValueError(f"Invalid cluster formation criterion: {criterion}")
    if labels_out is not None and t is None:
        raise ValueError("labels_out needs a cut: give t (and criterion)")
    with progress_callback(progress) as cb:
        r = _shoal.linkage_file(
            str(path),
            method,
            columns=columns,
            micro_clusters=micro_clusters,
            sample=sample,
            micro_algorithm=micro_algorithm,
            optimal_ordering=bool(optimal_ordering),
            seed=int(seed),
            precision=precision,
            memory=parse_memory(memory),
            z_out=None if z_out is None else str(z_out),
            labels_out=None if labels_out is None else str(labels_out),
            criterion=criterion,
            t=None if t is None else float(t),
            depth=int(depth),
            progress=cb,
        )
    return LinkageResult(
        Z=r["Z"],
        rows=int(r["rows"]),
        leaves=r.get("leaves"),
        weights=r.get("weights"),
        sizes=r["sizes"],
        algorithm=r["algorithm"],
        precision=r["precision"],
    )


@dataclass
class DbscanResult:
    """What :func:`dbscan_file` computed: scikit-learn's ``labels_`` (-1 for
    noise) and ``core_sample_indices_`` for every row of the file."""

    labels: np.ndarray
    core_sample_indices: np.ndarray

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0


def dbscan_file(
    path: Any,
    eps: float = 0.5,
    min_samples: int = 5,
    *,
    metric: str = "euclidean",
    columns: list[str] | None = None,
    precision: str = "auto",
    labels_out: Any = None,
    progress: Any = None,
) -> DbscanResult:
    """scikit-learn's DBSCAN of every row of a file: the same labels as
    ``sklearn.cluster.DBSCAN(eps, min_samples=min_samples).fit(X)`` on the
    file's rows. The rows are read into memory (in the file's precision by
    default); the neighbour search is a grid, with no distance matrix.
    ``metric="haversine"`` takes two columns, latitude and longitude in
    degrees as GPS files hold them, and ``eps`` in radians (scikit-learn's
    convention: metres / 6 371 008.8). ``labels_out`` (.npy or .parquet)
    receives the labels, written atomically."""
    if metric not in ("euclidean", "haversine"):
        raise ValueError(f"shoal's DBSCAN computes the 'euclidean' and 'haversine' metrics, not {metric!r}")
    if not (isinstance(min_samples, int | np.integer) and min_samples >= 1):
        raise ValueError(f"min_samples must be an integer >= 1, got {min_samples!r}")
    with progress_callback(progress) as cb:
        labels, core = _shoal.dbscan_file(
            str(path),
            float(eps),
            int(min_samples),
            metric=metric,
            columns=columns,
            precision=precision,
            labels_out=None if labels_out is None else str(labels_out),
            progress=cb,
        )
    return DbscanResult(labels=labels, core_sample_indices=np.flatnonzero(core))
