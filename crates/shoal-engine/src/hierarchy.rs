//! Hierarchical clustering of a source: exact linkage of all rows in memory,
//! or — beyond one machine's n² — linkage of weighted micro-clusters (or of
//! a uniform sample) with every row labelled through its nearest
//! micro-centroid (or sample point) in one more streaming pass.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use shoal_kernels::hierarchy::{
    condensed, condensed_bytes, olo, tree, vector, HierarchyError, Merge, Method,
};
use shoal_kernels::kmeans::Sample;
use shoal_kernels::{Centroids, Real};
use shoal_reader::{LabelWriter, NpyWriter, Points, Precision, Source, WriteError};

use crate::kmeans::{
    fit, lloyd_pass, Algo, KMeansConfig, KMeansError, KMeansFit, LabelSink, PassTiming, Scaling,
};
use crate::minibatch::MiniBatchConfig;
use crate::{run_pass, EngineError, Observer, PassConfig, PassStart};

/// Errors of hierarchical clustering.
#[derive(Debug, thiserror::Error)]
pub enum LinkageError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    KMeans(#[from] KMeansError),
    #[error(transparent)]
    Hierarchy(#[from] HierarchyError),
    #[error("writing labels: {0}")]
    Write(#[from] WriteError),
    #[error("cannot allocate the distance matrix: {0}")]
    NoMemory(String),
    #[error("reading the scratch file of micro-cluster ids: {0}")]
    Scratch(String),
    /// The in-memory work would not fit in the budget.
    #[error("{what} for {n} observations needs about {} MiB, more than --memory {} MiB; {hint}", need >> 20, budget >> 20)]
    TooBig {
        what: String,
        n: usize,
        need: u64,
        budget: u64,
        hint: String,
    },
}

/// How rows reach the linkage.
#[derive(Debug, Clone)]
pub enum Reduce {
    /// Every row is a leaf, read and linked in `precision` (f64 gives
    /// scipy's tree on float64 input to the bit).
    Exact { precision: Precision },
    /// k-means to `m` micro-clusters; their centroids are the leaves, their
    /// sizes the initial weights.
    MicroClusters { m: usize, kmeans: KMeansConfig },
    /// A seeded uniform sample of `m` rows are the leaves (unweighted).
    Sample { m: usize, seed: u64 },
}

/// The k-means that reduces a file to `m` micro-clusters: mini-batch
/// (scikit-learn's defaults, with batches of at least 2m rows so every
/// centre is fed) or Lloyd.
pub fn micro_kmeans_config(
    m: usize,
    algo: Algo,
    seed: u64,
    pass: &PassConfig,
    memory: u64,
) -> KMeansConfig {
    KMeansConfig {
        algo,
        k: m,
        seed,
        max_iter: if algo == Algo::MiniBatch { 100 } else { 300 },
        tol: if algo == Algo::MiniBatch { 0.0 } else { 1e-4 },
        pass: pass.clone(),
        minibatch: MiniBatchConfig {
            batch_size: (2 * m).max(1024),
            ..MiniBatchConfig::default()
        },
        memory,
        ..KMeansConfig::default()
    }
}

/// How an exact linkage is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkageAlgorithm {
    /// scipy's algorithm on the condensed distance matrix (n(n-1)/2
    /// doubles): scipy's arithmetic, so its tie-breaking too.
    Matrix,
    /// From the observations in O(n·d) (`single`, `ward`, `centroid`,
    /// `median`): the same tree up to rounding, but where distances tie
    /// the last bits of the arithmetic can break the tie otherwise.
    Vector,
}

impl LinkageAlgorithm {
    pub fn name(self) -> &'static str {
        match self {
            LinkageAlgorithm::Matrix => "matrix",
            LinkageAlgorithm::Vector => "vector",
        }
    }

    /// The algorithm for `method` on `n` rows: the matrix when the method
    /// needs it, or when `prefer_matrix` (f64 linkage, which promises
    /// scipy's answer to the bit) and it fits in `memory`.
    pub fn choose(
        n: usize,
        dim: usize,
        method: Method,
        optimal_ordering: bool,
        prefer_matrix: bool,
        memory: u64,
    ) -> LinkageAlgorithm {
        if !method.works_on_vectors()
            || (prefer_matrix
                && exact_need(n, dim, method, optimal_ordering, LinkageAlgorithm::Matrix) <= memory)
        {
            LinkageAlgorithm::Matrix
        } else {
            LinkageAlgorithm::Vector
        }
    }
}

