//! Mini-batch k-means over a source of any size (`--algo minibatch`).
//!
//! How batches are drawn, by format:
//! - **Random access** (`.npy` and raw `.f32`): like scikit-learn, each
//!   batch is `batch_size` row numbers drawn uniformly with replacement from
//!   the whole file, read through [`Source::read_rows`] (sorted, for
//!   locality: from the memory map up to 128 MiB, with `pread` beyond). A
//!   step costs O(batch x k x d), whatever the file size. A file mostly out
//!   of the page cache is read ahead once the steps have spent long enough
//!   reading rows (see `read_ahead`).
//! - **Streaming** (Parquet, CSV): an epoch visits the partitions (row
//!   groups) in a seeded random order; a reader thread decodes them and sends
//!   the chunks through a bounded channel into a shuffle buffer of
//!   `shuffle_rows` rows; whenever the buffer is full, a batch is drawn from
//!   it uniformly without replacement. At the end of an epoch the buffer is
//!   drained in random batches. Each epoch is one decode pass over the file;
//!   rows are seen once per epoch, in an order that is random at the scale of
//!   the buffer and of the row groups (not a uniform shuffle of the whole
//!   file: two rows of one row group are more likely to share a batch).
//!
//! `Batches::Stream` (`--batches stream`) takes the streaming scheme for a
//! random-access file too: for a file larger than memory, where random rows
//! are disk reads (about 16k a second here: O1B's 1158 steps took 52.6 s
//! with the process limited to 1 GiB).
//!
//! Either way the run stops after `max_iter` epochs' worth of rows
//! (`max_iter x rows / batch_size` steps), or earlier on scikit-learn's rules
//! (see [`shoal_kernels::minibatch`]). Everything is seeded, and the batch
//! arithmetic is sequential in row order, so results do not depend on the
//! thread count. The caller runs the final full assignment pass.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use shoal_kernels::kmeans::Uniform01;
use shoal_kernels::minibatch::{MiniBatch, MiniBatchState, StepOutcome};
use shoal_kernels::{assign, AssignScratch, Centroids};
use shoal_reader::Source;

use crate::kmeans::{KMeansError, PassTiming, Scaling};
use crate::{EngineError, Observer, PassConfig, PassStart};

/// Mini-batch parameters (scikit-learn's names and defaults).
#[derive(Debug, Clone)]
pub struct MiniBatchConfig {
    pub batch_size: usize,
    /// Centres with fewer than this fraction of the largest count are moved.
    pub reassignment_ratio: f64,
    /// Stop after this many steps without improvement of the smoothed
    /// inertia (`None`: never on this rule).
    pub max_no_improvement: Option<usize>,
    /// Rows in the shuffle buffer of streaming sources [default: from the
    /// memory budget, at least 16 batches].
    pub shuffle_rows: Option<usize>,
    /// How batches are drawn from a source with random access.
    pub batches: Batches,
}

/// How mini-batch draws its batches from a source with random access
/// (`.npy`, `.f32`); the others always stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Batches {
    /// Uniform random rows of the whole file, as scikit-learn: a row read
    /// each, about a microsecond from the page cache, 30-80 us from disk.
    #[default]
    Rows,
    /// The streaming scheme (partitions in a seeded random order through a
    /// shuffle buffer): sequential reads, for a file larger than memory,
    /// where every random row would wait for the disk. The batches are not
    /// uniform over the whole file (see the module's documentation).
    Stream,
}

impl Default for MiniBatchConfig {
    fn default() -> Self {
        MiniBatchConfig {
            batch_size: 1024,
            reassignment_ratio: 0.01,
            max_no_improvement: Some(10),
            shuffle_rows: None,
            batches: Batches::Rows,
        }
    }
}

impl MiniBatchConfig {
    /// Shuffle-buffer rows for rows of `dim` values within `memory` bytes:
    /// a quarter of the budget, at least 16 batches, at most 4M rows.
    pub fn shuffle_rows(&self, dim: usize, memory: u64) -> usize {
        self.shuffle_rows.unwrap_or_else(|| {
            let by_mem = (memory / 4 / (4 * dim.max(1) as u64)).min(4 << 20) as usize;
            by_mem.max(16 * self.batch_size)
        })
    }
}

