"""scipy.cluster.hierarchy with scipy's signatures, validation and answers.

Trees, cuts, cophenetic distances, inconsistency, leaf orders and the
dendrogram layout are computed by shoal's kernels (``shoal._shoal``, the
GIL released), with scipy's algorithms and tie-breaking; validation and
the small pure-array helpers follow scipy's own code (BSD-3-Clause).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import _shoal

__all__ = [
    "ClusterNode",
    "ClusterWarning",
    "average",
    "centroid",
    "complete",
    "cophenet",
    "correspond",
    "cut_tree",
    "dendrogram",
    "fcluster",
    "fclusterdata",
    "from_mlab_linkage",
    "inconsistent",
    "is_isomorphic",
    "is_monotonic",
    "is_valid_im",
    "is_valid_linkage",
    "leaders",
    "leaves_list",
    "linkage",
    "maxRstat",
    "maxdists",
    "maxinconsts",
    "median",
    "num_obs_linkage",
    "optimal_leaf_ordering",
    "set_link_color_palette",
    "single",
    "to_mlab_linkage",
    "to_tree",
    "ward",
    "weighted",
]

_LINKAGE_METHODS = ("single", "complete", "average", "centroid", "median", "ward", "weighted")
_EUCLIDEAN_METHODS = ("centroid", "median", "ward")
# methods shoal runs from the observations in O(n d) memory (Euclidean)
_VECTOR_METHODS = ("single", "centroid", "median", "ward")
# condensed matrices up to this size are built (scipy's path)
_CONDENSED_MAX_BYTES = 1 << 30


class ClusterWarning(UserWarning):
    pass


def _warning(s: str) -> None:
    warnings.warn(f"scipy.cluster: {s}", ClusterWarning, stacklevel=3)


def _f64(a: Any) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def _num_obs_y(y: np.ndarray) -> int:
    k = y.shape[0]
    if k == 0:
        raise ValueError("The number of observations cannot be determined on an empty distance matrix.")
    d = int(np.ceil(np.sqrt(k * 2)))
    if d * (d - 1) != k * 2:
        raise ValueError(
            "Invalid condensed distance matrix passed. Must be some k where k=(n choose 2) for some n >= 2."
        )
    return d


def _pdist(x: np.ndarray, metric: str, p: float = 2.0) -> np.ndarray:
    if callable(metric):
        raise ValueError("shoal does not take a callable metric; pass a condensed distance matrix")
    return _shoal.pdist(_f64(x), str(metric), float(p))


def linkage(
    y: Any, method: str = "single", metric: str = "euclidean", optimal_ordering: bool = False
) -> np.ndarray:
    """Hierarchical clustering of a condensed distance matrix or of observations."""
    y = np.asarray(y, dtype=np.float64, order="C")
    if method not in _LINKAGE_METHODS:
        raise ValueError(f"Invalid method: {method}")
    if method in _EUCLIDEAN_METHODS and metric != "euclidean" and y.ndim == 2:
        raise ValueError(f"`method={method}` requires the distance metric to be Euclidean")
    if y.ndim == 2:
        if y.shape[0] == y.shape[1] and np.allclose(np.diag(y), 0) and np.all(y >= 0) and np.allclose(y, y.T):
            warnings.warn(
                "The symmetric non-negative hollow observation matrix looks "
                "suspiciously like an uncondensed distance matrix",
                ClusterWarning,
                stacklevel=2,
            )
        if not np.all(np.isfinite(y)):
            raise ValueError("The condensed distance matrix must contain only finite values.")
        # scipy's own algorithm on the condensed matrix while it is small
        # enough (the same answers to the bit); beyond, shoal's O(n d)
        # algorithms from the observations (the same tree, heights within
        # rounding)
        n_obs = y.shape[0]
        big = n_obs * (n_obs - 1) // 2 * 8 > _CONDENSED_MAX_BYTES
        if metric == "euclidean" and method in _VECTOR_METHODS and big and not optimal_ordering:
            if y.shape[0] < 2:
                raise ValueError(
                    "The number of observations cannot be determined on an empty distance matrix."
                )
            return _shoal.linkage_obs(y, method)
        y = _pdist(y, metric)
    elif y.ndim != 1:
        raise ValueError("`y` must be 1 or 2 dimensional.")
    if not np.all(np.isfinite(y)):
        raise ValueError("The condensed distance matrix must contain only finite values.")
    n = _num_obs_y(y)
    return _shoal.linkage_condensed(y, n, method, bool(optimal_ordering))


def single(y: Any) -> np.ndarray:
    return linkage(y, method="single")


def complete(y: Any) -> np.ndarray:
    return linkage(y, method="complete")


def average(y: Any) -> np.ndarray:
    return linkage(y, method="average")


def weighted(y: Any) -> np.ndarray:
    return linkage(y, method="weighted")


def centroid(y: Any) -> np.ndarray:
    return linkage(y, method="centroid")


def median(y: Any) -> np.ndarray:
    return linkage(y, method="median")


def ward(y: Any) -> np.ndarray:
    return linkage(y, method="ward")


def _is_valid_linkage(
    Z: np.ndarray, warning: bool = False, throw: bool = False, name: str | None = None
) -> bool:
    name_str = f"{name!r} " if name else ""
    try:
        if Z.dtype != np.float64:
            raise TypeError(f"Linkage matrix {name_str}must contain doubles.")
        if len(Z.shape) != 2:
            raise ValueError(f"Linkage matrix {name_str}must have shape=2 (i.e. be two-dimensional).")
        if Z.shape[1] != 4:
            raise ValueError(f"Linkage matrix {name_str}must have 4 columns.")
        if Z.shape[0] == 0:
            raise ValueError("Linkage must be computed on at least two observations.")
    except (TypeError, ValueError) as e:
        if throw:
            raise
        if warning:
            _warning(str(e))
        return False
    n = Z.shape[0]
    if n < 2:
        return True
    checks = [
        (np.any(Z[:, :2] < 0), f"Linkage {name_str}contains negative indices."),
        (np.any(Z[:, 2] < 0), f"Linkage {name_str}contains negative distances."),
        (np.any(Z[:, 3] < 0), f"Linkage {name_str}contains negative counts."),
        (np.any(Z[:, 3] > n + 1), f"Linkage {name_str}contains excessive observations in a cluster"),
        (
            np.any(np.max(Z[:, :2], axis=1) >= np.arange(n + 1, 2 * n + 1, dtype=Z.dtype)),
            f"Linkage {name_str}uses non-singleton cluster before it is formed.",
        ),
        (np.unique(Z[:, :2]).size < n * 2, f"Linkage {name_str}uses the same cluster more than once."),
    ]
    for cond, msg in checks:
        if cond:
            if throw:
                raise ValueError(msg)
            if warning:
                warnings.warn(msg, ClusterWarning, stacklevel=3)
            return False
    return True


def is_valid_linkage(Z: Any, warning: bool = False, throw: bool = False, name: str | None = None) -> bool:
    return _is_valid_linkage(np.asarray(Z), warning=warning, throw=throw, name=name)


def _is_valid_im(R: np.ndarray, warning: bool = False, throw: bool = False, name: str | None = None) -> bool:
    name_str = f"{name!r} " if name else ""
    try:
        if R.dtype != np.float64:
            raise TypeError(f"Inconsistency matrix {name_str}must contain doubles (double).")
        if len(R.shape) != 2:
            raise ValueError(f"Inconsistency matrix {name_str}must have shape=2 (i.e. be two-dimensional).")
        if R.shape[1] != 4:
            raise ValueError(f"Inconsistency matrix {name_str}must have 4 columns.")
        if R.shape[0] < 1:
            raise ValueError(f"Inconsistency matrix {name_str}must have at least one row.")
    except (TypeError, ValueError) as e:
        if throw:
            raise
        if warning:
            _warning(str(e))
        return False
    for cond, msg in [
        (np.any(R[:, 0] < 0), f"Inconsistency matrix {name_str} contains negative link height means."),
        (
            np.any(R[:, 1] < 0),
            f"Inconsistency matrix {name_str} contains negative link height standard deviations.",
        ),
        (np.any(R[:, 2] < 0), f"Inconsistency matrix {name_str} contains negative link counts."),
    ]:
        if cond:
            if throw:
                raise ValueError(msg)
            if warning:
                warnings.warn(msg, ClusterWarning, stacklevel=3)
            return False
    return True


def is_valid_im(R: Any, warning: bool = False, throw: bool = False, name: str | None = None) -> bool:
    return _is_valid_im(np.asarray(R), warning=warning, throw=throw, name=name)


def _z(Z: Any, name: str = "Z") -> np.ndarray:
    Z = np.asarray(Z, dtype=np.float64, order="C")
    _is_valid_linkage(Z, throw=True, name=name)
    return Z


def num_obs_linkage(Z: Any) -> int:
    Z = np.asarray(Z)
    _is_valid_linkage(Z, throw=True, name="Z")
    return Z.shape[0] + 1


def is_monotonic(Z: Any) -> bool:
    Z = np.asarray(Z, dtype=np.float64)
    _is_valid_linkage(Z, throw=True, name="Z")
    return bool(np.all(Z[1:, 2] >= Z[:-1, 2]))


def correspond(Z: Any, Y: Any) -> bool:
    Z = np.asarray(Z)
    _is_valid_linkage(Z, throw=True)
    return _num_obs_y(np.asarray(Y)) == Z.shape[0] + 1


def fcluster(
    Z: Any, t: float, criterion: str = "inconsistent", depth: int = 2, R: Any = None, monocrit: Any = None
) -> np.ndarray:
    """Flat clusters 1..k from a tree, numbered as scipy numbers them."""
    Z = _z(Z)
    if criterion not in ("inconsistent", "distance", "maxclust", "monocrit", "maxclust_monocrit"):
        raise ValueError(f"Invalid cluster formation criterion: {str(criterion)}")
    r = None
    if criterion == "inconsistent" and R is not None:
        r = np.asarray(R, dtype=np.float64, order="C")
        _is_valid_im(r, throw=True, name="R")
    mc = None if monocrit is None else _f64(monocrit)
    return _shoal.fcluster(Z, float(t), criterion, int(depth), r, mc)


def fclusterdata(
    X: Any,
    t: float,
    criterion: str = "inconsistent",
    metric: str = "euclidean",
    depth: int = 2,
    method: str = "single",
    R: Any = None,
) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64, order="C")
    if X.ndim != 2:
        raise TypeError("The observation matrix X must be an n by m array.")
    Y = _pdist(X, metric)
    Z = linkage(Y, method=method)
    if R is None:
        R = inconsistent(Z, d=depth)
    return fcluster(Z, criterion=criterion, depth=depth, R=R, t=t)


def cophenet(Z: Any, Y: Any = None) -> Any:
    Z = _z(Z)
    zz = _shoal.cophenet(Z)
    if Y is None:
        return zz
    Y = np.asarray(Y, dtype=np.float64)
    _num_obs_y(Y)
    Yy = Y - Y.mean()
    Zz = zz - zz.mean()
    c = np.sum(Yy * Zz) / np.sqrt(np.sum(Yy**2) * np.sum(Zz**2))
    return c, zz


def inconsistent(Z: Any, d: int = 2) -> np.ndarray:
    Z = _z(Z)
    if d != np.floor(d) or d < 0:
        raise ValueError("The second argument d must be a nonnegative integer value.")
    return _shoal.inconsistent(Z, int(d))


def maxdists(Z: Any) -> np.ndarray:
    return _shoal.maxdists(_z(Z))


def maxinconsts(Z: Any, R: Any) -> np.ndarray:
    Z = _z(Z)
    R = np.asarray(R, dtype=np.float64, order="C")
    _is_valid_im(R, throw=True, name="R")
    if Z.shape[0] != R.shape[0]:
        raise ValueError("The inconsistency matrix and linkage matrix each have a different number of rows.")
    return _shoal.maxinconsts(Z, R)


def maxRstat(Z: Any, R: Any, i: int) -> np.ndarray:
    Z = _z(Z)
    R = np.asarray(R, dtype=np.float64, order="C")
    _is_valid_im(R, throw=True, name="R")
    if not isinstance(i, int):
        raise TypeError("The third argument must be an integer.")
    if i < 0 or i > 3:
        raise ValueError("i must be an integer between 0 and 3 inclusive.")
    if Z.shape[0] != R.shape[0]:
        raise ValueError("The inconsistency matrix and linkage matrix each have a different number of rows.")
    # the largest R[:, i] over each node's subtree
    n = Z.shape[0] + 1
    out = R[:, i].copy()
    for j in range(n - 1):
        for c in Z[j, :2].astype(int):
            if c >= n:
                out[j] = max(out[j], out[c - n])
    return out


def leaders(Z: Any, T: Any) -> tuple[np.ndarray, np.ndarray]:
    Z = _z(Z)
    T = np.asarray(T, order="C")
    if T.dtype != np.int32:
        raise TypeError("T must be a 1-D array of dtype int32.")
    if T.shape[0] != Z.shape[0] + 1:
        raise ValueError("Mismatch: len(T)!=Z.shape[0] + 1.")
    return _shoal.leaders(Z, T)


def leaves_list(Z: Any) -> np.ndarray:
    return _shoal.leaves_list(_z(Z))


def optimal_leaf_ordering(Z: Any, y: Any, metric: str = "euclidean") -> np.ndarray:
    Z = _z(Z)
    y = np.asarray(y, dtype=np.float64, order="C")
    if y.ndim == 2:
        y = _pdist(y, metric)
    if not np.all(np.isfinite(y)):
        raise ValueError("The condensed distance matrix must contain only finite values.")
    if _num_obs_y(y) != Z.shape[0] + 1:
        raise ValueError("Z and y must describe the same number of observations")
    return _shoal.optimal_leaf_ordering(Z, y)


def from_mlab_linkage(Z: Any) -> np.ndarray:
    Z = np.asarray(Z, dtype=np.float64, order="C")
    if Z.shape in ((), (0,)):
        return Z.copy()
    if Z.ndim != 2:
        raise ValueError("The linkage array must be rectangular.")
    n = Z.shape[0]
    if n == 0:
        return Z.copy()
    if np.min(Z[:, :2]) != 1.0 and np.max(Z[:, :2]) != 2 * n:
        raise ValueError("The format of the indices is not 1..N")
    res = np.empty((n, Z.shape[1] + 1))
    res[:, :2] = Z[:, :2] - 1.0
    res[:, 2:-1] = Z[:, 2:]
    sizes = np.zeros(n)
    for i in range(n):
        s = 0.0
        for c in res[i, :2].astype(int):
            s += 1.0 if c <= n else sizes[c - n - 1]
        sizes[i] = s
    res[:, -1] = sizes
    return res


def to_mlab_linkage(Z: Any) -> np.ndarray:
    Z = np.asarray(Z, dtype=np.float64)
    if Z.shape in ((), (0,)):
        return Z.copy()
    _is_valid_linkage(Z, throw=True, name="Z")
    return np.concatenate((Z[:, :2] + 1.0, Z[:, 2:3]), axis=1)


class ClusterNode:
    """A node of the tree ``to_tree`` returns (scipy's class)."""

    def __init__(
        self,
        id: int,
        left: ClusterNode | None = None,
        right: ClusterNode | None = None,
        dist: float = 0.0,
        count: int = 1,
    ):
        if id < 0:
            raise ValueError("The id must be non-negative.")
        if dist < 0:
            raise ValueError("The distance must be non-negative.")
        if (left is None and right is not None) or (left is not None and right is None):
            raise ValueError("Only full or proper binary trees are permitted. This node has one child.")
        if count < 1:
            raise ValueError("A cluster must contain at least one original observation.")
        self.id = id
        self.left = left
        self.right = right
        self.dist = dist
        if self.left is None:
            self.count = count
        else:
            assert right is not None
            self.count = left.count + right.count  # type: ignore[union-attr]

    def __lt__(self, node: ClusterNode) -> bool:
        if not isinstance(node, ClusterNode):
            raise ValueError(f"Can't compare ClusterNode to type {type(node)}")
        return self.dist < node.dist

    def __gt__(self, node: ClusterNode) -> bool:
        if not isinstance(node, ClusterNode):
            raise ValueError(f"Can't compare ClusterNode to type {type(node)}")
        return self.dist > node.dist

    def __eq__(self, node: object) -> bool:
        if not isinstance(node, ClusterNode):
            raise ValueError(f"Can't compare ClusterNode to type {type(node)}")
        return self.dist == node.dist

    __hash__ = object.__hash__

    def get_id(self) -> int:
        return self.id

    def get_count(self) -> int:
        return self.count

    def get_left(self) -> ClusterNode | None:
        return self.left

    def get_right(self) -> ClusterNode | None:
        return self.right

    def is_leaf(self) -> bool:
        return self.left is None

    def pre_order(self, func: Any = (lambda x: x.id)) -> list[Any]:
        """Leaf values left to right, without recursion."""
        out = []
        stack: list[ClusterNode] = [self]
        while stack:
            nd = stack.pop()
            if nd.is_leaf():
                out.append(func(nd))
            else:
                stack.append(nd.right)  # type: ignore[arg-type]
                stack.append(nd.left)  # type: ignore[arg-type]
        return out


def to_tree(Z: Any, rd: bool = False) -> Any:
    Z = _z(Z)
    n = Z.shape[0] + 1
    d: list[ClusterNode | None] = [None] * (n * 2 - 1)
    for i in range(n):
        d[i] = ClusterNode(i)
    nd = None
    for i, row in enumerate(Z):
        fi, fj = int(row[0]), int(row[1])
        if fi > i + n:
            raise ValueError(
                f"Corrupt matrix Z. Index to derivative cluster is used before it is formed. See row {fi}, column 0"
            )
        if fj > i + n:
            raise ValueError(
                f"Corrupt matrix Z. Index to derivative cluster is used before it is formed. See row {fj}, column 1"
            )
        nd = ClusterNode(i + n, d[fi], d[fj], row[2])
        if row[3] != nd.count:
            raise ValueError(f"Corrupt matrix Z. The count Z[{i},3] is incorrect.")
        d[n + i] = nd
    return (nd, d) if rd else nd


def cut_tree(Z: Any, n_clusters: Any = None, height: Any = None) -> np.ndarray:
    nobs = num_obs_linkage(Z)
    Z = _z(Z)
    # scipy's _order_cluster_tree: nodes in order of height (stable)
    _, nodes_all = to_tree(Z, rd=True)
    nodes = sorted((x for x in nodes_all[nobs:]), key=lambda x: x.dist)  # type: ignore[union-attr]
    if height is not None and n_clusters is not None:
        raise ValueError("At least one of either height or n_clusters must be None")
    elif height is None and n_clusters is None:
        cols_idx = np.arange(nobs)
    elif height is not None:
        heights = np.array([x.dist for x in nodes])
        cols_idx = np.searchsorted(heights, height)
    else:
        cols_idx = nobs - np.searchsorted(np.arange(nobs), n_clusters)
    cols_idx = np.atleast_1d(cols_idx)
    groups = np.zeros((len(cols_idx), nobs), dtype=np.int64)
    last_group = np.arange(nobs)
    if 0 in cols_idx:
        groups[0] = last_group
    for i, node in enumerate(nodes):
        idx = node.pre_order()
        this_group = last_group.copy()
        this_group[idx] = last_group[idx].min()
        this_group[this_group > last_group[idx].max()] -= 1
        if i + 1 in cols_idx:
            groups[np.nonzero(i + 1 == cols_idx)[0]] = this_group
        last_group = this_group
    return groups.T


def is_isomorphic(T1: Any, T2: Any) -> bool:
    T1, T2 = np.asarray(T1), np.asarray(T2)
    if T1.ndim != 1:
        raise ValueError("T1 must be one-dimensional.")
    if T2.ndim != 1:
        raise ValueError("T2 must be one-dimensional.")
    if T1.shape != T2.shape:
        raise ValueError("T1 and T2 must have the same number of elements.")
    d1: dict[Any, Any] = {}
    d2: dict[Any, Any] = {}
    for a, b in zip(T1.tolist(), T2.tolist(), strict=False):
        if a in d1:
            if b not in d2 or d1[a] != b or d2[b] != a:
                return False
        elif b in d2:
            return False
        else:
            d1[a] = b
            d2[b] = a
    return True


_link_line_colors_default = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9")
_link_line_colors = list(_link_line_colors_default)


def set_link_color_palette(palette: Any) -> None:
    """Colours of the links below the threshold (``None`` restores C1..C9)."""
    global _link_line_colors
    if palette is None:
        _link_line_colors = list(_link_line_colors_default)
        return
    if not isinstance(palette, list | tuple):
        raise TypeError("palette must be a list or tuple")
    if not all(isinstance(c, str) for c in palette):
        raise TypeError("all palette list elements must be color strings")
    _link_line_colors = list(palette)


def dendrogram(
    Z: Any,
    p: int = 30,
    truncate_mode: str | None = None,
    color_threshold: float | None = None,
    get_leaves: bool = True,
    orientation: str = "top",
    labels: Any = None,
    count_sort: bool | str = False,
    distance_sort: bool | str = False,
    show_leaf_counts: bool = True,
    no_plot: bool = False,
    no_labels: bool = False,
    leaf_font_size: Any = None,
    leaf_rotation: Any = None,
    leaf_label_func: Any = None,
    show_contracted: bool = False,
    link_color_func: Any = None,
    ax: Any = None,
    above_threshold_color: str = "C0",
) -> dict[str, Any]:
    """scipy's dendrogram data (icoord, dcoord, ivl, leaves, color_list,
    leaves_color_list); drawn with matplotlib unless ``no_plot``."""
    # scipy checks the labels before the tree
    if labels is not None and np.asarray(Z).shape[0] + 1 != len(labels):
        raise ValueError("Dimensions of Z and labels must be consistent.")
    Z = _z(Z)
    if orientation not in ("top", "left", "bottom", "right"):
        raise ValueError("orientation must be one of 'top', 'left', 'bottom', or 'right'")
    # scipy's precedence: count_sort first, then distance_sort
    order = "given"
    for name, how in (("count", count_sort), ("distance", distance_sort)):
        if how is True or how == "ascending":
            order = f"{name}_ascending"
            break
        if how == "descending":
            order = f"{name}_descending"
            break
    if truncate_mode not in (None, "none", "lastp", "level", "mtica"):
        raise ValueError("Invalid truncation mode.")
    # 'mtica' is scipy's old name for 'level'
    tm = {None: None, "none": None, "mtica": "level"}.get(truncate_mode, truncate_mode)
    ct = color_threshold
    if ct is not None and ct <= 0:
        ct = 0.0
    r = _shoal.dendrogram(Z, tm, int(p), None if ct is None else float(ct), order)
    links = r.pop("links")
    # shoal's colours are C1..C9 / C0: map to the palette and the above colour
    pal = _link_line_colors

    def recolour(c: str) -> str:
        if c == "C0":
            return above_threshold_color
        return pal[(int(c[1:]) - 1) % len(pal)]

    r["color_list"] = [recolour(c) for c in r["color_list"]]
    if link_color_func is not None:
        colours = [link_color_func(int(i)) for i in links]
        if not all(isinstance(c, str) for c in colours):
            raise TypeError("link_color_func must return a matplotlib color string!")
        r["color_list"] = colours
    if leaf_label_func is not None:
        # scipy: the function names every shown leaf, singleton or not
        r["ivl"] = [leaf_label_func(int(i)) for i in r["leaves"]]
    elif labels is not None:
        labels = list(labels)
        r["ivl"] = [str(labels[int(v)]) if not v.startswith("(") else v for v in r["ivl"]]
    if not show_leaf_counts and leaf_label_func is None:
        r["ivl"] = ["" if v.startswith("(") else v for v in r["ivl"]]
    r["leaves_color_list"] = _leaves_colours(r)
    if not get_leaves:
        r.pop("leaves", None)
    if not no_plot:
        _plot(r, orientation, no_labels, leaf_rotation, leaf_font_size, ax)
    return r


def _leaves_colours(r: dict[str, Any]) -> list[str]:
    """Each leaf's colour: that of the link touching it at height 0."""
    out = []
    for i in range(len(r["ivl"])):
        x = 5.0 + 10.0 * i
        colour = "C0"
        for ic, dc, c in zip(r["icoord"], r["dcoord"], r["color_list"], strict=False):
            if (ic[0] == x and dc[0] == 0.0) or (ic[3] == x and dc[3] == 0.0):
                colour = c
                break
        out.append(colour)
    return out


def _plot(
    r: dict[str, Any], orientation: str, no_labels: bool, leaf_rotation: Any, leaf_font_size: Any, ax: Any
) -> None:
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            "You must install the matplotlib library to plot the dendrogram. "
            "Use no_plot=True to calculate the dendrogram without plotting."
        ) from e
    if ax is None:
        ax = plt.gca()
    n = len(r["ivl"])
    for ic, dc, c in zip(r["icoord"], r["dcoord"], r["color_list"], strict=False):
        if orientation in ("top", "bottom"):
            ax.plot(ic, dc, color=c)
        else:
            ax.plot(dc, ic, color=c)
    ticks = 5.0 + 10.0 * np.arange(n)
    if orientation in ("top", "bottom"):
        ax.set_xlim(0, 10 * n)
        ax.set_xticks(ticks)
        ax.set_xticklabels([] if no_labels else r["ivl"], rotation=leaf_rotation, fontsize=leaf_font_size)
        if orientation == "bottom":
            ax.invert_yaxis()
    else:
        ax.set_ylim(0, 10 * n)
        ax.set_yticks(ticks)
        ax.set_yticklabels([] if no_labels else r["ivl"], rotation=leaf_rotation, fontsize=leaf_font_size)
        if orientation == "left":
            ax.invert_xaxis()
