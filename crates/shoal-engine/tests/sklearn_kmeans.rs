//! k-means against scikit-learn's own results on the clustbench sets,
//! frozen in `tests/golden/sklearn_kmeans.json` by `tools/make_sklearn_golden.py`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use common::{clustbench, clustbench_labels, npy_source, Labels};
use serde_json::Value;
use shoal_engine::kmeans::{fit, Init, KMeansConfig};
use shoal_engine::Silent;
use shoal_kernels::metrics::adjusted_rand_index;
use shoal_kernels::sq_dist;

fn golden() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/sklearn_kmeans.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn flat(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
        .collect()
}

#[test]
fn lloyd_from_explicit_centroids_equals_scikit_learn() {
    let g = golden();
    let dir = tempfile::tempdir().unwrap();
    for (name, e) in g["datasets"].as_object().unwrap() {
        let (x, d) = clustbench(name);
        let k = e["k"].as_u64().unwrap() as usize;
        let rows: Vec<usize> = e["init_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let init: Vec<f32> = rows
            .iter()
            .flat_map(|&r| x[r * d..(r + 1) * d].to_vec())
            .collect();
        let src = npy_source(dir.path(), &x, d);
        let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
        for (it, want) in e["lloyd"].as_object().unwrap() {
            let cfg = KMeansConfig {
                k,
                init: Init::Given(init.clone()),
                max_iter: it.parse().unwrap(),
                tol: 1e-4,
                ..KMeansConfig::default()
            };
            let mut labels = Labels::default();
            let f = fit(
                src.as_ref(),
                &cfg,
                &AtomicBool::new(false),
                &Silent,
                Some(&mut labels),
            )
            .unwrap();
            let wc = flat(&want["centroids"]);
            for (j, (a, b)) in f.centroids.iter().zip(&wc).enumerate() {
                let tol = 1e-4 * b.abs().max(1e-3 * scale);
                assert!(
                    (*a as f64 - b).abs() <= tol,
                    "{name} max_iter {it}: centroid value {j}: {a} vs {b}"
                );
            }
            let wl: Vec<u32> = want["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            let c = &f.centroids;
            for (i, (&a, &b)) in labels.0.iter().zip(&wl).enumerate() {
                if a != b {
                    // only an exact tie (up to f32 rounding) may differ
                    let p = &x[i * d..(i + 1) * d];
                    let da = sq_dist(p, &c[a as usize * d..(a as usize + 1) * d]) as f64;
                    let db = sq_dist(p, &c[b as usize * d..(b as usize + 1) * d]) as f64;
                    assert!(
                        (da - db).abs() <= 1e-5 * da.max(db),
                        "{name} max_iter {it}: row {i} label {a} vs {b} ({da} vs {db})"
                    );
                }
            }
            let wi = want["inertia"].as_f64().unwrap();
            assert!(
                (f.inertia - wi).abs() <= 1e-4 * wi,
                "{name} max_iter {it}: inertia {} vs {wi}",
                f.inertia
            );
            let n_iter = want["n_iter"].as_u64().unwrap() as usize;
            assert_eq!(f.iterations, n_iter, "{name} max_iter {it}: iterations");
        }
    }
}

#[test]
fn best_of_10_inertia_is_no_worse_than_scikit_learn() {
    let g = golden();
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for (name, e) in g["datasets"].as_object().unwrap() {
        let (x, d) = clustbench(name);
        let k = e["k"].as_u64().unwrap() as usize;
        let src = npy_source(dir.path(), &x, d);
        let cfg = KMeansConfig {
            k,
            n_init: 10,
            seed: 0,
            ..KMeansConfig::default()
        };
        let mut labels = Labels::default();
        let f = fit(
            src.as_ref(),
            &cfg,
            &AtomicBool::new(false),
            &Silent,
            Some(&mut labels),
        )
        .unwrap();
        let sk = e["best10"]["inertia"].as_f64().unwrap();
        // ARI against the reference labels (noise, label 0, excluded), recorded beside scikit-learn's
        let truth = clustbench_labels(name, "labels0");
        let keep: Vec<usize> = (0..truth.len()).filter(|&i| truth[i] > 0).collect();
        let ours = adjusted_rand_index(
            &keep.iter().map(|&i| truth[i]).collect::<Vec<_>>(),
            &keep.iter().map(|&i| labels.0[i] as i64).collect::<Vec<_>>(),
        );
        let sk_ari = e["best10"]["ari"].as_f64().unwrap();
        report.push(format!(
            "{name}: inertia shoal {:.6e} / scikit-learn {:.6e} = {:.5}; ARI shoal {ours:.4}, scikit-learn {sk_ari:.4}",
            f.inertia, sk, f.inertia / sk
        ));
        assert!(
            f.inertia <= 1.001 * sk,
            "{name}: inertia {} vs scikit-learn's best of 10 {sk}",
            f.inertia
        );
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn kmeans_parallel_init_is_close_to_scikit_learn_best_of_10() {
    let g = golden();
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    let mut worst: f64 = 0.0;
    for (name, e) in g["datasets"].as_object().unwrap() {
        let (x, d) = clustbench(name);
        let k = e["k"].as_u64().unwrap() as usize;
        let src = npy_source(dir.path(), &x, d);
        let cfg = KMeansConfig {
            k,
            n_init: 10,
            seed: 0,
            init: Init::KMeansParallel,
            ..KMeansConfig::default()
        };
        let f = fit(src.as_ref(), &cfg, &AtomicBool::new(false), &Silent, None).unwrap();
        let sk = e["best10"]["inertia"].as_f64().unwrap();
        worst = worst.max(f.inertia / sk);
        report.push(format!(
            "{name}: k-means|| best of 10 / scikit-learn best of 10 = {:.5}",
            f.inertia / sk
        ));
    }
    eprintln!("{}", report.join("\n"));
    // the same criterion as k-means++: ten starts, within 0.1% of scikit-learn's best of ten
    assert!(worst <= 1.001, "worst ratio {worst}");
}

/// Subsample-then-assign on the clustbench sets. With the default sample
/// size (max(256 k, 100 000) rows) these small sets are sampled whole, so
/// the two-pass path must reach scikit-learn's best of 10 like Lloyd does
/// (asserted). With half of each set as the sample, the cost of sampling
/// shows; those ratios are printed for the record, not asserted: on sets of
/// a few hundred rows (iris, wine, hepta) half a set is a poor sample. The
/// blob test in `scalable_kmeans.rs` asserts the 1% bound at 1 row in 16.
#[test]
fn subsample_then_assign_against_scikit_learn_best_of_10() {
    let g = golden();
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for (name, e) in g["datasets"].as_object().unwrap() {
        let (x, d) = clustbench(name);
        let k = e["k"].as_u64().unwrap() as usize;
        let n = x.len() / d;
        let src = npy_source(dir.path(), &x, d);
        let sk = e["best10"]["inertia"].as_f64().unwrap();
        let mut ratios = Vec::new();
        for sample in [None, Some(n / 2)] {
            let cfg = KMeansConfig {
                algo: shoal_engine::kmeans::Algo::Subsample,
                k,
                n_init: 10,
                seed: 0,
                sample_size: sample,
                ..KMeansConfig::default()
            };
            let f = fit(src.as_ref(), &cfg, &AtomicBool::new(false), &Silent, None).unwrap();
            assert_eq!(f.sample_rows, sample.unwrap_or(n));
            ratios.push(f.inertia / sk);
        }
        report.push(format!(
            "{name}: subsample best of 10 / scikit-learn best of 10 = {:.5} (default sample), {:.5} (half)",
            ratios[0], ratios[1]
        ));
        assert!(ratios[0] <= 1.001, "{name}: {}", ratios[0]);
    }
    eprintln!("{}", report.join("\n"));
}
