//! Passes whose partitions are run by other processes (Dask workers), with
//! the fit itself (initialisation, centroid updates, relocation,
//! convergence) kept in the process that asked for it.
//!
//! A [`Job`] describes one pass's work on a partition by value (the pass
//! kind, its centroids and scaling, the chunk size), so it can be sent to
//! another process; [`Job::update`] folds a block into a partial exactly as
//! the local pass does (the local passes call it too), and a partial
//! travels back as bytes ([`shoal_kernels::wire`]). The owner folds the
//! partials in partition order, as [`crate::run_pass`] does, so a fit whose
//! partitions ran on any number of workers equals the local fit to the bit.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use shoal_kernels::assign::{assign, AssignScratch, Centroids};
use shoal_kernels::kmeans::{row_key, LloydPartial, LloydScratch, Sample};
use shoal_kernels::stats::ColumnStats;
use shoal_kernels::wire::{Dec, Enc, WireError};
use shoal_reader::{Block, Source};

use crate::scaling::{Scaling, ScalingKind};
use crate::{EngineError, Observer, PassReport};

/// One pass's work on a partition.
#[derive(Debug, Clone)]
pub struct Job {
    /// Rows per block (the local pass's `PassConfig::chunk_rows`).
    pub chunk_rows: usize,
    pub dim: usize,
    pub kind: JobKind,
}

#[derive(Debug, Clone)]
pub enum JobKind {
    /// Column statistics (when `stats`) and the seeded sample of `cap` rows
    /// of a source of `rows` rows.
    StatsSample {
        stats: bool,
        cap: usize,
        seed: u64,
        rows: u64,
    },
    /// Assignment to `centroids` (clustered units): counts and inertia, and
    /// the cluster sums and far points when `sums`.
    Lloyd {
        scaling: Scaling,
        centroids: Centroids,
        sums: bool,
    },
    /// A round of k-means|| oversampling: each row kept with probability
    /// `min(1, l d(x)^2 / phi)`, drawn from `row_key(seed, row)`.
    Oversample {
        scaling: Scaling,
        cands: Centroids,
        l: f64,
        phi: f64,
        seed: u64,
    },
    /// Each row labelled by its nearest of `centroids`, the spread of
    /// every cluster about `means` (its rows' mean, from a Lloyd pass):
    /// for Calinski-Harabasz and Davies-Bouldin over the whole data.
    Spread {
        scaling: Scaling,
        centroids: Centroids,
        means: Vec<f64>,
    },
}

/// Per cluster: rows, the sum of their distances to the cluster's mean,
/// and of the squared distances.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub counts: Vec<u64>,
    pub dist: Vec<f64>,
    pub dist2: Vec<f64>,
}

/// A partition's partial result.
#[derive(Debug)]
pub enum JobPartial {
    StatsSample(Option<ColumnStats>, Sample),
    Lloyd(LloydPartial),
    Oversample { cands: Vec<f32>, phi: f64 },
    Spread(Spread),
}

/// A partial with the buffers its updates reuse.
#[derive(Debug)]
pub struct JobState {
    pub partial: JobPartial,
    buf: Vec<f32>,
    lloyd: LloydScratch,
    labels: Vec<u32>,
    dist2: Vec<f32>,
    assign: AssignScratch,
}

/// What a partition sent back: its partial and the rows it read and skipped.
#[derive(Debug)]
pub struct PartResult {
    pub partial: JobPartial,
    pub rows: u64,
    pub skipped: u64,
}

