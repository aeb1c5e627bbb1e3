//! `shoal gen`: synthetic point sets, streamed to disk.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use shoal_data_gen::{write_files, Blobs, Generator, Outputs, Spatial, Uniform, WriteFilesError};
use shoal_reader::StoreType;

use crate::cli::{DType, GenCommand, GenCommon, Global};
use crate::exit::{usage, Interrupted};
use crate::output::{bytes, rate, thousands};
use crate::progress::Bar;
use crate::CANCEL;

/// Where and how `shoal gen`'s options say to write.
fn outputs(c: &GenCommon) -> Outputs {
    Outputs {
        out: c.out.clone(),
        labels_out: c.labels_out.clone(),
        centers_out: c.centers_out.clone(),
        store: store(c.dtype),
        row_group_rows: c.row_group_rows,
    }
}

#[derive(Debug, Serialize)]
pub struct GenReport {
    pub path: PathBuf,
    pub rows: u64,
    pub dim: usize,
    pub columns: Vec<String>,
    pub dtype: &'static str,
    pub file_bytes: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub peak_rss_bytes: Option<u64>,
}

pub fn run(global: &Global, cmd: &GenCommand) -> Result<()> {
    let (gen, common) = match cmd {
        GenCommand::Blobs {
            common,
            dim,
            k,
            spread,
            center_box,
            zipf,
            noise,
        } => {
            let mut b = Blobs::new(common.rows, *dim, *k, common.seed);
            b.spread = *spread;
            b.center_box = *center_box;
            b.zipf = *zipf;
            b.noise = *noise;
            (Generator::Blobs(b), common)
        }
        GenCommand::Spatial {
            common,
            k,
            noise,
            bbox,
            zipf,
        } => {
            let mut s = Spatial::new(common.rows, *k, common.seed);
            s.noise = *noise;
            s.zipf = *zipf;
            if let Some(b) = bbox {
                s.bbox = *b;
            }
            (Generator::Spatial(s), common)
        }
        GenCommand::Uniform {
            common,
            dim,
            half_width,
        } => (
            Generator::Uniform(Uniform {
                rows: common.rows,
                dim: *dim,
                seed: common.seed,
                half_width: *half_width,
            }),
            common,
        ),
    };
    let report = generate(global, gen, &outputs(common))?;
    if common.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

pub fn print_report(r: &GenReport) {
    println!(
        "wrote {} rows x {} ({}) to {} ({}) in {:.2} s, {} rows/s",
        thousands(r.rows),
        r.dim,
        r.dtype,
        r.path.display(),
        bytes(r.file_bytes),
        r.seconds,
        rate(r.rows, r.seconds)
    );
}

fn store(d: DType) -> StoreType {
    match d {
        DType::F32 => StoreType::F32,
        DType::F16 => StoreType::F16,
        DType::F64 => StoreType::F64,
    }
}

/// Generates `gen` into `outs`; all outputs appear only if everything succeeded.
pub fn generate(global: &Global, gen: Generator, outs: &Outputs) -> Result<GenReport> {
    let start = Instant::now();
    let columns = gen.columns();
    let dim = gen.dim();
    let bar = Bar::rows(gen.rows(), "generating", global.quiet);
    let written = write_files(gen, outs, &CANCEL, &|n| bar.inc(n));
    bar.finish();
    let written = match written {
        Ok(w) => w,
        Err(WriteFilesError::Cancelled) => return Err(Interrupted.into()),
        Err(WriteFilesError::Config(e)) => return Err(usage(e.to_string())),
        Err(WriteFilesError::Write(e)) => return Err(e.into()),
    };
    let seconds = start.elapsed().as_secs_f64();
    let file_bytes = std::fs::metadata(&outs.out).map(|m| m.len()).unwrap_or(0);
    Ok(GenReport {
        path: outs.out.clone(),
        rows: written,
        dim,
        columns,
        dtype: outs.store.name(),
        file_bytes,
        seconds,
        rows_per_second: written as f64 / seconds.max(1e-9),
        peak_rss_bytes: crate::output::peak_rss(),
    })
}
