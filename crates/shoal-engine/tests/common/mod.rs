//! Helpers shared by the engine's integration tests: the clustbench sets
//! in `../shared/data/clustbench`, a point set written as a `.npy` source,
//! and a label sink that keeps everything.

#![allow(dead_code)] // each test binary uses its own subset
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Read;
use std::path::{Path, PathBuf};

use shoal_engine::kmeans::LabelSink;
use shoal_reader::{open, MatrixWriter, Source, StoreType, WriteError};

/// `../shared/data` beside the checkout.
pub fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn gz(path: PathBuf) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// A clustbench set (`battery/name`) as the f64 values of its text.
pub fn clustbench64(name: &str) -> (Vec<f64>, usize) {
    let text = gz(shared_data().join(format!("clustbench/{name}.data.gz")));
    let (mut d, mut x) = (0, Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: Vec<f64> = line
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        d = row.len();
        x.extend(row);
    }
    (x, d)
}

/// A clustbench set rounded to f32 (as numpy's
/// `loadtxt(...).astype(float32)` and shoal's CSV reader do).
pub fn clustbench(name: &str) -> (Vec<f32>, usize) {
    let (x, d) = clustbench64(name);
    (x.into_iter().map(|v| v as f32).collect(), d)
}

/// A clustbench label vector (`labels0`, `labels1`, ...); 0 is noise.
pub fn clustbench_labels(name: &str, which: &str) -> Vec<i64> {
    gz(shared_data().join(format!("clustbench/{name}.{which}.gz")))
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

/// `x` (`n x d`) written as `dir/x.npy` and opened.
pub fn npy_source(dir: &Path, x: &[f32], d: usize) -> Box<dyn Source> {
    let p = dir.join("x.npy");
    let cols: Vec<String> = (0..d).map(|i| format!("x{i}")).collect();
    let mut w = MatrixWriter::create(&p, d, &cols, StoreType::F32, 1 << 20).unwrap();
    w.write(x).unwrap();
    w.finish().unwrap();
    open(&p, &Default::default()).unwrap()
}

/// Keeps every label it is given.
#[derive(Default)]
pub struct Labels(pub Vec<u32>);

impl LabelSink for Labels {
    fn write(&mut self, l: &[u32], _: &[f32]) -> Result<(), WriteError> {
        self.0.extend_from_slice(l);
        Ok(())
    }
}
