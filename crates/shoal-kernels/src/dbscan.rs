//! Exact DBSCAN with scikit-learn's definitions and labels, in O(n) memory.
//!
//! A point's neighbourhood is every point within `eps` (inclusive), itself
//! included; a point is *core* when its neighbourhood holds at least
//! `min_samples` points. Clusters are the connected components of core
//! points (two cores are connected when they are neighbours), numbered
//! 0, 1, … in the order of their lowest-index core point — the order in
//! which scikit-learn's loop over the points meets them. A non-core point
//! with a core neighbour (a *border* point) joins the lowest-numbered
//! cluster among its core neighbours, which is also what scikit-learn's
//! cluster-by-cluster expansion gives; every other point is noise (-1).
//!
//! Neighbourhoods are never stored: they are queried on demand from a grid.
//! For up to three coordinates (and for `haversine`, over the points' unit
//! vectors on the sphere, which has no seams at the antimeridian or the
//! poles) the cells have a diagonal a hair below `eps`: every pair in a cell
//! are neighbours, so a cell of `min_samples` points is all core without a
//! distance test, its cores form one piece, and two cells' cores are joined
//! by the first pair found within `eps`. With more coordinates the first
//! three are gridded in cells a hair wider than `eps` and every candidate
//! is tested. Neighbour
//! tests are made in f64 on the values as given (f32 or f64): squared Euclidean
//! distance against `eps²`, or the haversine great-circle angle against
//! `eps` radians, as scikit-learn's trees compare them.
//!
//! Core flags are counted in parallel (stopping at `min_samples`), core
//! points are joined by a lock-free union-find (the components do not
//! depend on the order of the unions), and labels are then numbered in
//! index order: results are identical for any thread count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use crate::Real;

/// How distances are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Euclidean distance between rows.
    Euclidean,
    /// Great-circle angle (radians) between rows of (latitude, longitude)
    /// in degrees, by the haversine formula.
    Haversine,
}

/// Earth's mean radius in metres (IUGG), used to turn metres into radians.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Why DBSCAN could not run.
#[derive(Debug, Clone, PartialEq)]
pub enum DbscanError {
    Parameter(String),
    /// A row that is not a valid input (NaN, or a latitude outside ±90).
    BadRow {
        row: usize,
        detail: String,
    },
}

impl std::fmt::Display for DbscanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbscanError::Parameter(m) => f.write_str(m),
            DbscanError::BadRow { row, detail } => write!(f, "row {row}: {detail}"),
        }
    }
}

impl std::error::Error for DbscanError {}

/// The outcome of [`dbscan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Dbscan {
    /// Cluster of every row, -1 for noise, in input order.
    pub labels: Vec<i32>,
    /// Whether every row is a core point.
    pub core: Vec<bool>,
    pub clusters: usize,
}

impl Dbscan {
    pub fn noise(&self) -> usize {
        self.labels.iter().filter(|&&l| l < 0).count()
    }
}

/// Points sorted by grid cell, with the cell table.
struct Grid<T> {
    dim: usize,
    /// Sorted copy of the points (`n x dim`, in the input's precision).
    pts: Vec<T>,
    /// Original index of each sorted point.
    orig: Vec<u32>,
    /// Cell of each sorted point.
    cell_of: Vec<u32>,
    /// Cell coordinates and the range of sorted points it holds.
    cells: Vec<([i32; 3], u32, u32)>,
    lookup: HashMap<[i32; 3], u32>,
    /// Cell offsets that can hold neighbours.
    stencil: Vec<[i32; 3]>,
    /// Every pair of points in one cell is within eps (the grid covers
    /// every coordinate and the cell diagonal is below eps).
    exact_cells: bool,
    metric: Metric,
    /// Euclidean: eps²; haversine: eps in radians.
    threshold: f64,
}

