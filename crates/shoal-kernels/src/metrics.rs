//! Agreement between two labellings of the same points.

use std::collections::HashMap;

fn comb2(n: u64) -> f64 {
    (n as f64) * (n as f64 - 1.0) / 2.0
}

/// The adjusted Rand index (Hubert & Arabie, 1985) of two labellings of
/// the same points, as `sklearn.metrics.adjusted_rand_score` defines it:
/// 1 for identical partitions (up to relabelling), about 0 for chance,
/// and 1 when both put every point in one cluster or each point in its own.
pub fn adjusted_rand_index(a: &[i64], b: &[i64]) -> f64 {
    assert_eq!(a.len(), b.len(), "labellings of different lengths");
    let n = a.len() as u64;
    let mut table: HashMap<(i64, i64), u64> = HashMap::new();
    let mut rows: HashMap<i64, u64> = HashMap::new();
    let mut cols: HashMap<i64, u64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *rows.entry(x).or_default() += 1;
        *cols.entry(y).or_default() += 1;
    }
    // sums in a fixed order so the result does not depend on hashing
    let mut cells: Vec<u64> = table.into_values().collect();
    cells.sort_unstable();
    let mut rs: Vec<u64> = rows.into_values().collect();
    rs.sort_unstable();
    let mut cs: Vec<u64> = cols.into_values().collect();
    cs.sort_unstable();
    let sum_cells: f64 = cells.iter().map(|&v| comb2(v)).sum();
    let sum_a: f64 = rs.iter().map(|&v| comb2(v)).sum();
    let sum_b: f64 = cs.iter().map(|&v| comb2(v)).sum();
    let total = comb2(n);
    let expected = sum_a * sum_b / total;
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        // both partitions trivial (one cluster, or all singletons): scikit-learn returns 1
        return 1.0;
    }
    (sum_cells - expected) / (max - expected)
}

/// The contingency table of two labellings: cell counts and the row
/// (`a`, first labelling) and column (`b`) sums, in a fixed order.
#[derive(Debug, Clone)]
pub struct Contingency {
    pub n: u64,
    /// (row, column, count) of the non-zero cells.
    pub cells: Vec<(usize, usize, u64)>,
    pub a: Vec<u64>,
    pub b: Vec<u64>,
}

impl Contingency {
    pub fn new(a: &[i64], b: &[i64]) -> Contingency {
        assert_eq!(a.len(), b.len(), "labellings of different lengths");
        let index = |v: &[i64]| {
            let mut u: Vec<i64> = v.to_vec();
            u.sort_unstable();
            u.dedup();
            let idx: Vec<usize> = v.iter().map(|x| u.binary_search(x).unwrap_or(0)).collect();
            (idx, u.len())
        };
        let (ia, ka) = index(a);
        let (ib, kb) = index(b);
        let mut table: HashMap<(usize, usize), u64> = HashMap::new();
        let mut ra = vec![0u64; ka];
        let mut rb = vec![0u64; kb];
        for (&x, &y) in ia.iter().zip(&ib) {
            *table.entry((x, y)).or_default() += 1;
            ra[x] += 1;
            rb[y] += 1;
        }
        let mut cells: Vec<(usize, usize, u64)> =
            table.into_iter().map(|((x, y), c)| (x, y, c)).collect();
        cells.sort_unstable();
        Contingency {
            n: a.len() as u64,
            cells,
            a: ra,
            b: rb,
        }
    }

    /// scikit-learn's `mutual_info_score` (natural logarithm).
    pub fn mutual_info(&self) -> f64 {
        let n = self.n as f64;
        let (sa, sb) = (
            self.a.iter().sum::<u64>() as f64,
            self.b.iter().sum::<u64>() as f64,
        );
        let mut mi = 0f64;
        for &(i, j, c) in &self.cells {
            let c = c as f64;
            let p = c / n;
            let outer = self.a[i] as f64 * self.b[j] as f64;
            let log_outer = -outer.ln() + sa.ln() + sb.ln();
            let v = p * (c.ln() - n.ln()) + p * log_outer;
            if v.abs() >= f64::EPSILON {
                mi += v;
            }
        }
        mi.max(0.0)
    }

