//! Nearest-centroid assignment: for every row of a block, the index of the
//! nearest centroid and the **squared Euclidean** distance to it. Ties go to
//! the lowest centroid index.
//!
//! Two fast paths, chosen by dimension, beside the scalar oracle
//! [`assign_naive`]:
//! - `d <= 8` (the spatial case): distances computed directly, 16 points at a
//!   time across SIMD lanes (const-generic `d`, compiled for AVX-512, AVX2+FMA
//!   and baseline, chosen at run time). Exact, like the oracle. For `d = 2`
//!   and `k <= 15` with AVX-512 VBMI, a lookup grid first narrows each row
//!   to one or two centroids ([`crate::grid2`]), with the same results.
//! - `d > 8`: the nearest centroid maximises `x.c - ||c||^2 / 2`. On x86-64
//!   with AVX2+FMA or AVX-512 the dot products and the running maximum are
//!   fused in registers ([`crate::fused`]; with AVX-512 VNNI, the dot
//!   products are first taken in 8-bit integers ([`crate::int8`]), else with
//!   AVX-512 BF16 in bf16, and only rows without a winner clear of the
//!   rounding go through the f32 kernel, so the labels are the same);
//!   elsewhere the cross terms come from a GEMM (`gemm` crate) over tiles of
//!   rows, then a lane-wise argmin.
//!   Either way the winning distance is recomputed exactly from `x` and `c`,
//!   so it is never negative. As with scikit-learn, two centroids whose
//!   distances differ by less than the rounding of the dot products may be
//!   ranked either way.

/// A codebook prepared for assignment.
#[derive(Debug, Clone)]
pub struct Centroids {
    k: usize,
    dim: usize,
    /// Row-major `k x dim`.
    data: Vec<f32>,
    /// Squared norms of each centroid.
    norms: Vec<f32>,
    /// For `dim > 8`: the codebook in panels of [`PANEL`] centroids, each
    /// panel transposed (`dim x PANEL`, centroid index fastest), the last one
    /// padded with zero centroids.
    panels: Vec<f32>,
    /// `-||c||^2 / 2` by panel, the padding `-inf` so it never wins.
    panel_halves: Vec<f32>,
    /// For `dim > 8` where the CPU has AVX-512 BF16: the centred bf16 panels.
    bf16: Option<crate::fused::Bf16Panels>,
    /// For `9 <= dim <= 1024` where the CPU has AVX-512 VNNI: the centred
    /// int8 panels (used before bf16).
    i8: Option<crate::int8::I8Panels>,
    /// For `dim == 2` and `2 <= k <= 15` where the CPU has AVX-512 VBMI:
    /// the lookup grid, built on the first block large enough to use it.
    grid2: std::sync::OnceLock<Option<crate::grid2::Grid2>>,
}