/// Grid coordinates of one point: the first `g` coordinates (Euclidean) or
/// the unit vector (haversine), divided by the cell side.
fn grid_coords<T: Real>(
    p: &[T],
    metric: Metric,
    g: usize,
    origin: &[f64; 3],
    side: f64,
) -> [f64; 3] {
    let mut v = [0f64; 3];
    match metric {
        Metric::Euclidean => {
            for k in 0..g {
                v[k] = (p[k].into() - origin[k]) / side;
            }
        }
        Metric::Haversine => {
            let (lat, lon) = (p[0].into().to_radians(), p[1].into().to_radians());
            v = [
                (lat.cos() * lon.cos() + 1.0) / side,
                (lat.cos() * lon.sin() + 1.0) / side,
                (lat.sin() + 1.0) / side,
            ];
        }
    }
    v
}

/// Haversine angle between (lat, lon) degree pairs, as scikit-learn's
/// `haversine` metric computes it on radians.
#[inline]
pub fn haversine<T: Real>(a: &[T], b: &[T]) -> f64 {
    let (la, oa) = (a[0].into().to_radians(), a[1].into().to_radians());
    let (lb, ob) = (b[0].into().to_radians(), b[1].into().to_radians());
    let s1 = (0.5 * (la - lb)).sin();
    let s2 = (0.5 * (oa - ob)).sin();
    let r = s1 * s1 + la.cos() * lb.cos() * s2 * s2;
    2.0 * r.sqrt().asin()
}

