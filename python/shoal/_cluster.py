"""scikit-learn's DBSCAN and AgglomerativeClustering on shoal's kernels
(DBSCAN from a grid, never a distance matrix; the tree by scipy's
algorithms, as ``shoal.cluster.hierarchy.linkage``)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from . import _shoal
from ._base import BaseEstimator, ClusterMixin
from ._kmeans import _check_X
from .cluster import hierarchy

__all__ = ["DBSCAN", "AgglomerativeClustering"]


class DBSCAN(ClusterMixin, BaseEstimator):
    """scikit-learn's ``DBSCAN`` (its labels exactly): Euclidean, or
    haversine on (latitude, longitude) in radians as scikit-learn takes them."""

    def __init__(
        self,
        eps: float = 0.5,
        *,
        min_samples: int = 5,
        metric: str = "euclidean",
        metric_params: Any = None,
        algorithm: str = "auto",
        leaf_size: int = 30,
        p: Any = None,
        n_jobs: Any = None,
    ):
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.metric_params = metric_params
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> DBSCAN:
        if sample_weight is not None:
            raise ValueError("shoal's DBSCAN does not take sample weights yet")
        if not (isinstance(self.eps, numbers.Real) and self.eps > 0):
            raise ValueError(f"eps should be a float > 0, got {self.eps!r}")
        if not (isinstance(self.min_samples, numbers.Integral) and self.min_samples >= 1):
            raise ValueError(f"min_samples should be an integer >= 1, got {self.min_samples!r}")
        metric = (
            "euclidean"
            if self.metric in ("euclidean", "l2", "minkowski") and self.p in (None, 2)
            else self.metric
        )
        X = _check_X(X, self, reset=True)
        x = np.ascontiguousarray(X, dtype=np.float64)
        if metric == "haversine":
            if x.shape[1] != 2:
                raise ValueError("haversine takes two columns: latitude, longitude (radians)")
            x = np.ascontiguousarray(np.degrees(x))
        labels, core = _shoal.dbscan(x, float(self.eps), int(self.min_samples), str(metric))
        self.labels_ = labels.astype(np.intp)
        self.core_sample_indices_ = np.flatnonzero(core)
        self.components_ = np.asarray(X)[self.core_sample_indices_].copy()
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        return self.fit(X, sample_weight=sample_weight).labels_


_METRICS = {
    "euclidean": "euclidean",
    "l2": "euclidean",
    "l1": "cityblock",
    "manhattan": "cityblock",
    "cityblock": "cityblock",
    "cosine": "cosine",
}


class AgglomerativeClustering(ClusterMixin, BaseEstimator):
    """scikit-learn's ``AgglomerativeClustering`` (no connectivity): the tree
    by scipy's algorithms, cut into ``n_clusters`` or at ``distance_threshold``."""

    def __init__(
        self,
        n_clusters: int | None = 2,
        *,
        metric: str = "euclidean",
        memory: Any = None,
        connectivity: Any = None,
        compute_full_tree: Any = "auto",
        linkage: str = "ward",
        distance_threshold: float | None = None,
        compute_distances: bool = False,
    ):
        self.n_clusters = n_clusters
        self.metric = metric
        self.memory = memory
        self.connectivity = connectivity
        self.compute_full_tree = compute_full_tree
        self.linkage = linkage
        self.distance_threshold = distance_threshold
        self.compute_distances = compute_distances

    def fit(self, X: Any, y: Any = None) -> AgglomerativeClustering:
        if self.connectivity is not None:
            raise ValueError("shoal's AgglomerativeClustering does not take a connectivity matrix yet")
        if (self.n_clusters is None) == (self.distance_threshold is None):
            raise ValueError(
                "Exactly one of n_clusters and distance_threshold has to be set, and the other needs to be None."
            )
        if self.linkage not in ("ward", "complete", "average", "single"):
            raise ValueError(
                f"Unknown linkage type {self.linkage}. Valid options are ['ward', 'complete', 'average', 'single']"
            )
        if self.metric not in _METRICS:
            raise ValueError(f"Unknown metric {self.metric!r} for shoal's AgglomerativeClustering")
        if self.linkage == "ward" and _METRICS[self.metric] != "euclidean":
            raise ValueError(
                f"{self.metric} was provided as metric. Ward can only work with euclidean distances."
            )
        X = _check_X(X, self, reset=True)
        n = X.shape[0]
        if n < 2:
            raise ValueError(
                f"Found array with {n} sample(s) (shape={X.shape}) while a minimum of 2 is required."
            )
        if self.n_clusters is not None and not (1 <= self.n_clusters <= n):
            raise ValueError(f"n_clusters should be an integer in [1, {n}], got {self.n_clusters}")
        z = hierarchy.linkage(np.asarray(X, dtype=np.float64), self.linkage, _METRICS[self.metric])
        self.children_ = z[:, :2].astype(np.intp)
        self.n_leaves_ = n
        self.n_connected_components_ = 1
        if self.distance_threshold is not None or self.compute_distances:
            self.distances_ = z[:, 2].copy()
        if self.distance_threshold is not None:
            k = int(np.count_nonzero(z[:, 2] >= self.distance_threshold)) + 1
        else:
            k = int(self.n_clusters)
        self.n_clusters_ = k
        self.labels_ = (hierarchy.fcluster(z, k, "maxclust") - 1).astype(np.intp)
        return self

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).labels_
