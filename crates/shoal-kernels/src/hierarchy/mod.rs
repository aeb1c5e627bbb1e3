//! Agglomerative hierarchical clustering with scipy's conventions.
//!
//! A linkage is scipy's `(n-1) x 4` matrix: row `i` merges clusters `left`
//! and `right` (ids below `n` are observations, id `n + j` is the cluster
//! made at row `j`) at `height`, into a cluster of `count` observations;
//! the smaller id comes first.
//!
//! Two families of algorithms (Müllner, *Modern hierarchical, agglomerative
//! clustering algorithms*, 2011), each mirroring scipy's choice of
//! algorithm and its tie-breaking:
//! - [`condensed`]: on a condensed distance vector (`n(n-1)/2` f64):
//!   minimum spanning tree for `single`, nearest-neighbour chain for
//!   `complete`/`average`/`weighted`/`ward`, the generic algorithm for
//!   `centroid`/`median`; plus the naive O(n³) reference.
//! - [`vector`]: straight from observations in O(n·d) memory, for the
//!   methods whose cluster distance is a function of cluster centres and
//!   sizes (`single`, `ward`, `centroid`, `median`).
//!
//! Both accept initial cluster weights (the sizes of micro-clusters): every
//! size in a Lance–Williams formula is then a weight, while the `count`
//! column keeps counting leaves, so `Z` stays a valid scipy linkage.
//!
//! [`tree`] holds the tools that read a linkage: flat clusters, cophenetic
//! distances, inconsistency, leaders, leaf order, dendrogram coordinates.
//! None of them recurse, so million-leaf trees are fine.

pub mod condensed;
pub mod olo;
pub mod tree;
pub mod vector;

use std::fmt;

/// One row of a linkage matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merge {
    pub left: usize,
    pub right: usize,
    pub height: f64,
    pub count: usize,
}

impl Merge {
    pub fn to_row(self) -> [f64; 4] {
        [
            self.left as f64,
            self.right as f64,
            self.height,
            self.count as f64,
        ]
    }
}

