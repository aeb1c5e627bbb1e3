//! Mini-batch k-means steps with scikit-learn's `MiniBatchKMeans` semantics
//! (Sculley, "Web-scale k-means clustering", 2010, as scikit-learn 1.x
//! implements it):
//! - each centre keeps a running count (`weight_sums`); a batch moves a centre
//!   to the mean of everything it has absorbed so far, i.e. with a learning
//!   rate of 1 / count that decays as the centre gathers points;
//! - every `10 k` rows (or whenever a centre has never been hit), centres
//!   whose count is below `reassignment_ratio x` the *mean* count are moved
//!   to random rows of the batch (at most half a batch of them), and their
//!   count is reset to the smallest count kept. scikit-learn compares with
//!   the *largest* count: on imbalanced data (a city of 0.45% of the rows
//!   beside one of 34%, a ratio of 1.3%) that moves the centres of genuine
//!   small clusters again and again, and on Zipf-sized GPS data with noise
//!   it was most of mini-batch's bad runs (90th percentile of inertia over
//!   the best Lloyd run 1.38 with it, 1.03 without); against the mean, only
//!   centres that (almost) nothing reaches move;
//! - early stopping on an exponentially weighted average of the batch inertia
//!   (per row) that has not improved for `max_no_improvement` steps, or on a
//!   total squared centre shift at most `tol` (absolute). One deviation: the
//!   average's horizon is capped at [`EWA_HORIZON_ROWS`] rows (scikit-learn
//!   uses all `n` rows), so that runs on billions of rows can stop early.
//!
//! The batch itself is chosen by the caller. The per-batch arithmetic is
//! sequential in row order (f64 sums), so a step is deterministic.

use crate::assign::{assign, AssignScratch, Centroids};
use crate::kmeans::Uniform01;

/// An assignment routine: fills labels and squared distances exactly as
/// [`assign`] does (callers may parallelise it).
pub type AssignRows = dyn Fn(&[f32], &Centroids, &mut [u32], &mut [f32]) + Sync;

/// Rows over which the batch inertia is smoothed for early stopping, at most.
pub const EWA_HORIZON_ROWS: u64 = 1 << 20;

/// The state of a mini-batch run.
#[derive(Debug, Clone)]
pub struct MiniBatch {
    k: usize,
    dim: usize,
    /// Row-major `k x dim`.
    pub centers: Vec<f32>,
    /// Rows absorbed by each centre (scikit-learn's `_counts`).
    pub counts: Vec<f64>,
    /// Nominal batch size (for the reassignment period and the EWA).
    batch_size: usize,
    reassignment_ratio: f64,
    since_reassign: u64,
    ewa: Option<f64>,
    ewa_min: Option<f64>,
    no_improvement: usize,
    /// Steps taken.
    pub steps: u64,
    /// Centres moved by random reassignment so far.
    pub reassigned: u64,
    labels: Vec<u32>,
    dist2: Vec<f32>,
}

/// A run's state between two steps (everything a step reads or carries on),
/// with the batch rows' generator: what a checkpoint keeps so that a resumed
/// run takes exactly the steps the uninterrupted one would have.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MiniBatchState {
    pub centers: Vec<f32>,
    pub counts: Vec<f64>,
    pub since_reassign: u64,
    pub ewa: Option<f64>,
    pub ewa_min: Option<f64>,
    pub no_improvement: usize,
    pub steps: u64,
    pub reassigned: u64,
    /// [`Uniform01::state`] of the generator that draws the batches.
    pub rng: u64,
}

/// What one step measured.
#[derive(Debug, Clone, Copy)]
pub struct StepOutcome {
    /// Sum of squared distances of the batch to the centres before the step.
    pub inertia: f64,
    /// Total squared movement of the centres in the step.
    pub shift2: f64,
    pub rows: usize,
}

