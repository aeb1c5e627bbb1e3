//! The streaming passes behind a scatter plot of any size: the data box
//! (one statistics pass), and a colour-density raster of every row
//! coloured by its label (one pass; memory is the raster's, one per
//! worker, merged in partition order), or, for small inputs, the points
//! themselves. Labels come from a second source read row range by row
//! range beside the data, so they are never all in memory either.

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use shoal_kernels::pca::{Covariance, Principal};
use shoal_kernels::raster::ColourRaster;
use shoal_reader::{Block, ReadError, Source};

use crate::{run_pass, EngineError, Observer, PassConfig, PassReport};

/// Largest label a plot accepts (labels index a table of sizes).
pub const MAX_LABEL: i64 = 1 << 24;

/// Errors of the plotting passes.
#[derive(Debug, thiserror::Error)]
pub enum ScatterError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Labels that do not fit the data (exit 2).
    #[error("{0}")]
    Labels(String),
}

impl From<ReadError> for ScatterError {
    fn from(e: ReadError) -> Self {
        ScatterError::Engine(EngineError::Read(e))
    }
}

/// Checks that `labels` (a one-column source) has one row per data row.
pub fn check_labels(source: &dyn Source, labels: &dyn Source) -> Result<(), ScatterError> {
    let (a, b) = (source.info(), labels.info());
    if b.dim != 1 {
        return Err(ScatterError::Labels(format!(
            "{}: labels are one value per row; it has {} columns (select one with --label-column)",
            b.path.display(),
            b.dim
        )));
    }
    if a.rows != b.rows {
        return Err(ScatterError::Labels(format!(
            "{} has {} labels but {} has {} rows",
            b.path.display(),
            b.rows,
            a.path.display(),
            a.rows
        )));
    }
    Ok(())
}

/// The labels of rows `first_row..first_row + n`, as integers >= -1.
fn block_labels(
    labels: &dyn Source,
    first_row: u64,
    n: usize,
    out: &mut Vec<i64>,
) -> Result<(), ScatterError> {
    out.clear();
    // f32 holds every label up to MAX_LABEL (2^24) exactly
    let mut r = labels.reader(first_row..first_row + n as u64, n.max(1))?;
    while let Some(b) = r.next_block()? {
        for (i, &v) in b.data.iter().enumerate() {
            if v.fract() != 0.0 || !(-1.0..=MAX_LABEL as f32).contains(&v) {
                return Err(ScatterError::Labels(format!(
                    "{}: row {}: label {v} is not a cluster number (-1 for noise, 0.. for clusters)",
                    labels.info().path.display(),
                    b.first_row + i as u64
                )));
            }
            out.push(v as i64);
        }
    }
    Ok(())
}

/// A pass's partial: label sizes (index label + 1) and the first error.
/// The raster itself is accumulated per worker thread, not per partition:
/// its sums are integers, so the result is the same whichever worker
/// counted which rows, and no partition pays for a raster of its own (on
/// 100M rows in 100 row groups, allocating and merging a 14 MB raster per
/// partition was most of the pass).
struct Partial {
    sizes: Vec<u64>,
    error: Option<ScatterError>,
}