/// The seven linkage methods of scipy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Single,
    Complete,
    Average,
    Weighted,
    Centroid,
    Median,
    Ward,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::Single,
        Method::Complete,
        Method::Average,
        Method::Weighted,
        Method::Centroid,
        Method::Median,
        Method::Ward,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Single => "single",
            Method::Complete => "complete",
            Method::Average => "average",
            Method::Weighted => "weighted",
            Method::Centroid => "centroid",
            Method::Median => "median",
            Method::Ward => "ward",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Whether the method can run from observations in O(n·d) memory
    /// (its cluster distance depends only on centres and sizes).
    pub fn works_on_vectors(self) -> bool {
        matches!(
            self,
            Method::Single | Method::Ward | Method::Centroid | Method::Median
        )
    }

    /// Lance–Williams update: the distance from cluster `i` to the union of
    /// `x` and `y`, given `d(x,i)`, `d(y,i)`, `d(x,y)` and the sizes
    /// (weights). The same formulas, in the same order, as scipy.
    #[inline]
    pub fn update(self, d_xi: f64, d_yi: f64, d_xy: f64, nx: f64, ny: f64, ni: f64) -> f64 {
        match self {
            Method::Single => d_xi.min(d_yi),
            Method::Complete => d_xi.max(d_yi),
            Method::Average => (nx * d_xi + ny * d_yi) / (nx + ny),
            Method::Weighted => 0.5 * (d_xi + d_yi),
            Method::Centroid => {
                let s = nx + ny;
                ((nx * d_xi * d_xi + ny * d_yi * d_yi - nx * ny * d_xy * d_xy / s) / s).sqrt()
            }
            Method::Median => (0.5 * (d_xi * d_xi + d_yi * d_yi) - 0.25 * d_xy * d_xy).sqrt(),
            Method::Ward => {
                let t = 1.0 / (nx + ny + ni);
                ((ni + nx) * t * d_xi * d_xi + (ni + ny) * t * d_yi * d_yi - ni * t * d_xy * d_xy)
                    .sqrt()
            }
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Index of `d(i, j)` (`i != j`) in a condensed distance vector over `n`
/// observations.
#[inline]
pub fn condensed_index(n: usize, i: usize, j: usize) -> usize {
    let (i, j) = if i < j { (i, j) } else { (j, i) };
    n * i - (i * (i + 1)) / 2 + (j - i - 1)
}

/// The number of observations `n` with `n(n-1)/2 == len`, if any.
pub fn num_obs_condensed(len: usize) -> Option<usize> {
    let n = ((1.0 + (1.0 + 8.0 * len as f64).sqrt()) / 2.0).round() as usize;
    (n >= 2 && n * (n - 1) / 2 == len).then_some(n)
}

/// Bytes a condensed f64 distance matrix over `n` observations takes.
pub fn condensed_bytes(n: usize) -> u128 {
    let n = n as u128;
    n * n.saturating_sub(1) / 2 * 8
}

/// Why a linkage could not be built or read.
#[derive(Debug, Clone, PartialEq)]
pub enum HierarchyError {
    /// Fewer than two observations.
    TooFew(usize),
    /// A distance or coordinate that is NaN, infinite or negative.
    BadDistance { index: usize, value: f64 },
    /// A linkage matrix that breaks scipy's rules; `row` is 0-based.
    InvalidLinkage { row: usize, reason: String },
    /// A parameter out of its range.
    Parameter(String),
}

impl fmt::Display for HierarchyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HierarchyError::TooFew(n) => {
                write!(f, "linkage needs at least 2 observations, got {n}")
            }
            HierarchyError::BadDistance { index, value } => {
                write!(
                    f,
                    "distance {index} is {value}; distances must be finite and >= 0"
                )
            }
            HierarchyError::InvalidLinkage { row, reason } => {
                write!(f, "invalid linkage matrix at row {row}: {reason}")
            }
            HierarchyError::Parameter(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for HierarchyError {}

/// scipy's `label`: after merges have been recorded as pairs of
/// representative observations and sorted by height, rename each pair to
/// the ids of the clusters they belong to and fill in the counts.
pub(crate) fn relabel(merges: &mut [Merge], n: usize) {
    let mut parent: Vec<usize> = (0..2 * n - 1).collect();
    let mut size = vec![1usize; 2 * n - 1];
    let mut next = n;
    let find = |parent: &mut Vec<usize>, mut x: usize| {
        let mut p = x;
        while parent[x] != x {
            x = parent[x];
        }
        while parent[p] != x {
            let q = parent[p];
            parent[p] = x;
            p = q;
        }
        x
    };
    for m in merges.iter_mut() {
        let a = find(&mut parent, m.left);
        let b = find(&mut parent, m.right);
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        m.left = a;
        m.right = b;
        parent[a] = next;
        parent[b] = next;
        size[next] = size[a] + size[b];
        m.count = size[next];
        next += 1;
    }
}

/// Stable sort by height (numpy's mergesort) followed by [`relabel`].
pub(crate) fn sort_and_relabel(merges: &mut [Merge], n: usize) {
    merges.sort_by(|a, b| {
        a.height
            .partial_cmp(&b.height)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    relabel(merges, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condensed_index_walks_the_upper_triangle() {
        let n = 5;
        let mut k = 0;
        for i in 0..n {
            for j in i + 1..n {
                assert_eq!(condensed_index(n, i, j), k);
                assert_eq!(condensed_index(n, j, i), k);
                k += 1;
            }
        }
        assert_eq!(num_obs_condensed(k), Some(n));
        assert_eq!(num_obs_condensed(k + 1), None);
        assert_eq!(num_obs_condensed(0), None);
        assert_eq!(num_obs_condensed(1), Some(2));
    }
}
