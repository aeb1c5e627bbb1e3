//! `shoal assign`: nearest centroid and distance for every row (scipy's vq).

use anyhow::{Context, Result};
use serde::Serialize;
use shoal_engine::assign::{self as ea, AssignError};
use shoal_engine::kmeans::Scaling;
use shoal_reader::{open, read_all, Format, OpenOptions};

use crate::labels_dir::LabelsDir;

use crate::cli::{AssignArgs, Global};
use crate::exit::usage;
use crate::fit::kmeans_err;
use crate::output::{rate, thousands};
use crate::progress::Bar;
use crate::CANCEL;
use shoal_engine::kmeans::LabelFile;

#[derive(Debug, Serialize)]
struct AssignReport {
    rows: u64,
    k: usize,
    counts: Vec<u64>,
    inertia: f64,
    seconds: f64,
    out: String,
}

fn assign_err(e: AssignError) -> anyhow::Error {
    match e {
        AssignError::KMeans(k) => kmeans_err(k),
        AssignError::Usage(m) => usage(m),
        AssignError::Write(w) => w.into(),
        AssignError::Read(r) => r.into(),
        AssignError::Io(m) => anyhow::anyhow!(m),
    }
}

pub fn run(global: &Global, args: &AssignArgs) -> Result<()> {
    let (ds, src) = args.input.open(&args.files)?;
    let info = src.info().clone();
    let (cent, scaling) = match (&args.model, &args.centroids) {
        (Some(m), _) => {
            let model = crate::model::load(m)?;
            (model.flat_centroids(), model.scaling())
        }
        (None, Some(c)) => {
            let (v, dim) = read_codebook(c).context("reading --centroids")?;
            (v, Scaling::identity(dim))
        }
        (None, None) => return Err(usage("give --model MODEL.json or --centroids C.npy")),
    };
    let dim = scaling.shift.len();
    if args.labels_dir.is_some() && args.input.skip_invalid {
        return Err(usage(
            "--labels-dir cannot be combined with --skip-invalid (a skipped row would have no label in its file)",
        ));
    }
    if let Some(d) = &args.labels_dir {
        crate::labels_dir::check(d)?;
    }
    if args.keep_columns {
        let pq = |p: &std::path::Path| Format::from_path(p) == Some(Format::Parquet);
        if info.format != Format::Parquet || !args.out.as_deref().is_none_or(pq) {
            return Err(usage(
                "--keep-columns needs a .parquet input and a .parquet --out (or --labels-dir)",
            ));
        }
        if args.input.skip_invalid {
            return Err(usage(
                "--keep-columns cannot be combined with --skip-invalid (skipped rows would have no label)",
            ));
        }
    }
    let cfg = args.memory.pass_config(dim, global.verbose);
    let bar = Bar::passes(info.rows, info.file_bytes, global.quiet);
    let run = match (&args.out, &args.labels_dir) {
        (_, Some(dir)) if args.keep_columns => {
            // One input file at a time, each with its own columns.
            let each = LabelsDir::create(dir, &ds, &src.file_rows(), true)?;
            let mut total: Option<ea::AssignRun> = None;
            let mut failed = None;
            each.write_each(|i, out| {
                let one = ds.file(i);
                let part = one.open(&args.input.options())?;
                let r = ea::assign_keep_columns(
                    part.as_ref(),
                    one.record_batches(1 << 16)?,
                    &cent,
                    &scaling,
                    &cfg,
                    &CANCEL,
                    &bar,
                    out,
                );
                match r {
                    Ok(r) => {
                        total = Some(match total.take() {
                            None => r,
                            Some(t) => add_runs(t, r),
                        });
                        Ok(())
                    }
                    Err(e) => {
                        failed = Some(e);
                        Err(anyhow::anyhow!("assign failed"))
                    }
                }
            })
            .map_err(|e| match failed.take() {
                Some(f) => assign_err(f),
                None => e,
            })?;
            Ok(total.expect("a dataset has at least one file"))
        }
        (_, Some(dir)) => {
            let mut out = LabelsDir::create(dir, &ds, &src.file_rows(), true)?;
            let r = ea::assign_file(src.as_ref(), &cent, &scaling, &cfg, &CANCEL, &bar, &mut out);
            if r.is_ok() {
                out.finish()?;
            }
            r
        }
        (Some(path), None) if args.keep_columns => ea::assign_keep_columns(
            src.as_ref(),
            ds.record_batches(1 << 16)?,
            &cent,
            &scaling,
            &cfg,
            &CANCEL,
            &bar,
            path,
        ),
        (Some(path), None) => {
            let mut out = LabelFile::create(path)?;
            let r = ea::assign_file(src.as_ref(), &cent, &scaling, &cfg, &CANCEL, &bar, &mut out);
            if r.is_ok() {
                out.finish()?;
            }
            r
        }
        (None, None) => return Err(usage("give --out OUT or --labels-dir DIR")),
    };
    bar.finish();
    let run = run.map_err(assign_err)?;
    let rep = &run.pass;
    let secs = rep.elapsed.as_secs_f64();
    let r = AssignReport {
        rows: rep.rows,
        k: run.counts.len(),
        counts: run.counts.clone(),
        inertia: run.inertia,
        seconds: secs,
        out: match (&args.out, &args.labels_dir) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(d)) => format!("{} ({} files)", d.display(), ds.files.len()),
            (None, None) => String::new(),
        },
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

/// Two files' assignments as one.
fn add_runs(mut a: ea::AssignRun, b: ea::AssignRun) -> ea::AssignRun {
    a.rows += b.rows;
    for (x, y) in a.counts.iter_mut().zip(&b.counts) {
        *x += y;
    }
    a.inertia += b.inertia;
    a.pass.rows += b.pass.rows;
    a.pass.skipped += b.pass.skipped;
    a.pass.elapsed += b.pass.elapsed;
    a.pass.peak_rss = a.pass.peak_rss.max(b.pass.peak_rss);
    a
}

/// A codebook (k x d centroids, row-major) from any readable file, with its dimension.
pub fn read_codebook(path: &std::path::Path) -> Result<(Vec<f32>, usize)> {
    let src = open(path, &OpenOptions::default())?;
    let dim = src.info().dim;
    Ok((read_all(src.as_ref(), 1 << 16)?, dim))
}
