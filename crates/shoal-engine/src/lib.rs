//! shoal's driver: runs passes over a chunked [`Source`] on the rayon pool
//! with bounded memory and a deterministic merge.
//!
//! A pass maps every partition of the source (fixed by the file: Parquet row
//! groups, fixed row ranges of a memory map) to a partial state, folding its
//! chunks in order, and merges the partials in partition order. Because
//! partitions do not depend on the thread count, neither does the result.
//!
//! The pipeline: one worker per pool thread takes the next partition, reads
//! and decodes it chunk by chunk, folds it into a partial and hands the
//! partial to an ordered merge. At most `depth` partitions are between being
//! claimed and being merged: a worker needs a token from a bounded
//! `crossbeam-channel` before it claims a partition, and the merge gives the
//! token back. So memory is bounded by `depth x (one chunk + one partial)`
//! whatever the file size, and a slow partition stalls the others only once
//! `depth` partitions are waiting behind it. The first error (or a
//! cancellation, polled between chunks) stops every worker.

pub mod assign;
pub mod checkpoint;
pub mod exact;
pub mod hierarchy;
pub mod kmeans;
pub mod minibatch;
pub mod model;
pub mod remote;
pub mod scaling;
pub mod scatter;
pub mod sweep;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use shoal_reader::{Block, ReadError, Source};

/// Errors of a pass.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("interrupted")]
    Cancelled,
    /// A partition run elsewhere failed or sent back something unusable.
    #[error("{0}")]
    Remote(String),
}

/// What a pass is, for progress displays.
#[derive(Debug, Clone)]
pub struct PassStart {
    /// e.g. `lloyd 3`.
    pub name: String,
    /// 1-based number of this pass.
    pub index: usize,
    /// The most passes the run can take, when known.
    pub max_passes: Option<usize>,
    /// Rows the pass will read.
    pub rows: u64,
    /// The latest full-data inertia, when one is known.
    pub inertia: Option<f64>,
}

/// Receives progress from running passes (the CLI draws a bar; tests record).
pub trait Observer: Sync {
    /// A pass begins.
    fn pass_started(&self, _pass: &PassStart) {}
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
    /// Partitions in flight (claimed and not yet merged) per pool thread (default 2).
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

/// The default memory budget of a run (`--memory`).
pub const DEFAULT_MEMORY: u64 = 256 << 20;

/// Most bytes of decoded values in a chunk, so that a chunk a worker has
/// just decoded (or converted) is still in its L2 cache when it is assigned
/// and accumulated. At d = 32, 64k-row chunks (8 MiB) made each Parquet pass
/// 20-25% slower than 4k-row ones: copying the decoded columns into rows
/// wrote to lines long evicted.
pub const CHUNK_CACHE_BYTES: u64 = 512 << 10;

impl PassConfig {
    /// Chunk size and depth for a memory budget of `budget` bytes, rows of
    /// `dim` values and `threads` workers. Each partition in flight holds up
    /// to three chunk-sized buffers (decoded values, a conversion or scaling
    /// buffer, per-row labels and distances); half the budget is given to
    /// them, the other half is left for the partitions' own pages (memory
    /// maps, Parquet pages), the partials and the process itself:
    /// `chunk_rows = clamp(min(budget / 2 / (depth x 3 x row_bytes),
    /// CHUNK_CACHE_BYTES / (4 dim)), 256, 65536)` with `depth = 2 x threads`
    /// and `row_bytes = 4 dim + 8`: a chunk's values also fit
    /// [`CHUNK_CACHE_BYTES`].
    pub fn for_memory(budget: u64, dim: usize, threads: usize) -> PassConfig {
        let window_per_thread = 2;
        let depth = (threads.max(1) * window_per_thread) as u64;
        let row_bytes = 4 * dim.max(1) as u64 + 8;
        let rows = budget / 2 / (depth * 3 * row_bytes);
        let cached = CHUNK_CACHE_BYTES / (4 * dim.max(1) as u64);
        PassConfig {
            chunk_rows: rows.min(cached).clamp(256, 1 << 16) as usize,
            window_per_thread,
        }
    }