/// Bytes the exact linkage of `n` rows of `dim` values needs in memory,
/// beyond the rows themselves.
pub fn exact_need(
    n: usize,
    dim: usize,
    method: Method,
    optimal_ordering: bool,
    algorithm: LinkageAlgorithm,
) -> u64 {
    let n64 = n as u128;
    let mut need: u128 = if method.works_on_vectors() && algorithm == LinkageAlgorithm::Vector {
        // f64 centres + per-cluster scratch.
        n64 * dim as u128 * 8 + n64 * 32
    } else {
        condensed_bytes(n) + n64 * 32
    };
    if optimal_ordering {
        need += condensed_bytes(n) + olo::memory_bytes(n);
    }
    need.min(u64::MAX as u128) as u64
}

/// Linkage of in-memory points (`n x dim`) by `algorithm`, refusing when
/// the work would not fit in `memory` bytes.
pub fn linkage_points<T: Real>(
    data: &[T],
    dim: usize,
    method: Method,
    weights: Option<&[f64]>,
    optimal_ordering: bool,
    algorithm: LinkageAlgorithm,
    memory: u64,
) -> Result<Vec<Merge>, LinkageError> {
    let n = data.len() / dim;
    let need = exact_need(n, dim, method, optimal_ordering, algorithm);
    if need > memory {
        let what = if optimal_ordering {
            format!("{method} linkage with optimal leaf ordering (an n x n table)")
        } else if algorithm == LinkageAlgorithm::Vector {
            format!("{method} linkage")
        } else {
            format!("{method} linkage (a condensed distance matrix of n(n-1)/2 doubles)")
        };
        return Err(LinkageError::TooBig {
            what,
            n,
            need,
            budget: memory,
            hint: format!(
                "raise --memory to at least {} MiB, or cluster --micro-clusters M first",
                (need >> 20) + 1
            ),
        });
    }
    let mut z = if method.works_on_vectors() && algorithm == LinkageAlgorithm::Vector {
        vector::linkage(data, dim, method, weights)?
    } else {
        condensed::linkage(
            condensed::pdist(data, dim).map_err(no_memory)?,
            n,
            method,
            weights,
        )?
    };
    if optimal_ordering {
        z = olo::optimal_leaf_ordering(&z, &condensed::pdist(data, dim).map_err(no_memory)?);
    }
    Ok(z)
}

fn no_memory(e: std::io::Error) -> LinkageError {
    LinkageError::NoMemory(e.to_string())
}

/// The outcome of [`linkage`].
#[derive(Debug, Clone)]
pub struct LinkageFit {
    pub z: Vec<Merge>,
    pub method: Method,
    /// Rows of the input.
    pub rows: u64,
    pub dim: usize,
    /// The leaves when they are not the rows: micro-centroids or sample
    /// points (`leaves x dim`, input units), and micro-cluster sizes.
    pub codebook: Option<Vec<f32>>,
    pub weights: Option<Vec<u64>>,
    /// The leaves' rows for an exact linkage, in the precision linked.
    pub points: Option<Points>,
    pub kmeans: Option<KMeansFit>,
    /// Micro-cluster index -> leaf (empty micro-clusters have no leaf).
    pub micro_to_leaf: Option<Vec<u32>>,
    pub passes: Vec<PassTiming>,
    /// Seconds spent building the tree itself.
    pub linkage_seconds: f64,
    pub algorithm: LinkageAlgorithm,
}

