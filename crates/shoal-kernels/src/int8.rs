//! The nearest centroid for `d > 8` from 8-bit integer dot products, where
//! the CPU has AVX-512 VNNI: `VPDPBUSD` multiplies 64 byte pairs an
//! instruction, where the bf16 instruction takes 32 pairs and an f32 FMA 16.
//!
//! Rows and centroids are centred on the centroids' mean (as for bf16) and
//! quantised: a centroid value is `s_c q` (one scale for the codebook), a
//! row value `s_x q` (one scale a row), `|q| <= 127`. A row's score for
//! centroid `c` is `s_x s_c sum(q_x q_c) - ||c'||^2 / 2`; the integer sum is
//! exact, and the score is off the exact `x'.c' - ||c'||^2 / 2` by at most
//! a bound computed for the row (below). A row whose best score beats every
//! other by more than twice that bound plus twice the f32 kernel's own bound
//! has the same winner in exact arithmetic and in the f32 kernel, and takes
//! it; the other rows go through the f32 kernel. So the labels are those of
//! the f32 kernel on every row.
//!
//! The bound: with `x' = s_x q_x + e_x` and `c' = s_c q_c + e_c`,
//! `|e_x| <= eta_x = s_x (1/2 + 2^-16)` and `|e_c| <= eta_c` likewise,
//! `x'.c' - s_x s_c q_x.q_c = s_x q_x.e_c + e_x.c'`, so the error is at most
//! `eta_c (||x'||_1 + d eta_x) + eta_x max ||c'||_1`, plus the f32
//! roundings of the scale product, the conversion and the final FMA (a few
//! units in the last place of the score's terms).

#![allow(unsafe_code)]

use crate::fused::{Centred, PANEL};

/// Rows per block: 6 rows x 2 panels of integer sums in registers (12 rows
/// spilled sums to the stack and ran slower).
const ROWS_I8: usize = 6;

/// Most dimensions: the integer sums (at most `d * 127 * 127`) must convert
/// to f32 exactly (below 2^24).
pub(crate) const MAX_DIM: usize = 1024;

/// Whether this machine runs the int8 kernel.
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512vnni")
            && std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A codebook's int8 copy for [`labels_int8`], centred ([`Centred`]).
#[derive(Debug, Clone)]
pub(crate) struct I8Panels {
    cb: Centred,
    /// `np x quads x PANEL`: dimensions `4g .. 4g + 4` of a quantised
    /// centred centroid as four i8 in one u32, `4g` in the low byte; zero
    /// padding.
    quads: Vec<u32>,
    /// `-128 x` the sum of each centroid's quantised values, by panel: the
    /// integer sums start there, so that with rows stored as `q + 128`
    /// (unsigned bytes) they end at `sum(q_x q_c)`.
    init: Vec<i32>,
    /// The codebook's scale `s_c`, and `s_c (1/2 + 2^-16)` (rounded up).
    scale: f32,
    eta_c: f32,
}

impl I8Panels {
    /// `data` is row-major `k x dim`, finite, `9 <= dim <= MAX_DIM`.
    pub(crate) fn new(data: &[f32], dim: usize) -> Self {
        assert!(dim <= MAX_DIM);
        let cb = Centred::new(data, dim);
        let amax = cb.values.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
        let scale = ((amax as f64 / 127.0) * (1.0 + 1e-7)) as f32;
        let inv = if scale > 0.0 { 1.0 / scale as f64 } else { 0.0 };
        let dq = dim.div_ceil(4);
        let np = cb.halves.len() / PANEL;
        let mut quads = vec![0u32; np * dq * PANEL];
        let mut init = vec![0i32; np * PANEL];
        for (j, cc) in cb.values.chunks_exact(dim).enumerate() {
            let (p, l) = (j / PANEL, j % PANEL);
            let mut sum = 0i32;
            for (t, &v) in cc.iter().enumerate() {
                let q = (v as f64 * inv).round().clamp(-127.0, 127.0) as i32;
                sum += q;
                let w = &mut quads[(p * dq + t / 4) * PANEL + l];
                *w |= ((q as i8) as u8 as u32) << (8 * (t % 4));
            }
            init[j] = -128 * sum;
        }
        I8Panels {
            cb,
            quads,
            init,
            scale,
            eta_c: (scale as f64 * (0.5 + 1.0 / 65536.0) * (1.0 + 1e-6)) as f32,
        }
    }
}

