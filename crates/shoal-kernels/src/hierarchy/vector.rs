//! Linkage straight from observations, in O(n·d) memory: no distance matrix.
//!
//! For `single`, `ward`, `centroid` and `median` the distance between two
//! clusters is a function of their centres and sizes, so it can be
//! recomputed on demand (as fastcluster's `linkage_vector` does):
//! - `single`: Prim's minimum spanning tree, keeping each remaining point's
//!   distance to the tree;
//! - `ward`: the nearest-neighbour chain over cluster centroids, with
//!   `d(A,B)² = 2|A||B|/(|A|+|B|) · ||c_A - c_B||²`;
//! - `centroid`, `median`: Müllner's generic algorithm over centroids
//!   (size-weighted for `centroid`, midpoints for `median`).
//!
//! Each mirrors the corresponding algorithm on the condensed matrix in
//! [`super::condensed`], with the same scan order and tie-breaking, so the
//! two agree up to the rounding of the Lance–Williams recurrences.
//!
//! Coordinates are widened to f64. Clusters live in per-dimension arrays;
//! a dead cluster's coordinates are NaN, so it is never anyone's nearest
//! neighbour. Scans over many clusters run on the rayon pool in fixed
//! chunks and are reduced in chunk order: results do not depend on the
//! thread count.

use rayon::prelude::*;

use super::condensed::{finish_representative, Heap};
use super::{HierarchyError, Merge, Method};

/// Candidates per parallel piece of a scan.
/// Below this many candidates a scan runs on one thread (the rayon
/// dispatch costs more than it saves). The generic algorithm's scans are
/// many and short, so it splits a scan only when it holds at least
/// [`PAR_WORK_GENERIC`] coordinates (8 192 clusters at d = 16, 65 536 at d = 2).
const PAR_MIN: usize = 16384;
const PAR_WORK_GENERIC: usize = 1 << 17;

/// The generic algorithm compacts its arrays from this many positions up
/// (below it a scan costs less than the rebuild).
const COMPACT_MIN: usize = 16;

/// Cluster centres in per-dimension (structure-of-arrays) layout.
#[derive(Debug, Clone)]
struct Centres {
    cols: Vec<Vec<f64>>,
}

impl Centres {
    fn from_rows<T: Copy + Into<f64>>(data: &[T], dim: usize) -> Centres {
        let n = data.len() / dim;
        let mut cols = vec![Vec::with_capacity(n); dim];
        for row in data.chunks_exact(dim) {
            for (c, &v) in cols.iter_mut().zip(row) {
                c.push(v.into());
            }
        }
        Centres { cols }
    }

    fn len(&self) -> usize {
        self.cols[0].len()
    }

    fn get(&self, i: usize, out: &mut [f64]) {
        for (o, c) in out.iter_mut().zip(&self.cols) {
            *o = c[i];
        }
    }

    fn set(&mut self, i: usize, v: &[f64]) {
        for (c, &x) in self.cols.iter_mut().zip(v) {
            c[i] = x;
        }
    }

    fn kill(&mut self, i: usize) {
        for c in &mut self.cols {
            c[i] = f64::NAN;
        }
    }

    /// Squared distance between centres `i` and `j`, summed in dimension
    /// order (the same arithmetic as [`sq_dists`]).
    fn sq_dist(&self, i: usize, j: usize) -> f64 {
        let mut s = 0.0;
        for c in &self.cols {
            let t = c[j] - c[i];
            s += t * t;
        }
        s
    }

    /// Keeps the entries where `keep` is true, in order.
    fn compact(&mut self, keep: &[bool]) {
        for c in &mut self.cols {
            let mut w = 0;
            for r in 0..c.len() {
                if keep[r] {
                    c[w] = c[r];
                    w += 1;
                }
            }
            c.truncate(w);
        }
    }
}

/// `out[j] = sum_k (cols[k][lo + j] - x[k])²` for `j < out.len()`, summed in
/// dimension order.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn sq_dists(cols: &[Vec<f64>], lo: usize, x: &[f64], out: &mut [f64]) {
    out.fill(0.0);
    let len = out.len();
    for (c, &xk) in cols.iter().zip(x) {
        for (o, &v) in out.iter_mut().zip(&c[lo..lo + len]) {
            let t = v - xk;
            *o += t * t;
        }
    }
}