impl LinkageFit {
    pub fn leaves(&self) -> usize {
        self.z.len() + 1
    }
}

/// Builds the tree for `source` as `reduce` says. With micro-clusters and
/// `micro_ids`, the k-means' final pass also streams every row's
/// micro-cluster index there (for [`label_rows_from_ids`], which then
/// labels the rows without a second assignment pass).
#[allow(clippy::too_many_arguments)]
pub fn linkage(
    source: &dyn Source,
    method: Method,
    reduce: &Reduce,
    optimal_ordering: bool,
    pass: &PassConfig,
    memory: u64,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    micro_ids: Option<&mut dyn LabelSink>,
) -> Result<LinkageFit, LinkageError> {
    let info = source.info().clone();
    let dim = info.dim;
    let mut passes = Vec::new();
    let mut micro_to_leaf = None;
    let (leaves_x, weights, kfit, rows) = match reduce {
        Reduce::Exact { precision } => {
            let n = info.rows as usize;
            let rows_bytes = info.rows * dim as u64 * precision.bytes();
            let algorithm = LinkageAlgorithm::choose(
                n,
                dim,
                method,
                optimal_ordering,
                *precision == Precision::F64,
                memory.saturating_sub(rows_bytes),
            );
            let need = exact_need(n, dim, method, optimal_ordering, algorithm) + rows_bytes;
            if need > memory {
                // Same message as linkage_points, before reading anything.
                return Err(LinkageError::TooBig {
                    what: format!("exact {method} linkage of every row"),
                    n,
                    need,
                    budget: memory,
                    hint: format!(
                        "raise --memory to at least {} MiB, or use --micro-clusters M or --sample M",
                        (need >> 20) + 1
                    ),
                });
            }
            observer.pass_started(&PassStart {
                name: "read".into(),
                index: 1,
                max_passes: Some(1),
                rows: info.rows,
                inertia: None,
            });
            let start = Instant::now();
            let x = Points::read(source, *precision, pass.chunk_rows).map_err(EngineError::Read)?;
            passes.push(PassTiming {
                name: "read".into(),
                seconds: start.elapsed().as_secs_f64(),
                rows: (x.len() / dim) as u64,
                peak_rss: crate::peak_rss(),
                over_data: true,
                searched_rows: None,
            });
            let rows = (x.len() / dim) as u64;
            (x, None, None, rows)
        }
        Reduce::MicroClusters { m, kmeans } => {
            let mut cfg = kmeans.clone();
            cfg.k = *m;
            let f = fit(source, &cfg, cancel, observer, micro_ids)?;
            passes.extend(f.passes.iter().cloned());
            let (x, w, to_leaf) = micro_leaves(&f);
            micro_to_leaf = Some(to_leaf);
            let rows = f.rows;
            (Points::F32(x), Some(w), Some(f), rows)
        }
        Reduce::Sample { m, seed } => {
            observer.pass_started(&PassStart {
                name: "sample".into(),
                index: 1,
                max_passes: Some(2),
                rows: info.rows,
                inertia: None,
            });
            let cap = (*m as u64).min(info.rows) as usize;
            let (sample, rep) = run_pass(
                source,
                pass,
                cancel,
                observer,
                || Sample::new(cap, dim, *seed, info.rows),
                |s, b| s.update(b.data, b.first_row),
                |a, b| a.merge(&b),
            )?;
            passes.push(PassTiming::new("sample", &rep));
            (Points::F32(sample.finish()), None, None, rep.rows)
        }
    };
    let exact = matches!(reduce, Reduce::Exact { .. });
    // The rows are already in memory; only the linkage's own needs count.
    let budget = match exact {
        true => memory.saturating_sub(leaves_x.bytes()),
        false => memory,
    };
    tree(
        Leaves {
            x: leaves_x,
            weights,
            kmeans: kfit,
            micro_to_leaf,
            rows,
            exact,
        },
        dim,
        method,
        optimal_ordering,
        budget,
        passes,
    )
}

