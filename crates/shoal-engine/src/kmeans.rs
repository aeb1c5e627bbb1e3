//! Streaming k-means: Lloyd iterations as passes over a source.
//!
//! Passes: (1) column statistics and a seeded uniform sample in one pass;
//! initialisation on the sample (best of `n_init` starts, each refined by
//! Lloyd on the sample); (2..) one pass per full-data Lloyd iteration until
//! the total squared centre shift is at most `tol x mean feature variance`
//! (scikit-learn's rule) or `max_iter`; (last) an assignment pass so the
//! returned labels, counts and inertia belong to the returned centroids.
//! Every pass merges per-partition partials in partition order: results are
//! bit-identical for any thread count and chunk size.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use shoal_kernels::bounds::{assign_bounded, BoundScratch, Moves};
use shoal_kernels::kmeans::{
    kmeans_plus_plus, lloyd_in_memory, random_init, row_key, tile_rows, InitError, LloydPartial,
    LloydScratch, Sample, Uniform01,
};
use shoal_kernels::{assign, AssignScratch};
use shoal_kernels::{Centroids, ColumnStats};
use shoal_reader::{LabelWriter, Source, WriteError};

use crate::checkpoint::{Checkpoints, LloydState};
use crate::minibatch::MiniBatchConfig;
use crate::remote::{run_remote, Job, JobKind, JobPartial, Remote};
use crate::{run_pass, run_pass_indexed, EngineError, Observer, PassConfig, PassStart};

pub use crate::scaling::{Scaling, ScalingKind};

/// How to choose the starting centroids.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// Greedy k-means++ on the sample.
    KMeansPlusPlus,
    /// k distinct sample points chosen uniformly.
    Random,
    /// k-means|| (Bahmani et al., 2012): oversampling passes over the whole
    /// data, then weighted k-means++ on the candidates.
    KMeansParallel,
    /// Explicit centroids in input units (`k x dim`, row-major).
    Given(Vec<f32>),
}

/// Which k-means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algo {
    /// Exact Lloyd iterations, one pass over the data each.
    #[default]
    Lloyd,
    /// Mini-batch k-means (scikit-learn's `MiniBatchKMeans`).
    MiniBatch,
    /// Lloyd on a uniform sample, then one assignment pass.
    Subsample,
}

impl Algo {
    pub fn name(self) -> &'static str {
        match self {
            Algo::Lloyd => "lloyd",
            Algo::MiniBatch => "minibatch",
            Algo::Subsample => "subsample",
        }
    }
}

/// k-means parameters.
#[derive(Debug, Clone)]
pub struct KMeansConfig {
    pub algo: Algo,
    pub k: usize,
    pub init: Init,
    /// Starts to try on the sample; the best (lowest sample inertia) is kept.
    pub n_init: usize,
    /// Maximum full-data Lloyd iterations.
    pub max_iter: usize,
    /// Relative tolerance (scikit-learn's): stop when the total squared centre
    /// shift is at most `tol x mean per-feature variance`.
    pub tol: f64,
    pub seed: u64,
    /// Rows sampled for initialisation [default: max(256 k, 100 000), at most all].
    pub sample_size: Option<usize>,
    pub scaling: ScalingKind,
    pub pass: PassConfig,
    pub minibatch: MiniBatchConfig,
    /// Memory budget in bytes (sizes the mini-batch shuffle buffer and
    /// decides whether per-row Lloyd bounds fit; the pass configuration is
    /// derived from it by the caller).
    pub memory: u64,
    /// Keep per-row bounds between Lloyd passes where they fit (see
    /// [`RowBounds::worthwhile`]); off, every pass searches every row. The
    /// result is the same either way, bar distances within rounding.
    pub bounds: bool,
}

impl Default for KMeansConfig {
    fn default() -> Self {
        KMeansConfig {
            algo: Algo::Lloyd,
            k: 8,
            init: Init::KMeansPlusPlus,
            n_init: 1,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            sample_size: None,
            scaling: ScalingKind::None,
            pass: PassConfig::default(),
            minibatch: MiniBatchConfig::default(),
            memory: crate::DEFAULT_MEMORY,
            bounds: true,
        }
    }
}

/// Errors of k-means (besides those of a pass).
#[derive(Debug, thiserror::Error)]
pub enum KMeansError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("writing labels: {0}")]
    Write(#[from] WriteError),
    #[error("k = {k} is larger than the {rows} rows of the data")]
    KTooLarge { k: usize, rows: u64 },
    #[error("k must be at least 1")]
    KZero,
    #[error("the data has only {distinct} distinct points, fewer than k = {k}")]
    TooFewDistinct { distinct: usize, k: usize },
    #[error("initial centroids: {0}")]
    BadInit(String),
    /// What the distributed runner cannot do (mini-batch's random row reads).
    #[error("{0}")]
    Unsupported(String),
    /// The memory budget cannot hold what the fit keeps in memory.
    #[error("{0}")]
    Budget(String),
}

/// Rows of mini-batch's first-pass sample by default: each start is chosen
/// by its inertia on them, and the best is refined on them.
pub const MINIBATCH_SAMPLE_ROWS: usize = 100_000;

impl KMeansConfig {
    /// Bytes the fit keeps in memory beside the streaming pipeline, for
    /// `rows x dim` data: the first pass's sample (its f32 values and the
    /// initialisation's per-row distances and weights), the centroids, and
    /// the cluster sums of every partial in flight (f64, with counts), plus
    /// mini-batch's batch. The budget gives the pipeline half, per-row bounds
    /// or the shuffle buffer a quarter, and these the last quarter.
    pub fn resident_bytes(&self, rows: u64, dim: usize, threads: usize) -> u64 {
        let d = dim.max(1) as u64;
        let k = self.k as u64;
        let sample = match self.init {
            Init::Given(_) => 0,
            _ => self.default_sample_size(rows).max(self.k) as u64,
        };
        let in_flight = self.pass.depth(threads) as u64 + 2;
        let batch = match self.algo {
            Algo::MiniBatch => 2 * self.minibatch.batch_size as u64 * (4 * d + 8),
            _ => 0,
        };
        sample * (4 * d + 16) + in_flight * k * (8 * d + 16) + 2 * k * 4 * d + batch
    }