/// Rows of the first two columns of `source` binned into `raster` (an empty
/// raster: its size and data box), each coloured `colour(label)` (label -1
/// is noise; without labels every row is label 0). Returns the raster,
/// the number of rows of each label (index label + 1) and the pass report.
#[allow(clippy::too_many_arguments)]
pub fn density(
    source: &dyn Source,
    labels: Option<&dyn Source>,
    project: Option<&Principal>,
    raster: &ColourRaster,
    colour: &(dyn Fn(i64) -> [u8; 3] + Sync),
    pass: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<(ColourRaster, Vec<u64>, PassReport), ScatterError> {
    let dim = source.info().dim;
    if dim != 2 && project.is_none() {
        return Err(ScatterError::Labels(format!(
            "{}: a scatter plot draws two columns; this selection has {dim} (choose them with --columns X,Y)",
            source.info().path.display()
        )));
    }
    if let Some(l) = labels {
        check_labels(source, l)?;
    }
    let workers = rayon::current_num_threads().max(1) + 1;
    let rasters: Vec<Mutex<Option<ColourRaster>>> =
        (0..workers).map(|_| Mutex::new(None)).collect();
    let first_error: Mutex<Option<ScatterError>> = Mutex::new(None);
    let (p, rep) = run_pass(
        source,
        pass,
        cancel,
        observer,
        || Partial {
            sizes: Vec::new(),
            error: None,
        },
        |p: &mut Partial, b: &Block<'_>| {
            if p.error.is_some() {
                return;
            }
            let n = b.rows();
            let projected;
            let xy: &[f32] = match project {
                Some(pc) => {
                    let mut v = Vec::with_capacity(2 * n);
                    pc.project(b.data, &mut v);
                    projected = v;
                    &projected
                }
                None => b.data,
            };
            let slot = rayon::current_thread_index().map_or(workers - 1, |t| t.min(workers - 2));
            let mut guard = rasters[slot].lock().unwrap_or_else(|e| e.into_inner());
            let r = guard.get_or_insert_with(|| {
                ColourRaster::new(raster.width, raster.height, raster.x, raster.y)
            });
            match labels {
                None => {
                    let c = colour(0);
                    r.update(xy, |_| c);
                    if p.sizes.is_empty() {
                        p.sizes = vec![0, 0];
                    }
                    p.sizes[1] += n as u64;
                }
                Some(l) => {
                    let mut lab = Vec::with_capacity(n);
                    if let Err(e) = block_labels(l, b.first_row, n, &mut lab) {
                        p.error = Some(e);
                        return;
                    }
                    // colours and sizes by label + 1, through tables
                    let top = lab.iter().copied().max().unwrap_or(-1);
                    if p.sizes.len() < (top + 2) as usize {
                        p.sizes.resize((top + 2) as usize, 0);
                    }
                    let table: Vec<[u8; 3]> = (-1..=top).map(colour).collect();
                    for &v in &lab {
                        p.sizes[(v + 1) as usize] += 1;
                    }
                    r.update(xy, |i| table[(lab[i] + 1) as usize]);
                }
            }
        },
        |a: &mut Partial, b: Partial| {
            if let Some(e) = b.error {
                let mut g = first_error.lock().unwrap_or_else(|p| p.into_inner());
                if g.is_none() {
                    *g = Some(e);
                }
                return;
            }
            if a.sizes.len() < b.sizes.len() {
                a.sizes.resize(b.sizes.len(), 0);
            }
            for (x, y) in a.sizes.iter_mut().zip(&b.sizes) {
                *x += y;
            }
        },
    )?;
    if let Some(e) = first_error.into_inner().unwrap_or(None).or(p.error) {
        return Err(e);
    }
    let mut out = ColourRaster::new(raster.width, raster.height, raster.x, raster.y);
    for r in rasters {
        if let Some(r) = r.into_inner().unwrap_or_else(|e| e.into_inner()) {
            out.merge(&r);
        }
    }
    Ok((out, p.sizes, rep))
}

/// Every row of the first two columns (f64 pairs) and its label, for a
/// plot of real markers (small inputs).
pub fn points(
    source: &dyn Source,
    labels: Option<&dyn Source>,
    project: Option<&Principal>,
) -> Result<(Vec<f64>, Vec<i64>), ScatterError> {
    if let Some(l) = labels {
        check_labels(source, l)?;
    }
    let xy = match project {
        None => shoal_reader::read_all_f64(source, 1 << 16)?,
        Some(pc) => {
            let x = shoal_reader::read_all(source, 1 << 16)?;
            let mut v = Vec::with_capacity(x.len() / source.info().dim.max(1) * 2);
            pc.project(&x, &mut v);
            v.into_iter().map(f64::from).collect()
        }
    };
    let n = xy.len() / 2;
    let mut lab = Vec::with_capacity(n);
    match labels {
        Some(l) => block_labels(l, 0, n, &mut lab)?,
        None => lab.resize(n, 0),
    }
    Ok((xy, lab))
}

