//! Helpers shared by the CLI's integration tests.

#![allow(dead_code)] // each test binary uses its own subset
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};

use shoal_reader::NpyWriter;

/// Runs the `shoal` binary.
pub fn shoal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(args)
        .output()
        .expect("the shoal binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Files in `dir` (to check nothing half-written is left behind).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `shoal gen ARGS --out OUT --quiet`, which must succeed.
pub fn gen(out: &Path, args: &[&str]) {
    let mut a = vec!["gen"];
    a.extend_from_slice(args);
    a.extend(["--out", p(out), "--quiet"]);
    let o = shoal(&a);
    assert!(o.status.success(), "shoal {}: {}", a.join(" "), stderr(&o));
}

/// `v` as a float64 `.npy` (1-D, or rows of `dim`).
pub fn write_npy(path: &Path, v: &[f64], dim: Option<usize>) {
    let mut w = NpyWriter::<f64>::create(path, dim).unwrap();
    w.write(v).unwrap();
    w.finish().unwrap();
}

/// Starts `shoal fit` on `data` for a long time (k = 40, `--tol 0`,
/// `--max-iter` 300: seconds on uniform points), writing `model` and
/// `labels`, and returns once its first checkpoint (`ck`, written after the
/// initialisation) says the iterations have begun. stderr is piped.
pub fn long_fit_started(
    data: &Path,
    model: &Path,
    labels: &Path,
    ck: &Path,
) -> std::process::Child {
    use std::time::{Duration, Instant};
    let child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "fit",
            p(data),
            "-k",
            "40",
            "--tol",
            "0",
            "--max-iter",
            "300",
            "--model",
            p(model),
            "--labels",
            p(labels),
            "--checkpoint",
            p(ck),
            "--checkpoint-every",
            "0",
            "--quiet",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ck.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "no checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}
