//! `shoal dbscan`: DBSCAN with scikit-learn's definitions.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use shoal_engine::exact::{dbscan_file, DbscanParams, ExactError};
use shoal_kernels::dbscan::{Metric, EARTH_RADIUS_M};
use shoal_reader::LabelWriter;

use crate::cli::{DbscanArgs, DbscanMetric, Global};
use crate::exit::usage;
use crate::output::thousands;
use crate::CANCEL;

/// `--eps`: a number (Euclidean) or a distance with a unit (haversine),
/// returned in the metric's units (radians for haversine).
pub fn parse_eps(s: &str, metric: DbscanMetric) -> Result<f64> {
    let t = s.trim();
    // The unit is the trailing run of letters, so 1e-3 and 5e2m parse.
    let num = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &t[num.len()..];
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
    precision: &'static str,
    clusters: usize,
    core_points: usize,
    noise_points: usize,
    largest_clusters: Vec<u64>,
    seconds: f64,
    read_seconds: f64,
    dbscan_seconds: f64,
    peak_rss_bytes: Option<u64>,
    out: String,
}

/// Engine errors as the command line reports them.
pub fn exact_err(e: ExactError) -> anyhow::Error {
    match e {
        ExactError::Usage(m) => usage(m),
        ExactError::Engine(en) => en.into(),
        ExactError::Write(w) => w.into(),
        ExactError::Data(m) => anyhow::anyhow!(m),
    }
}

pub fn run(_global: &Global, args: &DbscanArgs) -> Result<()> {
    let start = Instant::now();
    let eps = parse_eps(&args.eps, args.metric)?;
    if args.min_samples < 1 {
        return Err(usage("--min-samples must be at least 1"));
    }
    let (_ds, src) = args.input.open(&args.files)?;
    let metric = match args.metric {
        DbscanMetric::Euclidean => Metric::Euclidean,
        DbscanMetric::Haversine => Metric::Haversine,
    };
    let params = DbscanParams {
        eps,
        min_samples: args.min_samples,
        metric,
        precision: args.precision.choice(),
    };
    // Validate the output path before the work.
    let out = LabelWriter::create(&args.out, false)?;
    let run = dbscan_file(src.as_ref(), &params, &CANCEL, Some(out)).map_err(exact_err)?;
    let res = &run.result;
    let sizes = run.sizes();
    let r = Report {
        rows: res.labels.len(),
        metric: match metric {
            Metric::Euclidean => "euclidean",
            Metric::Haversine => "haversine",
        },
        eps,
        min_samples: args.min_samples,
        precision: run.precision.name(),
        clusters: res.clusters,
        core_points: res.core.iter().filter(|&&c| c).count(),
        noise_points: res.noise(),
        largest_clusters: sizes.iter().take(10).copied().collect(),
        seconds: start.elapsed().as_secs_f64(),
        read_seconds: run.read_seconds,
        dbscan_seconds: run.dbscan_seconds,
        peak_rss_bytes: crate::output::peak_rss(),
        out: args.out.display().to_string(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "dbscan of {} rows ({}, eps {}, min_samples {}, {}) in {:.2} s: {} clusters, {} core points, {} noise points ({:.1}%); wrote {}",
            thousands(r.rows as u64),
            r.metric,
            args.eps,
            r.min_samples,
            r.precision,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eps_takes_scientific_notation_and_units() {
        let e = DbscanMetric::Euclidean;
        let h = DbscanMetric::Haversine;
        assert_eq!(parse_eps("9e-4", e).unwrap(), 9e-4);
        assert_eq!(parse_eps(" 0.25 ", e).unwrap(), 0.25);
        assert_eq!(parse_eps("1.5e-5rad", h).unwrap(), 1.5e-5);
        assert_eq!(parse_eps("2km", h).unwrap(), 2000.0 / EARTH_RADIUS_M);
        assert_eq!(parse_eps("5e2m", h).unwrap(), 500.0 / EARTH_RADIUS_M);
        assert!(parse_eps("500m", e).is_err());
        assert!(parse_eps("500", h).is_err());
        assert!(parse_eps("-1", e).is_err());
        assert!(parse_eps("abc", e).is_err());
    }
}
