//! Internal quality scores of a labelling, with scikit-learn's definitions:
//! silhouette (exact, on a sample, and the simplified centroid form),
//! Davies–Bouldin and Calinski–Harabasz. Distances are Euclidean, in f64
//! (inputs of any float type are widened). Every label value (including -1 for noise) is a
//! cluster of its own, as in scikit-learn.

use rayon::prelude::*;

/// Why a score cannot be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum QualityError {
    /// scikit-learn's rule: 2 <= number of labels <= n - 1.
    LabelCount { labels: usize, n: usize },
}

impl std::fmt::Display for QualityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QualityError::LabelCount { labels, n } => write!(
                f,
                "the labelling has {labels} distinct labels for {n} points; silhouette, \
                 Davies-Bouldin and Calinski-Harabasz need between 2 and n-1"
            ),
        }
    }
}

impl std::error::Error for QualityError {}

/// Labels renumbered 0..k-1 in order of first appearance, with k.
pub fn dense_labels(labels: &[i64]) -> (Vec<u32>, usize) {
    let mut map = std::collections::HashMap::new();
    let out = labels
        .iter()
        .map(|l| {
            let next = map.len() as u32;
            *map.entry(*l).or_insert(next)
        })
        .collect();
    (out, map.len())
}

fn check(k: usize, n: usize) -> Result<(), QualityError> {
    if k < 2 || k + 1 > n {
        return Err(QualityError::LabelCount { labels: k, n });
    }
    Ok(())
}

#[inline]
fn dist(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0f64;
    for (x, y) in a.iter().zip(b) {
        let t = x - y;
        s += t * t;
    }
    s.sqrt()
}

#[inline]
fn dist64<T: Copy + Into<f64>>(a: &[T], b: &[f64]) -> f64 {
    let mut s = 0f64;
    for (&x, y) in a.iter().zip(b) {
        let t = x.into() - y;
        s += t * t;
    }
    s.sqrt()
}

/// Sum of distances from `p` to every row of `block` (rows of `dim`),
/// vectorised across 8 rows at a time for small `dim`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn dist_sum(p: &[f64], block: &[f64], dim: usize) -> f64 {
    const L: usize = 8;
    let n = block.len() / dim;
    let mut acc = [0f64; L];
    let mut i = 0;
    while i + L <= n {
        let mut s = [0f64; L];
        for (k, &pk) in p.iter().enumerate() {
            for l in 0..L {
                let t = block[(i + l) * dim + k] - pk;
                s[l] += t * t;
            }
        }
        for l in 0..L {
            acc[l] += s[l].sqrt();
        }
        i += L;
    }
    let mut total: f64 = acc.iter().sum();
    while i < n {
        total += dist(p, &block[i * dim..(i + 1) * dim]);
        i += 1;
    }
    total
}

/// The silhouette of every point (scikit-learn's `silhouette_samples`):
/// `(b - a) / max(a, b)` with `a` the mean distance to the rest of its
/// cluster and `b` the smallest mean distance to another cluster; 0 for a
/// point alone in its cluster. O(n²·d) time, O(n) memory, parallel.
pub fn silhouette_samples<T: Copy + Into<f64> + Sync>(
    data: &[T],
    dim: usize,
    labels: &[i64],
) -> Result<Vec<f64>, QualityError> {
    let n = data.len() / dim;
    assert_eq!(labels.len(), n);
    let (lab, k) = dense_labels(labels);
    check(k, n)?;
    // Points grouped by cluster, so each cluster is one contiguous block.
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by_key(|&i| lab[i as usize]);
    let mut sorted: Vec<f64> = Vec::with_capacity(n * dim);
    for &i in &order {
        let i = i as usize;
        sorted.extend(data[i * dim..(i + 1) * dim].iter().map(|&v| v.into()));
    }
    let mut start = vec![0usize; k + 1];
    for &l in &lab {
        start[l as usize + 1] += 1;
    }
    for c in 0..k {
        start[c + 1] += start[c];
    }
    let s: Vec<f64> = (0..n)
        .into_par_iter()
        .with_min_len(16)
        .map(|i| {
            let p: Vec<f64> = data[i * dim..(i + 1) * dim]
                .iter()
                .map(|&v| v.into())
                .collect();
            let p = &p[..];
            let own = lab[i] as usize;
            let mut a = 0.0;
            let mut b = f64::INFINITY;
            for c in 0..k {
                let (lo, hi) = (start[c], start[c + 1]);
                let sum = dist_sum(p, &sorted[lo * dim..hi * dim], dim);
                if c == own {
                    a = sum;
                } else {
                    b = b.min(sum / (hi - lo) as f64);
                }
            }
            let size = start[own + 1] - start[own];
            if size <= 1 {
                return 0.0;
            }
            let a = a / (size - 1) as f64;
            let m = a.max(b);
            if m > 0.0 {
                (b - a) / m
            } else {
                0.0
            }
        })
        .collect();
    Ok(s)
}

