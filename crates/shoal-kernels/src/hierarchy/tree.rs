//! Tools that read a linkage: validation, flat clusters (`fcluster`),
//! cophenetic distances, inconsistency statistics, leaders, leaf order and
//! dendrogram coordinates, with scipy's definitions and numbering.
//!
//! Every traversal uses an explicit stack (post-order, left child first, as
//! scipy's C loops do), so trees of millions of leaves never overflow the
//! call stack.

use super::{HierarchyError, Merge};

fn invalid(row: usize, reason: impl Into<String>) -> HierarchyError {
    HierarchyError::InvalidLinkage {
        row,
        reason: reason.into(),
    }
}

/// Builds merges from scipy-layout rows, checking what scipy's
/// `is_valid_linkage` checks (ids are whole numbers, non-negative, formed
/// before use and used once; heights finite and >= 0) and that each count is
/// the sum of its children's.
pub fn from_rows(rows: &[[f64; 4]]) -> Result<Vec<Merge>, HierarchyError> {
    read_rows(rows, true)
}

/// [`from_rows`] for the functions whose scipy counterparts never read the
/// count column (`maxdists`, `maxinconsts`): counts are taken from the
/// children, whatever column 3 says; the other checks stand.
pub fn from_rows_recounted(rows: &[[f64; 4]]) -> Result<Vec<Merge>, HierarchyError> {
    read_rows(rows, false)
}

fn read_rows(rows: &[[f64; 4]], check_counts: bool) -> Result<Vec<Merge>, HierarchyError> {
    if rows.is_empty() {
        return Err(invalid(
            0,
            "a linkage needs at least one row (two observations)",
        ));
    }
    let n = rows.len() + 1;
    let mut used = vec![false; 2 * n - 1];
    let mut counts = vec![1usize; 2 * n - 1];
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let mut ids = [0usize; 2];
        for (slot, &v) in ids.iter_mut().zip(&r[..2]) {
            if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0) {
                return Err(invalid(
                    i,
                    format!("cluster id {v} is not a non-negative whole number"),
                ));
            }
            let id = v as usize;
            if id >= n + i {
                return Err(invalid(i, format!("uses cluster {id} before it is formed")));
            }
            if used[id] {
                return Err(invalid(i, format!("uses cluster {id} more than once")));
            }
            used[id] = true;
            *slot = id;
        }
        if ids[0] == ids[1] {
            return Err(invalid(i, "merges a cluster with itself"));
        }
        let h = r[2];
        if !(h.is_finite() && h >= 0.0) {
            return Err(invalid(i, format!("height {h} is not finite and >= 0")));
        }
        let c = r[3];
        let expect = counts[ids[0]] + counts[ids[1]];
        if check_counts && c != expect as f64 {
            return Err(invalid(
                i,
                format!("count {c} differs from the {expect} observations of its children"),
            ));
        }
        counts[n + i] = expect;
        out.push(Merge {
            left: ids[0],
            right: ids[1],
            height: h,
            count: expect,
        });
    }
    Ok(out)
}

/// scipy's `is_monotonic`: heights never decrease from one row to the next
/// (which also means no cluster sits below one of its children).
pub fn is_monotonic(z: &[Merge]) -> bool {
    z.windows(2).all(|w| w[1].height >= w[0].height)
}

/// Post-order over the non-leaf nodes (children before parents, left
/// subtree first), as row indices.
fn post_order(z: &[Merge]) -> Vec<usize> {
    let n = z.len() + 1;
    let mut order = Vec::with_capacity(z.len());
    let mut stack: Vec<(usize, u8)> = vec![(z.len() - 1, 0)];
    while let Some(top) = stack.last_mut() {
        let (row, state) = *top;
        let m = z[row];
        match state {
            0 => {
                top.1 = 1;
                if m.left >= n {
                    stack.push((m.left - n, 0));
                }
            }
            1 => {
                top.1 = 2;
                if m.right >= n {
                    stack.push((m.right - n, 0));
                }
            }
            _ => {
                order.push(row);
                stack.pop();
            }
        }
    }
    order
}

/// For each row, the largest value of `v` over it and its descendants
/// (scipy's `get_max_dist_for_each_cluster` when `v` is the heights).
fn max_below(z: &[Merge], v: &[f64]) -> Vec<f64> {
    let n = z.len() + 1;
    let mut out = vec![0f64; z.len()];
    for row in post_order(z) {
        let m = z[row];
        let mut best = v[row];
        for c in [m.left, m.right] {
            if c >= n && out[c - n] > best {
                best = out[c - n];
            }
        }
        out[row] = best;
    }
    out
}