    /// Refuses, before any pass, a budget whose last quarter cannot hold
    /// [`KMeansConfig::resident_bytes`], with the least budget that can.
    pub fn check_budget(&self, rows: u64, dim: usize, threads: usize) -> Result<(), KMeansError> {
        let need = self.resident_bytes(rows, dim, threads);
        if need <= self.memory / 4 {
            return Ok(());
        }
        const MIB: u64 = 1 << 20;
        let least = (4 * need).div_ceil(MIB).max(16);
        let sample = match self.init {
            Init::Given(_) => 0,
            _ => self.default_sample_size(rows).max(self.k),
        };
        Err(KMeansError::Budget(format!(
            "a memory budget of {} MiB is too small for k = {} in {dim} dimensions: the sample of {sample} rows, \
             the centroids and the partial sums in flight take {:.1} MiB, which must fit in a quarter of it; \
             give a budget (--memory, memory=) of at least {least}MiB, or a smaller sample (--sample-size)",
            self.memory / MIB,
            self.k,
            need as f64 / MIB as f64,
        )))
    }

    /// scikit-learn's `init_size` of mini-batch: 3 x batch size, at least 3 k.
    pub fn init_size(&self) -> usize {
        (3 * self.minibatch.batch_size).max(3 * self.k)
    }

    /// Rows sampled in the first pass: `--sample-size`, or by default
    /// max(256 k, 100 000) for Lloyd and subsample, and for mini-batch
    /// max(`init_size`, 100 000) (each start draws its own `init_size`
    /// rows from them, as scikit-learn's starts do).
    pub fn default_sample_size(&self, rows: u64) -> usize {
        let default = match self.algo {
            Algo::MiniBatch => self.init_size().max(MINIBATCH_SAMPLE_ROWS),
            _ => (256 * self.k).max(100_000),
        };
        let want = self.sample_size.unwrap_or(default);
        (want as u64).min(rows) as usize
    }
}

/// Receives the labels (0..k-1) and squared distances of every row, in input order.
pub trait LabelSink: Send {
    fn write(&mut self, labels: &[u32], dist2: &[f32]) -> Result<(), WriteError>;
}

/// Labels streamed to a file, written atomically: `.npy` (int32 cluster
/// per row) or `.parquet` (`cluster` int32 and `distance` float32, the
/// Euclidean distance to the centroid as scipy's `vq` returns it).
#[derive(Debug)]
pub struct LabelFile(LabelWriter);

impl LabelFile {
    pub fn create(path: &std::path::Path) -> Result<LabelFile, WriteError> {
        Ok(LabelFile(LabelWriter::create(path, true)?))
    }

    /// Renames the finished file into place; returns the rows written.
    pub fn finish(self) -> Result<u64, WriteError> {
        self.0.finish()
    }
}

impl LabelSink for LabelFile {
    fn write(&mut self, labels: &[u32], dist2: &[f32]) -> Result<(), WriteError> {
        let l: Vec<i32> = labels.iter().map(|&v| v as i32).collect();
        let d: Vec<f32> = dist2.iter().map(|v| v.max(0.0).sqrt()).collect();
        self.0.write(&l, Some(&d))
    }
}

/// Timing of one pass.
#[derive(Debug, Clone)]
pub struct PassTiming {
    pub name: String,
    pub seconds: f64,
    pub rows: u64,
    /// Peak resident set of the process at the end of the pass.
    pub peak_rss: Option<u64>,
    /// A streaming pass over the data (not in-memory work on a sample, nor
    /// random-access mini-batch steps).
    pub over_data: bool,
    /// For a Lloyd pass with per-row bounds: the rows that went through the
    /// full nearest-centroid search (the others kept their label).
    pub searched_rows: Option<u64>,
}

impl PassTiming {
    pub fn new(name: impl Into<String>, rep: &crate::PassReport) -> Self {
        PassTiming {
            name: name.into(),
            seconds: rep.elapsed.as_secs_f64(),
            rows: rep.rows,
            peak_rss: rep.peak_rss,
            over_data: true,
            searched_rows: None,
        }
    }
}

/// The outcome of a fit.
#[derive(Debug, Clone)]
pub struct KMeansFit {
    pub k: usize,
    pub dim: usize,
    /// Centroids in input units.
    pub centroids: Vec<f32>,
    /// Centroids in clustered (scaled) units.
    pub centroids_scaled: Vec<f32>,
    pub counts: Vec<u64>,
    /// Sum of squared distances to the nearest centroid, in clustered units.
    pub inertia: f64,
    pub iterations: usize,
    pub converged: bool,
    pub relocations: usize,
    pub scaling: Scaling,
    pub rows: u64,
    pub skipped_rows: u64,
    pub sample_rows: usize,
    pub sample_inertia: Option<f64>,
    pub passes: Vec<PassTiming>,
    /// Mean per-feature variance in clustered units, which scales `tol`: of
    /// the full data, or of the sample when the first pass took no
    /// statistics (no scaling, and subsample-then-assign or `tol` 0).
    pub mean_variance: f64,
    pub algo: Algo,
    /// Mini-batch steps taken (mini-batch only).
    pub minibatch_steps: Option<u64>,
}

impl KMeansFit {
    /// Streaming passes made over the data.
    pub fn data_passes(&self) -> usize {
        self.passes.iter().filter(|p| p.over_data).count()
    }
}

/// Tells the observer a pass begins.
fn announce(
    observer: &dyn Observer,
    passes: &[PassTiming],
    name: &str,
    rows: u64,
    max_passes: Option<usize>,
    inertia: Option<f64>,
) {
    observer.pass_started(&PassStart {
        name: name.to_string(),
        index: passes.len() + 1,
        max_passes,
        rows,
        inertia,
    });
}

/// Where a fit's passes run: over a local source (the pass pipeline of
/// [`crate::run_pass`]), or partition by partition elsewhere
/// ([`crate::remote`]), the partials folded here in the same order.
#[derive(Clone, Copy)]
pub(crate) enum Passes<'a> {
    Local(&'a dyn Source),
    Remote(&'a dyn Remote),
}

impl Passes<'_> {
    fn rows(&self) -> u64 {
        match self {
            Passes::Local(s) => s.info().rows,
            Passes::Remote(r) => r.shape().0,
        }
    }

    fn dim(&self) -> usize {
        match self {
            Passes::Local(s) => s.info().dim,
            Passes::Remote(r) => r.shape().1,
        }
    }

    /// One pass of `job` over every partition, merged in partition order.
    fn run(
        &self,
        job: &Job,
        cancel: &AtomicBool,
        observer: &dyn Observer,
    ) -> Result<(JobPartial, crate::PassReport), EngineError> {
        match self {
            Passes::Local(source) => {
                let cfg = PassConfig {
                    chunk_rows: job.chunk_rows,
                    ..PassConfig::default()
                };
                let (st, rep) = run_pass(
                    *source,
                    &cfg,
                    cancel,
                    observer,
                    || job.state(),
                    |st, b| job.update(st, b),
                    |a, p| a.partial.merge(p.partial),
                )?;
                Ok((st.partial, rep))
            }
            Passes::Remote(r) => run_remote(*r, job, cancel, observer),
        }
    }

    /// An assignment pass to `cent` (clustered units), keeping the cluster
    /// sums when `sums`: counts and inertia.
    fn lloyd(
        &self,
        pass: &PassConfig,
        scaling: &Scaling,
        cent: &[f32],
        sums: bool,
        cancel: &AtomicBool,
        observer: &dyn Observer,
    ) -> Result<(LloydPartial, crate::PassReport), EngineError> {
        let job = Job {
            chunk_rows: pass.chunk_rows,
            dim: scaling.shift.len(),
            kind: JobKind::Lloyd {
                scaling: scaling.clone(),
                centroids: Centroids::new(cent.to_vec(), scaling.shift.len()),
                sums,
            },
        };
        match self.run(&job, cancel, observer)? {
            (JobPartial::Lloyd(p), rep) => Ok((p, rep)),
            _ => unreachable!("a Lloyd job returns a Lloyd partial"),
        }
    }
}