/// The mean silhouette (scikit-learn's `silhouette_score`).
pub fn silhouette<T: Copy + Into<f64> + Sync>(
    data: &[T],
    dim: usize,
    labels: &[i64],
) -> Result<f64, QualityError> {
    let s = silhouette_samples(data, dim, labels)?;
    Ok(s.iter().sum::<f64>() / s.len() as f64)
}

/// Per-cluster means (f64) of a dense labelling, and the cluster sizes.
fn means<T: Copy + Into<f64>>(
    data: &[T],
    dim: usize,
    lab: &[u32],
    k: usize,
) -> (Vec<f64>, Vec<u64>) {
    let mut c = vec![0f64; k * dim];
    let mut counts = vec![0u64; k];
    for (row, &l) in data.chunks_exact(dim).zip(lab) {
        let l = l as usize;
        counts[l] += 1;
        for (s, &v) in c[l * dim..(l + 1) * dim].iter_mut().zip(row) {
            *s += v.into();
        }
    }
    for (l, &cnt) in counts.iter().enumerate() {
        for s in &mut c[l * dim..(l + 1) * dim] {
            *s /= cnt as f64;
        }
    }
    (c, counts)
}

/// A labelling made dense (0..k), checked (2 <= k <= n-1), with the
/// per-cluster means and sizes: what the centroid-based scores share.
struct Grouped {
    n: usize,
    lab: Vec<u32>,
    k: usize,
    centres: Vec<f64>,
    counts: Vec<u64>,
}

impl Grouped {
    fn new<T: Copy + Into<f64>>(
        data: &[T],
        dim: usize,
        labels: &[i64],
    ) -> Result<Grouped, QualityError> {
        let n = data.len() / dim;
        let (lab, k) = dense_labels(labels);
        check(k, n)?;
        let (centres, counts) = means(data, dim, &lab, k);
        Ok(Grouped {
            n,
            lab,
            k,
            centres,
            counts,
        })
    }

    fn centre(&self, l: u32, dim: usize) -> &[f64] {
        &self.centres[l as usize * dim..(l as usize + 1) * dim]
    }
}

/// The sum of squared distances of the points to their cluster's mean.
pub fn inertia<T: Copy + Into<f64>>(
    data: &[T],
    dim: usize,
    labels: &[i64],
) -> Result<f64, QualityError> {
    let g = Grouped::new(data, dim, labels)?;
    Ok(data
        .chunks_exact(dim)
        .zip(&g.lab)
        .map(|(row, &l)| dist64(row, g.centre(l, dim)).powi(2))
        .sum())
}

/// The simplified silhouette (Hruschka et al.): distances to the cluster
/// centroids instead of to every point — O(n·k). The mean over points.
pub fn simplified_silhouette<T: Copy + Into<f64> + Sync>(
    data: &[T],
    dim: usize,
    labels: &[i64],
) -> Result<f64, QualityError> {
    let Grouped {
        n,
        lab,
        k,
        centres: c,
        ..
    } = Grouped::new(data, dim, labels)?;
    let sum: f64 = data
        .par_chunks(dim * 4096)
        .enumerate()
        .map(|(b, block)| {
            let mut s = 0f64;
            for (r, row) in block.chunks_exact(dim).enumerate() {
                let own = lab[b * 4096 + r] as usize;
                let mut a = 0.0;
                let mut bb = f64::INFINITY;
                for j in 0..k {
                    let d = dist64(row, &c[j * dim..(j + 1) * dim]);
                    if j == own {
                        a = d;
                    } else {
                        bb = bb.min(d);
                    }
                }
                let m = a.max(bb);
                if m > 0.0 {
                    s += (bb - a) / m;
                }
            }
            s
        })
        .collect::<Vec<f64>>()
        .iter()
        .sum();
    Ok(sum / n as f64)
}

