//! Mini-batch and subsample-then-assign k-means, and the pipeline under
//! small chunks and many partitions: determinism, recovery of known centres,
//! and inertia against full Lloyd and scikit-learn.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::sync::atomic::AtomicBool;

use shoal_engine::kmeans::{fit, Algo, KMeansConfig, KMeansFit, LabelSink};
use shoal_engine::{PassConfig, Silent};
use shoal_reader::{open, MatrixWriter, OpenOptions, Source, StoreType, WriteError};

/// `per` points around each of `centres` (row-major, `d` wide), Gaussian with
/// std `sigma` (Box-Muller on a fixed LCG), interleaved so every region of the
/// file holds every cluster.
fn blobs(centres: &[f32], d: usize, per: usize, sigma: f64, seed: u64) -> Vec<f32> {
    let k = centres.len() / d;
    let mut s = seed | 1;
    let mut u = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut x = Vec::with_capacity(k * per * d);
    for _ in 0..per {
        for c in centres.chunks_exact(d) {
            for &m in c {
                let g = (-2.0 * u().ln()).sqrt() * (2.0 * std::f64::consts::PI * u()).cos();
                x.push((m as f64 + sigma * g) as f32);
            }
        }
    }
    x
}

fn write(dir: &Path, name: &str, x: &[f32], d: usize, group_rows: usize) -> Box<dyn Source> {
    let p = dir.join(name);
    let cols: Vec<String> = (0..d).map(|i| format!("x{i}")).collect();
    let mut w = MatrixWriter::create(&p, d, &cols, StoreType::F32, group_rows).unwrap();
    w.write(x).unwrap();
    w.finish().unwrap();
    open(&p, &OpenOptions::default()).unwrap()
}

#[derive(Default)]
struct Labels(Vec<u32>, Vec<f32>);
impl LabelSink for Labels {
    fn write(&mut self, l: &[u32], d: &[f32]) -> Result<(), WriteError> {
        self.0.extend_from_slice(l);
        self.1.extend_from_slice(d);
        Ok(())
    }
}

fn run(src: &dyn Source, cfg: &KMeansConfig, threads: usize) -> (KMeansFit, Labels) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut l = Labels::default();
        let f = fit(src, cfg, &AtomicBool::new(false), &Silent, Some(&mut l)).unwrap();
        (f, l)
    })
}

/// Eight centres on a grid 20 apart, sigma 1: far better separated than
/// any sampling noise.
fn grid_centres() -> Vec<f32> {
    (0..8)
        .flat_map(|i| [(i % 4) as f32 * 20.0, (i / 4) as f32 * 20.0 - 7.0])
        .collect()
}

/// Every true centre has a fitted centroid within `tol`, one-to-one.
fn assert_recovers(truth: &[f32], fitted: &[f32], d: usize, tol: f64, what: &str) {
    let mut used = vec![false; fitted.len() / d];
    for t in truth.chunks_exact(d) {
        let (j, dist) = fitted
            .chunks_exact(d)
            .enumerate()
            .map(|(j, c)| {
                let e: f64 = t.iter().zip(c).map(|(a, b)| ((a - b) as f64).powi(2)).sum();
                (j, e.sqrt())
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert!(
            dist <= tol,
            "{what}: true centre {t:?} is {dist} from the nearest centroid"
        );
        assert!(!used[j], "{what}: centroid {j} matches two true centres");
        used[j] = true;
    }
}

#[test]
fn minibatch_recovers_known_centres_from_npy_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let truth = grid_centres();
    let x = blobs(&truth, 2, 25_000, 1.0, 11);
    for (name, group) in [("b.npy", 1 << 20), ("b.parquet", 20_000)] {
        let src = write(dir.path(), name, &x, 2, group);
        let cfg = KMeansConfig {
            algo: Algo::MiniBatch,
            k: 8,
            max_iter: 100,
            tol: 0.0,
            n_init: 3,
            ..KMeansConfig::default()
        };
        let (f, l) = run(src.as_ref(), &cfg, 2);
        assert_recovers(&truth, &f.centroids, 2, 0.1, name);
        assert!(f.minibatch_steps.unwrap() > 1);
        // the final pass labels every row, and its counts add up
        assert_eq!(l.0.len(), x.len() / 2);
        assert_eq!(f.counts.iter().sum::<u64>(), (x.len() / 2) as u64);
    }
}

#[test]
fn minibatch_and_subsample_are_identical_across_threads_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let truth = grid_centres();
    let x = blobs(&truth, 2, 6_000, 2.5, 5);
    for (name, group) in [("d.npy", 1 << 20), ("d.parquet", 5_000)] {
        let src = write(dir.path(), name, &x, 2, group);
        for algo in [Algo::MiniBatch, Algo::Subsample] {
            let base = KMeansConfig {
                algo,
                k: 8,
                max_iter: 20,
                tol: 0.0,
                seed: 3,
                sample_size: Some(10_000),
                minibatch: shoal_engine::minibatch::MiniBatchConfig {
                    batch_size: 256,
                    shuffle_rows: Some(4_096),
                    ..Default::default()
                },
                ..KMeansConfig::default()
            };
            let (f1, l1) = run(src.as_ref(), &base, 1);
            for (threads, chunk) in [(2, 1 << 16), (4, 777), (3, 64)] {
                let cfg = KMeansConfig {
                    pass: PassConfig {
                        chunk_rows: chunk,
                        window_per_thread: 1,
                    },
                    ..base.clone()
                };
                let (f, l) = run(src.as_ref(), &cfg, threads);
                let what = format!("{name} {algo:?} {threads} threads, chunks of {chunk}");
                assert_eq!(f.centroids, f1.centroids, "{what}");
                assert_eq!(f.inertia.to_bits(), f1.inertia.to_bits(), "{what}");
                assert_eq!(f.counts, f1.counts, "{what}");
                assert_eq!(l.0, l1.0, "{what}");
                assert_eq!(f.minibatch_steps, f1.minibatch_steps, "{what}");
            }
        }
    }
}

