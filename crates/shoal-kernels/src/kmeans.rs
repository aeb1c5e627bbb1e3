//! k-means building blocks: the Lloyd partial aggregate, greedy k-means++
//! (scikit-learn's variant, with weights), random init, and an
//! order-independent uniform sample.

use crate::assign::{assign, sq_dist_wide, AssignScratch, Centroids};

/// For each candidate `t` (rows of `cands`): `outs[t][i] = min(|x_i - c_t|^2, cap[i])`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn dist_to_points(x: &[f32], dim: usize, cands: &[f32], cap: &[f32], outs: &mut [&mut [f32]]) {
    for (i, (row, &c)) in x.chunks_exact(dim).zip(cap).enumerate() {
        for (o, cp) in outs.iter_mut().zip(cands.chunks_exact(dim)) {
            o[i] = sq_dist_wide(row, cp).min(c);
        }
    }
}

const WIDE_LANES: usize = 16;
const WIDE_CANDS: usize = 8;

/// [`dist_to_points`] for wide rows, given the rows' 16-row groups
/// transposed (`xt`, as `kmeans_plus_plus` prepares them once): for every block of up to 8 candidates the 8 x 16 squared
/// distances accumulate in registers over the dimensions (exact differences,
/// not the expanded form). The leftover rows go through [`dist_to_points`].
fn dist_to_points_wide(
    x: &[f32],
    xt: &[f32],
    dim: usize,
    cands: &[f32],
    cap: &[f32],
    outs: &mut [&mut [f32]],
) {
    let n = x.len() / dim;
    let full = n / WIDE_LANES * WIDE_LANES;
    let mut cb = vec![0.0f32; WIDE_CANDS * dim];
    let t = cands.len() / dim;
    for c0 in (0..t).step_by(WIDE_CANDS) {
        let m = WIDE_CANDS.min(t - c0);
        // the block, padded by repeating its last candidate
        for c in 0..WIDE_CANDS {
            let src = (c0 + c.min(m - 1)) * dim;
            cb[c * dim..(c + 1) * dim].copy_from_slice(&cands[src..src + dim]);
        }
        for g in (0..full).step_by(WIDE_LANES) {
            let mut acc = [[0.0f32; WIDE_LANES]; WIDE_CANDS];
            wide_block(&xt[g * dim..(g + WIDE_LANES) * dim], dim, &cb, &mut acc);
            for (c, a) in acc.iter().enumerate().take(m) {
                let o = &mut outs[c0 + c][g..g + WIDE_LANES];
                for l in 0..WIDE_LANES {
                    o[l] = a[l].min(cap[g + l]);
                }
            }
        }
    }
    if full < n {
        let mut tails: Vec<&mut [f32]> = outs.iter_mut().map(|o| &mut o[full..n]).collect();
        dist_to_points(&x[full * dim..], dim, cands, &cap[full..n], &mut tails);
    }
}

#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn wide_block(xt: &[f32], dim: usize, cb: &[f32], acc: &mut [[f32; WIDE_LANES]; WIDE_CANDS]) {
    let mut a = *acc;
    for (q, xv) in xt.chunks_exact(WIDE_LANES).enumerate().take(dim) {
        let xv: &[f32; WIDE_LANES] = match xv.try_into() {
            Ok(v) => v,
            Err(_) => return,
        };
        for (c, ac) in a.iter_mut().enumerate() {
            let cv = cb[c * dim + q];
            for l in 0..WIDE_LANES {
                let d = xv[l] - cv;
                // one FMA on every target compiled for (AVX2+FMA, AVX-512, NEON)
                ac[l] = d.mul_add(d, ac[l]);
            }
        }
    }
    *acc = a;
}

/// `out[i] = min(|x_i - p|^2, cap[i])` (or without the cap), vectorised.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn dist_to_point(x: &[f32], dim: usize, p: &[f32], cap: Option<&[f32]>, out: &mut [f32]) {
    match cap {
        Some(cap) => {
            for ((o, row), &c) in out.iter_mut().zip(x.chunks_exact(dim)).zip(cap) {
                *o = sq_dist_wide(row, p).min(c);
            }
        }
        None => {
            for (o, row) in out.iter_mut().zip(x.chunks_exact(dim)) {
                *o = sq_dist_wide(row, p);
            }
        }
    }
}

/// How many far points a partial keeps for relocating empty clusters.
pub fn far_capacity(k: usize) -> usize {
    k.clamp(1, 32)
}

/// The points farthest from their centroids seen so far, best first by
/// (distance descending, row ascending).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FarPoints {
    cap: usize,
    /// (squared distance, row, label)
    items: Vec<(f32, u64, u32)>,
    /// The points themselves, `dim` values per item, same order as `items`.
    points: Vec<f32>,
    dim: usize,
}

impl FarPoints {
    pub fn new(cap: usize, dim: usize) -> Self {
        FarPoints {
            cap,
            items: Vec::with_capacity(cap + 1),
            points: Vec::with_capacity((cap + 1) * dim),
            dim,
        }
    }

    /// Smallest distance that would still enter (or -inf while not full).
    #[inline]
    fn threshold(&self) -> f32 {
        if self.items.len() < self.cap {
            f32::NEG_INFINITY
        } else {
            self.items.last().map_or(f32::NEG_INFINITY, |x| x.0)
        }
    }

    fn offer(&mut self, d2: f32, row: u64, label: u32, point: &[f32]) {
        if self.cap == 0 {
            return;
        }
        let pos = self
            .items
            .iter()
            .position(|&(d, r, _)| d2 > d || (d2 == d && row < r))
            .unwrap_or(self.items.len());
        if pos >= self.cap {
            return;
        }
        self.items.insert(pos, (d2, row, label));
        let at = pos * self.dim;
        self.points.splice(at..at, point.iter().copied());
        if self.items.len() > self.cap {
            self.items.pop();
            self.points.truncate(self.cap * self.dim);
        }
    }

