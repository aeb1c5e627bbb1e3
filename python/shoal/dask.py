"""shoal on Dask (dask.distributed): the workers open their own files with
shoal's readers, so no data passes through the client; only file names,
centroids and per-partition partials travel. Optional: ``pip install .[dask]``.

- :class:`KMeans`: k-means over a Parquet dataset (a directory, glob or
  list of files), a file, a ``dask.array`` or a ``dask.dataframe``. The
  partitions are read once by the workers and kept there (or, when the
  data is larger than the workers' memory, read from the files on every
  pass); the fit runs in shoal's engine on the client, which sends each
  pass's centroids to every partition and folds the partials in partition
  order, so the result equals ``shoal.KMeans`` (and ``shoal fit``) on the
  same rows to the bit, whatever the number of workers and threads.
- :func:`assign_parquet`: scipy's ``vq`` of a whole dataset (every row's
  nearest centroid and distance), one output file per input file.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._progress import progress_callback
from ._units import parse_memory


def _kmeans_base() -> type:
    """shoal.KMeans's base: parameters, validation, fitted attributes."""
    from ._kmeans import _KMeansBase

    return _KMeansBase


__all__ = ["KMeans", "assign_parquet", "dataset_files", "linkage_micro", "scores"]


def _visible(p: pathlib.Path, root: pathlib.Path) -> bool:
    """Spark's and pyarrow's rule: names starting with '.' or '_' (``_SUCCESS``,
    ``_metadata``, hidden files and directories) are not data."""
    return not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)


def dataset_files(dataset: Any) -> tuple[list[pathlib.Path], pathlib.Path]:
    """The Parquet files of a dataset, in sorted path order, and the root
    their output paths are made relative to: a directory (every ``.parquet``
    below it), a glob, or a list of paths."""
    if isinstance(dataset, str | os.PathLike) and os.path.isdir(dataset):
        root = pathlib.Path(dataset)
        files = sorted(p for p in root.rglob("*.parquet") if p.is_file() and _visible(p, root))
    else:
        if isinstance(dataset, str | os.PathLike):
            s = os.fspath(dataset)
            names = sorted(glob.glob(s)) if glob.has_magic(s) else [s]
        else:
            names = [os.fspath(p) for p in dataset]
        files = [pathlib.Path(n) for n in names]
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"{missing[0]}: no such file")
        parents = {f.resolve().parent for f in files}
        root = pathlib.Path(os.path.commonpath([str(p) for p in parents])) if parents else pathlib.Path(".")
        files = [f.resolve() for f in files]
    if not files:
        raise ValueError(f"{dataset}: no .parquet files")
    return files, root.resolve()


def _worker_pool() -> None:
    """Size this worker's shoal pool to its Dask threads, once (no
    oversubscription: two workers of one thread use one core each)."""
    from distributed import get_worker

    from . import _shoal

    try:
        _shoal.set_num_threads(max(1, int(get_worker().state.nthreads)))
    except (RuntimeError, ValueError):
        pass  # already sized (or not inside a worker)


