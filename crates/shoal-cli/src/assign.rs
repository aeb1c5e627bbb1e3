//! `shoal assign`: nearest centroid and distance for every row (scipy's vq).

use anyhow::{Context, Result};
use serde::Serialize;
use shoal_engine::kmeans::{lloyd_pass, LabelSink, Scaling};
use shoal_kernels::Centroids;
use std::io::{BufReader, BufWriter, Read, Write};
use std::sync::Arc;

use shoal_reader::arrow_array::{ArrayRef, Float32Array, Int32Array, RecordBatch};
use shoal_reader::arrow_schema::{DataType, Field, Schema};
use shoal_reader::{open, read_all, BatchWriter, Format, OpenOptions, RecordBatches, WriteError};

use crate::cli::{AssignArgs, Global};
use crate::exit::usage;
use crate::fit::kmeans_err;
use crate::labels::LabelOut;
use crate::model::Model;
use crate::output::{rate, thousands};
use crate::progress::Bar;
use crate::CANCEL;

#[derive(Debug, Serialize)]
struct AssignReport {
    rows: u64,
    k: usize,
    counts: Vec<u64>,
    inertia: f64,
    seconds: f64,
    out: String,
}

pub fn run(global: &Global, args: &AssignArgs) -> Result<()> {
    let src = open(&args.file, &args.input.options())?;
    let info = src.info().clone();
    let (cent, scaling) = match (&args.model, &args.centroids) {
        (Some(m), _) => {
            let model = Model::load(m)?;
            (model.flat_centroids(), model.scaling())
        }
        (None, Some(c)) => {
            let (v, dim) = read_codebook(c).context("reading --centroids")?;
            (v, Scaling::identity(dim))
        }
        (None, None) => return Err(usage("give --model MODEL.json or --centroids C.npy")),
    };
    let dim = scaling.shift.len();
    if dim != info.dim {
        return Err(usage(format!(
            "{} has {} columns but the centroids have dimension {dim}; select matching --columns",
            args.file.display(),
            info.dim
        )));
    }
    if args.keep_columns {
        let pq = |p: &std::path::Path| Format::from_path(p) == Some(Format::Parquet);
        if !pq(&args.file) || !pq(&args.out) {
            return Err(usage(
                "--keep-columns needs a .parquet input and a .parquet --out",
            ));
        }
        if args.input.skip_invalid {
            return Err(usage(
                "--keep-columns cannot be combined with --skip-invalid (skipped rows would have no label)",
            ));
        }
    }
    let mut scaled = Vec::new();
    scaling.apply(&cent, &mut scaled);
    let c = Centroids::new(scaled, dim);
    let mut out = if args.keep_columns {
        Sink::Temp(TempLabels::create(&args.out)?)
    } else {
        Sink::Out(LabelOut::create(&args.out)?)
    };
    let bar = Bar::rows(info.rows, "assign", global.quiet);
    let cfg = args.memory.pass_config(dim, global.verbose);
    let (acc, rep) = lloyd_pass(
        src.as_ref(),
        &cfg,
        &scaling,
        &c,
        &CANCEL,
        &bar,
        Some(&mut out as &mut dyn LabelSink),
    )
    .map_err(kmeans_err)?;
    bar.finish();
    match out {
        Sink::Out(o) => {
            o.finish()?;
        }
        Sink::Temp(t) => join_columns(global, &args.file, t, &args.out, rep.rows)?,
    }
    let secs = rep.elapsed.as_secs_f64();
    let r = AssignReport {
        rows: rep.rows,
        k: c.k(),
        counts: acc.counts.clone(),
        inertia: acc.inertia(),
        seconds: secs,
        out: args.out.display().to_string(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "assigned {} rows to {} centroids in {:.2} s ({} rows/s); inertia {:.6e}; wrote {}",
            thousands(r.rows),
            r.k,
            secs,
            rate(r.rows, secs),
            r.inertia,
            r.out
        );
    }
    Ok(())
}

/// A codebook (k x d centroids, row-major) from any readable file, with its dimension.
pub fn read_codebook(path: &std::path::Path) -> Result<(Vec<f32>, usize)> {
    let src = open(path, &OpenOptions::default())?;
    let dim = src.info().dim;
    Ok((read_all(src.as_ref(), 1 << 16)?, dim))
}

/// Where the assignment pass sends labels.
enum Sink {
    Out(LabelOut),
    Temp(TempLabels),
}

impl LabelSink for Sink {
    fn write(&mut self, labels: &[u32], dist2: &[f32]) -> Result<(), WriteError> {
        match self {
            Sink::Out(o) => o.write(labels, dist2),
            Sink::Temp(t) => t.write(labels, dist2),
        }
    }
}

/// Labels and distances of every row (8 bytes a row), in a temporary file
/// beside the output, deleted when dropped.
struct TempLabels {
    out: BufWriter<std::fs::File>,
    tmp: tempfile::NamedTempFile,
}

impl TempLabels {
    fn create(beside: &std::path::Path) -> Result<TempLabels> {
        let dir = beside
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".shoal-labels.")
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        let out = BufWriter::with_capacity(1 << 20, tmp.as_file().try_clone()?);
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

/// Second pass of `--keep-columns`: every input batch, plus `cluster` and `distance`.
fn join_columns(
    global: &Global,
    input: &std::path::Path,
    mut labels: TempLabels,
    out: &std::path::Path,
    rows: u64,
) -> Result<()> {
    labels.out.flush()?;
    let mut rd = BufReader::with_capacity(1 << 20, labels.tmp.reopen()?);
    let mut batches = RecordBatches::open(input, 1 << 16)?;
    let in_schema = batches.schema();
    for name in ["cluster", "distance"] {
        if in_schema.field_with_name(name).is_ok() {
            return Err(usage(format!(
                "{} already has a column named {name:?}; drop --keep-columns or rename it",
                input.display()
            )));
        }
    }
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
    let bar = Bar::rows(rows, "columns", global.quiet);
    let mut buf = Vec::new();
    let mut done = 0u64;
    while let Some(b) = batches.next_batch()? {
        if CANCEL.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(crate::exit::Interrupted.into());
        }
        let n = b.num_rows();
        buf.resize(n * 8, 0);
        rd.read_exact(&mut buf)
            .context("the labels are shorter than the input")?;
        let (mut cl, mut di) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for r in buf.chunks_exact(8) {
            cl.push(i32::from_le_bytes([r[0], r[1], r[2], r[3]]));
            di.push(f32::from_le_bytes([r[4], r[5], r[6], r[7]]));
        }
        let mut cols: Vec<ArrayRef> = b.columns().to_vec();
        cols.push(Arc::new(Int32Array::from(cl)));
        cols.push(Arc::new(Float32Array::from(di)));
        let joined = RecordBatch::try_new(schema.clone(), cols)?;
        w.write(&joined)?;
        done += n as u64;
        bar.inc(n as u64);
    }
    bar.finish();
    if done != rows {
        anyhow::bail!("{}: read {done} rows but assigned {rows}", input.display());
    }
    w.finish()?;
    Ok(())
}