impl Passes<'_> {
    /// [`lloyd_to`] here: locally with the bounds and the sink, remotely
    /// without (the workers keep no per-row state and write no labels).
    #[allow(clippy::too_many_arguments)]
    fn lloyd_to(
        &self,
        pass: &PassConfig,
        scaling: &Scaling,
        cent: &[f32],
        bounded: Option<&mut Bounded>,
        sums: bool,
        name: String,
        cancel: &AtomicBool,
        observer: &dyn Observer,
        sink: Option<&mut dyn LabelSink>,
    ) -> Result<(LloydPartial, PassTiming), KMeansError> {
        match self {
            Passes::Local(source) => lloyd_to(
                *source, pass, scaling, cent, bounded, sums, name, cancel, observer, sink,
            ),
            Passes::Remote(_) => {
                let (acc, rep) = self.lloyd(pass, scaling, cent, sums, cancel, observer)?;
                Ok((acc, PassTiming::new(name, &rep)))
            }
        }
    }
}

struct Partial {
    lloyd: LloydPartial,
    scratch: LloydScratch,
    buf: Vec<f32>,
    labels: Vec<u32>,
    dist2: Vec<f32>,
    bounded: Option<BoundedPart>,
}

/// A partition's bounds: the previous pass's (read in row order) and this
/// pass's (written in row order).
struct BoundedPart {
    part: usize,
    prev: PartBounds,
    cursor: usize,
    next: PartBounds,
    lower: Vec<f32>,
    scratch: BoundScratch,
    searched: u64,
}

#[derive(Debug, Default)]
struct PartBounds {
    labels: Vec<u32>,
    lower: Vec<f32>,
}

/// Per-row state kept between Lloyd passes so that later passes search all
/// centroids only for rows whose label may change
/// ([`shoal_kernels::bounds`]): a label and a lower bound, 8 bytes per
/// row, filed by partition (partitions are fixed by the source).
#[derive(Debug)]
pub struct RowBounds {
    parts: Vec<std::sync::Mutex<PartBounds>>,
}

impl RowBounds {
    /// Bytes of state per row.
    pub const ROW_BYTES: u64 = 8;

    /// Empty bounds for `source` (the first pass searches every row).
    pub fn new(source: &dyn Source) -> RowBounds {
        RowBounds {
            parts: (0..source.partitions().len())
                .map(|_| Default::default())
                .collect(),
        }
    }

    /// Whether a fit of `rows x dim` keeps bounds: the kernel supports the
    /// dimension and the state takes at most a quarter of `memory`.
    pub fn worthwhile(rows: u64, dim: usize, memory: u64) -> bool {
        shoal_kernels::bounds::supported(dim) && rows.saturating_mul(Self::ROW_BYTES) <= memory / 4
    }
}

/// One assignment pass to `c` (clustered units): counts and inertia (the
/// partial keeps no cluster sums, see [`LloydPartial::counting`]); with a
/// sink, the labels and distances are streamed to it in order.
pub fn lloyd_pass(
    source: &dyn Source,
    cfg: &PassConfig,
    scaling: &Scaling,
    c: &Centroids,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    sink: Option<&mut dyn LabelSink>,
) -> Result<(LloydPartial, crate::PassReport), KMeansError> {
    let (acc, rep, _) =
        lloyd_pass_with(source, cfg, scaling, c, None, false, cancel, observer, sink)?;
    Ok((acc, rep))
}

/// [`lloyd_pass`] with optional per-row bounds (`moves` from the centroids
/// the bounds were made for to `c`), keeping the cluster sums a centroid
/// update needs when `sums`; also returns how many rows were searched in
/// full.
#[allow(clippy::too_many_arguments)]
pub fn lloyd_pass_with(
    source: &dyn Source,
    cfg: &PassConfig,
    scaling: &Scaling,
    c: &Centroids,
    bounds: Option<(&RowBounds, &Moves)>,
    sums: bool,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    mut sink: Option<&mut dyn LabelSink>,
) -> Result<(LloydPartial, crate::PassReport, u64), KMeansError> {
    let (k, d) = (c.k(), c.dim());
    let keep = sink.is_some();
    let mut write_err: Option<WriteError> = None;
    let mut searched = 0u64;
    let (acc, rep) = run_pass_indexed(
        source,
        cfg,
        cancel,
        observer,
        |part| Partial {
            lloyd: if sums {
                LloydPartial::new(k, d)
            } else {
                LloydPartial::counting(k, d)
            },
            scratch: LloydScratch::default(),
            buf: Vec::new(),
            labels: Vec::new(),
            dist2: Vec::new(),
            bounded: match (bounds, part) {
                (Some((rb, _)), Some(i)) => Some(BoundedPart {
                    part: i,
                    prev: std::mem::take(
                        &mut *rb.parts[i].lock().unwrap_or_else(|e| e.into_inner()),
                    ),
                    cursor: 0,
                    next: PartBounds::default(),
                    lower: Vec::new(),
                    scratch: BoundScratch::default(),
                    searched: 0,
                }),
                _ => None,
            },
        },
        |p, b| {
            let x = scaling.view(b.data, &mut p.buf);
            match (&mut p.bounded, bounds) {
                (Some(bp), Some((_, moves))) => {
                    let n = x.len() / d;
                    let sc = &mut p.scratch;
                    sc.labels.resize(n, 0);
                    sc.dist2.resize(n, 0.0);
                    bp.lower.resize(n, 0.0);
                    let (lo, hi) = (bp.cursor, bp.cursor + n);
                    let has_prev = bp.prev.labels.len() >= hi;
                    // In tiles, as `LloydPartial::update`: rows still in
                    // cache when their sums are added.
                    let tile = tile_rows(d);
                    for s in (0..n).step_by(tile) {
                        let e = (s + tile).min(n);
                        let prev = has_prev.then(|| {
                            (
                                &bp.prev.labels[lo + s..lo + e],
                                &bp.prev.lower[lo + s..lo + e],
                            )
                        });
                        let xt = &x[s * d..e * d];
                        bp.searched += assign_bounded(
                            xt,
                            c,
                            moves,
                            prev,
                            &mut sc.labels[s..e],
                            &mut sc.dist2[s..e],
                            &mut bp.lower[s..e],
                            &mut bp.scratch,
                        ) as u64;
                        p.lloyd.accumulate(
                            xt,
                            b.first_row + s as u64,
                            &sc.labels[s..e],
                            &sc.dist2[s..e],
                        );
                    }
                    bp.cursor = hi;
                    bp.next.labels.extend_from_slice(&sc.labels);
                    bp.next.lower.extend_from_slice(&bp.lower);
                }
                _ => p.lloyd.update(x, b.first_row, c, &mut p.scratch),
            }
            if keep {
                p.labels.extend_from_slice(&p.scratch.labels);
                p.dist2.extend_from_slice(&p.scratch.dist2);
            }
        },
        |a, mut p| {
            a.lloyd.merge(&p.lloyd);
            if let (Some(bp), Some((rb, _))) = (p.bounded.as_mut(), bounds) {
                searched += bp.searched;
                *rb.parts[bp.part].lock().unwrap_or_else(|e| e.into_inner()) =
                    std::mem::take(&mut bp.next);
            }
            if let Some(s) = sink.as_mut() {
                if write_err.is_none() {
                    if let Err(e) = s.write(&p.labels, &p.dist2) {
                        write_err = Some(e);
                    }
                }
            }
        },
    )?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    Ok((acc.lloyd, rep, searched))
}

