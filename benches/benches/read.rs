//! Micro-benchmarks of the reader and the first kernel: a read pass over
//! each format (npy zero-copy, npy f64 conversion, Parquet, CSV) and the
//! column-statistics update. Throughput in f32 bytes per second.

use std::sync::atomic::AtomicBool;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shoal_reader::{open, MatrixWriter, OpenOptions, Source, StoreType};

const ROWS: usize = 1 << 20;
const DIM: usize = 4;

fn data() -> Vec<f32> {
    let mut s = 7u64;
    (0..ROWS * DIM)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            (s >> 40) as f32 * 1e-4
        })
        .collect()
}

fn pass(src: &dyn Source) -> f64 {
    let mut r = src.reader(0..src.info().rows, 1 << 16).expect("reader");
    let mut acc = 0.0f64;
    while let Some(b) = r.next_block().expect("block") {
        acc += b.data[0] as f64;
    }
    acc
}

fn bench_read(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let x = data();
    let cols: Vec<String> = (0..DIM).map(|i| format!("x{i}")).collect();
    let mut g = c.benchmark_group("read_pass_1Mx4");
    g.throughput(Throughput::Bytes((ROWS * DIM * 4) as u64));
    g.sample_size(10);
    for (name, store) in [
        ("npy_f32.npy", StoreType::F32),
        ("npy_f64.npy", StoreType::F64),
        ("pq_f32.parquet", StoreType::F32),
    ] {
        let p = dir.path().join(name);
        let mut w = MatrixWriter::create(&p, DIM, &cols, store, 1 << 18).expect("writer");
        w.write(&x).expect("write");
        w.finish().expect("finish");
        let src = open(&p, &OpenOptions::default()).expect("open");
        g.bench_function(name, |b| b.iter(|| pass(src.as_ref())));
    }
    let csv = dir.path().join("p.csv");
    let mut text = String::from("x0,x1,x2,x3\n");
    for r in x.chunks(DIM).take(ROWS / 8) {
        text.push_str(&format!("{},{},{},{}\n", r[0], r[1], r[2], r[3]));
    }
    std::fs::write(&csv, text).expect("csv");
    let src = open(&csv, &OpenOptions::default()).expect("open csv");
    g.throughput(Throughput::Bytes((ROWS / 8 * DIM * 4) as u64));
    g.bench_function("csv_128k_rows", |b| b.iter(|| pass(src.as_ref())));
    g.finish();

    let mut g = c.benchmark_group("kernels");
    g.throughput(Throughput::Bytes((ROWS * DIM * 4) as u64));
    g.bench_function("column_stats_update_1Mx4", |b| {
        b.iter(|| {
            let mut s = shoal_kernels::ColumnStats::new(DIM);
            s.update(&x);
            s.count()
        })
    });
    let p = dir.path().join("npy_f32.npy");
    let src = open(&p, &OpenOptions::default()).expect("open");
    g.bench_function("engine_stats_pass_1Mx4", |b| {
        b.iter(|| {
            shoal_engine::column_stats(
                src.as_ref(),
                &shoal_engine::PassConfig::default(),
                &AtomicBool::new(false),
                &shoal_engine::Silent,
            )
            .expect("pass")
            .0
            .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_read);
criterion_main!(benches);
