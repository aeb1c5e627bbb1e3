//! The nearest centroid for `d = 2` and `2 <= k <= 15` through a lookup
//! grid held in registers, where the CPU has AVX-512 VBMI.
//!
//! A 16 x 16 grid is laid over the centroids (their bounding box, widened
//! by a fifth of its span on each side). For each cell the build keeps the
//! centroids that can be nearest to some point of the cell: centroid `i`
//! is dropped when another centroid `j` is nearer than `i` at every point
//! of the cell by more than the f32 kernel's rounding. The nearer-than test
//! is exact: `|p - c_i|^2 - |p - c_j|^2` is affine in `p`, so its least
//! value over the cell is at a corner, and `|p - c_i|^2 + |p - c_j|^2`
//! (which scales the rounding) is convex, so its largest value is at a
//! corner too. A cell with one or two centroids left stores them in one
//! byte (four bits each); a cell with more stores [`AMBIGUOUS`].
//!
//! The kernel takes 16 rows at a time: their cells (`floor((x - origin) *
//! inv)` per axis), the cells' bytes by a byte permutation over the
//! 256-byte table held in four registers (no gather), the two candidates'
//! coordinates by a lane permutation, and their two distances in the
//! oracle's arithmetic ([`crate::assign::sq_dist`]: `dx * dx + dy * dy`,
//! no FMA), the lower index winning ties. So a row's label and distance are
//! the oracle's to the bit. A block of 16 with a row outside the grid, in
//! an ambiguous cell or not finite goes back to the caller, which runs the
//! exact kernel on it.
//!
//! The computed cell of a row can differ from its exact cell near an edge
//! (three roundings, at most `3 * 2^-24 * 17` of a cell inside the grid),
//! so every cell is checked widened by 1/64 of a cell on each side.

#![allow(unsafe_code)]

/// Cells per axis.
const G: usize = 16;
/// The byte of a cell with more than two candidates.
const AMBIGUOUS: u8 = 0xFF;
/// Most centroids: labels fit in four bits and `0xFF` is never a pair of them.
pub(crate) const MAX_K: usize = 15;
/// The widening of each cell, in cells.
const WIDEN: f64 = 1.0 / 64.0;
/// The f32 kernel's rounding, relative to `|p - c_i|^2 + |p - c_j|^2`:
/// the differences, squares and sum take at most 6 roundings of `2^-24`,
/// taken here with a factor 16 to spare.
const REL_MARGIN: f64 = 1.0 / (1u64 << 20) as f64;
/// An absolute allowance for roundings in the subnormal range.
const ABS_MARGIN: f64 = 1e-37;

/// Whether this machine runs the grid kernel.
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A codebook's lookup grid (see the module's documentation).
#[derive(Debug, Clone)]
pub(crate) struct Grid2 {
    /// Per axis: the grid's lower corner and the inverse of a cell's width
    /// (f32, as the kernel uses them).
    origin: [f32; 2],
    inv: [f32; 2],
    /// Cell `(ix, iy)` at `16 iy + ix`: `a | b << 4` with `a <= b` the
    /// candidates (`a == b` for one), or [`AMBIGUOUS`].
    table: [u8; G * G],
    /// The centroids' coordinates by axis, padded with zeros to 16.
    cx: [f32; 16],
    cy: [f32; 16],
}

