//! Seeded, parallel, streaming synthetic point sets: `blobs` (isotropic
//! Gaussian clusters), `spatial` (latitude/longitude around "cities" with
//! Zipf-like sizes plus uniform background noise) and `uniform`.
//!
//! Determinism: rows are produced in fixed blocks of [`BLOCK_ROWS`] rows;
//! block `b` draws from a ChaCha8 stream `b` of the seed, and the centres from
//! a stream of their own. The output therefore depends only on the
//! configuration and the seed, never on the thread count or on how the
//! caller chunks its writes. Memory is one or two waves of blocks, whatever
//! the row count.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use shoal_reader::{LabelWriter, MatrixWriter, StoreType, WriteError};

/// Rows per generation block (the unit of determinism).
pub const BLOCK_ROWS: usize = 1 << 16;

/// Mean Earth radius in km (IUGG), used to turn km offsets into degrees.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;
const KM_PER_DEG: f64 = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;

/// Isotropic Gaussian clusters.
#[derive(Debug, Clone)]
pub struct Blobs {
    pub rows: u64,
    pub dim: usize,
    pub k: usize,
    pub seed: u64,
    /// Standard deviation of every cluster (default 1).
    pub spread: f64,
    /// Centres are uniform in `[-center_box, center_box]^dim` (default 10).
    pub center_box: f64,
    /// Cluster `i` (0-based) has weight `1 / (i + 1)^zipf` (default 0:
    /// equal weights, drawn as before).
    pub zipf: f64,
    /// Fraction of rows that are uniform noise in the centre box (label -1;
    /// default 0).
    pub noise: f64,
}

/// Latitude/longitude points around `k` cities.
#[derive(Debug, Clone)]
pub struct Spatial {
    pub rows: u64,
    pub k: usize,
    pub seed: u64,
    /// Fraction of rows that are uniform background noise (label -1).
    pub noise: f64,
    /// `[min_lat, min_lon, max_lat, max_lon]` in degrees.
    pub bbox: [f64; 4],
    /// City `i` (0-based) has weight `1 / (i + 1)^zipf`.
    pub zipf: f64,
    /// City spreads (standard deviation, km) are uniform in this range.
    pub spread_km: (f64, f64),
}

/// Uniform points in a box.
#[derive(Debug, Clone)]
pub struct Uniform {
    pub rows: u64,
    pub dim: usize,
    pub seed: u64,
    pub half_width: f64,
}

/// One of the generators.
#[derive(Debug, Clone)]
pub enum Generator {
    Blobs(Blobs),
    Spatial(Spatial),
    Uniform(Uniform),
}

/// Configuration errors (reported before anything is written).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GenError {
    #[error("{0}")]
    Invalid(String),
}

impl Blobs {
    pub fn new(rows: u64, dim: usize, k: usize, seed: u64) -> Self {
        Blobs {
            rows,
            dim,
            k,
            seed,
            spread: 1.0,
            center_box: 10.0,
            zipf: 0.0,
            noise: 0.0,
        }
    }
}

impl Spatial {
    /// Defaults: the contiguous United States, 5% noise, Zipf exponent 1.1,
    /// spreads of 1-8 km.
    pub fn new(rows: u64, k: usize, seed: u64) -> Self {
        Spatial {
            rows,
            k,
            seed,
            noise: 0.05,
            bbox: [24.5, -124.8, 49.4, -66.9],
            zipf: 1.1,
            spread_km: (1.0, 8.0),
        }
    }
}

/// Cumulative weights `1 / (i + 1)^z`, normalised to end at 1.
fn zipf_cumulative(k: usize, z: f64) -> Vec<f64> {
    let mut total = 0.0;
    let mut cumulative: Vec<f64> = (0..k)
        .map(|i| {
            total += 1.0 / ((i + 1) as f64).powf(z);
            total
        })
        .collect();
    for c in cumulative.iter_mut() {
        *c /= total;
    }
    cumulative
}

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Precomputed state of a generator: its centres and city weights.
#[derive(Debug, Clone)]
pub struct Plan {
    pub gen: Generator,
    /// Row-major `k x dim` true centres (cities as lat, lon); empty for `uniform`.
    pub centers: Vec<f64>,
    /// Cumulative city weights (spatial), normalised to end at 1.
    cumulative: Vec<f64>,
    /// Per-city spread in km (spatial).
    spreads: Vec<f64>,
}