/// scipy's `maxdists`: the largest merge height at or below each row.
pub fn maxdists(z: &[Merge]) -> Vec<f64> {
    let h: Vec<f64> = z.iter().map(|m| m.height).collect();
    max_below(z, &h)
}

/// scipy's `maxinconsts`: the largest inconsistency coefficient (column 3
/// of `r`) at or below each row.
pub fn maxinconsts(z: &[Merge], r: &[[f64; 4]]) -> Vec<f64> {
    let c: Vec<f64> = r.iter().map(|x| x[3]).collect();
    max_below(z, &c)
}

/// scipy's `inconsistent(Z, d)`: for each row, over the links at most `d`
/// levels below it (itself included): mean height, standard deviation
/// (ddof 1), number of links, and inconsistency coefficient.
pub fn inconsistent(z: &[Merge], depth: usize) -> Vec<[f64; 4]> {
    let n = z.len() + 1;
    let mut out = vec![[0f64; 4]; z.len()];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for (i, o) in out.iter_mut().enumerate() {
        let (mut count, mut sum, mut sq) = (0usize, 0f64, 0f64);
        stack.clear();
        stack.push((i, 0));
        while let Some((row, level)) = stack.pop() {
            let h = z[row].height;
            count += 1;
            sum += h;
            sq += h * h;
            if level + 1 < depth {
                let m = z[row];
                for c in [m.right, m.left] {
                    if c >= n {
                        stack.push((c - n, level + 1));
                    }
                }
            }
        }
        let c = count as f64;
        let var = if count < 2 {
            (sq - sum * sum) / c
        } else {
            (sq - (sum * sum) / c) / (c - 1.0)
        };
        o[0] = sum / c;
        o[2] = c;
        if var > 0.0 {
            let sd = var.sqrt();
            o[1] = sd;
            o[3] = (z[i].height - o[0]) / sd;
        }
    }
    out
}

/// The leaves under each side of every row, in scipy's left-to-right leaf
/// order: returns the order of all leaves and, per row, the range of that
/// order its cluster spans.
fn spans(z: &[Merge]) -> (Vec<usize>, Vec<(usize, usize)>) {
    let n = z.len() + 1;
    let order = leaves_list(z);
    let mut pos = vec![0usize; n];
    for (p, &leaf) in order.iter().enumerate() {
        pos[leaf] = p;
    }
    let mut span = vec![(0usize, 0usize); z.len()];
    for row in post_order(z) {
        let m = z[row];
        let lo = if m.left < n {
            pos[m.left]
        } else {
            span[m.left - n].0
        };
        span[row] = (lo, lo + m.count);
    }
    (order, span)
}

/// scipy's `cophenet(Z)`: the condensed matrix of cophenetic distances (the
/// height at which each pair first joins). Memory n(n-1)/2 f64.
pub fn cophenet(z: &[Merge]) -> Vec<f64> {
    let n = z.len() + 1;
    let mut out = vec![0f64; n * (n - 1) / 2];
    for_each_cophenetic(z, |i, j, h| out[super::condensed_index(n, i, j)] = h);
    out
}

/// Calls `f(i, j, height)` once for every pair of observations, with the
/// height at which they first join. O(n) memory.
pub fn for_each_cophenetic(z: &[Merge], mut f: impl FnMut(usize, usize, f64)) {
    let n = z.len() + 1;
    let (order, span) = spans(z);
    for (row, m) in z.iter().enumerate() {
        let (lo, hi) = span[row];
        let left_len = if m.left < n { 1 } else { z[m.left - n].count };
        let (a, b) = order[lo..hi].split_at(left_len);
        for &i in a {
            for &j in b {
                f(i, j, m.height);
            }
        }
    }
}

/// scipy's cophenetic correlation coefficient between the cophenetic
/// distances of `z` and the condensed distances `y`, computed in two
/// streaming passes without materialising the cophenetic matrix.
pub fn cophenet_correlation(z: &[Merge], y: &[f64]) -> f64 {
    let n = z.len() + 1;
    assert_eq!(y.len(), n * (n - 1) / 2);
    let len = y.len() as f64;
    let mut zsum = 0f64;
    for m in z {
        let lc = if m.left < n { 1 } else { z[m.left - n].count };
        let rc = m.count - lc;
        zsum += m.height * (lc * rc) as f64;
    }
    let zmean = zsum / len;
    let ymean = y.iter().sum::<f64>() / len;
    let (mut num, mut da, mut db) = (0f64, 0f64, 0f64);
    for_each_cophenetic(z, |i, j, h| {
        let yy = y[super::condensed_index(n, i, j)] - ymean;
        let zz = h - zmean;
        num += yy * zz;
        da += yy * yy;
        db += zz * zz;
    });
    num / (da * db).sqrt()
}