/// Per-row bounds and the centroids they were last made for.
struct Bounded {
    rows: RowBounds,
    made_for: Option<Vec<f32>>,
}

/// A Lloyd pass (named `name`) to `cent`, through `bounded` when given (then
/// renewed for `cent`, and the timing counts the rows searched).
#[allow(clippy::too_many_arguments)]
fn lloyd_to(
    source: &dyn Source,
    cfg: &PassConfig,
    scaling: &Scaling,
    cent: &[f32],
    bounded: Option<&mut Bounded>,
    sums: bool,
    name: String,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    sink: Option<&mut dyn LabelSink>,
) -> Result<(LloydPartial, PassTiming), KMeansError> {
    let c = Centroids::new(cent.to_vec(), scaling.scale.len());
    let Some(b) = bounded else {
        let (acc, rep, _) =
            lloyd_pass_with(source, cfg, scaling, &c, None, sums, cancel, observer, sink)?;
        return Ok((acc, PassTiming::new(name, &rep)));
    };
    let moves = Moves::new(b.made_for.as_deref(), &c);
    let (acc, rep, searched) = lloyd_pass_with(
        source,
        cfg,
        scaling,
        &c,
        Some((&b.rows, &moves)),
        sums,
        cancel,
        observer,
        sink,
    )?;
    b.made_for = Some(cent.to_vec());
    let mut timing = PassTiming::new(name, &rep);
    timing.searched_rows = Some(searched);
    Ok((acc, timing))
}

pub(crate) fn shift2(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum()
}

/// The best of `cfg.n_init` starts placed on the sample by `method` and
/// (except for mini-batch) refined there by Lloyd: its centroids, sample
/// inertia and the most Lloyd iterations a start took.
#[allow(clippy::too_many_arguments)]
pub(crate) fn starts_on_sample(
    on: Passes<'_>,
    cfg: &KMeansConfig,
    method: &Init,
    scaling: &Scaling,
    sample_x: &[f32],
    tol: f64,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    passes: &mut Vec<PassTiming>,
) -> Result<(Vec<f32>, f64, usize), KMeansError> {
    let (k, d) = (cfg.k, on.dim());
    let mut best: Option<(f64, Vec<f32>)> = None;
    let mut iters = 0;
    for s in 0..cfg.n_init.max(1) {
        let mut rng = Uniform01::new(cfg.seed, s as u64);
        let c0 = match method {
            Init::Random => random_init(sample_x, d, k, &mut rng).map_err(init_err)?,
            Init::KMeansParallel => kmeans_parallel(
                on, cfg, scaling, sample_x, s as u64, cancel, observer, passes,
            )?,
            _ => kmeans_plus_plus(sample_x, d, None, k, &mut rng).map_err(init_err)?,
        };
        // Mini-batch, like scikit-learn, starts from the raw
        // initialisation; the others refine it on the sample.
        let refine = if cfg.algo == Algo::MiniBatch {
            0
        } else {
            cfg.max_iter
        };
        let (c1, inertia, it) = lloyd_in_memory(sample_x, d, c0, refine, tol);
        iters = iters.max(it);
        if best.as_ref().is_none_or(|b| inertia < b.0) {
            best = Some((inertia, c1));
        }
    }
    let (inertia, c) = best.ok_or_else(|| KMeansError::BadInit("no start".into()))?;
    Ok((c, inertia, iters))
}

