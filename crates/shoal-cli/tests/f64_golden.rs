//! float64 files keep float64: linkage (all 7 methods, optimal ordering),
//! fcluster, DBSCAN (Euclidean and haversine) and the quality scores equal
//! scipy's and scikit-learn's on the same float64 input, on data where
//! rounding to float32 changes the answer (one-decimal measurements with
//! many tied distances; GPS fixes to 1e-6 degree). Expected values come
//! from `tools/make_f64_golden.py` (scipy and scikit-learn), committed in
//! `tests/golden/f64`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use common::{p, shoal, stderr, write_npy};
use serde_json::Value;
use shoal_reader::{read_npy_f64, NpyWriter};

const METHODS: [&str; 7] = [
    "single", "complete", "average", "weighted", "centroid", "median", "ward",
];

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/f64")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(golden().join("expected.json")).unwrap()).unwrap()
}

/// iris (one-decimal measurements) from ../shared/data as a float64 `.npy`,
/// parsed as numpy's loadtxt parses it.
fn iris(dir: &Path) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/clustbench/other/iris.data.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let v: Vec<f64> = text
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    let out = dir.join("iris.npy");
    write_npy(&out, &v, Some(4));
    out
}

/// The first `rows` rows of the committed GPS fixes (float64, lat/lon).
fn gps(dir: &Path, rows: usize) -> PathBuf {
    let (v, shape) = read_npy_f64(&golden().join("gps.npy")).unwrap();
    assert_eq!(shape[1], 2);
    let out = dir.join(format!("gps{rows}.npy"));
    write_npy(&out, &v[..rows * 2], Some(2));
    out
}

fn inputs(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("iris", iris(dir)),
        ("ties", golden().join("ties.npy")),
        ("gps1500", gps(dir, 1500)),
    ]
}

