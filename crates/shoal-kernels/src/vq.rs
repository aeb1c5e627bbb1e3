//! scipy.cluster.vq's kernels in the array's own precision, by scipy's C
//! code's formulas: `vq` (below five features the nearest code by direct
//! differences, bit for bit as scipy; from five, as scipy's BLAS path, a
//! matrix product, equal to rounding; the first of equal distances) and
//! `update_cluster_means` (sums in row order, then one division, bit for
//! bit).
//! Also the condensed distances of the metrics `linkage` accepts.

use rayon::prelude::*;

/// f32 or f64 arithmetic.
pub trait VqFloat:
    crate::Real
    + crate::gemm::GemmFloat
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
{
    fn sqrt(self) -> Self;
    fn from_count(n: u64) -> Self;
}

impl VqFloat for f32 {
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    fn from_count(n: u64) -> f32 {
        n as f32
    }
}

impl VqFloat for f64 {
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    fn from_count(n: u64) -> f64 {
        n as f64
    }
}

/// Features from which scipy's `vq` (and so this one) computes distances
/// through a matrix product (`NFEATURES_CUTOFF` in scipy's `_vq.pyx`).
pub const GEMM_FEATURES: usize = 5;

/// The nearest code of every row of `obs` (`dim` columns) in `book`, and
/// the Euclidean distance to it. Below [`GEMM_FEATURES`] by direct
/// differences, as scipy; from it, as scipy's BLAS path:
/// `|x|^2 + |c|^2 - 2 x.c` (the product by GEMM), the first smallest, the
/// square root of it clamped at 0.
pub fn vq<T: VqFloat>(obs: &[T], dim: usize, book: &[T]) -> (Vec<i32>, Vec<T>) {
    if dim >= GEMM_FEATURES && !book.is_empty() {
        return vq_gemm(obs, dim, book);
    }
    let n = obs.len() / dim.max(1);
    let mut codes = vec![0i32; n];
    let mut dist = vec![T::ZERO; n];
    codes
        .par_chunks_mut(4096)
        .zip(dist.par_chunks_mut(4096))
        .enumerate()
        .for_each(|(b, (cs, ds))| {
            for (r, (c, d)) in cs.iter_mut().zip(ds.iter_mut()).enumerate() {
                let i = b * 4096 + r;
                let row = &obs[i * dim..(i + 1) * dim];
                let mut best = None::<T>;
                for (j, code) in book.chunks_exact(dim).enumerate() {
                    let mut s = T::ZERO;
                    for (&a, &q) in row.iter().zip(code) {
                        let t = a - q;
                        s = s + t * t;
                    }
                    if best.is_none_or(|b| s < b) {
                        best = Some(s);
                        *c = j as i32;
                    }
                }
                *d = best.unwrap_or(T::ZERO).sqrt();
            }
        });
    (codes, dist)
}

fn vq_gemm<T: VqFloat>(obs: &[T], dim: usize, book: &[T]) -> (Vec<i32>, Vec<T>) {
    const BLOCK: usize = 1024;
    let n = obs.len() / dim;
    let k = book.len() / dim;
    let sq = |r: &[T]| r.iter().fold(T::ZERO, |s, &v| s + v * v);
    let book_sq: Vec<T> = book.chunks_exact(dim).map(sq).collect();
    let mut codes = vec![0i32; n];
    let mut dist = vec![T::ZERO; n];
    let minus_two = T::ZERO - (T::from_count(2));
    codes
        .par_chunks_mut(BLOCK)
        .zip(dist.par_chunks_mut(BLOCK))
        .enumerate()
        .for_each(|(b, (cs, ds))| {
            let rows = cs.len();
            let x = &obs[b * BLOCK * dim..(b * BLOCK + rows) * dim];
            let mut m = vec![T::ZERO; rows * k];
            crate::gemm::x_ct_scaled(x, rows, dim, book, k, &mut m, minus_two);
            for (r, (c, d)) in cs.iter_mut().zip(ds.iter_mut()).enumerate() {
                let xs = sq(&x[r * dim..(r + 1) * dim]);
                let mut low = None::<T>;
                for (j, (&mij, &cj)) in m[r * k..(r + 1) * k].iter().zip(&book_sq).enumerate() {
                    let s = mij + xs + cj;
                    if low.is_none_or(|l| s < l) {
                        low = Some(s);
                        *c = j as i32;
                    }
                }
                let l = low.unwrap_or(T::ZERO);
                *d = if l > T::ZERO { l.sqrt() } else { T::ZERO };
            }
        });
    (codes, dist)
}

/// The mean of the rows of each code `0..k` (`labels[i]` is row i's) and
/// whether the code has any row; a code without rows gets zeros.
pub fn update_cluster_means<T: VqFloat>(
    obs: &[T],
    dim: usize,
    labels: &[i32],
    k: usize,
) -> (Vec<T>, Vec<bool>) {
    let mut sums = vec![T::ZERO; k * dim];
    let mut counts = vec![0u64; k];
    for (row, &l) in obs.chunks_exact(dim).zip(labels) {
        let l = l as usize;
        counts[l] += 1;
        for (s, &v) in sums[l * dim..(l + 1) * dim].iter_mut().zip(row) {
            *s = *s + v;
        }
    }
    for (l, &c) in counts.iter().enumerate() {
        if c > 0 {
            let c = T::from_count(c);
            for s in &mut sums[l * dim..(l + 1) * dim] {
                *s = *s / c;
            }
        }
    }
    (sums, counts.iter().map(|&c| c > 0).collect())
}

