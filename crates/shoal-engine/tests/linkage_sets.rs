//! Hierarchical clustering of files: exact ward on the clustbench sets
//! where ward does well reproduces scipy's ARI (the catalogue's `ari_ward`,
//! computed with scipy's linkage + fcluster(maxclust=k)); the micro-cluster
//! path is recorded against full ward and the reference labels; and on
//! well-separated blobs it recovers the true clusters.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::sync::atomic::AtomicBool;

use common::{clustbench, clustbench_labels, npy_source, shared_data, Labels};
use shoal_engine::hierarchy::{
    cut, label_rows, label_rows_from_ids, linkage, micro_kmeans_config, Reduce,
};
use shoal_engine::kmeans::Algo;
use shoal_engine::{PassConfig, Silent};
use shoal_kernels::hierarchy::{tree::Criterion, Method};
use shoal_kernels::metrics::adjusted_rand_index;
use shoal_reader::Source;

/// The catalogue's scipy ward ARI for `battery/name`.
fn catalogue_ari_ward(battery: &str, name: &str) -> f64 {
    let text = std::fs::read_to_string(shared_data().join("clustbench/catalogue.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "ari_ward").unwrap();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if f[0] == battery && f[1] == name && f[2] == "labels0" {
            return f[col].parse().unwrap();
        }
    }
    panic!("{battery}/{name} not in the catalogue");
}

/// Labels of every row for ward cut into `k` clusters, exactly or through
/// `m` micro-clusters.
fn ward_labels(src: &dyn Source, k: usize, m: Option<usize>) -> Vec<u32> {
    let pass = PassConfig {
        chunk_rows: 1000,
        ..PassConfig::default()
    };
    let memory = 1 << 30;
    let reduce = match m {
        None => Reduce::Exact {
            precision: src.info().native,
        },
        Some(m) => Reduce::MicroClusters {
            m,
            kmeans: micro_kmeans_config(m, Algo::MiniBatch, 7, &pass, memory),
        },
    };
    let cancel = AtomicBool::new(false);
    let mut ids = Labels::default();
    let fit = linkage(
        src,
        Method::Ward,
        &reduce,
        false,
        &pass,
        memory,
        &cancel,
        &Silent,
        Some(&mut ids),
    )
    .unwrap();
    let leaf = cut(&fit.z, &Criterion::MaxClust(k)).unwrap();
    let mut out = Labels::default();
    label_rows(src, &fit, &leaf, &pass, &cancel, &Silent, &mut out).unwrap();
    assert_eq!(out.0.len() as u64, fit.rows);
    if m.is_some() {
        // Labelling from the micro-cluster ids of the k-means' last pass
        // gives the labels of a fresh assignment pass.
        let bytes: Vec<u8> = ids.0.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut again = Labels::default();
        label_rows_from_ids(&mut &bytes[..], &fit, &leaf, &cancel, &mut again).unwrap();
        assert_eq!(again.0, out.0);
    }
    out.0
}

/// ARI over the points the reference does not call noise (label 0).
fn ari_vs_reference(got: &[u32], truth: &[i64]) -> f64 {
    let (a, b): (Vec<i64>, Vec<i64>) = got
        .iter()
        .zip(truth)
        .filter(|(_, &t)| t != 0)
        .map(|(&g, &t)| (g as i64, t))
        .unzip();
    adjusted_rand_index(&a, &b)
}

#[test]
fn exact_ward_matches_scipy_and_micro_clusters_stay_close() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a1", "a2", "a3", "s1", "s2", "s3", "s4", "d31"] {
        let (x, d) = clustbench(&format!("sipu/{name}"));
        let truth = clustbench_labels(&format!("sipu/{name}"), "labels0");
        let k = *truth.iter().max().unwrap() as usize;
        let src = npy_source(dir.path(), &x, d);
        let exact = ward_labels(src.as_ref(), k, None);
        let ari_exact = ari_vs_reference(&exact, &truth);
        let want = catalogue_ari_ward("sipu", name);
        // scipy ran on the f64 text values, shoal on their f32 rounding.
        assert!(
            (ari_exact - want).abs() <= 0.0005,
            "{name}: exact ward ARI {ari_exact:.4}, scipy's {want:.4}"
        );
        let m = (x.len() / d / 10).clamp(10 * k, 1000);
        let micro = ward_labels(src.as_ref(), k, Some(m));
        let a: Vec<i64> = micro.iter().map(|&v| v as i64).collect();
        let b: Vec<i64> = exact.iter().map(|&v| v as i64).collect();
        let ari_micro_full = adjusted_rand_index(&a, &b);
        let ari_micro_ref = ari_vs_reference(&micro, &truth);
        println!(
            "{name}: n {} k {k} | exact ward vs reference {ari_exact:.4} (scipy {want:.4}) | \
             {m} micro-clusters: vs full ward {ari_micro_full:.4}, vs reference {ari_micro_ref:.4}",
            x.len() / d
        );
        assert!(
            ari_micro_ref >= want - 0.1,
            "{name}: micro-cluster ward ARI {ari_micro_ref:.4} is far below full ward's {want:.4}"
        );
    }
}

#[test]
fn micro_clusters_recover_well_separated_blobs() {
    // 12 tight blobs on a grid, 20 000 points each: every row must land in
    // its own blob's cluster.
    let (k, per) = (12usize, 20_000usize);
    let mut x = Vec::with_capacity(k * per * 2);
    let mut truth = Vec::with_capacity(k * per);
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut uni = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..k * per {
        let c = i % k;
        let (cx, cy) = ((c % 4) as f64 * 20.0, (c / 4) as f64 * 20.0);
        // Box–Muller, unit spread.
        let (u, v) = (uni().max(1e-12), uni());
        let r = (-2.0 * u.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * v;
        x.push((cx + r * t.cos()) as f32);
        x.push((cy + r * t.sin()) as f32);
        truth.push(c as i64);
    }
    let dir = tempfile::tempdir().unwrap();
    let src = npy_source(dir.path(), &x, 2);
    let got = ward_labels(src.as_ref(), k, Some(500));
    let a: Vec<i64> = got.iter().map(|&v| v as i64).collect();
    let ari = adjusted_rand_index(&a, &truth);
    assert!(ari > 0.999, "ARI {ari}");
}
