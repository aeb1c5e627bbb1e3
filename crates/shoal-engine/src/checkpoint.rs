//! A Lloyd fit's state between iterations, for `shoal fit --checkpoint`:
//! what a fit that resumes from it needs to end exactly as one that never
//! stopped (the same centroids, counts, inertia and labels, to the bit).
//!
//! The state is everything the iterations carry from one to the next: the
//! first pass's results (scaling, tolerance, valid rows) and the centroids
//! with the counters. It does not hold the per-row bounds of
//! [`crate::kmeans::RowBounds`]: they only spare distance computations, and
//! the first pass after a resume searches every row instead.
//!
//! The file around it (which source, which parameters, which version) is the
//! caller's: the engine neither reads nor writes files here.

use serde::{Deserialize, Serialize};

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
        if self.centroids.iter().any(|v| !v.is_finite())
            || self.scale.iter().any(|v| !(v.is_finite() && *v > 0.0))
            || self.shift.iter().any(|v| !v.is_finite())
        {
            return Err("the checkpoint holds a NaN or infinite value".into());
        }
        Ok(())
    }
}

/// Called with each state a fit offers for saving.
pub type SaveFn<'a> = &'a mut dyn FnMut(&LloydState) -> Result<(), shoal_reader::WriteError>;

/// How a fit checkpoints: the state to resume from, and a function called
/// with the state after the initialisation and after every iteration (it
/// decides whether to write it; an error ends the fit).
pub struct Checkpoints<'a> {
    pub resume: Option<LloydState>,
    pub save: Option<SaveFn<'a>>,
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
