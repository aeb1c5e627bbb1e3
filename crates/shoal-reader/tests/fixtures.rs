//! Conformance against `../shared/data/fixtures`: files written by numpy,
//! pyarrow and Python's csv module, each with the float32 array a reader must
//! produce (`*.expect.npy`) or the class of error it must report.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use shoal_reader::{open, read_all, OpenOptions};

fn fixtures_dir() -> PathBuf {
    let base = std::env::var_os("SHOAL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    base.join("data/fixtures")
}

/// Independent decoder for the expectation files (numpy's `<f4`, C order,
/// 2-D), so the test does not trust the reader under test.
fn load_expect(path: &Path) -> (Vec<f32>, usize, usize) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..6], b"\x93NUMPY");
    let (hlen, start) = if b[6] == 1 {
        (u16::from_le_bytes([b[8], b[9]]) as usize, 10)
    } else {
        (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12)
    };
    let header = std::str::from_utf8(&b[start..start + hlen]).unwrap();
    assert!(
        header.contains("'<f4'") && header.contains("False"),
        "{header}"
    );
    let shape = &header[header.find("'shape': (").unwrap() + 10..];
    let shape = &shape[..shape.find(')').unwrap()];
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let data: Vec<f32> = b[start + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(data.len(), dims[0] * dims[1]);
    (data, dims[0], dims[1])
}

fn manifest() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(fixtures_dir().join("MANIFEST.json"))
        .expect("../shared/data/fixtures/MANIFEST.json must be beside the checkout");
    serde_json::from_str(&text).unwrap()
}

fn options(entry: &serde_json::Value) -> OpenOptions {
    OpenOptions {
        columns: entry["columns"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()),
        ..Default::default()
    }
}

#[test]
fn readable_fixtures_match_expected_bits() {
    let dir = fixtures_dir();
    let mut checked = 0;
    for e in manifest().iter().filter(|e| e.get("expect").is_some()) {
        let file = e["file"].as_str().unwrap();
        let (want, rows, dim) = load_expect(&dir.join(e["expect"].as_str().unwrap()));
        let src = open(&dir.join(file), &options(e)).unwrap_or_else(|err| panic!("{file}: {err}"));
        assert_eq!(src.info().rows, rows as u64, "{file}");
        assert_eq!(src.info().dim, dim, "{file}");
        assert_eq!(e["rows"].as_u64(), Some(rows as u64));
        for chunk in [1usize, 7, 1000, rows + 5] {
            let got = read_all(src.as_ref(), chunk).unwrap_or_else(|err| panic!("{file}: {err}"));
            assert_eq!(got.len(), want.len(), "{file} chunk {chunk}");
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(
                    g.to_bits(),
                    w.to_bits(),
                    "{file} chunk {chunk} value {i}: {g} vs {w}"
                );
            }
        }
        // Partitions cover the rows in order and read the same values.
        let mut joined = Vec::new();
        let mut next = 0;
        for p in src.partitions() {
            assert_eq!(p.start, next, "{file}: partitions must be contiguous");
            next = p.end;
            let mut r = src.reader(p, 333).unwrap();
            while let Some(b) = r.next_block().unwrap() {
                joined.extend_from_slice(b.data);
            }
        }
        assert_eq!(next, rows as u64);
        assert!(joined
            .iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} readable fixtures found");
}

#[test]
fn broken_fixtures_give_their_error_class() {
    let dir = fixtures_dir();
    let mut checked = 0;
    for e in manifest().iter().filter(|e| e.get("error").is_some()) {
        let file = e["file"].as_str().unwrap();
        let want = e["error"].as_str().unwrap();
        let result = open(&dir.join(file), &options(e)).and_then(|src| read_all(src.as_ref(), 100));
        let err = match result {
            Ok(_) => panic!("{file}: expected a {want} error, read fine"),
            Err(err) => err,
        };
        assert_eq!(err.class().name(), want, "{file}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains(file),
            "{file}: message must name the file: {msg}"
        );
        match file {
            "f32_nan.npy" => {
                assert_eq!(err.row(), Some(17));
                assert_eq!(err.column(), Some("x1"));
            }
            "nulls.parquet" => {
                assert_eq!(err.row(), Some(42));
                assert_eq!(err.column(), Some("x"));
            }
            "ragged.csv" => {
                assert!(msg.contains("line 8"), "{msg}");
                assert_eq!(err.row(), Some(6));
            }
            "non_numeric.csv" => {
                assert!(msg.contains("line 5"), "{msg}");
                assert_eq!(err.column(), Some("z"));
                assert!(msg.contains("abc"));
            }
            _ => {}
        }
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} broken fixtures found");
}

#[test]
fn skip_invalid_drops_bad_rows_and_counts_them() {
    let dir = fixtures_dir();
    let opts = OpenOptions {
        skip_invalid: true,
        ..Default::default()
    };
    let src = open(&dir.join("f32_nan.npy"), &opts).unwrap();
    let mut r = src.reader(0..src.info().rows, 64).unwrap();
    let mut n = 0;
    while let Some(b) = r.next_block().unwrap() {
        assert!(b.data.iter().all(|x| x.is_finite()));
        n += b.rows();
    }
    assert_eq!(r.skipped(), 2);
    assert_eq!(n, 998);

    let opts = OpenOptions {
        skip_invalid: true,
        columns: Some(vec!["x".into(), "y".into()]),
        ..Default::default()
    };
    let src = open(&dir.join("nulls.parquet"), &opts).unwrap();
    let mut r = src.reader(0..src.info().rows, 100).unwrap();
    let mut n = 0;
    while let Some(b) = r.next_block().unwrap() {
        n += b.rows();
    }
    assert_eq!((n, r.skipped()), (999, 1));
}

#[test]
fn raw_f32_without_dim_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.f32");
    std::fs::write(&p, [0u8; 16]).unwrap();
    let err = open(&p, &OpenOptions::default()).unwrap_err();
    assert_eq!(err.class().name(), "usage");
    assert!(err.to_string().contains("--dim"));
    let src = open(
        &p,
        &OpenOptions {
            dim: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((src.info().rows, src.info().dim), (2, 2));
}
