//! scipy's `vq` over a file: the nearest centroid and its distance for every
//! row, streamed to a label sink in input order — or, with the input's own
//! Parquet columns carried along, joined into one output table in a second,
//! sequential pass. The command line and the Python bindings both call this.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use shoal_kernels::Centroids;
use shoal_reader::arrow_array::{ArrayRef, Float32Array, Int32Array, RecordBatch};
use shoal_reader::arrow_schema::{DataType, Field, Schema};
use shoal_reader::{BatchWriter, ReadError, RecordBatches, Source, WriteError};

use crate::kmeans::{lloyd_pass, KMeansError, LabelSink, Scaling};
use crate::{EngineError, Observer, PassConfig, PassReport, PassStart};

/// Errors of an assignment.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error(transparent)]
    KMeans(#[from] KMeansError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A parameter that does not fit the data (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The scratch file of labels, or the join of the input's columns.
    #[error("{0}")]
    Io(String),
}

/// The outcome of an assignment pass.
#[derive(Debug, Clone)]
pub struct AssignRun {
    pub rows: u64,
    pub counts: Vec<u64>,
    /// Sum of squared distances (in the units clustered).
    pub inertia: f64,
    pub pass: PassReport,
}

/// Assigns every row of `source` to its nearest centroid (`centroids`,
/// `k x dim` in the input's units; `scaling` as the model was fitted),
/// streaming labels and squared distances to `sink`.
pub fn assign_file(
    source: &dyn Source,
    centroids: &[f32],
    scaling: &Scaling,
    pass: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    sink: &mut dyn LabelSink,
) -> Result<AssignRun, AssignError> {
    let dim = scaling.shift.len();
    let info = source.info();
    if dim != info.dim {
        return Err(AssignError::Usage(format!(
            "{} has {} columns but the centroids have dimension {dim}; select matching --columns",
            info.path.display(),
            info.dim
        )));
    }
    let mut scaled = Vec::new();
    scaling.apply(centroids, &mut scaled);
    let c = Centroids::new(scaled, dim);
    let (acc, rep) = lloyd_pass(source, pass, scaling, &c, cancel, observer, Some(sink))?;
    Ok(AssignRun {
        rows: rep.rows,
        inertia: acc.inertia(),
        counts: acc.counts.clone(),
        pass: rep,
    })
}

/// [`assign_file`] for a Parquet `input`, writing to the Parquet `out` every
/// column of the input plus `cluster` (int32) and `distance` (float32,
/// Euclidean), row for row: labels go to a scratch file beside `out` (8
/// bytes a row), then the input's batches are read again in order and
/// joined. `out` appears only when complete.
#[allow(clippy::too_many_arguments)]
pub fn assign_keep_columns(
    source: &dyn Source,
    mut batches: RecordBatches,
    centroids: &[f32],
    scaling: &Scaling,
    pass: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    out: &Path,
) -> Result<AssignRun, AssignError> {
    let in_schema = batches.schema();
    for name in ["cluster", "distance"] {
        if in_schema.field_with_name(name).is_ok() {
            return Err(AssignError::Usage(format!(
                "{} already has a column named {name:?}; drop --keep-columns or rename it",
                source.info().path.display()
            )));
        }
    }
    let mut tmp = TempLabels::create(out)?;
    let run = assign_file(source, centroids, scaling, pass, cancel, observer, &mut tmp)?;
    tmp.out
        .flush()
        .map_err(|e| AssignError::Io(format!("{}: {e}", tmp.tmp.path().display())))?;
    let scratch = tmp
        .tmp
        .reopen()
        .map_err(|e| AssignError::Io(format!("{}: {e}", tmp.tmp.path().display())))?;
    let mut rd = BufReader::with_capacity(1 << 20, scratch);
    let mut fields: Vec<Field> = in_schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("cluster", DataType::Int32, false));
    fields.push(Field::new("distance", DataType::Float32, false));
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        in_schema.metadata().clone(),
    ));
    let mut w = BatchWriter::create(out, schema.clone())?;
    observer.pass_started(&PassStart {
        name: "columns".into(),
        index: 2,
        max_passes: Some(2),
        rows: run.rows,
        inertia: Some(run.inertia),
    });
    let mut buf = Vec::new();
    let mut done = 0u64;
    while let Some(b) = batches.next_batch()? {
        if cancel.load(Ordering::Relaxed) {
            return Err(KMeansError::Engine(EngineError::Cancelled).into());
        }
        let n = b.num_rows();
        buf.resize(n * 8, 0);
        rd.read_exact(&mut buf).map_err(|_| {
            AssignError::Io(format!(
                "{}: the labels are shorter than the input ({done} rows assigned before this batch)",
                source.info().path.display()
            ))
        })?;
        let (mut cl, mut di) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for r in buf.chunks_exact(8) {
            cl.push(i32::from_le_bytes([r[0], r[1], r[2], r[3]]));
            di.push(f32::from_le_bytes([r[4], r[5], r[6], r[7]]));
        }
        let mut cols: Vec<ArrayRef> = b.columns().to_vec();
        cols.push(Arc::new(Int32Array::from(cl)));
        cols.push(Arc::new(Float32Array::from(di)));
        let joined = RecordBatch::try_new(schema.clone(), cols)
            .map_err(|e| AssignError::Io(format!("{}: {e}", out.display())))?;
        w.write(&joined)?;
        done += n as u64;
        observer.rows_done(n as u64);
    }
    if done != run.rows {
        return Err(AssignError::Io(format!(
            "{}: read {done} rows but assigned {}",
            source.info().path.display(),
            run.rows
        )));
    }
    w.finish()?;
    Ok(run)
}

/// Labels and distances of every row (8 bytes a row), in a temporary file
/// beside the output, deleted when dropped.
struct TempLabels {
    out: BufWriter<std::fs::File>,
    tmp: tempfile::NamedTempFile,
}

impl TempLabels {
    fn create(beside: &Path) -> Result<TempLabels, AssignError> {
        // (an output in object storage: the system's temporary directory)
        let dir: PathBuf = if shoal_reader::remote::is_url(beside) {
            std::env::temp_dir()
        } else {
            beside
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf()
        };
        let err = |e: std::io::Error| {
            AssignError::Io(format!(
                "creating a temporary file in {}: {e}",
                dir.display()
            ))
        };
        let tmp = tempfile::Builder::new()
            .prefix(".shoal-labels.")
            .tempfile_in(&dir)
            .map_err(err)?;
        let out = BufWriter::with_capacity(1 << 20, tmp.as_file().try_clone().map_err(err)?);
        Ok(TempLabels { out, tmp })
    }
}

impl LabelSink for TempLabels {
    fn write(&mut self, labels: &[u32], dist2: &[f32]) -> Result<(), WriteError> {
        let io = |source| WriteError::Io {
            path: self.tmp.path().to_path_buf(),
            source,
        };
        for (&l, &d) in labels.iter().zip(dist2) {
            self.out.write_all(&(l as i32).to_le_bytes()).map_err(io)?;
            self.out
                .write_all(&d.max(0.0).sqrt().to_le_bytes())
                .map_err(io)?;
        }
        Ok(())
    }
}
