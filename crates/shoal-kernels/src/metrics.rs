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
