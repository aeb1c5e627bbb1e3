//! `shoal bench read`: the bare cost of one streaming pass (decode, convert,
//! validate and touch every value), the ceiling for every clustering pass.

use anyhow::Result;
use serde::Serialize;
use shoal_engine::{run_pass, PassConfig};

use crate::cli::{BenchCommand, Global};
use crate::output::{bytes, rate, thousands};
use crate::progress::Bar;
use crate::CANCEL;

#[derive(Debug, Serialize)]
struct ReadReport {
    file: String,
    rows: u64,
    dim: usize,
    threads: usize,
    chunk_rows: usize,
    seconds: f64,
    rows_per_second: f64,
    /// Decoded f32 bytes per second (rows x dim x 4).
    f32_bytes_per_second: f64,
    peak_rss_bytes: Option<u64>,
    checksum: f64,
}

pub fn run(global: &Global, cmd: &BenchCommand) -> Result<()> {
    let (files, input, chunk_rows, json) = match cmd {
        BenchCommand::Read {
            files,
            input,
            chunk_rows,
            json,
        } => (files, input, chunk_rows, json),
        BenchCommand::Assign {
            files,
            input,
            centroids,
            repeat,
            json,
        } => return bench_assign(global, files, input, centroids, *repeat, *json),
        BenchCommand::Scaling(a) => return crate::scaling::run(global, a),
    };
    let (_, src) = input.open(files)?;
    let info = src.info().clone();
    let mut cfg = default_pass(info.dim);
    if let Some(c) = chunk_rows {
        cfg.chunk_rows = (*c).max(1);
    }
    let bar = Bar::rows(info.rows, "read", global.quiet);
    let (sum, pass) = run_pass(
        src.as_ref(),
        &cfg,
        &CANCEL,
        &bar,
        || 0.0f64,
        |acc, b| {
            // 16 independent lanes (two AVX registers) so the sum vectorises
            // and keeps up with memory.
            let mut lanes = [0.0f32; 16];
            let mut it = b.data.chunks_exact(16);
            for c in &mut it {
                for (l, v) in lanes.iter_mut().zip(c) {
                    *l += v;
                }
            }
            for (l, v) in lanes.iter_mut().zip(it.remainder()) {
                *l += v;
            }
            *acc += lanes.iter().map(|&v| v as f64).sum::<f64>();
        },
        |a, b| *a += b,
    )?;
    bar.finish();
    let secs = pass.elapsed.as_secs_f64();
    let rep = ReadReport {
        file: info.path.display().to_string(),
        rows: pass.rows,
        dim: info.dim,
        threads: rayon::current_num_threads(),
        chunk_rows: cfg.chunk_rows,
        seconds: secs,
        rows_per_second: pass.rows as f64 / secs.max(1e-9),
        f32_bytes_per_second: (pass.rows * info.dim as u64 * 4) as f64 / secs.max(1e-9),
        peak_rss_bytes: crate::output::peak_rss(),
        checksum: sum,
    };
    if *json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        println!(
            "read {} rows x {} in {:.3} s: {} rows/s, {}/s of f32, peak RSS {} ({} threads)",
            thousands(rep.rows),
            rep.dim,
            secs,
            rate(rep.rows, secs),
            bytes(rep.f32_bytes_per_second as u64),
            rep.peak_rss_bytes.map_or("?".into(), bytes),
            rep.threads
        );
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct AssignBench {
    rows: u64,
    dim: usize,
    k: usize,
    threads: usize,
    best_seconds: f64,
    points_per_second: f64,
    inertia: f64,
}

/// The chunks and depth `fit` picks for the default `--memory`, so the
/// benchmarks measure the passes users run.
fn default_pass(dim: usize) -> PassConfig {
    PassConfig::for_memory(
        shoal_engine::DEFAULT_MEMORY,
        dim,
        rayon::current_num_threads(),
    )
}

fn bench_assign(
    global: &Global,
    files: &[std::path::PathBuf],
    input: &crate::cli::InputArgs,
    centroids: &std::path::Path,
    repeat: usize,
    json: bool,
) -> Result<()> {
    use shoal_engine::kmeans::{lloyd_pass, Scaling};
    use shoal_kernels::Centroids;
    let (_, src) = input.open(files)?;
    let (codebook, cdim) = crate::assign::read_codebook(centroids)?;
    let dim = src.info().dim;
    if cdim != dim {
        return Err(crate::exit::usage("centroids and data differ in dimension"));
    }
    let c = Centroids::new(codebook, dim);
    let mut best = f64::INFINITY;
    let mut inertia = 0.0;
    let mut rows = 0;
    for _ in 0..repeat.max(1) {
        let bar = Bar::rows(src.info().rows, "assign", global.quiet);
        let (acc, rep) = lloyd_pass(
            src.as_ref(),
            &default_pass(dim),
            &Scaling::identity(dim),
            &c,
            &CANCEL,
            &bar,
            None,
        )
        .map_err(crate::fit::kmeans_err)?;
        bar.finish();
        best = best.min(rep.elapsed.as_secs_f64());
        inertia = acc.inertia();
        rows = rep.rows;
    }
    let r = AssignBench {
        rows,
        dim,
        k: c.k(),
        threads: rayon::current_num_threads(),
        best_seconds: best,
        points_per_second: rows as f64 / best,
        inertia,
    };
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "assign {} rows x {} to k = {}: best {:.3} s, {} points/s ({} threads), inertia {:.6e}",
            thousands(rows),
            dim,
            r.k,
            best,
            rate(rows, best),
            r.threads,
            inertia
        );
    }
    Ok(())
}
