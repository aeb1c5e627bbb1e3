//! `shoal eval`: quality scores of a labelling (scikit-learn's definitions).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use shoal_kernels::metrics::external;
use shoal_kernels::quality::{
    calinski_harabasz, davies_bouldin, dense_labels, inertia, silhouette, silhouette_sampled,
    simplified_silhouette, QualityError,
};
use shoal_reader::{open, read_all, read_npy_f64, Format, OpenOptions};

use crate::cli::{EvalArgs, Global, SilhouetteMode};
use crate::exit::usage;
use crate::output::thousands;

/// Labels from `.npy` (any integer or float dtype holding whole numbers) or
/// the `column` of a Parquet/CSV file.
pub fn read_labels(path: &Path, column: &str) -> Result<Vec<i64>> {
    let values: Vec<f64> = match Format::from_path(path) {
        Some(Format::Npy) => {
            let (v, shape) = read_npy_f64(path)?;
            if shape.len() > 2 || (shape.len() == 2 && shape[1] != 1) {
                return Err(anyhow::anyhow!(
                    "{}: labels are one value per row; this array has shape {shape:?}",
                    path.display()
                ));
            }
            v
        }
        _ => {
            let src = open(
                path,
                &OpenOptions {
                    columns: Some(vec![column.to_string()]),
                    ..OpenOptions::default()
                },
            )?;
            read_all(src.as_ref(), 1 << 16)?
                .into_iter()
                .map(f64::from)
                .collect()
        }
    };
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(anyhow::anyhow!(
                    "{}: row {i}: label {v} is not a whole number",
                    path.display()
                ))
            }
        })
        .collect()
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
    /// Agreement with --truth (scikit-learn's names).
    external: Option<serde_json::Value>,
    seconds: f64,
}

fn quality_err(e: QualityError) -> anyhow::Error {
    usage(e.to_string())
}

pub fn run(_global: &Global, args: &EvalArgs) -> Result<()> {
    let start = Instant::now();
    let src = open(&args.file, &args.input.options())?;
    let dim = src.info().dim;
    let labels = read_labels(&args.labels, &args.label_column)?;
    let x = read_all(src.as_ref(), 1 << 16)?;
    let n = x.len() / dim;
    if labels.len() != n {
        return Err(usage(format!(
            "{} has {} labels but {} has {n} rows",
            args.labels.display(),
            labels.len(),
            args.file.display()
        )));
    }
    let truth = match &args.truth {
        Some(t) => {
            let t = read_labels(t, &args.label_column)?;
            if t.len() != n {
                return Err(usage(format!(
                    "{} has {} labels but the data has {n} rows",
                    args.truth
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    t.len()
                )));
            }
            Some(t)
        }
        None => None,
    };
    let (dense, k) = dense_labels(&labels);
    if k < 2 || k + 1 > n {
        return Err(usage(format!(
            "{}: {k} distinct labels for {n} rows; the scores need between 2 and n-1 clusters",
            args.labels.display()
        )));
    }
    let mut sizes = vec![0u64; k];
    for &l in &dense {
        sizes[l as usize] += 1;
    }
    let inertia = inertia(&x, dim, &labels).map_err(quality_err)?;
    let mode = match (args.silhouette, args.silhouette_sample) {
        (SilhouetteMode::Auto, Some(_)) => SilhouetteMode::Sample,
        (SilhouetteMode::Auto, None) if n <= 20_000 => SilhouetteMode::Exact,
        (SilhouetteMode::Auto, None) => SilhouetteMode::Sample,
        (m, _) => m,
    };
    let t0 = Instant::now();
    let sil = match mode {
        SilhouetteMode::Exact => Some(Silhouette {
            kind: "exact",
            value: silhouette(&x, dim, &labels).map_err(quality_err)?,
            sample_rows: None,
            standard_error: None,
            seconds: t0.elapsed().as_secs_f64(),
        }),
        SilhouetteMode::Sample => {
            let m = args.silhouette_sample.unwrap_or(10_000).min(n);
            let (v, se) =
                silhouette_sampled(&x, dim, &labels, m, args.seed).map_err(quality_err)?;
            Some(Silhouette {
                kind: "sample",
                value: v,
                sample_rows: Some(m),
                standard_error: Some(se),
                seconds: t0.elapsed().as_secs_f64(),
            })
        }
        _ => None,
    };
    let ext = truth.as_ref().map(|t| external(t, &labels));
    let max = *sizes.iter().max().unwrap_or(&1);
    let min = *sizes.iter().min().unwrap_or(&1);
    let r = Report {
        rows: n,
        clusters: k,
        noise_points: labels.iter().filter(|&&l| l == -1).count(),
        cluster_sizes: sizes.clone(),
        imbalance: max as f64 / min.max(1) as f64,
        inertia,
        silhouette: sil,
        simplified_silhouette: simplified_silhouette(&x, dim, &labels).map_err(quality_err)?,
        davies_bouldin: davies_bouldin(&x, dim, &labels).map_err(quality_err)?,
        calinski_harabasz: calinski_harabasz(&x, dim, &labels).map_err(quality_err)?,
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