def _remove(paths: list[pathlib.Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def _per_file(
    client: Any, dataset: Any, out_dir: Any, name: str, fn: Any, *args: Any
) -> tuple[list[Any], list[pathlib.Path], list[pathlib.Path]]:
    """Runs ``fn(file, *args, tmp)`` on the workers for every file of a
    dataset, each writing a hidden temporary beside its output (under
    ``out_dir``, mirroring the dataset's relative paths); renames every
    output into place only when all succeeded, else removes them all.
    Returns the results (dataset order), the outputs and the files."""
    from distributed import wait

    files, root = dataset_files(dataset)
    outs = [pathlib.Path(out_dir) / f.resolve().relative_to(root) for f in files]
    token = uuid.uuid4().hex[:12]
    tmps = [o.with_name(f".{o.stem}.{token}.shoal-tmp{o.suffix}") for o in outs]
    for o in outs:
        o.parent.mkdir(parents=True, exist_ok=True)
    futures = [
        client.submit(fn, str(f), *args, str(t), key=f"shoal-{name}-{token}-{i}", pure=False)
        for i, (f, t) in enumerate(zip(files, tmps, strict=True))
    ]
    try:
        results = client.gather(futures)
    except Exception:
        # every task ends (done or failed) before the temporary files go,
        # so none is written after the clean-up
        wait(futures)
        _remove(tmps)
        raise
    except BaseException:  # Ctrl-C: stop at once
        client.cancel(futures)
        _remove(tmps)
        raise
    for t, o in zip(tmps, outs, strict=True):
        os.replace(t, o)
    return results, outs, files


def _assign_one(path: str, centroids: np.ndarray, columns: Any, memory: int, tmp: str) -> dict[str, Any]:
    from . import _shoal

    _worker_pool()
    # arrays arrive as views of the message's frames, not always aligned:
    # the kernel takes its own aligned, C-ordered copy (k x d values)
    c = np.array(centroids, dtype=np.float32, order="C", copy=True)
    r = _shoal.assign_file(path, c, tmp, columns, memory)
    return {"rows": int(r["rows"]), "inertia": float(r["inertia"]), "counts": list(r["counts"])}


def assign_parquet(
    dataset: Any,
    model: Any = None,
    out_dir: Any = None,
    *,
    centroids: Any = None,
    columns: list[str] | None = None,
    client: Any = None,
    memory: Any = "256MiB",
) -> dict[str, Any]:
    """Every row's nearest centroid (of a fitted ``model``, or
    ``centroids``) and its distance, as ``shoal assign`` writes them: one
    Parquet file (columns ``cluster``, ``distance``) per input file under
    ``out_dir``, mirroring the dataset's relative paths, each in its input's
    row order. Each worker reads and writes its own files. All outputs
    appear only when every file succeeded; on an error (a corrupt or
    missing file, named in the exception) none is left. Returns rows,
    inertia and counts over the dataset, and the outputs in dataset order.
    """
    if (centroids is None) == (model is None):
        raise ValueError("give centroids or a fitted model, not both")
    if out_dir is None:
        raise ValueError("out_dir is required")
    c = np.ascontiguousarray(model.cluster_centers_ if model is not None else centroids, dtype=np.float32)
    if c.ndim != 2:
        raise ValueError(f"centroids must be 2-D (k x d), got {c.ndim}-D")
    client = _get_client(client)
    mem = parse_memory(memory)
    results, outs, files = _per_file(client, dataset, out_dir, "assign", _assign_one, c, columns, mem)
    counts = np.zeros(c.shape[0], dtype=np.int64)
    rows, inertia = 0, 0.0
    for r in results:  # in dataset order, whatever the workers' order
        rows += r["rows"]
        inertia += r["inertia"]
        counts += np.asarray(r["counts"], dtype=np.int64)
    return {"rows": rows, "inertia": inertia, "counts": counts, "outputs": outs, "files": files}


# ---- k-means ----


def _load_file(path: str, columns: Any, index: int, offset: int, chunk_rows: int, resident: bool) -> Any:
    from . import _shoal

    _worker_pool()
    return _shoal.partition_file(path, columns, index, offset, chunk_rows, resident)


def _load_array(block: Any, first_row: int, chunk_rows: int) -> Any:
    from . import _shoal

    _worker_pool()
    x = np.ascontiguousarray(block, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"Expected 2D array, got {x.ndim}D array instead.")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ValueError(f"Input X contains NaN or infinity (row {first_row + int(np.argmax(bad))}).")
    return _shoal.partition_array(x, first_row, chunk_rows)


def _run_job(part: Any, job: bytes) -> bytes:
    return part.run(job)


class _Pending:
    """One pass's tasks, one per partition, in partition order."""

    def __init__(self, client: Any, futures: list[Any]):
        self.client, self.futures = client, futures

    def done(self) -> bool:
        return all(f.done() for f in self.futures)

    def result(self) -> list[bytes]:
        return self.client.gather(self.futures)

    def cancel(self) -> None:
        self.client.cancel(self.futures)


class _Runner:
    """Sends a pass's job to every partition (each task runs where its
    partition is held; Dask recomputes a lost partition from its file)."""

    def __init__(self, client: Any, parts: list[Any]):
        self.client, self.parts = client, parts
        self.token = uuid.uuid4().hex[:12]
        self.n = 0

    def submit(self, job: bytes) -> _Pending:
        self.n += 1
        futures = [
            self.client.submit(_run_job, p, job, key=f"shoal-pass-{self.token}-{self.n}-{i}", pure=False)
            for i, p in enumerate(self.parts)
        ]
        return _Pending(self.client, futures)


class _Data:
    """A dataset on the workers: its partitions (futures), rows, dimension
    and column names."""

    def __init__(self, parts: list[Any], rows: int, dim: int, columns: list[str], chunk_rows: int):
        self.parts, self.rows, self.dim, self.columns, self.chunk_rows = parts, rows, dim, columns, chunk_rows


def _source_name(X: Any) -> str:
    """The input as MODEL.json records it."""
    if isinstance(X, str | os.PathLike):
        return os.fspath(X)
    if isinstance(X, list | tuple) and all(isinstance(x, str | os.PathLike) for x in X):
        return ",".join(os.fspath(x) for x in X)
    return type(X).__name__


def _is_dask_collection(X: Any) -> bool:
    return hasattr(X, "__dask_graph__")


def _dataset_plan(dataset: Any, columns: Any) -> tuple[list[tuple[str, int, int]], int, int, list[str]]:
    """Every partition of a dataset (file, number in the file, the rows
    before it), its rows, dimension and columns; the files must agree."""
    from . import _shoal

    files, _ = dataset_files(dataset)
    plan: list[tuple[str, int, int]] = []
    rows, dim, names = 0, 0, None
    for f in files:
        n, d, cols, ranges = _shoal.file_partitions(str(f), columns)
        if names is None:
            dim, names = d, list(cols)
        elif list(cols) != names:
            raise ValueError(f"{f}: columns {list(cols)} differ from {files[0]}'s {names}")
        plan += [(str(f), i, rows) for i in range(len(ranges))]
        rows += n
    return plan, rows, dim, names or []


def _workers_memory(client: Any) -> int:
    """The workers' memory limits added up (0 when any is unlimited)."""
    limits = [int(w.get("memory_limit") or 0) for w in client.scheduler_info()["workers"].values()]
    return 0 if not limits or 0 in limits else sum(limits)


def _to_dask_array(X: Any, columns: Any) -> Any:
    """A dask.array of rows: a dask.dataframe's selected (or numeric) columns."""
    if hasattr(X, "to_dask_array"):
        df = X[list(columns)] if columns is not None else X.select_dtypes("number")
        return df.to_dask_array(lengths=True), [str(c) for c in df.columns]
    return X, None


@contextlib.contextmanager
def _on_workers(est: Any, X: Any, client: Any, progress: Any) -> Iterator[tuple[_Data, _Runner, Any]]:
    """X's partitions loaded on the workers for the calls inside, with a
    runner over them and the progress callback; released on the way out
    (also on an error or Ctrl-C)."""
    data = est._scatter(X, client)
    try:
        with progress_callback(progress) as cb:
            yield data, _Runner(client, data.parts), cb
    finally:
        client.cancel(data.parts)


class KMeans(_kmeans_base()):  # type: ignore[misc]
    """k-means on Dask, with the parameters and fitted attributes of
    :class:`shoal.KMeans` (``cluster_centers_``, ``inertia_``, ``n_iter_``,
    ``counts_``, ``n_features_in_``).

    ``fit(X)`` takes a Parquet dataset (directory, glob or list of paths, or
    one ``.parquet``/``.npy``/``.f32`` file), a ``dask.array`` of rows or a
    ``dask.dataframe`` (``columns``, or its numeric columns). ``resident``:
    keep the partitions in the workers' memory (``True``), read them from
    the files on every pass (``False``), or ``"auto"``: keep them when they
    take under half the workers' memory. ``memory`` is the local fit's
    budget: it sets the blocks partitions are read in, as ``shoal fit``
    does, so that the two give the same result.
    """

    _algorithm = "lloyd"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means||",
        n_init: Any = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state: Any = None,
        algorithm: str = "lloyd",
        sample_size: int | None = None,
        columns: list[str] | None = None,
        memory: Any = "256MiB",
        resident: Any = "auto",
        client: Any = None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.algorithm = algorithm
        self.sample_size = sample_size
        self.columns = columns
        self.memory = memory
        self.resident = resident
        self.client = client

    def _client(self) -> Any:
        return _get_client(self.client)

    def _scatter(self, X: Any, client: Any) -> _Data:
        """Loads X's partitions on the workers (futures held by the client)."""
        from . import _shoal

        token = uuid.uuid4().hex[:12]
        mem = parse_memory(self.memory)
        X, names = _to_dask_array(X, self.columns)
        if _is_dask_collection(X):
            import dask

            if X.ndim != 2:
                raise ValueError(f"Expected 2D array, got {X.ndim}D array instead.")
            if any(np.isnan(c) for c in X.chunks[0]):
                X = X.compute_chunk_sizes()
            X = X.rechunk({1: -1})
            dim = int(X.shape[1])
            chunk = _shoal.chunk_rows(mem, dim)
            offsets = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(int)
            blocks = X.to_delayed().ravel()
            tasks = [
                dask.delayed(_load_array, pure=False)(b, int(o), chunk)
                for b, o in zip(blocks, offsets[:-1], strict=True)
            ]
            parts = client.compute(tasks)
            cols = names or [f"x{j}" for j in range(dim)]
            return _Data(parts, int(offsets[-1]), dim, cols, chunk)
        plan, rows, dim, cols = _dataset_plan(X, self.columns)
        chunk = _shoal.chunk_rows(mem, dim)
        resident = self.resident
        if resident == "auto":
            total = _workers_memory(client)
            resident = total == 0 or rows * dim * 4 <= total // 2
        parts = [
            client.submit(
                _load_file,
                f,
                self.columns,
                i,
                off,
                chunk,
                bool(resident),
                key=f"shoal-part-{token}-{j}",
                pure=False,
            )
            for j, (f, i, off) in enumerate(plan)
        ]
        return _Data(parts, rows, dim, cols, chunk)

    def fit(self, X: Any, y: Any = None, *, model_out: Any = None) -> KMeans:
        """Fits to X (see the class); with ``model_out``, also writes the
        MODEL.json ``shoal fit`` writes (``shoal assign`` reads it)."""
        from . import _shoal

        if self.algorithm not in ("lloyd", "subsample"):
            raise ValueError(f"algorithm must be 'lloyd' or 'subsample', got {self.algorithm!r}")
        client = self._client()
        with _on_workers(self, X, client, bool(self.verbose)) as (data, runner, cb):
            init, centers, n_init = self._init_args(data.rows, data.dim)
            r = _shoal.kmeans_fit_remote(
                runner,
                data.rows,
                data.dim,
                chunk_rows=data.chunk_rows,
                algorithm=self.algorithm,
                sample_size=self.sample_size,
                memory=parse_memory(self.memory),
                progress=cb,
                model_out=None if model_out is None else os.fspath(model_out),
                columns=data.columns,
                source=_source_name(X),
                **self._engine_args(init, centers, n_init),
            )
        self._set_fit(r, np.float32)
        self.counts_ = np.asarray(r["counts"], dtype=np.int64)
        self.n_features_in_ = data.dim
        self.feature_names_in_ = np.asarray(data.columns, dtype=object)
        if _is_dask_collection(X):
            self.labels_ = self.predict(X)
        return self

    def _rows(self, X: Any) -> Any:
        self._check_fitted()
        X, _ = _to_dask_array(X, self.columns)
        if not _is_dask_collection(X):
            raise TypeError(
                "shoal.dask.KMeans predicts a dask.array or dask.dataframe; for a Parquet "
                "dataset use shoal.dask.assign_parquet, for an array shoal.KMeans.predict"
            )
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[-1]} features, but KMeans is expecting {self.n_features_in_} features as input."
            )
        return X.rechunk({1: -1})

    def predict(self, X: Any, sample_weight: Any = None) -> Any:
        """Labels of a dask.array's rows, lazily (a dask.array of int32)."""
        X = self._rows(X)
        return X.map_blocks(_predict_block, self.cluster_centers_, dtype=np.int32, drop_axis=1)

    def transform(self, X: Any) -> Any:
        """Distances of each row to each centre, lazily (n x k)."""
        X = self._rows(X)
        k = self.cluster_centers_.shape[0]
        return X.map_blocks(
            _transform_block, self.cluster_centers_, dtype=np.float64, chunks=(X.chunks[0], (k,))
        )

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        return self.fit(X).predict(X)