impl Job {
    /// An empty partial for this job (also the accumulator partials are
    /// merged into).
    pub fn state(&self) -> JobState {
        let partial = match &self.kind {
            JobKind::StatsSample {
                stats,
                cap,
                seed,
                rows,
            } => JobPartial::StatsSample(
                stats.then(|| ColumnStats::new(self.dim)),
                Sample::new(*cap, self.dim, *seed, *rows),
            ),
            JobKind::Lloyd {
                centroids, sums, ..
            } => JobPartial::Lloyd(if *sums {
                LloydPartial::new(centroids.k(), self.dim)
            } else {
                LloydPartial::counting(centroids.k(), self.dim)
            }),
            JobKind::Oversample { .. } => JobPartial::Oversample {
                cands: Vec::new(),
                phi: 0.0,
            },
            JobKind::Spread { centroids, .. } => JobPartial::Spread(Spread {
                counts: vec![0; centroids.k()],
                dist: vec![0.0; centroids.k()],
                dist2: vec![0.0; centroids.k()],
            }),
        };
        JobState {
            partial,
            buf: Vec::new(),
            lloyd: LloydScratch::default(),
            labels: Vec::new(),
            dist2: Vec::new(),
            assign: AssignScratch::default(),
        }
    }

    /// Folds block `b` into `st`.
    pub fn update(&self, st: &mut JobState, b: &Block<'_>) {
        let d = self.dim;
        match (&self.kind, &mut st.partial) {
            (JobKind::StatsSample { .. }, JobPartial::StatsSample(s, smp)) => {
                if let Some(s) = s {
                    s.update(b.data);
                }
                smp.update(b.data, b.first_row);
            }
            (
                JobKind::Lloyd {
                    scaling, centroids, ..
                },
                JobPartial::Lloyd(p),
            ) => {
                let x = scaling.view(b.data, &mut st.buf);
                p.update(x, b.first_row, centroids, &mut st.lloyd);
            }
            (
                JobKind::Oversample {
                    scaling,
                    cands: c,
                    l,
                    phi,
                    seed,
                },
                JobPartial::Oversample { cands, phi: sum },
            ) => {
                let x = scaling.view(b.data, &mut st.buf);
                let n = x.len() / d;
                st.labels.resize(n, 0);
                st.dist2.resize(n, 0.0);
                assign(x, c, &mut st.labels, &mut st.dist2, &mut st.assign);
                for (i, (&e, row)) in st.dist2.iter().zip(x.chunks_exact(d)).enumerate() {
                    *sum += e as f64;
                    let prob = (l * e as f64 / phi).min(1.0);
                    let u =
                        (row_key(*seed, b.first_row + i as u64) >> 11) as f64 / (1u64 << 53) as f64;
                    if u < prob {
                        cands.extend_from_slice(row);
                    }
                }
            }
            (
                JobKind::Spread {
                    scaling,
                    centroids,
                    means,
                },
                JobPartial::Spread(sp),
            ) => {
                let x = scaling.view(b.data, &mut st.buf);
                let n = x.len() / d;
                st.labels.resize(n, 0);
                st.dist2.resize(n, 0.0);
                assign(x, centroids, &mut st.labels, &mut st.dist2, &mut st.assign);
                for (&l, row) in st.labels.iter().zip(x.chunks_exact(d)) {
                    let l = l as usize;
                    let m = &means[l * d..(l + 1) * d];
                    let e: f64 = row
                        .iter()
                        .zip(m)
                        .map(|(&v, &c)| (v as f64 - c).powi(2))
                        .sum();
                    sp.counts[l] += 1;
                    sp.dist[l] += e.sqrt();
                    sp.dist2[l] += e;
                }
            }
            // (`state` makes the partial of the job's own kind)
            _ => unreachable!("a partial of another job"),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::default();
        e.u8(WIRE_VERSION);
        e.usize(self.chunk_rows);
        e.usize(self.dim);
        match &self.kind {
            JobKind::StatsSample {
                stats,
                cap,
                seed,
                rows,
            } => {
                e.u8(0);
                e.u8(*stats as u8);
                e.usize(*cap);
                e.u64(*seed);
                e.u64(*rows);
            }
            JobKind::Lloyd {
                scaling,
                centroids,
                sums,
            } => {
                e.u8(1);
                encode_scaling(&mut e, scaling);
                e.f32s(centroids.data());
                e.u8(*sums as u8);
            }
            JobKind::Oversample {
                scaling,
                cands,
                l,
                phi,
                seed,
            } => {
                e.u8(2);
                encode_scaling(&mut e, scaling);
                e.f32s(cands.data());
                e.f64(*l);
                e.f64(*phi);
                e.u64(*seed);
            }
            JobKind::Spread {
                scaling,
                centroids,
                means,
            } => {
                e.u8(3);
                encode_scaling(&mut e, scaling);
                e.f32s(centroids.data());
                e.f64s(means);
            }
        }
        e.0
    }

    pub fn decode(bytes: &[u8]) -> Result<Job, WireError> {
        let mut d = Dec::new(bytes);
        version(&mut d)?;
        let (chunk_rows, dim) = (d.usize()?, d.usize()?);
        if dim == 0 || chunk_rows == 0 {
            return Err(WireError("dimension or chunk size 0".into()));
        }
        let points = |d: &mut Dec<'_>| -> Result<Centroids, WireError> {
            let v = d.f32s()?;
            if v.is_empty() || v.len() % dim != 0 {
                return Err(WireError(format!("{} centroid values, dim {dim}", v.len())));
            }
            Ok(Centroids::new(v, dim))
        };
        let kind = match d.u8()? {
            0 => JobKind::StatsSample {
                stats: d.u8()? != 0,
                cap: d.usize()?,
                seed: d.u64()?,
                rows: d.u64()?,
            },
            1 => JobKind::Lloyd {
                scaling: decode_scaling(&mut d, dim)?,
                centroids: points(&mut d)?,
                sums: d.u8()? != 0,
            },
            2 => JobKind::Oversample {
                scaling: decode_scaling(&mut d, dim)?,
                cands: points(&mut d)?,
                l: d.f64()?,
                phi: d.f64()?,
                seed: d.u64()?,
            },
            3 => {
                let scaling = decode_scaling(&mut d, dim)?;
                let centroids = points(&mut d)?;
                let means = d.f64s()?;
                shoal_kernels::wire::expect_len("means", means.len(), centroids.k() * dim)?;
                JobKind::Spread {
                    scaling,
                    centroids,
                    means,
                }
            }
            t => return Err(WireError(format!("job kind {t}"))),
        };
        d.finish()?;
        Ok(Job {
            chunk_rows,
            dim,
            kind,
        })
    }
}

