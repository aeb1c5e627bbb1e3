"""scipy.cluster.vq with scipy's signatures, validation and answers.

The loops follow scipy's own (BSD-3-Clause, SciPy developers); the
distance and mean kernels are shoal's (``shoal._shoal``), in the array's
precision and by scipy's formulas (direct differences below five features,
bit for bit; from five, |x|^2 + |c|^2 - 2 x.c through a matrix product, as
scipy's BLAS path, equal to rounding), with the GIL released.
"""

from __future__ import annotations

import warnings
from collections import deque
from typing import Any

import numpy as np

from .. import _shoal
from .._rng import check_random_state, transition_to_rng

__all__ = ["ClusterError", "kmeans", "kmeans2", "py_vq", "vq", "whiten"]


class ClusterError(Exception):
    """An empty cluster in kmeans2 with ``missing='raise'``."""


def _asarray(a: Any, check_finite: bool) -> np.ndarray:
    return np.asarray_chkfinite(a) if check_finite else np.asarray(a)


def whiten(obs: Any, check_finite: bool | None = None) -> np.ndarray:
    """Divide each feature (column) by its standard deviation."""
    if check_finite is None:
        check_finite = True
    obs = _asarray(obs, check_finite)
    std_dev = obs.std(axis=0)
    zero_std_mask = std_dev == 0
    if np.any(zero_std_mask):
        std_dev = np.where(zero_std_mask, 1.0, std_dev)
        if check_finite:
            warnings.warn(
                "Some columns have standard deviation zero. The values of these columns will not change.",
                RuntimeWarning,
                stacklevel=2,
            )
    return obs / std_dev


