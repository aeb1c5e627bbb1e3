//! Mini-batch k-means on imbalanced data with background noise (Zipf-sized
//! GPS cities, and the same in 32-D): over 20 seeds, the median and 90th
//! percentile of its inertia over the best of 10 Lloyd runs are no worse
//! than scikit-learn's `MiniBatchKMeans` (same k, batch size and n_init;
//! its inertias from `tools/make_minibatch_golden.py`, on the same points),
//! and the median is within 2% of the best Lloyd run.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::sync::atomic::AtomicBool;

use serde_json::Value;
use shoal_data_gen::{Blobs, Generator, Spatial};
use shoal_engine::kmeans::{fit, Algo, KMeansConfig};
use shoal_engine::Silent;
use shoal_reader::{open, NpyWriter, OpenOptions};

/// The generator's points, as `shoal gen` writes them, to a float32 `.npy`.
fn generate(gen: Generator, path: &Path) -> f64 {
    let dim = gen.dim();
    let plan = gen.plan().unwrap();
    let mut w = NpyWriter::<f32>::create(path, Some(dim)).unwrap();
    let (mut pts, mut labels) = (Vec::new(), Vec::new());
    let mut sum = 0.0;
    for b in 0..plan.blocks() {
        plan.fill_block(b, &mut pts, &mut labels);
        sum += pts.iter().map(|&v| v as f64).sum::<f64>();
        w.write(&pts).unwrap();
    }
    w.finish().unwrap();
    sum
}

fn inertia(path: &Path, algo: Algo, seed: u64) -> f64 {
    let src = open(path, &OpenOptions::default()).unwrap();
    let cfg = KMeansConfig {
        algo,
        k: 12,
        seed,
        n_init: if algo == Algo::MiniBatch { 3 } else { 1 },
        max_iter: if algo == Algo::MiniBatch { 100 } else { 300 },
        tol: if algo == Algo::MiniBatch { 0.0 } else { 1e-4 },
        ..KMeansConfig::default()
    };
    fit(src.as_ref(), &cfg, &AtomicBool::new(false), &Silent, None)
        .unwrap()
        .inertia
}

/// (median, 90th percentile) as numpy's `percentile` interpolates them.
fn median_p90(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let at = p * (v.len() - 1) as f64;
        let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (at - lo as f64)
    };
    (q(0.5), q(0.9))
}

fn check(name: &str, gen: Generator) {
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/minibatch_sklearn.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let set = &golden["sets"][name];
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    let sum = generate(gen, &x);
    let want = set["sum"].as_f64().unwrap();
    assert!(
        (sum - want).abs() <= 1e-9 * want.abs(),
        "{name}: the generator's points changed ({sum} vs {want}); rerun tools/make_minibatch_golden.py"
    );
    let best = (0..10)
        .map(|s| inertia(&x, Algo::Lloyd, s))
        .fold(f64::INFINITY, f64::min);
    let ours: Vec<f64> = (0..20)
        .map(|s| inertia(&x, Algo::MiniBatch, s) / best)
        .collect();
    let theirs: Vec<f64> = set["sklearn_inertia"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() / best)
        .collect();
    let (om, o90) = median_p90(ours.clone());
    let (tm, t90) = median_p90(theirs);
    eprintln!(
        "{name}: shoal median {om:.4} p90 {o90:.4}; scikit-learn median {tm:.4} p90 {t90:.4}"
    );
    assert!(
        om <= tm,
        "{name}: median {om} vs scikit-learn's {tm} ({ours:?})"
    );
    assert!(
        o90 <= t90,
        "{name}: 90th percentile {o90} vs scikit-learn's {t90} ({ours:?})"
    );
    assert!(
        om <= 1.02,
        "{name}: median {om} is more than 2% over the best Lloyd run"
    );
}

#[test]
fn minibatch_on_zipf_gps_with_noise_is_at_least_as_good_as_scikit_learn() {
    check("spatial", Generator::Spatial(Spatial::new(200_000, 12, 7)));
}

#[test]
fn minibatch_on_zipf_blobs_in_32_d_with_noise_is_at_least_as_good_as_scikit_learn() {
    let mut b = Blobs::new(100_000, 32, 12, 7);
    b.zipf = 1.1;
    b.noise = 0.05;
    check("blobs32", Generator::Blobs(b));
}
