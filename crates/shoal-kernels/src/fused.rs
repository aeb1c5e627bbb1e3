//! The fused nearest-centroid kernel for `d > 8`, in x86-64 intrinsics.
//!
//! For a block of rows and one or two panels of [`PANEL`] centroids (stored transposed,
//! `dim x PANEL`), the dot products accumulate in registers over the
//! dimensions, one FMA per (row, centroid, dimension) in ascending dimension
//! order, starting from `-||c||^2 / 2`. The nearest centroid maximises
//! `x.c - ||c||^2 / 2` (half of `||x||^2 - ||x - c||^2`), so the sums feed a
//! lane-wise running maximum (strictly larger wins, so each lane keeps its
//! lowest index on ties). The
//! `rows x k` products never reach memory, which is what a GEMM followed by an
//! argmin pass costs.
//!
//! The AVX-512 and AVX2 kernels perform the same operations on every
//! element, so they return the same labels. Each row's result depends only
//! on that row.

#![allow(unsafe_code)]

/// Centroids per panel: one AVX-512 vector, two AVX2 vectors. The AVX-512
/// kernel takes panels in pairs (a single one at the end when their count is
/// odd), so at most 15 padded centroids are computed in vain.
pub(crate) const PANEL: usize = 16;

/// Rows per block: AVX-512 keeps 12 rows x 2 vectors of dot products in its
/// 32 registers; AVX2 keeps 6 rows x 2 vectors in its 16.
const ROWS_512: usize = 4;
const ROWS_256: usize = 6;
/// With the runner-up (a third set of vectors), fewer rows keep everything
/// in registers.
const ROWS_512_TOP2: usize = 3;
const ROWS_256_TOP2: usize = 2;

/// How far ahead of the rows in hand the kernels ask for rows: 4 KiB of
/// f32 (measured on a block read from memory, d = 2, k = 10: 1.02-1.08 ns a
/// row without, 0.85-0.91 with, 0.84-0.87 from L2).
pub(crate) const PREFETCH_AHEAD: usize = 1024;

/// Asks the CPU to bring the cache line holding `p` into L1 ahead of its
/// load. Passes that read rows straight from a memory map (their blocks
/// were checked by an earlier pass) otherwise wait on memory at every row,
/// as the kernels themselves are compute-bound. A hint only: it reads
/// nothing and cannot fault, so `p` may point anywhere, past a slice's end
/// included.
#[inline(always)]
pub(crate) fn prefetch(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 makes no architectural memory access and never
    // faults, whatever the address (SSE, part of the x86-64 baseline).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Whether this machine runs the fused kernel (AVX2 with FMA, or AVX-512F).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            || (std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Labels for every row of `x` (`d` wide): `panels` is `np x d x PANEL`,
/// `halves` is `np x PANEL` holding `-||c||^2 / 2` (padding `-inf`). With
/// `second`, also the runner-up's value `x.c - ||c||^2 / 2` for every row
/// (`-inf` when k = 1). Must only be called when [`available`] is true.
pub(crate) fn labels(
    x: &[f32],
    d: usize,
    panels: &[f32],
    halves: &[f32],
    labels: &mut [u32],
    second: Option<&mut [f32]>,
) {
    let n = x.len() / d;
    let np = halves.len() / PANEL;
    assert!(panels.len() == np * d * PANEL && labels.len() >= n && np >= 1);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            match second {
                None => run::<ROWS_512>(x, d, labels, None, |xb, out, _| {
                    // SAFETY: AVX-512F is present (checked just above); `xb`
                    // holds ROWS_512 rows of `d` values and the panel slices
                    // have the lengths asserted on entry.
                    unsafe { x86::block_512::<ROWS_512, false>(xb, d, panels, halves, out, None) }
                }),
                Some(sec) => run::<ROWS_512_TOP2>(x, d, labels, Some(sec), |xb, out, o2| {
                    // SAFETY: as above.
                    unsafe { x86::block_512::<ROWS_512_TOP2, true>(xb, d, panels, halves, out, o2) }
                }),
            }
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            match second {
                None => run::<ROWS_256>(x, d, labels, None, |xb, out, _| {
                    // SAFETY: AVX2 and FMA are present (checked just above);
                    // lengths as for the AVX-512 call.
                    unsafe { x86::block_256::<ROWS_256, false>(xb, d, panels, halves, out, None) }
                }),
                Some(sec) => run::<ROWS_256_TOP2>(x, d, labels, Some(sec), |xb, out, o2| {
                    // SAFETY: as above.
                    unsafe { x86::block_256::<ROWS_256_TOP2, true>(xb, d, panels, halves, out, o2) }
                }),
            }
            return;
        }
    }
    let _ = second;
    unreachable!("fused::labels called without AVX2+FMA or AVX-512F");
}

/// Full blocks of `R` rows straight from `x`; the last partial block is
/// copied into a zero-padded block so it goes through the same kernel.
fn run<const R: usize>(
    x: &[f32],
    d: usize,
    labels: &mut [u32],
    mut second: Option<&mut [f32]>,
    mut block: impl FnMut(&[f32], &mut [u32; R], Option<&mut [f32; R]>),
) {
    let n = x.len() / d;
    let full = n / R * R;
    for (b, (xb, lb)) in x[..full * d]
        .chunks_exact(R * d)
        .zip(labels[..full].chunks_exact_mut(R))
        .enumerate()
    {
        let out: &mut [u32; R] = lb.try_into().expect("R labels");
        let o2 = second
            .as_deref_mut()
            .map(|s| (&mut s[b * R..(b + 1) * R]).try_into().expect("R values"));
        block(xb, out, o2);
    }
    if full < n {
        let mut pad = vec![0.0f32; R * d];
        pad[..(n - full) * d].copy_from_slice(&x[full * d..n * d]);
        let mut out = [0u32; R];
        let mut o2 = [0.0f32; R];
        block(&pad, &mut out, Some(&mut o2));
        labels[full..n].copy_from_slice(&out[..n - full]);
        if let Some(s) = second {
            s[full..n].copy_from_slice(&o2[..n - full]);
        }
    }
}

