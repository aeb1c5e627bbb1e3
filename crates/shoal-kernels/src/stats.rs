//! Per-column count, min, max, mean and variance in one streaming pass.
//!
//! Rows are folded one at a time, in order, as f64 sums of `x - shift` and
//! `(x - shift)^2` (the shift is the partial's first row, which keeps the
//! sums small and the variance free of cancellation), spread over lanes
//! chosen by the row's position in the partial, so the result does not
//! depend on how the rows were cut into blocks. Partials (one per
//! partition) are combined with Chan et al.'s pairwise update.

/// Partial statistics of the columns of a row-major block stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnStats {
    dim: usize,
    /// Rows merged in (Chan form: count, mean, sum of squared deviations).
    count: u64,
    mean: Vec<f64>,
    m2: Vec<f64>,
    min: Vec<f32>,
    max: Vec<f32>,
    /// Rows folded since the last merge, as shifted sums per lane.
    open: u64,
    shift: Vec<f64>,
    s1: Vec<f64>,
    s2: Vec<f64>,
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
        let w = lanes(dim) * dim;
        ColumnStats {
            dim,
            count: 0,
            mean: vec![0.0; dim],
            m2: vec![0.0; dim],
            min: vec![f32::INFINITY; w],
            max: vec![f32::NEG_INFINITY; w],
            open: 0,
            shift: Vec::new(),
            s1: vec![0.0; w],
            s2: vec![0.0; w],
        }
    }

    pub fn count(&self) -> u64 {
        self.count + self.open
    }

    /// Adds a block of whole rows (finite values; the readers validate).
    ///
    /// Row `i` of the partial (counting from its first row) goes to lane
    /// `i % g`, `g x dim` about 64 values: whole groups of `g` rows are
    /// folded elementwise into the lanes, which vectorises, and a block that
    /// starts mid-group is first brought to a group boundary row by row.
    pub fn update(&mut self, data: &[f32]) {
        let d = self.dim;
        let n = data.len() / d;
        if n == 0 {
            return;
        }
        if self.shift.is_empty() {
            self.shift = data[..d].iter().map(|&v| v as f64).collect();
        }
        let g = lanes(d);
        let w = g * d;
        let tiled: Vec<f64> = (0..w).map(|i| self.shift[i % d]).collect();
        let data = &data[..n * d];
        // rows up to the next group boundary
        let lead = ((g - (self.open % g as u64) as usize) % g).min(n);
        let at = (self.open % g as u64) as usize * d;
        fold(
            &data[..lead * d],
            &tiled[at..at + lead * d],
            &mut self.s1[at..at + lead * d],
            &mut self.s2[at..at + lead * d],
            &mut self.min[at..at + lead * d],
            &mut self.max[at..at + lead * d],
        );
        let rest = &data[lead * d..];
        let full = rest.len() / w * w;
        for part in rest[..full].chunks_exact(w) {
            fold(
                part,
                &tiled,
                &mut self.s1,
                &mut self.s2,
                &mut self.min,
                &mut self.max,
            );
        }
        let tail = &rest[full..];
        fold(
            tail,
            &tiled[..tail.len()],
            &mut self.s1[..tail.len()],
            &mut self.s2[..tail.len()],
            &mut self.min[..tail.len()],
            &mut self.max[..tail.len()],
        );
        self.open += n as u64;
    }

    /// Moves the open rows into the Chan-form part.
    fn close(&mut self) {
        if self.open == 0 {
            return;
        }
        let d = self.dim;
        let n = self.open as f64;
        let mut part = ColumnStats {
            count: self.open,
            shift: Vec::new(),
            ..ColumnStats::new(d)
        };
        for j in 0..d {
            let (mut a, mut b) = (0.0f64, 0.0f64);
            for l in 0..self.s1.len() / d {
                a += self.s1[l * d + j];
                b += self.s2[l * d + j];
            }
            part.mean[j] = self.shift[j] + a / n;
            part.m2[j] = (b - a * a / n).max(0.0);
        }
        let w = self.s1.len();
        self.s1 = vec![0.0; w];
        self.s2 = vec![0.0; w];
        self.shift.clear();
        self.open = 0;
        self.merge_closed(&part);
    }

    /// Chan's update with another closed part (min/max lanes combined too).
    fn merge_closed(&mut self, other: &ColumnStats) {
        for (a, b) in self.min.iter_mut().zip(&other.min) {
            *a = a.min(*b);
        }
        for (a, b) in self.max.iter_mut().zip(&other.max) {
            *a = a.max(*b);
        }
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.count = other.count;
            self.mean.clone_from(&other.mean);
            self.m2.clone_from(&other.m2);
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        for j in 0..self.dim {
            let delta = other.mean[j] - self.mean[j];
            self.mean[j] += delta * nb / n;
            self.m2[j] += other.m2[j] + delta * delta * na * nb / n;
        }
        self.count += other.count;
    }

    /// Combines another partial (covering rows after this one's).
    pub fn merge(&mut self, other: &ColumnStats) {
        self.close();
        let mut o = other.clone();
        o.close();
        self.merge_closed(&o);
    }

    /// One summary per column (empty if no rows were seen).
    pub fn finish(&self) -> Vec<ColumnSummary> {
        let mut c = self.clone();
        c.close();
        if c.count == 0 {
            return Vec::new();
        }
        let d = self.dim;
        (0..d)
            .map(|j| ColumnSummary {
                min: c
                    .min
                    .iter()
                    .skip(j)
                    .step_by(d)
                    .fold(f32::INFINITY, |m, &v| m.min(v)),
                max: c
                    .max
                    .iter()
                    .skip(j)
                    .step_by(d)
                    .fold(f32::NEG_INFINITY, |m, &v| m.max(v)),
                mean: c.mean[j],
                std: (c.m2[j] / c.count as f64).max(0.0).sqrt(),
            })
            .collect()
    }
}

