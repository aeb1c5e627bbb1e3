//! Runs the `shoal` binary: outputs, messages, exit codes, and that failed
//! or interrupted runs leave no output behind.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use shoal_reader::{open, read_all, OpenOptions};

fn shoal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(args)
        .output()
        .expect("the shoal binary runs")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fixtures")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Files in `dir` (to check nothing half-written is left behind).
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn gen_is_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["npy", "parquet", "f32"] {
        let mut outs = Vec::new();
        for threads in ["1", "2"] {
            let out = dir.path().join(format!("b{threads}.{ext}"));
            let labels = dir.path().join(format!("l{threads}.npy"));
            let o = shoal(&[
                "gen",
                "blobs",
                "--rows",
                "150k",
                "--dim",
                "3",
                "--k",
                "4",
                "--seed",
                "9",
                "--out",
                p(&out),
                "--labels-out",
                p(&labels),
                "--threads",
                threads,
                "--row-group-rows",
                "40000",
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            outs.push((
                std::fs::read(&out).unwrap(),
                std::fs::read(&labels).unwrap(),
            ));
        }
        assert!(
            outs[0] == outs[1],
            "{ext}: output differs between 1 and 2 threads"
        );
    }
}

#[test]
fn generated_blobs_read_back_near_their_centres() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.parquet");
    let labels = dir.path().join("l.parquet");
    let centers = dir.path().join("c.npy");
    let o = shoal(&[
        "gen",
        "blobs",
        "--rows",
        "200000",
        "--dim",
        "2",
        "--k",
        "5",
        "--seed",
        "1",
        "--out",
        p(&out),
        "--labels-out",
        p(&labels),
        "--centers-out",
        p(&centers),
        "--row-group-rows",
        "30000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pts = open(&out, &OpenOptions::default()).unwrap();
    assert_eq!((pts.info().rows, pts.info().dim), (200_000, 2));
    assert_eq!(pts.info().row_groups, Some(7));
    assert_eq!(pts.info().columns, vec!["x0", "x1"]);
    let x = read_all(pts.as_ref(), 65536).unwrap();
    let lab = read_all(
        open(&labels, &OpenOptions::default()).unwrap().as_ref(),
        65536,
    )
    .unwrap();
    let c = read_all(
        open(&centers, &OpenOptions::default()).unwrap().as_ref(),
        16,
    )
    .unwrap();
    assert_eq!(c.len(), 10);
    let mut sum = [[0.0f64; 2]; 5];
    let mut n = [0usize; 5];
    for (row, &l) in x.chunks(2).zip(&lab) {
        let l = l as usize;
        n[l] += 1;
        sum[l][0] += row[0] as f64;
        sum[l][1] += row[1] as f64;
    }
    for k in 0..5 {
        for j in 0..2 {
            let mean = sum[k][j] / n[k] as f64;
            // ~40k points of unit spread per cluster: standard error 0.005
            assert!(
                (mean - c[k * 2 + j] as f64).abs() < 0.03,
                "cluster {k} dim {j}"
            );
        }
    }
}

#[test]
fn gen_f16_parquet_and_spatial() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.parquet");
    let o = shoal(&[
        "gen",
        "spatial",
        "--rows",
        "5000",
        "--k",
        "3",
        "--dtype",
        "f16",
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = shoal(&["info", p(&out), "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 5000);
    assert_eq!(v["columns"], serde_json::json!(["lat", "lon"]));
    assert_eq!(v["storage"][0][1], "float16");
}

#[test]
fn info_stats_match_an_independent_computation() {
    let f = fixtures().join("f64_c.npy");
    let o = shoal(&["info", p(&f), "--stats", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 1000);
    // Oracle: the numpy-written expectation file, decoded here by hand.
    let b = std::fs::read(fixtures().join("f64_c.npy.expect.npy")).unwrap();
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let x: Vec<f64> = b[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
        .collect();
    for j in 0..3 {
        let col: Vec<f64> = x.chunks(3).map(|r| r[j]).collect();
        let mean = col.iter().sum::<f64>() / 1000.0;
        let std = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 1000.0).sqrt();
        let s = &v["stats"][j];
        assert!((s["mean"].as_f64().unwrap() - mean).abs() < 1e-9 * (1.0 + mean.abs()));
        assert!((s["std"].as_f64().unwrap() - std).abs() < 1e-9 * (1.0 + std));
    }
}

#[test]
fn bad_input_gives_clear_errors_and_exit_codes() {
    let fx = fixtures();
    // corrupt data: exit 1, the file named
    for (file, needle) in [
        ("corrupt_page.parquet", "corrupt_page.parquet"),
        ("truncated.parquet", "not a valid parquet"),
        ("f32_truncated.npy", "truncated"),
        ("object.npy", "pickled"),
    ] {
        let o = shoal(&["info", p(&fx.join(file)), "--stats"]);
        assert_eq!(o.status.code(), Some(1), "{file}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{file}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{file}");
    }
    let o = shoal(&["info", p(&fx.join("f32_nan.npy")), "--stats"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("row 17") && stderr(&o).contains("--skip-invalid"),
        "{}",
        stderr(&o)
    );
    let o = shoal(&[
        "info",
        p(&fx.join("f32_nan.npy")),
        "--stats",
        "--skip-invalid",
        "--json",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["skipped_rows"], 2);
    let o = shoal(&["info", p(&fx.join("ragged.csv")), "--stats"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 8"), "{}", stderr(&o));
    // usage errors: exit 2
    let o = shoal(&["info", "points.xyz"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = shoal(&[
        "info",
        p(&fx.join("mixed.parquet")),
        "--columns",
        "lat,nope",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope"));
    let o = shoal(&[
        "gen", "blobs", "--rows", "ten", "--dim", "2", "--k", "2", "--out", "x.npy",
    ]);
    assert_eq!(o.status.code(), Some(2));
    // missing file: exit 1, named
    let o = shoal(&["info", "/nonexistent/points.parquet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/points.parquet"));
}

#[test]
fn failed_gen_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    // f16 cannot be stored raw: usage error before anything is written
    let out = dir.path().join("x.f32");
    let o = shoal(&[
        "gen",
        "uniform",
        "--rows",
        "100",
        "--dim",
        "2",
        "--dtype",
        "f16",
        "--out",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // the labels cannot be written (no such directory): no points file either
    let out = dir.path().join("x.npy");
    let bad = dir.path().join("missing/l.npy");
    let o = shoal(&[
        "gen",
        "blobs",
        "--rows",
        "100",
        "--dim",
        "2",
        "--k",
        "2",
        "--out",
        p(&out),
        "--labels-out",
        p(&bad),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("missing/l.npy"));
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

#[cfg(unix)]
#[test]
fn ctrl_c_exits_130_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.parquet");
    let child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "gen",
            "blobs",
            "--rows",
            "2B",
            "--dim",
            "2",
            "--k",
            "3",
            "--out",
            p(&out),
            "-q",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the temporary output exists, so the run is under way.
    let t0 = std::time::Instant::now();
    while listing(dir.path()).is_empty() && t0.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let t1 = std::time::Instant::now();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(t1.elapsed().as_secs_f64() < 5.0, "took too long to stop");
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}