/// Combines per-piece minima in piece order (the lowest offset wins ties).
fn reduce_min(parts: impl Iterator<Item = (f64, usize)>) -> (f64, usize) {
    let mut best = (f64::INFINITY, usize::MAX);
    for p in parts {
        if p.0 < best.0 {
            best = p;
        }
    }
    best
}

/// Candidates per piece of a scan: everything at once below [`PAR_MIN`],
/// else an equal share per pool thread. Scans return the first minimum and
/// updates are elementwise, so the answer does not depend on the split.
fn piece_len(len: usize, par_min: usize) -> usize {
    if len < par_min {
        len.max(1)
    } else {
        len.div_ceil(rayon::current_num_threads().max(1))
            .max(par_min / 2)
    }
}

/// Runs `f(lo, len)` over `0..len` in pieces (in parallel when there are
/// several) and reduces the first minima in piece order.
fn scan(
    len: usize,
    par_min: usize,
    f: impl Fn(usize, usize) -> (f64, usize) + Sync,
) -> (f64, usize) {
    let p = piece_len(len, par_min);
    if p >= len {
        return f(0, len);
    }
    let parts: Vec<(f64, usize)> = (0..len.div_ceil(p))
        .into_par_iter()
        .map(|i| {
            let lo = i * p;
            f(lo, p.min(len - lo))
        })
        .collect();
    reduce_min(parts.into_iter())
}

/// Lane-wise first-minimum tracking over blocks of [`LANES`] candidates.
const LANES: usize = 8;

#[inline(always)]
fn lanes_min(best: &[f64; LANES], at: &[usize; LANES]) -> (f64, usize) {
    let (mut v, mut i) = (f64::INFINITY, usize::MAX);
    for l in 0..LANES {
        if best[l] < v || (best[l] == v && at[l] < i) {
            v = best[l];
            i = at[l];
        }
    }
    (v, i)
}

/// Squared distances from `x` to candidates `j..j+LANES`.
#[inline(always)]
fn block_sq(cols: &[Vec<f64>], j: usize, x: &[f64]) -> [f64; LANES] {
    let mut acc = [0f64; LANES];
    for (c, &xk) in cols.iter().zip(x) {
        let cc = &c[j..j + LANES];
        for l in 0..LANES {
            let t = cc[l] - xk;
            acc[l] += t * t;
        }
    }
    acc
}

#[inline(always)]
fn one_sq(cols: &[Vec<f64>], j: usize, x: &[f64]) -> f64 {
    let mut s = 0f64;
    for (c, &xk) in cols.iter().zip(x) {
        let t = c[j] - xk;
        s += t * t;
    }
    s
}

/// First minimum over `lo..lo+len` of `key(j, ||c_j - x||²)` (NaN never wins).
#[inline(always)]
fn scan_keys(
    cols: &[Vec<f64>],
    lo: usize,
    len: usize,
    x: &[f64],
    key: impl Fn(usize, f64) -> f64,
) -> (f64, usize) {
    let mut best = [f64::INFINITY; LANES];
    let mut at = [usize::MAX; LANES];
    let end = lo + len;
    let mut j = lo;
    while j + LANES <= end {
        let acc = block_sq(cols, j, x);
        for l in 0..LANES {
            let v = key(j + l, acc[l]);
            if v < best[l] {
                best[l] = v;
                at[l] = j + l;
            }
        }
        j += LANES;
    }
    let (mut v, mut i) = lanes_min(&best, &at);
    while j < end {
        let k = key(j, one_sq(cols, j, x));
        if k < v {
            v = k;
            i = j;
        }
        j += 1;
    }
    (v, i)
}

/// Ward: the first minimum of `w_j/(w_x+w_j)·||c_j - x||²`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn ward_scan(
    cols: &[Vec<f64>],
    w: &[f64],
    lo: usize,
    len: usize,
    x: &[f64],
    wx: f64,
) -> (f64, usize) {
    scan_keys(cols, lo, len, x, |j, s| ward_key(s, wx, w[j]))
}

/// Plain squared distance: the first minimum of `||c_j - x||²`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn dist_scan(cols: &[Vec<f64>], lo: usize, len: usize, x: &[f64]) -> (f64, usize) {
    scan_keys(cols, lo, len, x, |_, s| s)
}