impl<T: Real> Grid<T> {
    fn build(data: &[T], dim: usize, eps: f64, metric: Metric) -> Result<Grid<T>, DbscanError> {
        let n = data.len() / dim;
        // With the whole space gridded (d <= 3, or the sphere's unit vectors),
        // cells get a diagonal a hair below eps, so all points of a cell are
        // neighbours, and neighbours lie at most two cells apart. Otherwise
        // (d > 3, three coordinates gridded) cells are a hair wider than eps
        // and neighbours lie in adjacent cells.
        let exact_cells = metric == Metric::Haversine || dim <= 3;
        let (g, side, origin, threshold) = match metric {
            Metric::Euclidean => {
                let g = dim.min(3);
                let mut origin = [0f64; 3];
                for (k, o) in origin.iter_mut().enumerate().take(g) {
                    *o = data
                        .iter()
                        .skip(k)
                        .step_by(dim)
                        .fold(f64::INFINITY, |m, &v| m.min(v.into()));
                }
                let side = if exact_cells {
                    eps / (g as f64).sqrt() * (1.0 - 1e-9)
                } else {
                    // A hair wider than eps, so rounding in the division can
                    // never put two neighbours two cells apart.
                    eps * (1.0 + 1e-9)
                };
                (g, side, origin, eps * eps)
            }
            Metric::Haversine => {
                // Neighbours within angle eps are within chord 2 sin(eps/2).
                let chord = 2.0 * (0.5 * eps.min(std::f64::consts::PI)).sin();
                (3, chord / 3f64.sqrt() * (1.0 - 1e-9), [0.0; 3], eps)
            }
        };
        let reach: i32 = if exact_cells { 2 } else { 1 };
        let mut stencil = Vec::new();
        let span = |k: usize| if k < g { -reach..=reach } else { 0..=0 };
        for d0 in span(0) {
            for d1 in span(1) {
                for d2 in span(2) {
                    stencil.push([d0, d1, d2]);
                }
            }
        }
        let mut keyed: Vec<([i32; 3], u32)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let v = grid_coords(&data[i * dim..(i + 1) * dim], metric, g, &origin, side);
                let mut key = [0i32; 3];
                for k in 0..g {
                    let c = v[k].floor();
                    key[k] = if c >= i32::MAX as f64 {
                        i32::MAX
                    } else {
                        c as i32
                    };
                }
                (key, i as u32)
            })
            .collect();
        if keyed.iter().any(|(k, _)| k.contains(&i32::MAX)) {
            return Err(DbscanError::Parameter(format!(
                "eps = {eps} is too small for the spread of the data (more than 2^31 cells across)"
            )));
        }
        keyed.par_sort_unstable();
        let mut pts = Vec::with_capacity(n * dim);
        let mut orig = Vec::with_capacity(n);
        let mut cell_of = Vec::with_capacity(n);
        let mut cells: Vec<([i32; 3], u32, u32)> = Vec::new();
        for (pos, (key, i)) in keyed.iter().enumerate() {
            if cells.last().is_none_or(|c| c.0 != *key) {
                cells.push((*key, pos as u32, pos as u32));
            }
            if let Some(last) = cells.last_mut() {
                last.2 = pos as u32 + 1;
            }
            cell_of.push(cells.len() as u32 - 1);
            orig.push(*i);
            let i = *i as usize;
            pts.extend_from_slice(&data[i * dim..(i + 1) * dim]);
        }
        drop(keyed);
        let lookup = cells
            .iter()
            .enumerate()
            .map(|(c, (k, _, _))| (*k, c as u32))
            .collect();
        Ok(Grid {
            dim,
            pts,
            orig,
            cell_of,
            cells,
            lookup,
            stencil,
            exact_cells,
            metric,
            threshold,
        })
    }

    /// The cells that can hold neighbours of cell `c` (itself included).
    fn near_cells(&self, c: usize) -> impl Iterator<Item = usize> + '_ {
        self.near_cells_ring(c, 0..=2)
    }

    /// As [`Grid::near_cells`], for offsets whose largest coordinate is in
    /// `rings` (0: the cell itself, 1: adjacent cells, 2: one cell between).
    fn near_cells_ring(
        &self,
        c: usize,
        rings: std::ops::RangeInclusive<i32>,
    ) -> impl Iterator<Item = usize> + '_ {
        let key = self.cells[c].0;
        self.stencil
            .iter()
            .filter(move |d| rings.contains(&d.iter().map(|v| v.abs()).max().unwrap_or(0)))
            .filter_map(move |d| {
                let k = [
                    key[0].wrapping_add(d[0]),
                    key[1].wrapping_add(d[1]),
                    key[2].wrapping_add(d[2]),
                ];
                self.lookup.get(&k).map(|&c| c as usize)
            })
    }

    fn range(&self, c: usize) -> std::ops::Range<usize> {
        let (_, lo, hi) = self.cells[c];
        lo as usize..hi as usize
    }

    #[inline]
    fn point(&self, s: usize) -> &[T] {
        &self.pts[s * self.dim..(s + 1) * self.dim]
    }

    #[inline]
    fn near(&self, a: &[T], b: &[T]) -> bool {
        match self.metric {
            Metric::Euclidean => {
                let mut s = 0f64;
                for (x, y) in a.iter().zip(b) {
                    let t = (*x).into() - (*y).into();
                    s += t * t;
                }
                s <= self.threshold
            }
            Metric::Haversine => haversine(a, b) <= self.threshold,
        }
    }

    /// Calls `f(t)` for every sorted point `t` within eps of sorted point
    /// `s` (itself included) until `f` returns false. With `skip_own`, the
    /// points of `s`'s own cell are left out.
    fn for_neighbours(&self, s: usize, skip_own: bool, mut f: impl FnMut(usize) -> bool) {
        let own = self.cell_of[s] as usize;
        let p = self.point(s);
        for c in self.near_cells(own) {
            if skip_own && c == own {
                continue;
            }
            for t in self.range(c) {
                if self.near(p, self.point(t)) && !f(t) {
                    return;
                }
            }
        }
    }
}

fn find(parent: &[AtomicU32], mut x: u32) -> u32 {
    loop {
        let p = parent[x as usize].load(Ordering::Acquire);
        if p == x {
            return x;
        }
        let gp = parent[p as usize].load(Ordering::Acquire);
        // Path halving; a failed exchange only means someone else moved it.
        let _ = parent[x as usize].compare_exchange(p, gp, Ordering::AcqRel, Ordering::Relaxed);
        x = gp;
    }
}