/// The outcome of the mini-batch phase.
#[derive(Debug, Clone)]
pub struct MiniBatchRun {
    /// The run's last state (when checkpointing).
    pub last: Option<MiniBatchState>,
    pub centers: Vec<f32>,
    pub steps: u64,
    pub epochs: usize,
    pub converged: bool,
    pub reassigned: u64,
    pub random_access: bool,
}

/// Batches at least this large (in rows x k x d) are assigned in parallel.
const PARALLEL_WORK: usize = 1 << 21;
const PIECE_ROWS: usize = 2048;

/// Assigns a batch, in parallel over fixed pieces when it is large.
fn assign_batch(x: &[f32], c: &Centroids, labels: &mut [u32], dist2: &mut [f32]) {
    let d = c.dim();
    let n = x.len() / d;
    if n * c.k() * d < PARALLEL_WORK {
        return assign(x, c, labels, dist2, &mut AssignScratch::default());
    }
    x.par_chunks(PIECE_ROWS * d)
        .zip(labels.par_chunks_mut(PIECE_ROWS))
        .zip(dist2.par_chunks_mut(PIECE_ROWS))
        .for_each_init(AssignScratch::default, |s, ((xb, lb), db)| {
            assign(xb, c, lb, db, s)
        });
}

/// Rows per piece of a batch fetched on one thread.
const FETCH_PIECE_ROWS: usize = 256;

/// A batch whose rows took longer than this to read on one thread is read
/// in parallel pieces from then on.
const PARALLEL_FETCH_AFTER: std::time::Duration = std::time::Duration::from_micros(200);

/// When the steps have spent this long reading rows, [`read_ahead`] checks
/// whether the file is on disk rather than in memory: a quarter of the time
/// one sequential read of the file takes at 1 GB/s, and at least a quarter
/// of a second. (Ski rental: a run that ends sooner never pays for the
/// sequential read; one that reads rows for longer pays at most a quarter
/// more than if it had known.)
fn read_ahead_after(file_bytes: u64) -> std::time::Duration {
    std::time::Duration::from_secs_f64((file_bytes as f64 / 4e9).max(0.25))
}

/// A row read at random from a file that is not in the page cache waits for
/// the disk: 30-80 microseconds here, against about one for a cached page,
/// so the steps on the 8 GB O1B file took 40 s cold and 1.1 s warm. When
/// most of the file is out of the cache (a probe of evenly spaced pages)
/// and it fits in half of the memory available, one bare streaming pass
/// reads it in order at the disk's speed, and the steps go on from memory.
/// The batches are the same either way; only the time changes. (The first
/// pass of a fit already reads such a file in order, see `sample_by_row`;
/// this covers a file evicted from the cache since.) Returns the pass's
/// seconds when it ran.
fn read_ahead(
    source: &dyn Source,
    pass: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    passes: &mut Vec<PassTiming>,
) -> Result<Option<f64>, KMeansError> {
    if !crate::cold_and_fits(source) {
        return Ok(None);
    }
    let info = source.info();
    let name = "read ahead (file not in memory)";
    observer.pass_started(&PassStart {
        name: name.into(),
        index: passes.len() + 1,
        max_passes: None,
        rows: info.rows,
        inertia: None,
    });
    let ((), rep) = crate::run_pass(source, pass, cancel, observer, || (), |_, _| {}, |_, _| {})?;
    passes.push(PassTiming::new(name, &rep));
    Ok(Some(rep.elapsed.as_secs_f64()))
}