impl Centroids {
    /// `data` is row-major `k x dim`; `k >= 1`, `dim >= 1`.
    pub fn new(data: Vec<f32>, dim: usize) -> Self {
        assert!(dim >= 1 && !data.is_empty() && data.len().is_multiple_of(dim));
        let k = data.len() / dim;
        let norms: Vec<f32> = data
            .chunks_exact(dim)
            .map(|c| c.iter().map(|v| v * v).sum())
            .collect();
        let (panels, panel_halves) = if dim > 8 {
            make_panels(&data, &norms, dim)
        } else {
            (Vec::new(), Vec::new())
        };
        let i8 = (dim > 8 && dim <= crate::int8::MAX_DIM && crate::int8::available())
            .then(|| crate::int8::I8Panels::new(&data, dim));
        let bf16 = (dim > 8 && i8.is_none() && crate::fused::bf16_available())
            .then(|| crate::fused::Bf16Panels::new(&data, dim));
        Centroids {
            k,
            dim,
            data,
            norms,
            panels,
            panel_halves,
            bf16,
            i8,
            grid2: std::sync::OnceLock::new(),
        }
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The fused kernel's panels and `-||c||^2 / 2` values (empty for `dim <= 8`).
    pub(crate) fn fused_parts(&self) -> (&[f32], &[f32]) {
        (&self.panels, &self.panel_halves)
    }

    /// The int8 panels, where this machine and `dim` have them.
    pub(crate) fn int8_parts(&self) -> Option<&crate::int8::I8Panels> {
        self.i8.as_ref()
    }

    /// The largest squared norm of a centroid.
    pub(crate) fn max_norm2(&self) -> f32 {
        self.norms.iter().fold(0.0f32, |m, &v| m.max(v))
    }

    pub fn row(&self, j: usize) -> &[f32] {
        &self.data[j * self.dim..(j + 1) * self.dim]
    }
}

use crate::fused::PANEL;

fn make_panels(data: &[f32], norms: &[f32], dim: usize) -> (Vec<f32>, Vec<f32>) {
    let k = norms.len();
    let np = k.div_ceil(PANEL);
    let mut panels = vec![0.0f32; np * dim * PANEL];
    let mut pn = vec![f32::NEG_INFINITY; np * PANEL];
    for (j, c) in data.chunks_exact(dim).enumerate() {
        let (p, l) = (j / PANEL, j % PANEL);
        for (t, &v) in c.iter().enumerate() {
            panels[(p * dim + t) * PANEL + l] = v;
        }
        pn[j] = -0.5 * norms[j];
    }
    (panels, pn)
}

/// Squared Euclidean distance, accumulated in f32 left to right.
#[inline]
pub fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Squared Euclidean distance with 8 accumulators combined pairwise: vectorises
/// (the strict left-to-right sum of [`sq_dist`] cannot) and rounds less.
#[inline(always)]
pub fn sq_dist_wide(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, ar) = a.as_chunks::<8>();
    let (bc, br) = b.as_chunks::<8>();
    for (x, y) in ac.iter().zip(bc) {
        for t in 0..8 {
            let d = x[t] - y[t];
            acc[t] += d * d;
        }
    }
    for (t, (x, y)) in ar.iter().zip(br).enumerate() {
        let d = x - y;
        acc[t] += d * d;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// The oracle: for each row, the nearest centroid (lowest index on ties) and
/// its squared distance.
pub fn assign_naive(x: &[f32], c: &Centroids, labels: &mut [u32], dist2: &mut [f32]) {
    let d = c.dim;
    for (i, row) in x.chunks_exact(d).enumerate() {
        let mut best = f32::INFINITY;
        let mut bi = 0u32;
        for j in 0..c.k {
            let v = sq_dist(row, c.row(j));
            if v < best {
                best = v;
                bi = j as u32;
            }
        }
        labels[i] = bi;
        dist2[i] = best;
    }
}

/// Scratch memory reused across calls (the GEMM tile of the portable path).
#[derive(Debug, Default)]
pub struct AssignScratch {
    gram: Vec<f32>,
    /// The rows the d = 2 lookup grid left to the exact kernel (their
    /// indices, then the rows gathered and their results).
    undecided: Vec<u32>,
    left_x: Vec<f32>,
    left_labels: Vec<u32>,
    left_dist2: Vec<f32>,
    bf16: crate::fused::Bf16Scratch,
    i8: crate::int8::I8Scratch,
}

/// Rows per GEMM tile: the tile's `rows x k` products stay in L2.
fn gemm_tile_rows(k: usize) -> usize {
    ((256 * 1024) / (4 * k.max(1))).clamp(16, 1024)
}

/// Assigns every row of `x` (row-major, `c.dim()` wide): fills `labels` and
/// `dist2` (squared distances), both `rows` long.
pub fn assign(
    x: &[f32],
    c: &Centroids,
    labels: &mut [u32],
    dist2: &mut [f32],
    scratch: &mut AssignScratch,
) {
    let d = c.dim;
    let n = x.len() / d;
    assert!(labels.len() >= n && dist2.len() >= n);
    match d {
        1 => small::<1>(x, c, labels, dist2),
        2 => small2(x, c, labels, dist2, scratch),
        3 => small::<3>(x, c, labels, dist2),
        4 => small::<4>(x, c, labels, dist2),
        5 => small::<5>(x, c, labels, dist2),
        6 => small::<6>(x, c, labels, dist2),
        7 => small::<7>(x, c, labels, dist2),
        8 => small::<8>(x, c, labels, dist2),
        _ if crate::fused::available() => fused(x, c, labels, dist2, scratch),
        _ => gemm_tiles(x, c, labels, dist2, scratch),
    }
}

/// The portable path for `d > 8` (no AVX2/FMA): GEMM tiles, then an argmin
/// pass over each tile's products.
fn gemm_tiles(
    x: &[f32],
    c: &Centroids,
    labels: &mut [u32],
    dist2: &mut [f32],
    scratch: &mut AssignScratch,
) {
    let d = c.dim;
    let t = gemm_tile_rows(c.k);
    for (bi, xb) in x.chunks(t * d).enumerate() {
        let s = bi * t;
        let m = xb.len() / d;
        gemm_tile(xb, c, &mut labels[s..s + m], &mut dist2[s..s + m], scratch);
    }
}

const LANES: usize = 16;

fn small<const D: usize>(x: &[f32], c: &Centroids, labels: &mut [u32], dist2: &mut [f32]) {
    let n = x.len() / D;
    let full = n / LANES * LANES;
    small_lanes::<D>(
        &x[..full * D],
        &c.data,
        c.k,
        &mut labels[..full],
        &mut dist2[..full],
    );
    // The remainder through the oracle (same arithmetic order).
    assign_naive(&x[full * D..], c, &mut labels[full..n], &mut dist2[full..n]);
}

/// Fewest rows in a call for which `d = 2` uses the lookup grid. The grid
/// is built once per codebook (about 30 us, what it saves on some 100 000
/// rows), so small calls alone do not build it.
const GRID_MIN_ROWS: usize = 4096;

/// `d = 2`: through the lookup grid ([`crate::grid2`]) where the machine,
/// `k` and the block's size allow, the rows it leaves through the exact
/// kernel; same labels and distances as [`small`].
fn small2(
    x: &[f32],
    c: &Centroids,
    labels: &mut [u32],
    dist2: &mut [f32],
    scratch: &mut AssignScratch,
) {
    let n = x.len() / 2;
    let full = n / LANES * LANES;
    let grid = (full >= GRID_MIN_ROWS
        && (2..=crate::grid2::MAX_K).contains(&c.k)
        && crate::grid2::available())
    .then(|| {
        c.grid2
            .get_or_init(|| crate::grid2::Grid2::new(&c.data))
            .as_ref()
    })
    .flatten();
    let Some(g) = grid else {
        return small::<2>(x, c, labels, dist2);
    };
    let (lf, df) = (&mut labels[..full], &mut dist2[..full]);
    let m = crate::grid2::labels_grid(&x[..full * 2], g, lf, df, &mut scratch.undecided);
    // the rows it left, gathered into blocks of 16 for the exact kernel
    let und = &scratch.undecided[..m];
    let (xs, ls, ds) = (
        &mut scratch.left_x,
        &mut scratch.left_labels,
        &mut scratch.left_dist2,
    );
    xs.clear();
    for &r in und {
        xs.extend_from_slice(&x[r as usize * 2..r as usize * 2 + 2]);
    }
    ls.resize(m, 0);
    ds.resize(m, 0.0);
    small::<2>(xs, c, ls, ds);
    for (i, &r) in und.iter().enumerate() {
        lf[r as usize] = ls[i];
        df[r as usize] = ds[i];
    }
    assign_naive(&x[full * 2..], c, &mut labels[full..n], &mut dist2[full..n]);
}

/// 16 points at a time: transpose to lanes, then for each centroid the 16
/// distances and a lane-wise select. Same arithmetic order as `sq_dist`, so
/// results equal the oracle's bit for bit.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx2+fma",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
fn small_lanes<const D: usize>(
    x: &[f32],
    c: &[f32],
    k: usize,
    labels: &mut [u32],
    dist2: &mut [f32],
) {
    for ((xb, lb), db) in x
        .chunks_exact(LANES * D)
        .zip(labels.chunks_exact_mut(LANES))
        .zip(dist2.chunks_exact_mut(LANES))
    {
        // the rows 4 KiB ahead, one cache line at a time
        for line in (0..LANES * D).step_by(16) {
            crate::fused::prefetch(
                xb.as_ptr()
                    .wrapping_add(crate::fused::PREFETCH_AHEAD + line),
            );
        }
        let mut cols = [[0.0f32; LANES]; D];
        for (i, row) in xb.chunks_exact(D).enumerate() {
            for t in 0..D {
                cols[t][i] = row[t];
            }
        }
        let mut best = [f32::INFINITY; LANES];
        let mut bidx = [0u32; LANES];
        for (j, cj) in c.chunks_exact(D).enumerate().take(k) {
            let mut acc = [0.0f32; LANES];
            for t in 0..D {
                let ct = cj[t];
                for i in 0..LANES {
                    let diff = cols[t][i] - ct;
                    acc[i] += diff * diff;
                }
            }
            for i in 0..LANES {
                let better = acc[i] < best[i];
                best[i] = if better { acc[i] } else { best[i] };
                bidx[i] = if better { j as u32 } else { bidx[i] };
            }
        }
        lb.copy_from_slice(&bidx);
        db.copy_from_slice(&best);
    }
}

/// The fused kernel (see [`crate::fused`]) for the labels, then the exact
/// distance to each winner.
fn fused(
    x: &[f32],
    c: &Centroids,
    labels: &mut [u32],
    dist2: &mut [f32],
    scratch: &mut AssignScratch,
) {
    let d = c.dim;
    let n = x.len() / d;
    match (&c.i8, &c.bf16) {
        (Some(q8), _) => {
            _ = crate::int8::labels_int8(
                x,
                d,
                q8,
                &c.panels,
                &c.panel_halves,
                &mut labels[..n],
                None,
                &mut scratch.i8,
            )
        }
        (None, Some(bf)) => {
            _ = crate::fused::labels_bf16(
                x,
                d,
                bf,
                &c.panels,
                &c.panel_halves,
                &mut labels[..n],
                &mut scratch.bf16,
            )
        }
        (None, None) => {
            crate::fused::labels(x, d, &c.panels, &c.panel_halves, &mut labels[..n], None)
        }
    }
    exact_distances(x, &c.data, d, &labels[..n], &mut dist2[..n]);
}

#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn exact_distances(x: &[f32], c: &[f32], d: usize, labels: &[u32], dist2: &mut [f32]) {
    for ((row, &j), o) in x.chunks_exact(d).zip(labels).zip(dist2) {
        let j = j as usize;
        *o = sq_dist_wide(row, &c[j * d..(j + 1) * d]);
    }
}

fn gemm_tile(
    xb: &[f32],
    c: &Centroids,
    labels: &mut [u32],
    dist2: &mut [f32],
    s: &mut AssignScratch,
) {
    let (d, k) = (c.dim, c.k);
    let m = xb.len() / d;
    s.gram.resize(m * k, 0.0);
    crate::gemm::x_ct(xb, m, d, &c.data, k, &mut s.gram);
    finish_rows(&s.gram, xb, &c.data, &c.norms, d, labels, dist2);
}

/// For each row of a tile: the argmin of the expanded distances and the
/// exact distance to the winner.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn finish_rows(
    gram: &[f32],
    xb: &[f32],
    c: &[f32],
    norms: &[f32],
    d: usize,
    labels: &mut [u32],
    dist2: &mut [f32],
) {
    let k = norms.len();
    for (i, (g, row)) in gram.chunks_exact(k).zip(xb.chunks_exact(d)).enumerate() {
        let j = argmin_expanded(g, norms);
        labels[i] = j as u32;
        dist2[i] = sq_dist_wide(row, &c[j * d..(j + 1) * d]);
    }
}

