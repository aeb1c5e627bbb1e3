//! Linkage on a condensed distance vector (`d(0,1), d(0,2), …, d(n-2,n-1)`,
//! f64). The vector is consumed and updated in place, so the peak memory is
//! one condensed matrix (scipy holds two).
//!
//! The algorithms and their tie-breaking follow scipy's: Prim's minimum
//! spanning tree for `single`; the nearest-neighbour chain for `complete`,
//! `average`, `weighted` and `ward` (preferring the previous element of the
//! chain, then the lowest index); Müllner's generic algorithm with a binary
//! heap for `centroid` and `median`. [`linkage_naive`] is the O(n³)
//! textbook loop, kept as the reference for tests.

use super::{condensed_index, relabel, sort_and_relabel, HierarchyError, Merge, Method};

/// Checks that every distance is finite and non-negative.
pub fn validate(dists: &[f64]) -> Result<(), HierarchyError> {
    match dists.iter().position(|d| !(d.is_finite() && *d >= 0.0)) {
        Some(index) => Err(HierarchyError::BadDistance {
            index,
            value: dists[index],
        }),
        None => Ok(()),
    }
}

/// Hierarchical clustering of `n` observations from their condensed
/// distances. `weights` (one per observation, > 0) are the initial cluster
/// sizes used by the Lance–Williams updates; `None` means all ones.
pub fn linkage(
    mut dists: impl AsMut<[f64]>,
    n: usize,
    method: Method,
    weights: Option<&[f64]>,
) -> Result<Vec<Merge>, HierarchyError> {
    let dists = dists.as_mut();
    if n < 2 {
        return Err(HierarchyError::TooFew(n));
    }
    assert_eq!(dists.len(), n * (n - 1) / 2, "condensed length");
    validate(dists)?;
    let sizes = match weights {
        Some(w) => {
            assert_eq!(w.len(), n);
            if method == Method::Ward {
                ward_weighted_start(dists, n, w);
            }
            w.to_vec()
        }
        None => vec![1.0; n],
    };
    Ok(match method {
        Method::Single => mst_single(dists, n),
        Method::Complete | Method::Average | Method::Weighted | Method::Ward => {
            nn_chain(dists, n, method, sizes)
        }
        Method::Centroid | Method::Median => generic(dists, n, method, sizes),
    })
}

/// Ward's distance between two weighted atoms is not the distance between
/// them: `d_W(i,j)² = 2 w_i w_j / (w_i + w_j) · d(i,j)²` (the increase in the
/// within-cluster sum of squares, doubled, as scipy scales Ward). Scaling
/// the starting matrix so makes the Lance–Williams recurrence with weights
/// exact Ward on weighted points.
pub fn ward_weighted_start(dists: &mut [f64], n: usize, w: &[f64]) {
    for i in 0..n {
        for j in i + 1..n {
            let f = (2.0 * w[i] * w[j] / (w[i] + w[j])).sqrt();
            dists[condensed_index(n, i, j)] *= f;
        }
    }
}

/// Prim's algorithm over the condensed matrix; O(n) extra memory.
fn mst_single(dists: &[f64], n: usize) -> Vec<Merge> {
    let mut merged = vec![false; n];
    let mut d = vec![f64::INFINITY; n];
    let mut out = Vec::with_capacity(n - 1);
    let mut x = 0;
    for _ in 0..n - 1 {
        let mut current = f64::INFINITY;
        let mut y = 0;
        merged[x] = true;
        for i in 0..n {
            if merged[i] {
                continue;
            }
            let dist = dists[condensed_index(n, x, i)];
            if d[i] > dist {
                d[i] = dist;
            }
            if d[i] < current {
                y = i;
                current = d[i];
            }
        }
        out.push(Merge {
            left: x,
            right: y,
            height: current,
            count: 0,
        });
        x = y;
    }
    sort_and_relabel(&mut out, n);
    out
}

/// `row_offset(n, i) + j` is `condensed_index(n, i, j)` for `i < j`.
#[inline]
fn row_offset(n: usize, i: usize) -> usize {
    (n * i).wrapping_sub(i * (i + 1) / 2 + i + 1)
}

/// First minimum of `d(x, i)` over the active `i` (sorted), with `x` at
/// `act[at]` skipped; `start` is the value to beat.
fn nn_scan(
    d: &[f64],
    off: &[usize],
    act: &[usize],
    at: usize,
    x: usize,
    start: (usize, f64),
) -> (usize, f64) {
    let (mut y, mut current) = start;
    // Before x: d(i, x) = d[off[i] + x], one row each (strided).
    for &i in &act[..at] {
        let v = d[off[i].wrapping_add(x)];
        if v < current {
            current = v;
            y = i;
        }
    }
    // After x: d(x, i) = d[off[x] + i], along x's row.
    let ox = off[x];
    for &i in &act[at + 1..] {
        let v = d[ox.wrapping_add(i)];
        if v < current {
            current = v;
            y = i;
        }
    }
    (y, current)
}

