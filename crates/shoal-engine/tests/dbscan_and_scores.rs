//! DBSCAN against scikit-learn's own output (frozen in
//! `tests/golden/dbscan.json` by `tools/make_dbscan_golden.py`, sklearn run
//! on the same float32 values), and the quality scores against
//! scikit-learn's: silhouette, Davies–Bouldin and Calinski–Harabasz of the
//! reference labels against `clustbench/catalogue.csv`, the agreement
//! scores against the golden file.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;

use common::{clustbench, clustbench64, clustbench_labels, shared_data};
use serde_json::Value;
use shoal_kernels::dbscan::{dbscan, dbscan_naive, haversine, Metric};
use shoal_kernels::metrics::external;
use shoal_kernels::quality::{calinski_harabasz, davies_bouldin, silhouette};

fn uber(rows: usize) -> Vec<f32> {
    let text =
        std::fs::read_to_string(shared_data().join("spatial/uber_nyc_2014_04_pickups_latlon.csv"))
            .unwrap();
    let mut x = Vec::new();
    for line in text.lines().skip(1).take(rows) {
        for v in line.split(',') {
            x.push(v.trim().parse::<f64>().unwrap() as f32);
        }
    }
    x
}

fn golden() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/dbscan.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn dbscan_equals_scikit_learn() {
    let g = golden();
    for c in g["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let eps = c["eps"].as_f64().unwrap();
        let ms = c["min_samples"].as_u64().unwrap() as usize;
        let (x, d, metric) = if c["metric"] == "haversine" {
            (uber(20_000), 2, Metric::Haversine)
        } else {
            let (x, d) = clustbench(name);
            (x, d, Metric::Euclidean)
        };
        let want = ints(&c["labels"]);
        let want_core = ints(&c["core"]);
        let got = dbscan(&x, d, eps, ms, metric).unwrap();
        let core: Vec<i64> = (0..got.core.len())
            .filter(|&i| got.core[i])
            .map(|i| i as i64)
            .collect();
        assert_eq!(core, want_core, "{name}: core points");
        let noise = |l: &[i64]| -> Vec<usize> { (0..l.len()).filter(|&i| l[i] < 0).collect() };
        let got_l: Vec<i64> = got.labels.iter().map(|&v| v as i64).collect();
        assert_eq!(noise(&got_l), noise(&want), "{name}: noise");
        for &i in &want_core {
            let i = i as usize;
            assert_eq!(got_l[i], want[i], "{name}: core point {i}");
        }
        // Border points: shoal's rule (the lowest-numbered neighbouring
        // cluster) is scikit-learn's; and whatever the rule, the cluster
        // must hold a core point within eps.
        let p = |i: usize| &x[i * d..(i + 1) * d];
        let within = |a: usize, b: usize| match metric {
            Metric::Euclidean => {
                p(a).iter()
                    .zip(p(b))
                    .map(|(u, v)| (*u as f64 - *v as f64).powi(2))
                    .sum::<f64>()
                    <= eps * eps
            }
            Metric::Haversine => haversine(p(a), p(b)) <= eps,
        };
        let mut differ = 0;
        for i in 0..got_l.len() {
            if got.core[i] || got_l[i] < 0 {
                continue;
            }
            assert!(
                want_core
                    .iter()
                    .any(|&j| got_l[j as usize] == got_l[i] && within(i, j as usize)),
                "{name}: border point {i} has no core neighbour in its cluster"
            );
            differ += usize::from(got_l[i] != want[i]);
        }
        assert_eq!(
            differ, 0,
            "{name}: border points in another cluster than scikit-learn's"
        );
        assert_eq!(
            got.clusters as i64,
            want.iter().max().unwrap() + 1,
            "{name}"
        );
        println!(
            "{name}: n {} eps {eps:.6} min_samples {ms}: {} clusters, {} core, {} noise — identical",
            got_l.len(),
            got.clusters,
            want_core.len(),
            got.noise()
        );
    }
}