    fn merge(&mut self, other: &FarPoints) {
        for (i, &(d, r, l)) in other.items.iter().enumerate() {
            self.offer(d, r, l, &other.points[i * self.dim..(i + 1) * self.dim]);
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Item `i`: (squared distance, row, label, point).
    pub fn get(&self, i: usize) -> (f32, u64, u32, &[f32]) {
        let (d, r, l) = self.items[i];
        (d, r, l, &self.points[i * self.dim..(i + 1) * self.dim])
    }
}

/// Lanes of the inertia sum: row `r` is added to lane `r % INERTIA_LANES`.
const INERTIA_LANES: usize = 32;

/// Copies of the per-cluster sums for `dim <= 8`: row `r` is added to copy
/// `r % SUM_LANES`, so consecutive rows of one cluster do not wait on each
/// other's read-modify-write (at small `dim` that chain, not the adds, set
/// the pace). Wider rows keep one copy: their adds are independent already.
const SUM_LANES: usize = 4;

fn sum_lanes(dim: usize) -> usize {
    if dim <= 8 {
        SUM_LANES
    } else {
        1
    }
}

/// Rows per tile of a Lloyd pass: about 128 KiB of f32 rows, so a tile's
/// rows are still in cache when their exact distances are recomputed and
/// their sums added.
pub fn tile_rows(dim: usize) -> usize {
    (32 * 1024 / dim.max(1)).max(64)
}

/// Partial state of one Lloyd pass: per-cluster f64 sums and counts, the
/// inertia (sum of squared distances, f64) and the farthest points (an
/// assignment-only partial, [`LloydPartial::counting`], keeps just the
/// counts and the inertia). Rows are
/// folded one by one in order into lanes chosen by the absolute row index
/// (sums in [`SUM_LANES`] copies at small `dim`, the inertia in
/// [`INERTIA_LANES`]), so a partition's partial does not depend on how its
/// rows were chunked.
#[derive(Debug, Clone)]
pub struct LloydPartial {
    pub k: usize,
    pub dim: usize,
    /// `lanes x k x dim`, lanes as [`sum_lanes`].
    sums: Vec<f64>,
    pub counts: Vec<u64>,
    /// Per-lane counts within one `accumulate` call (zero between calls).
    lane_counts: Vec<u64>,
    inertia_lanes: [f64; INERTIA_LANES],
    pub far: FarPoints,
}

/// Per-thread buffers for [`LloydPartial::update`].
#[derive(Debug, Default)]
pub struct LloydScratch {
    pub labels: Vec<u32>,
    pub dist2: Vec<f32>,
    pub assign: AssignScratch,
}

impl LloydPartial {
    pub fn new(k: usize, dim: usize) -> Self {
        let lanes = sum_lanes(dim);
        LloydPartial {
            k,
            dim,
            sums: vec![0.0; lanes * k * dim],
            counts: vec![0; k],
            lane_counts: vec![0; lanes * k],
            inertia_lanes: [0.0; INERTIA_LANES],
            far: FarPoints::new(far_capacity(k), dim),
        }
    }

    /// A partial for an assignment pass, which needs the counts and the
    /// inertia but not the cluster sums a centroid update needs (their f64
    /// read-modify-write per value is a quarter of a d = 2 pass) nor the
    /// far points. [`LloydPartial::centroids`] panics on it.
    pub fn counting(k: usize, dim: usize) -> Self {
        LloydPartial {
            k,
            dim,
            sums: Vec::new(),
            counts: vec![0; k],
            lane_counts: vec![0; COUNT_LANES * k],
            inertia_lanes: [0.0; INERTIA_LANES],
            far: FarPoints::new(0, dim),
        }
    }

    /// False for an assignment-only partial (no sums, no far points).
    fn keeps_sums(&self) -> bool {
        !self.sums.is_empty()
    }

    /// Adds the per-lane counts of one `accumulate` call (`lanes x k`) to
    /// `counts` and zeroes them.
    fn fold_lane_counts(&mut self) {
        let k = self.k;
        for (j, c) in self.counts.iter_mut().enumerate() {
            for lane in 0..self.lane_counts.len() / k {
                *c += std::mem::take(&mut self.lane_counts[lane * k + j]);
            }
        }
    }

    /// Assigns the rows of `x` (first row index `first_row`) to `c` and
    /// accumulates. Leaves the labels and squared distances in `scratch`.
    /// Works in tiles of about 128 KiB of rows, so the rows are still in
    /// cache when their distances are recomputed and their sums added.
    pub fn update(&mut self, x: &[f32], first_row: u64, c: &Centroids, scratch: &mut LloydScratch) {
        let d = self.dim;
        let n = x.len() / d;
        scratch.labels.resize(n, 0);
        scratch.dist2.resize(n, 0.0);
        let tile = tile_rows(d);
        for s in (0..n).step_by(tile) {
            let e = (s + tile).min(n);
            let (xt, lt, dt) = (
                &x[s * d..e * d],
                &mut scratch.labels[s..e],
                &mut scratch.dist2[s..e],
            );
            assign(xt, c, lt, dt, &mut scratch.assign);
            self.accumulate(xt, first_row + s as u64, lt, dt);
        }
    }

    /// Sum of squared distances so far (lanes added in a fixed order).
    pub fn inertia(&self) -> f64 {
        self.inertia_lanes.iter().sum()
    }

    /// Accumulates rows whose labels (each `< k`) and squared distances are known.
    pub fn accumulate(&mut self, x: &[f32], first_row: u64, labels: &[u32], dist2: &[f32]) {
        if !self.keeps_sums() {
            if self.k <= BYTE_COUNT_MAX_K {
                count_in_bytes(labels, self.k, &mut self.counts);
            } else {
                count_labels(labels, self.k, &mut self.lane_counts);
                self.fold_lane_counts();
            }
            self.add_inertia(first_row, dist2);
            return;
        }
        match self.dim {
            1 => self.accumulate_d::<1>(x, first_row, labels, dist2),
            2 => self.accumulate_d::<2>(x, first_row, labels, dist2),
            3 => self.accumulate_d::<3>(x, first_row, labels, dist2),
            4 => self.accumulate_d::<4>(x, first_row, labels, dist2),
            5 => self.accumulate_d::<5>(x, first_row, labels, dist2),
            6 => self.accumulate_d::<6>(x, first_row, labels, dist2),
            7 => self.accumulate_d::<7>(x, first_row, labels, dist2),
            8 => self.accumulate_d::<8>(x, first_row, labels, dist2),
            _ => self.accumulate_any(x, first_row, labels, dist2),
        }
    }

    fn accumulate_any(&mut self, x: &[f32], first_row: u64, labels: &[u32], dist2: &[f32]) {
        let d = self.dim;
        debug_assert_eq!(self.sums.len(), self.k * d);
        add_rows(x, d, labels, &mut self.sums, &mut self.counts);
        self.accumulate_inertia(x, first_row, labels, dist2);
    }

    fn accumulate_d<const D: usize>(
        &mut self,
        x: &[f32],
        first_row: u64,
        labels: &[u32],
        dist2: &[f32],
    ) {
        let k = self.k;
        let n = labels.len();
        let first_lane = (first_row % SUM_LANES as u64) as usize;
        add_rows_laned::<D>(
            &x[..n * D],
            labels,
            first_lane,
            k,
            &mut self.sums,
            &mut self.lane_counts,
        );
        self.fold_lane_counts();
        self.accumulate_inertia(x, first_row, labels, dist2);
    }

    /// The per-cluster sums, `k x dim` (lanes added in a fixed order).
    fn cluster_sums(&self) -> Vec<f64> {
        let kd = self.k * self.dim;
        let s = &self.sums;
        match s.len() / kd {
            1 => s.clone(),
            SUM_LANES => (0..kd)
                .map(|i| (s[i] + s[kd + i]) + (s[2 * kd + i] + s[3 * kd + i]))
                .collect(),
            l => unreachable!("{l} sum lanes"),
        }
    }

    /// Inertia lanes and far points.
    fn accumulate_inertia(&mut self, x: &[f32], first_row: u64, labels: &[u32], dist2: &[f32]) {
        let d = self.dim;
        let n = labels.len();
        self.add_inertia(first_row, &dist2[..n]);
        // Far points: rows at or above the current threshold (rare once the
        // list is full).
        let mut thr = self.far.threshold();
        let mut i = 0;
        while let Some(o) = first_at_least(&dist2[i..n], thr) {
            i += o;
            self.far.offer(
                dist2[i],
                first_row + i as u64,
                labels[i],
                &x[i * d..(i + 1) * d],
            );
            thr = self.far.threshold();
            i += 1;
        }
    }

    /// Adds each squared distance to the inertia lane of its absolute row.
    fn add_inertia(&mut self, first_row: u64, dist2: &[f32]) {
        let n = dist2.len();
        // Align to the lane of each absolute row: row r goes to lane r % 8.
        let lead = ((INERTIA_LANES as u64 - first_row % INERTIA_LANES as u64)
            % INERTIA_LANES as u64) as usize;
        let lead = lead.min(n);
        for (i, &e) in dist2[..lead].iter().enumerate() {
            self.inertia_lanes[((first_row + i as u64) % INERTIA_LANES as u64) as usize] +=
                e as f64;
        }
        add_to_lanes(&dist2[lead..n], &mut self.inertia_lanes);
    }

    /// Appends a partial of later rows.
    pub fn merge(&mut self, other: &LloydPartial) {
        assert_eq!(
            self.keeps_sums(),
            other.keeps_sums(),
            "merging unlike partials"
        );
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        for (a, b) in self.inertia_lanes.iter_mut().zip(&other.inertia_lanes) {
            *a += b;
        }
        self.far.merge(&other.far);
    }

    /// Each cluster's mean in f64 (`k x dim`; zeros for an empty cluster),
    /// without relocation.
    pub fn means(&self) -> Vec<f64> {
        assert!(self.keeps_sums(), "means of an assignment-only partial");
        let d = self.dim;
        let mut m = self.cluster_sums();
        for (j, &c) in self.counts.iter().enumerate() {
            for v in &mut m[j * d..(j + 1) * d] {
                *v = if c > 0 { *v / c as f64 } else { 0.0 };
            }
        }
        m
    }

    /// New centroids: cluster means, and empty clusters relocated to the
    /// farthest points as scikit-learn does (each far point leaves its old
    /// cluster's sum and becomes the empty cluster's centre). Returns the
    /// centroids (row-major) and how many clusters were relocated.
    pub fn centroids(&self, old: &[f32]) -> (Vec<f32>, usize) {
        assert!(self.keeps_sums(), "centroids of an assignment-only partial");
        let (k, d) = (self.k, self.dim);
        let mut sums = self.cluster_sums();
        let mut counts = self.counts.clone();
        let empty: Vec<usize> = (0..k).filter(|&j| counts[j] == 0).collect();
        let mut relocated = 0;
        for (&j, i) in empty.iter().zip(0..self.far.len()) {
            let (_, _, from, p) = self.far.get(i);
            let from = from as usize;
            if counts[from] <= 1 {
                continue; // would empty another cluster
            }
            for t in 0..d {
                sums[from * d + t] -= p[t] as f64;
                sums[j * d + t] = p[t] as f64;
            }
            counts[from] -= 1;
            counts[j] = 1;
            relocated += 1;
        }
        let mut out = vec![0.0f32; k * d];
        for j in 0..k {
            for t in 0..d {
                out[j * d + t] = if counts[j] > 0 {
                    (sums[j * d + t] / counts[j] as f64) as f32
                } else {
                    old[j * d + t]
                };
            }
        }
        (out, relocated)
    }
}

/// Adds each row of `x` (`d` wide) to the sums (`k x d`) of its label and
/// counts it.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn add_rows(x: &[f32], d: usize, labels: &[u32], sums: &mut [f64], counts: &mut [u64]) {
    for (row, &l) in x.chunks_exact(d).zip(labels) {
        let l = l as usize;
        let s = &mut sums[l * d..(l + 1) * d];
        for (a, &v) in s.iter_mut().zip(row) {
            *a += v as f64;
        }
        counts[l] += 1;
    }
}

/// Copies of the counts kept by [`count_labels`].
const COUNT_LANES: usize = 4;

/// Counts each label (all `< k`) in `counts` (`COUNT_LANES x k`), label `i`
/// in copy `i % COUNT_LANES`, so runs of one label do not wait on each
/// other's increment.
fn count_labels(labels: &[u32], k: usize, counts: &mut [u64]) {
    let (body, tail) = labels.as_chunks::<COUNT_LANES>();
    let (lanes, _) = counts.split_at_mut(COUNT_LANES * k);
    let (c0, rest) = lanes.split_at_mut(k);
    let (c1, rest) = rest.split_at_mut(k);
    let (c2, c3) = rest.split_at_mut(k);
    for l in body {
        c0[l[0] as usize] += 1;
        c1[l[1] as usize] += 1;
        c2[l[2] as usize] += 1;
        c3[l[3] as usize] += 1;
    }
    for &l in tail {
        c0[l as usize] += 1;
    }
}

/// Most clusters [`count_in_bytes`] counts (four words of four byte counters).
const BYTE_COUNT_MAX_K: usize = 16;

/// Counts each label (all `< k <= 16`) into `counts` (`k` long), without
/// a load and store per label: 16 lanes of `u32` words, each word holding
/// four 8-bit counters (label `j` in word `j / 4`, byte `j % 4`), each
/// label adding `1 << (8 (j % 4))` to its word through a variable shift
/// (one that is 0 for the other words), so the loop vectorises. The bytes
/// are added into `counts` every 255 blocks of 16 labels, before one can
/// overflow. Twice as fast as [`count_labels`] at k = 10.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn count_in_bytes(labels: &[u32], k: usize, counts: &mut [u64]) {
    assert!(k <= BYTE_COUNT_MAX_K && counts.len() >= k);
    let words = k.div_ceil(4);
    let (body, tail) = labels.as_chunks::<16>();
    for run in body.chunks(255) {
        let mut acc = [[0u32; 16]; 4];
        for l in run {
            for (w, a) in acc.iter_mut().enumerate().take(words) {
                for i in 0..16 {
                    // label 4w + b gives t = 8b < 32; labels of other
                    // words give t >= 32 (wrapping below zero too)
                    let t = l[i].wrapping_mul(8).wrapping_sub(32 * w as u32);
                    a[i] += if t < 32 { 1 << t } else { 0 };
                }
            }
        }
        for (w, a) in acc.iter().enumerate().take(words) {
            for b in (0..4).filter(|b| 4 * w + b < k) {
                counts[4 * w + b] += a
                    .iter()
                    .map(|&v| ((v >> (8 * b)) & 0xff) as u64)
                    .sum::<u64>();
            }
        }
    }
    for &l in tail {
        counts[l as usize] += 1;
    }
}