/// The version of the encoding: a worker running another shoal refuses
/// the job rather than answering a different question.
const WIRE_VERSION: u8 = 1;

fn version(d: &mut Dec<'_>) -> Result<(), WireError> {
    match d.u8()? {
        WIRE_VERSION => Ok(()),
        v => Err(WireError(format!(
            "encoding version {v}, this shoal speaks {WIRE_VERSION} (mixed shoal versions?)"
        ))),
    }
}

fn encode_scaling(e: &mut Enc, s: &Scaling) {
    e.u8(match s.kind {
        ScalingKind::None => 0,
        ScalingKind::Standardize => 1,
        ScalingKind::Whiten => 2,
    });
    e.f64s(&s.shift);
    e.f64s(&s.scale);
}

fn decode_scaling(d: &mut Dec<'_>, dim: usize) -> Result<Scaling, WireError> {
    let kind = match d.u8()? {
        0 => ScalingKind::None,
        1 => ScalingKind::Standardize,
        2 => ScalingKind::Whiten,
        t => return Err(WireError(format!("scaling kind {t}"))),
    };
    let (shift, scale) = (d.f64s()?, d.f64s()?);
    shoal_kernels::wire::expect_len("shift", shift.len(), dim)?;
    shoal_kernels::wire::expect_len("scale", scale.len(), dim)?;
    Ok(Scaling { kind, shift, scale })
}

impl JobPartial {
    /// Appends a later partition's partial (in partition order).
    pub fn merge(&mut self, later: JobPartial) {
        match (self, later) {
            (JobPartial::StatsSample(a, sa), JobPartial::StatsSample(b, sb)) => {
                if let (Some(a), Some(b)) = (a, b) {
                    a.merge(&b);
                }
                sa.merge(&sb);
            }
            (JobPartial::Lloyd(a), JobPartial::Lloyd(b)) => a.merge(&b),
            (
                JobPartial::Oversample { cands, phi },
                JobPartial::Oversample { cands: c2, phi: p2 },
            ) => {
                cands.extend_from_slice(&c2);
                *phi += p2;
            }
            (JobPartial::Spread(a), JobPartial::Spread(b)) => {
                for (x, y) in a.counts.iter_mut().zip(&b.counts) {
                    *x += y;
                }
                for (x, y) in a.dist.iter_mut().zip(&b.dist) {
                    *x += y;
                }
                for (x, y) in a.dist2.iter_mut().zip(&b.dist2) {
                    *x += y;
                }
            }
            _ => unreachable!("partials of one job have one kind"),
        }
    }
}