/// A metric of condensed distances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    Euclidean,
    SqEuclidean,
    Cityblock,
    Chebyshev,
    Cosine,
    Minkowski(f64),
}

impl Metric {
    /// scipy's name (`minkowski` takes `p`).
    pub fn parse(name: &str, p: f64) -> Option<Metric> {
        Some(match name {
            "euclidean" => Metric::Euclidean,
            "sqeuclidean" => Metric::SqEuclidean,
            "cityblock" => Metric::Cityblock,
            "chebyshev" => Metric::Chebyshev,
            "cosine" => Metric::Cosine,
            "minkowski" => Metric::Minkowski(p),
            _ => return None,
        })
    }

    fn between(self, a: &[f64], b: &[f64]) -> f64 {
        match self {
            Metric::Euclidean => a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt(),
            Metric::SqEuclidean => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
            Metric::Cityblock => a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum(),
            Metric::Chebyshev => a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max),
            Metric::Cosine => {
                let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
                for (x, y) in a.iter().zip(b) {
                    ab += x * y;
                    aa += x * x;
                    bb += y * y;
                }
                // scipy: 1 - uv / sqrt(uu vv), clipped to [0, 2]
                (1.0 - ab / (aa * bb).sqrt()).clamp(0.0, 2.0)
            }
            Metric::Minkowski(p) => a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs().powf(p))
                .sum::<f64>()
                .powf(1.0 / p),
        }
    }
}

/// The condensed distances (scipy's `pdist` order) of the rows of `x`.
pub fn pdist_metric(x: &[f64], dim: usize, metric: Metric) -> Vec<f64> {
    let n = x.len() / dim.max(1);
    let mut out = vec![0.0; n * n.saturating_sub(1) / 2];
    // row i's distances start at i*n - i*(i+1)/2
    let mut rows: Vec<&mut [f64]> = Vec::with_capacity(n);
    let mut rest = out.as_mut_slice();
    for i in 0..n {
        let (head, tail) = rest.split_at_mut(n - i - 1);
        rows.push(head);
        rest = tail;
    }
    rows.into_par_iter().enumerate().for_each(|(i, r)| {
        let a = &x[i * dim..(i + 1) * dim];
        for (j, v) in r.iter_mut().enumerate() {
            let b = &x[(i + 1 + j) * dim..(i + 2 + j) * dim];
            *v = metric.between(a, b);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vq_takes_the_first_nearest_and_means_skip_empty_codes() {
        let obs = [0.0f64, 0.0, 1.0, 0.0, 10.0, 10.0];
        // (0.5, 0) is equally near rows 0 and 1's codes: first wins
        let book = [0.5, 0.0, 0.5, 0.0, 9.0, 9.0];
        let (c, d) = vq(&obs, 2, &book);
        assert_eq!(c, vec![0, 0, 2]);
        assert_eq!(d, vec![0.5, 0.5, 2f64.sqrt()]);
        let (m, has) = update_cluster_means(&obs, 2, &c, 3);
        assert_eq!(has, vec![true, false, true]);
        assert_eq!(m, vec![0.5, 0.0, 0.0, 0.0, 10.0, 10.0]);
        let y = pdist_metric(&[0.0, 0.0, 3.0, 4.0, 6.0, 8.0], 2, Metric::Cityblock);
        assert_eq!(y, vec![7.0, 14.0, 7.0]);
        let y = pdist_metric(&[1.0, 0.0, 0.0, 1.0], 2, Metric::Cosine);
        assert_eq!(y, vec![1.0]);
    }

    #[test]
    fn the_gemm_path_agrees_with_direct_differences() {
        // 6 features: scipy's matrix-product path
        let d = 6;
        let obs: Vec<f64> = (0..300).map(|i| ((i * 37) % 101) as f64 / 7.0).collect();
        let book: Vec<f64> = obs[..4 * d].to_vec();
        let (c, dist) = vq(&obs, d, &book);
        for (i, row) in obs.chunks_exact(d).enumerate() {
            let all: Vec<f64> = book
                .chunks_exact(d)
                .map(|q| {
                    row.iter()
                        .zip(q)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        .sqrt()
                })
                .collect();
            let best = all.iter().cloned().fold(f64::INFINITY, f64::min);
            assert!((all[c[i] as usize] - best).abs() < 1e-9, "row {i}");
            assert!(
                (dist[i] - best).abs() < 1e-6,
                "row {i}: {} vs {best}",
                dist[i]
            );
        }
        // a row equal to a code: distance 0 (clamped), not NaN
        assert_eq!(dist[0], 0.0);
    }
}
