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

/// `v` as a float64 `.npy` (1-D, or rows of `dim`).
pub fn write_npy(path: &Path, v: &[f64], dim: Option<usize>) {
    let mut w = NpyWriter::<f64>::create(path, dim).unwrap();
    w.write(v).unwrap();
    w.finish().unwrap();
}
