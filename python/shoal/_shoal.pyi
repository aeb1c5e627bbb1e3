# Stubs of the native extension (crates/shoal-py). Arrays are numpy arrays.
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

# f(name, index, max_passes, rows_done, rows_total), about ten times a second
Progress = Callable[[str, int, int | None, int, int], Any]

def vq_f64(
    obs: npt.NDArray[np.float64], book: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]: ...
def vq_f32(
    obs: npt.NDArray[np.float32], book: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def update_cluster_means_f64(
    obs: npt.NDArray[np.float64], labels: npt.NDArray[np.int32], k: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]: ...
def update_cluster_means_f32(
    obs: npt.NDArray[np.float32], labels: npt.NDArray[np.int32], k: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]: ...
def pdist(x: npt.NDArray[np.float64], metric: str, p: float) -> npt.NDArray[np.float64]: ...
def linkage_condensed(
    y: npt.NDArray[np.float64], n: int, method_name: str, optimal_ordering: bool
) -> npt.NDArray[np.float64]: ...
def linkage_obs(x: npt.NDArray[np.float64], method_name: str) -> npt.NDArray[np.float64]: ...
def optimal_leaf_ordering(
    z: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]: ...
def fcluster(
    z: npt.NDArray[np.float64],
    t: float,
    criterion: str,
    depth: int = 2,
    r: npt.NDArray[np.float64] | None = None,
    monocrit: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.int32]: ...
def cophenet(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
def inconsistent(z: npt.NDArray[np.float64], d: int) -> npt.NDArray[np.float64]: ...
def maxdists(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
def maxinconsts(z: npt.NDArray[np.float64], r: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
def leaves_list(z: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]: ...
def leaders(
    z: npt.NDArray[np.float64], t: npt.NDArray[np.int32]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]: ...
def dendrogram(
    z: npt.NDArray[np.float64],
    truncate_mode: str | None = None,
    p: int = 30,
    color_threshold: float | None = None,
) -> dict[str, Any]: ...
def dbscan(
    x: npt.NDArray[np.float64], eps: float, min_samples: int, metric: str
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]: ...
def silhouette_samples(
    x: npt.NDArray[np.float64], labels: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]: ...
def davies_bouldin(x: npt.NDArray[np.float64], labels: npt.NDArray[np.int64]) -> float: ...
def calinski_harabasz(x: npt.NDArray[np.float64], labels: npt.NDArray[np.int64]) -> float: ...
def external(truth: npt.NDArray[np.int64], pred: npt.NDArray[np.int64]) -> dict[str, float]: ...
def kmeans_fit(
    x: npt.NDArray[np.float32],
    k: int,
    algorithm: str = "lloyd",
    init: str = "k-means++",
    init_centers: npt.NDArray[np.float32] | None = None,
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    sample_size: int | None = None,
    batch_size: int = 1024,
    memory: int = 268435456,
    progress: Progress | None = None,
) -> dict[str, Any]: ...
def kmeans_fit_file(
    path: str,
    k: int,
    columns: list[str] | None = None,
    algorithm: str = "lloyd",
    init: str = "k-means++",
    init_centers: npt.NDArray[np.float32] | None = None,
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    sample_size: int | None = None,
    batch_size: int = 1024,
    memory: int = 268435456,
    labels_out: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]: ...
def assign_file(
    path: str,
    centroids: npt.NDArray[np.float32],
    out: str,
    columns: list[str] | None = None,
    memory: int = 268435456,
    progress: Progress | None = None,
) -> dict[str, Any]: ...
def linkage_file(
    path: str,
    method: str,
    columns: list[str] | None = None,
    micro_clusters: int | None = None,
    sample: int | None = None,
    micro_algorithm: str = "minibatch",
    optimal_ordering: bool = False,
    seed: int = 0,
    precision: str = "auto",
    memory: int = 1073741824,
    z_out: str | None = None,
    labels_out: str | None = None,
    criterion: str = "maxclust",
    t: float | None = None,
    depth: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]: ...
def dbscan_file(
    path: str,
    eps: float,
    min_samples: int,
    metric: str = "euclidean",
    columns: list[str] | None = None,
    precision: str = "auto",
    labels_out: str | None = None,
    progress: Progress | None = None,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]: ...
def generate(
    kind: str,
    rows: int,
    dim: int = 2,
    k: int = 3,
    seed: int = 0,
    spread: float = 1.0,
    center_box: float = 10.0,
    zipf: float | None = None,
    noise: float | None = None,
    bbox: list[float] | None = None,
    out: str | None = None,
    labels_out: str | None = None,
    centers_out: str | None = None,
    dtype: str = "float32",
    row_group_rows: int = 1048576,
    progress: Progress | None = None,
) -> tuple[Any, Any, npt.NDArray[np.float64]]: ...
def plot_scatter(
    x: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int64] | None = None,
    centroids: npt.NDArray[np.float32] | None = None,
    title: str = "",
    xlabel: str | None = None,
    ylabel: str | None = None,
    map: bool = False,
    width: int = 800,
    height: int = 600,
    dark: bool = False,
    max_markers: int = 20000,
) -> tuple[str, str]: ...
def plot_scatter_file(
    path: str,
    labels: str | None = None,
    label_column: str = "cluster",
    columns: list[str] | None = None,
    centroids: npt.NDArray[np.float32] | None = None,
    title: str = "",
    xlabel: str | None = None,
    ylabel: str | None = None,
    map: bool = False,
    width: int = 800,
    height: int = 600,
    dark: bool = False,
    max_markers: int = 20000,
    memory: int = 268435456,
) -> tuple[str, str]: ...
def plot_dendrogram(
    z: npt.NDArray[np.float64],
    truncate_mode: str | None = None,
    p: int = 30,
    color_threshold: float | None = None,
    cut: float | None = None,
    labels: list[str] | None = None,
    title: str = "",
    leaf_rotation: float = 90.0,
    width: int = 800,
    height: int = 600,
    dark: bool = False,
) -> str: ...
def plot_silhouette(
    x: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    title: str = "",
    width: int = 800,
    height: int = 600,
    dark: bool = False,
) -> tuple[str, float]: ...
def svg_to_png(svg: str) -> bytes: ...
def read_info(path: str, columns: list[str] | None = None) -> dict[str, Any]: ...
def set_num_threads(n: int) -> None: ...
def num_threads() -> int: ...

# ---- shoal.dask: partitions on workers, fits whose passes they run ----
class Partition:
    @property
    def rows(self) -> int: ...
    @property
    def resident(self) -> bool: ...
    def run(self, job: bytes) -> bytes: ...

def partition_file(
    path: str, columns: list[str] | None, index: int, offset: int, chunk_rows: int, resident: bool
) -> Partition: ...
def partition_file_lazy(
    path: str, columns: list[str] | None, index: int, offset: int, chunk_rows: int, resident: bool
) -> Partition: ...
def partition_array(x: npt.NDArray[np.float32], first_row: int, chunk_rows: int) -> Partition: ...
def file_partitions(
    path: str, columns: list[str] | None = None
) -> tuple[int, int, list[str], list[tuple[int, int]]]: ...
def chunk_rows(memory: int, dim: int) -> int: ...
def kmeans_fit_remote(
    runner: Any,
    rows: int,
    dim: int,
    k: int,
    chunk_rows: int,
    algorithm: str = "lloyd",
    init: str = "k-means||",
    init_centers: npt.NDArray[np.float32] | None = None,
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    sample_size: int | None = None,
    memory: int = 268435456,
    progress: Any = None,
    model_out: str | None = None,
    columns: list[str] | None = None,
    source: str | None = None,
) -> dict[str, Any]: ...
def linkage_micro_remote(
    runner: Any,
    rows: int,
    dim: int,
    m: int,
    chunk_rows: int,
    method: str = "ward",
    seed: int = 0,
    optimal_ordering: bool = False,
    memory: int = 1073741824,
    progress: Any = None,
) -> dict[str, Any]: ...
def label_file(
    path: str,
    leaves: npt.NDArray[np.float32],
    leaf_labels: list[int],
    out: str,
    columns: list[str] | None = None,
    memory: int = 268435456,
) -> list[int]: ...
def scores_remote(
    runner: Any,
    rows: int,
    dim: int,
    centroids: npt.NDArray[np.float32],
    chunk_rows: int,
    sample: int = 0,
    seed: int = 0,
    progress: Any = None,
) -> dict[str, Any]: ...
