//! `shoal bench scaling`: the quick preset end to end (every configuration
//! recorded, the exponents recomputed here from the CSV, the figures
//! decoded), and its failure handling: a peer whose package is missing, a
//! child killed by a memory limit, a data set too large for the disk, and
//! Ctrl-C in the middle of a run.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{p, shoal, stderr};

type Record = BTreeMap<String, String>;

fn read_csv(path: &Path) -> (Vec<String>, Vec<Record>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

/// Least squares slope of ln(wall) on ln(rows), written out here
/// independently of the code under test.
fn slope(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len() as f64;
    let (x, y): (Vec<f64>, Vec<f64>) = pts.iter().map(|(a, b)| (a.ln(), b.ln())).unzip();
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    sxy / sxx
}

#[test]
fn the_quick_preset_records_every_configuration_with_its_fitted_exponent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scaling");
    let o = shoal(&[
        "bench",
        "scaling",
        "--preset",
        "quick",
        "--report",
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (header, rows) = read_csv(&out.join("results.csv"));
    for col in [
        "tool",
        "algo",
        "rows",
        "dim",
        "k",
        "threads",
        "format",
        "repeat",
        "status",
        "reason",
        "wall_s",
        "user_s",
        "sys_s",
        "peak_rss_bytes",
        "rows_per_s",
        "bytes_per_s",
        "passes",
        "quality_name",
        "quality",
        "cpu_model",
        "cores",
        "mem_total_bytes",
        "kernel",
        "shoal_version",
        "git_revision",
    ] {
        assert!(
            header.iter().any(|h| h == col),
            "column {col} missing: {header:?}"
        );
    }
    // The preset's axes: 4 row counts x (read + 4 algorithms) x threads.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: BTreeSet<String> = [1, cores.min(2)].iter().map(|t| t.to_string()).collect();
    let mut want = BTreeSet::new();
    for n in ["20000", "40000", "80000", "160000"] {
        for a in ["read", "lloyd", "subsample", "assign", "scatter"] {
            for t in &threads {
                want.insert((n.to_string(), a.to_string(), t.clone()));
            }
        }
    }
    let got: BTreeSet<(String, String, String)> = rows
        .iter()
        .map(|r| (r["rows"].clone(), r["algo"].clone(), r["threads"].clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(rows.len(), want.len(), "one run each");
    for r in &rows {
        assert_eq!(r["status"], "ok", "{r:?}");
        assert_eq!(
            (r["dim"].as_str(), r["k"].as_str(), r["format"].as_str()),
            ("2", "4", "npy")
        );
        let wall: f64 = r["wall_s"].parse().unwrap();
        let user: f64 = r["user_s"].parse().unwrap();
        let rss: u64 = r["peak_rss_bytes"].parse().unwrap();
        assert!(wall > 0.0 && user >= 0.0 && rss > 1 << 20, "{r:?}");
        let rate: f64 = r["rows_per_s"].parse().unwrap();
        let n: f64 = r["rows"].parse().unwrap();
        assert!(
            (rate * wall / n - 1.0).abs() < 1e-6,
            "rows/s is rows over wall"
        );
        if ["lloyd", "subsample", "assign"].contains(&r["algo"].as_str()) {
            assert_eq!(r["quality_name"], "inertia");
            // Inertia of 4 unit-variance 2-D clusters is about 2 per row.
            let per_row = r["quality"].parse::<f64>().unwrap() / n;
            assert!((1.5..2.5).contains(&per_row), "{r:?}");
        }
    }
    // The exponent of every streaming algorithm, recomputed from the CSV.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    let fits = summary["fits"].as_array().unwrap();
    let mut checked = 0;
    for algo in ["read", "lloyd", "subsample", "assign", "scatter"] {
        for t in &threads {
            let pts: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r["algo"] == algo && &r["threads"] == t)
                .map(|r| (r["rows"].parse().unwrap(), r["wall_s"].parse().unwrap()))
                .collect();
            let b = slope(&pts);
            let f = fits
                .iter()
                .find(|f| {
                    f["algo"] == algo
                        && f["threads"].as_u64().map(|v| v.to_string()).as_ref() == Some(t)
                })
                .unwrap_or_else(|| panic!("no fit for {algo} T={t}"));
            let got = f["time_exponent"].as_f64().unwrap();
            assert!((got - b).abs() < 1e-9, "{algo} T={t}: {got} vs {b}");
            assert!(f["time_exponent_ci95"].as_f64().unwrap() >= 0.0);
            assert!(
                md.contains(&format!("{b:.2} ± ")),
                "summary.md shows {b:.2}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 5 * threads.len());
    // Figures: valid SVG, PNGs that decode to the figure size with ink on them.
    let mut figures = 0;
    for e in std::fs::read_dir(&out).unwrap() {
        let path = e.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("png") => {
                let (w, h, rgba) = shoal_plot::decode_png(&std::fs::read(&path).unwrap()).unwrap();
                assert_eq!((w, h), (1000, 600), "{}", path.display());
                let ink = rgba
                    .chunks(4)
                    .filter(|px| px[..3] != [255, 255, 255])
                    .count();
                assert!(ink > 5_000, "{}: {ink} drawn pixels", path.display());
                figures += 1;
            }
            Some("svg") => {
                shoal_plot::parse_svg(&std::fs::read_to_string(&path).unwrap()).unwrap();
            }
            _ => {}
        }
    }
    // time and RSS per algorithm, speed-up (several thread counts), read fraction.
    assert_eq!(figures, 2 * 5 + usize::from(threads.len() > 1) + 1);
    assert!(md.contains("![") && md.contains("time-lloyd.png"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Time and memory against rows"));

    // A second run reuses the data sets (no "generating" line).
    let o = shoal(&[
        "bench",
        "scaling",
        "--preset",
        "quick",
        "--rows",
        "20k",
        "--algo",
        "lloyd",
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("generating"), "{}", stderr(&o));
}

#[test]
fn failures_are_recorded_with_their_reason_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // A Python without its site-packages: a real interpreter that lacks
    // numpy and scikit-learn.
    let py = dir.path().join("python");
    std::fs::write(&py, "#!/bin/sh\nexec python3 -I -S \"$@\"\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&py, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = dir.path().join("s");
    let o = shoal(&[
        "bench",
        "scaling",
        "--rows",
        "20k,40k",
        "--dim",
        "2",
        "-k",
        "4",
        "--algo",
        "lloyd",
        "--format",
        "npy",
        "--threads",
        "1",
        "--peers",
        "sklearn,scipy",
        "--python",
        p(&py),
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, rows) = read_csv(&out.join("results.csv"));
    let has_python = Command::new("python3")
        .arg("-c")
        .arg("1")
        .status()
        .is_ok_and(|s| s.success());
    for r in &rows {
        match r["tool"].as_str() {
            "shoal" => assert_eq!(r["status"], "ok", "{r:?}"),
            _ => {
                if has_python {
                    assert_eq!(r["status"], "skipped", "{r:?}");
                    assert!(r["reason"].contains("numpy"), "names the package: {r:?}");
                } else {
                    assert_ne!(r["status"], "ok", "{r:?}");
                }
            }
        }
    }
    assert_eq!(
        rows.iter().filter(|r| r["tool"] != "shoal").count(),
        4,
        "2 peers x 2 sizes"
    );
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("Runs that did not finish, and why"));

    // Every child under an address-space limit too small to start in: the
    // smaller runs are recorded as out of memory, with the limit; the larger
    // ones are skipped, naming the smaller run that failed.
    let out = dir.path().join("m");
    let o = shoal(&[
        "bench",
        "scaling",
        "--rows",
        "20k,40k",
        "--dim",
        "2",
        "-k",
        "4",
        "--algo",
        "lloyd",
        "--format",
        "npy",
        "--threads",
        "2",
        "--mem-limit",
        "20MiB",
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, rows) = read_csv(&out.join("results.csv"));
    assert_eq!(rows.len(), 4, "read and lloyd at two sizes");
    for r in &rows {
        if r["rows"] == "20000" {
            assert_eq!(r["status"], "oom", "{r:?}");
            assert!(r["reason"].contains("limit 21.0 MB"), "{r:?}");
        } else {
            assert_eq!(r["status"], "skipped", "{r:?}");
            assert!(r["reason"].contains("smaller run (20000 rows)"), "{r:?}");
        }
    }

    // Data sets that cannot fit on the disk are refused before any is written.
    let out = dir.path().join("big");
    let o = shoal(&[
        "bench",
        "scaling",
        "--rows",
        "1000B",
        "--dim",
        "128",
        "--out",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("free there"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(out.join("data")).unwrap().count(), 0);

    // Usage errors.
    let o = shoal(&["bench", "scaling", "--peers", "spss", "--out", p(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("unknown peer"));
    let o = shoal(&[
        "fit",
        "x.npy",
        "-k",
        "2",
        "--model",
        "m.json",
        "--threads",
        "1,2",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn ctrl_c_keeps_the_finished_runs_and_marks_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let mut child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "bench",
            "scaling",
            "--rows",
            "20k,40k,80k,160k,320k,640k",
            "--dim",
            "2",
            "-k",
            "4",
            "--algo",
            "lloyd,subsample,assign",
            "--format",
            "npy",
            "--threads",
            "1,2",
            "--repeat",
            "3",
            "--out",
            p(&out),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let csv = out.join("results.csv");
    let start = Instant::now();
    loop {
        let n = std::fs::read_to_string(&csv).map_or(0, |s| s.lines().count());
        if n >= 4 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no runs recorded"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before it was interrupted"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("partial summary"), "{}", stderr(&o));
    let (_, rows) = read_csv(&csv);
    assert!(rows.len() >= 3, "the finished runs are kept");
    assert!(rows.len() < 6 * 4 * 2 * 3, "it stopped early");
    for r in &rows[..rows.len() - 1] {
        assert_eq!(r["status"], "ok", "{r:?}");
    }
    let last = &rows[rows.len() - 1]["status"];
    assert!(last == "ok" || last == "interrupted", "{last}");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.starts_with("# shoal bench scaling (interrupted)"),
        "{md}"
    );
    assert!(md.contains("INTERRUPTED"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["interrupted"], true);
}