/// Adds `v[i]` to `lanes[i % INERTIA_LANES]`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn add_to_lanes(v: &[f32], lanes: &mut [f64; INERTIA_LANES]) {
    let (body, tail) = v.as_chunks::<INERTIA_LANES>();
    for c in body {
        for (lane, &e) in lanes.iter_mut().zip(c) {
            *lane += e as f64;
        }
    }
    for (lane, &e) in lanes.iter_mut().zip(tail) {
        *lane += e as f64;
    }
}

/// The index of the first value at or above `thr`; a block of 64 is looked
/// into only when its largest value (lane-wise maxima, so it vectorises)
/// reaches `thr`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn first_at_least(v: &[f32], thr: f32) -> Option<usize> {
    let (blocks, tail) = v.as_chunks::<64>();
    for (b, blk) in blocks.iter().enumerate() {
        let mut m = [f32::NEG_INFINITY; 16];
        for c in blk.as_chunks::<16>().0 {
            for t in 0..16 {
                m[t] = if c[t] > m[t] { c[t] } else { m[t] };
            }
        }
        if m.iter().any(|&e| e >= thr) {
            if let Some(o) = blk.iter().position(|&e| e >= thr) {
                return Some(b * 64 + o);
            }
        }
    }
    let done = blocks.len() * 64;
    tail.iter().position(|&e| e >= thr).map(|o| done + o)
}

/// Adds each row of `x` (`D` wide) to the sums of its label in lane
/// `(first_lane + i) % SUM_LANES` (`sums` is `SUM_LANES x k x D`) and counts it
/// in `counts` (`SUM_LANES x k`). Labels must be below `k`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn add_rows_laned<const D: usize>(
    x: &[f32],
    labels: &[u32],
    first_lane: usize,
    k: usize,
    sums: &mut [f64],
    counts: &mut [u64],
) {
    // (a lane-crossing label would land in another lane's sums unnoticed)
    assert!((labels.iter().fold(0, |m, &l| m.max(l)) as usize) < k);
    let (rows, _) = x.as_chunks::<D>();
    let (sums, _) = sums.as_chunks_mut::<D>();
    let n = labels.len().min(rows.len());
    let lead = ((SUM_LANES - first_lane) % SUM_LANES).min(n);
    let mut add = |lane: usize, l: u32, row: &[f32; D]| {
        let j = lane * k + l as usize;
        let s = &mut sums[j];
        for t in 0..D {
            s[t] += row[t] as f64;
        }
        counts[j] += 1;
    };
    for i in 0..lead {
        add(first_lane + i, labels[i], &rows[i]);
    }
    let (lb, lt) = labels[lead..n].as_chunks::<SUM_LANES>();
    let body = &rows[lead..n];
    for (ls, rs) in lb.iter().zip(body.chunks_exact(SUM_LANES)) {
        for lane in 0..SUM_LANES {
            add(lane, ls[lane], &rs[lane]);
        }
    }
    let done = lb.len() * SUM_LANES;
    for (lane, (&l, row)) in lt.iter().zip(&body[done..]).enumerate() {
        add(lane, l, row);
    }
}

/// SplitMix64: a fast, well-mixed hash used for seeded, order-independent randomness.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The sampling key of a row: uniform, fixed by (seed, row), independent of
/// the order in which rows are seen. The seed's hash is the same for every
/// row (hoisted out of loops), so a key costs one SplitMix64 finaliser.
#[inline]
pub fn row_key(seed: u64, row: u64) -> u64 {
    splitmix64(splitmix64(seed) ^ row)
}

/// A uniform sample without replacement of `cap` rows: the rows with the
/// smallest keys (bottom-k sampling). Partials merge in any order to the
/// same sample, so it is identical for any thread count and chunking.
///
/// Knowing the total row count `n`, only rows whose key is below
/// `tau = (cap + 6 sqrt(cap) + 16) / n` (as a fraction of the key range) are
/// kept. When at least `cap` rows pass (all but certainly: the count is six
/// standard deviations above `cap`), the result is exactly the bottom-`cap`
/// sample; otherwise it is every row under `tau`, which is still a uniform
/// sample, of slightly fewer rows. Two ways to find those rows, by `tau`:
/// - `tau > 1/64` (small files): every row's key is [`row_key`] (a hash
///   and a compare a row).
/// - `tau <= 1/64`: rows fall in blocks of [`SKIP_BLOCK`] by absolute
///   index; a generator seeded by (seed, block) walks each block by
///   geometric gaps, so every row is taken with probability `tau`
///   independently, and each row taken gets a key uniform below `tau`:
///   the same distribution as hashing every row and keeping the keys
///   below `tau`, at a cost of about `1 + tau * SKIP_BLOCK` draws a block
///   instead of a hash a row.
#[derive(Debug, Clone)]
pub struct Sample {
    cap: usize,
    dim: usize,
    seed: u64,
    tau: u64,
    /// `ln(1 - tau)` (tau as a fraction) when rows are found by skipping.
    skip_log: Option<f64>,
    /// Rows the sample holds at the end of a pass with a margin (the
    /// accumulator reserves this once instead of growing by doubling).
    expect: usize,
    keys: Vec<(u64, u64)>,
    points: Vec<f32>,
}