/// scipy's `leaves_list`: leaves left to right (pre-order, left first).
pub fn leaves_list(z: &[Merge]) -> Vec<usize> {
    let n = z.len() + 1;
    let mut out = Vec::with_capacity(n);
    let mut stack = vec![2 * n - 2];
    while let Some(node) = stack.pop() {
        if node < n {
            out.push(node);
        } else {
            let m = z[node - n];
            stack.push(m.right);
            stack.push(m.left);
        }
    }
    out
}

/// How flat clusters are cut from a tree (scipy's `fcluster` criteria).
#[derive(Debug, Clone, PartialEq)]
pub enum Criterion {
    /// Clusters whose cophenetic distance is at most `t`.
    Distance(f64),
    /// At most `t` clusters, cutting at the lowest height that allows it.
    MaxClust(usize),
    /// Links whose inconsistency coefficient (over `depth` levels) is at
    /// most `t`.
    Inconsistent { t: f64, depth: usize },
    /// Nodes whose `monocrit` value is at most `t`.
    Monocrit { t: f64, monocrit: Vec<f64> },
    /// At most `t` clusters by the `monocrit` values.
    MaxClustMonocrit { t: usize, monocrit: Vec<f64> },
}

/// scipy's `fcluster`: flat cluster labels `1..=k`, numbered as scipy
/// numbers them (in the order its traversal first meets each cluster).
pub fn fcluster(z: &[Merge], criterion: &Criterion) -> Result<Vec<u32>, HierarchyError> {
    let rows = z.len();
    let check = |mc: &[f64]| {
        if mc.len() == rows {
            Ok(())
        } else {
            Err(HierarchyError::Parameter(format!(
                "monocrit has {} values; the linkage has {rows} rows",
                mc.len()
            )))
        }
    };
    Ok(match criterion {
        Criterion::Distance(t) => cluster_monocrit(z, &maxdists(z), *t),
        Criterion::MaxClust(t) => cluster_maxclust_monocrit(z, &maxdists(z), *t),
        Criterion::Inconsistent { t, depth } => {
            let r = inconsistent(z, *depth);
            cluster_monocrit(z, &maxinconsts(z, &r), *t)
        }
        Criterion::Monocrit { t, monocrit } => {
            check(monocrit)?;
            cluster_monocrit(z, monocrit, *t)
        }
        Criterion::MaxClustMonocrit { t, monocrit } => {
            check(monocrit)?;
            cluster_maxclust_monocrit(z, monocrit, *t)
        }
    })
}

/// scipy's `cluster_monocrit`: walk down from the root; the first node on a
/// path whose criterion is at most `cutoff` leads a cluster. Labels are
/// given as the walk meets leaves (both children of a node are explored
/// before its leaf children are labelled).
fn cluster_monocrit(z: &[Merge], mc: &[f64], cutoff: f64) -> Vec<u32> {
    let n = z.len() + 1;
    let mut t = vec![0u32; n];
    let mut visited = vec![false; 2 * n - 1];
    let mut stack = vec![2 * n - 2];
    let mut n_cluster = 0u32;
    let mut leader: Option<usize> = None;
    while let Some(&node) = stack.last() {
        let root = node - n;
        let m = z[root];
        if leader.is_none() && mc[root] <= cutoff {
            leader = Some(root);
            n_cluster += 1;
        }
        if m.left >= n && !visited[m.left] {
            visited[m.left] = true;
            stack.push(m.left);
            continue;
        }
        if m.right >= n && !visited[m.right] {
            visited[m.right] = true;
            stack.push(m.right);
            continue;
        }
        for c in [m.left, m.right] {
            if c < n {
                if leader.is_none() {
                    n_cluster += 1;
                }
                t[c] = n_cluster;
            }
        }
        if leader == Some(root) {
            leader = None;
        }
        stack.pop();
    }
    t
}

