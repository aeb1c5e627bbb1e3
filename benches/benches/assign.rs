//! Assignment kernel throughput (points/s, one thread) at the shapes
//! (d, k) = (2, 10), (32, 100), (128, 256), fast path and oracle.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use shoal_kernels::{assign, assign_naive, AssignScratch, Centroids};

fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 20.0 - 10.0
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("assign_1thread");
    g.sample_size(10);
    for (d, k, n) in [
        (2usize, 10usize, 1usize << 20),
        (32, 100, 1 << 16),
        (128, 256, 1 << 14),
    ] {
        let x = rand_vec(n * d, 1);
        let cb = Centroids::new(rand_vec(k * d, 2), d);
        let (mut l, mut dist) = (vec![0u32; n], vec![0f32; n]);
        let mut s = AssignScratch::default();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("fast", format!("d{d}_k{k}")), |b| {
            b.iter(|| assign(&x, &cb, &mut l, &mut dist, &mut s))
        });
        if d <= 32 {
            g.bench_function(BenchmarkId::new("oracle", format!("d{d}_k{k}")), |b| {
                b.iter(|| assign_naive(&x, &cb, &mut l, &mut dist))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