/// The leaves a micro-cluster fit gives: the centroids of its non-empty
/// clusters (empty ones carry no rows: dropped), their sizes, and
/// micro-cluster index -> leaf.
fn micro_leaves(f: &KMeansFit) -> (Vec<f32>, Vec<u64>, Vec<u32>) {
    let dim = f.dim;
    let mut x = Vec::new();
    let mut w = Vec::new();
    let mut to_leaf = vec![u32::MAX; f.counts.len()];
    for (j, &c) in f.counts.iter().enumerate() {
        if c > 0 {
            to_leaf[j] = w.len() as u32;
            x.extend_from_slice(&f.centroids[j * dim..(j + 1) * dim]);
            w.push(c);
        }
    }
    (x, w, to_leaf)
}

/// The tree over micro-clusters fitted elsewhere (by
/// [`crate::kmeans::fit_remote`], on Dask): what [`linkage`] builds with
/// [`Reduce::MicroClusters`] once its k-means is done.
pub fn linkage_of_micro(
    f: KMeansFit,
    method: Method,
    optimal_ordering: bool,
    memory: u64,
) -> Result<LinkageFit, LinkageError> {
    let (x, w, to_leaf) = micro_leaves(&f);
    let (rows, dim, passes) = (f.rows, f.dim, f.passes.clone());
    tree(
        Leaves {
            x: Points::F32(x),
            weights: Some(w),
            kmeans: Some(f),
            micro_to_leaf: Some(to_leaf),
            rows,
            exact: false,
        },
        dim,
        method,
        optimal_ordering,
        memory,
        passes,
    )
}

/// What a tree is built over.
struct Leaves {
    x: Points,
    weights: Option<Vec<u64>>,
    kmeans: Option<KMeansFit>,
    micro_to_leaf: Option<Vec<u32>>,
    /// Rows of the input.
    rows: u64,
    /// The leaves are the rows.
    exact: bool,
}

/// Links `leaves` within `budget` bytes.
fn tree(
    leaves: Leaves,
    dim: usize,
    method: Method,
    optimal_ordering: bool,
    budget: u64,
    passes: Vec<PassTiming>,
) -> Result<LinkageFit, LinkageError> {
    let Leaves {
        x: leaves_x,
        weights,
        kmeans: kfit,
        micro_to_leaf,
        rows,
        exact,
    } = leaves;
    let n = leaves_x.len() / dim;
    if n < 2 {
        return Err(HierarchyError::TooFew(n).into());
    }
    let wf: Option<Vec<f64>> = weights
        .as_ref()
        .map(|w: &Vec<u64>| w.iter().map(|&c| c as f64).collect());
    let start = Instant::now();
    let algorithm = LinkageAlgorithm::choose(
        n,
        dim,
        method,
        optimal_ordering,
        leaves_x.precision() == Precision::F64,
        budget,
    );
    let w = wf.as_deref();
    let z = match &leaves_x {
        Points::F32(x) => linkage_points(x, dim, method, w, optimal_ordering, algorithm, budget),
        Points::F64(x) => linkage_points(x, dim, method, w, optimal_ordering, algorithm, budget),
    }?;
    let linkage_seconds = start.elapsed().as_secs_f64();
    Ok(LinkageFit {
        z,
        method,
        rows,
        dim,
        codebook: (!exact).then(|| leaves_x.to_f32()),
        weights,
        points: exact.then_some(leaves_x),
        kmeans: kfit,
        micro_to_leaf,
        passes,
        linkage_seconds,
        algorithm,
    })
}