impl MiniBatch {
    pub fn new(centers: Vec<f32>, dim: usize, batch_size: usize, reassignment_ratio: f64) -> Self {
        let k = centers.len() / dim;
        MiniBatch {
            k,
            dim,
            centers,
            counts: vec![0.0; k],
            batch_size: batch_size.max(1),
            reassignment_ratio,
            since_reassign: 0,
            ewa: None,
            ewa_min: None,
            no_improvement: 0,
            steps: 0,
            reassigned: 0,
            labels: Vec::new(),
            dist2: Vec::new(),
        }
    }

    /// The run's state, with that of the generator `rng` its batches are
    /// drawn with.
    pub fn state(&self, rng: &Uniform01) -> MiniBatchState {
        MiniBatchState {
            centers: self.centers.clone(),
            counts: self.counts.clone(),
            since_reassign: self.since_reassign,
            ewa: self.ewa,
            ewa_min: self.ewa_min,
            no_improvement: self.no_improvement,
            steps: self.steps,
            reassigned: self.reassigned,
            rng: rng.state(),
        }
    }

    /// A run continued from `s` (taken of a run with the same dimension,
    /// batch size and ratio), and its generator.
    pub fn resume(
        s: MiniBatchState,
        dim: usize,
        batch_size: usize,
        reassignment_ratio: f64,
    ) -> (MiniBatch, Uniform01) {
        let mut mb = MiniBatch::new(s.centers, dim, batch_size, reassignment_ratio);
        assert_eq!(s.counts.len(), mb.k, "one count per centre");
        mb.counts = s.counts;
        mb.since_reassign = s.since_reassign;
        mb.ewa = s.ewa;
        mb.ewa_min = s.ewa_min;
        mb.no_improvement = s.no_improvement;
        mb.steps = s.steps;
        mb.reassigned = s.reassigned;
        (mb, Uniform01::from_state(s.rng))
    }

    /// Starts the running counts from `counts` (rows each centre has
    /// already absorbed, e.g. its share of the sample it was refined on)
    /// instead of zero, so the first batches do not pull it away at a
    /// learning rate of one.
    pub fn with_counts(mut self, counts: Vec<f64>) -> Self {
        assert_eq!(counts.len(), self.k);
        self.counts = counts;
        self
    }

    /// Nearest centre and squared distance for every batch row, into the
    /// step's buffers. `assign_rows` lets the caller parallelise; it must
    /// fill `labels`/`dist2` exactly as [`assign`] would.
    fn assign_batch(&mut self, batch: &[f32], assign_rows: &AssignRows) {
        let n = batch.len() / self.dim;
        self.labels.resize(n, 0);
        self.dist2.resize(n, 0.0);
        let c = Centroids::new(self.centers.clone(), self.dim);
        assign_rows(batch, &c, &mut self.labels, &mut self.dist2);
    }

    /// One step on `batch` (row-major, at least one row). `rng` draws the
    /// rows that reassigned centres move to.
    pub fn step(
        &mut self,
        batch: &[f32],
        rng: &mut Uniform01,
        assign_rows: &AssignRows,
    ) -> StepOutcome {
        let (k, d) = (self.k, self.dim);
        let n = batch.len() / d;
        self.assign_batch(batch, assign_rows);
        let inertia: f64 = self.dist2.iter().map(|&v| v as f64).sum();
        let old = self.centers.clone();

        // Per-centre sums of the batch, in row order.
        let mut sums = vec![0.0f64; k * d];
        let mut hits = vec![0u64; k];
        for (row, &j) in batch.chunks_exact(d).zip(&self.labels) {
            let j = j as usize;
            hits[j] += 1;
            for (s, &v) in sums[j * d..(j + 1) * d].iter_mut().zip(row) {
                *s += v as f64;
            }
        }
        for j in 0..k {
            if hits[j] == 0 {
                continue;
            }
            let before = self.counts[j];
            let after = before + hits[j] as f64;
            for p in 0..d {
                let c = &mut self.centers[j * d + p];
                *c = ((*c as f64 * before + sums[j * d + p]) / after) as f32;
            }
            self.counts[j] = after;
        }

        // Random reassignment of centres that (almost) nothing reaches.
        self.since_reassign += self.batch_size as u64;
        let due = self.counts.contains(&0.0) || self.since_reassign >= 10 * k as u64;
        if due && self.reassignment_ratio > 0.0 {
            self.since_reassign = 0;
            self.reassign(batch, n, rng);
        }
        self.steps += 1;
        StepOutcome {
            inertia,
            shift2: old
                .iter()
                .zip(&self.centers)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum(),
            rows: n,
        }
    }

