//! A fit whose passes run partition by partition elsewhere
//! ([`shoal_engine::remote`]) equals the local fit to the bit: here the
//! "workers" are the partitions of the same source held as `Resident`
//! blocks, run in reverse order, every job and partial going through its
//! encoding, as they do between Dask workers and the client.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::atomic::AtomicBool;

use shoal_engine::kmeans::{self as km, Algo, Init, KMeansConfig, KMeansError, ScalingKind};
use shoal_engine::remote::{Job, PartResult, Remote, Resident};
use shoal_engine::{EngineError, Observer, PassConfig, Silent};
use shoal_reader::{SliceSource, Source};

struct Workers {
    parts: Vec<Resident>,
    shape: (u64, usize),
}

impl Workers {
    fn new(src: &dyn Source, chunk_rows: usize) -> Workers {
        let parts = src
            .partitions()
            .into_iter()
            .map(|r| Resident::load(src, r, 0, chunk_rows, &AtomicBool::new(false)).unwrap())
            .collect();
        Workers {
            parts,
            shape: (src.info().rows, src.info().dim),
        }
    }
}

impl Remote for Workers {
    fn shape(&self) -> (u64, usize) {
        self.shape
    }

    fn run(
        &self,
        job: &Job,
        _cancel: &AtomicBool,
        _observer: &dyn Observer,
    ) -> Result<Vec<PartResult>, EngineError> {
        let job = Job::decode(&job.encode()).unwrap();
        // finished in reverse order; handed back in partition order
        let mut done: Vec<(usize, Vec<u8>)> = self
            .parts
            .iter()
            .enumerate()
            .rev()
            .map(|(i, p)| (i, p.run(&job).unwrap().encode()))
            .collect();
        done.sort_by_key(|(i, _)| *i);
        Ok(done
            .iter()
            .map(|(_, b)| PartResult::decode(b).unwrap())
            .collect())
    }
}

/// Overlapping clusters in `d` dimensions with a few far points: enough
/// iterations, relocations and k-means|| rounds to tell any difference.
fn data(n: usize, d: usize) -> Vec<f32> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut u = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .flat_map(|i| {
            let c = (i % 7) as f64;
            let far = if i % 997 == 0 { 40.0 } else { 0.0 };
            (0..d)
                .map(|j| (c * (j as f64 + 1.0) * 0.7 + 3.0 * u() + far) as f32)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_remote_fit_equals_the_local_fit_to_the_bit() {
    let (n, d) = (300_000, 5);
    let x = data(n, d);
    let src = SliceSource::new(&x, d, "X").unwrap();
    assert!(src.partitions().len() > 3);
    let cases = [
        (Algo::Lloyd, Init::KMeansPlusPlus, ScalingKind::None),
        (Algo::Lloyd, Init::KMeansParallel, ScalingKind::None),
        (Algo::Lloyd, Init::Random, ScalingKind::Standardize),
        (Algo::Subsample, Init::KMeansPlusPlus, ScalingKind::Whiten),
    ];
    for (algo, init, scaling) in cases {
        let cfg = KMeansConfig {
            algo,
            k: 12,
            init: init.clone(),
            seed: 11,
            scaling,
            sample_size: Some(20_000),
            pass: PassConfig {
                chunk_rows: 4000,
                ..PassConfig::default()
            },
            ..KMeansConfig::default()
        };
        let cancel = AtomicBool::new(false);
        let local = km::fit(&src, &cfg, &cancel, &Silent, None).unwrap();
        let workers = Workers::new(&src, cfg.pass.chunk_rows);
        let remote = km::fit_remote(&workers, &cfg, &cancel, &Silent).unwrap();
        let what = format!("{algo:?} {init:?} {scaling:?}");
        assert!(
            local.iterations > 2,
            "{what}: {} iterations",
            local.iterations
        );
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&local.centroids), bits(&remote.centroids), "{what}");
        assert_eq!(local.inertia.to_bits(), remote.inertia.to_bits(), "{what}");
        assert_eq!(local.counts, remote.counts, "{what}");
        assert_eq!(local.iterations, remote.iterations, "{what}");
        assert_eq!(local.rows, remote.rows, "{what}");
        assert_eq!(local.relocations, remote.relocations, "{what}");
    }
}

#[test]
fn mini_batch_is_refused_and_a_malformed_partial_is_an_error() {
    let x = data(10_000, 2);
    let src = SliceSource::new(&x, 2, "X").unwrap();
    let workers = Workers::new(&src, 1000);
    let cfg = KMeansConfig {
        algo: Algo::MiniBatch,
        k: 3,
        ..KMeansConfig::default()
    };
    let e = km::fit_remote(&workers, &cfg, &AtomicBool::new(false), &Silent).unwrap_err();
    assert!(matches!(e, KMeansError::Unsupported(_)), "{e}");
    // a partial cut short, or with bytes to spare, does not decode
    let job = Job {
        chunk_rows: 1000,
        dim: 2,
        kind: shoal_engine::remote::JobKind::StatsSample {
            stats: true,
            cap: 100,
            seed: 1,
            rows: 10_000,
        },
    };
    let good = workers.parts[0].run(&job).unwrap().encode();
    assert!(PartResult::decode(&good).is_ok());
    assert!(PartResult::decode(&good[..good.len() - 1]).is_err());
    let mut long = good.clone();
    long.push(0);
    assert!(PartResult::decode(&long).is_err());
    // a job for another chunk size is refused by the partition
    let other = Job {
        chunk_rows: 999,
        ..job
    };
    assert!(workers.parts[0].run(&other).is_err());
}
