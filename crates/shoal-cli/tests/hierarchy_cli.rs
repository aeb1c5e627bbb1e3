//! `shoal linkage`, `fcluster`, `dendrogram`, `cophenet` end to end: scipy's
//! answers on its own test inputs, consistency between commands, and bad
//! input refused with the right exit code and no output left behind.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::{listing, p, shoal, stderr, write_npy};
use serde_json::Value;
use shoal_reader::read_npy_f64;

fn cases() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/scipy_cluster/cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn case(all: &Value, id: &str) -> Value {
    all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
        .clone()
}

fn nums(v: &Value) -> Vec<f64> {
    let mut out = Vec::new();
    for x in v.as_array().unwrap() {
        match x.as_array() {
            Some(r) => out.extend(r.iter().map(|y| y.as_f64().unwrap())),
            None => out.push(x.as_f64().unwrap()),
        }
    }
    out
}

fn ytdist(dir: &Path) -> PathBuf {
    let all = cases();
    let y = nums(&all["inputs"]["ytdist"]["data"]);
    let path = dir.join("ytdist.npy");
    write_npy(&path, &y, None);
    path
}

#[test]
fn condensed_linkage_dendrogram_and_cophenet_match_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let all = cases();
    let y = ytdist(dir.path());
    let z = dir.path().join("Z.npy");
    let o = shoal(&[
        "linkage",
        p(&y),
        "--condensed",
        "--method",
        "single",
        "--out",
        p(&z),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (got, shape) = read_npy_f64(&z).unwrap();
    assert_eq!(shape, vec![5, 4]);
    assert_eq!(got, nums(&case(&all, "linkage_ytdist_single")["expected"]));

    let d = dir.path().join("D.json");
    let o = shoal(&["dendrogram", p(&z), "--out", p(&d)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dj: Value = serde_json::from_str(&std::fs::read_to_string(&d).unwrap()).unwrap();
    let want = case(&all, "dendrogram_leaves_ytdist_single")["expected"].clone();
    assert_eq!(nums(&dj["leaves"]), nums(&want["leaves"]));
    assert_eq!(nums(&dj["icoord"]), nums(&want["icoord"]));
    assert_eq!(nums(&dj["dcoord"]), nums(&want["dcoord"]));

    let c = dir.path().join("C.npy");
    let o = shoal(&[
        "cophenet",
        p(&z),
        "--distances",
        p(&y),
        "--out",
        p(&c),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rep: Value = serde_json::from_slice(&o.stdout).unwrap();
    let want = case(&all, "cophenet_ytdist_single_corr")["expected"].clone();
    let corr = rep["cophenetic_correlation"].as_f64().unwrap();
    assert!((corr - want["c"].as_f64().unwrap()).abs() < 1e-10, "{corr}");
    assert_eq!(read_npy_f64(&c).unwrap().0, nums(&want["M"]));
}

#[test]
fn linkage_labels_equal_fcluster_on_the_saved_tree() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    let o = shoal(&[
        "gen",
        "blobs",
        "--rows",
        "3000",
        "--dim",
        "3",
        "--k",
        "6",
        "--seed",
        "4",
        "--out",
        p(&x),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (method, crit, t) in [
        ("ward", "maxclust", "6"),
        ("average", "distance", "4.5"),
        ("centroid", "inconsistent", "1.2"),
    ] {
        let z = dir.path().join(format!("Z_{method}.npy"));
        let l = dir.path().join(format!("L_{method}.npy"));
        let o = shoal(&[
            "linkage",
            p(&x),
            "--method",
            method,
            "--out",
            p(&z),
            "--labels",
            p(&l),
            "-t",
            t,
            "--criterion",
            crit,
        ]);
        assert!(o.status.success(), "{method}: {}", stderr(&o));
        let l2 = dir.path().join(format!("L2_{method}.npy"));
        let o = shoal(&[
            "fcluster",
            p(&z),
            "--criterion",
            crit,
            "-t",
            t,
            "--out",
            p(&l2),
        ]);
        assert!(o.status.success(), "{method}: {}", stderr(&o));
        let a = read_npy_f64(&l).unwrap().0;
        let b = read_npy_f64(&l2).unwrap().0;
        assert_eq!(a.len(), 3000);
        assert_eq!(a, b, "{method}");
        // Labels are 1..k with every value used.
        let k = a.iter().fold(0f64, |m, &v| m.max(v)) as usize;
        for want in 1..=k {
            assert!(a.contains(&(want as f64)), "{method}: label {want} unused");
        }
    }
}

#[test]
fn micro_clusters_and_sample_label_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.parquet");
    let truth = dir.path().join("truth.npy");
    let o = shoal(&[
        "gen",
        "blobs",
        "--rows",
        "60000",
        "--dim",
        "2",
        "--k",
        "5",
        "--seed",
        "8",
        "--out",
        p(&x),
        "--labels-out",
        p(&truth),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for extra in [&["--micro-clusters", "300"][..], &["--sample", "2000"][..]] {
        let z = dir.path().join("Z.npy");
        let l = dir.path().join("L.parquet");
        let mut args = vec![
            "linkage",
            p(&x),
            "--method",
            "ward",
            "--out",
            p(&z),
            "--labels",
            p(&l),
            "-t",
            "5",
            "--memory",
            "32MiB",
        ];
        args.extend_from_slice(extra);
        let o = shoal(&args);
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        let src = shoal_reader::open(&l, &Default::default()).unwrap();
        assert_eq!(src.info().rows, 60000);
        let leaves = read_npy_f64(&z).unwrap().1[0] + 1;
        assert!(leaves <= 2000, "{extra:?}: {leaves} leaves");
    }
}

#[test]
fn bad_trees_distances_and_thresholds_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let z_bad = dir.path().join("bad.npy");
    // Cluster 1 used twice.
    write_npy(&z_bad, &[0.0, 1.0, 1.0, 2.0, 1.0, 3.0, 2.0, 3.0], Some(4));
    let out = dir.path().join("L.npy");
    let o = shoal(&[
        "fcluster",
        p(&z_bad),
        "--criterion",
        "maxclust",
        "-t",
        "2",
        "--out",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bad.npy") && stderr(&o).contains("more than once"),
        "{}",
        stderr(&o)
    );

    let z_shape = dir.path().join("shape.npy");
    write_npy(&z_shape, &[0.0, 1.0, 1.0], Some(3));
    let o = shoal(&[
        "dendrogram",
        p(&z_shape),
        "--out",
        p(&dir.path().join("d.json")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("(n-1, 4)"), "{}", stderr(&o));

    // A valid tree, bad thresholds: exit 2.
    let y = ytdist(dir.path());
    let z = dir.path().join("Z.npy");
    assert!(shoal(&["linkage", p(&y), "--condensed", "--out", p(&z)])
        .status
        .success());
    for (crit, t) in [
        ("maxclust", "0"),
        ("maxclust", "2.5"),
        ("distance", "-1"),
        ("distance", "nan"),
    ] {
        let o = shoal(&[
            "fcluster",
            p(&z),
            "--criterion",
            crit,
            "-t",
            t,
            "--out",
            p(&out),
        ]);
        assert_eq!(o.status.code(), Some(2), "{crit} {t}: {}", stderr(&o));
    }

    // Condensed vectors of the wrong length, with NaN, or negative.
    let y_len = dir.path().join("len.npy");
    write_npy(&y_len, &[1.0, 2.0, 3.0, 4.0], None);
    let y_nan = dir.path().join("nan.npy");
    write_npy(&y_nan, &[1.0, f64::NAN, 3.0], None);
    let y_neg = dir.path().join("neg.npy");
    write_npy(&y_neg, &[1.0, -2.0, 3.0], None);
    for (f, msg) in [(&y_len, "n(n-1)/2"), (&y_nan, "NaN"), (&y_neg, "-2")] {
        let zo = dir.path().join("Zo.npy");
        let o = shoal(&["linkage", p(f), "--condensed", "--out", p(&zo)]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains(msg), "{msg}: {}", stderr(&o));
        assert!(!zo.exists());
    }

    // A matrix method that does not fit in --memory is refused up front.
    let x = dir.path().join("x.npy");
    assert!(shoal(&[
        "gen",
        "blobs",
        "--rows",
        "20000",
        "--dim",
        "2",
        "--k",
        "3",
        "--out",
        p(&x)
    ])
    .status
    .success());
    let za = dir.path().join("Za.npy");
    let o = shoal(&[
        "linkage",
        p(&x),
        "--method",
        "average",
        "--out",
        p(&za),
        "--memory",
        "64MiB",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--memory") && stderr(&o).contains("--micro-clusters"),
        "{}",
        stderr(&o)
    );
    assert!(!za.exists());

    // NaN in observations: exit 1, row named, nothing written.
    let xn = dir.path().join("xn.csv");
    std::fs::write(&xn, "a,b\n1,2\n3,nan\n5,6\n").unwrap();
    let zn = dir.path().join("Zn.npy");
    let o = shoal(&["linkage", p(&xn), "--method", "ward", "--out", p(&zn)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("row"), "{}", stderr(&o));
    assert!(!zn.exists());
    assert!(!listing(dir.path()).iter().any(|f| f.ends_with(".tmp")));
}