/// Rows per block of the bf16 kernel: 6 rows x 2 panels of sums in
/// registers.
const ROWS_BF16: usize = 6;

/// A codebook centred on its centroids' mean, for the low-precision paths
/// (the nearest centroid is unchanged by a shift of rows and centroids, and
/// centred values keep the rounding small), with the norms their error
/// bounds need.
#[derive(Debug, Clone)]
pub(crate) struct Centred {
    pub mean: Vec<f32>,
    /// Row-major `k x dim`: each centroid less the mean, in f32 (as rows
    /// are centred).
    pub values: Vec<f32>,
    /// `-||c - mean||^2 / 2` by panel of [`PANEL`], padding `-inf`.
    pub halves: Vec<f32>,
    /// Largest `||c - mean||`, `||c - mean||^2 / 2`, `||c - mean||_1`,
    /// `||c||` and `||c||^2 / 2`; `||mean||` (all rounded up a little: they
    /// feed error bounds).
    pub c_max: f32,
    pub h_max: f32,
    pub l1_max: f32,
    pub cu_max: f32,
    pub hu_max: f32,
    pub m_norm: f32,
}

impl Centred {
    /// `data` is row-major `k x dim`, finite.
    pub(crate) fn new(data: &[f32], dim: usize) -> Self {
        let k = data.len() / dim;
        let mut m64 = vec![0.0f64; dim];
        for c in data.chunks_exact(dim) {
            for (a, &v) in m64.iter_mut().zip(c) {
                *a += v as f64;
            }
        }
        let mean: Vec<f32> = m64.iter().map(|&a| (a / k as f64) as f32).collect();
        let values: Vec<f32> = data
            .chunks_exact(dim)
            .flat_map(|c| c.iter().zip(&mean).map(|(&v, &m)| v - m))
            .collect();
        let mut halves = vec![f32::NEG_INFINITY; k.div_ceil(PANEL) * PANEL];
        let mut mx = [0.0f64; 5];
        for (j, (cc, c)) in values
            .chunks_exact(dim)
            .zip(data.chunks_exact(dim))
            .enumerate()
        {
            let n2: f64 = cc.iter().map(|&v| v as f64 * v as f64).sum();
            let u2: f64 = c.iter().map(|&v| v as f64 * v as f64).sum();
            let l1: f64 = cc.iter().map(|&v| (v as f64).abs()).sum();
            halves[j] = (-0.5 * n2) as f32;
            for (m, v) in mx
                .iter_mut()
                .zip([n2.sqrt(), 0.5 * n2, l1, u2.sqrt(), 0.5 * u2])
            {
                *m = m.max(v);
            }
        }
        let up = |v: f64| (v * (1.0 + 1e-6)) as f32;
        let m_norm = m64
            .iter()
            .map(|&a| (a / k as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        Centred {
            mean,
            values,
            halves,
            c_max: up(mx[0]),
            h_max: up(mx[1]),
            l1_max: up(mx[2]),
            cu_max: up(mx[3]),
            hu_max: up(mx[4]),
            m_norm: up(m_norm),
        }
    }
}

/// A codebook's bf16 copy for [`labels_bf16`], centred ([`Centred`]).
#[derive(Debug, Clone)]
pub(crate) struct Bf16Panels {
    cb: Centred,
    /// `np x pairs x PANEL`: dimensions `2q` and `2q + 1` of a centred
    /// centroid as two bf16 (rounded to nearest even) in one u32, `2q` in
    /// the low half; zero padding.
    pairs: Vec<u32>,
}

/// bf16 bits of `v` (finite), rounded to nearest even.
fn bf16_bits(v: f32) -> u32 {
    let b = v.to_bits();
    (b.wrapping_add(0x7FFF + ((b >> 16) & 1))) >> 16
}

impl Bf16Panels {
    /// `data` is row-major `k x dim`, finite.
    pub(crate) fn new(data: &[f32], dim: usize) -> Self {
        let cb = Centred::new(data, dim);
        let dp = dim.div_ceil(2);
        let np = cb.halves.len() / PANEL;
        let mut pairs = vec![0u32; np * dp * PANEL];
        for (j, cc) in cb.values.chunks_exact(dim).enumerate() {
            let (p, l) = (j / PANEL, j % PANEL);
            for q in 0..dp {
                let lo = bf16_bits(cc[2 * q]);
                let hi = cc.get(2 * q + 1).map_or(0, |&v| bf16_bits(v));
                pairs[(p * dp + q) * PANEL + l] = lo | (hi << 16);
            }
        }
        Bf16Panels { cb, pairs }
    }
}

/// Per-thread buffers of [`labels_bf16`].
#[derive(Debug, Default)]
pub(crate) struct Bf16Scratch {
    rows: Vec<u32>,
    slack: Vec<f32>,
    norms: Vec<f32>,
    redo: RedoScratch,
}

/// Buffers of [`redo_unclear`].
#[derive(Debug, Default)]
pub(crate) struct RedoScratch {
    rows: Vec<usize>,
    x: Vec<f32>,
    labels: Vec<u32>,
    second: Vec<f32>,
}

/// The rows a low-precision kernel left without a clear winner (labelled
/// `u32::MAX`) through the f32 kernel [`labels`]; with `second`, their
/// runner-up values too (other rows' entries are left alone). Returns how
/// many rows it took.
pub(crate) fn redo_unclear(
    x: &[f32],
    d: usize,
    panels: &[f32],
    halves: &[f32],
    labels_out: &mut [u32],
    second: Option<&mut [f32]>,
    s: &mut RedoScratch,
) -> usize {
    let n = x.len() / d;
    s.rows.clear();
    s.rows.extend((0..n).filter(|&i| labels_out[i] == u32::MAX));
    if s.rows.is_empty() {
        return 0;
    }
    s.x.clear();
    for &i in &s.rows {
        s.x.extend_from_slice(&x[i * d..(i + 1) * d]);
    }
    s.labels.clear();
    s.labels.resize(s.rows.len(), 0);
    match second {
        Some(sec) => {
            s.second.clear();
            s.second.resize(s.rows.len(), 0.0);
            labels(&s.x, d, panels, halves, &mut s.labels, Some(&mut s.second));
            for (&i, &v) in s.rows.iter().zip(&s.second) {
                sec[i] = v;
            }
        }
        None => labels(&s.x, d, panels, halves, &mut s.labels, None),
    }
    for (&i, &l) in s.rows.iter().zip(&s.labels) {
        labels_out[i] = l;
    }
    s.rows.len()
}

/// Whether this machine runs [`labels_bf16`]'s bf16 kernel.
pub(crate) fn bf16_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
            && std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The labels [`labels`] gives (`second` = None), with half the multiply
/// instructions: the dot products of centred rows and centroids in bf16
/// (AVX-512 BF16 multiplies 32 pairs per instruction where an f32 FMA takes
/// 16), with a bound on the rounding. A row whose best value beats its runner-up by
/// more than twice the bf16 error plus twice the f32 kernel's own error has
/// the same winner in exact arithmetic and in the f32 kernel, and takes it;
/// every other row (near-ties, ties) goes through the f32 kernel. So the
/// labels equal [`labels`]' on every row. Without AVX-512 BF16, this is
/// [`labels`]. Returns how many rows went through the f32 kernel.
pub(crate) fn labels_bf16(
    x: &[f32],
    d: usize,
    bf: &Bf16Panels,
    panels: &[f32],
    halves: &[f32],
    labels_out: &mut [u32],
    s: &mut Bf16Scratch,
) -> usize {
    let n = x.len() / d;
    if !bf16_available() || n == 0 {
        labels(x, d, panels, halves, labels_out, None);
        return n;
    }
    let dp = d.div_ceil(2);
    let np = bf.cb.halves.len() / PANEL;
    assert!(bf.pairs.len() == np * dp * PANEL && bf.cb.mean.len() == d && labels_out.len() >= n);
    // Rows: centred, to bf16 pairs; and each row's error slack.
    //  - bf16 kernel: every product is off by at most 2^-8 |x_i c_i| (both
    //    factors rounded to 8 bits), the f32 sums by (d + 2) 2^-24 of the
    //    running magnitude: |error| <= (2^-8 + (d+2) 2^-24) ||x'|| ||c'||
    //    + (d+2) 2^-24 |h'|, plus flushed subnormals (d 2^-126 (1 + ..)).
    //  - f32 kernel (uncentred, one FMA a term from h): (d + 2) 2^-24
    //    (||x|| ||c|| + |h|), plus its f32 squared norms, (d + 2) 2^-24 |h|.
    // The slack is twice the sum (best and runner-up both off); the bf16
    // constants are rounded up.
    let e_acc = (d as f32 + 2.0) * f32::EPSILON; // (d + 2) 2^-23
    let e_bf = 1.0 / 128.0 + e_acc;
    let e_f32 = e_acc / 2.0; // (d + 2) 2^-24
    s.rows.clear();
    s.rows.resize(n * dp, 0);
    s.slack.clear();
    s.slack.resize(n, 0.0);
    s.norms.clear();
    s.norms.resize(n, 0.0);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F and AVX-512 BF16 are present (checked on entry);
    // the lengths are as the function requires.
    unsafe {
        x86::rows_to_bf16(x, d, &bf.cb.mean, &mut s.rows, &mut s.norms)
    };
    for (sl, &nm) in s.slack.iter_mut().zip(&s.norms) {
        // (||x|| <= ||x - mean|| + ||mean||)
        let xn = (nm * (1.0 + e_acc)).sqrt();
        let xu = xn + bf.cb.m_norm;
        let bf_err = e_bf * xn * bf.cb.c_max + e_acc * bf.cb.h_max;
        let f32_err = e_f32 * (xu * bf.cb.cu_max + 2.0 * bf.cb.hu_max);
        let tiny = d as f32 * f32::MIN_POSITIVE * (1.0 + xn + bf.cb.c_max);
        *sl = 2.0 * (bf_err + f32_err + tiny);
    }
    #[cfg(target_arch = "x86_64")]
    {
        let full = n / ROWS_BF16 * ROWS_BF16;
        let blk = |xr: &[u32], sl: &[f32], l: &mut [u32]| {
            let (sl, l) = (
                sl.try_into().expect("R values"),
                l.try_into().expect("R labels"),
            );
            // SAFETY: AVX-512F, AVX-512 BF16 and POPCNT are present (checked
            // on entry); `xr` holds ROWS_BF16 rows of `dp` pairs and the
            // panel slices have the lengths asserted on entry.
            unsafe { x86::block_bf16::<ROWS_BF16>(xr, dp, &bf.pairs, &bf.cb.halves, sl, l) }
        };
        for ((xr, sl), l) in s.rows[..full * dp]
            .chunks_exact(ROWS_BF16 * dp)
            .zip(s.slack[..full].chunks_exact(ROWS_BF16))
            .zip(labels_out[..full].chunks_exact_mut(ROWS_BF16))
        {
            blk(xr, sl, l);
        }
        if full < n {
            let mut pad = vec![0u32; ROWS_BF16 * dp];
            pad[..(n - full) * dp].copy_from_slice(&s.rows[full * dp..]);
            let mut sl = [0.0f32; ROWS_BF16];
            sl[..n - full].copy_from_slice(&s.slack[full..n]);
            let mut l = [0u32; ROWS_BF16];
            blk(&pad, &sl, &mut l);
            labels_out[full..n].copy_from_slice(&l[..n - full]);
        }
    }
    // Rows without a clear winner: the f32 kernel.
    redo_unclear(x, d, panels, halves, labels_out, None, &mut s.redo)
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use super::PANEL;
    use std::arch::x86_64::*;

    /// Folds panel `p`'s values `v` into each lane's largest value `m1`,
    /// runner-up `m2` and the largest one's panel `ix` (a value equal to
    /// the largest goes to the runner-up, so a tie is never clear).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn take(m1: &mut __m512, m2: &mut __m512, ix: &mut __m512i, v: __m512, p: usize) {
        let gt = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, *m1);
        *ix = _mm512_mask_mov_epi32(*ix, gt, _mm512_set1_epi32(p as i32));
        *m2 = _mm512_max_ps(*m2, _mm512_min_ps(*m1, v));
        *m1 = _mm512_max_ps(*m1, v);
    }

