//! File-level operations of the exact, in-memory algorithms — DBSCAN and the
//! quality scores — behind one small API that the command line and the
//! Python bindings both call: read what the algorithm needs in the right
//! precision, run it, and hand back labels and a report.
//!
//! Precision: [`PrecisionChoice::Auto`] follows the file's storage
//! ([`SourceInfo::native`]): float64 (and 32/64-bit integer, and CSV) data
//! is read and computed in f64, so the answers are scipy's and
//! scikit-learn's on the same float64 input; f32 data stays f32, half the
//! memory.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use shoal_kernels::dbscan::{dbscan, Dbscan, DbscanError, Metric};
use shoal_kernels::metrics::{external, External};
use shoal_kernels::quality::{
    calinski_harabasz, davies_bouldin, dense_labels, inertia, silhouette, silhouette_sampled,
    simplified_silhouette, QualityError,
};
use shoal_kernels::Real;
use shoal_reader::{
    open, read_npy_f64, Format, LabelWriter, OpenOptions, Points, Precision, ReadError, Source,
    SourceInfo, WriteError,
};

use crate::EngineError;

/// `--precision`: which precision the exact algorithms compute in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrecisionChoice {
    /// The file's own: f64 for float64 (and wide integer, and CSV) data.
    #[default]
    Auto,
    F32,
    F64,
}

impl PrecisionChoice {
    /// The precision used for a source described by `info`.
    pub fn resolve(self, info: &SourceInfo) -> Precision {
        match self {
            PrecisionChoice::Auto => info.native,
            PrecisionChoice::F32 => Precision::F32,
            PrecisionChoice::F64 => Precision::F64,
        }
    }
}

/// Errors of the exact operations, classed as the command line reports
/// them: [`ExactError::Usage`] is a bad parameter (exit 2), the rest bad or
/// unreadable data (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ExactError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Data(String),
}

impl From<ReadError> for ExactError {
    fn from(e: ReadError) -> Self {
        ExactError::Engine(EngineError::Read(e))
    }
}

fn cancelled(cancel: &AtomicBool) -> Result<(), ExactError> {
    if cancel.load(Ordering::Relaxed) {
        Err(EngineError::Cancelled.into())
    } else {
        Ok(())
    }
}

/// DBSCAN's parameters.
#[derive(Debug, Clone, Copy)]
pub struct DbscanParams {
    /// In the metric's units: radians for haversine.
    pub eps: f64,
    pub min_samples: usize,
    pub metric: Metric,
    pub precision: PrecisionChoice,
}

/// The outcome of [`dbscan_file`].
#[derive(Debug, Clone)]
pub struct DbscanRun {
    pub result: Dbscan,
    pub precision: Precision,
    pub read_seconds: f64,
    pub dbscan_seconds: f64,
}

impl DbscanRun {
    /// Cluster sizes, largest first.
    pub fn sizes(&self) -> Vec<u64> {
        let mut sizes = vec![0u64; self.result.clusters];
        for &l in &self.result.labels {
            if l >= 0 {
                sizes[l as usize] += 1;
            }
        }
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes
    }
}

/// DBSCAN of every row of `source`; `out`, when given, receives the labels
/// in input order (noise -1) and is finished only when all are written.
pub fn dbscan_file(
    source: &dyn Source,
    params: &DbscanParams,
    cancel: &AtomicBool,
    out: Option<LabelWriter>,
) -> Result<DbscanRun, ExactError> {
    let info = source.info();
    let path = info.path.display().to_string();
    if params.metric == Metric::Haversine && info.dim != 2 {
        return Err(ExactError::Usage(format!(
            "{path}: haversine needs two columns, latitude and longitude in degrees (select them with --columns lat,lon); the file gives {}",
            info.dim
        )));
    }
    if params.min_samples < 1 {
        return Err(ExactError::Usage("min_samples must be at least 1".into()));
    }
    let precision = params.precision.resolve(info);
    let t0 = Instant::now();
    let x = Points::read(source, precision, 1 << 16)?;
    let read_seconds = t0.elapsed().as_secs_f64();
    cancelled(cancel)?;
    let t1 = Instant::now();
    let dim = info.dim;
    let (eps, ms, metric) = (params.eps, params.min_samples, params.metric);
    let res = match &x {
        Points::F32(v) => dbscan(v, dim, eps, ms, metric),
        Points::F64(v) => dbscan(v, dim, eps, ms, metric),
    }
    .map_err(|e| match e {
        DbscanError::Parameter(m) => ExactError::Usage(m),
        DbscanError::BadRow { row, detail } => {
            ExactError::Data(format!("{path}: row {row}: {detail}"))
        }
    })?;
    let dbscan_seconds = t1.elapsed().as_secs_f64();
    drop(x);
    cancelled(cancel)?;
    if let Some(mut w) = out {
        for chunk in res.labels.chunks(1 << 16) {
            w.write(chunk, None)?;
        }
        w.finish()?;
    }
    Ok(DbscanRun {
        result: res,
        precision,
        read_seconds,
        dbscan_seconds,
    })
}

/// Labels from `.npy` (any integer or float dtype holding whole numbers) or
/// the `column` of a Parquet/CSV file.
pub fn read_labels(path: &Path, column: &str) -> Result<Vec<i64>, ExactError> {
    let values: Vec<f64> = match Format::from_path(path) {
        Some(Format::Npy) => {
            let (v, shape) = read_npy_f64(path)?;
            if shape.len() > 2 || (shape.len() == 2 && shape[1] != 1) {
                return Err(ExactError::Data(format!(
                    "{}: labels are one value per row; this array has shape {shape:?}",
                    path.display()
                )));
            }
            v
        }
        _ => {
            let src = open(
                path,
                &OpenOptions {
                    columns: Some(vec![column.to_string()]),
                    ..OpenOptions::default()
                },
            )?;
            shoal_reader::read_all_f64(src.as_ref(), 1 << 16)?
        }
    };
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(ExactError::Data(format!(
                    "{}: row {i}: label {v} is not a whole number",
                    path.display()
                )))
            }
        })
        .collect()
}