/// Prim's update: `d_j = min(d_j, ||c_j - x||²)` for the piece `d` starting
/// at `lo`, returning the first minimum of the updated `d`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn prim_scan(cols: &[Vec<f64>], lo: usize, d: &mut [f64], x: &[f64]) -> (f64, usize) {
    let mut best = [f64::INFINITY; LANES];
    let mut at = [usize::MAX; LANES];
    let len = d.len();
    let mut j = 0;
    while j + LANES <= len {
        let acc = block_sq(cols, lo + j, x);
        let dd = &mut d[j..j + LANES];
        for l in 0..LANES {
            if acc[l] < dd[l] {
                dd[l] = acc[l];
            }
            if dd[l] < best[l] {
                best[l] = dd[l];
                at[l] = j + l;
            }
        }
        j += LANES;
    }
    let (mut v, mut i) = lanes_min(&best, &at);
    while j < len {
        let s = one_sq(cols, lo + j, x);
        if s < d[j] {
            d[j] = s;
        }
        if d[j] < v {
            v = d[j];
            i = j;
        }
        j += 1;
    }
    (v, lo.wrapping_add(i))
}

/// Hierarchical clustering of the rows of `data` (`n x dim`, row-major) for
/// a method that [`Method::works_on_vectors`]. `weights` are initial
/// cluster sizes (micro-cluster counts); `None` means one per row.
pub fn linkage<T: Copy + Into<f64>>(
    data: &[T],
    dim: usize,
    method: Method,
    weights: Option<&[f64]>,
) -> Result<Vec<Merge>, HierarchyError> {
    assert!(dim >= 1 && data.len().is_multiple_of(dim));
    let n = data.len() / dim;
    if n < 2 {
        return Err(HierarchyError::TooFew(n));
    }
    if let Some(index) = data.iter().position(|&v| !v.into().is_finite()) {
        return Err(HierarchyError::BadDistance {
            index: index / dim,
            value: data[index].into(),
        });
    }
    let sizes = match weights {
        Some(w) => {
            assert_eq!(w.len(), n);
            if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(HierarchyError::Parameter(format!(
                    "weight {i} is {}; weights must be finite and > 0",
                    w[i]
                )));
            }
            w.to_vec()
        }
        None => vec![1.0; n],
    };
    let centres = Centres::from_rows(data, dim);
    Ok(match method {
        Method::Single => single(centres),
        Method::Ward => ward(centres, sizes),
        Method::Centroid | Method::Median => generic(centres, method, sizes),
        other => {
            return Err(HierarchyError::Parameter(format!(
                "method {other} needs the distance matrix; it cannot run from vectors"
            )))
        }
    })
}

/// Prim's algorithm: `d[j]` is remaining point j's squared distance to the
/// tree; dead entries are NaN. Mirrors scipy's `mst_single_linkage`.
fn single(mut pts: Centres) -> Vec<Merge> {
    let n = pts.len();
    let dim = pts.cols.len();
    let mut ids: Vec<usize> = (0..n).collect();
    let mut d = vec![f64::INFINITY; n];
    let mut out = Vec::with_capacity(n - 1);
    let mut xc = vec![0f64; dim];
    let mut x = 0; // position of the point just added to the tree
    let mut live = n;
    for _ in 0..n - 1 {
        pts.get(x, &mut xc);
        pts.kill(x);
        d[x] = f64::NAN;
        live -= 1;
        let len = pts.len();
        let cols = &pts.cols;
        let xc_ref = &xc;
        let p = piece_len(len, PAR_MIN);
        let parts: Vec<(f64, usize)> = if p >= len {
            vec![prim_scan(cols, 0, &mut d[..len], xc_ref)]
        } else {
            d[..len]
                .par_chunks_mut(p)
                .enumerate()
                .map(|(i, dp)| prim_scan(cols, i * p, dp, xc_ref))
                .collect()
        };
        let (v, y) = reduce_min(parts.into_iter());
        out.push(Merge {
            left: ids[x],
            right: ids[y],
            height: v.sqrt(),
            count: 0,
        });
        x = y;
        // Compact when the dead outnumber the living.
        if live * 2 < len && len > 64 {
            let keep: Vec<bool> = d[..len].iter().map(|v| !v.is_nan()).collect();
            let new_x = keep[..x].iter().filter(|k| **k).count();
            pts.compact(&keep);
            let mut w = 0;
            for r in 0..len {
                if keep[r] {
                    d[w] = d[r];
                    ids[w] = ids[r];
                    w += 1;
                }
            }
            x = new_x;
        }
    }
    finish_representative(&mut out, n, true);
    out
}

