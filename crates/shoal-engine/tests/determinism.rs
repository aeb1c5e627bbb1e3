//! A pass gives bit-identical results whatever the thread count.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::atomic::AtomicBool;

use shoal_engine::{column_stats, PassConfig, Silent};
use shoal_reader::{open, MatrixWriter, OpenOptions, StoreType};

#[test]
fn stats_are_identical_for_1_2_and_4_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (n, d) = (700_000usize, 3usize);
    let mut s = 12345u64;
    let x: Vec<f32> = (0..n * d)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            (s >> 41) as f32 * 1e-3 - 1000.0
        })
        .collect();
    for name in ["p.npy", "p.parquet"] {
        let path = dir.path().join(name);
        let cols: Vec<String> = (0..d).map(|i| format!("x{i}")).collect();
        let mut w = MatrixWriter::create(&path, d, &cols, StoreType::F32, 50_000).unwrap();
        w.write(&x).unwrap();
        w.finish().unwrap();
        let src = open(&path, &OpenOptions::default()).unwrap();
        assert!(
            src.partitions().len() >= 3,
            "{name}: the test needs several partitions"
        );
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                column_stats(
                    src.as_ref(),
                    &PassConfig::default(),
                    &AtomicBool::new(false),
                    &Silent,
                )
                .unwrap()
                .0
            })
        };
        let one = run(1);
        assert_eq!(one.count(), n as u64);
        for t in [2, 4] {
            assert_eq!(run(t), one, "{name}: {t} threads differ from 1");
        }
    }
}

#[test]
fn cancellation_stops_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.npy");
    let mut w =
        MatrixWriter::create(&path, 2, &["a".into(), "b".into()], StoreType::F32, 1000).unwrap();
    w.write(&vec![1.0; 2_000_000]).unwrap();
    w.finish().unwrap();
    let src = open(&path, &OpenOptions::default()).unwrap();
    let cancel = AtomicBool::new(true);
    let r = column_stats(src.as_ref(), &PassConfig::default(), &cancel, &Silent);
    assert!(matches!(r, Err(shoal_engine::EngineError::Cancelled)));
}

/// Later passes skip re-validating partitions an earlier pass found clean,
/// but never one holding an invalid row: it is skipped (or refused) again.
#[test]
fn invalid_rows_are_caught_on_every_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.npy");
    let n = 1_500_000usize; // 3 partitions of 2-D rows
    let mut x = vec![1.0f32; 2 * n];
    x[2 * 1_200_345] = f32::INFINITY;
    let mut w =
        MatrixWriter::create(&path, 2, &["a".into(), "b".into()], StoreType::F32, 1000).unwrap();
    w.write(&x).unwrap();
    w.finish().unwrap();
    let cancel = AtomicBool::new(false);
    let skip = open(
        &path,
        &OpenOptions {
            skip_invalid: true,
            ..Default::default()
        },
    )
    .unwrap();
    let strict = open(&path, &OpenOptions::default()).unwrap();
    for pass in 0..3 {
        let (s, rep) =
            column_stats(skip.as_ref(), &PassConfig::default(), &cancel, &Silent).unwrap();
        assert_eq!((s.count(), rep.skipped), (n as u64 - 1, 1), "pass {pass}");
        let e = column_stats(strict.as_ref(), &PassConfig::default(), &cancel, &Silent)
            .unwrap_err()
            .to_string();
        assert!(e.contains("1200345"), "pass {pass}: {e}");
    }
}
