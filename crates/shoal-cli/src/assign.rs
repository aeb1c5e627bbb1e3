//! `shoal assign`: nearest centroid and distance for every row (scipy's vq).

use anyhow::{Context, Result};
use serde::Serialize;
use shoal_engine::assign::{self as ea, AssignError};
use shoal_engine::kmeans::Scaling;
use shoal_reader::{open, read_all, Format, OpenOptions};

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
    let src = open(&args.file, &args.input.options())?;
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
    let cfg = args.memory.pass_config(dim, global.verbose);
    let bar = Bar::passes(info.rows, info.file_bytes, global.quiet);
    let run = if args.keep_columns {
        ea::assign_keep_columns(
            src.as_ref(),
            &args.file,
            &cent,
            &scaling,
            &cfg,
            &CANCEL,
            &bar,
            &args.out,
        )
    } else {
        let mut out = LabelFile::create(&args.out)?;
        let r = ea::assign_file(src.as_ref(), &cent, &scaling, &cfg, &CANCEL, &bar, &mut out);
        if r.is_ok() {
            out.finish()?;
        }
        r
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
