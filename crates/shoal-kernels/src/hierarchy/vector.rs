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
const PIECE: usize = 4096;

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

/// The first minimum of `vals` (NaN never wins), as (value, offset).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn argmin(vals: &[f64]) -> (f64, usize) {
    const L: usize = 8;
    let mut best = [f64::INFINITY; L];
    let mut at = [usize::MAX; L];
    let chunks = vals.chunks_exact(L);
    let tail = chunks.remainder();
    for (b, ch) in chunks.enumerate() {
        for l in 0..L {
            if ch[l] < best[l] {
                best[l] = ch[l];
                at[l] = b * L + l;
            }
        }
    }
    let base = vals.len() - tail.len();
    let (mut v, mut i) = (f64::INFINITY, usize::MAX);
    for l in 0..L {
        if best[l] < v || (best[l] == v && at[l] < i) {
            v = best[l];
            i = at[l];
        }
    }
    for (t, &x) in tail.iter().enumerate() {
        if x < v {
            v = x;
            i = base + t;
        }
    }
    (v, i)
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

/// Runs `f(lo, piece)` over `buf` split into [`PIECE`]-sized pieces (in
/// parallel when there are several), returning each piece's result in order.
fn pieces<T: Send>(buf: &mut [f64], f: impl Fn(usize, &mut [f64]) -> T + Sync) -> Vec<T> {
    if buf.len() <= PIECE {
        return vec![f(0, buf)];
    }
    buf.par_chunks_mut(PIECE)
        .enumerate()
        .map(|(p, chunk)| f(p * PIECE, chunk))
        .collect()
}

/// As [`pieces`], over two equally long slices cut at the same offsets.
fn pieces2<T: Send>(
    a: &mut [f64],
    b: &mut [f64],
    f: impl Fn(usize, &mut [f64], &mut [f64]) -> T + Sync,
) -> Vec<T> {
    debug_assert_eq!(a.len(), b.len());
    if a.len() <= PIECE {
        return vec![f(0, a, b)];
    }
    a.par_chunks_mut(PIECE)
        .zip(b.par_chunks_mut(PIECE))
        .enumerate()
        .map(|(p, (x, y))| f(p * PIECE, x, y))
        .collect()
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
    let mut buf = vec![0f64; n];
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
        let parts = pieces2(&mut buf[..len], &mut d[..len], |lo, b, dp| {
            sq_dists(cols, lo, xc_ref, b);
            for (dv, &s) in dp.iter_mut().zip(b.iter()) {
                if s < *dv {
                    *dv = s;
                }
            }
            let (v, i) = argmin(dp);
            (v, lo + i)
        });
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
    let mut buf = vec![0f64; n];
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
            let parts = pieces2(&mut buf[..len], &mut w[..len], |lo, b, wp| {
                sq_dists(cols, lo, xc_ref, b);
                for (bv, &wj) in b.iter_mut().zip(wp.iter()) {
                    *bv = ward_key(*bv, wx, wj);
                }
                let (v, i) = argmin(b);
                (v, lo + i)
            });
            w[x] = saved;
            let (v, i) = reduce_min(parts.into_iter());
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
    let mut count = vec![1usize; n];
    let mut cluster_id: Vec<usize> = (0..n).collect();
    let mut neighbor = vec![0usize; n - 1];
    let mut min_dist = vec![0f64; n - 1];
    let mut buf = vec![0f64; n];
    let mut xc = vec![0f64; dim];
    let mut yc = vec![0f64; dim];

    // Nearest live neighbour after x: (position, squared distance).
    let find_min = |pts: &Centres, buf: &mut [f64], xc: &mut [f64], x: usize| {
        if x + 1 >= n {
            return None;
        }
        pts.get(x, xc);
        let cols = &pts.cols;
        let xc: &[f64] = xc;
        let lo = x + 1;
        let parts = pieces(&mut buf[lo..n], |off, b| {
            sq_dists(cols, lo + off, xc, b);
            let (v, i) = argmin(b);
            (v, lo + off + i)
        });
        let (v, y) = reduce_min(parts.into_iter());
        (y != usize::MAX).then_some((y, v))
    };

    for x in 0..n - 1 {
        let (y, v) = find_min(&pts, &mut buf, &mut xc, x).unwrap_or((x + 1, f64::INFINITY));
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
            let (ny, nd) = find_min(&pts, &mut buf, &mut xc, x).unwrap_or((y, f64::INFINITY));
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
        for z in 0..x {
            if !w[z].is_nan() && neighbor[z] == x {
                neighbor[z] = y;
            }
        }
        // Lower bounds: clusters before y that are now closer to y.
        if y > 0 {
            let cols = &pts.cols;
            let yc_ref = &yc;
            pieces(&mut buf[..y], |lo, b| sq_dists(cols, lo, yc_ref, b));
            for z in 0..y {
                let dz = buf[z];
                if dz < min_dist[z] {
                    neighbor[z] = y;
                    min_dist[z] = dz;
                    heap.change(z, dz);
                }
            }
        }
        if y < n - 1 {
            if let Some((z, dz)) = find_min(&pts, &mut buf, &mut xc, y) {
                neighbor[y] = z;
                min_dist[y] = dz;
                heap.change(y, dz);
            }
        }
    }
    out
}