/// Mini-batch's start, from the first pass's sample `x` (key order, so any
/// run of its rows is a uniform sample): start `s` of `n_init` takes its
/// own `init_size` rows (the `s`-th run, as each of scikit-learn's starts
/// draws its own), places k-means++ (or random) centres on them and refines
/// them there by Lloyd (tolerance `tol`); the start with the least inertia
/// over the whole sample wins (scikit-learn keeps the unrefined start with
/// the least inertia on one batch) and is refined by Lloyd on the whole
/// sample. Returns its centres, inertia on the sample, the sample rows
/// nearest each centre (the counts the steps start from) and the Lloyd
/// iterations. On Zipf-sized GPS data with 5% noise (with the reassignment
/// rule of `shoal-kernels::minibatch`) that took mini-batch's median inertia
/// over the best of 10 Lloyd runs from 1.023 to 1.011 and the 90th
/// percentile from 1.38 to 1.013 (see benches/README.md).
fn minibatch_start(
    x: &[f32],
    d: usize,
    k: usize,
    cfg: &KMeansConfig,
    tol: f64,
) -> Result<(Vec<f32>, f64, Vec<f64>, usize), KMeansError> {
    let n = x.len() / d;
    let m = cfg.init_size().min(n).max(k.min(n));
    let runs = (n / m).max(1);
    let refine = cfg.max_iter.max(1);
    let mut best: Option<(f64, Vec<f32>)> = None;
    let mut iters = 0;
    for s in 0..cfg.n_init.max(1) {
        let at = (s % runs) * m;
        let xs = &x[at * d..(at + m) * d];
        let mut rng = Uniform01::new(cfg.seed, s as u64);
        let c0 = match cfg.init {
            Init::Random => random_init(xs, d, k, &mut rng).map_err(init_err)?,
            _ => kmeans_plus_plus(xs, d, None, k, &mut rng).map_err(init_err)?,
        };
        let (c1, _, it) = lloyd_in_memory(xs, d, c0, refine, tol);
        iters = iters.max(it);
        let (_, inertia, _) = lloyd_in_memory(x, d, c1.clone(), 0, tol);
        if best.as_ref().is_none_or(|b| inertia < b.0) {
            best = Some((inertia, c1));
        }
    }
    let (_, c) = best.ok_or_else(|| KMeansError::BadInit("no start".into()))?;
    let (c, inertia, it) = lloyd_in_memory(x, d, c, refine, tol);
    let mut labels = vec![0u32; n];
    let mut dist2 = vec![0f32; n];
    assign(
        x,
        &Centroids::new(c.clone(), d),
        &mut labels,
        &mut dist2,
        &mut AssignScratch::default(),
    );
    let mut counts = vec![0f64; k];
    for &l in &labels {
        counts[l as usize] += 1.0;
    }
    Ok((c, inertia, counts, iters.max(it)))
}

fn init_err(e: InitError) -> KMeansError {
    match e {
        InitError::TooFewDistinct { distinct, k } => KMeansError::TooFewDistinct { distinct, k },
    }
}

/// What the first pass leaves for initialisation: the sample (scaled),
/// the scaling, the mean feature variance and the tolerance, the rows
/// counted, and the passes so far.
pub(crate) struct Prepared {
    pub sample_x: Vec<f32>,
    pub scaling: Scaling,
    pub mean_variance: f64,
    pub tol: f64,
    pub valid_rows: u64,
    pub first: Option<crate::PassReport>,
    pub passes: Vec<PassTiming>,
    /// The statistics (and so the tolerance) are the sample's own.
    pub stats_from_sample: bool,
    /// The most passes the run can take (for progress displays).
    pub max_passes: Option<usize>,
}