/// `w_j / (w_x + w_j) · s_j`: the part of Ward's squared distance from `x`
/// to `j` that depends on `j` (the full value is `2 w_x` times this).
#[inline]
fn ward_key(s: f64, wx: f64, wj: f64) -> f64 {
    wj / (wx + wj) * s
}

/// The nearest-neighbour chain over centroids (scipy's `nn_chain` for
/// `ward`). Dead clusters are NaN and compacted away, order kept.
fn ward(mut pts: Centres, mut w: Vec<f64>) -> Vec<Merge> {
    let n = pts.len();
    let dim = pts.cols.len();
    let mut ids: Vec<usize> = (0..n).collect();
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut out = Vec::with_capacity(n - 1);
    let mut xc = vec![0f64; dim];
    let mut yc = vec![0f64; dim];
    let mut live = n;
    for _ in 0..n - 1 {
        if chain.is_empty() {
            let first = w.iter().position(|v| !v.is_nan()).unwrap_or(0);
            chain.push(first);
        }
        let (x, y) = loop {
            let x = chain[chain.len() - 1];
            let wx = w[x];
            let (mut y, current) = if chain.len() > 1 {
                let y = chain[chain.len() - 2];
                (y, ward_key(pts.sq_dist(x, y), wx, w[y]))
            } else {
                (usize::MAX, f64::INFINITY)
            };
            pts.get(x, &mut xc);
            // Hide x from its own scan.
            let saved = w[x];
            w[x] = f64::NAN;
            let len = pts.len();
            let cols = &pts.cols;
            let xc_ref = &xc;
            let wv = &w[..len];
            let (v, i) = scan(len, PAR_MIN, |lo, l| ward_scan(cols, wv, lo, l, xc_ref, wx));
            w[x] = saved;
            if v < current {
                y = i;
            }
            if chain.len() > 1 && y == chain[chain.len() - 2] {
                break (x, y);
            }
            chain.push(y);
        };
        chain.truncate(chain.len() - 2);
        let (x, y) = if x > y { (y, x) } else { (x, y) };
        let (wx, wy) = (w[x], w[y]);
        let s = pts.sq_dist(x, y);
        let height = (2.0 * wx * wy / (wx + wy) * s).sqrt();
        out.push(Merge {
            left: ids[x],
            right: ids[y],
            height,
            count: 0,
        });
        pts.get(x, &mut xc);
        pts.get(y, &mut yc);
        for (a, b) in yc.iter_mut().zip(&xc) {
            *a = (wx * b + wy * *a) / (wx + wy);
        }
        pts.set(y, &yc);
        pts.kill(x);
        w[x] = f64::NAN;
        w[y] = wx + wy;
        live -= 1;
        let len = pts.len();
        if live * 2 < len && len > 64 {
            let keep: Vec<bool> = w[..len].iter().map(|v| !v.is_nan()).collect();
            let mut new_pos = vec![usize::MAX; len];
            let mut k = 0;
            for r in 0..len {
                if keep[r] {
                    new_pos[r] = k;
                    w[k] = w[r];
                    ids[k] = ids[r];
                    k += 1;
                }
            }
            w.truncate(k);
            ids.truncate(k);
            pts.compact(&keep);
            for c in chain.iter_mut() {
                *c = new_pos[*c];
            }
        }
    }
    finish_representative(&mut out, n, true);
    out
}