impl PartResult {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::default();
        e.u8(WIRE_VERSION);
        e.u64(self.rows);
        e.u64(self.skipped);
        match &self.partial {
            JobPartial::StatsSample(s, smp) => {
                e.u8(0);
                match s {
                    None => e.u8(0),
                    Some(s) => {
                        e.u8(1);
                        s.encode(&mut e);
                    }
                }
                smp.encode(&mut e);
            }
            JobPartial::Lloyd(p) => {
                e.u8(1);
                p.encode(&mut e);
            }
            JobPartial::Oversample { cands, phi } => {
                e.u8(2);
                e.f32s(cands);
                e.f64(*phi);
            }
            JobPartial::Spread(sp) => {
                e.u8(3);
                e.u64s(&sp.counts);
                e.f64s(&sp.dist);
                e.f64s(&sp.dist2);
            }
        }
        e.0
    }

    pub fn decode(bytes: &[u8]) -> Result<PartResult, WireError> {
        let mut d = Dec::new(bytes);
        version(&mut d)?;
        let (rows, skipped) = (d.u64()?, d.u64()?);
        let partial = match d.u8()? {
            0 => {
                let s = match d.u8()? {
                    0 => None,
                    _ => Some(ColumnStats::decode(&mut d)?),
                };
                JobPartial::StatsSample(s, Sample::decode(&mut d)?)
            }
            1 => JobPartial::Lloyd(LloydPartial::decode(&mut d)?),
            2 => JobPartial::Oversample {
                cands: d.f32s()?,
                phi: d.f64()?,
            },
            3 => {
                let counts = d.u64s()?;
                let (dist, dist2) = (d.f64s()?, d.f64s()?);
                shoal_kernels::wire::expect_len("distances", dist.len(), counts.len())?;
                shoal_kernels::wire::expect_len("squared distances", dist2.len(), counts.len())?;
                JobPartial::Spread(Spread {
                    counts,
                    dist,
                    dist2,
                })
            }
            t => return Err(WireError(format!("partial kind {t}"))),
        };
        d.finish()?;
        Ok(PartResult {
            partial,
            rows,
            skipped,
        })
    }
}

/// Runs jobs on every partition of a source held elsewhere.
pub trait Remote: Sync {
    /// Rows and values per row of the whole source.
    fn shape(&self) -> (u64, usize);
    /// Runs `job` on every partition; the results in partition order.
    /// Stops with [`EngineError::Cancelled`] when `cancel` is set.
    fn run(
        &self,
        job: &Job,
        cancel: &AtomicBool,
        observer: &dyn Observer,
    ) -> Result<Vec<PartResult>, EngineError>;
}

