//! `shoal assign`: nearest centroid and distance for every row (scipy's vq).

use anyhow::{Context, Result};
use serde::Serialize;
use shoal_engine::kmeans::{lloyd_pass, LabelSink, Scaling};
use shoal_engine::PassConfig;
use shoal_kernels::Centroids;
use shoal_reader::{open, read_all, OpenOptions};

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
            let cs = open(c, &OpenOptions::default()).context("reading --centroids")?;
            let dim = cs.info().dim;
            let v = read_all(cs.as_ref(), 1 << 16)?;
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
    let mut scaled = Vec::new();
    scaling.apply(&cent, &mut scaled);
    let c = Centroids::new(scaled, dim);
    let mut out = LabelOut::create(&args.out)?;
    let bar = Bar::rows(info.rows, "assign", global.quiet);
    let cfg = PassConfig {
        chunk_rows: args.chunk_rows.max(1),
        ..PassConfig::default()
    };
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
    out.finish()?;
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