/// Müllner's generic algorithm over centres (scipy's `fast_linkage` for
/// `centroid` and `median`), on squared centre distances. Positions never
/// move, so ids are positions until merged.
fn generic(mut pts: Centres, method: Method, mut w: Vec<f64>) -> Vec<Merge> {
    let n = pts.len();
    let dim = pts.cols.len();
    let par_min = (PAR_WORK_GENERIC / dim).max(4096);
    let mut count = vec![1usize; n];
    let mut cluster_id: Vec<usize> = (0..n).collect();
    let mut neighbor = vec![0usize; n - 1];
    let mut min_dist = vec![0f64; n - 1];
    let mut buf = vec![0f64; n];
    let mut xc = vec![0f64; dim];
    let mut yc = vec![0f64; dim];
    // Positions in use (dead clusters stay, NaN, until compacted away).
    let mut len = n;
    let mut live = n;

    // Nearest live neighbour after x: (position, squared distance).
    let find_min = |pts: &Centres, xc: &mut [f64], x: usize, len: usize| {
        if x + 1 >= len {
            return None;
        }
        pts.get(x, xc);
        let cols = &pts.cols;
        let xc: &[f64] = xc;
        let lo = x + 1;
        let (v, y) = scan(len - lo, par_min, |o, l| dist_scan(cols, lo + o, l, xc));
        (y != usize::MAX).then_some((y, v))
    };

    for x in 0..n - 1 {
        let (y, v) = find_min(&pts, &mut xc, x, len).unwrap_or((x + 1, f64::INFINITY));
        neighbor[x] = y;
        min_dist[x] = v;
    }
    let mut heap = Heap::new(&min_dist);
    let mut out = Vec::with_capacity(n - 1);
    for k in 0..n - 1 {
        let (mut x, mut y, mut dist) = (0, 0, 0.0);
        for _ in 0..n - k {
            let (key, value) = heap.min();
            x = key;
            dist = value;
            y = neighbor[x];
            if dist == pts.sq_dist(x, y) {
                break;
            }
            let (ny, nd) = find_min(&pts, &mut xc, x, len).unwrap_or((y, f64::INFINITY));
            y = ny;
            dist = nd;
            neighbor[x] = y;
            min_dist[x] = dist;
            heap.change(x, dist);
        }
        heap.remove_min();
        let (id_x, id_y) = (cluster_id[x], cluster_id[y]);
        let (wx, wy) = (w[x], w[y]);
        out.push(Merge {
            left: id_x.min(id_y),
            right: id_x.max(id_y),
            height: dist.sqrt(),
            count: count[x] + count[y],
        });
        pts.get(x, &mut xc);
        pts.get(y, &mut yc);
        for (a, b) in yc.iter_mut().zip(&xc) {
            *a = match method {
                Method::Median => 0.5 * (*a + b),
                _ => (wx * b + wy * *a) / (wx + wy),
            };
        }
        pts.set(y, &yc);
        pts.kill(x);
        w[x] = f64::NAN;
        w[y] = wx + wy;
        count[y] += count[x];
        cluster_id[y] = n + k;
        live -= 1;
        for z in 0..x {
            if !w[z].is_nan() && neighbor[z] == x {
                neighbor[z] = y;
            }
        }
        // Lower bounds: clusters before y that are now closer to y.
        if y > 0 {
            let cols = &pts.cols;
            let yc_ref = &yc;
            let p = piece_len(y, par_min);
            buf[..y]
                .par_chunks_mut(p)
                .enumerate()
                .for_each(|(i, b)| sq_dists(cols, i * p, yc_ref, b));
            for z in 0..y {
                let dz = buf[z];
                if dz < min_dist[z] {
                    neighbor[z] = y;
                    min_dist[z] = dz;
                    heap.change(z, dz);
                }
            }
        }
        if y < len - 1 {
            if let Some((z, dz)) = find_min(&pts, &mut xc, y, len) {
                neighbor[y] = z;
                min_dist[y] = dz;
                heap.change(y, dz);
            }
        }
        // Compact when the dead outnumber the living: positions keep their
        // order (the last position is never the one that dies, so it stays
        // last and keyless), and the heap is rebuilt over the survivors.
        if live > 1 && live * 2 < len && len >= COMPACT_MIN {
            let keep: Vec<bool> = w[..len].iter().map(|v| !v.is_nan()).collect();
            let mut new_pos = vec![usize::MAX; len];
            let mut m = 0;
            for p in 0..len {
                if keep[p] {
                    new_pos[p] = m;
                    w[m] = w[p];
                    count[m] = count[p];
                    cluster_id[m] = cluster_id[p];
                    m += 1;
                }
            }
            let mut nb = vec![0usize; m - 1];
            let mut md = vec![0f64; m - 1];
            for p in 0..len - 1 {
                if keep[p] {
                    nb[new_pos[p]] = new_pos[neighbor[p]];
                    md[new_pos[p]] = min_dist[p];
                }
            }
            pts.compact(&keep);
            neighbor = nb;
            min_dist = md;
            heap = Heap::new(&min_dist);
            len = m;
        }
    }
    out
}