    /// scikit-learn's `expected_mutual_information` under the permutation
    /// model (Vinh, Epps & Bailey, 2010).
    pub fn expected_mutual_info(&self) -> f64 {
        let (r, c) = (self.a.len(), self.b.len());
        if r == 1 || c == 1 {
            return 0.0;
        }
        let n = self.n as f64;
        let max = self.a.iter().chain(&self.b).copied().max().unwrap_or(1) as usize;
        let lg = |x: f64| libm::lgamma(x);
        let gln_n1 = lg(n + 1.0);
        let mut emi = 0f64;
        for &ai in &self.a {
            let af = ai as f64;
            let (log_a, gln_a, gln_na) = (af.ln(), lg(af + 1.0), lg(n - af + 1.0));
            for &bj in &self.b {
                let bf = bj as f64;
                let (log_b, gln_b, gln_nb) = (bf.ln(), lg(bf + 1.0), lg(n - bf + 1.0));
                let start = ((ai + bj) as i64 - self.n as i64).max(1) as usize;
                let end = (ai.min(bj) as usize).min(max);
                for nij in start..=end {
                    let nf = nij as f64;
                    let term1 = nf / n;
                    let term2 = (n.ln() + nf.ln()) - log_a - log_b;
                    let gln = gln_a + gln_b + gln_na + gln_nb
                        - (lg(nf + 1.0) + gln_n1)
                        - lg(af - nf + 1.0)
                        - lg(bf - nf + 1.0)
                        - lg(n - af - bf + nf + 1.0);
                    emi += term1 * term2 * gln.exp();
                }
            }
        }
        emi
    }
}

/// Entropy (natural logarithm) of cluster sizes, as scikit-learn's
/// `entropy(labels)`.
pub fn entropy(sizes: &[u64]) -> f64 {
    let total = sizes.iter().sum::<u64>() as f64;
    if sizes.len() <= 1 {
        return 0.0;
    }
    -sizes
        .iter()
        .filter(|&&s| s > 0)
        .map(|&s| {
            let s = s as f64;
            (s / total) * (s.ln() - total.ln())
        })
        .sum::<f64>()
}

/// Agreement scores between a labelling and the truth, with scikit-learn's
/// definitions (arithmetic-mean normalisation for NMI and AMI).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct External {
    pub adjusted_rand: f64,
    pub adjusted_mutual_info: f64,
    pub normalized_mutual_info: f64,
    pub homogeneity: f64,
    pub completeness: f64,
    pub v_measure: f64,
    pub fowlkes_mallows: f64,
}

/// All external scores of `pred` against `truth`.
pub fn external(truth: &[i64], pred: &[i64]) -> External {
    let t = Contingency::new(truth, pred);
    let mi = t.mutual_info();
    let (h_true, h_pred) = (entropy(&t.a), entropy(&t.b));
    let homogeneity = if h_true == 0.0 { 1.0 } else { mi / h_true };
    let completeness = if h_pred == 0.0 { 1.0 } else { mi / h_pred };
    let v_measure = if homogeneity + completeness == 0.0 {
        0.0
    } else {
        2.0 * homogeneity * completeness / (homogeneity + completeness)
    };
    let trivial = (t.a.len() == 1 && t.b.len() == 1) || (t.a.is_empty() && t.b.is_empty());
    let mean_h = (h_true + h_pred) / 2.0;
    let nmi = if trivial {
        1.0
    } else if mi == 0.0 {
        0.0
    } else {
        mi / mean_h
    };
    let ami = if trivial {
        1.0
    } else {
        let emi = t.expected_mutual_info();
        let mut den = mean_h - emi;
        den = if den < 0.0 {
            den.min(-f64::EPSILON)
        } else {
            den.max(f64::EPSILON)
        };
        (mi - emi) / den
    };
    let n = t.n as f64;
    let tk = t
        .cells
        .iter()
        .map(|c| (c.2 as f64) * (c.2 as f64))
        .sum::<f64>()
        - n;
    let pk = t.a.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() - n;
    let qk = t.b.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() - n;
    let fowlkes_mallows = if tk != 0.0 {
        (tk / pk).sqrt() * (tk / qk).sqrt()
    } else {
        0.0
    };
    External {
        adjusted_rand: adjusted_rand_index(truth, pred),
        adjusted_mutual_info: ami,
        normalized_mutual_info: nmi,
        homogeneity,
        completeness,
        v_measure,
        fowlkes_mallows,
    }
}

#[cfg(test)]
mod tests {
    use super::adjusted_rand_index as ari;

    /// The examples of `sklearn.metrics.adjusted_rand_score`'s documentation.
    #[test]
    fn scikit_learn_documentation_examples() {
        assert_eq!(ari(&[0, 0, 1, 1], &[0, 0, 1, 1]), 1.0);
        assert_eq!(ari(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
        assert!((ari(&[0, 0, 1, 2], &[0, 0, 1, 1]) - 0.5714285714285715).abs() < 1e-15);
        assert!((ari(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 0.5714285714285715).abs() < 1e-15);
        assert_eq!(ari(&[0, 0, 0, 0], &[0, 1, 2, 3]), 0.0);
        assert!((ari(&[0, 0, 1, 1], &[0, 1, 0, 1]) - -0.5).abs() < 1e-15);
    }
}