def _predict_block(x: Any, centers: np.ndarray) -> np.ndarray:
    from . import _shoal

    # arrays that arrive in a message may be unaligned views: own copies
    c = np.array(centers, dtype=np.float32, order="C", copy=True)
    codes, _ = _shoal.vq_f32(np.array(x, dtype=np.float32, order="C", copy=True), c)
    return codes


def _transform_block(x: Any, centers: np.ndarray) -> np.ndarray:
    c = np.asarray(centers, dtype=np.float64)
    xx = np.asarray(x, dtype=np.float64)
    d2 = (xx * xx).sum(1)[:, None] - 2 * xx @ c.T + (c * c).sum(1)[None, :]
    return np.sqrt(np.maximum(d2, 0))


# ---- hierarchy over micro-clusters ----


def _label_one(
    path: str, leaves: np.ndarray, leaf_labels: list[int], columns: Any, memory: int, tmp: str
) -> list[int]:
    from . import _shoal

    _worker_pool()
    c = np.array(leaves, dtype=np.float32, order="C", copy=True)
    return list(_shoal.label_file(path, c, leaf_labels, tmp, columns, memory))


def linkage_micro(
    dataset: Any,
    method: str = "ward",
    *,
    micro_clusters: int = 1000,
    criterion: str | None = None,
    t: float | None = None,
    labels_dir: Any = None,
    columns: list[str] | None = None,
    seed: int = 0,
    optimal_ordering: bool = False,
    memory: Any = "1GiB",
    resident: Any = "auto",
    client: Any = None,
    progress: Any = None,
) -> Any:
    """``shoal linkage --micro-clusters M --micro-algorithm lloyd`` on Dask:
    Lloyd k-means to ``micro_clusters`` weighted micro-clusters with the
    partitions on the workers (as :class:`KMeans`), the tree over their
    centroids built on the client (scipy's Z, the centroids its leaves,
    their sizes the weights), and with ``criterion``/``t`` and
    ``labels_dir`` every row's flat label (1..k, ``fcluster``'s numbering)
    written by the workers, one file per input file mirroring the
    dataset's paths, all or nothing. Returns a :class:`shoal.LinkageResult`
    (``sizes``: rows per flat cluster when labels were written)."""
    from . import _shoal
    from ._files import LinkageResult
    from .cluster.hierarchy import fcluster

    if (criterion is None) != (t is None):
        raise ValueError("give criterion and t together")
    if labels_dir is not None and criterion is None:
        raise ValueError("labels_dir needs a cut: criterion and t")
    client = _get_client(client)
    mem = parse_memory(memory)
    est = KMeans(micro_clusters, columns=columns, memory=mem, resident=resident, client=client)
    with _on_workers(est, dataset, client, progress) as (data, runner, cb):
        r = _shoal.linkage_micro_remote(
            runner,
            data.rows,
            data.dim,
            micro_clusters,
            data.chunk_rows,
            method=method,
            seed=seed,
            optimal_ordering=optimal_ordering,
            memory=mem,
            progress=cb,
        )
    Z = r["Z"]
    sizes = None
    if criterion is not None:
        leaf_labels = np.asarray(fcluster(Z, t, criterion=criterion), dtype=np.int64)
        if labels_dir is not None:
            labels = [int(v) for v in leaf_labels]
            per_file, _, _ = _per_file(
                client, dataset, labels_dir, "label", _label_one, r["leaves"], labels, columns, mem
            )
            total = np.zeros(int(leaf_labels.max()), dtype=np.int64)
            for s in per_file:
                total[: len(s)] += np.asarray(s, dtype=np.int64)
            sizes = [int(v) for v in total]
    return LinkageResult(
        Z=Z,
        rows=int(r["rows"]),
        leaves=r.get("leaves"),
        weights=r.get("weights"),
        sizes=sizes,
        algorithm=str(r["algorithm"]),
        precision="float32",
    )