#[test]
fn subsample_is_within_one_percent_of_full_lloyd() {
    let dir = tempfile::tempdir().unwrap();
    let truth = grid_centres();
    // overlapping clusters (sigma 6 against spacing 20), so the sample matters
    let x = blobs(&truth, 2, 40_000, 6.0, 9);
    let src = write(dir.path(), "o.npy", &x, 2, 1 << 20);
    let lloyd = KMeansConfig {
        k: 8,
        n_init: 3,
        ..KMeansConfig::default()
    };
    let (full, _) = run(src.as_ref(), &lloyd, 2);
    let sub = KMeansConfig {
        algo: Algo::Subsample,
        sample_size: Some(20_000), // 1 row in 16
        ..lloyd.clone()
    };
    let (s, _) = run(src.as_ref(), &sub, 2);
    assert_eq!(s.sample_rows, 20_000);
    assert!(
        s.inertia <= 1.01 * full.inertia,
        "subsample {} vs full Lloyd {}",
        s.inertia,
        full.inertia
    );
    // exactly two passes over the data: sample, then assignment
    let data_passes: Vec<&str> = s
        .passes
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| !n.starts_with("init"))
        .collect();
    assert_eq!(data_passes, ["sample", "assign"]);
}

/// `per` rows around each grid centre in 256 dimensions (the grid's two,
/// then zeros): 1 KiB rows, so a small sample is sparse enough in the file
/// to be read by row number.
fn wide_blobs(per: usize, sigma: f64, seed: u64) -> (Vec<f32>, usize) {
    const D: usize = 256;
    let centres: Vec<f32> = grid_centres()
        .chunks_exact(2)
        .flat_map(|c| {
            let mut v = vec![0.0f32; D];
            v[..2].copy_from_slice(c);
            v
        })
        .collect();
    (blobs(&centres, D, per, sigma, seed), D)
}

/// A sample sparse enough in the file, on a source with random access
/// (.npy), is read by row number instead of in a pass. It is the sample a
/// pass over every row draws (Parquet, no random access): the same
/// subsample fit and labels, the same mini-batch initialisation.
#[test]
fn sample_read_by_row_equals_the_sample_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (x, d) = wide_blobs(2_000, 3.0, 5); // 16 000 rows of 1 KiB
    let npy = write(dir.path(), "s.npy", &x, d, 1 << 20);
    let pq = write(dir.path(), "s.parquet", &x, d, 3_000);
    let sub = KMeansConfig {
        algo: Algo::Subsample,
        k: 8,
        sample_size: Some(100),
        ..KMeansConfig::default()
    };
    let (a, la) = run(npy.as_ref(), &sub, 2);
    let (b, lb) = run(pq.as_ref(), &sub, 1);
    let names = |f: &KMeansFit| f.passes.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a)[0], "sample (rows by number)", "{:?}", names(&a));
    assert_eq!(names(&b)[0], "sample", "{:?}", names(&b));
    assert_eq!((a.data_passes(), b.data_passes()), (1, 2));
    assert_eq!(a.sample_rows, 100);
    assert_eq!(a.centroids, b.centroids);
    assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
    assert_eq!(a.counts, b.counts);
    assert_eq!((a.rows, a.skipped_rows), (16_000, 0));
    assert_eq!(la.0, lb.0);

    let mb = KMeansConfig {
        algo: Algo::MiniBatch,
        k: 8,
        minibatch: shoal_engine::minibatch::MiniBatchConfig {
            batch_size: 32,
            ..Default::default()
        },
        tol: 0.0, // (mini-batch's default in the CLI; a tolerance needs the full data's statistics)
        sample_size: Some(100),
        ..KMeansConfig::default()
    };
    let (a, _) = run(npy.as_ref(), &mb, 2);
    let (b, _) = run(pq.as_ref(), &mb, 2);
    assert_eq!(names(&a)[0], "sample (rows by number)");
    assert_eq!(names(&b)[0], "sample");
    assert_eq!(a.sample_rows, b.sample_rows);
    assert_eq!(
        a.sample_inertia.map(f64::to_bits),
        b.sample_inertia.map(f64::to_bits)
    );
}

