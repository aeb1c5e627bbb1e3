//! Per-column count, min, max, mean and variance in one streaming pass.
//! Each block's mean and sum of squared deviations are computed in `f64`
//! (two passes over the block, which is in cache), then combined with Chan et
//! al.'s pairwise update, which is stable for any number of blocks.

/// Partial statistics of the columns of a row-major block stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnStats {
    dim: usize,
    count: u64,
    min: Vec<f32>,
    max: Vec<f32>,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

/// Final statistics of one column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnSummary {
    pub min: f32,
    pub max: f32,
    pub mean: f64,
    /// Population standard deviation (divides by n, like `numpy.std` and
    /// scipy's `whiten`).
    pub std: f64,
}

impl ColumnStats {
    pub fn new(dim: usize) -> Self {
        ColumnStats {
            dim,
            count: 0,
            min: vec![f32::INFINITY; dim],
            max: vec![f32::NEG_INFINITY; dim],
            mean: vec![0.0; dim],
            m2: vec![0.0; dim],
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds a block of whole rows (finite values; the readers validate).
    ///
    /// The block is walked as groups of `g` rows (`g x dim` about 64
    /// values), accumulated elementwise into `g x dim` lanes, which turns the
    /// per-column dependency chains into independent, vectorisable ones; the
    /// lanes are folded per column at the end, in a fixed order.
    pub fn update(&mut self, data: &[f32]) {
        let d = self.dim;
        let n = data.len() / d;
        if n == 0 {
            return;
        }
        let g = (64 / d).max(1);
        let w = g * d;
        let data = &data[..n * d];
        let mut sum = vec![0.0f64; w];
        let mut min = vec![f32::INFINITY; w];
        let mut max = vec![f32::NEG_INFINITY; w];
        for part in data.chunks(w) {
            lanes_sum_min_max(part, &mut sum, &mut min, &mut max);
        }
        let mut block = ColumnStats::new(d);
        block.count = n as u64;
        for i in 0..w {
            let j = i % d;
            block.mean[j] += sum[i];
            block.min[j] = block.min[j].min(min[i]);
            block.max[j] = block.max[j].max(max[i]);
        }
        for m in block.mean.iter_mut() {
            *m /= n as f64;
        }
        let tiled: Vec<f64> = (0..w).map(|i| block.mean[i % d]).collect();
        let mut m2 = vec![0.0f64; w];
        for part in data.chunks(w) {
            lanes_m2(part, &tiled, &mut m2);
        }
        for (i, v) in m2.iter().enumerate() {
            block.m2[i % d] += v;
        }
        self.merge(&block);
    }

    /// Combines another partial (covering rows after this one's).
    pub fn merge(&mut self, other: &ColumnStats) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other.clone();
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        for j in 0..self.dim {
            let delta = other.mean[j] - self.mean[j];
            self.mean[j] += delta * nb / n;
            self.m2[j] += other.m2[j] + delta * delta * na * nb / n;
            self.min[j] = self.min[j].min(other.min[j]);
            self.max[j] = self.max[j].max(other.max[j]);
        }
        self.count += other.count;
    }

    /// One summary per column (empty if no rows were seen).
    pub fn finish(&self) -> Vec<ColumnSummary> {
        if self.count == 0 {
            return Vec::new();
        }
        (0..self.dim)
            .map(|j| ColumnSummary {
                min: self.min[j],
                max: self.max[j],
                mean: self.mean[j],
                std: (self.m2[j] / self.count as f64).max(0.0).sqrt(),
            })
            .collect()
    }
}

#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn lanes_sum_min_max(x: &[f32], sum: &mut [f64], min: &mut [f32], max: &mut [f32]) {
    for (((&v, s), lo), hi) in x.iter().zip(sum).zip(min).zip(max) {
        *s += v as f64;
        *lo = if v < *lo { v } else { *lo };
        *hi = if v > *hi { v } else { *hi };
    }
}

#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn lanes_m2(x: &[f32], mean: &[f64], m2: &mut [f64]) {
    for ((&v, &m), acc) in x.iter().zip(mean).zip(m2) {
        let dv = v as f64 - m;
        *acc += dv * dv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn closed_form_values() {
        // columns: 1..=4 and a constant
        let data = [1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 4.0, 5.0];
        let mut s = ColumnStats::new(2);
        s.update(&data);
        let f = s.finish();
        assert_eq!((f[0].min, f[0].max), (1.0, 4.0));
        assert_eq!(f[0].mean, 2.5);
        assert!((f[0].std - 1.25f64.sqrt()).abs() < 1e-15);
        assert_eq!(f[1].std, 0.0);
    }

    proptest! {
        #[test]
        fn chunked_equals_naive(vals in proptest::collection::vec(-1e4f32..1e4, 3..600), split in 1usize..50) {
            let d = 3;
            let n = vals.len() / d;
            let data = &vals[..n * d];
            let mut s = ColumnStats::new(d);
            for c in data.chunks(split * d) {
                s.update(c);
            }
            let f = s.finish();
            for j in 0..d {
                let col: Vec<f64> = data.chunks(d).map(|r| r[j] as f64).collect();
                let mean = col.iter().sum::<f64>() / n as f64;
                let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
                prop_assert!((f[j].mean - mean).abs() <= 1e-9 * (1.0 + mean.abs()));
                prop_assert!((f[j].std - var.sqrt()).abs() <= 1e-7 * (1.0 + var.sqrt()));
                prop_assert_eq!(f[j].min as f64, col.iter().cloned().fold(f64::INFINITY, f64::min));
            }
        }
    }
}
