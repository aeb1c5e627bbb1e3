"""scikit-learn's KMeans and MiniBatchKMeans on shoal's engine: the same
streaming fit as ``shoal fit``, over an array (borrowed, not copied, when
it is float32 and C-contiguous) or over a file of any size (``fit_file``)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from . import _shoal
from ._base import BaseEstimator, ClusterMixin, NotFittedError, TransformerMixin
from ._progress import progress_callback
from ._rng import check_random_state
from ._units import parse_memory

__all__ = ["KMeans", "MiniBatchKMeans", "assign_file"]


def assign_file(
    path: Any,
    centroids: Any = None,
    *,
    model: Any = None,
    out: Any,
    columns: list[str] | None = None,
    memory: Any = "256MiB",
    progress: Any = None,
) -> dict[str, Any]:
    """scipy's ``vq`` over a file of any size: every row's nearest centroid
    (of ``centroids``, or a fitted ``model``'s) and its distance, streamed
    to ``out`` (.npy: the cluster; .parquet: cluster and distance), written
    atomically. Returns rows, inertia and counts."""
    if (centroids is None) == (model is None):
        raise ValueError("give centroids or a fitted model, not both")
    c = model.cluster_centers_ if model is not None else centroids
    c = np.ascontiguousarray(c, dtype=np.float32)
    if c.ndim != 2:
        raise ValueError(f"centroids must be 2-D (k x d), got {c.ndim}-D")
    with progress_callback(progress) as cb:
        return _shoal.assign_file(str(path), c, str(out), columns, parse_memory(memory), progress=cb)


def _check_X(X: Any, estimator: Any, reset: bool) -> np.ndarray:
    names = None
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        names = np.asarray([str(c) for c in X.columns], dtype=object)
        X = X.to_numpy()
    elif hasattr(X, "column_names") and hasattr(X, "to_pandas"):  # pyarrow.Table
        names = np.asarray(list(X.column_names), dtype=object)
        X = np.column_stack([np.asarray(c) for c in X.columns])
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError("shoal does not take sparse input; pass a dense array")
    X = np.asarray(X)
    if np.iscomplexobj(X):
        raise ValueError("Complex data not supported")
    if X.dtype == object:
        # numpy's own TypeError / ValueError, as scikit-learn's check_array lets through
        X = X.astype(np.float64)
    if X.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got {X.ndim}D array instead. Reshape your data either using "
            "array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) "
            "if it contains a single sample."
        )
    if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
        raise ValueError(f"dtype {X.dtype} is not numeric")
    if X.shape[0] < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
    if X.shape[1] < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    if not _all_finite(X):
        raise ValueError("Input X contains NaN or infinity.")
    if reset:
        estimator.n_features_in_ = X.shape[1]
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return X


def _all_finite(X: np.ndarray, rows: int = 1 << 15) -> bool:
    """np.isfinite a block of rows at a time: no temporary the size of X."""
    if not np.issubdtype(X.dtype, np.floating):
        return True
    return all(np.isfinite(X[i : i + rows]).all() for i in range(0, X.shape[0], rows))


def _f32(X: np.ndarray) -> np.ndarray:
    """float32 C-contiguous: the array itself when it already is one."""
    return np.ascontiguousarray(X, dtype=np.float32)


class _KMeansBase(ClusterMixin, TransformerMixin, BaseEstimator):
    _algorithm = "lloyd"

    def _seed(self) -> int:
        rs = check_random_state(self.random_state)
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(2**31))
        return int(rs.randint(2**31))

    def _init_args(self, n: int, d: int) -> tuple[str, np.ndarray | None, int]:
        init = self.init
        if not isinstance(self.n_clusters, numbers.Integral) or self.n_clusters < 1:
            raise ValueError(f"n_clusters should be an integer >= 1, got {self.n_clusters!r}")
        if n < self.n_clusters:
            raise ValueError(f"n_samples={n} should be >= n_clusters={self.n_clusters}.")
        centers = None
        if isinstance(init, str):
            if init not in ("k-means++", "random", "k-means||"):
                raise ValueError(
                    f"init should be 'k-means++', 'random', 'k-means||' or an array, got {init!r}"
                )
            name = init
        elif callable(init):
            raise ValueError("shoal does not take a callable init; pass an array")
        else:
            centers = np.asarray(init, dtype=np.float32, order="C")
            if centers.shape != (self.n_clusters, d):
                raise ValueError(
                    f"The shape of the initial centers {centers.shape} does not match the "
                    f"number of clusters {self.n_clusters} and features {d}."
                )
            name = "k-means++"
        n_init = self.n_init
        if n_init == "auto":
            n_init = 1 if (centers is not None or name != "random") else 10
        if not isinstance(n_init, numbers.Integral) or n_init < 1:
            raise ValueError(f"n_init should be 'auto' or an integer >= 1, got {n_init!r}")
        if centers is not None:
            n_init = 1
        if self.max_iter < 1:
            raise ValueError(f"max_iter should be >= 1, got {self.max_iter}")
        if self.tol < 0:
            raise ValueError(f"tol should be >= 0, got {self.tol}")
        return name, centers, int(n_init)

    def _set_fit(self, r: dict[str, Any], dtype: Any) -> None:
        self.cluster_centers_ = np.asarray(r["cluster_centers"], dtype=dtype)
        if "labels" in r:
            self.labels_ = np.asarray(r["labels"], dtype=np.int32)
        self.inertia_ = float(r["inertia"])
        self.n_iter_ = int(r["n_iter"])
        self._n_threads = _shoal.num_threads()

    def _fit_kwargs(self) -> dict[str, Any]:
        return {}

    def _engine_args(self, init: str, centers: np.ndarray | None, n_init: int) -> dict[str, Any]:
        """The engine's k-means parameters, for arrays and files alike."""
        return {
            "k": int(self.n_clusters),
            "init": init,
            "init_centers": centers,
            "n_init": n_init,
            "max_iter": int(self.max_iter),
            "tol": float(self.tol),
            "seed": self._seed(),
            **self._fit_kwargs(),
        }

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        if sample_weight is not None and not np.all(np.asarray(sample_weight) == 1):
            raise ValueError("shoal's k-means does not take sample weights yet")
        X = _check_X(X, self, reset=True)
        init, centers, n_init = self._init_args(X.shape[0], X.shape[1])
        # scikit-learn's verbose: a progress bar over the passes on stderr
        with progress_callback(bool(self.verbose)) as cb:
            r = _shoal.kmeans_fit(
                _f32(X),
                algorithm=self._algorithm,
                progress=cb,
                **self._engine_args(init, centers, n_init),
            )
        self._set_fit(r, X.dtype if X.dtype in (np.float32, np.float64) else np.float64)
        return self

    def fit_file(
        self,
        path: Any,
        columns: list[str] | None = None,
        algorithm: str | None = None,
        memory: Any = "256MiB",
        labels_out: Any = None,
        progress: Any = None,
    ) -> Any:
        """Fit to a .parquet, .npy, .f32 or .csv file of any size, streamed
        with bounded memory; the estimator is then as after ``fit`` (but for
        ``labels_``: with ``labels_out``, every row's label and distance go
        to that .npy or .parquet file, written atomically). ``progress``: a
        bar on stderr (``None``: when interactive), ``False``, or a callback
        ``f(name, index, max_passes, rows_done, rows_total)``."""
        info = _shoal.read_info(str(path), columns)
        init, centers, n_init = self._init_args(int(info["rows"]), int(info["dim"]))
        with progress_callback(progress) as cb:
            r = _shoal.kmeans_fit_file(
                str(path),
                columns=columns,
                algorithm=algorithm or self._algorithm,
                memory=parse_memory(memory),
                labels_out=None if labels_out is None else str(labels_out),
                progress=cb,
                **self._engine_args(init, centers, n_init),
            )
        self._set_fit(r, np.float32)
        self.n_features_in_ = int(info["dim"])
        self.feature_names_in_ = np.asarray(info["columns"], dtype=object)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def predict(self, X: Any, sample_weight: Any = None) -> np.ndarray:
        self._check_fitted()
        X = _check_X(X, self, reset=False)
        codes, _ = _shoal.vq_f32(_f32(X), _f32(self.cluster_centers_))
        return codes

    def transform(self, X: Any) -> np.ndarray:
        self._check_fitted()
        X = _check_X(X, self, reset=False)
        c = self.cluster_centers_.astype(np.float64)
        x = X.astype(np.float64)
        d2 = (x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :]
        return np.sqrt(np.maximum(d2, 0)).astype(
            X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        )

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        self._check_fitted()
        X = _check_X(X, self, reset=False)
        _, dist = _shoal.vq_f64(
            np.ascontiguousarray(X, np.float64), np.ascontiguousarray(self.cluster_centers_, np.float64)
        )
        return -float(np.sum(dist * dist))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.sparse = False
        return tags


class KMeans(_KMeansBase):
    """scikit-learn's ``KMeans`` (Lloyd) on shoal's engine."""

    _algorithm = "lloyd"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: Any = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state: Any = None,
        copy_x: bool = True,
        algorithm: str = "lloyd",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm

    def _choose_algorithm(self) -> None:
        if self.algorithm not in ("lloyd", "elkan", "subsample"):
            raise ValueError(f"algorithm must be 'lloyd', 'elkan' or 'subsample', got {self.algorithm!r}")
        # elkan gives Lloyd's answer; shoal's Lloyd already skips rows by bounds
        self._algorithm = "subsample" if self.algorithm == "subsample" else "lloyd"

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        self._choose_algorithm()
        return super().fit(X, y, sample_weight)

    def fit_file(self, path: Any, *args: Any, **kwargs: Any) -> KMeans:
        self._choose_algorithm()
        return super().fit_file(path, *args, **kwargs)


class MiniBatchKMeans(_KMeansBase):
    """scikit-learn's ``MiniBatchKMeans`` on shoal's engine; ``partial_fit``
    takes one batch at a time (scikit-learn's centre update)."""

    _algorithm = "minibatch"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        max_iter: int = 100,
        batch_size: int = 1024,
        verbose: int = 0,
        compute_labels: bool = True,
        random_state: Any = None,
        tol: float = 0.0,
        max_no_improvement: int = 10,
        init_size: Any = None,
        n_init: Any = "auto",
        reassignment_ratio: float = 0.01,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio

    def _fit_kwargs(self) -> dict[str, Any]:
        if not isinstance(self.batch_size, numbers.Integral) or self.batch_size < 1:
            raise ValueError(f"batch_size should be an integer >= 1, got {self.batch_size!r}")
        return {"batch_size": int(self.batch_size)}

    def _set_fit(self, r: dict[str, Any], dtype: Any) -> None:
        super()._set_fit(r, dtype)
        # partial_fit continues from the fit's cluster sizes
        self._counts = np.asarray(r["counts"], dtype=np.float64)
        self.n_steps_ = 0

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> MiniBatchKMeans:
        first = not hasattr(self, "cluster_centers_")
        X = _check_X(X, self, reset=first)
        x = _f32(X)
        if first:
            init, centers, _ = self._init_args(X.shape[0], X.shape[1])
            if centers is None:
                r = _shoal.kmeans_fit(
                    x,
                    int(self.n_clusters),
                    algorithm="minibatch",
                    init=init,
                    n_init=1,
                    max_iter=1,
                    tol=0.0,
                    seed=self._seed(),
                )
                centers = np.asarray(r["cluster_centers"], dtype=np.float32)
            self.cluster_centers_ = centers.astype(
                X.dtype if X.dtype in (np.float32, np.float64) else np.float64
            )
            self._counts = np.zeros(self.n_clusters, dtype=np.float64)
            self.n_steps_ = 0
        c = np.asarray(self.cluster_centers_, dtype=np.float64)
        codes, _ = _shoal.vq_f32(x, _f32(c))
        n = np.bincount(codes, minlength=self.n_clusters).astype(np.float64)
        sums = np.zeros_like(c)
        np.add.at(sums, codes, X.astype(np.float64))
        hit = n > 0
        total = self._counts + n
        c[hit] = (c[hit] * self._counts[hit, None] + sums[hit]) / total[hit, None]
        self._counts = total
        self.cluster_centers_ = c.astype(self.cluster_centers_.dtype)
        self.n_steps_ += 1
        self.n_iter_ = self.n_steps_
        if self.compute_labels:
            lab, dist = _shoal.vq_f32(x, _f32(self.cluster_centers_))
            self.labels_ = lab
            self.inertia_ = float(np.sum(dist.astype(np.float64) ** 2))
        return self