/// scipy's `cluster_maxclust_monocrit`: a binary search over the criterion
/// values (taken in row order, as scipy does) for the smallest threshold
/// giving at most `max_nc` clusters.
fn cluster_maxclust_monocrit(z: &[Merge], mc: &[f64], max_nc: usize) -> Vec<u32> {
    let n = z.len() + 1;
    if max_nc >= n {
        return (1..=n as u32).collect();
    }
    let mut visited = vec![false; 2 * n - 1];
    let mut stack: Vec<usize> = Vec::with_capacity(n);
    // lower = -1 stands for "-infinity" and is never evaluated.
    let (mut lower, mut upper) = (-1isize, n as isize - 1);
    while upper - lower > 1 {
        let i = ((lower + upper) >> 1) as usize;
        let thresh = mc[i];
        visited.fill(false);
        stack.clear();
        stack.push(2 * n - 2);
        let mut nc = 0usize;
        'walk: while let Some(&node) = stack.last() {
            let root = node - n;
            let m = z[root];
            if mc[root] <= thresh {
                nc += 1;
                if nc > max_nc {
                    break;
                }
                stack.pop();
                visited[m.left] = true;
                visited[m.right] = true;
                continue;
            }
            for c in [m.left, m.right] {
                if !visited[c] {
                    visited[c] = true;
                    if c >= n {
                        stack.push(c);
                        continue 'walk;
                    }
                    nc += 1;
                    if nc > max_nc {
                        break 'walk;
                    }
                }
            }
            stack.pop();
        }
        if nc > max_nc {
            lower = i as isize;
        } else {
            upper = i as isize;
        }
    }
    cluster_monocrit(z, mc, mc[upper as usize])
}

/// scipy's `leaders(Z, T)`: for each flat cluster, the id of the node at
/// its root (`L`) and its label (`M`), in the order a post-order walk meets
/// them. Fails when `labels` is not a flat clustering of this tree.
pub fn leaders(z: &[Merge], labels: &[u32]) -> Result<(Vec<usize>, Vec<u32>), HierarchyError> {
    let n = z.len() + 1;
    if labels.len() != n {
        return Err(HierarchyError::Parameter(format!(
            "{} labels for a tree of {n} observations",
            labels.len()
        )));
    }
    let mut distinct: Vec<u32> = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let nc = distinct.len();
    let mut ids: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    ids.resize(2 * n - 1, -1);
    let (mut l_out, mut m_out) = (Vec::new(), Vec::new());
    let bad = |node: usize| {
        HierarchyError::Parameter(format!(
            "the labels are not a flat clustering of this tree (found at node {node})"
        ))
    };
    for row in post_order(z) {
        let m = z[row];
        let (a, b) = (ids[m.left], ids[m.right]);
        if a == b {
            ids[n + row] = a;
        } else {
            for (c, cid) in [(m.left, a), (m.right, b)] {
                if cid != -1 {
                    if l_out.len() >= nc {
                        return Err(bad(n + row));
                    }
                    l_out.push(c);
                    m_out.push(cid as u32);
                }
            }
            ids[n + row] = -1;
        }
    }
    let root = z[n - 2];
    let (a, b) = (ids[root.left], ids[root.right]);
    if a == b && a != -1 {
        if l_out.len() >= nc {
            return Err(bad(2 * n - 2));
        }
        l_out.push(2 * n - 2);
        m_out.push(a as u32);
    }
    if l_out.len() != nc {
        return Err(bad(2 * n - 2));
    }
    Ok((l_out, m_out))
}

/// MATLAB's 1-based, 3-column linkage to scipy's layout (`from_mlab_linkage`).
pub fn from_mlab(rows: &[[f64; 3]]) -> Result<Vec<Merge>, HierarchyError> {
    let n = rows.len() + 1;
    let mut counts = vec![1usize; 2 * n - 1];
    let mut full = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let (a, b) = (r[0] - 1.0, r[1] - 1.0);
        let c = [a, b]
            .iter()
            .map(|&v| {
                if v >= 0.0 && (v as usize) < 2 * n - 1 {
                    counts[v as usize]
                } else {
                    0
                }
            })
            .sum::<usize>();
        counts[n + i] = c;
        full.push([a, b, r[2], c as f64]);
    }
    from_rows(&full)
}

/// Truncation of a dendrogram (scipy's `truncate_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncate {
    None,
    /// Show only the last `p` merges.
    LastP(usize),
    /// Show at most `p` levels below the root.
    Level(usize),
}