/// The nearest-neighbour chain, for the reducible methods. Scans run over
/// a sorted list of the active clusters (index order, as scipy's loop over
/// all n skipping the inactive).
fn nn_chain(d: &mut [f64], n: usize, method: Method, mut size: Vec<f64>) -> Vec<Merge> {
    let off: Vec<usize> = (0..n).map(|i| row_offset(n, i)).collect();
    let idx = |i: usize, j: usize| {
        if i < j {
            off[i].wrapping_add(j)
        } else {
            off[j].wrapping_add(i)
        }
    };
    let mut act: Vec<usize> = (0..n).collect();
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut out = Vec::with_capacity(n - 1);
    for _ in 0..n - 1 {
        if chain.is_empty() {
            chain.push(act[0]);
        }
        let (x, y, current) = loop {
            let x = chain[chain.len() - 1];
            let start = if chain.len() > 1 {
                let y = chain[chain.len() - 2];
                (y, d[idx(x, y)])
            } else {
                (usize::MAX, f64::INFINITY)
            };
            let at = act.partition_point(|&i| i < x);
            let (y, current) = nn_scan(d, &off, &act, at, x, start);
            if chain.len() > 1 && y == chain[chain.len() - 2] {
                break (x, y, current);
            }
            chain.push(y);
        };
        chain.truncate(chain.len() - 2);
        let (x, y) = if x > y { (y, x) } else { (x, y) };
        let (nx, ny) = (size[x], size[y]);
        out.push(Merge {
            left: x,
            right: y,
            height: current,
            count: 0,
        });
        let pos = act.partition_point(|&i| i < x);
        act.remove(pos);
        size[y] = nx + ny;
        for &i in &act {
            if i == y {
                continue;
            }
            let iy = idx(i, y);
            d[iy] = method.update(d[idx(i, x)], d[iy], current, nx, ny, size[i]);
        }
    }
    sort_and_relabel(&mut out, n);
    out
}

/// The lowest-distance active neighbour `y > x` of `x` (scipy's
/// `find_min_dist`), or `None` when there is none.
fn find_min_dist(n: usize, d: &[f64], active: &[bool], x: usize) -> Option<(usize, f64)> {
    let mut current = f64::INFINITY;
    let mut y = None;
    if x + 1 >= n {
        return None;
    }
    let start = condensed_index(n, x, x + 1);
    for (j, &dist) in d[start..start + (n - x - 1)].iter().enumerate() {
        if active[x + 1 + j] && dist < current {
            current = dist;
            y = Some(x + 1 + j);
        }
    }
    y.map(|y| (y, current))
}

/// Müllner's generic algorithm (scipy's `fast_linkage`): a heap of each
/// cluster's nearest neighbour among the clusters after it, with lazily
/// repaired candidates. Rows come out in merge order, unsorted, as in
/// scipy (centroid and median may be non-monotonic).
fn generic(d: &mut [f64], n: usize, method: Method, mut size: Vec<f64>) -> Vec<Merge> {
    let mut active = vec![true; n];
    let mut count = vec![1usize; n];
    let mut cluster_id: Vec<usize> = (0..n).collect();
    let mut neighbor = vec![0usize; n - 1];
    let mut min_dist = vec![0f64; n - 1];
    for x in 0..n - 1 {
        // Every x < n-1 has x+1 after it, and all distances are finite.
        let (y, dist) = find_min_dist(n, d, &active, x).unwrap_or((x + 1, f64::INFINITY));
        neighbor[x] = y;
        min_dist[x] = dist;
    }
    let mut heap = Heap::new(&min_dist);
    let mut out = Vec::with_capacity(n - 1);
    for k in 0..n - 1 {
        let (mut x, mut y, mut dist) = (0, 0, 0.0);
        for _ in 0..n - k {
            let (key, value) = heap.min();
            x = key;
            dist = value;
            y = neighbor[x];
            if dist == d[condensed_index(n, x, y)] {
                break;
            }
            let (ny_, nd) = find_min_dist(n, d, &active, x).unwrap_or((y, f64::INFINITY));
            y = ny_;
            dist = nd;
            neighbor[x] = y;
            min_dist[x] = dist;
            heap.change(x, dist);
        }
        heap.remove_min();
        let (id_x, id_y) = (cluster_id[x], cluster_id[y]);
        let (nx, ny) = (size[x], size[y]);
        out.push(Merge {
            left: id_x.min(id_y),
            right: id_x.max(id_y),
            height: dist,
            count: count[x] + count[y],
        });
        active[x] = false;
        size[y] = nx + ny;
        count[y] += count[x];
        cluster_id[y] = n + k;
        for z in 0..n {
            if !active[z] || z == y {
                continue;
            }
            let zy = condensed_index(n, z, y);
            d[zy] = method.update(d[condensed_index(n, z, x)], d[zy], dist, nx, ny, size[z]);
        }
        for z in 0..x {
            if active[z] && neighbor[z] == x {
                neighbor[z] = y;
            }
        }
        for z in 0..y {
            if !active[z] {
                continue;
            }
            let dz = d[condensed_index(n, z, y)];
            if dz < min_dist[z] {
                neighbor[z] = y;
                min_dist[z] = dz;
                heap.change(z, dz);
            }
        }
        if y < n - 1 {
            if let Some((z, dz)) = find_min_dist(n, d, &active, y) {
                neighbor[y] = z;
                min_dist[y] = dz;
                heap.change(y, dz);
            }
        }
    }
    out
}