def _native_vq(obs: np.ndarray, code_book: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scipy's ``_vq.vq``: ranks and dimensions checked, float32 or float64."""
    if obs.ndim != code_book.ndim:
        raise ValueError("Observation and code_book should have the same rank")
    if obs.ndim == 1:
        obs = obs[:, np.newaxis]
        code_book = code_book[:, np.newaxis]
    elif obs.ndim != 2:
        raise ValueError("ndim different than 1 or 2 are not supported")
    if obs.shape[1] != code_book.shape[1]:
        raise ValueError("Code-book has different dimension than observations")
    ct = np.result_type(obs, code_book)
    if ct == np.float32:
        return _shoal.vq_f32(
            np.ascontiguousarray(obs, np.float32), np.ascontiguousarray(code_book, np.float32)
        )
    return _shoal.vq_f64(np.ascontiguousarray(obs, np.float64), np.ascontiguousarray(code_book, np.float64))


def vq(obs: Any, code_book: Any, check_finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Assign codes from a code book to observations: (code, distance)."""
    obs = _asarray(obs, check_finite)
    code_book = _asarray(code_book, check_finite)
    ct = np.result_type(obs, code_book)
    if np.issubdtype(ct, np.floating) and ct in (np.float32, np.float64):
        return _native_vq(obs.astype(ct, copy=False), code_book.astype(ct, copy=False))
    return py_vq(obs, code_book, check_finite=False)


def py_vq(obs: Any, code_book: Any, check_finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """scipy's pure-Python vq: float64 distances, int64 codes."""
    obs = _asarray(obs, check_finite)
    code_book = _asarray(code_book, check_finite)
    if obs.ndim != code_book.ndim:
        raise ValueError("Observation and code_book should have the same rank")
    code, dist = _native_vq(obs.astype(np.float64), code_book.astype(np.float64))
    return code.astype(np.intp), dist


def _update_cluster_means(obs: np.ndarray, labels: np.ndarray, nc: int) -> tuple[np.ndarray, np.ndarray]:
    one_d = obs.ndim == 1
    x = obs[:, np.newaxis] if one_d else obs
    lab = np.ascontiguousarray(labels, dtype=np.int32)
    if x.dtype == np.float32:
        cb, has = _shoal.update_cluster_means_f32(np.ascontiguousarray(x), lab, nc)
    else:
        cb, has = _shoal.update_cluster_means_f64(np.ascontiguousarray(x, dtype=np.float64), lab, nc)
    return (cb[:, 0] if one_d else cb), has


def _kmeans(obs: np.ndarray, guess: np.ndarray, thresh: float = 1e-5) -> tuple[np.ndarray, Any]:
    code_book = guess
    diff = np.inf
    prev_avg_dists: deque[Any] = deque([diff], maxlen=2)
    while diff > thresh:
        obs_code, distort = vq(obs, code_book, check_finite=False)
        prev_avg_dists.append(np.mean(distort, axis=-1))
        code_book, has_members = _update_cluster_means(obs, obs_code, code_book.shape[0])
        code_book = code_book[has_members]
        diff = np.abs(prev_avg_dists[0] - prev_avg_dists[1])
    return code_book, prev_avg_dists[1]


def _kpoints(data: np.ndarray, k: int, rng: Any) -> np.ndarray:
    idx = rng.choice(data.shape[0], size=int(k), replace=False)
    return np.take(data, np.asarray(idx, dtype=np.asarray([1]).dtype), axis=0)


def _krandinit(data: np.ndarray, k: int, rng: Any) -> np.ndarray:
    mu = np.mean(data, axis=0)
    if data.ndim == 1:
        cov = np.cov(data)
        x = rng.standard_normal(size=k)
        x *= np.sqrt(cov)
    elif data.shape[1] > data.shape[0]:
        _, s, vh = np.linalg.svd(data - mu, full_matrices=False)
        x = rng.standard_normal(size=(k, s.size))
        svh = s[:, None] * vh / np.sqrt(data.shape[0] - 1.0)
        x = x @ svh
    else:
        cov = np.atleast_2d(np.cov(data.T))
        x = rng.standard_normal(size=(k, mu.size))
        x = x @ np.linalg.cholesky(cov).T
    x += mu
    return x


def _kpp(data: np.ndarray, k: int, rng: Any) -> np.ndarray:
    one_d = data.ndim == 1
    if one_d:
        data = data[:, None]
    init = np.empty((int(k), data.shape[1]))
    for i in range(k):
        if i == 0:
            data_idx = _rng_integers(rng, data.shape[0])
        else:
            diff = data[None, :, :] - init[:i, None, :]
            d2 = np.einsum("ijk,ijk->ij", diff, diff).min(axis=0)
            probs = d2 / d2.sum()
            cumprobs = probs.cumsum()
            r = rng.uniform()
            data_idx = int(np.searchsorted(cumprobs, r))
        init[i, :] = data[data_idx, :]
    return init[:, 0] if one_d else init


def _rng_integers(rng: Any, high: int) -> int:
    # scipy._lib._util.rng_integers(gen, high): [0, high)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, high))
    return int(rng.randint(0, high))


_valid_init_meth = {"random": _krandinit, "points": _kpoints, "++": _kpp}


def _missing_warn() -> None:
    warnings.warn(
        "One of the clusters is empty. Re-run kmeans with a different initialization.",
        stacklevel=3,
    )


def _missing_raise() -> None:
    raise ClusterError("One of the clusters is empty. Re-run kmeans with a different initialization.")


_valid_miss_meth = {"warn": _missing_warn, "raise": _missing_raise}


@transition_to_rng("seed")
def kmeans(
    obs: Any,
    k_or_guess: Any,
    iter: int = 20,
    thresh: float = 1e-5,
    check_finite: bool = True,
    *,
    rng: Any = None,
) -> tuple[np.ndarray, Any]:
    """k-means on whitened observations: (code book, mean distortion)."""
    obs = _asarray(obs, check_finite)
    guess = _asarray(k_or_guess, check_finite)
    if iter < 1:
        raise ValueError(f"iter must be at least 1, got {iter}")
    if guess.size != 1:
        if guess.size < 1:
            raise ValueError(f"Asked for 0 clusters. Initial book was {guess}")
        return _kmeans(obs, guess, thresh=thresh)
    k = int(guess)
    if k != guess:
        raise ValueError("If k_or_guess is a scalar, it must be an integer.")
    if k < 1:
        raise ValueError(f"Asked for {k} clusters.")
    rng = check_random_state(rng)
    best_dist = np.inf
    best_book = None
    for _ in range(iter):
        g = _kpoints(obs, k, rng)
        book, dist = _kmeans(obs, g, thresh=thresh)
        if dist < best_dist:
            best_book = book
            best_dist = dist
    return best_book, best_dist  # type: ignore[return-value]


@transition_to_rng("seed")
def kmeans2(
    data: Any,
    k: Any,
    iter: int = 10,
    thresh: float = 1e-5,
    minit: str = "random",
    missing: str = "warn",
    check_finite: bool = True,
    *,
    rng: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """k-means with a choice of initialisation: (centroids, labels)."""
    if int(iter) < 1:
        raise ValueError(f"Invalid iter ({iter}), must be a positive integer.")
    try:
        miss_meth = _valid_miss_meth[missing]
    except KeyError as e:
        raise ValueError(f"Unknown missing method {missing!r}") from e
    data = _asarray(data, check_finite)
    code_book = np.array(k, copy=True)
    if data.ndim == 1:
        d = 1
    elif data.ndim == 2:
        d = data.shape[1]
    else:
        raise ValueError("Input of rank > 2 is not supported.")
    if data.size < 1 or code_book.size < 1:
        raise ValueError("Empty input is not supported.")
    if minit == "matrix" or code_book.size > 1:
        if data.ndim != code_book.ndim:
            raise ValueError("k array doesn't match data rank")
        nc = code_book.shape[0]
        if data.ndim > 1 and code_book.shape[1] != d:
            raise ValueError("k array doesn't match data dimension")
    else:
        nc = int(code_book)
        if nc < 1:
            raise ValueError(f"Cannot ask kmeans2 for {nc} clusters (k was {code_book})")
        elif nc != code_book:
            warnings.warn("k was not an integer, was converted.", stacklevel=2)
        try:
            init_meth = _valid_init_meth[minit]
        except KeyError as e:
            raise ValueError(f"Unknown init method {minit!r}") from e
        rng = check_random_state(rng)
        code_book = init_meth(data, code_book, rng)
    label = None
    for _ in range(iter):
        label = vq(data, code_book, check_finite=check_finite)[0]
        new_code_book, has_members = _update_cluster_means(
            data.astype(code_book.dtype) if data.dtype != code_book.dtype else data,
            label,
            nc,
        )
        if not has_members.all():
            miss_meth()
            new_code_book[~has_members] = code_book[~has_members]
        code_book = new_code_book
    return code_book, label  # type: ignore[return-value]