/// The data of scipy's `dendrogram(Z, no_plot=True)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dendrogram {
    pub icoord: Vec<[f64; 4]>,
    pub dcoord: Vec<[f64; 4]>,
    /// Leaf labels: the observation id, or `(count)` for a truncated node.
    pub ivl: Vec<String>,
    /// Node ids of the leaves, left to right.
    pub leaves: Vec<usize>,
    /// scipy's default link colours (`C1`, `C2`, … below 0.7 × the top
    /// height, `C0` above).
    pub color_list: Vec<String>,
    /// The node id (`n..2n-1`) each link joins, in `icoord` order (what
    /// scipy hands its `link_color_func`).
    pub links: Vec<usize>,
}

/// Which child of each node is drawn on the left (scipy's `count_sort` and
/// `distance_sort`; `Given`: the order of the linkage matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeafOrder {
    #[default]
    Given,
    /// The child with fewer observations left (`count_sort='ascending'`).
    CountAscending,
    CountDescending,
    /// The child formed at the smaller height left (`distance_sort='ascending'`).
    DistanceAscending,
    DistanceDescending,
}

const LINK_COLORS: [&str; 9] = ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"];

/// scipy's `dendrogram` coordinates, with its default colour threshold
/// (0.7 × the largest height), computed with an explicit stack.
pub fn dendrogram(z: &[Merge], truncate: Truncate) -> Dendrogram {
    dendrogram_with(z, truncate, None)
}

/// [`dendrogram`] with scipy's `color_threshold` (`None`: 0.7 × the
/// largest height; 0 or less colours every link `C0`).
pub fn dendrogram_with(
    z: &[Merge],
    truncate: Truncate,
    color_threshold: Option<f64>,
) -> Dendrogram {
    dendrogram_ordered(z, truncate, color_threshold, LeafOrder::Given)
}