    fn reassign(&mut self, batch: &[f32], n: usize, rng: &mut Uniform01) {
        let d = self.dim;
        let mean = self.counts.iter().sum::<f64>() / self.k as f64;
        let limit = self.reassignment_ratio * mean;
        let mut moved: Vec<bool> = self.counts.iter().map(|&c| c < limit).collect();
        // At most half a batch: keep the lowest counts (stable, like argsort).
        let cap = n / 2;
        if moved.iter().filter(|&&m| m).count() > cap {
            let mut order: Vec<usize> = (0..self.k).collect();
            order.sort_by(|&a, &b| self.counts[a].total_cmp(&self.counts[b]));
            for &j in &order[cap..] {
                moved[j] = false;
            }
        }
        let to: Vec<usize> = (0..self.k).filter(|&j| moved[j]).collect();
        if to.is_empty() {
            return;
        }
        // Distinct random rows of the batch (partial Fisher-Yates).
        let mut idx: Vec<usize> = (0..n).collect();
        for (t, &j) in to.iter().enumerate() {
            let r = t + ((rng.next_f64() * (n - t) as f64) as usize).min(n - t - 1);
            idx.swap(t, r);
            let src = idx[t];
            self.centers[j * d..(j + 1) * d].copy_from_slice(&batch[src * d..(src + 1) * d]);
        }
        let kept_min = (0..self.k)
            .filter(|&j| !moved[j])
            .map(|j| self.counts[j])
            .fold(f64::INFINITY, f64::min);
        if kept_min.is_finite() {
            for &j in &to {
                self.counts[j] = kept_min;
            }
        }
        self.reassigned += to.len() as u64;
    }

    /// scikit-learn's `_mini_batch_convergence`: call after every step with
    /// its outcome; `n_samples` is the number of rows in the data. True when
    /// the run should stop.
    pub fn converged(
        &mut self,
        out: &StepOutcome,
        n_samples: u64,
        tol: f64,
        max_no_improvement: Option<usize>,
    ) -> bool {
        let batch_inertia = out.inertia / self.batch_size as f64;
        if self.steps == 1 {
            // the first step's inertia is that of the initialisation
            return false;
        }
        // scikit-learn smooths over n_samples rows (alpha = 2 b / (n + 1));
        // on a billion rows that needs ~n / b steps just to forget the first
        // batch, so the run would never stop early. The horizon is capped at
        // EWA_HORIZON_ROWS: identical to scikit-learn up to that size, and
        // the stopping rule scales with the batch, not with the file.
        let horizon = n_samples.min(EWA_HORIZON_ROWS) as f64;
        let alpha = (self.batch_size as f64 * 2.0 / (horizon + 1.0)).min(1.0);
        let ewa = match self.ewa {
            None => batch_inertia,
            Some(e) => e * (1.0 - alpha) + batch_inertia * alpha,
        };
        self.ewa = Some(ewa);
        if tol > 0.0 && out.shift2 <= tol {
            return true;
        }
        if self.ewa_min.is_none_or(|m| ewa < m) {
            self.no_improvement = 0;
            self.ewa_min = Some(ewa);
        } else {
            self.no_improvement += 1;
        }
        max_no_improvement.is_some_and(|m| self.no_improvement >= m)
    }
}