impl Generator {
    pub fn rows(&self) -> u64 {
        match self {
            Generator::Blobs(b) => b.rows,
            Generator::Spatial(s) => s.rows,
            Generator::Uniform(u) => u.rows,
        }
    }

    pub fn dim(&self) -> usize {
        match self {
            Generator::Blobs(b) => b.dim,
            Generator::Spatial(_) => 2,
            Generator::Uniform(u) => u.dim,
        }
    }

    /// Column names: `x0..x{d-1}`, or `lat, lon`.
    pub fn columns(&self) -> Vec<String> {
        match self {
            Generator::Spatial(_) => vec!["lat".into(), "lon".into()],
            _ => (0..self.dim()).map(|i| format!("x{i}")).collect(),
        }
    }

    fn seed(&self) -> u64 {
        match self {
            Generator::Blobs(b) => b.seed,
            Generator::Spatial(s) => s.seed,
            Generator::Uniform(u) => u.seed,
        }
    }

    /// Checks the configuration and draws the centres.
    pub fn plan(self) -> Result<Plan, GenError> {
        let bad = |m: String| Err(GenError::Invalid(m));
        if self.rows() == 0 {
            return bad("--rows must be at least 1".into());
        }
        if self.dim() == 0 {
            return bad("--dim must be at least 1".into());
        }
        let mut crng = rng(self.seed(), u64::MAX);
        let mut centers = Vec::new();
        let mut cumulative = Vec::new();
        let mut spreads = Vec::new();
        match &self {
            Generator::Blobs(b) => {
                if b.k == 0 {
                    return bad("--k must be at least 1".into());
                }
                if !(b.spread >= 0.0 && b.spread.is_finite()) {
                    return bad("--spread must be a finite number >= 0".into());
                }
                if !(b.center_box > 0.0 && b.center_box.is_finite()) {
                    return bad("--center-box must be a finite number > 0".into());
                }
                if !(b.zipf >= 0.0 && b.zipf.is_finite()) {
                    return bad("--zipf must be a finite number >= 0".into());
                }
                if !(0.0..=1.0).contains(&b.noise) {
                    return bad("--noise must be between 0 and 1".into());
                }
                for _ in 0..b.k * b.dim {
                    // f32 centres, like the peers' generator
                    centers.push(crng.random_range(-b.center_box..b.center_box) as f32 as f64);
                }
                if b.zipf > 0.0 {
                    cumulative = zipf_cumulative(b.k, b.zipf);
                }
            }
            Generator::Spatial(s) => {
                if s.k == 0 {
                    return bad("--k must be at least 1".into());
                }
                if !(0.0..=1.0).contains(&s.noise) {
                    return bad("--noise must be between 0 and 1".into());
                }
                let [la0, lo0, la1, lo1] = s.bbox;
                if !(-90.0..=90.0).contains(&la0)
                    || !(-90.0..=90.0).contains(&la1)
                    || la0 >= la1
                    || lo0 >= lo1
                    || lo0 < -180.0
                    || lo1 > 180.0
                {
                    return bad("--bbox must be MIN_LAT,MIN_LON,MAX_LAT,MAX_LON within [-90,90] x [-180,180]".into());
                }
                if !(s.spread_km.0 > 0.0 && s.spread_km.1 >= s.spread_km.0) {
                    return bad("city spreads must be positive".into());
                }
                for _ in 0..s.k {
                    let lat = crng.random_range(la0..la1);
                    let lon = crng.random_range(lo0..lo1);
                    centers.push(lat);
                    centers.push(lon);
                    spreads.push(crng.random_range(s.spread_km.0..=s.spread_km.1));
                }
                cumulative = zipf_cumulative(s.k, s.zipf);
            }
            Generator::Uniform(u) => {
                if !(u.half_width > 0.0 && u.half_width.is_finite()) {
                    return bad("--half-width must be a finite number > 0".into());
                }
            }
        }
        Ok(Plan {
            gen: self,
            centers,
            cumulative,
            spreads,
        })
    }
}