/// Reads the rows `idx` (sorted) of a random-access source into `rows`, in
/// that order; with `parallel`, in pieces of [`FETCH_PIECE_ROWS`] read in
/// parallel (on a large file every row is a system call or a page fault,
/// which is most of a step), then joined in order. Returns how many rows
/// were kept; the first piece's error wins.
pub(crate) fn fetch_rows(
    source: &dyn Source,
    idx: &[u64],
    parallel: bool,
    pieces: &mut Vec<Vec<f32>>,
    rows: &mut Vec<f32>,
) -> Result<usize, EngineError> {
    let read = |ix: &[u64], out: &mut Vec<f32>| {
        out.clear();
        source
            .read_rows(ix, out)
            .unwrap_or(Ok(0))
            .map_err(EngineError::from)
    };
    if !parallel {
        return read(idx, rows);
    }
    pieces.resize_with(idx.len().div_ceil(FETCH_PIECE_ROWS), Vec::new);
    let got: Vec<Result<usize, EngineError>> = idx
        .par_chunks(FETCH_PIECE_ROWS)
        .zip(pieces.par_iter_mut())
        .map(|(ix, out)| read(ix, out))
        .collect();
    rows.clear();
    let mut kept = 0;
    for (g, p) in got.into_iter().zip(pieces.iter()) {
        kept += g?;
        rows.extend_from_slice(p);
    }
    Ok(kept)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    source: &dyn Source,
    pass: &PassConfig,
    mb_cfg: &MiniBatchConfig,
    memory: u64,
    scaling: &Scaling,
    init: Vec<f32>,
    init_counts: Option<Vec<f64>>,
    max_iter: usize,
    tol: f64,
    seed: u64,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    passes: &mut Vec<PassTiming>,
    resume: Option<MiniBatchState>,
    mut offer: Option<&mut dyn FnMut(MiniBatchState) -> Result<(), KMeansError>>,
) -> Result<MiniBatchRun, KMeansError> {
    let info = source.info();
    let (d, n) = (info.dim, info.rows);
    let batch = mb_cfg.batch_size.max(1);
    let (mut mb, mut rng) = match resume {
        Some(s) => MiniBatch::resume(s, d, batch, mb_cfg.reassignment_ratio),
        None => {
            let mut mb = MiniBatch::new(init, d, batch, mb_cfg.reassignment_ratio);
            if let Some(c) = init_counts {
                mb = mb.with_counts(c);
            }
            (mb, Uniform01::new(seed, 0x3B47_C4A1))
        }
    };
    let max_steps = (max_iter as u128 * n as u128 / batch as u128).max(1) as u64;
    let mut scaled = Vec::new();
    let mut converged = false;
    let start = Instant::now();
    let mut step = |mb: &mut MiniBatch, rows: &[f32], rng: &mut Uniform01| -> bool {
        let x = scaling.view(rows, &mut scaled);
        let out: StepOutcome = mb.step(x, rng, &assign_batch);
        mb.converged(&out, n, tol, mb_cfg.max_no_improvement)
    };

    let random_access =
        mb_cfg.batches == Batches::Rows && source.read_rows(&[], &mut Vec::new()).is_some();
    let mut epochs = 0;
    let mut read_ahead_secs = 0.0;
    if random_access {
        observer.pass_started(&PassStart {
            name: "mini-batch".into(),
            index: passes.len() + 1,
            max_passes: None,
            rows: max_steps * batch as u64,
            inertia: None,
        });
        let mut idx = vec![0u64; batch];
        let mut rows = Vec::with_capacity(batch * d);
        let mut pieces: Vec<Vec<f32>> = Vec::new();
        let mut parallel_fetch = false;
        let mut quickest = std::time::Duration::MAX;
        let mut fetching = std::time::Duration::ZERO;
        let mut ahead_checked = false;
        while mb.steps < max_steps {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled.into());
            }
            for v in idx.iter_mut() {
                *v = ((rng.next_f64() * n as f64) as u64).min(n - 1);
            }
            idx.sort_unstable();
            let t = Instant::now();
            let got = fetch_rows(source, &idx, parallel_fetch, &mut pieces, &mut rows)?;
            // Rows read in place from a small file's memory map take a few
            // microseconds, less than handing pieces to other threads; rows
            // of a large file take a system call each. The quickest of the
            // first three fetches decides (the rows are the same either way).
            let took = t.elapsed();
            if mb.steps < 3 {
                quickest = quickest.min(took);
                parallel_fetch = mb.steps == 2 && quickest > PARALLEL_FETCH_AFTER;
            }
            fetching += took;
            if !ahead_checked && fetching > read_ahead_after(info.file_bytes) {
                ahead_checked = true;
                if let Some(secs) = read_ahead(source, pass, cancel, observer, passes)? {
                    read_ahead_secs = secs;
                    observer.pass_started(&PassStart {
                        name: "mini-batch".into(),
                        index: passes.len() + 1,
                        max_passes: None,
                        rows: (max_steps - mb.steps) * batch as u64,
                        inertia: None,
                    });
                }
            }
            observer.rows_done(batch as u64);
            if got == 0 {
                continue;
            }
            if step(&mut mb, &rows, &mut rng) {
                converged = true;
                break;
            }
            // Between two steps: a checkpoint, when one is due.
            if let Some(f) = offer.as_mut() {
                f(mb.state(&rng))?;
            }
        }
        epochs = (mb.steps * batch as u64).div_ceil(n.max(1)) as usize;
    } else {
        let cap = mb_cfg.shuffle_rows(d, memory).max(batch);
        let parts = source.partitions();
        'epochs: for epoch in 0..max_iter.max(1) {
            epochs = epoch + 1;
            observer.pass_started(&PassStart {
                name: format!("mini-batch epoch {}", epoch + 1),
                index: passes.len() + 1,
                max_passes: None,
                rows: n,
                inertia: None,
            });
            let t0 = Instant::now();
            // Seeded visiting order of the partitions.
            let mut order: Vec<usize> = (0..parts.len()).collect();
            let mut orng = Uniform01::new(seed ^ 0x0DD5_EED5, epoch as u64);
            for i in (1..order.len()).rev() {
                let j = ((orng.next_f64() * (i + 1) as f64) as usize).min(i);
                order.swap(i, j);
            }
            let mut buf: Vec<f32> = Vec::with_capacity(cap * d);
            let mut stop = false;
            let stop_reader = AtomicBool::new(false);
            let (tx, rx) = crossbeam_channel::bounded::<Vec<f32>>(4);
            let res = std::thread::scope(|s| -> Result<(), KMeansError> {
                let reader = s.spawn(|| -> Result<(), EngineError> {
                    // Owned here, so the channel closes when the reader ends.
                    let tx = tx;
                    for &p in &order {
                        let mut r = source.reader(parts[p].clone(), pass.chunk_rows)?;
                        while let Some(b) = r.next_block()? {
                            if stop_reader.load(Ordering::Relaxed) || cancel.load(Ordering::Relaxed)
                            {
                                return Ok(());
                            }
                            if tx.send(b.data.to_vec()).is_err() {
                                return Ok(());
                            }
                        }
                    }
                    Ok(())
                });
                let mut draw = |buf: &mut Vec<f32>, take: usize, mb: &mut MiniBatch| -> bool {
                    // `take` random rows out of the buffer (swap-remove).
                    let mut rows = Vec::with_capacity(take * d);
                    for _ in 0..take {
                        let m = buf.len() / d;
                        let i = ((rng.next_f64() * m as f64) as usize).min(m - 1);
                        rows.extend_from_slice(&buf[i * d..(i + 1) * d]);
                        let last = m - 1;
                        if i != last {
                            buf.copy_within(last * d..(last + 1) * d, i * d);
                        }
                        buf.truncate(last * d);
                    }
                    step(mb, &rows, &mut rng) || mb.steps >= max_steps
                };
                for chunk in rx.iter() {
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    observer.rows_done((chunk.len() / d) as u64);
                    // Fill the buffer row by row up to its capacity and draw
                    // whenever it is full, so the batches depend on the row
                    // order only, never on the chunk size.
                    let mut rest = &chunk[..];
                    while !stop && !rest.is_empty() {
                        let room = cap - buf.len() / d;
                        let take = room.min(rest.len() / d);
                        buf.extend_from_slice(&rest[..take * d]);
                        rest = &rest[take * d..];
                        if buf.len() / d >= cap {
                            stop = draw(&mut buf, batch, &mut mb);
                        }
                    }
                    if stop {
                        break;
                    }
                }
                stop_reader.store(true, Ordering::Relaxed);
                drop(rx);
                reader
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                if cancel.load(Ordering::Relaxed) {
                    return Err(EngineError::Cancelled.into());
                }
                while !stop && !buf.is_empty() {
                    let take = batch.min(buf.len() / d);
                    stop = draw(&mut buf, take, &mut mb);
                }
                Ok(())
            });
            res?;
            passes.push(PassTiming {
                name: format!("mini-batch epoch {}", epoch + 1),
                seconds: t0.elapsed().as_secs_f64(),
                rows: n,
                peak_rss: crate::peak_rss(),
                over_data: true,
                searched_rows: None,
            });
            if stop {
                converged = mb.steps < max_steps;
                break 'epochs;
            }
        }
    }
    // The batches' rows must all have come from the file as it was opened.
    source.unchanged().map_err(EngineError::from)?;
    if random_access {
        passes.push(PassTiming {
            name: format!("mini-batch ({} steps)", mb.steps),
            seconds: start.elapsed().as_secs_f64() - read_ahead_secs,
            rows: mb.steps * batch as u64,
            peak_rss: crate::peak_rss(),
            over_data: false,
            searched_rows: None,
        });
    }
    let last = offer.is_some().then(|| mb.state(&rng));
    Ok(MiniBatchRun {
        last,
        centers: mb.centers,
        steps: mb.steps,
        epochs,
        converged,
        reassigned: mb.reassigned,
        random_access,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use super::*;
    use shoal_reader::{open, OpenOptions};

    /// A batch read in parallel pieces is the batch read in order: the same
    /// rows (repeats included) with the rows holding NaN left out under
    /// `skip_invalid`, and otherwise an error naming the first bad row.
    #[test]
    fn parallel_fetch_keeps_the_rows_in_order() {
        let (n, d) = (3000usize, 3usize);
        let bad = [700usize, 2100];
        let x: Vec<f32> = (0..n * d)
            .map(|i| {
                if bad.contains(&(i / d)) {
                    f32::NAN
                } else {
                    i as f32
                }
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.f32");
        std::fs::write(&path, le_bytes(&x)).unwrap();
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut idx: Vec<u64> = (0..1500)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s % n as u64
            })
            .chain([700, 700, 2100, 2999, 0])
            .collect();
        idx.sort_unstable();
        assert!(idx.len() > 4 * FETCH_PIECE_ROWS);

        let skip = OpenOptions {
            dim: Some(d),
            skip_invalid: true,
            ..Default::default()
        };
        let src = open(&path, &skip).unwrap();
        let (mut pieces, mut rows) = (Vec::new(), Vec::new());
        let got = fetch_rows(src.as_ref(), &idx, true, &mut pieces, &mut rows).unwrap();
        let want: Vec<f32> = idx
            .iter()
            .filter(|&&r| !bad.contains(&(r as usize)))
            .flat_map(|&r| x[r as usize * d..(r as usize + 1) * d].to_vec())
            .collect();
        assert_eq!(got, want.len() / d);
        assert_eq!(rows, want);

        let strict = OpenOptions {
            dim: Some(d),
            ..Default::default()
        };
        let src = open(&path, &strict).unwrap();
        let err = fetch_rows(src.as_ref(), &idx, true, &mut pieces, &mut rows).unwrap_err();
        assert!(err.to_string().contains("700"), "{err}");
    }

    /// Once the steps have spent a quarter of a second reading rows from a
    /// source not in memory, the file is read ahead in one pass; the steps
    /// and the centroids are those of the same run on the file in memory,
    /// to the bit.
    #[test]
    fn reading_ahead_changes_no_result() {
        let (n, d, k) = (20_000usize, 2usize, 4usize);
        let dir = tempfile::tempdir().unwrap();
        let (x, path) =
            crate::testing::striped_f32(dir.path(), (n, d, k), 10.0, 0x9E37_79B9_7F4A_7C15);
        let opts = OpenOptions {
            dim: Some(d),
            ..Default::default()
        };
        let cfg = MiniBatchConfig {
            batch_size: 100,
            max_no_improvement: None,
            ..Default::default()
        };
        let fit = |src: &dyn Source| {
            let mut passes = Vec::new();
            let run = run(
                src,
                &PassConfig::default(),
                &cfg,
                256 << 20,
                &Scaling::identity(d),
                x[..k * d].to_vec(),
                None,
                1,
                0.0,
                7,
                &AtomicBool::new(false),
                &crate::Silent,
                &mut passes,
                None,
                None,
            )
            .unwrap();
            let names: Vec<String> = passes.into_iter().map(|p| p.name).collect();
            (run, names)
        };
        let (slow, slow_passes) = fit(&crate::testing::OnDisk(open(&path, &opts).unwrap()));
        let (fast, fast_passes) = fit(open(&path, &opts).unwrap().as_ref());
        assert_eq!(slow.steps, (n / 100) as u64);
        assert_eq!(slow.steps, fast.steps);
        let bits = |c: &[f32]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&slow.centers), bits(&fast.centers));
        let ahead = "read ahead (file not in memory)".to_string();
        // (the rule needs the memory available, which Linux reports)
        if cfg!(target_os = "linux") {
            assert!(slow_passes.contains(&ahead), "{slow_passes:?}");
        }
        assert!(!fast_passes.contains(&ahead), "{fast_passes:?}");
    }

    fn le_bytes(x: &[f32]) -> Vec<u8> {
        x.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
}