/// Assignment on one thread (the default for [`MiniBatch::step`]).
pub fn assign_serial(x: &[f32], c: &Centroids, labels: &mut [u32], dist2: &mut [f32]) {
    assign(x, c, labels, dist2, &mut AssignScratch::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_step_moves_centres_to_running_means() {
        // Two centres; batch rows near each. Counts start at 0, so after one
        // step each centre is the mean of its rows.
        let mut mb = MiniBatch::new(vec![0.0, 0.0, 10.0, 10.0], 2, 4, 0.0);
        let batch = [1.0, 0.0, -1.0, 2.0, 9.0, 10.0, 11.0, 12.0];
        let mut rng = Uniform01::new(1, 1);
        let out = mb.step(&batch, &mut rng, &assign_serial);
        assert_eq!(mb.centers, vec![0.0, 1.0, 10.0, 11.0]);
        assert_eq!(mb.counts, vec![2.0, 2.0]);
        // inertia against the old centres: 1 + 5 + 1 + 5
        assert_eq!(out.inertia, 12.0);
        // a second batch with one row at (3, 1): centre 0 becomes
        // (2 * (0, 1) + (3, 1)) / 3 = (1, 1)
        mb.step(&[3.0, 1.0], &mut rng, &assign_serial);
        assert_eq!(&mb.centers[..2], &[1.0, 1.0]);
        assert_eq!(mb.counts[0], 3.0);
    }

    #[test]
    fn unreached_centres_are_reassigned_to_batch_rows() {
        // centre 1 is far away and never hit: its count stays 0, so it is
        // moved onto a batch row and its count set to the smallest kept count
        let mut mb = MiniBatch::new(vec![0.0, 0.0, 1e6, 1e6], 2, 4, 0.01);
        let batch = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0];
        let mut rng = Uniform01::new(7, 0);
        mb.step(&batch, &mut rng, &assign_serial);
        assert_eq!(mb.reassigned, 1);
        let c1 = &mb.centers[2..];
        assert!(batch.chunks_exact(2).any(|r| r == c1), "{c1:?}");
        assert_eq!(mb.counts[1], mb.counts[0]);
    }

    #[test]
    fn a_small_cluster_that_is_reached_keeps_its_centre() {
        // three centres with counts 60, 38 and 2 after a batch: 2 is under
        // 5% of the largest (scikit-learn's rule would move it) but not
        // under 5% of the mean (33.3), so it stays; a centre with count 0
        // would still move
        let mut mb =
            MiniBatch::new(vec![0.0, 10.0, 20.0], 1, 100, 0.05).with_counts(vec![60.0, 38.0, 2.0]);
        let mut rng = Uniform01::new(1, 0);
        let batch: Vec<f32> = (0..10).map(|i| (i % 2) as f32 * 10.0).collect();
        mb.reassign(&batch, 10, &mut rng);
        assert_eq!(mb.reassigned, 0);
        assert_eq!(mb.centers[2], 20.0);
        mb.counts = vec![60.0, 38.0, 0.0];
        mb.reassign(&batch, 10, &mut rng);
        assert_eq!(mb.reassigned, 1);
        assert_ne!(mb.centers[2], 20.0);
    }

    #[test]
    fn stops_when_the_smoothed_inertia_stops_improving() {
        let mut mb = MiniBatch::new(vec![0.0], 1, 1, 0.0);
        let flat = StepOutcome {
            inertia: 1.0,
            shift2: 1.0,
            rows: 1,
        };
        let mut stopped_at = None;
        for s in 1..=20 {
            mb.steps = s;
            if mb.converged(&flat, 100, 0.0, Some(3)) {
                stopped_at = Some(s);
                break;
            }
        }
        // step 1 ignored, step 2 sets the minimum, steps 3, 4, 5 do not improve
        assert_eq!(stopped_at, Some(5));
        // an absolute tolerance stops at once (after the first step)
        let mut mb = MiniBatch::new(vec![0.0], 1, 1, 0.0);
        mb.steps = 2;
        let still = StepOutcome {
            inertia: 1.0,
            shift2: 0.0,
            rows: 1,
        };
        assert!(mb.converged(&still, 100, 1e-9, None));
    }
}