/// Rows per block of the skipping sampler.
pub const SKIP_BLOCK: u64 = 4096;

/// The skipping sampler's draws for one block: a [`Uniform01`] started
/// from (seed, block).
fn block_draws(seed: u64, block: u64) -> Uniform01 {
    Uniform01::from_state(splitmix64(splitmix64(seed ^ 0x5EED_5A3B_1E00_0001) ^ block))
}

const KEY_BLOCK: usize = 256;

/// Lanes of [`row_keys`]' minima: key `i` of a block is in lane
/// `i % KEY_LANES`.
const KEY_LANES: usize = 16;

/// `out[i] = row_key(seed, first + i)`; returns the smallest key of each
/// lane (keys `t, t + KEY_LANES, ...`). Rows run along the vector lanes, so
/// the keys are stored contiguously (grouping consecutive keys instead
/// made the compiler vectorise across groups and store with scatters).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx2+fma",
    "x86_64+avx2+fma"
))]
fn row_keys(seed: u64, first: u64, out: &mut [u64; KEY_BLOCK]) -> [u64; KEY_LANES] {
    let mut low = [u64::MAX; KEY_LANES];
    for (g, o) in out.as_chunks_mut::<KEY_LANES>().0.iter_mut().enumerate() {
        let base = first + (g * KEY_LANES) as u64;
        for t in 0..KEY_LANES {
            let v = row_key(seed, base + t as u64);
            o[t] = v;
            low[t] = low[t].min(v);
        }
    }
    low
}

impl Sample {
    pub fn new(cap: usize, dim: usize, seed: u64, total_rows: u64) -> Self {
        let want = cap as f64 + 6.0 * (cap as f64).sqrt() + 16.0;
        let frac = want / total_rows.max(1) as f64;
        let tau = if frac >= 1.0 {
            u64::MAX
        } else {
            (frac * u64::MAX as f64) as u64
        };
        let skip_log = (frac <= 1.0 / 64.0).then(|| (-frac).ln_1p());
        // rows taken ~ binomial with mean `want`: 6 standard deviations more
        let expect = (want + 6.0 * want.sqrt()).min(total_rows as f64) as usize;
        Sample {
            cap,
            dim,
            seed,
            tau,
            skip_log,
            expect,
            keys: Vec::new(),
            points: Vec::new(),
        }
    }

    /// The rows taken by the skipping sampler among `first_row .. end`
    /// (see [`Sample`]), in row order, with their keys.
    fn walk_skipping(&self, first_row: u64, end: u64, log_q: f64, mut take: impl FnMut(u64, u64)) {
        let mut block = first_row / SKIP_BLOCK;
        while block * SKIP_BLOCK < end {
            let mut g = block_draws(self.seed, block);
            let block_end = (block + 1) * SKIP_BLOCK;
            let mut row = block * SKIP_BLOCK;
            loop {
                // rows skipped before the next one taken: geometric
                let gap = (g.next_open().ln() / log_q).floor();
                if gap >= SKIP_BLOCK as f64 {
                    break;
                }
                row += gap as u64;
                if row >= block_end.min(end) {
                    break;
                }
                let key = ((g.next_u64() as u128 * (self.tau as u128 + 1)) >> 64) as u64;
                if row >= first_row {
                    take(key, row);
                }
                row += 1;
            }
            block += 1;
        }
    }

    fn update_skipping(&mut self, x: &[f32], first_row: u64, log_q: f64) {
        let d = self.dim;
        let end = first_row + (x.len() / d) as u64;
        let (mut keys, mut points) = (
            std::mem::take(&mut self.keys),
            std::mem::take(&mut self.points),
        );
        self.walk_skipping(first_row, end, log_q, |key, row| {
            let r = (row - first_row) as usize;
            keys.push((key, row));
            points.extend_from_slice(&x[r * d..(r + 1) * d]);
        });
        (self.keys, self.points) = (keys, points);
    }

    /// The rows the sample takes among all `total_rows` (the count given to
    /// [`Sample::new`]) as `(key, row)` in row order, known without the
    /// data when the sampler skips (`tau <= 1/64`, see [`Sample`]): a source
    /// with random access reads just these rows and hands them to
    /// [`Sample::add_planned`], for the same sample as a pass over every
    /// row. `None` when every row's key is hashed (small files).
    pub fn planned(&self, total_rows: u64) -> Option<Vec<(u64, u64)>> {
        let log_q = self.skip_log.filter(|_| self.cap > 0)?;
        let mut out = Vec::new();
        self.walk_skipping(0, total_rows, log_q, |key, row| out.push((key, row)));
        Some(out)
    }

    /// Adds the rows of [`Sample::planned`]: `x` holds their values in
    /// that order.
    pub fn add_planned(&mut self, planned: &[(u64, u64)], x: &[f32]) {
        assert_eq!(x.len(), planned.len() * self.dim, "one row per planned row");
        self.keys.extend_from_slice(planned);
        self.points.extend_from_slice(x);
    }

    pub fn update(&mut self, x: &[f32], first_row: u64) {
        if self.cap == 0 {
            return;
        }
        if let Some(log_q) = self.skip_log {
            self.update_skipping(x, first_row, log_q);
            return;
        }
        let d = self.dim;
        let n = x.len() / d;
        // Keys in blocks (the hashing vectorises), then a scan for the few
        // at or below the threshold.
        let mut keys = [0u64; KEY_BLOCK];
        let mut start = 0;
        while start < n {
            let m = KEY_BLOCK.min(n - start);
            let low = row_keys(self.seed, first_row + start as u64, &mut keys);
            // (most lanes hold no key at or below the threshold; the order
            // of the pushes does not matter, `finish` sorts by key)
            for (t, &l) in low.iter().enumerate() {
                if l > self.tau {
                    continue;
                }
                for i in (t..m).step_by(KEY_LANES) {
                    if keys[i] <= self.tau {
                        let r = start + i;
                        self.keys.push((keys[i], first_row + r as u64));
                        self.points.extend_from_slice(&x[r * d..(r + 1) * d]);
                    }
                }
            }
            start += m;
        }
    }

    pub fn merge(&mut self, other: &Sample) {
        // The accumulator of a pass reserves the whole sample once: growth
        // by doubling would hold up to twice the sample's rows.
        let rows = self.keys.len() + other.keys.len();
        if rows > self.keys.capacity() && rows <= self.expect {
            self.keys.reserve_exact(self.expect - self.keys.len());
            self.points
                .reserve_exact((self.expect - self.keys.len()) * self.dim);
        }
        self.keys.extend_from_slice(&other.keys);
        self.points.extend_from_slice(&other.points);
    }

    /// The sampled points in key order (a random order fixed by the seed),
    /// the first `cap` of them: the rows are permuted in place (no second
    /// copy of the sample), then the rest is cut off.
    pub fn finish(self) -> Vec<f32> {
        let Sample {
            keys,
            mut points,
            cap,
            dim: d,
            ..
        } = self;
        let n = keys.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_unstable_by_key(|&i| keys[i]);
        drop(keys);
        // out[j] = in[order[j]], following each cycle of the permutation
        let mut done = vec![false; n];
        let mut tmp = vec![0f32; d];
        for start in 0..n {
            if done[start] || order[start] == start {
                continue;
            }
            tmp.copy_from_slice(&points[start * d..(start + 1) * d]);
            let mut j = start;
            loop {
                done[j] = true;
                let from = order[j];
                if from == start {
                    points[j * d..(j + 1) * d].copy_from_slice(&tmp);
                    break;
                }
                points.copy_within(from * d..(from + 1) * d, j * d);
                j = from;
            }
        }
        points.truncate(cap.min(n) * d);
        points.shrink_to_fit();
        points
    }

    /// Rows held (before truncation to `cap`).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Why an initialisation could not produce `k` centroids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitError {
    /// The points have fewer distinct values than `k`.
    TooFewDistinct { distinct: usize, k: usize },
}

