"""shoal: clustering for point sets of any size, from Python.

``shoal.cluster.vq`` and ``shoal.cluster.hierarchy`` are scipy.cluster's
API with scipy's answers; ``shoal.KMeans`` and ``shoal.MiniBatchKMeans``
follow scikit-learn's estimators, and also ``fit_file`` a Parquet, .npy,
.f32 or CSV file larger than memory; ``shoal.linkage_file`` (exact,
micro-clusters or a sample), ``shoal.dbscan_file`` and ``shoal.assign_file``
work on such files too, and ``shoal.gen`` makes seeded synthetic sets;
``shoal.metrics`` has scikit-learn's clustering scores. Computation runs in shoal's Rust engine with the GIL
released.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _shoal, cluster, gen, metrics, plot
from ._files import DbscanResult, LinkageResult, dbscan_file, linkage_file, read_info

if TYPE_CHECKING:
    from ._cluster import DBSCAN, AgglomerativeClustering
    from ._kmeans import KMeans, MiniBatchKMeans, assign_file

# The estimators subclass scikit-learn's base classes when it is installed,
# and importing scikit-learn takes most of a second: they are imported on
# first use, so scripts that only stream files (or use shoal.cluster) never
# pay for it.
_LAZY = {
    "KMeans": "._kmeans",
    "MiniBatchKMeans": "._kmeans",
    "assign_file": "._kmeans",
    "DBSCAN": "._cluster",
    "AgglomerativeClustering": "._cluster",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'shoal' has no attribute {name!r}")


__version__ = _shoal.__version__

__all__ = [
    "DBSCAN",
    "AgglomerativeClustering",
    "DbscanResult",
    "KMeans",
    "LinkageResult",
    "MiniBatchKMeans",
    "assign_file",
    "cluster",
    "dbscan_file",
    "gen",
    "linkage_file",
    "metrics",
    "num_threads",
    "plot",
    "read_info",
    "set_num_threads",
    "__version__",
]


def set_num_threads(n: int) -> None:
    """Size shoal's worker pool (before its first computation); default all cores."""
    _shoal.set_num_threads(int(n))


def num_threads() -> int:
    return _shoal.num_threads()