/// Labels every row from the micro-cluster indices streamed by
/// [`linkage`] (`ids`: little-endian u32, one per row, in input order),
/// through `leaf_labels` — a sequential read instead of an assignment pass.
pub fn label_rows_from_ids(
    ids: &mut dyn std::io::Read,
    fit: &LinkageFit,
    leaf_labels: &[u32],
    cancel: &AtomicBool,
    sink: &mut dyn LabelSink,
) -> Result<(), LinkageError> {
    let to_leaf = fit.micro_to_leaf.as_deref().unwrap_or(&[]);
    const CHUNK: usize = 1 << 16;
    let mut bytes = vec![0u8; CHUNK * 4];
    let mut labels = Vec::with_capacity(CHUNK);
    let zeros = vec![0f32; CHUNK];
    let mut left = fit.rows;
    while left > 0 {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(EngineError::Cancelled.into());
        }
        let take = (left as usize).min(CHUNK);
        ids.read_exact(&mut bytes[..take * 4])
            .map_err(|e| LinkageError::Scratch(e.to_string()))?;
        labels.clear();
        for v in bytes[..take * 4].chunks_exact(4) {
            let micro = u32::from_le_bytes([v[0], v[1], v[2], v[3]]) as usize;
            let leaf = to_leaf.get(micro).copied().unwrap_or(u32::MAX);
            // A row's micro-cluster is never empty; guard anyway.
            labels.push(leaf_labels.get(leaf as usize).copied().unwrap_or(0));
        }
        sink.write(&labels, &zeros[..take])?;
        left -= take as u64;
    }
    Ok(())
}

/// Maps leaf labels to labels of rows, as a [`LabelSink`] adaptor.
struct MapSink<'a> {
    map: &'a [u32],
    inner: &'a mut dyn LabelSink,
    buf: Vec<u32>,
}

impl LabelSink for MapSink<'_> {
    fn write(&mut self, labels: &[u32], dist2: &[f32]) -> Result<(), WriteError> {
        self.buf.clear();
        self.buf
            .extend(labels.iter().map(|&l| self.map[l as usize]));
        self.inner.write(&self.buf, dist2)
    }
}

/// Writes the flat label (`leaf_labels`, one per leaf) of every row of
/// `source` to `sink`, in input order. For an exact linkage the leaves are
/// the rows; otherwise every row takes the label of its nearest leaf
/// (micro-centroid or sample point), found in one streaming pass.
pub fn label_rows(
    source: &dyn Source,
    fit: &LinkageFit,
    leaf_labels: &[u32],
    pass: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    sink: &mut dyn LabelSink,
) -> Result<Option<PassTiming>, LinkageError> {
    match &fit.codebook {
        None => {
            let zeros = vec![0f32; leaf_labels.len()];
            for (l, d) in leaf_labels.chunks(1 << 16).zip(zeros.chunks(1 << 16)) {
                sink.write(l, d)?;
            }
            Ok(None)
        }
        Some(cb) => {
            observer.pass_started(&PassStart {
                name: "label".into(),
                index: fit.passes.len() + 1,
                max_passes: None,
                rows: fit.rows,
                inertia: None,
            });
            label_rows_by_leaves(
                source,
                cb,
                fit.dim,
                leaf_labels,
                pass,
                cancel,
                observer,
                sink,
            )
            .map(Some)
        }
    }
}

/// Writes to `sink` the label (`leaf_labels`) of the nearest of `leaves`
/// (`n x dim`) for every row of `source`, in input order: one pass.
#[allow(clippy::too_many_arguments)]
pub fn label_rows_by_leaves(
    source: &dyn Source,
    leaves: &[f32],
    dim: usize,
    leaf_labels: &[u32],
    pass: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    sink: &mut dyn LabelSink,
) -> Result<PassTiming, LinkageError> {
    let c = Centroids::new(leaves.to_vec(), dim);
    if leaf_labels.len() != c.k() {
        return Err(HierarchyError::Parameter(format!(
            "{} leaf labels for {} leaves",
            leaf_labels.len(),
            c.k()
        ))
        .into());
    }
    let mut map = MapSink {
        map: leaf_labels,
        inner: sink,
        buf: Vec::new(),
    };
    let (_, rep) = lloyd_pass(
        source,
        pass,
        &Scaling::identity(dim),
        &c,
        cancel,
        observer,
        Some(&mut map as &mut dyn LabelSink),
    )?;
    Ok(PassTiming::new("label", &rep))
}

