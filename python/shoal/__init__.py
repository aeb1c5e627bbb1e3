"""shoal: clustering for point sets of any size, from Python.

``shoal.cluster.vq`` and ``shoal.cluster.hierarchy`` are scipy.cluster's
API with scipy's answers; ``shoal.KMeans`` and ``shoal.MiniBatchKMeans``
follow scikit-learn's estimators, and also ``fit_file`` a Parquet, .npy,
.f32 or CSV file larger than memory; ``shoal.metrics`` has scikit-learn's
clustering scores. Computation runs in shoal's Rust engine with the GIL
released.
"""

from __future__ import annotations

from typing import Any

from . import _shoal, cluster, metrics
from ._cluster import DBSCAN, AgglomerativeClustering
from ._kmeans import KMeans, MiniBatchKMeans, assign_file

__version__ = _shoal.__version__

__all__ = [
    "DBSCAN",
    "AgglomerativeClustering",
    "KMeans",
    "MiniBatchKMeans",
    "assign_file",
    "cluster",
    "metrics",
    "num_threads",
    "read_info",
    "set_num_threads",
    "__version__",
]


def read_info(path: Any, columns: list[str] | None = None) -> dict[str, Any]:
    """What a file holds: rows, dim, columns, storage, format, size."""
    return _shoal.read_info(str(path), columns)


def set_num_threads(n: int) -> None:
    """Size shoal's worker pool (before its first computation); default all cores."""
    _shoal.set_num_threads(int(n))


def num_threads() -> int:
    return _shoal.num_threads()