/// The O(n³) textbook algorithm (scipy's reference `linkage`): scan the
/// whole matrix for the closest pair, merge, update. For tests.
pub fn linkage_naive(
    dists: &[f64],
    n: usize,
    method: Method,
    weights: Option<&[f64]>,
) -> Vec<Merge> {
    let mut d = dists.to_vec();
    if let (Method::Ward, Some(w)) = (method, weights) {
        ward_weighted_start(&mut d, n, w);
    }
    let mut id_map: Vec<Option<usize>> = (0..n).map(Some).collect();
    let mut size: Vec<f64> = weights.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
    let mut count = vec![1usize; n];
    let mut out = Vec::with_capacity(n - 1);
    for k in 0..n - 1 {
        let mut current = f64::INFINITY;
        let (mut x, mut y) = (0, 0);
        for i in 0..n - 1 {
            if id_map[i].is_none() {
                continue;
            }
            for j in i + 1..n {
                let v = d[condensed_index(n, i, j)];
                if v < current {
                    current = v;
                    x = i;
                    y = j;
                }
            }
        }
        let (id_x, id_y) = (id_map[x].unwrap_or(x), id_map[y].unwrap_or(y));
        let (nx, ny) = (size[x], size[y]);
        out.push(Merge {
            left: id_x.min(id_y),
            right: id_x.max(id_y),
            height: current,
            count: count[x] + count[y],
        });
        id_map[x] = None;
        id_map[y] = Some(n + k);
        size[y] = nx + ny;
        count[y] += count[x];
        for i in 0..n {
            if id_map[i].is_none() || i == y {
                continue;
            }
            let iy = condensed_index(n, i, y);
            d[iy] = method.update(d[condensed_index(n, i, x)], d[iy], current, nx, ny, size[i]);
        }
        for i in 0..n {
            if i != x {
                d[condensed_index(n, i, x)] = f64::INFINITY;
            }
        }
    }
    out
}

/// Relabels rows that name clusters by a representative observation
/// (as `mst_single` and `nn_chain` record them) — exposed for the vector
/// algorithms, which record merges the same way.
pub(crate) fn finish_representative(merges: &mut [Merge], n: usize, sort: bool) {
    if sort {
        sort_and_relabel(merges, n);
    } else {
        relabel(merges, n);
    }
}

/// A binary min-heap over keys `0..len` with changeable values, laid out and
/// sifted exactly as scipy's, so equal values pop in the same order.
#[derive(Debug)]
pub(crate) struct Heap {
    index_by_key: Vec<usize>,
    key_by_index: Vec<usize>,
    values: Vec<f64>,
    size: usize,
}

impl Heap {
    pub(crate) fn new(values: &[f64]) -> Heap {
        let size = values.len();
        let mut h = Heap {
            index_by_key: (0..size).collect(),
            key_by_index: (0..size).collect(),
            values: values.to_vec(),
            size,
        };
        for i in (0..size / 2).rev() {
            h.sift_down(i);
        }
        h
    }

    pub(crate) fn min(&self) -> (usize, f64) {
        (self.key_by_index[0], self.values[0])
    }

    pub(crate) fn remove_min(&mut self) {
        self.swap(0, self.size - 1);
        self.size -= 1;
        self.sift_down(0);
    }