/// A pass of `job` over `remote`: the partials folded in partition order
/// into the job's empty partial, as [`crate::run_pass`] folds them.
pub fn run_remote(
    remote: &dyn Remote,
    job: &Job,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<(JobPartial, PassReport), EngineError> {
    let start = Instant::now();
    let parts = remote.run(job, cancel, observer)?;
    if cancel.load(Ordering::Relaxed) {
        return Err(EngineError::Cancelled);
    }
    let mut acc = job.state().partial;
    let (mut rows, mut skipped) = (0, 0);
    for p in parts {
        rows += p.rows;
        skipped += p.skipped;
        acc.merge(p.partial);
    }
    Ok((
        acc,
        PassReport {
            rows,
            skipped,
            elapsed: start.elapsed(),
            peak_rss: crate::peak_rss(),
        },
    ))
}

/// A partition of a source read once and kept in memory as the blocks a
/// local pass would read (`chunk_rows` rows each), with the row numbers of
/// the whole dataset (`offset` added to the source's own).
#[derive(Debug)]
pub struct Resident {
    dim: usize,
    chunk_rows: usize,
    data: Vec<f32>,
    /// (first row, end of the block's values in `data`)
    blocks: Vec<(u64, usize)>,
    rows: u64,
    skipped: u64,
}

impl Resident {
    /// Reads `rows` of `source` (a partition of it).
    pub fn load(
        source: &dyn Source,
        rows: Range<u64>,
        offset: u64,
        chunk_rows: usize,
        cancel: &AtomicBool,
    ) -> Result<Resident, EngineError> {
        let dim = source.info().dim;
        let mut out = Resident {
            dim,
            chunk_rows,
            data: Vec::with_capacity((rows.end - rows.start) as usize * dim),
            blocks: Vec::new(),
            rows: 0,
            skipped: 0,
        };
        let mut reader = source.reader(rows, chunk_rows)?;
        while let Some(b) = reader.next_block()? {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            out.data.extend_from_slice(b.data);
            out.blocks.push((b.first_row + offset, out.data.len()));
            out.rows += b.rows() as u64;
        }
        out.skipped = reader.skipped();
        Ok(out)
    }

    /// Bytes of values held.
    pub fn bytes(&self) -> usize {
        self.data.len() * 4
    }

    /// Rows held.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Runs `job` over the blocks in order.
    pub fn run(&self, job: &Job) -> Result<PartResult, EngineError> {
        check_job(job, self.dim, self.chunk_rows)?;
        let mut st = job.state();
        let mut at = 0;
        for (seq, &(first_row, end)) in self.blocks.iter().enumerate() {
            job.update(
                &mut st,
                &Block {
                    data: &self.data[at..end],
                    dim: self.dim,
                    first_row,
                    seq: seq as u64,
                },
            );
            at = end;
        }
        Ok(PartResult {
            partial: st.partial,
            rows: self.rows,
            skipped: self.skipped,
        })
    }
}

fn check_job(job: &Job, dim: usize, chunk_rows: usize) -> Result<(), EngineError> {
    if job.dim != dim || job.chunk_rows != chunk_rows {
        return Err(EngineError::Remote(format!(
            "a job for {} values a row in blocks of {} rows sent to a partition of {dim} values in blocks of {chunk_rows}",
            job.dim, job.chunk_rows
        )));
    }
    Ok(())
}

/// Runs `job` over `rows` of `source` read from it now (a partition that
/// is not kept in memory), row numbers shifted by `offset`.
pub fn run_streamed(
    source: &dyn Source,
    rows: Range<u64>,
    offset: u64,
    job: &Job,
    cancel: &AtomicBool,
) -> Result<PartResult, EngineError> {
    check_job(job, source.info().dim, job.chunk_rows)?;
    let mut st = job.state();
    let (mut n, mut reader) = (0u64, source.reader(rows, job.chunk_rows)?);
    while let Some(b) = reader.next_block()? {
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        n += b.rows() as u64;
        job.update(
            &mut st,
            &Block {
                data: b.data,
                dim: b.dim,
                first_row: b.first_row + offset,
                seq: b.seq,
            },
        );
    }
    Ok(PartResult {
        partial: st.partial,
        rows: n,
        skipped: reader.skipped(),
    })
}

impl Resident {
    /// The values held, row-major (the rows of every block in order).
    pub fn values(&self) -> &[f32] {
        &self.data
    }
}

/// Calinski-Harabasz and Davies-Bouldin of the labelling of every row by
/// its nearest of `centroids` (`k x dim`, input units), over a source
/// held elsewhere, in two passes: the clusters' means and sizes (a Lloyd
/// pass), then each cluster's spread about its mean. scikit-learn's
/// definitions, with the labels that labelling gives (clusters left empty
/// by it are not clusters).
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub rows: u64,
    /// Sum of squared distances of rows to their nearest centroid.
    pub inertia: f64,
    pub clusters: usize,
    /// Sum of squared distances of rows to their cluster's mean.
    pub within: f64,
    pub calinski_harabasz: f64,
    pub davies_bouldin: f64,
}