/// Checks `k`, then pass 1: statistics and the sample (see [`fit`]).
pub(crate) fn prepare(
    source: &dyn Source,
    cfg: &KMeansConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<Prepared, KMeansError> {
    prepare_on(Passes::Local(source), cfg, cancel, observer)
}

fn prepare_on(
    on: Passes<'_>,
    cfg: &KMeansConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<Prepared, KMeansError> {
    let (k, d, total_rows) = (cfg.k, on.dim(), on.rows());
    if k == 0 {
        return Err(KMeansError::KZero);
    }
    if k as u64 > total_rows {
        return Err(KMeansError::KTooLarge {
            k,
            rows: total_rows,
        });
    }
    cfg.check_budget(total_rows, d, rayon::current_num_threads())?;
    let mut passes = Vec::new();

    // Pass 1: statistics and the sample.
    // Given centroids need no sample (a cap of 0 skips the per-row hashing).
    let sample_cap = match cfg.init {
        Init::Given(_) => 0,
        _ => cfg.default_sample_size(total_rows).max(k),
    };
    // Passes the run can take at most (for progress displays).
    let max_passes = match (cfg.algo, &cfg.init) {
        (Algo::Lloyd, Init::KMeansParallel) => Some(cfg.max_iter + KMEANS_PARALLEL_ROUNDS + 4),
        (Algo::Lloyd, _) => Some(cfg.max_iter + 2),
        (Algo::Subsample, _) => Some(2),
        (Algo::MiniBatch, _) => None,
    };
    // Without scaling, the full data's statistics only scale the tolerance.
    // Subsample-then-assign's Lloyd runs on the sample, so (as scikit-learn
    // fitted to the sample would) it takes the tolerance from the sample's
    // variance; mini-batch with `tol` 0 (its default) uses none. Then the
    // first pass only draws the sample.
    let full_stats = cfg.scaling != ScalingKind::None
        || sample_cap == 0
        || match cfg.algo {
            Algo::Subsample => false,
            Algo::Lloyd | Algo::MiniBatch => cfg.tol > 0.0,
        };
    // A source with random access reads the sample's rows by number when
    // they are known without the data and the full data's statistics are
    // not needed: the same sample as the pass below, without the pass.
    let by_row = match on {
        Passes::Local(source) if !full_stats => sample_by_row(
            source,
            sample_cap,
            cfg.seed,
            max_passes,
            cancel,
            observer,
            &mut passes,
        )?,
        _ => None,
    };
    let (stats, sample, first) = match by_row {
        Some(sample) => (None, sample, None),
        None => {
            let first_name = if full_stats { "stats+sample" } else { "sample" };
            announce(observer, &passes, first_name, total_rows, max_passes, None);
            let job = Job {
                chunk_rows: cfg.pass.chunk_rows,
                dim: d,
                kind: JobKind::StatsSample {
                    stats: full_stats,
                    cap: sample_cap,
                    seed: cfg.seed,
                    rows: total_rows,
                },
            };
            let (JobPartial::StatsSample(stats, sample), rep) = on.run(&job, cancel, observer)?
            else {
                unreachable!("a statistics job returns statistics")
            };
            passes.push(PassTiming::new(first_name, &rep));
            (stats, sample, Some(rep))
        }
    };
    // Valid rows (the file's count until a pass has counted them).
    let valid_rows = first.as_ref().map_or(total_rows, |r| r.rows);
    if (k as u64) > valid_rows {
        return Err(KMeansError::KTooLarge {
            k,
            rows: valid_rows,
        });
    }
    let mut sample_x = sample.finish();
    let stats_from_sample = stats.is_none();
    let stats = stats.unwrap_or_else(|| {
        let mut s = ColumnStats::new(d);
        s.update(&sample_x);
        s
    });
    let scaling = Scaling::from_stats(cfg.scaling, &stats, d);
    if !scaling.is_identity() {
        let raw = std::mem::take(&mut sample_x);
        scaling.apply(&raw, &mut sample_x);
    }
    // Mean per-feature variance in clustered units, for the tolerance (of
    // the sample, when the first pass took no statistics).
    let summaries = stats.finish();
    let mean_variance = summaries
        .iter()
        .enumerate()
        .map(|(j, s)| (s.std / scaling.scale[j]).powi(2))
        .sum::<f64>()
        / d as f64;
    let tol = cfg.tol * mean_variance;
    Ok(Prepared {
        sample_x,
        scaling,
        mean_variance,
        tol,
        valid_rows,
        first,
        passes,
        stats_from_sample,
        max_passes,
    })
}

/// Fits k-means to `source`. With `sink`, every row's label and squared
/// distance to its centroid are streamed to it in input order.
pub fn fit(
    source: &dyn Source,
    cfg: &KMeansConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    sink: Option<&mut dyn LabelSink>,
) -> Result<KMeansFit, KMeansError> {
    fit_on(
        Passes::Local(source),
        cfg,
        cancel,
        observer,
        sink,
        Checkpoints::none(),
    )
}

/// [`fit`] that saves its state through `ck` and may resume from one
/// (Lloyd only; see [`crate::checkpoint`]): a fit resumed from a state a
/// fit of the same source and configuration saved ends with the same
/// result, to the bit.
pub fn fit_checkpointed(
    source: &dyn Source,
    cfg: &KMeansConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    sink: Option<&mut dyn LabelSink>,
    ck: Checkpoints<'_>,
) -> Result<KMeansFit, KMeansError> {
    fit_on(Passes::Local(source), cfg, cancel, observer, sink, ck)
}

/// [`fit`] with every pass run partition by partition by `remote` (Dask
/// workers): the same result to the bit as [`fit`] over a source with the
/// same partitions (Lloyd and subsample; mini-batch reads random rows and
/// is refused). The labels are left to the workers.
pub fn fit_remote(
    remote: &dyn Remote,
    cfg: &KMeansConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<KMeansFit, KMeansError> {
    if cfg.algo == Algo::MiniBatch {
        return Err(KMeansError::Unsupported(
            "mini-batch k-means is not run on Dask (its batches are random rows); use 'lloyd' or 'subsample'".into(),
        ));
    }
    fit_on(
        Passes::Remote(remote),
        cfg,
        cancel,
        observer,
        None,
        Checkpoints::none(),
    )
}

/// What [`start`] leaves for the iterations.
struct Started {
    state: LloydState,
    passes: Vec<PassTiming>,
    max_passes: Option<usize>,
    /// The sample's counts (mini-batch's start).
    start_counts: Option<Vec<f64>>,
    /// Lloyd's iterations on the sample (subsample-then-assign).
    sample_iters: usize,
}

/// Pass 1 and the initialisation: the state Lloyd's iterations start from.
fn start(
    on: Passes<'_>,
    cfg: &KMeansConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<Started, KMeansError> {
    let (k, d) = (cfg.k, on.dim());
    let Prepared {
        sample_x,
        scaling,
        mean_variance,
        tol,
        valid_rows,
        first,
        mut passes,
        max_passes,
        ..
    } = prepare_on(on, cfg, cancel, observer)?;

    // Initialisation.
    let init_start = Instant::now();
    let mut sample_inertia = None;
    let mut sample_iters = 0;
    let mut start_counts = None;
    let cent: Vec<f32> = match &cfg.init {
        Init::Given(c) => {
            if c.len() != k * d {
                return Err(KMeansError::BadInit(format!(
                    "{} values given, expected k x dim = {k} x {d}",
                    c.len()
                )));
            }
            if c.iter().any(|v| !v.is_finite()) {
                return Err(KMeansError::BadInit("a value is NaN or infinite".into()));
            }
            let mut out = Vec::new();
            scaling.apply(c, &mut out);
            out
        }
        Init::KMeansPlusPlus | Init::Random if cfg.algo == Algo::MiniBatch => {
            let (c, inertia, counts, it) =
                minibatch_start(&sample_x, d, k, cfg, 1e-4 * mean_variance)?;
            sample_inertia = Some(inertia);
            sample_iters = it;
            start_counts = Some(counts);
            c
        }
        method => {
            let (c, inertia, it) = starts_on_sample(
                on,
                cfg,
                method,
                &scaling,
                &sample_x,
                tol,
                cancel,
                observer,
                &mut passes,
            )?;
            sample_iters = it;
            sample_inertia = Some(inertia);
            c
        }
    };
    passes.push(PassTiming {
        name: "init (in memory)".into(),
        seconds: init_start.elapsed().as_secs_f64(),
        rows: sample_x.len() as u64 / d as u64,
        peak_rss: crate::peak_rss(),
        over_data: false,
        searched_rows: None,
    });

    let sample_rows = sample_x.len() / d;
    Ok(Started {
        state: LloydState {
            shift: scaling.shift,
            scale: scaling.scale,
            mean_variance,
            tol,
            first_pass: first.map(|r| (r.rows, r.skipped)),
            valid_rows,
            sample_rows,
            sample_inertia,
            centroids: cent,
            iterations: 0,
            relocations: 0,
            last_inertia: None,
            done: false,
            converged: false,
            minibatch: None,
        },
        passes,
        max_passes,
        start_counts,
        sample_iters,
    })
}

fn fit_on(
    on: Passes<'_>,
    cfg: &KMeansConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    sink: Option<&mut dyn LabelSink>,
    ck: Checkpoints<'_>,
) -> Result<KMeansFit, KMeansError> {
    let (k, d, total_rows) = (cfg.k, on.dim(), on.rows());
    let Checkpoints { resume, mut save } = ck;
    if resume.is_some() || save.is_some() {
        let rows_mode = match on {
            Passes::Local(source) => {
                cfg.minibatch.batches == crate::minibatch::Batches::Rows
                    && source.read_rows(&[], &mut Vec::new()).is_some()
            }
            Passes::Remote(_) => false,
        };
        match cfg.algo {
            Algo::Lloyd => {}
            Algo::MiniBatch if rows_mode => {}
            Algo::MiniBatch => {
                return Err(KMeansError::Unsupported(
                    "mini-batch keeps checkpoints when it draws its batches as rows of a .npy or .f32 file (--batches rows); this run streams them".into(),
                ))
            }
            Algo::Subsample => {
                return Err(KMeansError::Unsupported(
                    "subsample-then-assign makes two passes and no iterations over the data: nothing to checkpoint; use --algo lloyd or minibatch".into(),
                ))
            }
        }
    }
    let mut start_counts = None;
    let mut sample_iters = 0;
    let (mut st, mut passes, max_passes) = match resume {
        Some(st) => {
            st.check(k, d).map_err(KMeansError::BadInit)?;
            let max_passes = Some(cfg.max_iter + 2);
            (st, Vec::new(), max_passes)
        }
        None => {
            let s = start(on, cfg, cancel, observer)?;
            start_counts = s.start_counts;
            sample_iters = s.sample_iters;
            (s.state, s.passes, s.max_passes)
        }
    };
    let scaling = st.scaling(cfg.scaling);
    let mut minibatch_steps = None;
    // Per-row bounds for the Lloyd passes, where they fit in the budget.
    let mut bounded = match on {
        Passes::Local(source)
            if cfg.bounds
                && cfg.algo == Algo::Lloyd
                && RowBounds::worthwhile(st.valid_rows, d, cfg.memory) =>
        {
            Some(Bounded {
                rows: RowBounds::new(source),
                made_for: None,
            })
        }
        _ => None,
    };
    let wants = save.is_some();
    let mut save_state = |st: &LloydState| match save.as_mut() {
        Some(c) => {
            if st.done || c.due() {
                c.save(st).map_err(KMeansError::Write)?;
            }
            Ok(())
        }
        None => Ok(()),
    };
    match cfg.algo {
        Algo::Lloyd => {
            save_state(&st)?;
            // Lloyd iterations over the full data.
            while !st.done && st.iterations < cfg.max_iter {
                let name = format!("lloyd {}", st.iterations + 1);
                announce(
                    observer,
                    &passes,
                    &name,
                    total_rows,
                    max_passes,
                    st.last_inertia,
                );
                let (acc, timing) = on.lloyd_to(
                    &cfg.pass,
                    &scaling,
                    &st.centroids,
                    bounded.as_mut(),
                    true,
                    name,
                    cancel,
                    observer,
                    None,
                )?;
                let (next, moved) = acc.centroids(&st.centroids);
                st.last_inertia = Some(acc.inertia());
                st.relocations += moved;
                st.iterations += 1;
                passes.push(timing);
                let shift = shift2(&next, &st.centroids);
                st.centroids = next;
                if shift <= st.tol && moved == 0 {
                    st.converged = true;
                    st.done = true;
                } else if st.iterations >= cfg.max_iter {
                    st.done = true;
                }
                save_state(&st)?;
            }
        }
        Algo::Subsample => {
            // Lloyd ran on the sample during initialisation.
            st.iterations = sample_iters;
            st.converged = sample_iters < cfg.max_iter;
        }
        Algo::MiniBatch if st.done => {
            // Resumed after the steps: only the final assignment is left.
            minibatch_steps = st.minibatch.as_ref().map(|m| m.steps);
        }
        Algo::MiniBatch => {
            let Passes::Local(source) = on else {
                unreachable!("fit_remote refuses mini-batch")
            };
            let resume = st.minibatch.take();
            let base = st.clone();
            let mut offer = |state: shoal_kernels::minibatch::MiniBatchState| {
                let mut s = base.clone();
                s.minibatch = Some(state);
                save_state(&s)
            };
            let run = crate::minibatch::run(
                source,
                &cfg.pass,
                &cfg.minibatch,
                cfg.memory,
                &scaling,
                std::mem::take(&mut st.centroids),
                start_counts,
                cfg.max_iter,
                st.tol,
                cfg.seed,
                cancel,
                observer,
                &mut passes,
                resume,
                wants.then_some(&mut offer as &mut dyn FnMut(_) -> _),
            )?;
            st.centroids = run.centers;
            st.iterations = run.epochs;
            st.converged = run.converged;
            st.relocations = run.reassigned as usize;
            st.done = true;
            st.minibatch = run.last;
            minibatch_steps = Some(run.steps);
            save_state(&st)?;
        }
    }
    let cent = std::mem::take(&mut st.centroids);

    // Final assignment: labels, counts and inertia of the returned centroids.
    announce(
        observer,
        &passes,
        "assign",
        total_rows,
        max_passes,
        st.last_inertia,
    );
    let (acc, timing) = on.lloyd_to(
        &cfg.pass,
        &scaling,
        &cent,
        bounded.as_mut(),
        false,
        "assign".into(),
        cancel,
        observer,
        sink,
    )?;
    passes.push(timing);
    let (rows, skipped_rows) = match st.first_pass {
        Some(r) => r,
        None => {
            let rows = acc.counts.iter().sum::<u64>();
            (rows, total_rows - rows)
        }
    };
    Ok(KMeansFit {
        k,
        dim: d,
        centroids: scaling.invert(&cent),
        centroids_scaled: cent,
        counts: acc.counts.clone(),
        inertia: acc.inertia(),
        iterations: st.iterations,
        converged: st.converged,
        relocations: st.relocations,
        scaling,
        rows,
        skipped_rows,
        sample_rows: st.sample_rows,
        sample_inertia: st.sample_inertia,
        passes,
        mean_variance: st.mean_variance,
        algo: cfg.algo,
        minibatch_steps,
    })
}

/// Rows read by number per step of [`sample_by_row`] (Ctrl-C is polled
/// between steps).
const BY_ROW_STEP: usize = 16_384;

/// Fewest bytes of (f32) data per sampled row for reading the sample by
/// row number rather than in a pass. A row read by number costs about a
/// microsecond (a system call, or a page fault for files the map serves);
/// a warm pass reads some 13 GB/s on two cores, so reading by row pays
/// from about 13 KiB a row; on a cold file a random read costs more, hence
/// the margin. (On W2, 80 MB and a row in 100 sampled, reading by row was
/// no faster and mapped the whole file.)
const BY_ROW_MIN_BYTES: u64 = 64 << 10;

/// The first pass's sample read by row number, when `source` has random
/// access, [`Sample::planned`] knows the rows without the data and they are
/// sparse (at least [`BY_ROW_MIN_BYTES`] of data a row): the same rows as a
/// pass over every row, at the cost of reading only them (on O1B, 100k rows
/// of 8 GB). `None` (the caller makes the pass) otherwise, when the file is
/// on disk and fits in memory, or when an invalid row was skipped
/// (`skip_invalid`; the pass counts them).
fn sample_by_row(
    source: &dyn Source,
    cap: usize,
    seed: u64,
    max_passes: Option<usize>,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    passes: &mut Vec<PassTiming>,
) -> Result<Option<Sample>, KMeansError> {
    let info = source.info();
    if cap == 0 || source.read_rows(&[], &mut Vec::new()).is_none() {
        return Ok(None);
    }
    let mut sample = Sample::new(cap, info.dim, seed, info.rows);
    let Some(plan) = sample.planned(info.rows) else {
        return Ok(None);
    };
    let bytes = info.rows.saturating_mul(4 * info.dim as u64);
    if bytes / (plan.len() as u64).max(1) < BY_ROW_MIN_BYTES {
        return Ok(None);
    }
    // A file on disk that fits in memory is better read in order: random
    // rows wait for the disk one by one (the 102k rows of O1B took 4-5 s
    // cold, as long as a pass), and the pass leaves the file in the page
    // cache for the assignment pass (which then took 1.1-1.5 s, not 5-5.6).
    if crate::cold_and_fits(source) {
        return Ok(None);
    }
    let name = "sample (rows by number)";
    announce(observer, passes, name, plan.len() as u64, max_passes, None);
    let start = Instant::now();
    let idx: Vec<u64> = plan.iter().map(|&(_, r)| r).collect();
    let (mut rows, mut piece, mut pieces) = (Vec::new(), Vec::new(), Vec::new());
    for step in idx.chunks(BY_ROW_STEP) {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(EngineError::Cancelled.into());
        }
        let kept = crate::minibatch::fetch_rows(source, step, true, &mut pieces, &mut piece)?;
        if kept != step.len() {
            return Ok(None);
        }
        rows.extend_from_slice(&piece);
        observer.rows_done(kept as u64);
    }
    sample.add_planned(&plan, &rows);
    passes.push(PassTiming {
        name: name.into(),
        seconds: start.elapsed().as_secs_f64(),
        rows: plan.len() as u64,
        peak_rss: crate::peak_rss(),
        over_data: false,
        searched_rows: None,
    });
    Ok(Some(sample))
}

/// Rounds of k-means|| oversampling.
pub const KMEANS_PARALLEL_ROUNDS: usize = 5;

/// k-means|| (Bahmani, Moseley, Vattani, Kumar, Vassilvitskii, 2012):
/// `KMEANS_PARALLEL_ROUNDS` passes, each keeping row `x` with probability
/// `min(1, l d(x)^2 / phi)` (`l = 2k`, `phi` the cost of the previous
/// round), then one pass weighting each candidate by the rows nearest to
/// it, then weighted k-means++ on the candidates. The per-row randomness is
/// a hash of (seed, start, round, row), so the candidates do not depend on
/// the thread count or chunking.
#[allow(clippy::too_many_arguments)]
fn kmeans_parallel(
    on: Passes<'_>,
    cfg: &KMeansConfig,
    scaling: &Scaling,
    sample_x: &[f32],
    start: u64,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    passes: &mut Vec<PassTiming>,
) -> Result<Vec<f32>, KMeansError> {
    let (k, d) = (cfg.k, scaling.shift.len());
    let l = 2.0 * k as f64;
    // first centre: a uniform random row (the sample is in random order)
    let first = (start as usize * d) % sample_x.len().max(d);
    let mut cands: Vec<f32> = sample_x[first..first + d].to_vec();
    // A timed pass of every row against the candidates: cost and counts.
    let against = |cands: &[f32], name: &str, passes: &mut Vec<PassTiming>| {
        announce(observer, passes, name, on.rows(), None, None);
        let (acc, rep) = on.lloyd(&cfg.pass, scaling, cands, false, cancel, observer)?;
        passes.push(PassTiming::new(name, &rep));
        Ok::<_, KMeansError>(acc)
    };
    let acc = against(&cands, "k-means|| cost", passes)?;
    let mut phi = acc.inertia();
    for round in 0..KMEANS_PARALLEL_ROUNDS {
        if phi <= 0.0 {
            break;
        }
        let name = format!("k-means|| round {}", round + 1);
        announce(observer, passes, &name, on.rows(), None, None);
        let job = Job {
            chunk_rows: cfg.pass.chunk_rows,
            dim: d,
            kind: JobKind::Oversample {
                scaling: scaling.clone(),
                cands: Centroids::new(cands.clone(), d),
                l,
                phi,
                seed: cfg.seed ^ row_key(start.wrapping_add(0x5EED), round as u64 + 1),
            },
        };
        let (
            JobPartial::Oversample {
                cands: new,
                phi: cost,
            },
            rep,
        ) = on.run(&job, cancel, observer)?
        else {
            unreachable!("an oversampling job returns candidates")
        };
        passes.push(PassTiming::new(name, &rep));
        cands.extend_from_slice(&new);
        phi = cost;
    }
    let m = cands.len() / d;
    if m < k {
        // Too few candidates (tiny or nearly constant data): k-means++ on the sample.
        let mut rng = Uniform01::new(cfg.seed, start);
        return kmeans_plus_plus(sample_x, d, None, k, &mut rng).map_err(init_err);
    }
    // Weights: rows nearest to each candidate.
    let acc = against(&cands, "k-means|| weights", passes)?;
    let weights: Vec<f64> = acc.counts.iter().map(|&c| c as f64).collect();
    let mut rng = Uniform01::new(cfg.seed, start);
    kmeans_plus_plus(&cands, d, Some(&weights), k, &mut rng).map_err(init_err)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
    use super::*;
    use shoal_reader::{open, OpenOptions};

    /// A sparse sample of a file in the page cache is read by row number;
    /// of the same file on disk (fitting in memory), in a pass, which
    /// leaves it cached for the assignment. The fit is the same to the bit.
    #[test]
    fn a_file_on_disk_is_sampled_in_a_pass() {
        let (n, d, k) = (16_000usize, 256usize, 4usize);
        let dir = tempfile::tempdir().unwrap();
        let (_, path) =
            crate::testing::striped_f32(dir.path(), (n, d, k), 8.0, 0x2545_F491_4F6C_DD1D);
        let opts = OpenOptions {
            dim: Some(d),
            ..Default::default()
        };
        let cfg = KMeansConfig {
            algo: Algo::Subsample,
            k,
            sample_size: Some(100),
            ..KMeansConfig::default()
        };
        let run = |src: &dyn Source| fit(src, &cfg, &AtomicBool::new(false), &crate::Silent, None);
        let cached = run(open(&path, &opts).unwrap().as_ref()).unwrap();
        let on_disk = run(&crate::testing::OnDisk(open(&path, &opts).unwrap())).unwrap();
        let first = |f: &KMeansFit| f.passes[0].name.clone();
        assert_eq!(first(&cached), "sample (rows by number)");
        // (the rule needs the memory available, which Linux reports)
        if cfg!(target_os = "linux") {
            assert_eq!(first(&on_disk), "sample");
        }
        assert_eq!(cached.centroids, on_disk.centroids);
        assert_eq!(cached.inertia.to_bits(), on_disk.inertia.to_bits());
        assert_eq!(cached.counts, on_disk.counts);
        assert_eq!(cached.sample_rows, on_disk.sample_rows);
    }
}