/// Flat labels of the leaves of `z` (1-based, scipy's numbering).
pub fn cut(z: &[Merge], criterion: &tree::Criterion) -> Result<Vec<u32>, LinkageError> {
    Ok(tree::fcluster(z, criterion)?)
}

/// Flat labels (1..k, scipy's numbering) to a `.npy` or `.parquet` file,
/// counting each cluster's rows as they pass.
#[derive(Debug)]
pub struct FlatLabels {
    out: LabelWriter,
    /// `sizes[l]`: rows labelled `l` (index 0 unused).
    sizes: Vec<u64>,
    buf: Vec<i32>,
}

impl FlatLabels {
    pub fn create(path: &Path) -> Result<FlatLabels, WriteError> {
        Ok(FlatLabels {
            out: LabelWriter::create(path, false)?,
            sizes: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// Rows in each flat cluster 1..=k, in label order.
    pub fn sizes(&self) -> Vec<u64> {
        self.sizes.iter().skip(1).copied().collect()
    }

    /// Completes the file and renames it into place.
    pub fn finish(self) -> Result<u64, WriteError> {
        self.out.finish()
    }
}

impl LabelSink for FlatLabels {
    fn write(&mut self, labels: &[u32], _dist2: &[f32]) -> Result<(), WriteError> {
        self.buf.clear();
        for &l in labels {
            let l = l as usize;
            if l >= self.sizes.len() {
                self.sizes.resize(l + 1, 0);
            }
            self.sizes[l] += 1;
            self.buf.push(l as i32);
        }
        self.out.write(&self.buf, None)
    }
}

/// Micro-cluster ids of every row, little-endian u32, to a scratch file
/// (plain reads and writes: no mapping, so the resident set stays small).
struct IdScratch {
    out: BufWriter<std::fs::File>,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl IdScratch {
    /// A scratch file in a fresh directory inside `dir` (beside the labels,
    /// so it is on the disk that has room for them).
    fn create(dir: &Path) -> Result<IdScratch, LinkageError> {
        let scratch = |e: std::io::Error| LinkageError::Scratch(format!("{}: {e}", dir.display()));
        let tmp = tempfile::Builder::new()
            .prefix(".shoal-micro-")
            .tempdir_in(dir)
            .map_err(scratch)?;
        let path = tmp.path().join("ids.u32");
        let f = std::fs::File::create(&path).map_err(scratch)?;
        Ok(IdScratch {
            out: BufWriter::with_capacity(1 << 20, f),
            path,
            _dir: tmp,
        })
    }
}

impl LabelSink for IdScratch {
    fn write(&mut self, labels: &[u32], _dist2: &[f32]) -> Result<(), WriteError> {
        let bytes: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.out.write_all(&bytes).map_err(|source| WriteError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// The cut that labels every row, made from the finished tree (a monocrit
/// criterion's default values depend on it).
pub type CutRule<'a> = &'a (dyn Fn(&[Merge]) -> Result<tree::Criterion, HierarchyError> + Sync);

/// What [`linkage_file`] writes; each file appears only once all are complete.
#[derive(Clone, Copy, Default)]
pub struct LinkageOutputs<'a> {
    /// The linkage matrix, scipy's (n-1) x 4 float64 `.npy`.
    pub z: Option<&'a Path>,
    /// Every row's flat label (1..k) under the cut, in input order.
    pub labels: Option<(&'a Path, CutRule<'a>)>,
}

impl std::fmt::Debug for LinkageOutputs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkageOutputs")
            .field("z", &self.z)
            .field("labels", &self.labels.map(|l| l.0))
            .finish()
    }
}

/// The outcome of [`linkage_file`].
#[derive(Debug, Clone)]
pub struct LinkageRun {
    pub fit: LinkageFit,
    /// Every pass, the labelling pass included.
    pub passes: Vec<PassTiming>,
    /// Rows per flat cluster 1..=k, when labels were written.
    pub sizes: Option<Vec<u64>>,
}

/// The whole file-level job of `shoal linkage` (and of Python's
/// `shoal.linkage_file`): the tree of `source` as `reduce` says, then, if
/// asked, every row's flat label under the cut, and the outputs renamed
/// into place together. With micro-clusters and labels, the k-means' last
/// pass streams each row's micro-cluster to a scratch file beside the
/// labels, so labelling is a sequential read, not a second assignment pass.
#[allow(clippy::too_many_arguments)]
pub fn linkage_file(
    source: &dyn Source,
    method: Method,
    reduce: &Reduce,
    optimal_ordering: bool,
    pass: &PassConfig,
    memory: u64,
    cancel: &AtomicBool,
    observer: &dyn Observer,
    outputs: LinkageOutputs<'_>,
) -> Result<LinkageRun, LinkageError> {
    // Outputs are created (their directories checked) before the work.
    let mut flat = match outputs.labels {
        Some((p, _)) => Some(FlatLabels::create(p)?),
        None => None,
    };
    let mut scratch = match (reduce, outputs.labels) {
        (Reduce::MicroClusters { m, .. }, Some((p, _))) if *m < (1 << 24) => {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            Some(IdScratch::create(dir)?)
        }
        _ => None,
    };
    let fit = linkage(
        source,
        method,
        reduce,
        optimal_ordering,
        pass,
        memory,
        cancel,
        observer,
        scratch.as_mut().map(|w| w as &mut dyn LabelSink),
    )?;
    let mut passes = fit.passes.clone();
    if let (Some(f), Some((_, rule))) = (flat.as_mut(), outputs.labels) {
        let leaf_labels = cut(&fit.z, &rule(&fit.z)?)?;
        match scratch.take() {
            Some(mut s) => {
                let t0 = Instant::now();
                let io =
                    |e: std::io::Error| LinkageError::Scratch(format!("{}: {e}", s.path.display()));
                s.out.flush().map_err(io)?;
                let file = std::fs::File::open(&s.path).map_err(io)?;
                let mut r = std::io::BufReader::with_capacity(1 << 20, file);
                label_rows_from_ids(&mut r, &fit, &leaf_labels, cancel, f)?;
                passes.push(PassTiming {
                    name: "label (from micro-cluster ids)".into(),
                    seconds: t0.elapsed().as_secs_f64(),
                    rows: fit.rows,
                    peak_rss: crate::peak_rss(),
                    over_data: false,
                    searched_rows: None,
                });
            }
            None => {
                if let Some(p) = label_rows(source, &fit, &leaf_labels, pass, cancel, observer, f)?
                {
                    passes.push(p);
                }
            }
        }
    }
    // Every output is complete before any is renamed into place.
    let z_out = match outputs.z {
        Some(p) => {
            let mut w = NpyWriter::<f64>::create(p, Some(4))?;
            let flat_z: Vec<f64> = fit.z.iter().flat_map(|m| m.to_row()).collect();
            w.write(&flat_z)?;
            Some(w)
        }
        None => None,
    };
    if let Some(w) = z_out {
        w.finish()?;
    }
    let sizes = flat.as_ref().map(FlatLabels::sizes);
    if let Some(f) = flat {
        f.finish()?;
    }
    Ok(LinkageRun { fit, passes, sizes })
}
