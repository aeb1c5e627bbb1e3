//! Pure compute kernels over in-memory, row-major `f32` blocks (`data`,
//! `dim`). No I/O and no threads of their own; accumulation is in `f64`.
//! Stateful kernels follow the partial-aggregate contract
//! `update` (one block) / `merge` (another partial, in order) / `finish`.
//! Distances are squared Euclidean unless a name says otherwise.

pub mod assign;
pub mod bounds;
pub mod dbscan;
mod fused;
mod gemm;
mod grid2;
pub mod hierarchy;
mod int8;
pub mod kmeans;
pub mod metrics;
pub mod minibatch;
pub mod pca;
pub mod quality;
pub mod raster;
pub mod stats;
pub mod vq;
pub mod wire;

/// An element the exact in-memory kernels (DBSCAN, linkage, quality scores)
/// accept: `f32` or `f64`, widened to `f64` for every distance, so that
/// float64 input keeps every bit.
pub trait Real: Copy + Into<f64> + Send + Sync + 'static {}
impl Real for f32 {}
impl Real for f64 {}

pub use assign::{assign, assign_naive, sq_dist, sq_dist_wide, AssignScratch, Centroids};
pub use stats::{ColumnStats, ColumnSummary};
