//! A Lloyd fit's state between iterations, for `shoal fit --checkpoint`:
//! what a fit that resumes from it needs to end exactly as one that never
//! stopped (the same centroids, counts, inertia and labels, to the bit).
//!
//! The state is everything the iterations carry from one to the next: the
//! first pass's results (scaling, tolerance, valid rows) and the centroids
//! with the counters; for mini-batch, the run's state between two steps and
//! the generator its batches are drawn with. It does not hold the per-row bounds of
//! [`crate::kmeans::RowBounds`]: they only spare distance computations, and
//! the first pass after a resume searches every row instead.
//!
//! The file around it (which source, which parameters, which version) is the
//! caller's: the engine neither reads nor writes files here.

use serde::{Deserialize, Serialize};
use shoal_kernels::minibatch::MiniBatchState;
use shoal_reader::WriteError;

use crate::scaling::{Scaling, ScalingKind};

/// Where a fit stands after a Lloyd iteration (or before the first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LloydState {
    /// `(x - shift) / scale`, from the first pass's statistics.
    pub shift: Vec<f64>,
    pub scale: Vec<f64>,
    pub mean_variance: f64,
    /// The convergence tolerance in clustered units.
    pub tol: f64,
    /// Rows the first pass counted as valid (and skipped), when it made one.
    pub first_pass: Option<(u64, u64)>,
    pub valid_rows: u64,
    pub sample_rows: usize,
    pub sample_inertia: Option<f64>,
    /// The centroids the next iteration starts from, k x dim, clustered units.
    pub centroids: Vec<f32>,
    /// Iterations done.
    pub iterations: usize,
    pub relocations: usize,
    pub last_inertia: Option<f64>,
    /// The iterations ended (converged or `max_iter`): only the final
    /// assignment pass is left.
    pub done: bool,
    pub converged: bool,
    /// Mini-batch: the run between two steps (`None` for Lloyd).
    #[serde(default)]
    pub minibatch: Option<MiniBatchState>,
}

impl LloydState {
    pub(crate) fn scaling(&self, kind: ScalingKind) -> Scaling {
        Scaling {
            kind,
            shift: self.shift.clone(),
            scale: self.scale.clone(),
        }
    }

    /// Whether the state fits a fit of `k` clusters in `dim` dimensions.
    pub fn check(&self, k: usize, dim: usize) -> Result<(), String> {
        if self.shift.len() != dim || self.scale.len() != dim {
            return Err(format!(
                "the checkpoint's scaling has {} columns, the data {dim}",
                self.shift.len()
            ));
        }
        if self.centroids.len() != k * dim {
            return Err(format!(
                "the checkpoint holds {} centroid values, expected k x dim = {k} x {dim}",
                self.centroids.len()
            ));
        }
        if let Some(m) = &self.minibatch {
            if m.centers.len() != k * dim || m.counts.len() != k {
                return Err(format!(
                    "the checkpoint's mini-batch state holds {} centre values and {} counts, expected {} and {k}",
                    m.centers.len(),
                    m.counts.len(),
                    k * dim
                ));
            }
        }
        if self.centroids.iter().any(|v| !v.is_finite())
            || self.scale.iter().any(|v| !(v.is_finite() && *v > 0.0))
            || self.shift.iter().any(|v| !v.is_finite())
        {
            return Err("the checkpoint holds a NaN or infinite value".into());
        }
        Ok(())
    }
}

/// Where a fit saves its states: asked whether a save is due (cheap, asked
/// after every iteration or mini-batch step), then given the state to save
/// when it is, or when the iterations are done.
pub trait Checkpointer {
    fn due(&mut self) -> bool;
    fn save(&mut self, state: &LloydState) -> Result<(), WriteError>;
}

/// How a fit checkpoints: the state to resume from, and where to save.
pub struct Checkpoints<'a> {
    pub resume: Option<LloydState>,
    pub save: Option<&'a mut dyn Checkpointer>,
}

impl std::fmt::Debug for Checkpoints<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoints")
            .field("resume", &self.resume.as_ref().map(|s| s.iterations))
            .field("save", &self.save.is_some())
            .finish()
    }
}

impl Checkpoints<'_> {
    /// No checkpoints.
    pub fn none() -> Checkpoints<'static> {
        Checkpoints {
            resume: None,
            save: None,
        }
    }
}