/// The first two principal axes of every row (one covariance pass).
pub fn principal(
    source: &dyn Source,
    pass: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<Principal, ScatterError> {
    let d = source.info().dim;
    let (c, _) = run_pass(
        source,
        pass,
        cancel,
        observer,
        || Covariance::new(d),
        |c: &mut Covariance, b: &Block<'_>| c.update(b.data),
        |a: &mut Covariance, b: Covariance| a.merge(&b),
    )?;
    Ok(c.principal(2))
}

/// The box (x min, x max, y min, y max) of the rows projected onto `pc`.
pub fn projected_box(
    source: &dyn Source,
    pc: &Principal,
    pass: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<[f64; 4], ScatterError> {
    let (b, _) = run_pass(
        source,
        pass,
        cancel,
        observer,
        || {
            [
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ]
        },
        |m: &mut [f64; 4], b: &Block<'_>| {
            let mut v = Vec::with_capacity(2 * b.rows());
            pc.project(b.data, &mut v);
            for q in v.chunks_exact(2) {
                let (x, y) = (q[0] as f64, q[1] as f64);
                m[0] = m[0].min(x);
                m[1] = m[1].max(x);
                m[2] = m[2].min(y);
                m[3] = m[3].max(y);
            }
        },
        |a: &mut [f64; 4], b: [f64; 4]| {
            a[0] = a[0].min(b[0]);
            a[1] = a[1].max(b[1]);
            a[2] = a[2].min(b[2]);
            a[3] = a[3].max(b[3]);
        },
    )?;
    Ok(b)
}

/// A partial of [`sample_rows`]: the kept rows as (key, row, values,
/// label), at most `m`, and the first error.
struct SamplePartial {
    kept: std::collections::BinaryHeap<Kept>,
    error: Option<ScatterError>,
}

/// A sampled row, ordered by (key, row) so the heap's top is the row to
/// drop first.
struct Kept {
    key: (u64, u64),
    values: Box<[f32]>,
    label: i64,
}

impl PartialEq for Kept {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl Eq for Kept {}
impl PartialOrd for Kept {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Kept {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

fn keep(h: &mut std::collections::BinaryHeap<Kept>, m: usize, k: Kept) {
    if h.len() < m {
        h.push(k);
    } else if h.peek().is_some_and(|top| k.key < top.key) {
        h.pop();
        h.push(k);
    }
}

/// The `m` rows with the smallest seeded keys
/// (`shoal_kernels::kmeans::row_key(seed, row)`), which is the sample
/// `shoal_kernels::quality::silhouette_sample_values` takes from rows in
/// memory, here streamed with memory for `m` rows only. Returns the rows
/// (row-major, every column) and their labels, in row order. With
/// `m >= rows` it is every row.
#[allow(clippy::too_many_arguments)]
pub fn sample_rows(
    source: &dyn Source,
    labels: &dyn Source,
    m: usize,
    seed: u64,
    pass: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<(Vec<f32>, Vec<i64>), ScatterError> {
    check_labels(source, labels)?;
    let dim = source.info().dim;
    let (p, _) = run_pass(
        source,
        pass,
        cancel,
        observer,
        || SamplePartial {
            kept: std::collections::BinaryHeap::new(),
            error: None,
        },
        |p: &mut SamplePartial, b: &Block<'_>| {
            if p.error.is_some() || m == 0 {
                return;
            }
            let mut lab = Vec::new();
            if let Err(e) = block_labels(labels, b.first_row, b.rows(), &mut lab) {
                p.error = Some(e);
                return;
            }
            for (i, row) in b.data.chunks_exact(dim).enumerate() {
                let r = b.first_row + i as u64;
                let key = (shoal_kernels::kmeans::row_key(seed, r), r);
                if p.kept.len() == m && p.kept.peek().is_some_and(|t| key >= t.key) {
                    continue;
                }
                keep(
                    &mut p.kept,
                    m,
                    Kept {
                        key,
                        values: row.into(),
                        label: lab[i],
                    },
                );
            }
        },
        |a: &mut SamplePartial, b: SamplePartial| {
            if a.error.is_none() {
                a.error = b.error;
            }
            for k in b.kept {
                keep(&mut a.kept, m, k);
            }
        },
    )?;
    if let Some(e) = p.error {
        return Err(e);
    }
    let mut kept = p.kept.into_vec();
    kept.sort_unstable_by_key(|k| k.key.1);
    let mut x = Vec::with_capacity(kept.len() * dim);
    let mut l = Vec::with_capacity(kept.len());
    for k in kept {
        x.extend_from_slice(&k.values);
        l.push(k.label);
    }
    Ok((x, l))
}

/// What a scatter plot shows before it is laid out: the plane (the first
/// two columns, or the first two principal components past two columns),
/// the points themselves when there are at most `max_markers` rows, the
/// data box (`[x0, x1, y0, y1]`, widened to hold the centroids) and the
/// centroids in the plane.
#[derive(Debug, Clone)]
pub struct ScatterData {
    /// The projection, for more than two columns.
    pub principal: Option<Principal>,
    /// `(x, y)` pairs of every row, when they are drawn as markers.
    pub xy: Option<Vec<f64>>,
    /// Each marker's label (0 without labels).
    pub labels: Vec<i64>,
    pub bounds: [f64; 4],
    pub centroids: Vec<(f64, f64)>,
}

/// The passes before a scatter plot's drawing: the principal axes (one
/// covariance pass, past two columns), then the points (at most
/// `max_markers` rows) or the data box (one statistics pass). The density
/// raster, when the points are too many, is [`density`]'s, over the box the
/// caller lays out from `bounds`.
#[allow(clippy::too_many_arguments)]
pub fn scatter_data(
    source: &dyn Source,
    labels: Option<&dyn Source>,
    centroids: Option<&[f32]>,
    max_markers: usize,
    pass: &PassConfig,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<ScatterData, ScatterError> {
    let info = source.info();
    let principal = if info.dim > 2 {
        Some(self::principal(source, pass, cancel, observer)?)
    } else {
        None
    };
    let centres: Vec<(f64, f64)> = match (&principal, centroids) {
        (Some(p), Some(c)) => {
            let mut v = Vec::new();
            p.project(c, &mut v);
            v.chunks_exact(2)
                .map(|q| (q[0] as f64, q[1] as f64))
                .collect()
        }
        (None, Some(c)) => c
            .chunks_exact(2)
            .map(|q| (q[0] as f64, q[1] as f64))
            .collect(),
        _ => Vec::new(),
    };
    let (xy, point_labels, mut b) = if info.rows <= max_markers as u64 {
        let (xy, l) = points(source, labels, principal.as_ref())?;
        let mut b = [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for p in xy.chunks_exact(2) {
            b = [
                b[0].min(p[0]),
                b[1].max(p[0]),
                b[2].min(p[1]),
                b[3].max(p[1]),
            ];
        }
        (Some(xy), l, b)
    } else {
        let b = match &principal {
            Some(p) => projected_box(source, p, pass, cancel, observer)?,
            None => {
                let (st, _) = crate::column_stats(source, pass, cancel, observer)?;
                let s = st.finish();
                [
                    s[0].min as f64,
                    s[0].max as f64,
                    s[1].min as f64,
                    s[1].max as f64,
                ]
            }
        };
        (None, Vec::new(), b)
    };
    for c in &centres {
        b = [b[0].min(c.0), b[1].max(c.0), b[2].min(c.1), b[3].max(c.1)];
    }
    Ok(ScatterData {
        principal,
        xy,
        labels: point_labels,
        bounds: b,
        centroids: centres,
    })
}
