//! Bounded assignment for repeated Lloyd passes (Hamerly, 2010).
//!
//! Each row carries its label and a lower bound `l` on its distance to every
//! *other* centroid. When the centroids move, `l` shrinks by the largest
//! move among the other centroids. A row keeps its label without looking at
//! the other centroids when its exact distance `u` to its own centroid is
//! below `max(l, s)`, where `s` is half the distance from that centroid to
//! its nearest neighbour. Only the other rows go through the full kernel,
//! which then also reports the runner-up, giving a fresh `l`.
//!
//! The result is the assignment plain Lloyd makes (the nearest centroid,
//! exact distances), except where two centroids are within rounding of each
//! other, as with the kernel itself. Every bound is rounded towards caution:
//! the margins below cover the f32 rounding of the kernel's dot products,
//! so a row is only skipped when its centroid is strictly the nearest. Each
//! row's outcome depends only on that row and the centroids, so results do
//! not depend on chunking or threads.

use crate::assign::{sq_dist_wide, Centroids};

/// f32 machine epsilon (twice the unit roundoff), the unit of the margins.
const EPS: f32 = f32::EPSILON;

/// Most centroids for which [`Moves`] works out their separations.
const SEPARATION_MAX_K: usize = 4096;

/// Whether bounded assignment runs for this dimension on this machine
/// (it needs the fused kernel's runner-up, `d > 8` with AVX2+FMA or
/// AVX-512).
pub fn supported(dim: usize) -> bool {
    dim > 8 && crate::fused::available()
}

/// How the centroids moved since the bounds were made, and how far apart
/// they are.
#[derive(Debug, Clone)]
pub struct Moves {
    /// Distance each centroid moved (rounded up); empty on a first pass.
    drift: Vec<f32>,
    /// The largest drift, its centroid, and the second largest.
    top: (f32, usize, f32),
    /// Half the distance from each centroid to its nearest other (rounded down).
    half_sep: Vec<f32>,
}

impl Moves {
    /// Moves from `old` (row-major, as `c`) to `c`; `old = None` for the
    /// first pass, when no row has bounds yet.
    pub fn new(old: Option<&[f32]>, c: &Centroids) -> Moves {
        let (k, d) = (c.k(), c.dim());
        let up = 1.0 + 4.0 * EPS as f64;
        let drift: Vec<f32> = match old {
            Some(o) => (0..k)
                .map(|j| {
                    let s: f64 = o[j * d..(j + 1) * d]
                        .iter()
                        .zip(c.row(j))
                        .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
                        .sum();
                    (s.sqrt() * up) as f32
                })
                .collect(),
            None => Vec::new(),
        };
        let mut top = (0.0f32, usize::MAX, 0.0f32);
        for (j, &v) in drift.iter().enumerate() {
            if v > top.0 {
                top = (v, j, top.0);
            } else if v > top.2 {
                top.2 = v;
            }
        }
        // The separations cost k^2 d / 2 per pass; past SEPARATION_MAX_K
        // centroids they are left out (0: only the lower bounds skip rows).
        if k > SEPARATION_MAX_K {
            return Moves {
                drift,
                top,
                half_sep: vec![0.0; k],
            };
        }
        let mut nearest = vec![f64::INFINITY; k];
        for a in 0..k {
            for b in a + 1..k {
                let s: f64 = c
                    .row(a)
                    .iter()
                    .zip(c.row(b))
                    .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
                    .sum();
                nearest[a] = nearest[a].min(s);
                nearest[b] = nearest[b].min(s);
            }
        }
        let down = 1.0 - 4.0 * EPS as f64;
        let half_sep = nearest
            .iter()
            .map(|&s| {
                if s.is_finite() {
                    (0.5 * s.sqrt() * down) as f32
                } else {
                    f32::INFINITY // k = 1
                }
            })
            .collect();
        Moves {
            drift,
            top,
            half_sep,
        }
    }

    /// The largest drift among centroids other than `a`.
    #[inline]
    fn other_drift(&self, a: usize) -> f32 {
        if a == self.top.1 {
            self.top.2
        } else {
            self.top.0
        }
    }
}