impl Plan {
    pub fn blocks(&self) -> u64 {
        self.gen.rows().div_ceil(BLOCK_ROWS as u64)
    }

    /// Fills block `b`: `points` (rows x dim) and `labels` (rows; -1 = noise).
    pub fn fill_block(&self, b: u64, points: &mut Vec<f32>, labels: &mut Vec<i32>) {
        let start = b * BLOCK_ROWS as u64;
        let n = (self.gen.rows() - start).min(BLOCK_ROWS as u64) as usize;
        let d = self.gen.dim();
        points.clear();
        labels.clear();
        points.reserve(n * d);
        labels.reserve(n);
        let mut r = rng(self.gen.seed(), b);
        match &self.gen {
            Generator::Blobs(g) if g.zipf > 0.0 || g.noise > 0.0 => {
                for _ in 0..n {
                    if g.noise > 0.0 && r.random::<f64>() < g.noise {
                        labels.push(-1);
                        for _ in 0..d {
                            points.push(r.random_range(-g.center_box..g.center_box) as f32);
                        }
                        continue;
                    }
                    let c = if self.cumulative.is_empty() {
                        r.random_range(0..g.k)
                    } else {
                        let u: f64 = r.random();
                        self.cumulative.partition_point(|&w| w < u).min(g.k - 1)
                    };
                    labels.push(c as i32);
                    let centre = &self.centers[c * d..(c + 1) * d];
                    for &m in centre {
                        let z: f64 = StandardNormal.sample(&mut r);
                        points.push((m + g.spread * z) as f32);
                    }
                }
            }
            Generator::Blobs(g) => {
                for _ in 0..n {
                    let c = r.random_range(0..g.k);
                    labels.push(c as i32);
                    let centre = &self.centers[c * d..(c + 1) * d];
                    for &m in centre {
                        let z: f64 = StandardNormal.sample(&mut r);
                        points.push((m + g.spread * z) as f32);
                    }
                }
            }
            Generator::Spatial(s) => {
                let [la0, lo0, la1, lo1] = s.bbox;
                for _ in 0..n {
                    if r.random::<f64>() < s.noise {
                        labels.push(-1);
                        points.push(r.random_range(la0..la1) as f32);
                        points.push(r.random_range(lo0..lo1) as f32);
                        continue;
                    }
                    let u: f64 = r.random();
                    let c = self.cumulative.partition_point(|&w| w < u).min(s.k - 1);
                    labels.push(c as i32);
                    let (clat, clon) = (self.centers[2 * c], self.centers[2 * c + 1]);
                    let zn: f64 = StandardNormal.sample(&mut r);
                    let ze: f64 = StandardNormal.sample(&mut r);
                    let sigma = self.spreads[c];
                    let lat = (clat + zn * sigma / KM_PER_DEG).clamp(-90.0, 90.0);
                    let coslat = clat.to_radians().cos().max(1e-6);
                    let mut lon = clon + ze * sigma / (KM_PER_DEG * coslat);
                    if lon >= 180.0 {
                        lon -= 360.0;
                    } else if lon < -180.0 {
                        lon += 360.0;
                    }
                    points.push(lat as f32);
                    points.push(lon as f32);
                }
            }
            Generator::Uniform(u) => {
                for _ in 0..n {
                    labels.push(0);
                    for _ in 0..d {
                        points.push(r.random_range(-u.half_width..u.half_width) as f32);
                    }
                }
            }
        }
    }

