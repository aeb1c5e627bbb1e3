//! `shoal eval`: quality scores of a labelling (scikit-learn's definitions).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use shoal_engine::exact::{self as ex, EvalOptions, ExactError};
use shoal_kernels::metrics::external;
use shoal_kernels::quality::{
    calinski_harabasz, davies_bouldin, dense_labels, silhouette_sampled, QualityError,
};
use shoal_reader::{open, read_all, OpenOptions};

use crate::cli::{EvalArgs, Global, SilhouetteMode};
use crate::dbscan::exact_err;
use crate::exit::usage;
use crate::output::thousands;
use crate::CANCEL;

/// Labels from `.npy` or the `column` of a Parquet/CSV file.
pub fn read_labels(path: &Path, column: &str) -> Result<Vec<i64>> {
    ex::read_labels(path, column).map_err(exact_err)
}

#[derive(Debug, Serialize)]
struct Silhouette {
    kind: &'static str,
    value: f64,
    sample_rows: Option<usize>,
    standard_error: Option<f64>,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    rows: usize,
    clusters: usize,
    noise_points: usize,
    cluster_sizes: Vec<u64>,
    /// Largest cluster over smallest.
    imbalance: f64,
    inertia: f64,
    silhouette: Option<Silhouette>,
    simplified_silhouette: f64,
    davies_bouldin: f64,
    calinski_harabasz: f64,
    /// f32 or f64.
    precision: &'static str,
    /// Agreement with --truth (scikit-learn's names).
    external: Option<serde_json::Value>,
    seconds: f64,
}

fn quality_err(e: QualityError) -> anyhow::Error {
    usage(e.to_string())
}