/// Rows read by number are validated: a bad sampled row stops the run
/// naming it; a bad row outside the sample is named by the assignment
/// pass; with `skip_invalid`, a bad sampled row sends the run back to the
/// pass (which counts it) and a bad row elsewhere is counted by the
/// assignment.
#[test]
fn bad_rows_with_a_sample_read_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let (clean, d) = wide_blobs(2_000, 1.0, 6);
    let n = (clean.len() / d) as u64;
    let cfg = KMeansConfig {
        algo: Algo::Subsample,
        k: 8,
        sample_size: Some(100),
        ..KMeansConfig::default()
    };
    let plan = shoal_kernels::kmeans::Sample::new(100, d, cfg.seed, n)
        .planned(n)
        .unwrap();
    let sampled = plan[plan.len() / 2].1;
    let unsampled = (sampled + 1..n)
        .find(|r| plan.binary_search_by_key(r, |p| p.1).is_err())
        .unwrap();
    for (bad, first) in [(sampled, "sample"), (unsampled, "assign")] {
        let mut x = clean.clone();
        x[d * bad as usize] = f32::NAN;
        let name = format!("b{bad}.npy");
        let src = write(dir.path(), &name, &x, d, 1 << 20);
        let e = fit(src.as_ref(), &cfg, &AtomicBool::new(false), &Silent, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&bad.to_string()) && e.contains("x0"),
            "{first}: {e}"
        );
        let skip = open(
            &dir.path().join(&name),
            &OpenOptions {
                skip_invalid: true,
                ..Default::default()
            },
        )
        .unwrap();
        let (f, l) = run(skip.as_ref(), &cfg, 2);
        assert_eq!((f.rows, f.skipped_rows), (n - 1, 1), "{first}");
        assert_eq!(l.0.len() as u64, n - 1);
        let streamed = f.passes[0].name == "sample";
        assert_eq!(
            streamed,
            first == "sample",
            "{first}: {:?}",
            f.passes[0].name
        );
    }
}

#[test]
fn a_bad_row_in_the_middle_stops_minibatch_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let truth = grid_centres();
    let mut x = blobs(&truth, 2, 5_000, 1.0, 2);
    x[2 * 23_456 + 1] = f32::NAN;
    for (name, group) in [("n.npy", 1 << 20), ("n.parquet", 4_000)] {
        let src = write(dir.path(), name, &x, 2, group);
        let cfg = KMeansConfig {
            algo: Algo::MiniBatch,
            k: 8,
            ..KMeansConfig::default()
        };
        let mut l = Labels::default();
        let e = fit(
            src.as_ref(),
            &cfg,
            &AtomicBool::new(false),
            &Silent,
            Some(&mut l),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("23456") && e.contains("x1"), "{name}: {e}");
    }
}

