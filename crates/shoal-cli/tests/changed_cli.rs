//! A file changed by another process while `shoal fit` iterates over it
//! ends the fit with exit 1 and a message saying what happened; no model or
//! labels are written: a `.f32` file rewritten in place with the same size
//! (no short read to notice), and a Parquet file cut short (whose next pages
//! fail to decode: the change is reported, not the decoder's complaint).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::time::Duration;

use common::{gen, listing, long_fit_started, stderr};

/// Starts a long fit of a new `file`, waits for its first checkpoint (the
/// iterations have begun), applies `change` to the file, checks the fit
/// failed with exit 1 and wrote nothing, and returns its stderr.
fn fit_changed_under(file: &str, change: impl FnOnce(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let data = d(file);
    gen(
        &data,
        &[
            "uniform",
            "--rows",
            "300k",
            "--dim",
            "4",
            "--row-group-rows",
            "20000",
        ],
    );
    let (m, l, ck) = (d("model.json"), d("labels.npy"), d("fit.ckpt"));
    let child = long_fit_started(&data, &m, &l, &ck);
    change(&data);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(file), "{err}");
    assert!(!m.exists() && !l.exists(), "{:?}", listing(dir.path()));
    assert!(
        listing(dir.path()).iter().all(|f| !f.ends_with(".tmp")),
        "{:?}",
        listing(dir.path())
    );
    err
}

#[test]
fn a_file_rewritten_during_a_fit_ends_it_without_outputs() {
    // Another program rewrites a value in place: same size, new time.
    let err = fit_changed_under("data.f32", |data| {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(data).unwrap();
        f.seek(SeekFrom::Start(4000)).unwrap();
        f.write_all(&1.0e6f32.to_le_bytes()).unwrap();
        f.set_modified(std::time::SystemTime::now() + Duration::from_secs(2))
            .unwrap();
    });
    assert!(err.contains("was rewritten in place"), "{err}");
}

#[test]
fn a_parquet_file_cut_short_during_a_fit_is_named_as_such() {
    let err = fit_changed_under("data.parquet", |data| {
        let len = std::fs::metadata(data).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(data).unwrap();
        f.set_len(len / 2).unwrap();
    });
    assert!(err.contains("shrank from"), "{err}");
}