/// Per-thread buffers of [`labels_int8`].
#[derive(Debug, Default)]
pub(crate) struct I8Scratch {
    rows: Vec<u32>,
    /// Per row: `s_x`, `||x'||_1`, then the score scale and the slack.
    sx: Vec<f32>,
    l1: Vec<f32>,
    a: Vec<f32>,
    slack: Vec<f32>,
    /// Per row: the int8 bound on a score (`e_q` and the roundings), and
    /// the best score less the runner-up's.
    err: Vec<f32>,
    gap: Vec<f32>,
    redo: crate::fused::RedoScratch,
}

/// For a bounded pass ([`crate::bounds`]): per row, what bounds the
/// distance to every centroid but the winner.
pub(crate) struct Runners<'a> {
    /// For a row the int8 kernel decided: a lower bound on
    /// `|x - c_j|^2 - |x - c_label|^2` over every other `j` (twice the
    /// score gap less four times the score bound); NaN for the others.
    pub gap: &'a mut [f32],
    /// For a row that went through the f32 kernel: its runner-up value
    /// (as [`crate::fused::labels`] gives it).
    pub second: &'a mut [f32],
}

/// The labels [`crate::fused::labels`] gives (no runner-up), through the
/// int8 kernel where a row's winner is clear (see the module's
/// documentation). Must only be called when [`available`] is true. Returns
/// how many rows went through the f32 kernel.
#[allow(clippy::too_many_arguments)]
pub(crate) fn labels_int8(
    x: &[f32],
    d: usize,
    q8: &I8Panels,
    panels: &[f32],
    halves: &[f32],
    labels_out: &mut [u32],
    mut runners: Option<Runners<'_>>,
    s: &mut I8Scratch,
) -> usize {
    let n = x.len() / d;
    if n == 0 {
        return 0;
    }
    if let Some(r) = &runners {
        assert!(r.gap.len() >= n && r.second.len() >= n);
    }
    assert!(available() && d <= MAX_DIM && q8.cb.mean.len() == d && labels_out.len() >= n);
    let dq = d.div_ceil(4);
    let np = q8.cb.halves.len() / PANEL;
    assert!(q8.quads.len() == np * dq * PANEL && q8.init.len() == np * PANEL);
    s.rows.clear();
    s.rows.resize(n * dq, 0);
    for v in [
        &mut s.sx,
        &mut s.l1,
        &mut s.a,
        &mut s.slack,
        &mut s.err,
        &mut s.gap,
    ] {
        v.clear();
        v.resize(n, 0.0);
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F/BW/VL and VNNI are present (asserted on entry);
    // the lengths are as the function requires.
    unsafe {
        x86::rows_to_i8(x, d, &q8.cb.mean, &mut s.rows, &mut s.sx, &mut s.l1)
    };
    // Per row: the score scale and the slack (twice the int8 bound plus
    // twice the f32 kernel's, as for bf16).
    let u = f32::EPSILON / 2.0; // 2^-24
    let e_acc = (d as f32 + 2.0) * f32::EPSILON;
    let e_f32 = e_acc / 2.0; // (d + 2) 2^-24
    for i in 0..n {
        let (sx, l1) = (s.sx[i], s.l1[i] * (1.0 + e_acc));
        s.a[i] = sx * q8.scale;
        let eta_x = sx * (0.5 + 1.0 / 65536.0);
        let e_q = q8.eta_c * (l1 + d as f32 * eta_x) + eta_x * q8.cb.l1_max;
        // the scale product, the conversion and the FMA: a few units in
        // the last place of the terms (||x'|| <= ||x'||_1)
        let e_round = 8.0 * u * (l1 * q8.cb.c_max + e_q + q8.cb.h_max);
        let xu = l1 + q8.cb.m_norm;
        let f32_err = e_f32 * (xu * q8.cb.cu_max + 2.0 * q8.cb.hu_max);
        let tiny = d as f32 * f32::MIN_POSITIVE * (1.0 + l1 + q8.cb.c_max);
        s.err[i] = (e_q + e_round + tiny) * (1.0 + 1e-5);
        s.slack[i] = 2.0 * ((e_q + e_round + f32_err + tiny) * (1.0 + 1e-5));
    }
    #[cfg(target_arch = "x86_64")]
    {
        let full = n / ROWS_I8 * ROWS_I8;
        let blk = |xr: &[u32], a: &[f32], sl: &[f32], l: &mut [u32], g: &mut [f32]| {
            let (a, sl, l, g) = (
                a.try_into().expect("R values"),
                sl.try_into().expect("R values"),
                l.try_into().expect("R labels"),
                g.try_into().expect("R values"),
            );
            // SAFETY: AVX-512F/BW, VNNI and POPCNT are present (asserted on
            // entry); `xr` holds ROWS_I8 rows of `dq` words and the panel
            // slices have the lengths asserted on entry.
            unsafe {
                x86::block_i8::<ROWS_I8>(xr, dq, &q8.quads, &q8.init, &q8.cb.halves, a, sl, l, g)
            }
        };
        for ((((xr, a), sl), l), g) in s.rows[..full * dq]
            .chunks_exact(ROWS_I8 * dq)
            .zip(s.a[..full].chunks_exact(ROWS_I8))
            .zip(s.slack[..full].chunks_exact(ROWS_I8))
            .zip(labels_out[..full].chunks_exact_mut(ROWS_I8))
            .zip(s.gap[..full].chunks_exact_mut(ROWS_I8))
        {
            blk(xr, a, sl, l, g);
        }
        if full < n {
            let m = n - full;
            let mut pad = vec![0x8080_8080u32; ROWS_I8 * dq];
            pad[..m * dq].copy_from_slice(&s.rows[full * dq..]);
            let (mut a, mut sl, mut g) = ([0.0f32; ROWS_I8], [0.0f32; ROWS_I8], [0.0; ROWS_I8]);
            a[..m].copy_from_slice(&s.a[full..n]);
            sl[..m].copy_from_slice(&s.slack[full..n]);
            let mut l = [0u32; ROWS_I8];
            blk(&pad, &a, &sl, &mut l, &mut g);
            labels_out[full..n].copy_from_slice(&l[..m]);
            s.gap[full..n].copy_from_slice(&g[..m]);
        }
        if let Some(r) = runners.as_mut() {
            // (each score is within `err` of the exact one, so every other
            // centroid's exact squared distance exceeds the winner's by at
            // least twice the gap less four times `err`)
            for (((o, &l), &g), &e) in r
                .gap
                .iter_mut()
                .zip(&labels_out[..n])
                .zip(&s.gap)
                .zip(&s.err)
            {
                *o = if l == u32::MAX {
                    f32::NAN
                } else {
                    2.0 * g - 4.0 * e
                };
            }
        }
    }
    // Rows without a clear winner: the f32 kernel.
    let second = runners.map(|r| r.second);
    crate::fused::redo_unclear(x, d, panels, halves, labels_out, second, &mut s.redo)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::PANEL;
    use crate::fused::x86::{decide, mask16, take};
    use std::arch::x86_64::*;

    /// Rows per phase of [`rows_to_i8`]: 64 rows of `d = 32` are 8 KiB,
    /// still in L1 when the second phase reads them again.
    const QUANT_ROWS: usize = 64;

    /// Each row of `x` (`d` wide) less `mean`, quantised: `s_x` is the
    /// row's largest magnitude over 126.5, each value `q = round(v / s_x)`
    /// (`|q| <= 127`), stored as the byte `q + 128`, four to a u32 (`out`
    /// is `n x ceil(d / 4)`, padding `q = 0`); `sx` and `l1` get `s_x` and
    /// the row's `||x - mean||_1`.
    ///
    /// Two phases over each block of [`QUANT_ROWS`] rows: the scales
    /// first, then the quantisation. A row's scale ends in two horizontal
    /// reductions and two divisions; with the rows of a block independent
    /// of each other in the first phase, those latencies overlap instead
    /// of holding up each row's quantisation.
    ///
    /// # Safety
    /// AVX-512F, AVX-512BW and AVX-512VL must be available;
    /// `x.len() == n * d`, `mean.len() == d`,
    /// `out.len() == n * ceil(d / 4)`, `sx` and `l1` `n` long.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub(super) unsafe fn rows_to_i8(
        x: &[f32],
        d: usize,
        mean: &[f32],
        out: &mut [u32],
        sx: &mut [f32],
        l1: &mut [f32],
    ) {
        let n = x.len() / d;
        let dq = d.div_ceil(4);
        assert!(x.len() == n * d && mean.len() == d && out.len() == n * dq);
        assert!(sx.len() == n && l1.len() == n);
        let abs = _mm512_set1_epi32(0x7fff_ffff);
        let bias = _mm512_set1_epi32(128);
        let mp = mean.as_ptr();
        let mut inv = [0.0f32; QUANT_ROWS];
        for (((xb, ob), sb), lb) in x
            .chunks(QUANT_ROWS * d)
            .zip(out.chunks_mut(QUANT_ROWS * dq))
            .zip(sx.chunks_mut(QUANT_ROWS))
            .zip(l1.chunks_mut(QUANT_ROWS))
        {
            for (((row, s), l), iv) in xb
                .chunks_exact(d)
                .zip(sb.iter_mut())
                .zip(lb.iter_mut())
                .zip(inv.iter_mut())
            {
                // the rows 4 KiB ahead
                for line in (0..d).step_by(16) {
                    crate::fused::prefetch(
                        row.as_ptr()
                            .wrapping_add(crate::fused::PREFETCH_AHEAD + line),
                    );
                }
                let rp = row.as_ptr();
                let (mut mx, mut sum) = (_mm512_setzero_ps(), _mm512_setzero_ps());
                let mut t = 0;
                while t < d {
                    let m = mask16(d - t);
                    // SAFETY: the mask covers values `t .. min(t + 16, d)`
                    // of the row and of `mean` only (masked-off lanes are
                    // neither read nor faulted on).
                    let v = unsafe {
                        _mm512_sub_ps(
                            _mm512_maskz_loadu_ps(m, rp.add(t)),
                            _mm512_maskz_loadu_ps(m, mp.add(t)),
                        )
                    };
                    let a = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), abs));
                    mx = _mm512_max_ps(mx, a);
                    sum = _mm512_add_ps(sum, a);
                    t += 16;
                }
                let amax = _mm512_reduce_max_ps(mx);
                *l = _mm512_reduce_add_ps(sum);
                // (|v / s_x| <= 126.5 (1 + 2^-22) rounds to at most 127; a
                // row all but at the mean takes q = 0 and s_x = 2 amax,
                // which keeps |v - s_x q| <= s_x / 2 without an infinite
                // 1 / s_x)
                (*s, *iv) = if amax >= 1e-30 {
                    let sc = amax / 126.5;
                    (sc, 1.0 / sc)
                } else {
                    (2.0 * amax, 0.0)
                };
            }
            for ((row, o), &iv) in xb.chunks_exact(d).zip(ob.chunks_exact_mut(dq)).zip(&inv) {
                let rp = row.as_ptr();
                let op = o.as_mut_ptr();
                let iv = _mm512_set1_ps(iv);
                let mut t = 0;
                while t < d {
                    let m = mask16(d - t);
                    let words = (d - t).min(16).div_ceil(4);
                    // SAFETY: the loads as above; the store covers words
                    // `t / 4 .. t / 4 + words` of `o` (`t / 4 + words <=
                    // dq`), masked to those.
                    unsafe {
                        let v = _mm512_sub_ps(
                            _mm512_maskz_loadu_ps(m, rp.add(t)),
                            _mm512_maskz_loadu_ps(m, mp.add(t)),
                        );
                        // round to nearest (the default rounding mode)
                        let q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v, iv)), bias);
                        _mm_mask_storeu_epi32(
                            op.add(t / 4).cast(),
                            ((1u32 << words) - 1) as __mmask8,
                            _mm512_cvtepi32_epi8(q),
                        );
                    }
                    t += 16;
                }
            }
        }
    }

    /// One block of `R` rows (quantised: `xr` is `R x dq` words of four
    /// unsigned bytes) against every int8 panel (`quads` is
    /// `np x dq x PANEL`, `init` and `halves` `np x PANEL`), panels in
    /// pairs. The integer sums start at `init` and end at `sum(q_x q_c)`;
    /// a row's score is `a[r]` times that plus the half norm. Each lane
    /// keeps its best score, runner-up and panel; a row's label is its best
    /// score's centroid when no other score is within `slack[r]` of it,
    /// else `u32::MAX`; `gap[r]` gets the best score less the runner-up's
    /// (for a labelled row).
    ///
    /// # Safety
    /// AVX-512F, AVX-512 VNNI and POPCNT must be available;
    /// `xr.len() == R * dq`, `quads.len() == np * dq * PANEL`,
    /// `init.len() == halves.len() == np * PANEL`.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512vnni,popcnt")]
    pub(super) unsafe fn block_i8<const R: usize>(
        xr: &[u32],
        dq: usize,
        quads: &[u32],
        init: &[i32],
        halves: &[f32],
        a: &[f32; R],
        slack: &[f32; R],
        out: &mut [u32; R],
        gap: &mut [f32; R],
    ) {
        let np = halves.len() / PANEL;
        assert!(xr.len() == R * dq && quads.len() == np * dq * PANEL && init.len() == np * PANEL);
        let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
        let mut m1 = [ninf; R];
        let mut m2 = [ninf; R];
        let mut ix = [_mm512_setzero_si512(); R];
        let score = |acc: __m512i, a: f32, h: __m512| {
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(a), h)
        };
        let mut q = 0;
        while q < np {
            let w = if q + 1 < np { 2 } else { 1 };
            // SAFETY (pointer arithmetic below): panels `q .. q + w`, their
            // starts and halves lie inside `quads`, `init` and `halves`;
            // row reads are `xr[r * dq + t]` (bounds-checked).
            let cp = unsafe { quads.as_ptr().add(q * dq * PANEL) };
            let (i0, h0) = unsafe {
                (
                    _mm512_loadu_si512(init.as_ptr().add(q * PANEL).cast()),
                    _mm512_loadu_ps(halves.as_ptr().add(q * PANEL)),
                )
            };
            if w == 2 {
                let (i1, h1) = unsafe {
                    (
                        _mm512_loadu_si512(init.as_ptr().add((q + 1) * PANEL).cast()),
                        _mm512_loadu_ps(halves.as_ptr().add((q + 1) * PANEL)),
                    )
                };
                let mut acc = [[i0, i1]; R];
                for t in 0..dq {
                    let (c0, c1) = unsafe {
                        (
                            _mm512_loadu_si512(cp.add(t * PANEL).cast()),
                            _mm512_loadu_si512(cp.add((dq + t) * PANEL).cast()),
                        )
                    };
                    for (r, s) in acc.iter_mut().enumerate() {
                        let xs = _mm512_set1_epi32(xr[r * dq + t] as i32);
                        s[0] = _mm512_dpbusd_epi32(s[0], xs, c0);
                        s[1] = _mm512_dpbusd_epi32(s[1], xs, c1);
                    }
                }
                for (r, s) in acc.iter().enumerate() {
                    take(&mut m1[r], &mut m2[r], &mut ix[r], score(s[0], a[r], h0), q);
                    take(
                        &mut m1[r],
                        &mut m2[r],
                        &mut ix[r],
                        score(s[1], a[r], h1),
                        q + 1,
                    );
                }
            } else {
                let mut acc = [i0; R];
                for t in 0..dq {
                    let c0 = unsafe { _mm512_loadu_si512(cp.add(t * PANEL).cast()) };
                    for (r, s) in acc.iter_mut().enumerate() {
                        let xs = _mm512_set1_epi32(xr[r * dq + t] as i32);
                        *s = _mm512_dpbusd_epi32(*s, xs, c0);
                    }
                }
                for (r, s) in acc.iter().enumerate() {
                    take(&mut m1[r], &mut m2[r], &mut ix[r], score(*s, a[r], h0), q);
                }
            }
            q += w;
        }
        for r in 0..R {
            (out[r], gap[r]) = decide(m1[r], m2[r], ix[r], slack[r]).unwrap_or((u32::MAX, 0.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::Centroids;

    /// A row built so that every rounding to int8 errs the same way: the
    /// centroids are `A = (1, .., 1)` and `B = -A` (mean 0, `A` quantises
    /// exactly), the row's largest value 126.5 sets `s_x = 1`, and the
    /// others sit 0.49 above an integer. Then `x.A = +0.85` (A wins) while
    /// the integer sum says -7 (B by 14 in the scores). The worst-case
    /// bound (about 9 a score) must send the row back to the f32 kernel; a
    /// bound a third as wide would let B win.
    #[test]
    fn rounding_that_errs_one_way_is_caught() {
        if !(crate::fused::available() && available()) {
            eprintln!("skipped: no AVX-512 VNNI on this machine");
            return;
        }
        let d = 16;
        let mut cent = vec![1.0f32; d];
        cent.extend(vec![-1.0f32; d]);
        let mut q = vec![-9.0f32; d];
        q[0] = 126.0;
        q[1] = -8.0;
        q[2] = -8.0;
        assert_eq!(q.iter().sum::<f32>(), -7.0);
        let row: Vec<f32> = q
            .iter()
            .enumerate()
            .map(|(i, &v)| if i == 0 { 126.5 } else { v + 0.49 })
            .collect();
        let neg: Vec<f32> = row.iter().map(|v| -v).collect();
        let x: Vec<f32> = [row, neg].concat();
        let c = Centroids::new(cent, d);
        let (panels, halves) = c.fused_parts();
        let mut want = vec![9u32; 2];
        crate::fused::labels(&x, d, panels, halves, &mut want, None);
        assert_eq!(want, [0, 1], "the f32 kernel");
        let mut got = vec![9u32; 2];
        let q8 = I8Panels::new(c.data(), d);
        labels_int8(
            &x,
            d,
            &q8,
            panels,
            halves,
            &mut got,
            None,
            &mut I8Scratch::default(),
        );
        assert_eq!(got, [0, 1]);
    }

    /// The int8 path gives the f32 kernel's labels on every row of
    /// [`crate::fused::tests::low_precision_cases`], and decides most rows
    /// of the blobs itself.
    #[test]
    fn int8_labels_equal_the_f32_kernel() {
        if !(crate::fused::available() && available()) {
            eprintln!("skipped: no AVX-512 VNNI on this machine");
            return;
        }
        for (name, (d, k), x, c, decide) in crate::fused::tests::low_precision_cases() {
            let n = x.len() / d;
            let c = Centroids::new(c, d);
            let (panels, halves) = c.fused_parts();
            let mut want = vec![0u32; n];
            crate::fused::labels(&x, d, panels, halves, &mut want, None);
            let mut got = vec![u32::MAX; n];
            let q8 = I8Panels::new(c.data(), d);
            let mut s = I8Scratch::default();
            let redone = labels_int8(&x, d, &q8, panels, halves, &mut got, None, &mut s);
            let differ = (0..n).filter(|&i| got[i] != want[i]).count();
            assert_eq!(differ, 0, "{name}, d={d}, k={k}: rows with other labels");
            if decide {
                assert!(redone < n / 10, "{name}: {redone} of {n} rows redone");
            }
        }
    }
}
