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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::PANEL;
    use std::arch::x86_64::*;

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
mod tests {
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
