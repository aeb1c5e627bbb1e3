//! A file changed by another process while `shoal fit` iterates over it
//! (rewritten in place with the same size: no short read to notice) ends the
//! fit with exit 1 and a message saying what happened; no model or labels
//! are written.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{listing, p, shoal, stderr};

#[test]
fn a_file_rewritten_during_a_fit_ends_it_without_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let data = d("data.f32");
    let out = shoal(&[
        "gen",
        "uniform",
        "--rows",
        "300k",
        "--dim",
        "4",
        "--out",
        p(&data),
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (m, l, ck) = (d("model.json"), d("labels.npy"), d("fit.ckpt"));
    // Uniform points and --tol 0: Lloyd goes on for seconds; the checkpoint
    // written after the initialisation says the iterations have begun.
    let child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "fit",
            p(&data),
            "-k",
            "40",
            "--tol",
            "0",
            "--max-iter",
            "300",
            "--model",
            p(&m),
            "--labels",
            p(&l),
            "--checkpoint",
            p(&ck),
            "--checkpoint-every",
            "0",
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ck.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "no checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Another program rewrites a value in place: same size, new time.
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&data).unwrap();
        f.seek(SeekFrom::Start(4000)).unwrap();
        f.write_all(&1.0e6f32.to_le_bytes()).unwrap();
        f.set_modified(std::time::SystemTime::now() + Duration::from_secs(2))
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("was rewritten in place"), "{err}");
    assert!(err.contains("data.f32"), "{err}");
    assert!(!m.exists() && !l.exists(), "{:?}", listing(dir.path()));
    assert!(
        listing(dir.path()).iter().all(|f| !f.ends_with(".tmp")),
        "{:?}",
        listing(dir.path())
    );
}
