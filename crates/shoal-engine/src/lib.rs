//! shoal's driver: runs passes over a chunked [`Source`] on the rayon pool
//! with bounded memory and a deterministic merge.
//!
//! A pass maps every partition of the source (fixed by the file: Parquet row
//! groups, fixed row ranges of a memory map) to a partial state, folding its
//! chunks in order, and merges the partials in partition order. Because
//! partitions do not depend on the thread count, neither does the result.
//! Partitions are processed in windows of a few per thread, so at most one
//! window of partials and one chunk per thread are in memory.

pub mod kmeans;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use shoal_reader::{Block, ReadError, Source};

/// Errors of a pass.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("interrupted")]
    Cancelled,
}

/// Receives progress from running passes (the CLI draws a bar; tests record).
pub trait Observer: Sync {
    /// `rows` more rows were processed.
    fn rows_done(&self, _rows: u64) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;
impl Observer for Silent {}

/// How to run a pass.
#[derive(Debug, Clone)]
pub struct PassConfig {
    /// Rows per chunk handed to `update` (default 65 536).
    pub chunk_rows: usize,
    /// Partitions in flight per pool thread (default 2).
    pub window_per_thread: usize,
}

impl Default for PassConfig {
    fn default() -> Self {
        PassConfig {
            chunk_rows: 1 << 16,
            window_per_thread: 2,
        }
    }
}

/// What a pass measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassReport {
    /// Rows processed (after skipping invalid ones).
    pub rows: u64,
    /// Rows skipped as invalid.
    pub skipped: u64,
    pub elapsed: Duration,
}

/// Runs one pass. `init` makes an empty partial, `update` folds a block into
/// it, `merge` appends a later partial to an earlier one. `cancel` is polled
/// between chunks.
pub fn run_pass<P: Send>(
    source: &dyn Source,
    cfg: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    init: impl Fn() -> P + Sync,
    update: impl Fn(&mut P, &Block<'_>) + Sync,
    mut merge: impl FnMut(&mut P, P),
) -> Result<(P, PassReport), EngineError> {
    let start = Instant::now();
    let parts = source.partitions();
    let window = (rayon::current_num_threads() * cfg.window_per_thread.max(1)).max(1);
    let rows = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);
    let mut acc = init();
    for win in parts.chunks(window) {
        let partials: Vec<Result<P, EngineError>> = win
            .par_iter()
            .map(|range| {
                let mut p = init();
                let mut reader = source.reader(range.clone(), cfg.chunk_rows)?;
                while let Some(block) = reader.next_block()? {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(EngineError::Cancelled);
                    }
                    update(&mut p, &block);
                    rows.fetch_add(block.rows() as u64, Ordering::Relaxed);
                    observer.rows_done(block.rows() as u64);
                }
                skipped.fetch_add(reader.skipped(), Ordering::Relaxed);
                Ok(p)
            })
            .collect();
        for p in partials {
            merge(&mut acc, p?);
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
    }
    Ok((
        acc,
        PassReport {
            rows: rows.into_inner(),
            skipped: skipped.into_inner(),
            elapsed: start.elapsed(),
        },
    ))
}

/// Per-column min/max/mean/std in one pass.
pub fn column_stats(
    source: &dyn Source,
    cfg: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<(shoal_kernels::ColumnStats, PassReport), EngineError> {
    let dim = source.info().dim;
    run_pass(
        source,
        cfg,
        cancel,
        observer,
        || shoal_kernels::ColumnStats::new(dim),
        |s, b| s.update(b.data),
        |a, b| a.merge(&b),
    )
}