fn ok(args: &[&str]) -> String {
    let o = shoal(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn labels_of(path: &Path) -> Vec<i64> {
    read_npy_f64(path)
        .unwrap()
        .0
        .iter()
        .map(|&v| v as i64)
        .collect()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

/// Z equal to scipy's: cluster ids and counts exactly, heights to 1e-12.
fn assert_same_tree(got: &Path, want: &Path, what: &str) {
    let (g, gs) = read_npy_f64(got).unwrap();
    let (w, ws) = read_npy_f64(want).unwrap();
    assert_eq!(gs, ws, "{what}: shape");
    for (r, (a, b)) in g.chunks(4).zip(w.chunks(4)).enumerate() {
        assert_eq!((a[0], a[1], a[3]), (b[0], b[1], b[3]), "{what}: merge {r}");
        let rel = (a[2] - b[2]).abs() / b[2].abs().max(1e-300);
        assert!(
            rel <= 1e-12 || (a[2] - b[2]).abs() <= 1e-300,
            "{what}: height {r}: {} vs scipy {}",
            a[2],
            b[2]
        );
    }
}

#[test]
fn linkage_and_fcluster_of_float64_files_are_scipys() {
    let dir = tempfile::tempdir().unwrap();
    let exp = expected();
    for (name, x) in inputs(dir.path()) {
        for m in METHODS {
            let what = format!("{name} {m}");
            let z = dir.path().join(format!("Z_{name}_{m}.npy"));
            ok(&["linkage", p(&x), "--method", m, "--out", p(&z), "-q"]);
            assert_same_tree(&z, &golden().join(format!("Z_{name}_{m}.npy")), &what);
            let cuts = &exp["linkage"][format!("{name}_{m}")]["cuts"];
            let l = dir.path().join("L.npy");
            for k in 2..=6 {
                ok(&[
                    "fcluster",
                    p(&z),
                    "--criterion",
                    "maxclust",
                    "-t",
                    &k.to_string(),
                    "--out",
                    p(&l),
                ]);
                let want = ints(&cuts[format!("maxclust_{k}")]);
                assert_eq!(labels_of(&l), want, "{what}: fcluster maxclust {k}");
            }
            for q in ["0.5", "0.9", "0.98"] {
                let c = &cuts[format!("distance_{q}")];
                let t = c["t"].as_f64().unwrap();
                ok(&[
                    "fcluster",
                    p(&z),
                    "--criterion",
                    "distance",
                    "-t",
                    &format!("{t:e}"),
                    "--out",
                    p(&l),
                ]);
                assert_eq!(
                    labels_of(&l),
                    ints(&c["labels"]),
                    "{what}: fcluster distance {t}"
                );
            }
        }
    }
}

#[test]
fn optimal_ordering_of_a_float64_file_is_scipys() {
    let dir = tempfile::tempdir().unwrap();
    let x = golden().join("ties.npy");
    for m in ["average", "ward"] {
        let z = dir.path().join("Z.npy");
        ok(&[
            "linkage",
            p(&x),
            "--method",
            m,
            "--optimal-ordering",
            "--out",
            p(&z),
            "-q",
        ]);
        assert_same_tree(
            &z,
            &golden().join(format!("Z_ties_{m}_olo.npy")),
            &format!("ties {m} optimal ordering"),
        );
    }
}

fn dbscan_args(case: &Value, x: &Path, out: &Path) -> Vec<String> {
    let eps = case["eps"].as_f64().unwrap();
    let mut a: Vec<String> = vec!["dbscan".into(), p(x).into(), "--out".into(), p(out).into()];
    a.push("--min-samples".into());
    a.push(case["min_samples"].to_string());
    if case["metric"] == "haversine" {
        a.extend(["--metric".into(), "haversine".into()]);
        a.extend(["--eps".into(), format!("{eps:e}rad")]);
    } else {
        a.extend(["--eps".into(), format!("{eps:e}")]);
    }
    a
}

fn run(args: &[String]) -> String {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&a)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// A score against scikit-learn's definition on exact distances
/// (`*_direct`, to 1e-12), and against scikit-learn's own value to within
/// 1e-12 or twice that value's own error: scikit-learn takes Euclidean
/// distances as |x|^2 - 2 x.y + |y|^2, which loses digits on points far
/// from the origin (GPS degrees), so its value there is off by more than
/// 1e-12 itself.
fn close(got: f64, want: &Value, key: &str, what: &str) {
    let sk = want[key].as_f64().unwrap();
    let direct = want
        .get(format!("{key}_direct"))
        .map_or(sk, |v| v.as_f64().unwrap());
    let r = rel(got, direct);
    assert!(r <= 1e-12, "{what} {key}: {got} vs {direct} (rel {r:e})");
    let allowed = (2.0 * rel(sk, direct)).max(1e-12);
    let r = rel(got, sk);
    assert!(
        r <= allowed,
        "{what} {key}: {got} vs scikit-learn's {sk} (rel {r:e}, allowed {allowed:e})"
    );
}

fn assert_scores(x: &Path, labels: &Path, want: &Value, what: &str) {
    let out = ok(&[
        "eval",
        p(x),
        "--labels",
        p(labels),
        "--silhouette",
        "exact",
        "--json",
    ]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["precision"], "f64", "{what}");
    let got = |k: &str| r[k].as_f64().unwrap();
    close(
        r["silhouette"]["value"].as_f64().unwrap(),
        want,
        "silhouette",
        what,
    );
    close(got("davies_bouldin"), want, "davies_bouldin", what);
    close(got("calinski_harabasz"), want, "calinski_harabasz", what);
}

#[test]
fn dbscan_and_scores_of_float64_files_are_scikit_learns() {
    let dir = tempfile::tempdir().unwrap();
    let exp = expected();
    let gps_all = golden().join("gps.npy");
    let ties = golden().join("ties.npy");
    for (name, x) in [
        ("gps_euclidean", &gps_all),
        ("gps_haversine", &gps_all),
        ("ties_euclidean", &ties),
    ] {
        let case = &exp["dbscan"][name];
        let l = dir.path().join(format!("{name}.npy"));
        let out = run(&dbscan_args(case, x, &l));
        assert!(out.contains("f64"), "{name}: {out}");
        let want = ints(&case["labels"]);
        assert_eq!(labels_of(&l), want, "{name}: labels");
        if let Some(s) = case.get("scores") {
            assert_scores(x, &l, s, name);
        }
    }
    // iris's reference labels
    let x = iris(dir.path());
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/clustbench/other/iris.labels0.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let y: Vec<f64> = text
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    let l = dir.path().join("iris_truth.npy");
    write_npy(&l, &y, None);
    assert_scores(
        &x,
        &l,
        &exp["scores"]["iris_truth"],
        "iris reference labels",
    );
}

/// `v` rounded to float32, as a float32 `.npy`.
fn to_f32_npy(src: &Path, out: &Path) {
    let (v, shape) = read_npy_f64(src).unwrap();
    let mut w = NpyWriter::<f32>::create(out, Some(shape[1] as usize)).unwrap();
    let r: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    w.write(&r).unwrap();
    w.finish().unwrap();
}

#[test]
fn precision_f32_on_a_float64_file_is_the_float32_files_answer() {
    // --precision f32 reads the float64 file rounded to float32: exactly the
    // answers for the same values stored as float32, and (on these GPS
    // fixes) not scikit-learn's float64 answer, which the default gives.
    let dir = tempfile::tempdir().unwrap();
    let exp = expected();
    let x64 = golden().join("gps.npy");
    let x32 = dir.path().join("gps32.npy");
    to_f32_npy(&x64, &x32);
    let case = &exp["dbscan"]["gps_euclidean"];
    let (a, b) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
    let mut args = dbscan_args(case, &x64, &a);
    args.extend(["--precision".into(), "f32".into()]);
    let out = run(&args);
    assert!(out.contains("f32"), "{out}");
    run(&dbscan_args(case, &x32, &b));
    let (la, lb) = (labels_of(&a), labels_of(&b));
    assert_eq!(
        la, lb,
        "dbscan: --precision f32 of the f64 file vs the f32 file"
    );
    assert_ne!(
        la,
        ints(&case["labels"]),
        "float32 rounding was expected to move some GPS pairs across eps"
    );
    // and --precision f64 of the float32 file is the float32 file's own values in f64
    let g = gps(dir.path(), 1500);
    let g32 = dir.path().join("g32.npy");
    to_f32_npy(&g, &g32);
    for m in ["ward", "average"] {
        let (za, zb) = (dir.path().join("za.npy"), dir.path().join("zb.npy"));
        ok(&[
            "linkage",
            p(&g),
            "--method",
            m,
            "--precision",
            "f32",
            "--out",
            p(&za),
            "-q",
        ]);
        ok(&["linkage", p(&g32), "--method", m, "--out", p(&zb), "-q"]);
        let (va, vb) = (read_npy_f64(&za).unwrap().0, read_npy_f64(&zb).unwrap().0);
        assert!(
            va.iter().zip(&vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "linkage {m}: --precision f32 of the f64 file vs the f32 file"
        );
    }
}

#[test]
fn info_names_the_storage_and_the_precision() {
    let dir = tempfile::tempdir().unwrap();
    let x64 = golden().join("ties.npy");
    let x32 = dir.path().join("t32.npy");
    to_f32_npy(&x64, &x32);
    let j: Value = serde_json::from_str(&ok(&["info", p(&x64), "--json"])).unwrap();
    assert_eq!(j["precision"], "f64", "{j}");
    let j: Value = serde_json::from_str(&ok(&["info", p(&x32), "--json"])).unwrap();
    assert_eq!(j["precision"], "f32", "{j}");
    let t = ok(&["info", p(&x64)]);
    assert!(t.contains("float64") && t.contains("f64"), "{t}");
}