/// How the silhouette is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SilhouetteMode {
    /// Exact up to [`EXACT_SILHOUETTE_ROWS`] rows, a sample beyond.
    #[default]
    Auto,
    Exact,
    Sample,
    None,
}

/// Rows up to which `Auto` computes the exact silhouette.
pub const EXACT_SILHOUETTE_ROWS: usize = 20_000;
/// Default rows of the sampled silhouette.
pub const DEFAULT_SILHOUETTE_SAMPLE: usize = 10_000;

/// What [`eval_file`] computes.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    pub silhouette: SilhouetteMode,
    /// Rows of the sampled silhouette (implies a sample under `Auto`).
    pub silhouette_sample: Option<usize>,
    pub seed: u64,
    pub precision: PrecisionChoice,
}

/// The silhouette as computed.
#[derive(Debug, Clone, PartialEq)]
pub struct SilhouetteScore {
    pub exact: bool,
    pub value: f64,
    pub sample_rows: Option<usize>,
    pub standard_error: Option<f64>,
    pub seconds: f64,
}

/// Every score of a labelling (scikit-learn's definitions; noise, -1, is
/// one more cluster, as scikit-learn scores it).
#[derive(Debug, Clone)]
pub struct EvalReport {
    pub rows: usize,
    pub clusters: usize,
    pub noise_points: usize,
    /// In order of the labels' values.
    pub cluster_sizes: Vec<u64>,
    pub inertia: f64,
    pub silhouette: Option<SilhouetteScore>,
    pub simplified_silhouette: f64,
    pub davies_bouldin: f64,
    pub calinski_harabasz: f64,
    /// Agreement with the reference labels, when given.
    pub external: Option<External>,
    pub precision: Precision,
}

/// Scores a labelling of `source`'s rows (and, with `truth`, its agreement
/// with reference labels).
pub fn eval_file(
    source: &dyn Source,
    labels: &[i64],
    truth: Option<&[i64]>,
    opts: &EvalOptions,
    cancel: &AtomicBool,
) -> Result<EvalReport, ExactError> {
    let info = source.info();
    let precision = opts.precision.resolve(info);
    let x = Points::read(source, precision, 1 << 16)?;
    cancelled(cancel)?;
    match &x {
        Points::F32(v) => eval_points(v, info.dim, labels, truth, opts, precision),
        Points::F64(v) => eval_points(v, info.dim, labels, truth, opts, precision),
    }
}

fn quality_err(e: QualityError) -> ExactError {
    ExactError::Usage(e.to_string())
}

/// [`eval_file`] on rows in memory.
pub fn eval_points<T: Real>(
    x: &[T],
    dim: usize,
    labels: &[i64],
    truth: Option<&[i64]>,
    opts: &EvalOptions,
    precision: Precision,
) -> Result<EvalReport, ExactError> {
    let n = x.len() / dim.max(1);
    if labels.len() != n {
        return Err(ExactError::Usage(format!(
            "{} labels but the data has {n} rows",
            labels.len()
        )));
    }
    if let Some(t) = truth {
        if t.len() != n {
            return Err(ExactError::Usage(format!(
                "{} reference labels but the data has {n} rows",
                t.len()
            )));
        }
    }
    let (dense, k) = dense_labels(labels);
    if k < 2 || k + 1 > n {
        return Err(ExactError::Usage(format!(
            "{k} distinct labels for {n} rows; the scores need between 2 and n-1 clusters"
        )));
    }
    let mut sizes = vec![0u64; k];
    for &l in &dense {
        sizes[l as usize] += 1;
    }
    let mode = match (opts.silhouette, opts.silhouette_sample) {
        (SilhouetteMode::Auto, Some(_)) => SilhouetteMode::Sample,
        (SilhouetteMode::Auto, None) if n <= EXACT_SILHOUETTE_ROWS => SilhouetteMode::Exact,
        (SilhouetteMode::Auto, None) => SilhouetteMode::Sample,
        (m, _) => m,
    };
    let t0 = Instant::now();
    let sil = match mode {
        SilhouetteMode::Exact => Some(SilhouetteScore {
            exact: true,
            value: silhouette(x, dim, labels).map_err(quality_err)?,
            sample_rows: None,
            standard_error: None,
            seconds: t0.elapsed().as_secs_f64(),
        }),
        SilhouetteMode::Sample => {
            let m = opts
                .silhouette_sample
                .unwrap_or(DEFAULT_SILHOUETTE_SAMPLE)
                .min(n);
            let (v, se) = silhouette_sampled(x, dim, labels, m, opts.seed).map_err(quality_err)?;
            Some(SilhouetteScore {
                exact: false,
                value: v,
                sample_rows: Some(m),
                standard_error: Some(se),
                seconds: t0.elapsed().as_secs_f64(),
            })
        }
        _ => None,
    };
    Ok(EvalReport {
        rows: n,
        clusters: k,
        noise_points: labels.iter().filter(|&&l| l == -1).count(),
        cluster_sizes: sizes,
        inertia: inertia(x, dim, labels).map_err(quality_err)?,
        silhouette: sil,
        simplified_silhouette: simplified_silhouette(x, dim, labels).map_err(quality_err)?,
        davies_bouldin: davies_bouldin(x, dim, labels).map_err(quality_err)?,
        calinski_harabasz: calinski_harabasz(x, dim, labels).map_err(quality_err)?,
        external: truth.map(|t| external(t, labels)),
        precision,
    })
}