/// A seeded stream of uniform f64 in [0, 1).
#[derive(Debug, Clone)]
pub struct Uniform01 {
    state: u64,
}

impl Uniform01 {
    pub fn new(seed: u64, stream: u64) -> Self {
        Uniform01 {
            state: splitmix64(seed ^ splitmix64(stream ^ 0xA5A5_5A5A)),
        }
    }

    /// A stream starting from a raw state ([`Uniform01::state`]).
    pub fn from_state(state: u64) -> Self {
        Uniform01 { state }
    }

    /// The raw state: [`Uniform01::from_state`] continues the stream.
    pub fn state(&self) -> u64 {
        self.state
    }

    /// The next 64 random bits (SplitMix64 over a counter).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix64(self.state)
    }

    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in (0, 1] (never 0, so its logarithm is finite).
    fn next_open(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

/// Greedy k-means++ (Arthur & Vassilvitskii with scikit-learn's
/// `2 + ln k` local trials) on in-memory points `x` with optional weights.
/// Deterministic for a given `rng`; parallel over fixed pieces of `x`.
pub fn kmeans_plus_plus(
    x: &[f32],
    dim: usize,
    weights: Option<&[f64]>,
    k: usize,
    rng: &mut Uniform01,
) -> Result<Vec<f32>, InitError> {
    use rayon::prelude::*;
    let n = x.len() / dim;
    assert!(n >= 1 && k >= 1);
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    let trials = 2 + (k as f64).ln() as usize;
    const PIECE: usize = 4096;

    // first centre: a point drawn with probability proportional to its weight
    let total_w: f64 = (0..n).map(w).sum();
    let first = pick(&(0..n).map(w).collect::<Vec<_>>(), rng.next_f64() * total_w);
    let mut centers: Vec<f32> = x[first * dim..(first + 1) * dim].to_vec();
    let mut closest = vec![0.0f32; n];
    closest
        .par_chunks_mut(PIECE)
        .zip(x.par_chunks(PIECE * dim))
        .for_each(|(o, xb)| dist_to_point(xb, dim, &centers[..dim], None, o));
    // the weighted sum of one piece's distances (`b`: the piece's index)
    let piece_sum =
        |b: usize, d2: &[f32]| laned_sum(d2, weights.map(|w| &w[b * PIECE..b * PIECE + d2.len()]));
    let pot_of = |d2: &[f32]| -> f64 {
        d2.par_chunks(PIECE)
            .enumerate()
            .map(|(b, c)| piece_sum(b, c))
            .collect::<Vec<f64>>()
            .iter()
            .sum()
    };
    let mut pot = pot_of(&closest);
    // Wide rows: every group of 16 rows transposed once (`xt[q * 16 + l]`
    // within a group), for `dist_to_points_wide`.
    let xt_all: Vec<f32> = if dim > 8 {
        // as long as `x`, so its pieces line up with those of `x`; the last
        // rows (fewer than 16) are not transposed (they go the narrow way)
        let mut xt = vec![0.0f32; n * dim];
        xt.par_chunks_exact_mut(WIDE_LANES * dim)
            .zip(x.par_chunks_exact(WIDE_LANES * dim))
            .for_each(|(t, g)| {
                for (l, row) in g.chunks_exact(dim).enumerate() {
                    for (q, &v) in row.iter().enumerate() {
                        t[q * WIDE_LANES + l] = v;
                    }
                }
            });
        xt
    } else {
        Vec::new()
    };
    // the trials' distances, and each trial's potential by piece (each
    // piece by `piece_sum`, then the pieces in order: as `pot_of`)
    let pieces = n.div_ceil(PIECE);
    let mut d2s = vec![0.0f32; trials * n];
    let mut piece_pots = vec![0.0f64; pieces * trials];
    let mut thresholds: Vec<(f64, usize)> = Vec::with_capacity(trials);
    for c in 1..k {
        if pot <= 0.0 {
            return Err(InitError::TooFewDistinct { distinct: c, k });
        }
        // each trial: the first row whose running potential exceeds a
        // uniform draw below the total (the draws taken in order, matched in
        // one sweep, increasing)
        thresholds.clear();
        thresholds.extend((0..trials).map(|t| (rng.next_f64() * pot, t)));
        thresholds.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut cands = vec![n - 1; trials];
        {
            let mut acc = 0.0;
            let mut next = 0;
            for (i, &v) in closest.iter().enumerate() {
                acc += v as f64 * w(i);
                while next < trials && thresholds[next].0 < acc {
                    cands[thresholds[next].1] = i;
                    next += 1;
                }
                if next == trials {
                    break;
                }
            }
        }
        // All trials in one sweep over x: each row is read once and meets
        // every candidate while it is in L1 (the sweep is memory-bound).
        let cand_pts: Vec<f32> = cands
            .iter()
            .flat_map(|&cid| x[cid * dim..(cid + 1) * dim].iter().copied())
            .collect();
        // pieces of each trial's output, zipped piece by piece
        let mut per_piece: Vec<Vec<&mut [f32]>> =
            (0..pieces).map(|_| Vec::with_capacity(trials)).collect();
        for v in d2s.chunks_mut(n) {
            for (pi, chunk) in v.chunks_mut(PIECE).enumerate() {
                per_piece[pi].push(chunk);
            }
        }
        let piece_pot = |pi: usize, outs: &[&mut [f32]], pp: &mut [f64]| {
            for (p, o) in pp.iter_mut().zip(outs) {
                *p = piece_sum(pi, o);
            }
        };
        if dim > 8 {
            // Wide rows: 16 rows at a time, transposed, against blocks of 8
            // candidates held in registers.
            per_piece
                .par_iter_mut()
                .zip(x.par_chunks(PIECE * dim))
                .zip(closest.par_chunks(PIECE))
                .zip(xt_all.par_chunks(PIECE * dim))
                .zip(piece_pots.par_chunks_mut(trials))
                .enumerate()
                .for_each(|(pi, ((((outs, xb), old), xtb), pp))| {
                    dist_to_points_wide(xb, xtb, dim, &cand_pts, old, outs);
                    piece_pot(pi, outs, pp);
                });
        } else {
            per_piece
                .par_iter_mut()
                .zip(x.par_chunks(PIECE * dim))
                .zip(closest.par_chunks(PIECE))
                .zip(piece_pots.par_chunks_mut(trials))
                .enumerate()
                .for_each(|(pi, (((outs, xb), old), pp))| {
                    dist_to_points(xb, dim, &cand_pts, old, outs);
                    piece_pot(pi, outs, pp);
                });
        }
        drop(per_piece);
        let mut best: Option<(f64, usize, usize)> = None;
        for (ti, &cid) in cands.iter().enumerate() {
            let p: f64 = piece_pots.iter().skip(ti).step_by(trials).sum();
            if best.as_ref().is_none_or(|b| p < b.0) {
                best = Some((p, cid, ti));
            }
        }
        let Some((p, cid, ti)) = best else {
            return Err(InitError::TooFewDistinct { distinct: c, k });
        };
        pot = p;
        closest.copy_from_slice(&d2s[ti * n..(ti + 1) * n]);
        centers.extend_from_slice(&x[cid * dim..(cid + 1) * dim]);
    }
    Ok(centers)
}

/// `sum(v_i w_i)` (`w_i = 1` without weights) in f64, in 8 lanes (row `i`
/// to lane `i % 8`, the lanes added pairwise): a single chain of dependent
/// adds ran at one row per add latency, the greater part of a k-means++
/// step for small `d`. Fixed order, so the same for any thread count.
fn laned_sum(v: &[f32], w: Option<&[f64]>) -> f64 {
    let mut acc = [0.0f64; 8];
    let (vc, vr) = v.as_chunks::<8>();
    match w {
        None => {
            for c in vc {
                for l in 0..8 {
                    acc[l] += c[l] as f64;
                }
            }
            for (l, &x) in vr.iter().enumerate() {
                acc[l] += x as f64;
            }
        }
        Some(w) => {
            let (wc, wr) = w.as_chunks::<8>();
            for (c, ww) in vc.iter().zip(wc) {
                for l in 0..8 {
                    acc[l] += c[l] as f64 * ww[l];
                }
            }
            for (l, (&x, &ww)) in vr.iter().zip(wr).enumerate() {
                acc[l] += x as f64 * ww;
            }
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// Index `i` with `cum(w)[i-1] <= r < cum(w)[i]`.
fn pick(w: &[f64], r: f64) -> usize {
    let mut acc = 0.0;
    for (i, &v) in w.iter().enumerate() {
        acc += v;
        if r < acc {
            return i;
        }
    }
    w.len() - 1
}

/// `k` distinct points of `x` chosen uniformly (partial Fisher–Yates over
/// row indices), refusing when fewer than `k` distinct values exist.
pub fn random_init(
    x: &[f32],
    dim: usize,
    k: usize,
    rng: &mut Uniform01,
) -> Result<Vec<f32>, InitError> {
    let n = x.len() / dim;
    let mut idx: Vec<usize> = (0..n).collect();
    let mut out: Vec<f32> = Vec::with_capacity(k * dim);
    let mut taken = 0;
    let mut i = 0;
    while taken < k && i < n {
        let j = i + ((rng.next_f64() * (n - i) as f64) as usize).min(n - i - 1);
        idx.swap(i, j);
        let p = &x[idx[i] * dim..(idx[i] + 1) * dim];
        if !out.chunks_exact(dim).any(|c| c == p) {
            out.extend_from_slice(p);
            taken += 1;
        }
        i += 1;
    }
    if taken < k {
        return Err(InitError::TooFewDistinct { distinct: taken, k });
    }
    Ok(out)
}

/// Lloyd's algorithm on in-memory points, for the sample: runs until the
/// total squared centre shift is at most `tol` or `max_iter` iterations.
/// Returns (centroids, inertia of the returned centroids, iterations).
pub fn lloyd_in_memory(
    x: &[f32],
    dim: usize,
    init: Vec<f32>,
    max_iter: usize,
    tol: f64,
) -> (Vec<f32>, f64, usize) {
    use rayon::prelude::*;
    const PIECE: usize = 8192;
    let k = init.len() / dim;
    let pass = |c: &Centroids| -> LloydPartial {
        let parts: Vec<LloydPartial> = x
            .par_chunks(PIECE * dim)
            .enumerate()
            .map(|(b, xb)| {
                let mut p = LloydPartial::new(k, dim);
                let mut s = LloydScratch::default();
                p.update(xb, (b * PIECE) as u64, c, &mut s);
                p
            })
            .collect();
        let mut acc = LloydPartial::new(k, dim);
        for p in &parts {
            acc.merge(p);
        }
        acc
    };
    let mut cent = init;
    let mut iters = 0;
    while iters < max_iter {
        let acc = pass(&Centroids::new(cent.clone(), dim));
        let (next, _) = acc.centroids(&cent);
        iters += 1;
        let shift: f64 = next
            .iter()
            .zip(&cent)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum();
        cent = next;
        if shift <= tol {
            break;
        }
    }
    let inertia = pass(&Centroids::new(cent.clone(), dim)).inertia();
    (cent, inertia, iters)
}

// ---- encoding, for partials made in other processes ([`crate::wire`]) ----

impl FarPoints {
    pub fn encode(&self, e: &mut crate::wire::Enc) {
        e.usize(self.cap);
        e.usize(self.dim);
        e.usize(self.items.len());
        for &(d2, row, label) in &self.items {
            e.f32(d2);
            e.u64(row);
            e.u64(label as u64);
        }
        e.f32s(&self.points);
    }

    pub fn decode(d: &mut crate::wire::Dec<'_>) -> Result<Self, crate::wire::WireError> {
        use crate::wire::WireError;
        let (cap, dim) = (d.usize()?, d.usize()?);
        let n = d.usize()?;
        if n > cap {
            return Err(WireError(format!("{n} far points, capacity {cap}")));
        }
        let mut items = Vec::with_capacity(cap + 1);
        for _ in 0..n {
            let (d2, row, label) = (d.f32()?, d.u64()?, d.u64()?);
            let label = u32::try_from(label).map_err(|_| WireError("label".into()))?;
            items.push((d2, row, label));
        }
        let mut points = d.f32s()?;
        crate::wire::expect_len("far points", points.len(), n * dim)?;
        points.reserve((cap + 1) * dim - points.len());
        Ok(FarPoints {
            cap,
            items,
            points,
            dim,
        })
    }
}

impl LloydPartial {
    /// Appends this partial, bit for bit (between `accumulate` calls, when
    /// the per-call lane counts are zero).
    pub fn encode(&self, e: &mut crate::wire::Enc) {
        e.usize(self.k);
        e.usize(self.dim);
        e.f64s(&self.sums);
        e.u64s(&self.counts);
        e.u64s(&self.lane_counts);
        self.inertia_lanes.iter().for_each(|&v| e.f64(v));
        self.far.encode(e);
    }

    pub fn decode(d: &mut crate::wire::Dec<'_>) -> Result<Self, crate::wire::WireError> {
        use crate::wire::expect_len;
        let (k, dim) = (d.usize()?, d.usize()?);
        let sums = d.f64s()?;
        if !sums.is_empty() {
            expect_len("sums", sums.len(), sum_lanes(dim) * k * dim)?;
        }
        let counts = d.u64s()?;
        expect_len("counts", counts.len(), k)?;
        let lane_counts = d.u64s()?;
        if k == 0 || lane_counts.len() % k != 0 {
            return Err(crate::wire::WireError("lane counts".into()));
        }
        let mut inertia_lanes = [0.0; INERTIA_LANES];
        for v in &mut inertia_lanes {
            *v = d.f64()?;
        }
        let far = FarPoints::decode(d)?;
        expect_len("far point dimension", far.dim, dim)?;
        Ok(LloydPartial {
            k,
            dim,
            sums,
            counts,
            lane_counts,
            inertia_lanes,
            far,
        })
    }
}

impl Sample {
    pub fn encode(&self, e: &mut crate::wire::Enc) {
        e.usize(self.cap);
        e.usize(self.dim);
        e.u64(self.seed);
        e.u64(self.tau);
        e.opt_f64(self.skip_log);
        e.usize(self.expect);
        e.usize(self.keys.len());
        for &(a, b) in &self.keys {
            e.u64(a);
            e.u64(b);
        }
        e.f32s(&self.points);
    }

    pub fn decode(d: &mut crate::wire::Dec<'_>) -> Result<Self, crate::wire::WireError> {
        let (cap, dim, seed, tau) = (d.usize()?, d.usize()?, d.u64()?, d.u64()?);
        let skip_log = d.opt_f64()?;
        let expect = d.usize()?;
        let n = d.usize()?;
        let mut keys = Vec::with_capacity(n.min(1 << 24));
        for _ in 0..n {
            keys.push((d.u64()?, d.u64()?));
        }
        let points = d.f32s()?;
        crate::wire::expect_len("sample points", points.len(), n * dim)?;
        Ok(Sample {
            cap,
            dim,
            seed,
            tau,
            skip_log,
            expect,
            keys,
            points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wide rows (d > 8) take the transposed 16-row path; rows past the last
    /// whole group, and a last piece holding only such rows, must still get
    /// their distances: here the only points besides the origin are the 5
    /// rows after 4096 identical ones, so k = 6 needs every one of them.
    /// The laned sum equals the exact sum where every partial sum is an
    /// integer below 2^53 (so no order rounds), with and without weights,
    /// for lengths off the lane count.
    #[test]
    fn laned_sum_is_the_sum() {
        for n in [0usize, 1, 7, 8, 9, 4095, 4096] {
            let v: Vec<f32> = (0..n).map(|i| (i % 7) as f32 * 1024.0).collect();
            let w: Vec<f64> = (0..n).map(|i| (i % 3) as f64).collect();
            let plain: u64 = (0..n).map(|i| (i % 7) as u64 * 1024).sum();
            let weighted: u64 = (0..n).map(|i| (i % 7) as u64 * 1024 * (i % 3) as u64).sum();
            assert_eq!(laned_sum(&v, None), plain as f64, "n = {n}");
            assert_eq!(
                laned_sum(&v, Some(&w)),
                weighted as f64,
                "n = {n}, weighted"
            );
        }
    }

    #[test]
    fn kmeans_plus_plus_wide_rows_reach_the_last_rows() {
        let d = 12;
        let n = 4096 + 5;
        let mut x = vec![0.0f32; n * d];
        for (t, row) in x.chunks_exact_mut(d).skip(4096).enumerate() {
            row[t] = 100.0 + t as f32;
        }
        for seed in 0..5 {
            let mut rng = Uniform01::new(seed, 0);
            let c = kmeans_plus_plus(&x, d, None, 6, &mut rng).unwrap();
            let mut rows: Vec<Vec<u32>> = c
                .chunks_exact(d)
                .map(|r| r.iter().map(|v| v.to_bits()).collect())
                .collect();
            rows.sort();
            rows.dedup();
            assert_eq!(rows.len(), 6, "seed {seed}: centres not distinct");
        }
        // and the wide distances equal the narrow ones up to rounding
        let mut s = 7u64;
        let y: Vec<f32> = (0..(100 * 20))
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                (s >> 40) as f32 / (1u64 << 20) as f32 - 8.0
            })
            .collect();
        let cands = &y[..3 * 20];
        let cap = vec![f32::INFINITY; 100];
        let mut xt = vec![0.0f32; 100 * 20];
        for (t, g) in xt.chunks_exact_mut(16 * 20).zip(y.chunks_exact(16 * 20)) {
            for (l, row) in g.chunks_exact(20).enumerate() {
                for (q, &v) in row.iter().enumerate() {
                    t[q * 16 + l] = v;
                }
            }
        }
        let (mut a, mut b) = (vec![vec![0.0f32; 100]; 3], vec![vec![0.0f32; 100]; 3]);
        let mut av: Vec<&mut [f32]> = a.iter_mut().map(|v| &mut v[..]).collect();
        let mut bv: Vec<&mut [f32]> = b.iter_mut().map(|v| &mut v[..]).collect();
        dist_to_points_wide(&y, &xt, 20, cands, &cap, &mut av);
        dist_to_points(&y, 20, cands, &cap, &mut bv);
        for (ra, rb) in a.iter().zip(&b) {
            for (p, q) in ra.iter().zip(rb) {
                assert!((p - q).abs() <= 1e-5 * q.max(1.0), "{p} vs {q}");
            }
        }
    }

    #[test]
    fn sample_is_order_independent_and_the_exact_bottom_k() {
        // (tau = 176 / 5000 > 1/64: every row's key is hashed)
        let n = 5_000u64;
        let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let mut a = Sample::new(100, 1, 7, n);
        a.update(&x, 0);
        let mut b1 = Sample::new(100, 1, 7, n);
        b1.update(&x[..1_234], 0);
        let mut b2 = Sample::new(100, 1, 7, n);
        b2.update(&x[1_234..], 1_234);
        // merge in the other order
        b2.merge(&b1);
        let got = a.finish();
        assert_eq!(got, b2.finish());
        assert_eq!(got.len(), 100);
        // the oracle: sort every row by its key, keep the first 100
        let mut all: Vec<(u64, u64)> = (0..n).map(|r| (row_key(7, r), r)).collect();
        all.sort_unstable();
        let want: Vec<f32> = all[..100].iter().map(|&(_, r)| r as f32).collect();
        assert_eq!(got, want);
        // a uniform sample of 0..5000 has a mean near 2500 (sd 144)
        let m: f32 = got.iter().sum::<f32>() / 100.0;
        assert!((m - 2_500.0).abs() < 700.0, "{m}");
    }

    /// The skipping sampler (tau <= 1/64): the same sample for any chunking
    /// (chunks ending inside a block) and merge order, `cap` rows.
    #[test]
    fn skipping_sample_is_order_independent() {
        let n = 300_000u64;
        let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let mut whole = Sample::new(500, 1, 3, n);
        assert!(whole.skip_log.is_some());
        whole.update(&x, 0);
        let whole_rows = whole.len();
        let want = whole.finish();
        assert_eq!(want.len(), 500);
        for cuts in [
            &[1usize, 4095, 4096, 4097, 77_777][..],
            &[123_457],
            &[8192, 8193],
        ] {
            let mut parts = Vec::new();
            let mut start = 0;
            for &c in cuts.iter().chain([n as usize].iter()) {
                let mut p = Sample::new(500, 1, 3, n);
                p.update(&x[start..c], start as u64);
                parts.push(p);
                start = c;
            }
            let mut acc = Sample::new(500, 1, 3, n);
            for p in parts.iter().rev() {
                acc.merge(p);
            }
            assert_eq!(acc.len(), whole_rows, "{cuts:?}");
            assert_eq!(acc.finish(), want, "{cuts:?}");
        }
    }

    /// Rows read by number from the plan give the sample a pass over every
    /// row gives (values that name their row, so a wrong row shows); small
    /// files, whose every row is hashed, have no plan.
    #[test]
    fn planned_rows_give_the_streaming_sample() {
        let (n, d) = (300_000u64, 2usize);
        let x: Vec<f32> = (0..n).flat_map(|i| [i as f32, -(i as f32)]).collect();
        for seed in [0u64, 3, 11] {
            let mut streamed = Sample::new(500, d, seed, n);
            for (c, part) in x.chunks(65_536 * d).enumerate() {
                streamed.update(part, (c * 65_536) as u64);
            }
            let fresh = Sample::new(500, d, seed, n);
            let plan = fresh.planned(n).expect("tau <= 1/64 at 300k rows");
            assert!(plan.windows(2).all(|w| w[0].1 < w[1].1), "row order");
            let rows: Vec<f32> = plan
                .iter()
                .flat_map(|&(_, r)| x[r as usize * d..(r as usize + 1) * d].to_vec())
                .collect();
            let mut read = fresh.clone();
            read.add_planned(&plan, &rows);
            assert_eq!(read.len(), streamed.len(), "seed {seed}");
            assert_eq!(read.finish(), streamed.finish(), "seed {seed}");
        }
        assert!(Sample::new(500, d, 0, 5_000).planned(5_000).is_none());
        assert!(Sample::new(0, d, 0, n).planned(n).is_none());
    }

    /// At a billion rows (the sampler's reason to be), a mini-batch init
    /// sample (3 x 1024 rows) is spread evenly over the file, and the rows
    /// held before truncation number about `tau * n`.
    #[test]
    fn skipping_sample_of_a_billion_rows_is_spread_evenly() {
        let (n, cap, chunk) = (1_000_000_000u64, 3072usize, 65_536usize);
        let x = vec![0.0f32; chunk];
        let want = cap as f64 + 6.0 * (cap as f64).sqrt() + 16.0;
        for seed in 0..3u64 {
            let mut s = Sample::new(cap, 1, seed, n);
            let mut r = 0u64;
            while r < n {
                let m = chunk.min((n - r) as usize);
                s.update(&x[..m], r);
                r += m as u64;
            }
            assert!(
                (s.len() as f64 - want).abs() < 5.0 * want.sqrt(),
                "{}",
                s.len()
            );
            let mut keys = s.keys.clone();
            keys.sort_unstable();
            keys.truncate(cap);
            let mut bins = [0u64; 10];
            for &(_, row) in &keys {
                bins[(row * 10 / n) as usize] += 1;
            }
            // chi-square, 9 degrees of freedom: 99.99% point 33.7
            let e = cap as f64 / 10.0;
            let chi2: f64 = bins.iter().map(|&b| (b as f64 - e).powi(2) / e).sum();
            assert!(chi2 < 33.7, "seed {seed}: {bins:?}");
        }
    }

    /// The skipping sampler takes every row independently with probability
    /// tau: over many seeds, the count of rows taken matches the binomial
    /// mean and spread, and the rows taken are uniform over the file and
    /// over the positions within a block (the first row of a block, the
    /// last, and runs of adjacent rows included).
    #[test]
    fn skipping_sample_takes_each_row_with_probability_tau() {
        let (n, cap, seeds) = (1u64 << 16, 200usize, 400u64);
        let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let want = cap as f64 + 6.0 * (cap as f64).sqrt() + 16.0;
        let p = want / n as f64;
        assert!(p <= 1.0 / 64.0);
        let (mut counts, mut file_bins, mut block_bins) = (Vec::new(), [0u64; 16], [0u64; 16]);
        for seed in 0..seeds {
            let mut s = Sample::new(cap, 1, seed, n);
            s.update(&x, 0);
            counts.push(s.len() as f64);
            for &(_, r) in &s.keys {
                file_bins[(r * 16 / n) as usize] += 1;
                block_bins[((r % SKIP_BLOCK) * 16 / SKIP_BLOCK) as usize] += 1;
            }
        }
        // count of rows taken: Binomial(n, p) per seed
        let mean = counts.iter().sum::<f64>() / seeds as f64;
        let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (seeds - 1) as f64;
        let (m0, v0) = (n as f64 * p, n as f64 * p * (1.0 - p));
        assert!(
            (mean - m0).abs() < 4.0 * (v0 / seeds as f64).sqrt(),
            "{mean} vs {m0}"
        );
        assert!((var / v0 - 1.0).abs() < 0.35, "variance {var} vs {v0}");
        // uniform over 16 bins of the file and of a block: chi-square with
        // 15 degrees of freedom, far above its 99.99% point (42.6) if not
        for bins in [file_bins, block_bins] {
            let total: u64 = bins.iter().sum();
            let e = total as f64 / 16.0;
            let chi2: f64 = bins.iter().map(|&b| (b as f64 - e).powi(2) / e).sum();
            assert!(chi2 < 42.6, "chi-square {chi2}: {bins:?}");
        }
    }

    #[test]
    fn lloyd_step_closed_form() {
        // {0, 2, 3} and {10, 12}: from centres 0 and 12, one step gives the
        // means 5/3 and 11; the inertia of the first assignment is 0+4+9+4+0.
        let x = [0.0f32, 2.0, 3.0, 10.0, 12.0];
        let init = vec![0.0f32, 12.0];
        let mut p = LloydPartial::new(2, 1);
        p.update(
            &x,
            0,
            &Centroids::new(init.clone(), 1),
            &mut LloydScratch::default(),
        );
        assert_eq!(p.counts, vec![3, 2]);
        assert_eq!(p.inertia(), 17.0);
        let (c, moved) = p.centroids(&init);
        assert_eq!(moved, 0);
        assert_eq!(c, vec![(5.0f64 / 3.0) as f32, 11.0]);
    }

    #[test]
    fn empty_cluster_takes_the_farthest_point() {
        // centre 2 (at 100) gets no point; the farthest point (9, from
        // centre 0) moves to it and leaves centre 0's mean.
        let x = [0.0f32, 1.0, 9.0, 20.0, 21.0];
        let init = vec![0.0f32, 20.0, 100.0];
        let mut p = LloydPartial::new(3, 1);
        p.update(
            &x,
            0,
            &Centroids::new(init.clone(), 1),
            &mut LloydScratch::default(),
        );
        let (c, moved) = p.centroids(&init);
        assert_eq!(moved, 1);
        assert_eq!(c, vec![0.5, 20.5, 9.0]);
    }

    #[test]
    fn too_few_distinct_points_is_reported() {
        let x = [1.0f32, 1.0, 2.0, 2.0, 1.0, 1.0];
        let r = kmeans_plus_plus(&x, 2, None, 3, &mut Uniform01::new(0, 0));
        assert_eq!(r, Err(InitError::TooFewDistinct { distinct: 2, k: 3 }));
        let r = random_init(&x, 2, 3, &mut Uniform01::new(0, 0));
        assert!(matches!(r, Err(InitError::TooFewDistinct { .. })));
        assert_eq!(
            random_init(&x, 2, 2, &mut Uniform01::new(0, 0)).map(|v| v.len()),
            Ok(4)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Sums, counts and inertia of rows fed in any pieces (any first row)
        /// equal one call bit for bit, and the means equal the closed form
        /// (small integers: every f64 sum is exact).
        #[test]
        fn accumulate_pieces_and_means(d in 1usize..12, k in 1usize..9, n in 0usize..300,
                                       first in 0u64..9, cuts in proptest::collection::vec(0usize..300, 0..4),
                                       seed in proptest::prelude::any::<u64>()) {
            let mut s = seed | 1;
            let mut r = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s };
            let x: Vec<f32> = (0..n * d).map(|_| (r() % 2001) as f32 - 1000.0).collect();
            let labels: Vec<u32> = (0..n).map(|_| (r() % k as u64) as u32).collect();
            let dist2: Vec<f32> = (0..n).map(|_| (r() % 100) as f32).collect();
            let mut whole = LloydPartial::new(k, d);
            whole.accumulate(&x, first, &labels, &dist2);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(n)).collect();
            cuts.push(0);
            cuts.push(n);
            cuts.sort();
            let mut pieces = LloydPartial::new(k, d);
            for w in cuts.windows(2) {
                let (a, b) = (w[0], w[1]);
                pieces.accumulate(&x[a * d..b * d], first + a as u64, &labels[a..b], &dist2[a..b]);
            }
            let old = vec![7.5f32; k * d];
            proptest::prop_assert_eq!(&whole.counts, &pieces.counts);
            proptest::prop_assert_eq!(whole.inertia(), pieces.inertia());
            proptest::prop_assert_eq!(whole.centroids(&old), pieces.centroids(&old));
            proptest::prop_assert_eq!(whole.inertia(), dist2.iter().map(|&v| v as f64).sum::<f64>());
            // An assignment-only partial, in the same pieces: the counts by
            // hand and the same inertia lanes.
            let mut counting = LloydPartial::counting(k, d);
            for w in cuts.windows(2) {
                let (a, b) = (w[0], w[1]);
                counting.accumulate(&x[a * d..b * d], first + a as u64, &labels[a..b], &dist2[a..b]);
            }
            let by_hand: Vec<u64> = (0..k as u32)
                .map(|j| labels.iter().filter(|&&l| l == j).count() as u64)
                .collect();
            proptest::prop_assert_eq!(&counting.counts, &by_hand);
            proptest::prop_assert_eq!(counting.inertia(), whole.inertia());
            let (c, moved) = whole.centroids(&old);
            // (an empty cluster takes a far point, and moves another mean)
            if whole.counts.iter().all(|&m| m > 0) {
                proptest::prop_assert_eq!(moved, 0);
                for j in 0..k {
                    let rows: Vec<usize> = (0..n).filter(|&i| labels[i] as usize == j).collect();
                    proptest::prop_assert_eq!(whole.counts[j], rows.len() as u64);
                    for t in 0..d {
                        let sum: f64 = rows.iter().map(|&i| x[i * d + t] as f64).sum();
                        proptest::prop_assert_eq!(c[j * d + t], (sum / rows.len() as f64) as f32);
                    }
                }
            }
        }
    }

    /// The byte counters of `count_in_bytes` equal counts by hand, through
    /// runs long enough to fill a byte (255 blocks of one label) and past
    /// a fold, for every k they serve and a ragged tail.
    #[test]
    fn byte_counters_count_exactly() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut r = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for k in 1..=BYTE_COUNT_MAX_K {
            for n in [0usize, 15, 16 * 255, 16 * 255 + 1, 16 * 600 + 9] {
                let uniform: Vec<u32> = (0..n).map(|_| (r() % k as u64) as u32).collect();
                let one_label: Vec<u32> = vec![(k - 1) as u32; n];
                for labels in [uniform, one_label] {
                    let mut counts = vec![0u64; k];
                    count_in_bytes(&labels, k, &mut counts);
                    let by_hand: Vec<u64> = (0..k as u32)
                        .map(|j| labels.iter().filter(|&&l| l == j).count() as u64)
                        .collect();
                    assert_eq!(counts, by_hand, "k {k}, n {n}");
                }
            }
        }
    }

    /// `update` works in tiles; the result equals one whole-block assignment
    /// and accumulation bit for bit (several tiles, a short last one).
    #[test]
    fn update_in_tiles_equals_whole_block() {
        for (d, n, k) in [(2usize, 40_000usize, 7usize), (40, 3_000, 33)] {
            let mut s = 0x9E3779B97F4A7C15u64;
            let mut r = || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 20) as f32 - 8.0
            };
            let x: Vec<f32> = (0..n * d).map(|_| r()).collect();
            let c = Centroids::new(x[..k * d].to_vec(), d);
            let mut sc = LloydScratch::default();
            let mut tiled = LloydPartial::new(k, d);
            tiled.update(&x, 5, &c, &mut sc);
            let (mut l, mut e) = (vec![0u32; n], vec![0.0f32; n]);
            assign(&x, &c, &mut l, &mut e, &mut AssignScratch::default());
            let mut whole = LloydPartial::new(k, d);
            whole.accumulate(&x, 5, &l, &e);
            assert_eq!(sc.labels, l);
            assert_eq!(sc.dist2, e);
            assert_eq!(tiled.counts, whole.counts);
            assert_eq!(tiled.inertia(), whole.inertia());
            assert_eq!(tiled.centroids(c.data()), whole.centroids(c.data()));
        }
    }

    #[test]
    fn far_points_keep_the_largest() {
        let mut f = FarPoints::new(2, 1);
        for (i, d) in [1.0, 5.0, 3.0, 5.0, 0.5].iter().enumerate() {
            f.offer(*d, i as u64, 0, &[i as f32]);
        }
        assert_eq!((f.get(0).0, f.get(0).1), (5.0, 1));
        assert_eq!((f.get(1).0, f.get(1).1), (5.0, 3));
    }
}
