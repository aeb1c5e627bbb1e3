"""scikit-learn's clustering scores (its signatures and definitions) on
shoal's kernels; noise (-1) is one more cluster, as scikit-learn scores it."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _shoal

__all__ = [
    "adjusted_mutual_info_score",
    "adjusted_rand_score",
    "calinski_harabasz_score",
    "completeness_score",
    "davies_bouldin_score",
    "fowlkes_mallows_score",
    "homogeneity_completeness_v_measure",
    "homogeneity_score",
    "normalized_mutual_info_score",
    "silhouette_samples",
    "silhouette_score",
    "v_measure_score",
]


def _xl(X: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64, order="C")
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
    if not np.all(np.isfinite(X)):
        raise ValueError("Input X contains NaN or infinity.")
    labels = _codes(labels)
    if X.shape[0] != labels.shape[0]:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: [{X.shape[0]}, {labels.shape[0]}]"
        )
    n_labels = np.unique(labels).size
    if not 1 < n_labels < X.shape[0]:
        raise ValueError(f"Number of labels is {n_labels}. Valid values are 2 to n_samples - 1 (inclusive)")
    return X, labels


def _codes(labels: Any) -> np.ndarray:
    """Any hashable labels as int64 codes (order of sorted unique values)."""
    a = np.asarray(labels)
    if a.ndim != 1:
        a = a.ravel()
    if np.issubdtype(a.dtype, np.integer):
        return np.ascontiguousarray(a, dtype=np.int64)
    _, inv = np.unique(a, return_inverse=True)
    return np.ascontiguousarray(inv, dtype=np.int64)


def silhouette_samples(X: Any, labels: Any, *, metric: str = "euclidean", **kwds: Any) -> np.ndarray:
    if metric != "euclidean":
        raise ValueError("shoal's silhouette computes the Euclidean metric only")
    X, labels = _xl(X, labels)
    return _shoal.silhouette_samples(X, labels)


def silhouette_score(
    X: Any,
    labels: Any,
    *,
    metric: str = "euclidean",
    sample_size: int | None = None,
    random_state: Any = None,
    **kwds: Any,
) -> float:
    X = np.asarray(X)
    labels = np.asarray(labels)
    if sample_size is not None:
        rs = (
            random_state
            if isinstance(random_state, np.random.RandomState)
            else np.random.RandomState(random_state)
        )
        idx = rs.permutation(X.shape[0])[:sample_size]
        X, labels = X[idx], labels[idx]
    return float(np.mean(silhouette_samples(X, labels, metric=metric)))


def davies_bouldin_score(X: Any, labels: Any) -> float:
    X, labels = _xl(X, labels)
    return float(_shoal.davies_bouldin(X, labels))


def calinski_harabasz_score(X: Any, labels: Any) -> float:
    X, labels = _xl(X, labels)
    return float(_shoal.calinski_harabasz(X, labels))


def _external(labels_true: Any, labels_pred: Any) -> dict[str, float]:
    t, p = _codes(labels_true), _codes(labels_pred)
    if t.shape != p.shape:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: [{t.shape[0]}, {p.shape[0]}]"
        )
    return _shoal.external(t, p)


def adjusted_rand_score(labels_true: Any, labels_pred: Any) -> float:
    return float(_external(labels_true, labels_pred)["adjusted_rand"])


def adjusted_mutual_info_score(
    labels_true: Any, labels_pred: Any, *, average_method: str = "arithmetic"
) -> float:
    if average_method != "arithmetic":
        raise ValueError("shoal computes AMI with the arithmetic mean only")
    return float(_external(labels_true, labels_pred)["adjusted_mutual_info"])


def normalized_mutual_info_score(
    labels_true: Any, labels_pred: Any, *, average_method: str = "arithmetic"
) -> float:
    if average_method != "arithmetic":
        raise ValueError("shoal computes NMI with the arithmetic mean only")
    return float(_external(labels_true, labels_pred)["normalized_mutual_info"])


def homogeneity_completeness_v_measure(
    labels_true: Any, labels_pred: Any, *, beta: float = 1.0
) -> tuple[float, float, float]:
    e = _external(labels_true, labels_pred)
    h, c = e["homogeneity"], e["completeness"]
    v = 0.0 if h + c == 0 else (1 + beta) * h * c / (beta * h + c)
    return float(h), float(c), float(v)


def homogeneity_score(labels_true: Any, labels_pred: Any) -> float:
    return homogeneity_completeness_v_measure(labels_true, labels_pred)[0]


def completeness_score(labels_true: Any, labels_pred: Any) -> float:
    return homogeneity_completeness_v_measure(labels_true, labels_pred)[1]


def v_measure_score(labels_true: Any, labels_pred: Any, *, beta: float = 1.0) -> float:
    return homogeneity_completeness_v_measure(labels_true, labels_pred, beta=beta)[2]


def fowlkes_mallows_score(labels_true: Any, labels_pred: Any, *, sparse: bool = False) -> float:
    return float(_external(labels_true, labels_pred)["fowlkes_mallows"])