/// argmin over j of `norms[j] - 2 g[j]`, lowest index on ties; 16 lanes so it
/// vectorises, then branch-free (value, index) reductions.
#[inline(always)]
fn argmin_expanded(g: &[f32], norms: &[f32]) -> usize {
    let k = g.len();
    let mut best = [f32::INFINITY; LANES];
    let mut bidx = [0u32; LANES];
    let full = k / LANES * LANES;
    for (blk, (gc, nc)) in g[..full]
        .chunks_exact(LANES)
        .zip(norms[..full].chunks_exact(LANES))
        .enumerate()
    {
        for i in 0..LANES {
            let v = nc[i] - 2.0 * gc[i];
            let better = v < best[i];
            best[i] = if better { v } else { best[i] };
            bidx[i] = if better {
                (blk * LANES + i) as u32
            } else {
                bidx[i]
            };
        }
    }
    // Two branch-free reductions: the smallest value, then the lowest index
    // holding it.
    let mut bv = best.iter().fold(f32::INFINITY, |m, &v| m.min(v));
    let mut bj = best
        .iter()
        .zip(&bidx)
        .fold(u32::MAX, |m, (&v, &j)| if v == bv { m.min(j) } else { m }) as usize;
    for j in full..k {
        let v = norms[j] - 2.0 * g[j];
        if v < bv || (v == bv && j < bj) {
            bv = v;
            bj = j;
        }
    }
    if bj == u32::MAX as usize {
        0 // every value was NaN (cannot happen with validated input)
    } else {
        bj
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(x: &[f32], c: &Centroids) -> (Vec<u32>, Vec<f32>) {
        let n = x.len() / c.dim();
        let (mut l, mut d) = (vec![0; n], vec![0.0; n]);
        assign(x, c, &mut l, &mut d, &mut AssignScratch::default());
        (l, d)
    }

    fn run_gemm(x: &[f32], c: &Centroids) -> (Vec<u32>, Vec<f32>) {
        let n = x.len() / c.dim();
        let (mut l, mut d) = (vec![0; n], vec![0.0; n]);
        gemm_tiles(x, c, &mut l, &mut d, &mut AssignScratch::default());
        (l, d)
    }

    #[test]
    fn ties_go_to_the_lowest_index() {
        // point 0 is equidistant from centroids 1 and 2 (and 0 is farther)
        let c = Centroids::new(vec![10.0, 10.0, -1.0, 0.0, 1.0, 0.0, -1.0, 0.0], 2);
        let x: Vec<f32> = std::iter::repeat_n([0.0f32, 0.0], 40).flatten().collect();
        let (l, d) = run(&x, &c);
        assert!(l.iter().all(|&v| v == 1), "{l:?}");
        assert!(d.iter().all(|&v| v == 1.0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Small d: bit-identical to the oracle. Values on a coarse grid make ties common.
        #[test]
        fn small_d_equals_oracle(d in 1usize..=8, k in 1usize..40, n in 0usize..100,
                                 seed in any::<u64>()) {
            let mut s = seed | 1;
            let mut r = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; ((s % 9) as f32) - 4.0 };
            let c = Centroids::new((0..k * d).map(|_| r()).collect(), d);
            let x: Vec<f32> = (0..n * d).map(|_| r()).collect();
            let (l, dist) = run(&x, &c);
            let (mut lo, mut dd) = (vec![0; n], vec![0.0; n]);
            assign_naive(&x, &c, &mut lo, &mut dd);
            prop_assert_eq!(l, lo);
            prop_assert_eq!(dist, dd);
        }

        /// Large d (the fused path where the machine has it, and the GEMM
        /// path): ties on an integer grid resolve to the lowest index, and
        /// the reported distance is the exact one of the chosen centroid.
        #[test]
        fn wide_paths_match_oracle(d in 9usize..70, k in 1usize..70, n in 1usize..300,
                                    seed in any::<u64>()) {
            let mut s = seed | 1;
            let mut r = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; ((s % 7) as f32) - 3.0 };
            let c = Centroids::new((0..k * d).map(|_| r()).collect(), d);
            let x: Vec<f32> = (0..n * d).map(|_| r()).collect();
            let (mut lo, mut dd) = (vec![0; n], vec![0.0; n]);
            assign_naive(&x, &c, &mut lo, &mut dd);
            for (l, dist) in [run(&x, &c), run_gemm(&x, &c)] {
            for i in 0..n {
                let row = &x[i * d..(i + 1) * d];
                prop_assert_eq!(dist[i], sq_dist_wide(row, c.row(l[i] as usize)));
                let seq = sq_dist(row, c.row(l[i] as usize));
                prop_assert!((dist[i] - seq).abs() <= 1e-6 * seq.max(1.0));
                // small integers: products and sums are exact in f32, so the
                // GEMM ranking is exact too and must equal the oracle's
                prop_assert_eq!(l[i], lo[i]);
                prop_assert!(dist[i] >= 0.0);
            }
            }
        }
    }
}
