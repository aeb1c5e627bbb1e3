//! `shoal dbscan`: DBSCAN with scikit-learn's definitions.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use shoal_kernels::dbscan::{dbscan, DbscanError, Metric, EARTH_RADIUS_M};
use shoal_reader::{open, read_all, LabelWriter};

use crate::cli::{DbscanArgs, DbscanMetric, Global};
use crate::exit::usage;
use crate::output::thousands;

/// `--eps`: a number (Euclidean) or a distance with a unit (haversine),
/// returned in the metric's units (radians for haversine).
pub fn parse_eps(s: &str, metric: DbscanMetric) -> Result<f64> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.trim().parse().map_err(|_| {
        usage(format!(
            "--eps {s:?}: expected a number, optionally with a unit"
        ))
    })?;
    let v = match (metric, unit.trim()) {
        (DbscanMetric::Euclidean, "") => v,
        (DbscanMetric::Euclidean, u) => {
            return Err(usage(format!(
                "--eps {s:?}: units ({u}) are for --metric haversine; give a plain number"
            )))
        }
        (DbscanMetric::Haversine, "m") => v / EARTH_RADIUS_M,
        (DbscanMetric::Haversine, "km") => v * 1000.0 / EARTH_RADIUS_M,
        (DbscanMetric::Haversine, "rad") => v,
        (DbscanMetric::Haversine, u) => {
            return Err(usage(format!(
                "--eps {s:?}: with haversine give a unit: 500m, 50km or 0.01rad (got {u:?})"
            )))
        }
    };
    if !(v.is_finite() && v > 0.0) {
        return Err(usage(format!("--eps must be > 0, got {s}")));
    }
    Ok(v)
}

#[derive(Debug, Serialize)]
struct Report {
    rows: usize,
    metric: &'static str,
    eps: f64,
    min_samples: usize,
    clusters: usize,
    core_points: usize,
    noise_points: usize,
    largest_clusters: Vec<u64>,
    seconds: f64,
    dbscan_seconds: f64,
    peak_rss_bytes: Option<u64>,
    out: String,
}

pub fn run(_global: &Global, args: &DbscanArgs) -> Result<()> {
    let start = Instant::now();
    let eps = parse_eps(&args.eps, args.metric)?;
    if args.min_samples < 1 {
        return Err(usage("--min-samples must be at least 1"));
    }
    let src = open(&args.file, &args.input.options())?;
    let dim = src.info().dim;
    let metric = match args.metric {
        DbscanMetric::Euclidean => Metric::Euclidean,
        DbscanMetric::Haversine => Metric::Haversine,
    };
    if metric == Metric::Haversine && dim != 2 {
        return Err(usage(format!(
            "{}: haversine needs two columns, latitude and longitude in degrees (select them with --columns lat,lon); the file gives {dim}",
            args.file.display()
        )));
    }
    // Validate the output path before the work.
    let mut out = LabelWriter::create(&args.out, false)?;
    let x = read_all(src.as_ref(), 1 << 16)?;
    let t0 = Instant::now();
    let res = dbscan(&x, dim, eps, args.min_samples, metric).map_err(|e| match e {
        DbscanError::Parameter(m) => usage(m),
        DbscanError::BadRow { row, detail } => {
            anyhow::anyhow!("{}: row {row}: {detail}", args.file.display())
        }
    })?;
    let dbscan_seconds = t0.elapsed().as_secs_f64();
    drop(x);
    for chunk in res.labels.chunks(1 << 16) {
        out.write(chunk, None)?;
    }
    out.finish()?;
    let mut sizes = vec![0u64; res.clusters];
    for &l in &res.labels {
        if l >= 0 {
            sizes[l as usize] += 1;
        }
    }
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let r = Report {
        rows: res.labels.len(),
        metric: match metric {
            Metric::Euclidean => "euclidean",
            Metric::Haversine => "haversine",
        },
        eps,
        min_samples: args.min_samples,
        clusters: res.clusters,
        core_points: res.core.iter().filter(|&&c| c).count(),
        noise_points: res.noise(),
        largest_clusters: sizes.iter().take(10).copied().collect(),
        seconds: start.elapsed().as_secs_f64(),
        dbscan_seconds,
        peak_rss_bytes: crate::output::peak_rss(),
        out: args.out.display().to_string(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "dbscan of {} rows ({}, eps {}, min_samples {}) in {:.2} s: {} clusters, {} core points, {} noise points ({:.1}%); wrote {}",
            thousands(r.rows as u64),
            r.metric,
            args.eps,
            r.min_samples,
            r.dbscan_seconds,
            r.clusters,
            thousands(r.core_points as u64),
            thousands(r.noise_points as u64),
            100.0 * r.noise_points as f64 / r.rows.max(1) as f64,
            r.out
        );
        if !r.largest_clusters.is_empty() {
            let s: Vec<String> = r.largest_clusters.iter().map(|&c| thousands(c)).collect();
            println!("largest clusters: {}", s.join(", "));
        }
    }
    Ok(())
}