    /// Partitions in flight with `threads` workers.
    pub fn depth(&self, threads: usize) -> usize {
        (threads.max(1) * self.window_per_thread.max(1)).max(1)
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
    /// Peak resident set of the process at the end of the pass, when known.
    pub peak_rss: Option<u64>,
}

/// Peak resident set size of this process so far (Linux `VmHWM`), in bytes.
pub fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Whether reading `source` in order pays for itself: less than half of it
/// is in the page cache (a probe, [`Source::resident_fraction`]) and it fits
/// in half the memory available ([`available_memory`]), so a pass leaves it
/// in the cache for the reads after it.
pub(crate) fn cold_and_fits(source: &dyn Source) -> bool {
    source.resident_fraction().is_some_and(|f| f < 0.5)
        && available_memory().is_some_and(|m| source.info().file_bytes <= m / 2)
}

/// Memory available to this process for the page cache and its own use
/// (Linux `MemAvailable`, capped by its control group's limit: cgroup v2
/// `memory.max` or v1 `memory.limit_in_bytes`), in bytes.
pub(crate) fn available_memory() -> Option<u64> {
    let avail = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| meminfo_field(&s, "MemAvailable:"));
    let limit = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|s| cgroup_limit(&s, std::path::Path::new("/sys/fs/cgroup")));
    match (avail, limit) {
        (Some(a), Some(l)) => Some(a.min(l)),
        (a, l) => a.or(l),
    }
}

/// A `kB` field of a `/proc/meminfo` text, in bytes.
fn meminfo_field(meminfo: &str, name: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The lowest memory limit of the control groups named in a
/// `/proc/self/cgroup` text, read under `root` (v2: `root/PATH/memory.max`
/// or `root/unified/PATH/memory.max`; v1:
/// `root/memory/PATH/memory.limit_in_bytes`); `None` when unlimited or
/// unreadable.
fn cgroup_limit(proc_cgroup: &str, root: &std::path::Path) -> Option<u64> {
    let read = |p: std::path::PathBuf| -> Option<u64> {
        std::fs::read_to_string(p).ok()?.trim().parse().ok()
    };
    let mut low: Option<u64> = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let rel = path.trim_start_matches('/');
        let limit = if ctrl.is_empty() {
            read(root.join(rel).join("memory.max"))
                .or_else(|| read(root.join("unified").join(rel).join("memory.max")))
        } else if ctrl.split(',').any(|c| c == "memory") {
            read(root.join("memory").join(rel).join("memory.limit_in_bytes"))
        } else {
            None
        };
        // (v2 writes "max" for no limit, which does not parse; v1 a number
        // near 2^63)
        if let Some(l) = limit.filter(|&l| l < 1 << 60) {
            low = Some(low.map_or(l, |b| b.min(l)));
        }
    }
    low
}

/// Resets the peak resident set reported by [`peak_rss`] to the current one
/// (Linux 4.0+; a no-op elsewhere), so one process can measure several runs.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The ordered merge: partials wait in `pending` until every earlier one has
/// been merged.
struct Merge<P> {
    pending: BTreeMap<usize, P>,
    next: usize,
    merging: bool,
    /// The failure of the lowest-numbered failing partition.
    error: Option<(usize, EngineError)>,
}