/// Scratch memory reused across calls.
#[derive(Debug, Default)]
pub struct BoundScratch {
    rows: Vec<u32>,
    x: Vec<f32>,
    labels: Vec<u32>,
    second: Vec<f32>,
    gap: Vec<f32>,
    i8: crate::int8::I8Scratch,
}

/// Assigns the rows of `x` to `c`, as [`crate::assign`] does, using and
/// renewing per-row bounds. `prev` holds the previous pass's labels and
/// lower bounds for the same rows (`None`: compute every row). Fills
/// `labels`, `dist2` (exact squared distances) and `lower` (the new
/// bounds). Returns how many rows went through the full kernel.
///
/// Must only be called when [`supported`] is true for `c.dim()`.
#[allow(clippy::too_many_arguments)]
pub fn assign_bounded(
    x: &[f32],
    c: &Centroids,
    moves: &Moves,
    prev: Option<(&[u32], &[f32])>,
    labels: &mut [u32],
    dist2: &mut [f32],
    lower: &mut [f32],
    s: &mut BoundScratch,
) -> usize {
    let d = c.dim();
    let n = x.len() / d;
    assert!(labels.len() >= n && dist2.len() >= n && lower.len() >= n);
    let grow = 1.0 + (d as f32 + 8.0) * EPS;
    let shrink = 1.0 - 4.0 * EPS;
    s.rows.clear();
    match prev {
        Some((pl, plow)) if !moves.drift.is_empty() => {
            assert!(pl.len() >= n && plow.len() >= n);
            for i in 0..n {
                let a = pl[i] as usize;
                let row = &x[i * d..(i + 1) * d];
                let u2 = sq_dist_wide(row, c.row(a));
                let l = (plow[i] - moves.other_drift(a)) * shrink;
                if u2.sqrt() * grow < l.max(moves.half_sep[a]) {
                    labels[i] = a as u32;
                    dist2[i] = u2;
                    lower[i] = l;
                } else {
                    s.rows.push(i as u32);
                }
            }
        }
        _ => s.rows.extend(0..n as u32),
    }
    let m = s.rows.len();
    if m == 0 {
        return 0;
    }
    // every row searched (a first pass): no need to gather them
    let xs: &[f32] = if m == n {
        &x[..n * d]
    } else {
        s.x.clear();
        for &i in &s.rows {
            let i = i as usize;
            s.x.extend_from_slice(&x[i * d..(i + 1) * d]);
        }
        &s.x
    };
    s.labels.resize(m, 0);
    s.second.resize(m, 0.0);
    s.gap.clear();
    s.gap.resize(m, f32::NAN);
    let (panels, halves) = c.fused_parts();
    match c.int8_parts() {
        // int8 first where the machine has it: a row it decides comes with
        // a lower bound on how much farther every other centroid is; the
        // others come with the f32 kernel's runner-up
        Some(q8) => {
            let runners = crate::int8::Runners {
                gap: &mut s.gap,
                second: &mut s.second,
            };
            crate::int8::labels_int8(
                xs,
                d,
                q8,
                panels,
                halves,
                &mut s.labels,
                Some(runners),
                &mut s.i8,
            );
        }
        None => crate::fused::labels(xs, d, panels, halves, &mut s.labels, Some(&mut s.second)),
    }
    let cmax = c.max_norm2();
    let margin = 4.0 * (d as f32 + 2.0) * EPS;
    for (t, &i) in s.rows.iter().enumerate() {
        let i = i as usize;
        let row = &xs[t * d..(t + 1) * d];
        let a = s.labels[t];
        labels[i] = a;
        dist2[i] = sq_dist_wide(row, c.row(a as usize));
        let xn: f32 = row.iter().map(|v| v * v).sum();
        let l2 = if s.gap[t].is_nan() {
            // |x - c_j|^2 = |x|^2 - 2 (x.c_j - |c_j|^2 / 2), less the rounding
            xn - 2.0 * s.second[t] - margin * (xn + cmax)
        } else {
            // the winner's distance plus the int8 gap, less the rounding
            // (twice: that of the centring too)
            dist2[i] + s.gap[t] - 2.0 * margin * (xn + cmax)
        };
        lower[i] = l2.max(0.0).sqrt() * shrink;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::assign_naive;
    use proptest::prelude::*;

    fn lcg(seed: u64) -> impl FnMut() -> f32 {
        let mut s = seed | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 20.0 - 10.0
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Through several moves of the centroids, the bounded assignment
        /// equals the oracle's (on an integer grid, where every distance is
        /// exact) and the bounds hold: every other centroid is at least
        /// `lower` away.
        #[test]
        fn bounded_passes_equal_the_oracle(d in 9usize..40, k in 1usize..50, n in 1usize..200,
                                           seed in any::<u64>()) {
            if !supported(d) {
                return Ok(());
            }
            let mut r = lcg(seed);
            let mut grid = || r().round();
            let x: Vec<f32> = (0..n * d).map(|_| grid()).collect();
            let mut cent: Vec<f32> = (0..k * d).map(|_| grid()).collect();
            let (mut labels, mut dist2, mut lower) = (vec![0; n], vec![0.0; n], vec![0.0; n]);
            let mut prev: Option<(Vec<u32>, Vec<f32>)> = None;
            let mut old: Option<Vec<f32>> = None;
            let mut scratch = BoundScratch::default();
            for pass in 0..5 {
                let c = Centroids::new(cent.clone(), d);
                let moves = Moves::new(old.as_deref(), &c);
                assign_bounded(&x, &c, &moves,
                               prev.as_ref().map(|(a, b)| (a.as_slice(), b.as_slice())),
                               &mut labels, &mut dist2, &mut lower, &mut scratch);
                let (mut lo, mut dd) = (vec![0; n], vec![0.0; n]);
                assign_naive(&x, &c, &mut lo, &mut dd);
                for i in 0..n {
                    let row = &x[i * d..(i + 1) * d];
                    prop_assert_eq!(dist2[i], dd[i], "pass {} row {}", pass, i);
                    prop_assert_eq!(labels[i], lo[i], "pass {} row {}", pass, i);
                    for j in 0..k {
                        if j != labels[i] as usize {
                            let dj = (sq_dist_wide(row, c.row(j)) as f64).sqrt();
                            prop_assert!(dj >= lower[i] as f64, "pass {} row {} j {}: {} < {}", pass, i, j, dj, lower[i]);
                        }
                    }
                }
                // move the centroids a little (some not at all), on the grid
                old = Some(cent.clone());
                for (t, v) in cent.iter_mut().enumerate() {
                    if (t / d + pass) % 3 == 0 {
                        *v += grid() / 5.0;
                        *v = v.round();
                    }
                }
                prev = Some((labels.clone(), lower.clone()));
            }
        }
    }

    /// Well-separated groups: after the first pass nearly every row keeps
    /// its label without the full kernel.
    #[test]
    fn separated_groups_skip_the_full_kernel() {
        let d = 16;
        if !supported(d) {
            return;
        }
        let k = 8;
        let mut r = lcg(7);
        let centres: Vec<f32> = (0..k * d).map(|_| r() * 10.0).collect();
        let n = 4000;
        let mut x = Vec::with_capacity(n * d);
        for i in 0..n {
            let j = i % k;
            for t in 0..d {
                x.push(centres[j * d + t] + r() * 0.1);
            }
        }
        let c0 = Centroids::new(centres.clone(), d);
        let (mut l, mut d2, mut lo) = (vec![0; n], vec![0.0; n], vec![0.0; n]);
        let mut s = BoundScratch::default();
        let full = assign_bounded(
            &x,
            &c0,
            &Moves::new(None, &c0),
            None,
            &mut l,
            &mut d2,
            &mut lo,
            &mut s,
        );
        assert_eq!(full, n);
        let moved: Vec<f32> = centres.iter().map(|v| v + 0.05).collect();
        let c1 = Centroids::new(moved, d);
        let (mut l1, mut d21, mut lo1) = (vec![0; n], vec![0.0; n], vec![0.0; n]);
        let full = assign_bounded(
            &x,
            &c1,
            &Moves::new(Some(&centres), &c1),
            Some((&l, &lo)),
            &mut l1,
            &mut d21,
            &mut lo1,
            &mut s,
        );
        assert_eq!(full, 0);
        assert_eq!(l1, l);
        assert!(l.iter().enumerate().all(|(i, &v)| v as usize == i % k));
    }
}