    /// Generates every row in order and hands each block to `sink`. Blocks
    /// are generated a wave at a time on the rayon pool while the previous
    /// wave is written. Returns `Ok(false)` if `cancel` was set.
    pub fn run<E: Send>(
        &self,
        cancel: &AtomicBool,
        mut sink: impl FnMut(&[f32], &[i32]) -> Result<(), E> + Send,
    ) -> Result<bool, E> {
        let threads = rayon::current_num_threads().max(1);
        // A wave holds up to 2 blocks per thread, capped at ~64 MiB of points.
        let block_bytes = BLOCK_ROWS * self.gen.dim() * 4;
        let wave = (2 * threads).min((64 << 20) / block_bytes.max(1)).max(1) as u64;
        let total = self.blocks();
        let make = |from: u64| -> Vec<(Vec<f32>, Vec<i32>)> {
            (from..(from + wave).min(total))
                .into_par_iter()
                .map(|b| {
                    let (mut p, mut l) = (Vec::new(), Vec::new());
                    self.fill_block(b, &mut p, &mut l);
                    (p, l)
                })
                .collect()
        };
        let mut current = make(0);
        let mut next_start = wave;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Ok(false);
            }
            fn write<E>(
                sink: &mut impl FnMut(&[f32], &[i32]) -> Result<(), E>,
                blocks: &[(Vec<f32>, Vec<i32>)],
            ) -> Result<(), E> {
                blocks.iter().try_for_each(|(p, l)| sink(p, l))
            }
            if next_start >= total {
                write(&mut sink, &current)?;
                return Ok(true);
            }
            let sink_ref = &mut sink;
            let (res, upcoming) = rayon::join(|| write(sink_ref, &current), || make(next_start));
            res?;
            current = upcoming;
            next_start += wave;
        }
    }
}

/// Where and how [`write_files`] writes a generated set.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// The points: `.parquet`, `.npy`, `.f32` (with a `.json` sidecar) or `.csv`.
    pub out: PathBuf,
    /// Every row's true label (-1 for noise), `.npy` or `.parquet`.
    pub labels_out: Option<PathBuf>,
    /// The true centres (`k x dim`, f32), in the points' format.
    pub centers_out: Option<PathBuf>,
    pub store: StoreType,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
}