/// Runs one pass. `init` makes an empty partial, `update` folds a block into
/// it, `merge` appends a later partial to an earlier one (called in
/// partition order, one call at a time). `cancel` is polled between chunks.
pub fn run_pass<P: Send>(
    source: &dyn Source,
    cfg: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    init: impl Fn() -> P + Sync,
    update: impl Fn(&mut P, &Block<'_>) + Sync,
    merge: impl FnMut(&mut P, P) + Send,
) -> Result<(P, PassReport), EngineError> {
    run_pass_indexed(source, cfg, cancel, observer, |_| init(), update, merge)
}

/// [`run_pass`], where `init` is told which partition (in
/// `source.partitions()` order) the partial is for, or `None` for the
/// accumulator the others are merged into. Partitions are fixed by the
/// source, so per-row state kept between passes can be filed by partition.
pub fn run_pass_indexed<P: Send>(
    source: &dyn Source,
    cfg: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    init: impl Fn(Option<usize>) -> P + Sync,
    update: impl Fn(&mut P, &Block<'_>) + Sync,
    merge: impl FnMut(&mut P, P) + Send,
) -> Result<(P, PassReport), EngineError> {
    let start = Instant::now();
    let parts = source.partitions();
    let threads = rayon::current_num_threads().max(1);
    let depth = cfg.depth(threads);
    let rows = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);
    let claimed = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tok_tx, tok_rx) = crossbeam_channel::bounded::<()>(depth);
    for _ in 0..depth {
        let _ = tok_tx.send(());
    }
    let state = Mutex::new(Merge {
        pending: BTreeMap::new(),
        next: 0,
        merging: false,
        error: None,
    });
    let acc = Mutex::new((init(None), merge));

    let read_partition = |i: usize| -> Result<P, EngineError> {
        let mut p = init(Some(i));
        let mut reader = source.reader(parts[i].clone(), cfg.chunk_rows)?;
        while let Some(block) = reader.next_block()? {
            if cancel.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            update(&mut p, &block);
            rows.fetch_add(block.rows() as u64, Ordering::Relaxed);
            observer.rows_done(block.rows() as u64);
        }
        skipped.fetch_add(reader.skipped(), Ordering::Relaxed);
        Ok(p)
    };
    // Hands partial `i` to the merge; whoever finds the next partial ready
    // merges it (outside the `state` lock) and returns its token.
    let deliver = |i: usize, p: P| {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        st.pending.insert(i, p);
        if st.merging {
            return;
        }
        st.merging = true;
        loop {
            let next = st.next;
            let Some(p) = st.pending.remove(&next) else {
                st.merging = false;
                return;
            };
            drop(st);
            {
                let mut a = acc.lock().unwrap_or_else(|e| e.into_inner());
                let (acc, merge) = &mut *a;
                merge(acc, p);
            }
            let _ = tok_tx.try_send(());
            st = state.lock().unwrap_or_else(|e| e.into_inner());
            st.next += 1;
        }
    };
    let worker = || loop {
        // Wait for room in the window (polling the stop flag).
        loop {
            if stop.load(Ordering::Relaxed) || cancel.load(Ordering::Relaxed) {
                return;
            }
            match tok_rx.recv_timeout(Duration::from_millis(20)) {
                Ok(()) => break,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            }
        }
        let i = claimed.fetch_add(1, Ordering::Relaxed);
        if i >= parts.len() {
            return;
        }
        match read_partition(i) {
            Ok(p) => deliver(i, p),
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                // A real error beats a cancellation (which the stop flag
                // causes in the other workers); of two errors, the earlier
                // partition's is reported.
                let cancelled = |e: &EngineError| matches!(e, EngineError::Cancelled);
                let replace = match &st.error {
                    None => true,
                    Some((j, old)) => match (cancelled(old), cancelled(&e)) {
                        (true, false) => true,
                        (false, true) => false,
                        _ => i < *j,
                    },
                };
                if replace {
                    st.error = Some((i, e));
                }
                return;
            }
        }
    };
    let workers = threads.min(parts.len()).max(1);
    rayon::scope(|s| {
        for _ in 0..workers {
            s.spawn(|_| worker());
        }
    });
    let st = state.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some((_, e)) = st.error {
        // A read error from a file that changed meanwhile (a Parquet page
        // cut short, say) is reported as the change that caused it.
        if let (EngineError::Read(_), Err(changed)) = (&e, source.unchanged()) {
            return Err(changed.into());
        }
        return Err(e);
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(EngineError::Cancelled);
    }
    debug_assert_eq!(st.next, parts.len());
    // A file truncated, extended, rewritten or replaced during the pass (or
    // since the last one) ends the run: its partials mix two files.
    source.unchanged()?;
    let (acc, _) = acc.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok((
        acc,
        PassReport {
            rows: rows.into_inner(),
            skipped: skipped.into_inner(),
            elapsed: start.elapsed(),
            peak_rss: peak_rss(),
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

/// Sources for the unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};

    use shoal_reader::Source;

    /// `n x d` values in `k` stripes `gap` apart (a uniform value in
    /// `[0, 1)` from a seeded xorshift, plus `gap` times the row's stripe,
    /// `row % k`), written as raw little-endian f32 to `dir/x.f32`.
    pub(crate) fn striped_f32(
        dir: &Path,
        (n, d, k): (usize, usize, usize),
        gap: f32,
        seed: u64,
    ) -> (Vec<f32>, PathBuf) {
        let mut s = seed | 1;
        let x: Vec<f32> = (0..n * d)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 + gap * ((i / d) % k) as f32
            })
            .collect();
        let path = dir.join("x.f32");
        let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&path, bytes).expect("a test file");
        (x, path)
    }

    /// A source whose rows come slowly and which says it is not in the
    /// page cache, as a file on disk would.
    #[derive(Debug)]
    pub(crate) struct OnDisk(pub(crate) Box<dyn Source>);

    impl Source for OnDisk {
        fn info(&self) -> &shoal_reader::SourceInfo {
            self.0.info()
        }
        fn partitions(&self) -> Vec<std::ops::Range<u64>> {
            self.0.partitions()
        }
        fn reader(
            &self,
            rows: std::ops::Range<u64>,
            chunk_rows: usize,
        ) -> Result<Box<dyn shoal_reader::ChunkReader + '_>, shoal_reader::ReadError> {
            self.0.reader(rows, chunk_rows)
        }
        fn read_rows(
            &self,
            rows: &[u64],
            out: &mut Vec<f32>,
        ) -> Option<Result<usize, shoal_reader::ReadError>> {
            if !rows.is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
            self.0.read_rows(rows, out)
        }
        fn resident_fraction(&self) -> Option<f64> {
            Some(0.0)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
    use super::*;

    #[test]
    fn meminfo_fields_in_bytes() {
        let s = "MemTotal:       24684092 kB\nMemAvailable:   24033808 kB\n";
        assert_eq!(meminfo_field(s, "MemAvailable:"), Some(24033808 * 1024));
        assert_eq!(meminfo_field(s, "MemFree:"), None);
    }

    /// The lowest limit of the groups named, v1 and v2; none for "max",
    /// v1's "no limit" number, a missing file or another controller.
    #[test]
    fn cgroup_limits_v1_and_v2() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let put = |p: &str, v: &str| {
            let p = r.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, v).unwrap();
        };
        put("memory/job/memory.limit_in_bytes", "1073741824\n");
        put("memory/open/memory.limit_in_bytes", "9223372036854771712\n");
        put("svc/memory.max", "536870912\n");
        put("unified/u/memory.max", "268435456\n");
        put("free/memory.max", "max\n");
        put("cpu/job/memory.limit_in_bytes", "1\n");
        assert_eq!(
            cgroup_limit("4:memory:/job\n1:cpu:/job\n", r),
            Some(1 << 30)
        );
        assert_eq!(cgroup_limit("4:memory:/open\n", r), None);
        assert_eq!(cgroup_limit("0::/svc\n", r), Some(1 << 29));
        assert_eq!(cgroup_limit("0::/u\n", r), Some(1 << 28));
        assert_eq!(cgroup_limit("4:memory:/job\n0::/svc\n", r), Some(1 << 29));
        assert_eq!(cgroup_limit("0::/free\n", r), None);
        assert_eq!(cgroup_limit("0::/missing\nnonsense\n", r), None);
    }
}