impl Grid2 {
    /// `c` is row-major `k x 2`. `None` when `k` is outside `2 ..= 15`, a
    /// coordinate is not finite or every centroid is the same point.
    pub(crate) fn new(c: &[f32]) -> Option<Self> {
        let k = c.len() / 2;
        if !(2..=MAX_K).contains(&k) || c.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let pts: Vec<[f64; 2]> = c
            .chunks_exact(2)
            .map(|p| [p[0] as f64, p[1] as f64])
            .collect();
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in &pts {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let widest = (hi[0] - lo[0]).max(hi[1] - lo[1]);
        if widest.is_nan() || widest <= 0.0 {
            return None;
        }
        let (mut origin, mut inv, mut width) = ([0.0f32; 2], [0.0f32; 2], [0.0f64; 2]);
        for a in 0..2 {
            // (an axis the centroids barely spread along takes the other's span)
            let span = (hi[a] - lo[a]).max(widest * 1e-3);
            origin[a] = (lo[a] - 0.2 * span) as f32;
            inv[a] = (G as f64 / (1.4 * span)) as f32;
            if !(origin[a].is_finite() && inv[a].is_finite() && inv[a] > 0.0) {
                return None;
            }
            width[a] = 1.0 / inv[a] as f64;
        }
        let mut table = [AMBIGUOUS; G * G];
        let mut dist = vec![[0.0f64; MAX_K]; 4];
        for iy in 0..G {
            for ix in 0..G {
                let xs = [
                    origin[0] as f64 + (ix as f64 - WIDEN) * width[0],
                    origin[0] as f64 + (ix as f64 + 1.0 + WIDEN) * width[0],
                ];
                let ys = [
                    origin[1] as f64 + (iy as f64 - WIDEN) * width[1],
                    origin[1] as f64 + (iy as f64 + 1.0 + WIDEN) * width[1],
                ];
                let mut far = false;
                for (corner, dc) in dist.iter_mut().enumerate() {
                    let (px, py) = (xs[corner & 1], ys[corner >> 1]);
                    for (j, p) in pts.iter().enumerate() {
                        dc[j] = (px - p[0]) * (px - p[0]) + (py - p[1]) * (py - p[1]);
                        far |= dc[j] > 1e36;
                    }
                }
                if far {
                    continue;
                }
                // (`i` is beaten by `j` when `j` is nearer at every point
                // of the cell by more than the rounding; never by itself)
                let beaten = |i: usize, j: usize| {
                    let (mut least, mut most) = (f64::INFINITY, 0.0f64);
                    for dc in &dist {
                        least = least.min(dc[i] - dc[j]);
                        most = most.max(dc[i] + dc[j]);
                    }
                    least > REL_MARGIN * most + ABS_MARGIN
                };
                // those the centroid nearest the cell's first corner does
                // not beat (most cells keep one or two), else those no
                // centroid beats
                let near = (0..k)
                    .min_by(|&i, &j| dist[0][i].total_cmp(&dist[0][j]))
                    .expect("k >= 2");
                let mut left = (0..k).filter(|&i| !beaten(i, near));
                let pair = match (left.next(), left.next(), left.next()) {
                    (Some(a), None, _) => Some((a, a)),
                    (Some(a), Some(b), None) => Some((a, b)),
                    _ => {
                        let mut left = (0..k).filter(|&i| !(0..k).any(|j| beaten(i, j)));
                        match (left.next(), left.next(), left.next()) {
                            (Some(a), None, _) => Some((a, a)),
                            (Some(a), Some(b), None) => Some((a, b)),
                            _ => None,
                        }
                    }
                };
                if let Some((a, b)) = pair {
                    table[iy * G + ix] = (a | b << 4) as u8;
                }
            }
        }
        let (mut cx, mut cy) = ([0.0f32; 16], [0.0f32; 16]);
        for (j, p) in c.chunks_exact(2).enumerate() {
            cx[j] = p[0];
            cy[j] = p[1];
        }
        Some(Grid2 {
            origin,
            inv,
            table,
            cx,
            cy,
        })
    }

    /// How many cells have one or two candidates (for tests).
    #[cfg(test)]
    fn decided_cells(&self) -> usize {
        self.table.iter().filter(|&&b| b != AMBIGUOUS).count()
    }
}

/// Labels and squared distances of the rows of `x` (`n x 2`, `n` a
/// multiple of 16) through the grid, 16 rows at a time. Returns `m`: the
/// rows the grid did not decide are `undecided[..m]`, in ascending order;
/// their outputs are left for the exact kernel. (`undecided` only grows,
/// so a reused buffer is not cleared at every call.) Must only be called
/// when [`available`] is true.
pub(crate) fn labels_grid(
    x: &[f32],
    g: &Grid2,
    labels: &mut [u32],
    dist2: &mut [f32],
    undecided: &mut Vec<u32>,
) -> usize {
    let n = x.len() / 2;
    assert!(available() && x.len() == n * 2 && n.is_multiple_of(16));
    assert!(labels.len() == n && dist2.len() == n && n <= u32::MAX as usize - 16);
    if undecided.len() < n + 16 {
        undecided.resize(n + 16, 0);
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F/BW and VBMI are present (asserted above); the
    // lengths are as the function requires.
    let m = unsafe { x86::blocks(x, g, labels, dist2, &mut undecided[..n + 16]) };
    #[cfg(not(target_arch = "x86_64"))]
    let m = 0;
    m
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Grid2;
    use std::arch::x86_64::*;

    /// See [`super::labels_grid`]; returns how many rows went to
    /// `undecided`.
    ///
    /// # Safety
    /// AVX-512F, AVX-512BW and AVX-512 VBMI must be available;
    /// `x.len() == 2 n`, `labels` and `dist2` `n` long, `n` a multiple of
    /// 16, `undecided` `n + 16` long.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    pub(super) unsafe fn blocks(
        x: &[f32],
        g: &Grid2,
        labels: &mut [u32],
        dist2: &mut [f32],
        undecided: &mut [u32],
    ) -> usize {
        assert!(undecided.len() == labels.len() + 16);
        // SAFETY: the table is 256 bytes, read as four 64-byte vectors;
        // the coordinates are 16 f32 each.
        let (t0, t1, t2, t3, cx, cy) = unsafe {
            let tp = g.table.as_ptr();
            (
                _mm512_loadu_si512(tp.cast()),
                _mm512_loadu_si512(tp.add(64).cast()),
                _mm512_loadu_si512(tp.add(128).cast()),
                _mm512_loadu_si512(tp.add(192).cast()),
                _mm512_loadu_ps(g.cx.as_ptr()),
                _mm512_loadu_ps(g.cy.as_ptr()),
            )
        };
        let (ox, oy) = (_mm512_set1_ps(g.origin[0]), _mm512_set1_ps(g.origin[1]));
        let (ix_, iy_) = (_mm512_set1_ps(g.inv[0]), _mm512_set1_ps(g.inv[1]));
        let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let even = _mm512_add_epi32(iota, iota);
        let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
        let low4 = _mm512_set1_epi32(15);
        let byte = _mm512_set1_epi32(0xFF);
        let not15 = _mm512_set1_epi32(!15);
        let up = undecided.as_mut_ptr();
        let mut m = 0usize;
        for (b, ((xb, lb), db)) in x
            .chunks_exact(32)
            .zip(labels.chunks_exact_mut(16))
            .zip(dist2.chunks_exact_mut(16))
            .enumerate()
        {
            crate::fused::prefetch(xb.as_ptr().wrapping_add(crate::fused::PREFETCH_AHEAD));
            crate::fused::prefetch(xb.as_ptr().wrapping_add(crate::fused::PREFETCH_AHEAD + 16));
            // SAFETY: `xb` is 32 f32 (16 rows of 2).
            let (v0, v1) = unsafe {
                (
                    _mm512_loadu_ps(xb.as_ptr()),
                    _mm512_loadu_ps(xb.as_ptr().add(16)),
                )
            };
            let xs = _mm512_permutex2var_ps(v0, even, v1);
            let ys = _mm512_permutex2var_ps(v0, odd, v1);
            // the cells: floor, and out of range (negative, NaN, too large)
            // converts to 2^32 - 1
            let cx_i = _mm512_cvt_roundps_epu32::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(
                _mm512_mul_ps(_mm512_sub_ps(xs, ox), ix_),
            );
            let cy_i = _mm512_cvt_roundps_epu32::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(
                _mm512_mul_ps(_mm512_sub_ps(ys, oy), iy_),
            );
            let inside = _mm512_testn_epi32_mask(_mm512_or_si512(cx_i, cy_i), not15);
            let cell = _mm512_or_si512(_mm512_slli_epi32::<4>(cy_i), cx_i);
            // byte 0 of each lane is the cell (bytes 1-3 are zero inside the
            // grid): bits 0-6 pick a byte of a 128-byte half, bit 7 the half
            let lo = _mm512_permutex2var_epi8(t0, cell, t1);
            let hi = _mm512_permutex2var_epi8(t2, cell, t3);
            let e = _mm512_and_si512(
                _mm512_mask_blend_epi8(_mm512_movepi8_mask(cell), lo, hi),
                byte,
            );
            let decided = _mm512_mask_cmpneq_epi32_mask(inside, e, byte);
            if decided != 0xFFFF {
                // the others' rows, compressed to the front of 16 lanes
                let rows = _mm512_add_epi32(iota, _mm512_set1_epi32((16 * b) as i32));
                // SAFETY: `m <= 16 b`, so the 16 words at `m` lie inside
                // `undecided` (`n + 16` long).
                unsafe {
                    _mm512_storeu_si512(
                        up.add(m).cast(),
                        _mm512_maskz_compress_epi32(!decided, rows),
                    )
                };
                m += (!decided).count_ones() as usize;
            }
            let a = _mm512_and_si512(e, low4);
            let bb = _mm512_srli_epi32::<4>(e);
            let dist = |j: __m512i| {
                let dx = _mm512_sub_ps(xs, _mm512_permutexvar_ps(j, cx));
                let dy = _mm512_sub_ps(ys, _mm512_permutexvar_ps(j, cy));
                _mm512_add_ps(_mm512_mul_ps(dx, dx), _mm512_mul_ps(dy, dy))
            };
            let (da, db_) = (dist(a), dist(bb));
            let lt = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(db_, da);
            // SAFETY: `lb` and `db` are 16 long.
            unsafe {
                _mm512_storeu_si512(lb.as_mut_ptr().cast(), _mm512_mask_mov_epi32(a, lt, bb));
                _mm512_storeu_ps(db.as_mut_ptr(), _mm512_mask_mov_ps(da, lt, db_));
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::{assign_naive, Centroids};
    use crate::kmeans::splitmix64;
    use proptest::prelude::*;

    /// Uniform values in `[lo, hi)` from a seeded stream.
    struct Uniform(u64);
    impl Uniform {
        fn gen_range(&mut self, r: std::ops::Range<f32>) -> f32 {
            self.0 = self.0.wrapping_add(1);
            let u = (splitmix64(self.0) >> 40) as f32 / (1u64 << 24) as f32;
            r.start + (r.end - r.start) * u
        }
        fn index(&mut self, n: usize) -> usize {
            ((self.gen_range(0.0..1.0) * n as f32) as usize).min(n - 1)
        }
    }

    /// The grid's labels and distances, with the oracle's on the rows it
    /// leaves; and how many rows it left.
    fn through_grid(x: &[f32], c: &[f32]) -> (Vec<u32>, Vec<f32>, usize) {
        let g = Grid2::new(c).expect("a grid");
        let n = x.len() / 2;
        let (mut l, mut d) = (vec![u32::MAX; n], vec![f32::NAN; n]);
        let mut left = Vec::new();
        let m = labels_grid(x, &g, &mut l, &mut d, &mut left);
        let cc = Centroids::new(c.to_vec(), 2);
        for &r in &left[..m] {
            let r = r as usize;
            assign_naive(&x[r * 2..r * 2 + 2], &cc, &mut l[r..=r], &mut d[r..=r]);
        }
        (l, d, m)
    }

    fn oracle(x: &[f32], c: &[f32]) -> (Vec<u32>, Vec<f32>) {
        let n = x.len() / 2;
        let (mut l, mut d) = (vec![0; n], vec![0.0; n]);
        assign_naive(x, &Centroids::new(c.to_vec(), 2), &mut l, &mut d);
        (l, d)
    }

    fn check(x: &[f32], c: &[f32], what: &str) -> usize {
        let (l, d, left) = through_grid(x, c);
        let (wl, wd) = oracle(x, c);
        for i in 0..x.len() / 2 {
            assert_eq!(l[i], wl[i], "{what}: row {i} ({:?})", &x[2 * i..2 * i + 2]);
            assert_eq!(d[i].to_bits(), wd[i].to_bits(), "{what}: row {i}");
        }
        left
    }

    /// Blobs around ten centres: the grid decides most blocks, and every
    /// label and distance is the oracle's.
    #[test]
    fn blobs_equal_the_oracle_and_mostly_skip_it() {
        if !available() {
            eprintln!("skipped: no AVX-512 VBMI on this machine");
            return;
        }
        let mut rng = Uniform(7);
        let c: Vec<f32> = (0..20).map(|_| rng.gen_range(-10.0..10.0)).collect();
        let n = 16 * 4096;
        let x: Vec<f32> = (0..n)
            .flat_map(|_| {
                let j = rng.index(10);
                let (u, v) = (rng.gen_range(-1.5..1.5), rng.gen_range(-1.5..1.5));
                [c[2 * j] + u, c[2 * j + 1] + v]
            })
            .collect();
        let left = check(&x, &c, "blobs");
        assert!(left < n / 10, "{left} of {n} rows left");
    }

    /// Rows on and a few units in the last place off every bisector
    /// (where the f32 kernel's rounding decides), on cell edges, outside
    /// the grid and not finite; centroids with duplicates and far from the
    /// origin.
    #[test]
    fn rows_where_rounding_decides_equal_the_oracle() {
        if !available() {
            eprintln!("skipped: no AVX-512 VBMI on this machine");
            return;
        }
        let mut rng = Uniform(11);
        let layouts: Vec<Vec<f32>> = vec![
            vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
            vec![-3.0, 2.0, 5.0, 2.0, 5.0, 2.0, 1.0, -7.0, 0.5, 0.25],
            (0..30)
                .map(|i| 6.0e5 + if i % 2 == 0 { 1.0e4 } else { 0.0 } + (i as f32) * 13.0)
                .collect(),
            (0..24).map(|_| rng.gen_range(-1.0e-3..1.0e-3)).collect(),
            // centroids a unit in the last place apart: exact arithmetic
            // ranks them by the side of their bisector, the f32 kernel's
            // rounding often the other way
            vec![
                1.0,
                1.0,
                f32::from_bits(1.0f32.to_bits() + 1),
                1.0,
                -4.0,
                3.0,
                -4.0,
                f32::from_bits(3.0f32.to_bits() + 1),
                2.0,
                -5.0,
            ],
        ];
        for c in layouts {
            let k = c.len() / 2;
            let g = Grid2::new(&c).expect("a grid");
            let mut x = Vec::new();
            for i in 0..k {
                for j in 0..k {
                    // points on the bisector of i and j, then nudged
                    let (ax, ay, bx, by) = (c[2 * i], c[2 * i + 1], c[2 * j], c[2 * j + 1]);
                    for s in 0..64 {
                        let t = rng.gen_range(-2.0..2.0);
                        let (mx, my) = ((ax + bx) / 2.0, (ay + by) / 2.0);
                        let (px, py) = (mx - t * (by - ay), my + t * (bx - ax));
                        let nudge =
                            |v: f32, u: i32| f32::from_bits((v.to_bits() as i32 + u) as u32);
                        x.extend([nudge(px, s % 7 - 3), nudge(py, s / 7 % 7 - 3)]);
                    }
                }
            }
            // cell edges and corners, inside and just outside
            for iy in 0..=G {
                for ix in 0..=G {
                    let px = g.origin[0] + ix as f32 / g.inv[0];
                    let py = g.origin[1] + iy as f32 / g.inv[1];
                    for u in [-1, 0, 1] {
                        let nudge = |v: f32| f32::from_bits((v.to_bits() as i32 + u) as u32);
                        x.extend([nudge(px), nudge(py)]);
                    }
                }
            }
            // rows across the grid
            for _ in 0..4096 {
                let (u, v) = (rng.gen_range(-0.3..1.3), rng.gen_range(-0.3..1.3));
                x.extend([
                    g.origin[0] + u * G as f32 / g.inv[0],
                    g.origin[1] + v * G as f32 / g.inv[1],
                ]);
            }
            x.extend([f32::NAN, 0.0, 0.0, f32::INFINITY, -1e30, 1e30, 1e38, -1e38]);
            while x.len() % 32 != 0 {
                x.extend([c[0], c[1]]);
            }
            check(&x, &c, &format!("k = {k}"));
        }
    }

    /// A two-centroid codebook decides every cell it can: the cells the
    /// bisector does not cross have one candidate, those it crosses two,
    /// so none is ambiguous.
    #[test]
    fn two_centroids_leave_no_cell_ambiguous() {
        let g = Grid2::new(&[0.0, 0.0, 3.0, 1.0]).expect("a grid");
        assert_eq!(g.decided_cells(), G * G);
        assert!(Grid2::new(&[1.0, 1.0, 1.0, 1.0]).is_none());
        assert!(Grid2::new(&[1.0; 32]).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_codebooks_equal_the_oracle(k in 2usize..=15, seed in 0u64..1000,
                                             scale in prop::sample::select(vec![1e-3f32, 1.0, 1e4])) {
            if !available() {
                return Ok(());
            }
            let mut rng = Uniform(seed);
            let mut c: Vec<f32> = (0..2 * k).map(|_| rng.gen_range(-scale..scale)).collect();
            if k > 3 {
                // a duplicate and a point on a line with two others
                c[2] = c[0];
                c[3] = c[1];
                c[4] = (c[0] + c[6]) / 2.0;
                c[5] = (c[1] + c[7]) / 2.0;
            }
            let x: Vec<f32> = (0..16 * 64)
                .flat_map(|_| [rng.gen_range(-2.0 * scale..2.0 * scale), rng.gen_range(-2.0 * scale..2.0 * scale)])
                .collect();
            check(&x, &c, "random");
        }
    }
}