/// Rows per lane group: `g x dim` about 64 values.
fn lanes(dim: usize) -> usize {
    (64 / dim.max(1)).max(1)
}

/// Folds values into their lanes: shifted sums, squares, min and max.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn fold(
    x: &[f32],
    shift: &[f64],
    s1: &mut [f64],
    s2: &mut [f64],
    min: &mut [f32],
    max: &mut [f32],
) {
    for (((((&v, &k), a), b), lo), hi) in x.iter().zip(shift).zip(s1).zip(s2).zip(min).zip(max) {
        let dv = v as f64 - k;
        *a += dv;
        *b += dv * dv;
        *lo = if v < *lo { v } else { *lo };
        *hi = if v > *hi { v } else { *hi };
    }
}

// ---- encoding, for partials made in other processes ([`crate::wire`]) ----

impl ColumnStats {
    pub fn encode(&self, e: &mut crate::wire::Enc) {
        e.usize(self.dim);
        e.u64(self.count);
        e.f64s(&self.mean);
        e.f64s(&self.m2);
        e.f32s(&self.min);
        e.f32s(&self.max);
        e.u64(self.open);
        e.f64s(&self.shift);
        e.f64s(&self.s1);
        e.f64s(&self.s2);
    }

    pub fn decode(d: &mut crate::wire::Dec<'_>) -> Result<Self, crate::wire::WireError> {
        use crate::wire::expect_len;
        let (dim, count) = (d.usize()?, d.u64()?);
        let (mean, m2) = (d.f64s()?, d.f64s()?);
        let (min, max) = (d.f32s()?, d.f32s()?);
        let open = d.u64()?;
        let (shift, s1, s2) = (d.f64s()?, d.f64s()?, d.f64s()?);
        let w = lanes(dim) * dim;
        expect_len("means", mean.len(), dim)?;
        expect_len("m2", m2.len(), dim)?;
        expect_len("minima", min.len(), w)?;
        expect_len("maxima", max.len(), w)?;
        expect_len("s1", s1.len(), w)?;
        expect_len("s2", s2.len(), w)?;
        Ok(ColumnStats {
            dim,
            count,
            mean,
            m2,
            min,
            max,
            open,
            shift,
            s1,
            s2,
        })
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
        /// Bit for bit the same whatever the blocks, also when merged.
        #[test]
        fn blocks_do_not_matter(vals in proptest::collection::vec(-1e4f32..1e4, 3..900),
                                a in 1usize..70, b in 1usize..70, d in 1usize..5) {
            let n = vals.len() / d;
            let data = &vals[..n * d];
            let run = |split: usize| {
                let mut s = ColumnStats::new(d);
                for c in data.chunks(split * d) {
                    s.update(c);
                }
                s.finish()
            };
            prop_assert_eq!(run(a), run(b));
            // two partitions merged, whatever their blocks
            let half = n / 2 * d;
            let part = |x: &[f32], split: usize| {
                let mut s = ColumnStats::new(d);
                for c in x.chunks(split * d) {
                    s.update(c);
                }
                s
            };
            let mut m1 = part(&data[..half], a);
            m1.merge(&part(&data[half..], b));
            let mut m2 = part(&data[..half], b);
            m2.merge(&part(&data[half..], a));
            prop_assert_eq!(m1.finish(), m2.finish());
            prop_assert_eq!(m1, m2);
        }

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
