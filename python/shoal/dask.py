"""shoal on Dask (dask.distributed): the workers open their own files with
shoal's readers, so no data passes through the client; only file names,
centroids and per-file totals travel. Optional: ``pip install .[dask]``.

This first part has :func:`assign_parquet`, scipy's ``vq`` of a whole
dataset (every row's nearest centroid and distance), one output file per
input file. The distributed k-means fit comes next.
"""

from __future__ import annotations

import glob
import os
import pathlib
import uuid
from typing import Any

import numpy as np

from ._units import parse_memory

__all__ = ["assign_parquet", "dataset_files"]


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


def _assign_one(path: str, centroids: np.ndarray, tmp: str, columns: Any, memory: int) -> dict[str, Any]:
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
    from distributed import get_client, wait

    if (centroids is None) == (model is None):
        raise ValueError("give centroids or a fitted model, not both")
    if out_dir is None:
        raise ValueError("out_dir is required")
    c = np.ascontiguousarray(model.cluster_centers_ if model is not None else centroids, dtype=np.float32)
    if c.ndim != 2:
        raise ValueError(f"centroids must be 2-D (k x d), got {c.ndim}-D")
    files, root = dataset_files(dataset)
    out_root = pathlib.Path(out_dir)
    outs = [out_root / f.resolve().relative_to(root) for f in files]
    token = uuid.uuid4().hex[:12]
    tmps = [o.with_name(f".{o.stem}.{token}.shoal-tmp{o.suffix}") for o in outs]
    for o in outs:
        o.parent.mkdir(parents=True, exist_ok=True)
    client = client or get_client()
    mem = parse_memory(memory)
    futures = [
        client.submit(
            _assign_one, str(f), c, str(t), columns, mem, key=f"shoal-assign-{token}-{i}", pure=False
        )
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
    counts = np.zeros(c.shape[0], dtype=np.int64)
    rows, inertia = 0, 0.0
    for r in results:  # in dataset order, whatever the workers' order
        rows += r["rows"]
        inertia += r["inertia"]
        counts += np.asarray(r["counts"], dtype=np.int64)
    return {"rows": rows, "inertia": inertia, "counts": counts, "outputs": outs, "files": files}