    pub(crate) fn change(&mut self, key: usize, value: f64) {
        let index = self.index_by_key[key];
        let old = self.values[index];
        self.values[index] = value;
        if value < old {
            self.sift_up(index);
        } else {
            self.sift_down(index);
        }
    }

    fn sift_up(&mut self, mut index: usize) {
        while index > 0 {
            let parent = (index - 1) >> 1;
            if self.values[parent] > self.values[index] {
                self.swap(index, parent);
                index = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut index: usize) {
        let mut child = 2 * index + 1;
        while child < self.size {
            if child + 1 < self.size && self.values[child + 1] < self.values[child] {
                child += 1;
            }
            if self.values[index] > self.values[child] {
                self.swap(index, child);
                index = child;
                child = 2 * index + 1;
            } else {
                break;
            }
        }
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.values.swap(i, j);
        let (ki, kj) = (self.key_by_index[i], self.key_by_index[j]);
        self.key_by_index[i] = kj;
        self.key_by_index[j] = ki;
        self.index_by_key[ki] = j;
        self.index_by_key[kj] = i;
    }
}

/// Storage for a condensed matrix: anonymous memory advised to use huge
/// pages (Linux). Scanning a cluster's distances reads one element from
/// each of up to n rows; with 4 KiB pages nearly every read is a TLB miss,
/// with 2 MiB pages few are (the nearest-neighbour chain runs 1.8x faster
/// at n = 20 000). Dereferences to `[f64]`.
#[derive(Debug)]
pub struct Condensed {
    map: memmap2::MmapMut,
    len: usize,
}

impl Condensed {
    /// `len` zeros. Fails only when the memory cannot be mapped.
    pub fn zeros(len: usize) -> std::io::Result<Condensed> {
        let map = memmap2::MmapMut::map_anon((len * 8).max(8))?;
        #[cfg(target_os = "linux")]
        {
            // Advice only: without transparent huge pages nothing changes.
            let _ = map.advise(memmap2::Advice::HugePage);
        }
        Ok(Condensed { map, len })
    }

    pub fn from_slice(v: &[f64]) -> std::io::Result<Condensed> {
        let mut c = Condensed::zeros(v.len())?;
        c.copy_from_slice(v);
        Ok(c)
    }
}

impl std::ops::Deref for Condensed {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        // The map is page-aligned and a whole number of f64s long.
        &bytemuck::cast_slice(&self.map[..])[..self.len]
    }
}

impl std::ops::DerefMut for Condensed {
    fn deref_mut(&mut self) -> &mut [f64] {
        let len = self.len;
        &mut bytemuck::cast_slice_mut(&mut self.map[..])[..len]
    }
}

impl AsMut<[f64]> for Condensed {
    fn as_mut(&mut self) -> &mut [f64] {
        self
    }
}

/// The condensed Euclidean distances between the rows of `data` (`n x dim`,
/// widened to f64, summed in column order like scipy's `pdist`), in
/// parallel over rows.
pub fn pdist<T: Copy + Into<f64> + Sync>(data: &[T], dim: usize) -> std::io::Result<Condensed> {
    use rayon::prelude::*;
    let n = data.len() / dim;
    let mut out = Condensed::zeros(n * n.saturating_sub(1) / 2)?;
    // Split the output into per-row slices.
    let mut rows: Vec<(usize, &mut [f64])> = Vec::with_capacity(n);
    let mut rest: &mut [f64] = &mut out;
    for i in 0..n.saturating_sub(1) {
        let (head, tail) = rest.split_at_mut(n - i - 1);
        rows.push((i, head));
        rest = tail;
    }
    rows.into_par_iter().with_min_len(16).for_each(|(i, row)| {
        let a = &data[i * dim..(i + 1) * dim];
        for (j, slot) in row.iter_mut().enumerate() {
            let b = &data[(i + 1 + j) * dim..(i + 2 + j) * dim];
            let mut s = 0f64;
            for k in 0..dim {
                let t = a[k].into() - b[k].into();
                s += t * t;
            }
            *slot = s.sqrt();
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_pops_in_order() {
        let mut h = Heap::new(&[5.0, 3.0, 8.0, 1.0, 3.0]);
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(h.min());
            h.remove_min();
        }
        let vals: Vec<f64> = got.iter().map(|p| p.1).collect();
        assert_eq!(vals, vec![1.0, 3.0, 3.0, 5.0, 8.0]);
        let mut h = Heap::new(&[5.0, 3.0, 8.0]);
        h.change(2, 0.5);
        assert_eq!(h.min(), (2, 0.5));
        h.change(2, 9.0);
        assert_eq!(h.min(), (1, 3.0));
    }
}
