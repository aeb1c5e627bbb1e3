//! Replays every committed fuzz corpus (`fuzz/corpus/TARGET/*`) and every
//! crasher kept as a regression input (`fuzz/regressions/TARGET/*`) through
//! the fuzz targets' own bodies, so that what the fuzzer once found stays
//! fixed. The targets assert the readers' promises; a panic fails the test
//! and names the input.

#[allow(dead_code, clippy::unwrap_used)]
#[path = "../../../fuzz/src/targets.rs"]
mod targets;

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        files.extend(dir.map(|e| e.expect("a corpus entry").path()));
    }
    files.sort();
    files
}

/// Runs `body` on every input of `target`; reports every input that panics.
fn replay(target: &str, body: impl Fn(&targets::Scratch, &[u8])) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "fuzz/corpus/{target} is empty or missing: the corpus is committed with the targets"
    );
    let scratch = targets::Scratch::new();
    let mut failed = Vec::new();
    for f in &files {
        // (a fuzzer running beside the tests replaces corpus files)
        let Ok(data) = std::fs::read(f) else {
            continue;
        };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&scratch, &data))).is_err()
        {
            failed.push(f.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: these inputs panic: {failed:#?}"
    );
    eprintln!("{target}: {} inputs replayed", files.len());
}

#[test]
fn npy() {
    replay("npy", targets::npy);
}

#[test]
fn csv() {
    replay("csv", targets::csv);
}

#[test]
fn parquet() {
    replay("parquet", targets::parquet);
}

#[test]
fn raw_f32() {
    replay("raw_f32", targets::raw_f32);
}

#[test]
fn z_npy() {
    replay("z_npy", targets::z_npy);
}

#[test]
fn model_json() {
    replay("model_json", |_, d| targets::model_json(d));
}

#[test]
fn tree() {
    replay("tree", |_, d| targets::tree(d));
}

#[test]
fn args() {
    replay("args", |_, d| targets::args(d));
}
