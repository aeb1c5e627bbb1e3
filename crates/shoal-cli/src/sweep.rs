//! `shoal sweep`: k-selection for files of any size.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use shoal_engine::kmeans::{Algo, Init, KMeansConfig};
use shoal_engine::sweep::sweep;
use shoal_reader::AtomicFile;

use crate::cli::{Global, SweepArgs};
use crate::exit::usage;
use crate::fit::kmeans_err;
use crate::output::thousands;
use crate::progress::Bar;
use crate::CANCEL;

/// One k of `SWEEP.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PointJson {
    pub k: usize,
    pub inertia: f64,
    pub davies_bouldin: f64,
    pub calinski_harabasz: f64,
    pub silhouette: f64,
    pub silhouette_se: f64,
    pub fit_seconds: f64,
    pub iterations: usize,
    pub counts: Vec<u64>,
    pub centroids: Vec<Vec<f32>>,
}

/// `SWEEP.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct SweepJson {
    pub format: String,
    pub file: String,
    pub algo: String,
    pub rows: u64,
    pub dim: usize,
    pub columns: Vec<String>,
    pub seed: u64,
    pub n_init: usize,
    pub sample_rows: usize,
    pub silhouette_rows: usize,
    /// The knee of inertia against k (kneedle), if any.
    pub knee: Option<usize>,
    pub best_silhouette: usize,
    pub best_davies_bouldin: usize,
    pub best_calinski_harabasz: usize,
    pub points: Vec<PointJson>,
    pub seconds: f64,
    pub passes: usize,
}

pub fn run(global: &Global, args: &SweepArgs) -> Result<()> {
    let start = Instant::now();
    if args.n_init == 0 {
        return Err(usage("--n-init must be at least 1"));
    }
    let ks = &args.k.0;
    let (_ds, src) = args.input.open(&args.files)?;
    let info = src.info().clone();
    let pass = args.memory.pass_config(info.dim, global.verbose);
    let algo = match args.algo {
        crate::cli::SweepAlgo::Subsample => Algo::Subsample,
        crate::cli::SweepAlgo::Lloyd => Algo::Lloyd,
    };
    let cfg = KMeansConfig {
        algo,
        k: *ks.last().unwrap_or(&1),
        init: Init::KMeansPlusPlus,
        n_init: args.n_init,
        seed: args.seed,
        sample_size: args.sample_size,
        pass,
        memory: args.memory.memory,
        ..KMeansConfig::default()
    };
    // the target file is checked before the work
    let out = AtomicFile::create(&args.out)?;
    let bar = Bar::passes(info.rows, info.file_bytes, global.quiet);
    let r = sweep(
        src.as_ref(),
        &cfg,
        ks,
        args.silhouette_sample,
        &CANCEL,
        &bar,
    );
    bar.finish();
    let s = r.map_err(kmeans_err)?;
    let d = info.dim;
    let j = SweepJson {
        format: "shoal-sweep-1".into(),
        file: info.path.display().to_string(),
        algo: format!("{:?}", args.algo).to_lowercase(),
        rows: s.rows,
        dim: d,
        columns: info.columns.clone(),
        seed: args.seed,
        n_init: args.n_init,
        sample_rows: s.sample_rows,
        silhouette_rows: s.silhouette_rows,
        knee: s.knee,
        best_silhouette: s.best_silhouette,
        best_davies_bouldin: s.best_davies_bouldin,
        best_calinski_harabasz: s.best_calinski_harabasz,
        points: s
            .points
            .iter()
            .map(|p| PointJson {
                k: p.k,
                inertia: p.inertia,
                davies_bouldin: p.davies_bouldin,
                calinski_harabasz: p.calinski_harabasz,
                silhouette: p.silhouette,
                silhouette_se: p.silhouette_se,
                fit_seconds: p.fit_seconds,
                iterations: p.iterations,
                counts: p.counts.clone(),
                centroids: p.centroids.chunks_exact(d).map(|c| c.to_vec()).collect(),
            })
            .collect(),
        seconds: start.elapsed().as_secs_f64(),
        passes: s.passes.iter().filter(|p| p.over_data).count(),
    };
    let text = serde_json::to_string_pretty(&j)?;
    out.file()
        .write_all(text.as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    out.commit()?;
    if args.json {
        println!("{text}");
        return Ok(());
    }
    println!(
        "sweep of k = {}..{} ({} values) over {} rows in {:.2} s ({} passes over the data; scores on a {}-row sample)",
        ks[0],
        ks[ks.len() - 1],
        ks.len(),
        thousands(j.rows),
        j.seconds,
        j.passes,
        thousands(j.sample_rows as u64)
    );
    println!(
        "{:>5}  {:>14}  {:>10}  {:>14}  {:>18}",
        "k", "inertia", "DB", "CH", "silhouette"
    );
    for p in &j.points {
        println!(
            "{:>5}  {:>14.6e}  {:>10.4}  {:>14.1}  {:>10.4} ± {:.4}",
            p.k, p.inertia, p.davies_bouldin, p.calinski_harabasz, p.silhouette, p.silhouette_se
        );
    }
    println!(
        "knee of the inertia: {}; best k by silhouette {}, by Davies-Bouldin {}, by Calinski-Harabasz {}; wrote {}",
        j.knee.map_or("none".into(), |k| k.to_string()),
        j.best_silhouette,
        j.best_davies_bouldin,
        j.best_calinski_harabasz,
        args.out.display()
    );
    Ok(())
}