/// See [`Scores`].
pub fn scores_remote(
    remote: &dyn Remote,
    centroids: &[f32],
    chunk_rows: usize,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<Scores, EngineError> {
    let d = remote.shape().1;
    let scaling = Scaling::identity(d);
    let c = Centroids::new(centroids.to_vec(), d);
    let k = c.k();
    let job = Job {
        chunk_rows,
        dim: d,
        kind: JobKind::Lloyd {
            scaling: scaling.clone(),
            centroids: c.clone(),
            sums: true,
        },
    };
    let (JobPartial::Lloyd(acc), _) = run_remote(remote, &job, cancel, observer)? else {
        unreachable!("a Lloyd job returns a Lloyd partial")
    };
    let means = acc.means();
    let job = Job {
        chunk_rows,
        dim: d,
        kind: JobKind::Spread {
            scaling,
            centroids: c,
            means: means.clone(),
        },
    };
    let (JobPartial::Spread(sp), rep) = run_remote(remote, &job, cancel, observer)? else {
        unreachable!("a spread job returns spreads")
    };
    let mut s = spread_scores(&sp, &means, d, k, rep.rows);
    s.inertia = acc.inertia();
    Ok(s)
}

/// The scores from each cluster's size, mean and spread.
pub fn spread_scores(sp: &Spread, means: &[f64], d: usize, k: usize, rows: u64) -> Scores {
    let live: Vec<usize> = (0..k).filter(|&j| sp.counts[j] > 0).collect();
    let n = rows as f64;
    let mean_of = |j: usize| &means[j * d..(j + 1) * d];
    let mut mu = vec![0.0; d];
    for &j in &live {
        for (m, &v) in mu.iter_mut().zip(mean_of(j)) {
            *m += sp.counts[j] as f64 * v;
        }
    }
    mu.iter_mut().for_each(|m| *m /= n);
    let between: f64 = live
        .iter()
        .map(|&j| {
            sp.counts[j] as f64
                * mean_of(j)
                    .iter()
                    .zip(&mu)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
        })
        .sum();
    let within: f64 = live.iter().map(|&j| sp.dist2[j]).sum();
    let q = live.len() as f64;
    let calinski_harabasz = if within == 0.0 {
        1.0
    } else {
        between * (n - q) / (within * (q - 1.0))
    };
    let s: Vec<f64> = live
        .iter()
        .map(|&j| sp.dist[j] / sp.counts[j] as f64)
        .collect();
    let mut db = 0.0;
    for (a, &i) in live.iter().enumerate() {
        let mut worst: f64 = 0.0;
        for (b, &j) in live.iter().enumerate() {
            if a == b {
                continue;
            }
            let sep = mean_of(i)
                .iter()
                .zip(mean_of(j))
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f64>()
                .sqrt();
            let r = if sep == 0.0 {
                f64::INFINITY
            } else {
                (s[a] + s[b]) / sep
            };
            worst = worst.max(r);
        }
        db += worst;
    }
    Scores {
        rows,
        inertia: f64::NAN,
        clusters: live.len(),
        within,
        calinski_harabasz,
        davies_bouldin: db / q,
    }
}

/// The seeded sample of `cap` rows of a source held elsewhere (the rows the
/// local first pass samples with `seed`), in key order.
pub fn sample_remote(
    remote: &dyn Remote,
    cap: usize,
    seed: u64,
    chunk_rows: usize,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<Vec<f32>, EngineError> {
    let (rows, dim) = remote.shape();
    let job = Job {
        chunk_rows,
        dim,
        kind: JobKind::StatsSample {
            stats: false,
            cap: (cap as u64).min(rows) as usize,
            seed,
            rows,
        },
    };
    let (JobPartial::StatsSample(_, sample), _) = run_remote(remote, &job, cancel, observer)?
    else {
        unreachable!("a sample job returns a sample")
    };
    Ok(sample.finish())
}