/// Errors of [`write_files`]: the configuration, or writing.
#[derive(Debug, thiserror::Error)]
pub enum WriteFilesError {
    #[error(transparent)]
    Config(#[from] GenError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("interrupted")]
    Cancelled,
}

/// Generates `gen` into `outs`, streaming: memory is a wave of blocks
/// whatever the row count. `progress` is told of every block's rows. All
/// outputs appear only once everything succeeded; returns the rows written.
pub fn write_files(
    gen: Generator,
    outs: &Outputs,
    cancel: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64, WriteFilesError> {
    let columns = gen.columns();
    let dim = gen.dim();
    for extra in [&outs.labels_out, &outs.centers_out].into_iter().flatten() {
        if extra == &outs.out {
            return Err(GenError::Invalid(format!(
                "{} is given both as the points' output and as another output",
                extra.display()
            ))
            .into());
        }
    }
    if outs.centers_out.is_some() && matches!(gen, Generator::Uniform(_)) {
        return Err(GenError::Invalid("uniform data has no centres to write".into()).into());
    }
    let plan = gen.plan()?;
    let mut writer =
        MatrixWriter::create(&outs.out, dim, &columns, outs.store, outs.row_group_rows)?;
    let mut labels = match &outs.labels_out {
        Some(p) => Some(LabelWriter::create(p, false)?),
        None => None,
    };
    let completed = plan.run(cancel, |pts, labs| -> Result<(), WriteError> {
        writer.write(pts)?;
        if let Some(l) = labels.as_mut() {
            l.write(labs, None)?;
        }
        progress(labs.len() as u64);
        Ok(())
    })?;
    if !completed {
        return Err(WriteFilesError::Cancelled);
    }
    let centers = match &outs.centers_out {
        Some(p) => {
            let mut w =
                MatrixWriter::create(p, dim, &columns, StoreType::F32, outs.row_group_rows)?;
            let c: Vec<f32> = plan.centers.iter().map(|&v| v as f32).collect();
            w.write(&c)?;
            Some(w)
        }
        None => None,
    };
    let written = writer.finish()?;
    if let Some(l) = labels {
        l.finish()?;
    }
    if let Some(w) = centers {
        w.finish()?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(plan: &Plan) -> (Vec<f32>, Vec<i32>) {
        let (mut p, mut l) = (Vec::new(), Vec::new());
        let ok = plan
            .run::<()>(&AtomicBool::new(false), |a, b| {
                p.extend_from_slice(a);
                l.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
        assert!(ok);
        (p, l)
    }

    #[test]
    fn same_seed_same_bytes_for_any_thread_count() {
        let plan = Generator::Blobs(Blobs::new(200_000, 3, 7, 42))
            .plan()
            .unwrap();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let a = one.install(|| collect(&plan));
        let b = three.install(|| collect(&plan));
        assert_eq!(a.0.len(), 600_000);
        assert!(a
            .0
            .iter()
            .zip(&b.0)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
        assert_eq!(a.1, b.1);
        let other = Generator::Blobs(Blobs::new(200_000, 3, 7, 43))
            .plan()
            .unwrap();
        assert_ne!(collect(&other).0, a.0);
    }

    #[test]
    fn blob_means_match_centres() {
        let plan = Generator::Blobs(Blobs::new(300_000, 4, 5, 7))
            .plan()
            .unwrap();
        let (p, l) = collect(&plan);
        let mut sums = [0.0f64; 5 * 4];
        let mut counts = [0usize; 5];
        for (row, &c) in p.chunks(4).zip(&l) {
            counts[c as usize] += 1;
            for j in 0..4 {
                sums[c as usize * 4 + j] += row[j] as f64;
            }
        }
        for c in 0..5 {
            // ~60k points of unit spread: standard error ~0.004
            assert!(counts[c] > 50_000);
            for j in 0..4 {
                let mean = sums[c * 4 + j] / counts[c] as f64;
                assert!((mean - plan.centers[c * 4 + j]).abs() < 0.03);
            }
        }
    }

    #[test]
    fn spatial_points_stay_on_earth_and_near_cities() {
        let mut s = Spatial::new(100_000, 20, 3);
        s.noise = 0.1;
        let plan = Generator::Spatial(s.clone()).plan().unwrap();
        let (p, l) = collect(&plan);
        let noise = l.iter().filter(|&&c| c == -1).count() as f64 / l.len() as f64;
        assert!((noise - 0.1).abs() < 0.01, "noise fraction {noise}");
        // Zipf: city 0 is the most frequent.
        let mut counts = [0usize; 20];
        for &c in &l {
            if c >= 0 {
                counts[c as usize] += 1;
            }
        }
        assert_eq!(
            counts.iter().enumerate().max_by_key(|(_, &n)| n).unwrap().0,
            0
        );
        for (row, &c) in p.chunks(2).zip(&l) {
            assert!((-90.0..=90.0).contains(&row[0]) && (-180.0..180.0).contains(&row[1]));
            if c >= 0 {
                let (la, lo) = (
                    plan.centers[2 * c as usize],
                    plan.centers[2 * c as usize + 1],
                );
                let dn = (row[0] as f64 - la) * KM_PER_DEG;
                let de = (row[1] as f64 - lo) * KM_PER_DEG * la.to_radians().cos();
                assert!(
                    (dn * dn + de * de).sqrt() < 8.0 * 7.0,
                    "point far from its city"
                );
            }
        }
    }

    #[test]
    fn bad_configs_are_rejected() {
        assert!(Generator::Blobs(Blobs::new(0, 2, 3, 0)).plan().is_err());
        assert!(Generator::Blobs(Blobs::new(10, 2, 0, 0)).plan().is_err());
        let mut s = Spatial::new(10, 3, 0);
        s.noise = 1.5;
        assert!(Generator::Spatial(s).plan().is_err());
    }
}