#[test]
fn dbscan_matches_the_naive_definition_on_awkward_inputs() {
    // Duplicates, a lone point, a chain at exactly eps, min_samples 1.
    let mut x: Vec<f32> = vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 5.0];
    for i in 0..20 {
        x.extend([10.0 + i as f32 * 0.5, -3.0]);
    }
    for ms in [1, 2, 3, 4] {
        for eps in [0.5, 0.49, 1.0, 7.1] {
            let got = dbscan(&x, 2, eps, ms, Metric::Euclidean).unwrap();
            let want = dbscan_naive(&x, 2, eps, ms, Metric::Euclidean);
            assert_eq!(got, want, "eps {eps} min_samples {ms}");
        }
    }
    // Haversine across the antimeridian and near a pole.
    let pts: Vec<f32> = vec![
        10.0, 179.9999, 10.0, -179.9999, 10.0001, 180.0, 89.9999, 0.0, 89.9999, 180.0, -45.0, 20.0,
    ];
    let eps = 50.0 / shoal_kernels::dbscan::EARTH_RADIUS_M;
    for ms in [1, 2, 3] {
        let got = dbscan(&pts, 2, eps, ms, Metric::Haversine).unwrap();
        let want = dbscan_naive(&pts, 2, eps, ms, Metric::Haversine);
        assert_eq!(got, want, "haversine min_samples {ms}");
    }
    // Random points on a coarse lattice (many exact ties at eps) in 1, 2,
    // 3 and 5 dimensions (5: the path that grids three coordinates).
    let mut st = 0x853c_49e6_748f_ea9bu64;
    for dim in [1usize, 2, 3, 5] {
        let pts: Vec<f32> = (0..600 * dim)
            .map(|_| {
                st ^= st << 13;
                st ^= st >> 7;
                st ^= st << 17;
                ((st >> 33) % 40) as f32 * 0.25
            })
            .collect();
        for (eps, ms) in [(0.25, 2), (0.5, 4), (1.0, 8), (0.7, 1)] {
            let got = dbscan(&pts, dim, eps, ms, Metric::Euclidean).unwrap();
            let want = dbscan_naive(&pts, dim, eps, ms, Metric::Euclidean);
            assert_eq!(got, want, "dim {dim} eps {eps} min_samples {ms}");
        }
    }
    assert!(dbscan(&x, 2, 0.0, 2, Metric::Euclidean).is_err());
    assert!(dbscan(&x, 2, 1.0, 0, Metric::Euclidean).is_err());
    assert!(dbscan(&[91.0, 0.0], 2, 1e-3, 1, Metric::Haversine).is_err());
}

#[test]
fn agreement_scores_equal_scikit_learn() {
    let g = golden();
    for c in g["cases"].as_array().unwrap() {
        let Some(want) = c.get("truth_scores") else {
            continue;
        };
        let name = c["name"].as_str().unwrap();
        let truth = clustbench_labels(name, "labels0");
        let pred = ints(&c["labels"]);
        let got = external(&truth, &pred);
        let pairs = [
            ("adjusted_rand", got.adjusted_rand),
            ("adjusted_mutual_info", got.adjusted_mutual_info),
            ("normalized_mutual_info", got.normalized_mutual_info),
            ("homogeneity", got.homogeneity),
            ("completeness", got.completeness),
            ("v_measure", got.v_measure),
            ("fowlkes_mallows", got.fowlkes_mallows),
        ];
        for (key, v) in pairs {
            let w = want[key].as_f64().unwrap();
            assert!(
                (v - w).abs() <= 1e-9,
                "{name} {key}: got {v}, scikit-learn {w}"
            );
        }
    }
}

#[test]
fn internal_scores_equal_the_catalogue() {
    let text = std::fs::read_to_string(shared_data().join("clustbench/catalogue.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |h: &str| header.iter().position(|x| *x == h).unwrap();
    let (cb, cd, cl, cn) = (col("battery"), col("dataset"), col("labels"), col("n"));
    let (cs, cdb, cch) = (
        col("silhouette_of_reference_labels"),
        col("davies_bouldin_of_reference_labels"),
        col("calinski_harabasz_of_reference_labels"),
    );
    let mut checked = 0;
    let mut worst = 0f64;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let n: usize = f[cn].parse().unwrap();
        if n > 12_000 {
            continue; // exact silhouette is O(n²); the big sets are for benchmarks
        }
        let name = format!("{}/{}", f[cb], f[cd]);
        // The catalogue was computed in f64 on the text values; so is this.
        let (x, d) = clustbench64(&name);
        let lab = clustbench_labels(&name, f[cl]);
        // The catalogue scores the non-noise points (label 0 is noise).
        let keep: Vec<usize> = (0..lab.len()).filter(|&i| lab[i] != 0).collect();
        let xs: Vec<f64> = keep
            .iter()
            .flat_map(|&i| x[i * d..(i + 1) * d].to_vec())
            .collect();
        let ls: Vec<i64> = keep.iter().map(|&i| lab[i]).collect();
        for (what, got, want) in [
            ("silhouette", silhouette(&xs, d, &ls).unwrap(), f[cs]),
            (
                "davies_bouldin",
                davies_bouldin(&xs, d, &ls).unwrap(),
                f[cdb],
            ),
            (
                "calinski_harabasz",
                calinski_harabasz(&xs, d, &ls).unwrap(),
                f[cch],
            ),
        ] {
            let want: f64 = want.parse().unwrap();
            // Relative to the value, or to 1 for values near 0 (yeast's
            // silhouette is 3e-5): scikit-learn's distances come from a
            // GEMM and differ from direct ones in the last bits.
            let rel = (got - want).abs() / want.abs().max(1.0);
            worst = worst.max(rel);
            assert!(
                rel <= 1e-9,
                "{name} {}: {what} {got} vs scikit-learn {want} ({rel:.2e})",
                f[cl]
            );
        }
        checked += 1;
    }
    println!("{checked} labellings; largest difference {worst:.2e}");
    assert!(checked >= 50, "only {checked} labellings checked");
}
