//! Outputs under pressure: a write that meets the file-size limit (as on a
//! full disk) ends with exit 1 naming the path and the OS error, with the
//! temporary file removed and an earlier file at that path untouched.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::process::Command;

use common::{listing, p, shoal, stderr};

#[test]
fn a_write_past_the_file_size_limit_fails_cleanly() {
    // util-linux's prlimit sets RLIMIT_FSIZE for the child alone.
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("skipped: needs util-linux's prlimit");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    let c = dir.path().join("c.npy");
    let o = shoal(&[
        "gen",
        "blobs",
        "--rows",
        "2M",
        "--dim",
        "2",
        "-k",
        "4",
        "--out",
        p(&x),
        "--centers-out",
        p(&c),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let labels = dir.path().join("labels.npy");
    std::fs::write(&labels, b"an earlier file").unwrap();
    // 2M labels need 8 MB (and 8 more for distances); the limit is 1 MB.
    let o = Command::new("prlimit")
        .arg("--fsize=1000000")
        .arg(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "assign",
            p(&x),
            "--centroids",
            p(&c),
            "--out",
            p(&labels),
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "not killed by SIGXFSZ: {}",
        stderr(&o)
    );
    let err = stderr(&o);
    assert!(err.contains("labels.npy"), "{err}");
    assert!(err.contains("File too large"), "names the OS error: {err}");
    assert_eq!(std::fs::read(&labels).unwrap(), b"an earlier file");
    assert_eq!(
        listing(dir.path()),
        ["c.npy", "labels.npy", "x.npy"],
        "no temporary file left"
    );
}