/// Joins the sets of `a` and `b`, always hanging the larger root under the
/// smaller, so concurrent unions cannot form cycles.
fn union(parent: &[AtomicU32], a: u32, b: u32) {
    let (mut a, mut b) = (a, b);
    loop {
        a = find(parent, a);
        b = find(parent, b);
        if a == b {
            return;
        }
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        if parent[hi as usize]
            .compare_exchange(hi, lo, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

/// DBSCAN of the rows of `data` (`n x dim`, row-major). For
/// [`Metric::Haversine`] rows are (latitude, longitude) in degrees and
/// `eps` is in radians.
pub fn dbscan<T: Real>(
    data: &[T],
    dim: usize,
    eps: f64,
    min_samples: usize,
    metric: Metric,
) -> Result<Dbscan, DbscanError> {
    if !(eps.is_finite() && eps > 0.0) {
        return Err(DbscanError::Parameter(format!(
            "eps must be > 0, got {eps}"
        )));
    }
    if min_samples < 1 {
        return Err(DbscanError::Parameter(
            "min_samples must be at least 1".into(),
        ));
    }
    assert!(dim >= 1 && data.len().is_multiple_of(dim));
    let n = data.len() / dim;
    if n > u32::MAX as usize - 1 {
        return Err(DbscanError::Parameter(format!(
            "{n} rows is more than 2^32 - 2"
        )));
    }
    if let Some(i) = data.iter().position(|&v| !v.into().is_finite()) {
        return Err(DbscanError::BadRow {
            row: i / dim,
            detail: format!("value {} in column {}", data[i].into(), i % dim),
        });
    }
    if metric == Metric::Haversine {
        if dim != 2 {
            return Err(DbscanError::Parameter(format!(
                "haversine needs exactly 2 columns (latitude, longitude in degrees), got {dim}"
            )));
        }
        if let Some(r) = (0..n).find(|&r| data[2 * r].into().abs() > 90.0) {
            return Err(DbscanError::BadRow {
                row: r,
                detail: format!(
                    "latitude {} is outside [-90, 90]; columns must be latitude then longitude, in degrees",
                    data[2 * r].into()
                ),
            });
        }
    }
    if n == 0 {
        return Ok(Dbscan {
            labels: Vec::new(),
            core: Vec::new(),
            clusters: 0,
        });
    }
    let grid = Grid::build(data, dim, eps, metric)?;

    // Core points (sorted order), counting each neighbourhood only as far
    // as min_samples. With exact cells a point's own cell counts whole,
    // without distance tests.
    let core_sorted: Vec<bool> = (0..n)
        .into_par_iter()
        .with_min_len(256)
        .map(|s| {
            let own = if grid.exact_cells {
                grid.range(grid.cell_of[s] as usize).len()
            } else {
                0
            };
            if own >= min_samples {
                return true;
            }
            let mut count = own;
            grid.for_neighbours(s, grid.exact_cells, |_| {
                count += 1;
                count < min_samples
            });
            count >= min_samples
        })
        .collect();

    // Components of the core graph.
    let parent: Vec<AtomicU32> = (0..n as u32).map(AtomicU32::new).collect();
    if grid.exact_cells {
        // The cores of a cell are all neighbours; two cells' cores are joined
        // by the first pair found within eps. Adjacent cells first: in dense
        // regions they connect nearly everything, so the cells two apart
        // (whose points are rarely within eps) are mostly skipped unsearched.
        let cores_of =
            |c: usize| -> Vec<usize> { grid.range(c).filter(|&t| core_sorted[t]).collect() };
        let join = |c: usize, cores: &[usize], rings: std::ops::RangeInclusive<i32>| {
            let first = cores[0];
            for c2 in grid.near_cells_ring(c, rings) {
                if c2 <= c {
                    continue;
                }
                let Some(first2) = grid.range(c2).find(|&t| core_sorted[t]) else {
                    continue;
                };
                if find(&parent, first as u32) == find(&parent, first2 as u32) {
                    continue;
                }
                'pair: for &p in cores {
                    let pp = grid.point(p);
                    for q in grid.range(c2) {
                        if core_sorted[q] && grid.near(pp, grid.point(q)) {
                            union(&parent, p as u32, q as u32);
                            break 'pair;
                        }
                    }
                }
            }
        };
        (0..grid.cells.len())
            .into_par_iter()
            .with_min_len(64)
            .for_each(|c| {
                let cores = cores_of(c);
                if cores.is_empty() {
                    return;
                }
                for &t in &cores[1..] {
                    union(&parent, cores[0] as u32, t as u32);
                }
                join(c, &cores, 1..=1);
            });
        (0..grid.cells.len())
            .into_par_iter()
            .with_min_len(64)
            .for_each(|c| {
                let cores = cores_of(c);
                if !cores.is_empty() {
                    join(c, &cores, 2..=2);
                }
            });
    } else {
        (0..n).into_par_iter().with_min_len(256).for_each(|s| {
            if !core_sorted[s] {
                return;
            }
            grid.for_neighbours(s, false, |t| {
                if t < s && core_sorted[t] {
                    union(&parent, s as u32, t as u32);
                }
                true
            });
        });
    }

    // Number the components by their lowest original index.
    let mut pos = vec![0u32; n];
    for (s, &o) in grid.orig.iter().enumerate() {
        pos[o as usize] = s as u32;
    }
    let roots: Vec<u32> = (0..n as u32)
        .into_par_iter()
        .map(|s| find(&parent, s))
        .collect();
    let mut label_of_root: HashMap<u32, i32> = HashMap::new();
    let mut labels = vec![-1i32; n];
    let mut core = vec![false; n];
    let mut clusters = 0i32;
    for o in 0..n {
        let s = pos[o] as usize;
        if core_sorted[s] {
            core[o] = true;
            let l = *label_of_root.entry(roots[s]).or_insert_with(|| {
                clusters += 1;
                clusters - 1
            });
            labels[o] = l;
        }
    }
    drop(label_of_root);
    // Border points join the lowest-numbered cluster among their core
    // neighbours.
    let border: Vec<(usize, i32)> = (0..n)
        .into_par_iter()
        .with_min_len(256)
        .filter_map(|s| {
            if core_sorted[s] {
                return None;
            }
            let mut best = i32::MAX;
            grid.for_neighbours(s, false, |t| {
                if core_sorted[t] {
                    best = best.min(labels[grid.orig[t] as usize]);
                }
                true
            });
            (best != i32::MAX).then(|| (grid.orig[s] as usize, best))
        })
        .collect();
    for (o, l) in border {
        labels[o] = l;
    }
    Ok(Dbscan {
        labels,
        core,
        clusters: clusters as usize,
    })
}

/// The O(n²) definition, for tests: neighbours by a full scan.
pub fn dbscan_naive<T: Real>(
    data: &[T],
    dim: usize,
    eps: f64,
    min_samples: usize,
    metric: Metric,
) -> Dbscan {
    let n = data.len() / dim;
    let p = |i: usize| &data[i * dim..(i + 1) * dim];
    let near = |a: &[T], b: &[T]| match metric {
        Metric::Euclidean => {
            let mut s = 0f64;
            for (x, y) in a.iter().zip(b) {
                let t = (*x).into() - (*y).into();
                s += t * t;
            }
            s <= eps * eps
        }
        Metric::Haversine => haversine(a, b) <= eps,
    };
    let nb: Vec<Vec<usize>> = (0..n)
        .map(|i| (0..n).filter(|&j| near(p(i), p(j))).collect())
        .collect();
    let core: Vec<bool> = nb.iter().map(|v| v.len() >= min_samples).collect();
    // scikit-learn's dbscan_inner: expand clusters in index order.
    let mut labels = vec![-1i32; n];
    let mut label = 0;
    for i in 0..n {
        if labels[i] != -1 || !core[i] {
            continue;
        }
        let mut stack = vec![i];
        labels[i] = label;
        while let Some(v) = stack.pop() {
            if !core[v] {
                continue;
            }
            for &w in &nb[v] {
                if labels[w] == -1 {
                    labels[w] = label;
                    stack.push(w);
                }
            }
        }
        label += 1;
    }
    Dbscan {
        labels,
        core,
        clusters: label as usize,
    }
}