    /// A row's winner from its lanes (see [`take`]): the centroid of the
    /// largest value when no other value is within `slack` of it (one
    /// lane's largest, no runner-up), with the largest less the runner-up;
    /// `None` otherwise.
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    pub(crate) fn decide(m1: __m512, m2: __m512, ix: __m512i, slack: f32) -> Option<(u32, f32)> {
        let bv = _mm512_reduce_max_ps(m1);
        let thr = _mm512_set1_ps(bv - slack);
        let e1 = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(m1, thr);
        let e2 = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(m2, thr);
        if e1.count_ones() != 1 || e2 != 0 {
            return None;
        }
        let lane = e1.trailing_zeros();
        // the runner-up: every lane's second, the other lanes' largest
        let others = _mm512_mask_mov_ps(m1, e1, _mm512_set1_ps(f32::NEG_INFINITY));
        let gap = bv - _mm512_reduce_max_ps(_mm512_max_ps(others, m2));
        let p = _mm512_permutexvar_epi32(_mm512_set1_epi32(lane as i32), ix);
        let j = _mm_cvtsi128_si32(_mm512_castsi512_si128(p)) as u32 * PANEL as u32 + lane;
        Some((j, gap))
    }

    /// One block of `R` rows against every panel, AVX-512. With `TOP2`,
    /// each lane also keeps its runner-up (`max(second, min(v, best))`), and
    /// `out2` receives the best value of every lane but the winner's.
    ///
    /// # Safety
    /// AVX-512F must be available; `xb.len() >= R * d`,
    /// `panels.len() == np * d * PANEL`, `halves.len() == np * PANEL`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn block_512<const R: usize, const TOP2: bool>(
        xb: &[f32],
        d: usize,
        panels: &[f32],
        halves: &[f32],
        out: &mut [u32; R],
        out2: Option<&mut [f32; R]>,
    ) {
        let np = halves.len() / PANEL;
        debug_assert!(xb.len() >= R * d && panels.len() == np * d * PANEL);
        let xp = xb.as_ptr();
        let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
        let mut best = [[ninf; 2]; R];
        let mut sec = [[ninf; 2]; R];
        let mut bidx = [[_mm512_setzero_si512(); 2]; R];
        let mut q = 0;
        while q < np {
            let pair = q + 1 < np;
            // SAFETY (pointer arithmetic below): panel `q` (and `q + 1` when
            // `pair`) lies inside `panels`; every row read is `xp + r*d + t`
            // with `r < R`, `t < d`, inside `xb`.
            let cp0 = unsafe { panels.as_ptr().add(q * d * PANEL) };
            let h0 = unsafe { _mm512_loadu_ps(halves.as_ptr().add(q * PANEL)) };
            if pair {
                let cp1 = unsafe { cp0.add(d * PANEL) };
                let h1 = unsafe { _mm512_loadu_ps(halves.as_ptr().add((q + 1) * PANEL)) };
                let mut acc = [[h0, h1]; R];
                for t in 0..d {
                    let (c0, c1) = unsafe {
                        (
                            _mm512_loadu_ps(cp0.add(t * PANEL)),
                            _mm512_loadu_ps(cp1.add(t * PANEL)),
                        )
                    };
                    for (r, a) in acc.iter_mut().enumerate() {
                        let xs = _mm512_set1_ps(unsafe { *xp.add(r * d + t) });
                        a[0] = _mm512_fmadd_ps(xs, c0, a[0]);
                        a[1] = _mm512_fmadd_ps(xs, c1, a[1]);
                    }
                }
                for s in 0..2 {
                    let iv = _mm512_add_epi32(iota, _mm512_set1_epi32(((q + s) * PANEL) as i32));
                    for r in 0..R {
                        let v = acc[r][s];
                        let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best[r][s]);
                        if TOP2 {
                            sec[r][s] = _mm512_max_ps(sec[r][s], _mm512_min_ps(v, best[r][s]));
                        }
                        best[r][s] = _mm512_mask_blend_ps(m, best[r][s], v);
                        bidx[r][s] = _mm512_mask_blend_epi32(m, bidx[r][s], iv);
                    }
                }
                q += 2;
            } else {
                let mut acc = [h0; R];
                for t in 0..d {
                    let c0 = unsafe { _mm512_loadu_ps(cp0.add(t * PANEL)) };
                    for (r, a) in acc.iter_mut().enumerate() {
                        let xs = _mm512_set1_ps(unsafe { *xp.add(r * d + t) });
                        *a = _mm512_fmadd_ps(xs, c0, *a);
                    }
                }
                let iv = _mm512_add_epi32(iota, _mm512_set1_epi32((q * PANEL) as i32));
                for r in 0..R {
                    let v = acc[r];
                    let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best[r][0]);
                    if TOP2 {
                        sec[r][0] = _mm512_max_ps(sec[r][0], _mm512_min_ps(v, best[r][0]));
                    }
                    best[r][0] = _mm512_mask_blend_ps(m, best[r][0], v);
                    bidx[r][0] = _mm512_mask_blend_epi32(m, bidx[r][0], iv);
                }
                q += 1;
            }
        }
        let none = _mm512_set1_epi32(-1);
        let mut o2 = [f32::NEG_INFINITY; R];
        for r in 0..R {
            let bv = _mm512_reduce_max_ps(_mm512_max_ps(best[r][0], best[r][1]));
            let bvv = _mm512_set1_ps(bv);
            let e0 = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(best[r][0], bvv);
            let e1 = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(best[r][1], bvv);
            let j0 = _mm512_mask_blend_epi32(e0, none, bidx[r][0]);
            let j1 = _mm512_mask_blend_epi32(e1, none, bidx[r][1]);
            let j = _mm512_reduce_min_epu32(_mm512_min_epu32(j0, j1));
            // every value NaN cannot happen with validated input; fall back to 0
            out[r] = if j == u32::MAX { 0 } else { j };
            if TOP2 {
                // the winner's lane holds index `j` with the best value
                let jv = _mm512_set1_epi32(j as i32);
                let w0 = e0 & _mm512_cmpeq_epi32_mask(bidx[r][0], jv);
                let w1 = e1 & _mm512_cmpeq_epi32_mask(bidx[r][1], jv);
                let b0 = _mm512_mask_blend_ps(w0, best[r][0], ninf);
                let b1 = _mm512_mask_blend_ps(w1, best[r][1], ninf);
                let m = _mm512_max_ps(_mm512_max_ps(b0, b1), _mm512_max_ps(sec[r][0], sec[r][1]));
                o2[r] = _mm512_reduce_max_ps(m);
            }
        }
        if let Some(o) = out2 {
            *o = o2;
        }
    }

    /// Each row of `x` (`d` wide) less `mean`, as bf16 pairs (`out` is
    /// `n x ceil(d / 2)`, an odd `d` padded with a zero), and the squared
    /// norm of each centred row.
    ///
    /// # Safety
    /// AVX-512F and AVX-512 BF16 must be available; `x.len() == n * d`,
    /// `mean.len() == d`, `out.len() == n * ceil(d / 2)`,
    /// `norms.len() == n`.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn rows_to_bf16(
        x: &[f32],
        d: usize,
        mean: &[f32],
        out: &mut [u32],
        norms: &mut [f32],
    ) {
        let n = x.len() / d;
        let dp = d.div_ceil(2);
        assert!(x.len() == n * d && mean.len() == d && out.len() == n * dp && norms.len() == n);
        for ((row, o), nm) in x.chunks_exact(d).zip(out.chunks_exact_mut(dp)).zip(norms) {
            // the rows 4 KiB ahead (a row of `d` values spans d / 16 lines)
            for line in (0..d).step_by(16) {
                super::prefetch(row.as_ptr().wrapping_add(super::PREFETCH_AHEAD + line));
            }
            let mut c2 = _mm512_setzero_ps();
            let mut t = 0;
            while t < d {
                // 32 values (fewer at the end: masked, zero-filled)
                let m0 = mask16(d - t);
                let m1 = mask16(d.saturating_sub(t + 16));
                // (the second half's address may lie past the row when its
                // mask is empty, hence `wrapping_add`: nothing is read there)
                let (rp, mp) = (row.as_ptr(), mean.as_ptr());
                // SAFETY: the masks only cover values `t .. d` of the row and
                // of `mean` (masked-off lanes are neither read nor faulted
                // on); the store covers pairs `t / 2 .. dp` of `o`.
                unsafe {
                    let r0 = _mm512_maskz_loadu_ps(m0, rp.add(t));
                    let r1 = _mm512_maskz_loadu_ps(m1, rp.wrapping_add(t + 16));
                    let a0 = _mm512_sub_ps(r0, _mm512_maskz_loadu_ps(m0, mp.add(t)));
                    let a1 = _mm512_sub_ps(r1, _mm512_maskz_loadu_ps(m1, mp.wrapping_add(t + 16)));
                    c2 = _mm512_fmadd_ps(a0, a0, _mm512_fmadd_ps(a1, a1, c2));
                    let b = std::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(a1, a0));
                    _mm512_mask_storeu_epi32(
                        o.as_mut_ptr().add(t / 2).cast(),
                        mask16((d - t).div_ceil(2)),
                        b,
                    );
                }
                t += 32;
            }
            *nm = _mm512_reduce_add_ps(c2);
        }
    }

    /// The first `min(m, 16)` lanes.
    #[inline]
    pub(crate) fn mask16(m: usize) -> __mmask16 {
        if m >= 16 {
            0xFFFF
        } else {
            ((1u32 << m) - 1) as __mmask16
        }
    }

    /// One block of `R` rows (centred, as bf16 pairs: `xr` is `R x dp`)
    /// against every bf16 panel (`pairs` is `np x dp x PANEL`, `halves`
    /// `np x PANEL`), panels in pairs so `2 R` sums are in flight (the
    /// dot-product instruction's latency needs that many). Each lane keeps
    /// its largest value, its runner-up and the largest one's panel. A
    /// row's label is its largest value's centroid when no other value is
    /// within `slack[r]` of it (none with `v >= largest - slack`), else
    /// `u32::MAX`.
    ///
    /// # Safety
    /// AVX-512F, AVX-512 BF16 and POPCNT must be available; `xr.len() == R * dp`,
    /// `pairs.len() == np * dp * PANEL`, `halves.len() == np * PANEL`.
    #[target_feature(enable = "avx512f,avx512bf16,popcnt")]
    pub(super) unsafe fn block_bf16<const R: usize>(
        xr: &[u32],
        dp: usize,
        pairs: &[u32],
        halves: &[f32],
        slack: &[f32; R],
        out: &mut [u32; R],
    ) {
        let np = halves.len() / PANEL;
        assert!(xr.len() == R * dp && pairs.len() == np * dp * PANEL);
        // bf16 pairs as the dot-product instruction's operand type (same bits)
        let bh = |v: __m512i| -> __m512bh {
            // SAFETY: both are 512-bit vectors; any bits are a valid __m512bh.
            unsafe { std::mem::transmute::<__m512i, __m512bh>(v) }
        };
        let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
        // per lane: largest value, runner-up, panel of the largest
        let mut m1 = [ninf; R];
        let mut m2 = [ninf; R];
        let mut ix = [_mm512_setzero_si512(); R];
        let mut q = 0;
        while q < np {
            let w = if q + 1 < np { 2 } else { 1 };
            // SAFETY (pointer arithmetic below): panels `q .. q + w` and their
            // halves lie inside `pairs` and `halves`; row reads are
            // `xr[r * dp + t]` (bounds-checked).
            let cp = unsafe { pairs.as_ptr().add(q * dp * PANEL) };
            if w == 2 {
                let (h0, h1) = unsafe {
                    (
                        _mm512_loadu_ps(halves.as_ptr().add(q * PANEL)),
                        _mm512_loadu_ps(halves.as_ptr().add((q + 1) * PANEL)),
                    )
                };
                let mut acc = [[h0, h1]; R];
                for t in 0..dp {
                    let (c0, c1) = unsafe {
                        (
                            bh(_mm512_loadu_si512(cp.add(t * PANEL).cast())),
                            bh(_mm512_loadu_si512(cp.add((dp + t) * PANEL).cast())),
                        )
                    };
                    for (r, a) in acc.iter_mut().enumerate() {
                        let xs = bh(_mm512_set1_epi32(xr[r * dp + t] as i32));
                        a[0] = _mm512_dpbf16_ps(a[0], xs, c0);
                        a[1] = _mm512_dpbf16_ps(a[1], xs, c1);
                    }
                }
                for (r, a) in acc.iter().enumerate() {
                    take(&mut m1[r], &mut m2[r], &mut ix[r], a[0], q);
                    take(&mut m1[r], &mut m2[r], &mut ix[r], a[1], q + 1);
                }
            } else {
                let h0 = unsafe { _mm512_loadu_ps(halves.as_ptr().add(q * PANEL)) };
                let mut acc = [h0; R];
                for t in 0..dp {
                    let c0 = unsafe { bh(_mm512_loadu_si512(cp.add(t * PANEL).cast())) };
                    for (r, a) in acc.iter_mut().enumerate() {
                        let xs = bh(_mm512_set1_epi32(xr[r * dp + t] as i32));
                        *a = _mm512_dpbf16_ps(*a, xs, c0);
                    }
                }
                for (r, a) in acc.iter().enumerate() {
                    take(&mut m1[r], &mut m2[r], &mut ix[r], *a, q);
                }
            }
            q += w;
        }
        for r in 0..R {
            out[r] = decide(m1[r], m2[r], ix[r], slack[r]).map_or(u32::MAX, |(j, _)| j);
        }
    }

    /// One block of `R` rows against every panel, AVX2: each panel as two
    /// vectors of 8 centroids, the same per-element operations as
    /// [`block_512`].
    ///
    /// # Safety
    /// AVX2 and FMA must be available; lengths as for [`block_512`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn block_256<const R: usize, const TOP2: bool>(
        xb: &[f32],
        d: usize,
        panels: &[f32],
        halves: &[f32],
        out: &mut [u32; R],
        out2: Option<&mut [f32; R]>,
    ) {
        let np = halves.len() / PANEL;
        debug_assert!(xb.len() >= R * d && panels.len() == np * d * PANEL);
        let xp = xb.as_ptr();
        let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let ninf = _mm256_set1_ps(f32::NEG_INFINITY);
        let mut best = [[ninf; 2]; R];
        let mut sec = [[ninf; 2]; R];
        let mut bidx = [[_mm256_setzero_si256(); 2]; R];
        for q in 0..np {
            let base = q * PANEL;
            // SAFETY (pointer arithmetic below): reads `base*d + t*PANEL + {0, 8}`
            // plus 8 lanes, inside panel `q`; rows as in `block_512`.
            let cp = unsafe { panels.as_ptr().add(base * d) };
            let (h0, h1) = unsafe {
                (
                    _mm256_loadu_ps(halves.as_ptr().add(base)),
                    _mm256_loadu_ps(halves.as_ptr().add(base + 8)),
                )
            };
            let mut acc = [[h0, h1]; R];
            for t in 0..d {
                let (c0, c1) = unsafe {
                    (
                        _mm256_loadu_ps(cp.add(t * PANEL)),
                        _mm256_loadu_ps(cp.add(t * PANEL + 8)),
                    )
                };
                for (r, a) in acc.iter_mut().enumerate() {
                    let xs = _mm256_set1_ps(unsafe { *xp.add(r * d + t) });
                    a[0] = _mm256_fmadd_ps(xs, c0, a[0]);
                    a[1] = _mm256_fmadd_ps(xs, c1, a[1]);
                }
            }
            let i0 = _mm256_add_epi32(iota, _mm256_set1_epi32(base as i32));
            let i1 = _mm256_add_epi32(i0, _mm256_set1_epi32(8));
            for r in 0..R {
                for (s, iv) in [i0, i1].into_iter().enumerate() {
                    let v = acc[r][s];
                    let m = _mm256_cmp_ps::<_CMP_GT_OQ>(v, best[r][s]);
                    if TOP2 {
                        sec[r][s] = _mm256_max_ps(sec[r][s], _mm256_min_ps(v, best[r][s]));
                    }
                    best[r][s] = _mm256_blendv_ps(best[r][s], v, m);
                    bidx[r][s] = _mm256_castps_si256(_mm256_blendv_ps(
                        _mm256_castsi256_ps(bidx[r][s]),
                        _mm256_castsi256_ps(iv),
                        m,
                    ));
                }
            }
        }
        let mut o2 = [f32::NEG_INFINITY; R];
        for r in 0..R {
            let mut bv = [0.0f32; 16];
            let mut bj = [0u32; 16];
            let mut sv = [0.0f32; 16];
            for s in 0..2 {
                // SAFETY: each store writes 8 lanes at `8*s`, inside the 16.
                unsafe {
                    _mm256_storeu_ps(bv.as_mut_ptr().add(8 * s), best[r][s]);
                    _mm256_storeu_si256(bj.as_mut_ptr().add(8 * s).cast(), bidx[r][s]);
                    _mm256_storeu_ps(sv.as_mut_ptr().add(8 * s), sec[r][s]);
                }
            }
            let m = bv.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
            let j = bv
                .iter()
                .zip(&bj)
                .fold(u32::MAX, |a, (&v, &j)| if v == m { a.min(j) } else { a });
            out[r] = if j == u32::MAX { 0 } else { j };
            if TOP2 {
                let others = bv
                    .iter()
                    .zip(&bj)
                    .filter(|&(&v, &i)| !(v == m && i == j))
                    .fold(f32::NEG_INFINITY, |a, (&v, _)| a.max(v));
                o2[r] = sv.iter().fold(others, |a, &v| a.max(v));
            }
        }
        if let Some(o) = out2 {
            *o = o2;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::assign::{assign_naive, Centroids};
    use proptest::prelude::*;

    /// Both instruction sets, where the machine has them: the labels of the
    /// scalar oracle on an integer grid (exact arithmetic, so ties are real
    /// ties and must go to the lowest index).
    fn each_kernel(x: &[f32], d: usize, c: &Centroids) -> Vec<(&'static str, Vec<u32>)> {
        let n = x.len() / d;
        let (panels, halves) = c.fused_parts();
        let mut out = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                let mut l = vec![u32::MAX; n];
                run::<ROWS_512>(x, d, &mut l, None, |xb, o, _| {
                    // SAFETY: AVX-512F checked above; lengths as in `labels`.
                    unsafe { x86::block_512::<ROWS_512, false>(xb, d, panels, halves, o, None) }
                });
                out.push(("avx512", l));
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                let mut l = vec![u32::MAX; n];
                run::<ROWS_256>(x, d, &mut l, None, |xb, o, _| {
                    // SAFETY: AVX2 and FMA checked above; lengths as in `labels`.
                    unsafe { x86::block_256::<ROWS_256, false>(xb, d, panels, halves, o, None) }
                });
                out.push(("avx2", l));
            }
        }
        out
    }

    /// Both instruction sets with the runner-up values.
    fn each_kernel_top2(x: &[f32], d: usize, c: &Centroids) -> Vec<(&'static str, Vec<f32>)> {
        let n = x.len() / d;
        let (panels, halves) = c.fused_parts();
        let mut out = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            let mut l = vec![0u32; n];
            if std::arch::is_x86_feature_detected!("avx512f") {
                let mut sec = vec![f32::NAN; n];
                run::<ROWS_512_TOP2>(x, d, &mut l, Some(&mut sec), |xb, o, o2| {
                    // SAFETY: AVX-512F checked above; lengths as in `labels`.
                    unsafe { x86::block_512::<ROWS_512_TOP2, true>(xb, d, panels, halves, o, o2) }
                });
                out.push(("avx512", sec));
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                let mut sec = vec![f32::NAN; n];
                run::<ROWS_256_TOP2>(x, d, &mut l, Some(&mut sec), |xb, o, o2| {
                    // SAFETY: AVX2 and FMA checked above; lengths as in `labels`.
                    unsafe { x86::block_256::<ROWS_256_TOP2, true>(xb, d, panels, halves, o, o2) }
                });
                out.push(("avx2", sec));
            }
        }
        out
    }

    /// Cases for a low-precision path's test against the f32 kernel, for
    /// each (d, k): blobs (near the origin, or far from it), uniform rows
    /// (many near a boundary), exact ties on an integer grid, near-duplicate
    /// centroids, and rows at the centroids' mean or within 1e-35 of it;
    /// `d` odd and not a multiple of 4 or 16, `k` not a multiple of 16.
    /// Each case: name, (d, k), rows, centroids, and whether the path
    /// should decide most rows itself (else agreement would say little).
    #[allow(clippy::type_complexity)]
    pub(crate) fn low_precision_cases(
    ) -> Vec<(&'static str, (usize, usize), Vec<f32>, Vec<f32>, bool)> {
        let mut st = 0x2545F4914F6CDD1Du64;
        let mut u = move || {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            (st >> 40) as f32 / (1u64 << 24) as f32
        };
        let mut out = Vec::new();
        for (d, k, n, at) in [
            (32usize, 100usize, 3000usize, 0.0f32),
            (9, 7, 2000, 1000.0),
            (37, 20, 1500, 0.0),
            (65, 33, 1000, 0.0),
            (128, 256, 500, 1000.0),
        ] {
            let cent: Vec<f32> = (0..k * d).map(|_| at + 20.0 * u() - 10.0).collect();
            let blobs: Vec<f32> = (0..n)
                .flat_map(|i| {
                    let j = i % k;
                    cent[j * d..(j + 1) * d].to_vec()
                })
                .map(|c| c + (u() + u() + u() - 1.5))
                .collect();
            let uniform: Vec<f32> = (0..n * d).map(|_| at + 24.0 * u() - 12.0).collect();
            let grid: Vec<f32> = (0..n * d).map(|_| (u() * 4.0).floor()).collect();
            let grid_cent: Vec<f32> = grid[..k * d].to_vec();
            let mut near = cent.clone();
            for t in 0..d {
                near[d + t] = near[t] * (1.0 + 1e-6);
            }
            let mean: Vec<f32> = (0..d)
                .map(|t| (0..k).map(|j| cent[j * d + t] as f64).sum::<f64>() / k as f64)
                .map(|m| m as f32)
                .collect();
            let at_mean: Vec<f32> = (0..n)
                .flat_map(|i| {
                    mean.iter()
                        .map(move |&m| if i % 2 == 0 { m } else { m + 1e-35 })
                })
                .collect();
            // (far from the origin the f32 kernel's own rounding is wide,
            // and rows near it go back to that kernel)
            out.push(("blobs", (d, k), blobs.clone(), cent.clone(), at == 0.0));
            out.push(("uniform", (d, k), uniform, cent.clone(), false));
            out.push(("grid", (d, k), grid, grid_cent, false));
            out.push(("near-duplicates", (d, k), blobs, near, false));
            out.push(("at the mean", (d, k), at_mean, cent, false));
        }
        out
    }

    /// The bf16 path gives the f32 kernel's labels on every row of
    /// [`low_precision_cases`], and decides most rows of the blobs itself.
    #[test]
    fn bf16_labels_equal_the_f32_kernel() {
        if !(available() && bf16_available()) {
            eprintln!("skipped: no AVX-512 BF16 on this machine");
            return;
        }
        for (name, (d, k), x, c, decide) in low_precision_cases() {
            let n = x.len() / d;
            let c = Centroids::new(c, d);
            let (panels, halves) = c.fused_parts();
            let mut want = vec![0u32; n];
            labels(&x, d, panels, halves, &mut want, None);
            let mut got = vec![u32::MAX; n];
            let bf = Bf16Panels::new(c.data(), d);
            let redone = labels_bf16(
                &x,
                d,
                &bf,
                panels,
                halves,
                &mut got,
                &mut Bf16Scratch::default(),
            );
            let differ = (0..n).filter(|&i| got[i] != want[i]).count();
            assert_eq!(differ, 0, "{name}, d={d}, k={k}: rows with other labels");
            if decide {
                assert!(redone < n / 10, "{name}: {redone} of {n} rows redone");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The runner-up value is the second largest `x.c - |c|^2/2` over
        /// all centroids (ties included: equal to the best when two
        /// centroids tie), exact on an integer grid.
        #[test]
        fn runner_up_is_the_second_largest(d in 9usize..60, k in 1usize..70, n in 0usize..30,
                                           seed in any::<u64>()) {
            let mut s = seed | 1;
            let mut r = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; ((s % 7) as f32) - 3.0 };
            let c = Centroids::new((0..k * d).map(|_| r()).collect(), d);
            let x: Vec<f32> = (0..n * d).map(|_| r()).collect();
            let expect: Vec<f32> = x
                .chunks_exact(d)
                .map(|row| {
                    let mut v: Vec<f64> = (0..k)
                        .map(|j| {
                            let cj = c.row(j);
                            let dot: f64 = row.iter().zip(cj).map(|(&a, &b)| (a * b) as f64).sum();
                            let nn: f64 = cj.iter().map(|&b| (b * b) as f64).sum();
                            dot - nn / 2.0
                        })
                        .collect();
                    v.sort_by(|a, b| b.partial_cmp(a).unwrap());
                    v.get(1).map_or(f32::NEG_INFINITY, |&s| s as f32)
                })
                .collect();
            for (name, sec) in each_kernel_top2(&x, d, &c) {
                prop_assert_eq!(&sec, &expect, "{}", name);
            }
        }

        #[test]
        fn kernels_equal_the_oracle_on_a_grid(d in 9usize..80, k in 1usize..90, n in 0usize..40,
                                              seed in any::<u64>()) {
            let mut s = seed | 1;
            let mut r = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; ((s % 5) as f32) - 2.0 };
            let c = Centroids::new((0..k * d).map(|_| r()).collect(), d);
            let x: Vec<f32> = (0..n * d).map(|_| r()).collect();
            let (mut lo, mut dd) = (vec![0; n], vec![0.0; n]);
            assign_naive(&x, &c, &mut lo, &mut dd);
            for (name, l) in each_kernel(&x, d, &c) {
                prop_assert_eq!(&l, &lo, "{}", name);
            }
        }
    }

    #[test]
    fn kernels_agree_bit_for_bit_off_the_grid() {
        // random reals: the two instruction sets do the same operations on
        // every element, so even near-ties resolve the same way
        let (d, k, n) = (37, 75, 203);
        let mut s = 0x9e3779b97f4a7c15u64;
        let mut r = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let c = Centroids::new((0..k * d).map(|_| r()).collect(), d);
        let x: Vec<f32> = (0..n * d).map(|_| r()).collect();
        let all = each_kernel(&x, d, &c);
        for w in all.windows(2) {
            assert_eq!(w[0].1, w[1].1, "{} vs {}", w[0].0, w[1].0);
        }
    }
}