# ---- quality scores of a fitted model over a whole dataset ----


def scores(
    X: Any,
    model: Any = None,
    *,
    centroids: Any = None,
    silhouette_sample: int = 10_000,
    random_state: int = 0,
    columns: list[str] | None = None,
    memory: Any = "256MiB",
    resident: Any = "auto",
    client: Any = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Quality of the labelling of every row by its nearest centroid (of a
    fitted ``model``, or ``centroids``) over a dataset, a file, a
    dask.array or a dask.dataframe, on the workers: ``inertia``,
    ``calinski_harabasz`` and ``davies_bouldin`` (scikit-learn's
    definitions, computed over every row in two passes), and the
    ``silhouette`` of a seeded sample of ``silhouette_sample`` rows (as
    ``silhouette_score(..., sample_size=)``; 0 skips it)."""
    from . import _shoal
    from .metrics import silhouette_score

    if (centroids is None) == (model is None):
        raise ValueError("give centroids or a fitted model, not both")
    c = np.array(model.cluster_centers_ if model is not None else centroids, dtype=np.float32, order="C")
    if c.ndim != 2:
        raise ValueError(f"centroids must be 2-D (k x d), got {c.ndim}-D")
    client = _get_client(client)
    est = KMeans(c.shape[0], columns=columns, memory=memory, resident=resident, client=client)
    with _on_workers(est, X, client, progress) as (data, runner, cb):
        r = _shoal.scores_remote(
            runner,
            data.rows,
            data.dim,
            c,
            data.chunk_rows,
            sample=int(silhouette_sample),
            seed=int(random_state),
            progress=cb,
        )
    out = {k: r[k] for k in ("rows", "inertia", "calinski_harabasz", "davies_bouldin", "clusters")}
    if silhouette_sample:
        s = r["sample"]
        labels, _ = _shoal.vq_f32(s, c)
        out["silhouette"] = float(silhouette_score(s, labels)) if len(np.unique(labels)) > 1 else float("nan")
        out["silhouette_rows"] = len(s)
    return out


def _get_client(client: Any = None) -> Any:
    """The client given, else the current one (distributed's default)."""
    if client is not None:
        return client
    from distributed import get_client

    return get_client()