/// Cancels the run as soon as the mini-batch phase begins.
struct CancelAtMiniBatch<'a>(&'a AtomicBool);
impl shoal_engine::Observer for CancelAtMiniBatch<'_> {
    fn pass_started(&self, p: &shoal_engine::PassStart) {
        if p.name.starts_with("mini-batch") {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

#[test]
fn minibatch_stops_when_cancelled_mid_run() {
    let dir = tempfile::tempdir().unwrap();
    let truth = grid_centres();
    let x = blobs(&truth, 2, 5_000, 1.0, 4);
    for (name, group) in [("c.npy", 1 << 20), ("c.parquet", 3_000)] {
        let src = write(dir.path(), name, &x, 2, group);
        let cfg = KMeansConfig {
            algo: Algo::MiniBatch,
            k: 8,
            ..KMeansConfig::default()
        };
        let cancel = AtomicBool::new(false);
        let mut l = Labels::default();
        let r = fit(
            src.as_ref(),
            &cfg,
            &cancel,
            &CancelAtMiniBatch(&cancel),
            Some(&mut l),
        );
        assert!(
            matches!(
                r,
                Err(shoal_engine::kmeans::KMeansError::Engine(
                    shoal_engine::EngineError::Cancelled
                ))
            ),
            "{name}: {:?}",
            r.map(|f| f.inertia)
        );
        assert!(l.0.is_empty(), "{name}: no labels after a cancelled run");
    }
}

/// Lloyd with per-row bounds (d > 8) searches fewer rows on later passes and
/// returns what Lloyd without them returns, bit for bit, for any thread
/// count and chunk size; partitions several, so bounds are filed by
/// partition.
#[test]
fn lloyd_bounds_change_nothing_but_the_work() {
    if !shoal_kernels::bounds::supported(16) {
        return; // no fused kernel on this machine: nothing to compare
    }
    let dir = tempfile::tempdir().unwrap();
    let d = 16;
    let mut s = 77u64;
    let truth: Vec<f32> = (0..12 * d)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 40.0 - 20.0
        })
        .collect();
    // overlapping blobs, so Lloyd takes a while to settle
    let x = blobs(&truth, d, 25_000, 12.0, 9); // 300k rows, 19 MB
    for (name, group) in [("b.npy", 1 << 20), ("b.parquet", 40_000)] {
        let src = write(dir.path(), name, &x, d, group);
        assert!(src.partitions().len() >= 3, "{name}: needs partitions");
        // k = 10 < 12 blobs: some centroids keep moving for a while
        let base = KMeansConfig {
            k: 10,
            max_iter: 12,
            tol: 0.0,
            seed: 4,
            ..KMeansConfig::default()
        };
        let plain = KMeansConfig {
            bounds: false,
            ..base.clone()
        };
        let (f0, l0) = run(src.as_ref(), &plain, 2);
        assert!(f0.passes.iter().all(|p| p.searched_rows.is_none()));
        for (threads, chunk) in [(1, 1 << 16), (2, 1 << 16), (3, 999)] {
            let cfg = KMeansConfig {
                pass: PassConfig {
                    chunk_rows: chunk,
                    window_per_thread: 1,
                },
                ..base.clone()
            };
            let (f, l) = run(src.as_ref(), &cfg, threads);
            let what = format!("{name}, {threads} threads, chunks of {chunk}");
            assert_eq!(f.centroids, f0.centroids, "{what}");
            assert_eq!(f.inertia.to_bits(), f0.inertia.to_bits(), "{what}");
            assert_eq!(f.counts, f0.counts, "{what}");
            assert_eq!(l.0, l0.0, "{what}");
            assert_eq!(l.1, l0.1, "{what}");
            let searched: Vec<u64> = f.passes.iter().filter_map(|p| p.searched_rows).collect();
            assert_eq!(
                searched.len(),
                13,
                "{what}: 12 iterations and the final pass"
            );
            assert_eq!(searched[0], x.len() as u64 / d as u64, "{what}");
            assert!(
                *searched.last().unwrap() < searched[0] / 4,
                "{what}: {searched:?}"
            );
        }
    }
}

/// `Batches::Stream` draws a `.npy` file's batches as Parquet's are drawn:
/// with the whole file in one partition and one row group, the same rows in
/// the same order give the same fit to the bit; the default draws random
/// rows instead.
#[test]
fn streamed_batches_of_a_npy_file_are_parquets() {
    let dir = tempfile::tempdir().unwrap();
    let x = blobs(&grid_centres(), 2, 6_000, 2.5, 5);
    let npy = write(dir.path(), "s.npy", &x, 2, 1 << 20);
    let pq = write(dir.path(), "s.parquet", &x, 2, 1 << 20);
    let cfg = |batches| KMeansConfig {
        algo: Algo::MiniBatch,
        k: 8,
        max_iter: 20,
        tol: 0.0,
        seed: 3,
        minibatch: shoal_engine::minibatch::MiniBatchConfig {
            batch_size: 256,
            shuffle_rows: Some(4_096),
            batches,
            ..Default::default()
        },
        ..KMeansConfig::default()
    };
    use shoal_engine::minibatch::Batches;
    let (a, la) = run(npy.as_ref(), &cfg(Batches::Stream), 2);
    let (b, lb) = run(pq.as_ref(), &cfg(Batches::Rows), 2);
    let (c, _) = run(npy.as_ref(), &cfg(Batches::Rows), 2);
    let names = |f: &KMeansFit| f.passes.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert!(
        names(&a).contains(&"mini-batch epoch 1".to_string()),
        "{:?}",
        names(&a)
    );
    assert!(
        names(&c).iter().any(|n| n.ends_with(" steps)")),
        "{:?}",
        names(&c)
    );
    assert_eq!(a.minibatch_steps, b.minibatch_steps);
    assert_eq!(a.centroids, b.centroids);
    assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
    assert_eq!(a.counts, b.counts);
    assert_eq!(la.0, lb.0);
    assert_ne!(a.centroids, c.centroids);
}
