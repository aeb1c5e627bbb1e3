//! The first principal components of a block stream: a covariance partial
//! (`update` / `merge` in order / `finish`, f64 sums of products about a
//! fixed shift, so points far from the origin lose no digits), and the top
//! eigenvectors of the covariance by power iteration with deflation.

// Index loops over several same-length vectors read clearer than zips here.
#![allow(clippy::needless_range_loop)]

/// Partial sums for the covariance of `dim` columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariance {
    dim: usize,
    count: u64,
    /// The first row seen: every sum is of `x - shift`.
    shift: Option<Vec<f64>>,
    s1: Vec<f64>,
    /// Upper triangle, row-major (`i <= j`).
    s2: Vec<f64>,
}

/// Principal axes: the mean and the top components (unit vectors,
/// largest variance first) with their variances.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub mean: Vec<f64>,
    pub components: Vec<Vec<f64>>,
    pub variances: Vec<f64>,
    /// The total variance (trace of the covariance).
    pub total_variance: f64,
}

impl Covariance {
    pub fn new(dim: usize) -> Covariance {
        Covariance {
            dim,
            count: 0,
            shift: None,
            s1: vec![0.0; dim],
            s2: vec![0.0; dim * (dim + 1) / 2],
        }
    }

    /// Adds the rows of a row-major block.
    pub fn update(&mut self, data: &[f32]) {
        let d = self.dim;
        if data.is_empty() {
            return;
        }
        let shift = self
            .shift
            .get_or_insert_with(|| data[..d].iter().map(|&v| v as f64).collect())
            .clone();
        let mut y = vec![0f64; d];
        for row in data.chunks_exact(d) {
            for k in 0..d {
                y[k] = row[k] as f64 - shift[k];
                self.s1[k] += y[k];
            }
            let mut t = 0;
            for i in 0..d {
                let yi = y[i];
                for yj in &y[i..] {
                    self.s2[t] += yi * yj;
                    t += 1;
                }
            }
            self.count += 1;
        }
    }

    /// Merges another partial (re-expressed about this one's shift).
    pub fn merge(&mut self, o: &Covariance) {
        let Some(os) = &o.shift else { return };
        let Some(ss) = self.shift.clone() else {
            *self = o.clone();
            return;
        };
        let d = self.dim;
        let delta: Vec<f64> = (0..d).map(|k| os[k] - ss[k]).collect();
        let n = o.count as f64;
        // sum (y' + delta) = s1' + n delta; sum (y'+delta)(y'+delta)^T
        let mut t = 0;
        for i in 0..d {
            for j in i..d {
                self.s2[t] +=
                    o.s2[t] + delta[i] * o.s1[j] + delta[j] * o.s1[i] + n * delta[i] * delta[j];
                t += 1;
            }
        }
        for k in 0..d {
            self.s1[k] += o.s1[k] + n * delta[k];
        }
        self.count += o.count;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The population covariance (`dim x dim`, row-major) and the mean.
    pub fn finish(&self) -> (Vec<f64>, Vec<f64>) {
        let d = self.dim;
        let n = self.count.max(1) as f64;
        let shift = self.shift.clone().unwrap_or_else(|| vec![0.0; d]);
        let m: Vec<f64> = (0..d).map(|k| self.s1[k] / n).collect();
        let mut c = vec![0.0; d * d];
        let mut t = 0;
        for i in 0..d {
            for j in i..d {
                let v = self.s2[t] / n - m[i] * m[j];
                c[i * d + j] = v;
                c[j * d + i] = v;
                t += 1;
            }
        }
        let mean = (0..d).map(|k| shift[k] + m[k]).collect();
        (c, mean)
    }

    /// The top `k` principal axes.
    pub fn principal(&self, k: usize) -> Principal {
        let d = self.dim;
        let (mut c, mean) = self.finish();
        let total_variance = (0..d).map(|i| c[i * d + i]).sum();
        let mut components = Vec::new();
        let mut variances = Vec::new();
        for comp in 0..k.min(d) {
            // power iteration from a fixed start (deterministic)
            let mut v: Vec<f64> = (0..d).map(|i| 1.0 + (i + comp) as f64 * 1e-3).collect();
            let mut lambda = 0.0;
            for _ in 0..500 {
                let mut w = vec![0.0; d];
                for i in 0..d {
                    w[i] = (0..d).map(|j| c[i * d + j] * v[j]).sum();
                }
                let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
                if norm == 0.0 {
                    break;
                }
                let next: Vec<f64> = w.iter().map(|x| x / norm).collect();
                let change: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
                v = next;
                lambda = norm;
                if change < 1e-12 {
                    break;
                }
            }
            // a sign convention: the largest coordinate positive
            let big = v.iter().enumerate().fold((0, 0.0f64), |m, (i, x)| {
                if x.abs() > m.1.abs() {
                    (i, *x)
                } else {
                    m
                }
            });
            if big.1 < 0.0 {
                v.iter_mut().for_each(|x| *x = -*x);
            }
            for i in 0..d {
                for j in 0..d {
                    c[i * d + j] -= lambda * v[i] * v[j];
                }
            }
            components.push(v);
            variances.push(lambda);
        }
        Principal {
            mean,
            components,
            variances,
            total_variance,
        }
    }
}

impl Principal {
    /// Projects row-major rows onto the components, appending pairs.
    pub fn project(&self, data: &[f32], out: &mut Vec<f32>) {
        let d = self.mean.len();
        for row in data.chunks_exact(d) {
            for c in &self.components {
                let mut s = 0.0;
                for k in 0..d {
                    s += (row[k] as f64 - self.mean[k]) * c[k];
                }
                out.push(s as f32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_axes_of_a_stretched_cloud() {
        // points along the direction (3, 4)/5 with spread 10, across it 1,
        // offset far from the origin; two partials merged equal one pass
        let mut pts = Vec::new();
        for i in 0..2000 {
            let t = ((i * 37) % 2000) as f64 / 100.0 - 10.0;
            let s = ((i * 11) % 20) as f64 / 10.0 - 0.95;
            pts.push((1e4 + 0.6 * t - 0.8 * s) as f32);
            pts.push((-5e3 + 0.8 * t + 0.6 * s) as f32);
            pts.push(7.0);
        }
        let mut one = Covariance::new(3);
        one.update(&pts);
        let mut a = Covariance::new(3);
        a.update(&pts[..3000]);
        let mut b = Covariance::new(3);
        b.update(&pts[3000..]);
        a.merge(&b);
        let (ca, _) = a.finish();
        let (c1, _) = one.finish();
        for (x, y) in ca.iter().zip(&c1) {
            assert!((x - y).abs() < 1e-6 * (1.0 + y.abs()), "{x} vs {y}");
        }
        let p = one.principal(2);
        let c = &p.components[0];
        assert!(
            (c[0] - 0.6).abs() < 1e-3 && (c[1] - 0.8).abs() < 1e-3 && c[2].abs() < 1e-9,
            "{c:?}"
        );
        let c = &p.components[1];
        assert!(
            (c[0].abs() - 0.8).abs() < 1e-3 && (c[1].abs() - 0.6).abs() < 1e-3,
            "{c:?}"
        );
        assert!(p.variances[0] > 30.0 * p.variances[1]);
        let mut xy = Vec::new();
        p.project(&pts[..3], &mut xy);
        assert_eq!(xy.len(), 2);
    }
}
