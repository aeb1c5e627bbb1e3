//! `shoal sweep`: on blobs with a known k the knee and every best score
//! pick it; each k's centroids and inertia equal a separate `shoal fit
//! --algo subsample` of that k with the same seed, to the bit; two passes
//! over the data in all; `shoal plot elbow` draws it.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{listing, p, shoal, stderr};
use serde_json::Value;

fn ok(args: &[&str]) -> String {
    let o = shoal(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn sweep_finds_the_true_k_and_equals_separate_fits() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("b.npy");
    ok(&[
        "gen",
        "blobs",
        "--rows",
        "300k",
        "--dim",
        "3",
        "--k",
        "5",
        "--seed",
        "12",
        "--spread",
        "0.3",
        "--out",
        p(&x),
        "-q",
    ]);
    let sw = dir.path().join("sweep.json");
    ok(&[
        "sweep",
        p(&x),
        "-k",
        "2..9",
        "--seed",
        "3",
        "--out",
        p(&sw),
        "-q",
    ]);
    let j: Value = serde_json::from_slice(&std::fs::read(&sw).unwrap()).unwrap();
    assert_eq!(j["passes"], 2, "{}", j["passes"]);
    assert_eq!(j["knee"], 5);
    assert_eq!(j["best_silhouette"], 5);
    assert_eq!(j["best_davies_bouldin"], 5);
    assert_eq!(j["best_calinski_harabasz"], 5);
    let points = j["points"].as_array().unwrap();
    assert_eq!(points.len(), 8);
    for k in [2usize, 5, 9] {
        let pt = points.iter().find(|q| q["k"] == k).unwrap();
        let m = dir.path().join(format!("m{k}.json"));
        ok(&[
            "fit",
            p(&x),
            "-k",
            &k.to_string(),
            "--algo",
            "subsample",
            "--seed",
            "3",
            "--model",
            p(&m),
            "-q",
        ]);
        let model: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
        assert_eq!(
            model["inertia"].as_f64().unwrap().to_bits(),
            pt["inertia"].as_f64().unwrap().to_bits(),
            "k = {k}: inertia"
        );
        assert_eq!(model["centroids"], pt["centroids"], "k = {k}: centroids");
        assert_eq!(model["counts"], pt["counts"], "k = {k}: counts");
    }
    let fig = dir.path().join("elbow.svg");
    ok(&["plot", "elbow", p(&sw), "--out", p(&fig), "-q"]);
    let text = std::fs::read_to_string(&fig).unwrap();
    shoal_plot::parse_svg(&text).unwrap();
    assert!(text.contains("knee: k = 5"));
}

#[test]
fn bad_sweeps_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("b.npy");
    ok(&[
        "gen",
        "blobs",
        "--rows",
        "1000",
        "--dim",
        "2",
        "--k",
        "3",
        "--out",
        p(&x),
        "-q",
    ]);
    let out = dir.path().join("o");
    std::fs::create_dir(&out).unwrap();
    for (k, code) in [("0..3", 2), ("5..2", 2), ("a", 2), ("2..2000", 2)] {
        let o = shoal(&["sweep", p(&x), "-k", k, "--out", p(&out.join("s.json"))]);
        assert_eq!(o.status.code(), Some(code), "-k {k}: {}", stderr(&o));
        assert!(listing(&out).is_empty());
    }
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"points\": []}").unwrap();
    let o = shoal(&["plot", "elbow", p(&bad), "--out", p(&out.join("e.png"))]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(listing(&out).is_empty());
}

#[test]
fn a_lloyd_sweep_shares_its_passes_and_equals_separate_lloyd_fits() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("b.npy");
    ok(&[
        "gen",
        "blobs",
        "--rows",
        "200k",
        "--dim",
        "12",
        "--k",
        "4",
        "--seed",
        "5",
        "--spread",
        "1.5",
        "--out",
        p(&x),
        "-q",
    ]);
    let sw = dir.path().join("sweep.json");
    ok(&[
        "sweep",
        p(&x),
        "-k",
        "2..6",
        "--algo",
        "lloyd",
        "--seed",
        "1",
        "--out",
        p(&sw),
        "-q",
    ]);
    let j: Value = serde_json::from_slice(&std::fs::read(&sw).unwrap()).unwrap();
    assert_eq!(j["algo"], "lloyd");
    assert_eq!(j["knee"], 4);
    let points = j["points"].as_array().unwrap();
    let most_iters = points
        .iter()
        .map(|q| q["iterations"].as_u64().unwrap())
        .max()
        .unwrap();
    // one statistics pass, the shared Lloyd passes (as many as the slowest
    // k needs), one assignment pass: far fewer than the separate fits' sum
    assert_eq!(j["passes"].as_u64().unwrap(), most_iters + 2, "{j}");
    let mut separate = 0;
    for pt in points {
        let k = pt["k"].as_u64().unwrap().to_string();
        let m = dir.path().join(format!("m{k}.json"));
        // 12 columns: the separate fit uses per-row bounds; the result is the same
        let o = ok(&[
            "fit",
            p(&x),
            "-k",
            &k,
            "--algo",
            "lloyd",
            "--seed",
            "1",
            "--model",
            p(&m),
            "--json",
            "-q",
        ]);
        let f: Value = serde_json::from_str(&o).unwrap();
        separate += f["passes"].as_array().map_or(0, |v| v.len());
        let model: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
        assert_eq!(
            model["inertia"].as_f64().unwrap().to_bits(),
            pt["inertia"].as_f64().unwrap().to_bits(),
            "k = {k}: inertia"
        );
        assert_eq!(model["centroids"], pt["centroids"], "k = {k}: centroids");
        assert_eq!(model["counts"], pt["counts"], "k = {k}: counts");
        assert_eq!(model["iterations"], pt["iterations"], "k = {k}: iterations");
    }
    assert!(
        separate as u64 > j["passes"].as_u64().unwrap(),
        "{separate} separate passes"
    );
}