/// scikit-learn's `calinski_harabasz_score`: between-cluster dispersion
/// over within-cluster dispersion, times (n - k)/(k - 1).
pub fn calinski_harabasz<T: Copy + Into<f64>>(
    data: &[T],
    dim: usize,
    labels: &[i64],
) -> Result<f64, QualityError> {
    let Grouped {
        n,
        lab,
        k,
        centres: c,
        counts,
    } = Grouped::new(data, dim, labels)?;
    let mut mean = vec![0f64; dim];
    for row in data.chunks_exact(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v.into();
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut extra = 0f64;
    for j in 0..k {
        let cj = &c[j * dim..(j + 1) * dim];
        let d2: f64 = cj.iter().zip(&mean).map(|(a, b)| (a - b) * (a - b)).sum();
        extra += counts[j] as f64 * d2;
    }
    let mut intra = 0f64;
    for (row, &l) in data.chunks_exact(dim).zip(&lab) {
        let d = dist64(row, &c[l as usize * dim..(l as usize + 1) * dim]);
        intra += d * d;
    }
    Ok(if intra == 0.0 {
        1.0
    } else {
        extra * (n - k) as f64 / (intra * (k - 1) as f64)
    })
}

/// scikit-learn's `davies_bouldin_score`: the mean over clusters of the
/// worst ratio (s_i + s_j) / d(c_i, c_j), with s the mean distance of a
/// cluster's points to its centroid.
pub fn davies_bouldin<T: Copy + Into<f64>>(
    data: &[T],
    dim: usize,
    labels: &[i64],
) -> Result<f64, QualityError> {
    let Grouped {
        n: _,
        lab,
        k,
        centres: c,
        counts,
    } = Grouped::new(data, dim, labels)?;
    let mut intra = vec![0f64; k];
    for (row, &l) in data.chunks_exact(dim).zip(&lab) {
        intra[l as usize] += dist64(row, &c[l as usize * dim..(l as usize + 1) * dim]);
    }
    for (s, &cnt) in intra.iter_mut().zip(&counts) {
        *s /= cnt as f64;
    }
    let cd = |i: usize, j: usize| {
        let mut s = 0f64;
        for t in 0..dim {
            let d = c[i * dim + t] - c[j * dim + t];
            s += d * d;
        }
        s.sqrt()
    };
    // numpy's allclose(.., 0): within 1e-8.
    let all_zero_intra = intra.iter().all(|&v| v.abs() <= 1e-8);
    let all_zero_cd = (0..k).all(|i| (0..k).all(|j| cd(i, j) <= 1e-8));
    if all_zero_intra || all_zero_cd {
        return Ok(0.0);
    }
    let mut total = 0f64;
    for i in 0..k {
        let mut worst = 0f64;
        for j in 0..k {
            if i == j {
                continue;
            }
            let d = cd(i, j);
            let v = if d == 0.0 {
                0.0
            } else {
                (intra[i] + intra[j]) / d
            };
            worst = worst.max(v);
        }
        total += worst;
    }
    Ok(total / k as f64)
}

/// The silhouette values of a seeded uniform sample of `m` points (the
/// `m` rows with the smallest seeded hash keys, in row order; the sample
/// scored on its own, as scikit-learn's `sample_size`): the sample's labels
/// and each sampled point's silhouette.
pub fn silhouette_sample_values<T: Copy + Into<f64> + Sync>(
    data: &[T],
    dim: usize,
    labels: &[i64],
    m: usize,
    seed: u64,
) -> Result<(Vec<i64>, Vec<f64>), QualityError> {
    let n = data.len() / dim;
    let m = m.min(n);
    // The m rows with the smallest hash keys: a uniform sample that does not
    // depend on the thread count.
    let mut keys: Vec<(u64, usize)> = (0..n)
        .map(|i| (crate::kmeans::row_key(seed, i as u64), i))
        .collect();
    if m < n {
        keys.select_nth_unstable(m);
        keys.truncate(m);
    }
    keys.sort_unstable_by_key(|&(_, i)| i);
    let mut x = Vec::with_capacity(m * dim);
    let mut l = Vec::with_capacity(m);
    for &(_, i) in &keys {
        x.extend_from_slice(&data[i * dim..(i + 1) * dim]);
        l.push(labels[i]);
    }
    let s = silhouette_samples(&x, dim, &l)?;
    Ok((l, s))
}

/// The mean of silhouette values and its standard error.
pub fn mean_and_se(s: &[f64]) -> (f64, f64) {
    let m = s.len().max(1);
    let mean = s.iter().sum::<f64>() / m as f64;
    let var = if m > 1 {
        s.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (m - 1) as f64
    } else {
        0.0
    };
    (mean, (var / m as f64).sqrt())
}

/// The silhouette of a seeded uniform sample of `m` points (the exact score
/// of the sample, as scikit-learn's `sample_size`), with the standard error
/// of the mean over the sampled points.
pub fn silhouette_sampled<T: Copy + Into<f64> + Sync>(
    data: &[T],
    dim: usize,
    labels: &[i64],
    m: usize,
    seed: u64,
) -> Result<(f64, f64), QualityError> {
    let (_, s) = silhouette_sample_values(data, dim, labels, m, seed)?;
    Ok(mean_and_se(&s))
}