/// [`dendrogram_with`] with the children of every node ordered as `order`
/// says, by scipy's rules (ties keep the matrix's order for ascending and
/// swap it for descending, as scipy's comparisons do).
pub fn dendrogram_ordered(
    z: &[Merge],
    truncate: Truncate,
    color_threshold: Option<f64>,
    order: LeafOrder,
) -> Dendrogram {
    let n = z.len() + 1;
    let color_threshold = color_threshold
        .unwrap_or_else(|| 0.7 * z.iter().map(|m| m.height).fold(f64::NEG_INFINITY, f64::max));
    let p_lastp = match truncate {
        Truncate::LastP(p) if p > n || p == 0 => n,
        Truncate::LastP(p) => p,
        _ => 0,
    };
    let p_level = match truncate {
        Truncate::Level(0) => usize::MAX,
        Truncate::Level(p) => p,
        _ => 0,
    };
    let mut d = Dendrogram {
        icoord: Vec::new(),
        dcoord: Vec::new(),
        ivl: Vec::new(),
        leaves: Vec::new(),
        color_list: Vec::new(),
        links: Vec::new(),
    };
    // A child's observations and height (a leaf: 1 and 0).
    let size = |c: usize| {
        if c < n {
            (1, 0.0)
        } else {
            (z[c - n].count, z[c - n].height)
        }
    };
    let mut current_color = 0usize;
    let mut below = false;

    // Frame of the simulated recursion for node `i`.
    struct Frame {
        i: usize,
        iv: f64,
        level: usize,
        stage: u8,
        ub: usize,
        a: (f64, f64, f64, f64),
        color: &'static str,
    }
    // Result of a finished call: (centre, width, height, max height).
    let mut ret = (0f64, 0f64, 0f64, 0f64);
    let mut stack = vec![Frame {
        i: 2 * n - 2,
        iv: 0.0,
        level: 0,
        stage: 0,
        ub: 0,
        a: (0.0, 0.0, 0.0, 0.0),
        color: "C0",
    }];
    while let Some(f) = stack.last_mut() {
        match f.stage {
            0 => {
                let (i, iv, level) = (f.i, f.iv, f.level);
                let leaf_truncated = match truncate {
                    Truncate::LastP(_) => i >= n && i < 2 * n - p_lastp,
                    // scipy tests `i > n` here, so node n is never cut.
                    Truncate::Level(_) => i > n && level > p_level,
                    Truncate::None => false,
                };
                if leaf_truncated {
                    d.leaves.push(i);
                    d.ivl.push(format!("({})", z[i - n].count));
                    ret = (iv + 5.0, 10.0, 0.0, z[i - n].height);
                    stack.pop();
                    continue;
                }
                if i < n {
                    d.leaves.push(i);
                    d.ivl.push(i.to_string());
                    ret = (iv + 5.0, 10.0, 0.0, 0.0);
                    stack.pop();
                    continue;
                }
                let m = z[i - n];
                let ((na, da), (nb, db)) = (size(m.left), size(m.right));
                // scipy's `if na > nb: ua, ub = ab, aa` (ascending) and the
                // mirror for descending
                let swap = match order {
                    LeafOrder::Given => false,
                    LeafOrder::CountAscending => na > nb,
                    LeafOrder::CountDescending => na <= nb,
                    LeafOrder::DistanceAscending => da > db,
                    LeafOrder::DistanceDescending => da <= db,
                };
                let (ua, ub) = if swap {
                    (m.right, m.left)
                } else {
                    (m.left, m.right)
                };
                f.ub = ub;
                f.stage = 1;
                let child = Frame {
                    i: ua,
                    iv,
                    level: level + 1,
                    stage: 0,
                    ub: 0,
                    a: (0.0, 0.0, 0.0, 0.0),
                    color: "C0",
                };
                stack.push(child);
            }
            1 => {
                f.a = ret;
                let h = z[f.i - n].height;
                if h >= color_threshold || color_threshold <= 0.0 {
                    f.color = "C0";
                    if below {
                        current_color = (current_color + 1) % LINK_COLORS.len();
                    }
                    below = false;
                } else {
                    below = true;
                    f.color = LINK_COLORS[current_color];
                }
                f.stage = 2;
                let child = Frame {
                    i: f.ub,
                    iv: f.iv + f.a.1,
                    level: f.level + 1,
                    stage: 0,
                    ub: 0,
                    a: (0.0, 0.0, 0.0, 0.0),
                    color: "C0",
                };
                stack.push(child);
            }
            _ => {
                let b = ret;
                let a = f.a;
                let h = z[f.i - n].height;
                let max_dist = a.3.max(b.3).max(h);
                d.icoord.push([a.0, a.0, b.0, b.0]);
                d.dcoord.push([a.2, h, h, b.2]);
                d.color_list.push(f.color.to_string());
                d.links.push(f.i);
                ret = ((a.0 + b.0) / 2.0, a.1 + b.1, h, max_dist);
                stack.pop();
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<Merge> {
        // A caterpillar: ((((0,1),2),3),...)
        let mut z = vec![Merge {
            left: 0,
            right: 1,
            height: 1.0,
            count: 2,
        }];
        for i in 2..n {
            z.push(Merge {
                left: i,
                right: n + i - 2,
                height: i as f64,
                count: i + 1,
            });
        }
        z
    }

    #[test]
    fn deep_trees_do_not_overflow() {
        let n = 1_000_000;
        let z = chain(n);
        let leaves = leaves_list(&z);
        assert_eq!(leaves.len(), n);
        assert_eq!(leaves[0], n - 1);
        let t = fcluster(&z, &Criterion::MaxClust(3)).expect("fcluster");
        let mut distinct = t.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 3);
        let d = dendrogram(&z, Truncate::LastP(30));
        assert_eq!(d.leaves.len(), 30);
        assert_eq!(maxdists(&z)[n - 2], (n - 1) as f64);
    }

    #[test]
    fn from_rows_rejects_malformed_trees() {
        let ok = [[0.0, 1.0, 1.0, 2.0], [2.0, 3.0, 2.0, 3.0]];
        assert!(from_rows(&ok).is_ok());
        let reuse = [[0.0, 1.0, 1.0, 2.0], [1.0, 3.0, 2.0, 3.0]];
        assert!(from_rows(&reuse).is_err());
        let early = [[0.0, 3.0, 1.0, 2.0], [1.0, 2.0, 2.0, 2.0]];
        assert!(from_rows(&early).is_err());
        let neg = [[0.0, 1.0, -1.0, 2.0], [2.0, 3.0, 2.0, 3.0]];
        assert!(from_rows(&neg).is_err());
        let count = [[0.0, 1.0, 1.0, 3.0], [2.0, 3.0, 2.0, 3.0]];
        assert!(from_rows(&count).is_err());
        let frac = [[0.5, 1.0, 1.0, 2.0], [2.0, 3.0, 2.0, 3.0]];
        assert!(from_rows(&frac).is_err());
    }
}
