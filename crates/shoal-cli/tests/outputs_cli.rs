//! Outputs under pressure: a write that meets the file-size limit (as on a
//! full disk) ends with exit 1 naming the path and the OS error, with the
//! temporary file removed and an earlier file at that path untouched.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::process::Command;

use common::{gen, listing, p, shoal, stderr};

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
    gen(
        &x,
        &[
            "blobs",
            "--rows",
            "2M",
            "--dim",
            "2",
            "-k",
            "4",
            "--centers-out",
            p(&c),
        ],
    );
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

/// A data set and its true centres in `dir`, for `shoal assign`.
fn assign_inputs(dir: &std::path::Path, rows: &str, seed: &str) -> (String, String) {
    let x = dir.join(format!("x{seed}.npy"));
    let c = dir.join(format!("c{seed}.npy"));
    gen(
        &x,
        &[
            "blobs",
            "--rows",
            rows,
            "--dim",
            "2",
            "-k",
            "4",
            "--seed",
            seed,
            "--centers-out",
            p(&c),
        ],
    );
    (p(&x).to_string(), p(&c).to_string())
}

fn assign_to(x: &str, c: &str, out: &std::path::Path) -> std::process::Output {
    shoal(&["assign", x, "--centroids", c, "--out", p(out), "-q"])
}

/// Mounts a tmpfs of `size` (e.g. `1m`) at `dir` with `opts`; false (the
/// test skips, saying what it needs) where this process may not mount.
fn mount_tmpfs(dir: &std::path::Path, opts: &str) -> bool {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", opts, "shoal-test", p(dir)])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: needs to mount a tmpfs (root, as in CI)");
    }
    ok
}

struct Unmount<'a>(&'a std::path::Path);
impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).output();
    }
}

#[test]
fn a_disk_that_fills_while_labels_are_written_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (x, c) = assign_inputs(dir.path(), "2M", "1");
    let full = dir.path().join("small-disk");
    std::fs::create_dir(&full).unwrap();
    // 1 MiB of disk; 2M labels and distances need 16 MB.
    if !mount_tmpfs(&full, "size=1m") {
        return;
    }
    let _unmount = Unmount(&full);
    let labels = full.join("labels.npy");
    std::fs::write(&labels, b"an earlier file").unwrap();
    let o = assign_to(&x, &c, &labels);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(p(&labels)), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(std::fs::read(&labels).unwrap(), b"an earlier file");
    assert_eq!(listing(&full), ["labels.npy"], "no temporary file left");
}

#[test]
fn a_read_only_destination_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (x, c) = assign_inputs(dir.path(), "10k", "1");
    let ro = dir.path().join("read-only");
    std::fs::create_dir(&ro).unwrap();
    // root writes through permission bits: a read-only mount it cannot.
    if !mount_tmpfs(&ro, "size=1m,ro") {
        return;
    }
    let _unmount = Unmount(&ro);
    let labels = ro.join("labels.npy");
    let o = assign_to(&x, &c, &labels);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(p(&labels)), "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(listing(&ro).is_empty());
}

#[test]
fn an_output_directory_removed_during_a_fit_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("u.npy");
    gen(&data, &["uniform", "--rows", "300k", "--dim", "4"]);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (m, l) = (out.join("model.json"), out.join("labels.npy"));
    let ck = dir.path().join("fit.ckpt");
    let child = common::long_fit_started(&data, &m, &l, &ck);
    // The labels' temporary file is open in `out`; the directory goes.
    std::fs::remove_dir_all(&out).unwrap();
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
    assert!(err.contains(p(&out)), "names the output: {err}");
    assert!(!out.exists(), "nothing recreated it");
}

#[test]
fn two_processes_writing_one_output_leave_one_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    // Two different label files of different lengths.
    let (x1, c1) = assign_inputs(dir.path(), "400k", "1");
    let (x2, c2) = assign_inputs(dir.path(), "300k", "2");
    let (want1, want2) = (dir.path().join("w1.npy"), dir.path().join("w2.npy"));
    assert!(assign_to(&x1, &c1, &want1).status.success());
    assert!(assign_to(&x2, &c2, &want2).status.success());
    let (want1, want2) = (
        std::fs::read(&want1).unwrap(),
        std::fs::read(&want2).unwrap(),
    );
    assert_ne!(want1, want2);
    let shared = dir.path().join("labels.npy");
    for round in 0..4 {
        let spawn = |x: &str, c: &str| {
            Command::new(env!("CARGO_BIN_EXE_shoal"))
                .args(["assign", x, "--centroids", c, "--out", p(&shared), "-q"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (spawn(&x1, &c1), spawn(&x2, &c2));
        assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
        let got = std::fs::read(&shared).unwrap();
        assert!(
            got == want1 || got == want2,
            "round {round}: the file is neither writer's whole output ({} bytes)",
            got.len()
        );
    }
    assert!(
        listing(dir.path()).iter().all(|f| !f.ends_with(".tmp")),
        "{:?}",
        listing(dir.path())
    );
}