pub fn run(_global: &Global, args: &EvalArgs) -> Result<()> {
    let start = Instant::now();
    let (_ds, src) = args.input.open(&args.files)?;
    let labels = read_labels(&args.labels, &args.label_column)?;
    let truth = match &args.truth {
        Some(t) => Some(read_labels(t, &args.label_column)?),
        None => None,
    };
    let n = src.info().rows;
    let named = |what: &Path, len: usize| {
        usage(format!(
            "{} has {len} labels but {} has {n} rows",
            what.display(),
            src.info().path.display()
        ))
    };
    // Before reading the data: a count that cannot match is a usage error.
    if !args.input.skip_invalid {
        if labels.len() as u64 != n {
            return Err(named(&args.labels, labels.len()));
        }
        if let (Some(t), Some(p)) = (&truth, &args.truth) {
            if t.len() as u64 != n {
                return Err(named(p, t.len()));
            }
        }
    }
    let opts = EvalOptions {
        silhouette: match args.silhouette {
            SilhouetteMode::Auto => ex::SilhouetteMode::Auto,
            SilhouetteMode::Exact => ex::SilhouetteMode::Exact,
            SilhouetteMode::Sample => ex::SilhouetteMode::Sample,
            SilhouetteMode::None => ex::SilhouetteMode::None,
        },
        silhouette_sample: args.silhouette_sample,
        seed: args.seed,
        precision: args.precision.choice(),
    };
    let e = ex::eval_file(src.as_ref(), &labels, truth.as_deref(), &opts, &CANCEL).map_err(
        |e| match e {
            ExactError::Usage(m) => usage(format!("{}: {m}", args.labels.display())),
            other => exact_err(other),
        },
    )?;
    let sizes = e.cluster_sizes.clone();
    let max = *sizes.iter().max().unwrap_or(&1);
    let min = *sizes.iter().min().unwrap_or(&1);
    let n = e.rows;
    let k = e.clusters;
    let ext = e.external;
    let r = Report {
        rows: n,
        clusters: k,
        noise_points: e.noise_points,
        cluster_sizes: sizes.clone(),
        imbalance: max as f64 / min.max(1) as f64,
        inertia: e.inertia,
        silhouette: e.silhouette.map(|s| Silhouette {
            kind: if s.exact { "exact" } else { "sample" },
            value: s.value,
            sample_rows: s.sample_rows,
            standard_error: s.standard_error,
            seconds: s.seconds,
        }),
        simplified_silhouette: e.simplified_silhouette,
        davies_bouldin: e.davies_bouldin,
        calinski_harabasz: e.calinski_harabasz,
        precision: e.precision.name(),
        external: ext.map(|e| {
            serde_json::json!({
                "adjusted_rand": e.adjusted_rand,
                "adjusted_mutual_info": e.adjusted_mutual_info,
                "normalized_mutual_info": e.normalized_mutual_info,
                "homogeneity": e.homogeneity,
                "completeness": e.completeness,
                "v_measure": e.v_measure,
                "fowlkes_mallows": e.fowlkes_mallows,
            })
        }),
        seconds: start.elapsed().as_secs_f64(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "{} rows, {} clusters (labels as given{}), sizes {}..{} (imbalance {:.1})",
        thousands(n as u64),
        k,
        if r.noise_points > 0 {
            format!(
                "; {} noise points, scored as one cluster as scikit-learn does",
                thousands(r.noise_points as u64)
            )
        } else {
            String::new()
        },
        thousands(min),
        thousands(max),
        r.imbalance
    );
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some(s) = &r.silhouette {
        let v = match (s.sample_rows, s.standard_error) {
            (Some(m), Some(se)) => format!(
                "{:.6} ± {:.6} (sample of {})",
                s.value,
                se,
                thousands(m as u64)
            ),
            _ => format!("{:.6} (exact)", s.value),
        };
        rows.push(("silhouette".into(), v));
    }
    rows.push((
        "simplified silhouette".into(),
        format!("{:.6}", r.simplified_silhouette),
    ));
    rows.push(("Davies-Bouldin".into(), format!("{:.6}", r.davies_bouldin)));
    rows.push((
        "Calinski-Harabasz".into(),
        format!("{:.6}", r.calinski_harabasz),
    ));
    rows.push(("inertia".into(), format!("{:.6e}", r.inertia)));
    if let Some(e) = ext {
        for (name, v) in [
            ("adjusted Rand", e.adjusted_rand),
            ("adjusted mutual info", e.adjusted_mutual_info),
            ("normalized mutual info", e.normalized_mutual_info),
            ("homogeneity", e.homogeneity),
            ("completeness", e.completeness),
            ("V-measure", e.v_measure),
            ("Fowlkes-Mallows", e.fowlkes_mallows),
        ] {
            rows.push((name.into(), format!("{v:.6}")));
        }
    }
    for (name, v) in rows {
        println!("  {name:<24} {v}");
    }
    Ok(())
}

/// The demo's comparison table: each labelling of `points` scored against
/// the true cities (ARI, AMI) and on its own (sampled silhouette,
/// Davies-Bouldin, Calinski-Harabasz; noise counts as one cluster).
pub fn demo_table(points: &Path, truth: &Path, runs: &[(&str, &Path)]) -> Result<()> {
    let src = open(points, &OpenOptions::default())?;
    let dim = src.info().dim;
    let x = read_all(src.as_ref(), 1 << 16)?;
    let t = read_labels(truth, "cluster")?;
    println!(
        "== shoal eval {} --labels L --truth {} (each labelling)",
        points.display(),
        truth.display()
    );
    println!(
        "{:>14}  {:>8}  {:>8}  {:>8}  {:>8}  {:>20}  {:>10}  {:>12}",
        "labels", "clusters", "noise", "ARI", "AMI", "silhouette (10k)", "DB", "CH"
    );
    for (name, path) in runs {
        let l = read_labels(path, "cluster")?;
        let (_, k) = dense_labels(&l);
        let noise = l.iter().filter(|&&v| v == -1).count();
        let e = external(&t, &l);
        let (s, se) = silhouette_sampled(&x, dim, &l, 10_000, 0).map_err(quality_err)?;
        println!(
            "{:>14}  {:>8}  {:>8}  {:>8.4}  {:>8.4}  {:>20}  {:>10.4}  {:>12.1}",
            name,
            k - usize::from(noise > 0),
            thousands(noise as u64),
            e.adjusted_rand,
            e.adjusted_mutual_info,
            format!("{s:.4} ± {se:.4}"),
            davies_bouldin(&x, dim, &l).map_err(quality_err)?,
            calinski_harabasz(&x, dim, &l).map_err(quality_err)?,
        );
    }
    Ok(())
}
