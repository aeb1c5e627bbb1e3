//! `shoal._shoal`: the Python package's native half. Every function is a
//! stateless wrapper: it borrows numpy arrays (C-contiguous; the Python
//! side makes them so), releases the GIL, calls the same kernels and
//! engine functions the command line calls, and hands numpy arrays back.
//! The scipy and scikit-learn APIs (names, defaults, validation, warnings)
//! live in the pure-Python package `python/shoal`.

// PyO3's macros expand to FFI glue with unsafe blocks; this crate writes
// no unsafe block of its own.
#![allow(unsafe_code)]

mod plot;
mod remote;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyMemoryError, PyOSError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use shoal_data_gen::{
    write_files, Blobs, GenError, Generator, Outputs as GenOutputs, Spatial, Uniform,
    WriteFilesError,
};
use shoal_engine::exact::{
    dbscan_file as dbscan_file_engine, DbscanParams, ExactError, PrecisionChoice,
};
use shoal_engine::hierarchy::{self as eh, LinkageError, Reduce};
use shoal_engine::kmeans::{self as km, Algo, Init, KMeansConfig, KMeansError, LabelSink};
use shoal_engine::{EngineError, Observer, PassConfig, PassStart};
use shoal_kernels::hierarchy::tree::{self, Criterion, LeafOrder, Truncate};
use shoal_kernels::hierarchy::{condensed, olo, vector, HierarchyError, Merge, Method};
use shoal_kernels::vq::{self, Metric};
use shoal_reader::{
    ErrorClass, LabelWriter, OpenOptions, Precision, ReadError, SliceSource, Source, StoreType,
    WriteError,
};

/// Two arrays handed back together.
type Pair<'py, A, B> = PyResult<(Bound<'py, A>, Bound<'py, B>)>;

fn value_err(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn read_err(e: &ReadError) -> PyErr {
    match e {
        ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(e.to_string())
        }
        ReadError::Io { .. } | ReadError::Changed { .. } => PyOSError::new_err(e.to_string()),
        _ if e.class() == ErrorClass::Usage => PyValueError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

fn kmeans_err(e: KMeansError) -> PyErr {
    match &e {
        KMeansError::Engine(EngineError::Cancelled) => PyKeyboardInterrupt::new_err("interrupted"),
        KMeansError::Engine(EngineError::Read(r)) => read_err(r),
        KMeansError::Write(WriteError::Io { .. }) => PyOSError::new_err(e.to_string()),
        _ => value_err(e),
    }
}

/// A 2-D C-contiguous array as (values, columns).
fn rows<'a, T: numpy::Element>(a: &'a PyReadonlyArray2<'_, T>) -> PyResult<(&'a [T], usize)> {
    let d = a.shape()[1];
    let s = a
        .as_slice()
        .map_err(|_| value_err("expected a C-contiguous array"))?;
    Ok((s, d))
}

fn slice1<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| value_err("expected a contiguous 1-D array"))
}

fn matrix<'py, T: numpy::Element>(
    py: Python<'py>,
    v: Vec<T>,
    cols: usize,
) -> PyResult<Bound<'py, PyArray2<T>>> {
    let n = v.len() / cols.max(1);
    let a = Array2::from_shape_vec((n, cols), v).map_err(value_err)?;
    Ok(a.into_pyarray(py))
}

/// Progress of the running work, kept by the worker thread (an
/// [`Observer`]) and read by the thread that holds the GIL.
#[derive(Default)]
struct Progress {
    pass: Mutex<Option<PassStart>>,
    rows: AtomicU64,
}

impl Observer for Progress {
    fn pass_started(&self, pass: &PassStart) {
        if let Ok(mut p) = self.pass.lock() {
            *p = Some(pass.clone());
        }
        self.rows.store(0, Ordering::Relaxed);
    }

    fn rows_done(&self, rows: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
    }
}

impl Progress {
    /// Hands the state to `callback(name, index, max_passes, rows_done,
    /// rows_total)`; nothing before the first pass starts.
    fn report(&self, callback: &Bound<'_, PyAny>) -> PyResult<()> {
        let pass = match self.pass.lock() {
            Ok(p) => p.clone(),
            Err(_) => None,
        };
        if let Some(p) = pass {
            let done = self.rows.load(Ordering::Relaxed).min(p.rows);
            callback.call1((p.name, p.index, p.max_passes, done, p.rows))?;
        }
        Ok(())
    }
}

/// How often a progress callback is called.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Runs `work` on another thread with the GIL released, checking for
/// Ctrl-C every 20 ms: on KeyboardInterrupt the work is told to stop
/// (`cancel`), waited for, and the interrupt raised. `progress`, when
/// given, is called every 100 ms and once at the end with the running
/// pass (see [`Progress::report`]); an exception it raises stops the work
/// the same way.
fn cancellable<R: Send>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce(&AtomicBool, &dyn Observer) -> R + Send,
) -> PyResult<R> {
    let cancel = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    let state = Progress::default();
    let (out, interrupted) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let r = work(&cancel, &state);
            done.store(true, Ordering::Release);
            r
        });
        let mut interrupted = None;
        let mut last = Instant::now();
        while !done.load(Ordering::Acquire) {
            py.detach(|| std::thread::sleep(Duration::from_millis(20)));
            if interrupted.is_some() {
                continue;
            }
            let mut check = py.check_signals();
            if let (Ok(()), Some(cb)) = (&check, progress) {
                if last.elapsed() >= PROGRESS_EVERY {
                    last = Instant::now();
                    check = state.report(cb);
                }
            }
            if let Err(e) = check {
                cancel.store(true, Ordering::Release);
                interrupted = Some(e);
            }
        }
        (py.detach(|| h.join()), interrupted)
    });
    if let Some(e) = interrupted {
        return Err(e);
    }
    if let Some(cb) = progress {
        state.report(cb)?;
    }
    out.map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("shoal: a worker thread panicked"))
}

// ---- scipy.cluster.vq ----

/// scipy's `_vq.vq` in `T`'s precision.
fn vq_in<'py, T: vq::VqFloat + numpy::Element>(
    py: Python<'py>,
    obs: PyReadonlyArray2<'py, T>,
    book: PyReadonlyArray2<'py, T>,
) -> Pair<'py, PyArray1<i32>, PyArray1<T>> {
    let ((x, d), (c, _)) = (rows(&obs)?, rows(&book)?);
    let (codes, dist) = py.detach(|| vq::vq(x, d, c));
    Ok((codes.into_pyarray(py), dist.into_pyarray(py)))
}

/// scipy's `_vq.update_cluster_means` in `T`'s precision.
fn means_in<'py, T: vq::VqFloat + numpy::Element>(
    py: Python<'py>,
    obs: PyReadonlyArray2<'py, T>,
    labels: PyReadonlyArray1<'py, i32>,
    k: usize,
) -> Pair<'py, PyArray2<T>, PyArray1<bool>> {
    let (x, d) = rows(&obs)?;
    let l = slice1(&labels)?;
    let (m, has) = py.detach(|| vq::update_cluster_means(x, d, l, k));
    Ok((matrix(py, m, d)?, has.into_pyarray(py)))
}

#[pyfunction]
fn vq_f64<'py>(
    py: Python<'py>,
    obs: PyReadonlyArray2<'py, f64>,
    book: PyReadonlyArray2<'py, f64>,
) -> Pair<'py, PyArray1<i32>, PyArray1<f64>> {
    vq_in(py, obs, book)
}

#[pyfunction]
fn vq_f32<'py>(
    py: Python<'py>,
    obs: PyReadonlyArray2<'py, f32>,
    book: PyReadonlyArray2<'py, f32>,
) -> Pair<'py, PyArray1<i32>, PyArray1<f32>> {
    vq_in(py, obs, book)
}

#[pyfunction]
fn update_cluster_means_f64<'py>(
    py: Python<'py>,
    obs: PyReadonlyArray2<'py, f64>,
    labels: PyReadonlyArray1<'py, i32>,
    k: usize,
) -> Pair<'py, PyArray2<f64>, PyArray1<bool>> {
    means_in(py, obs, labels, k)
}

#[pyfunction]
fn update_cluster_means_f32<'py>(
    py: Python<'py>,
    obs: PyReadonlyArray2<'py, f32>,
    labels: PyReadonlyArray1<'py, i32>,
    k: usize,
) -> Pair<'py, PyArray2<f32>, PyArray1<bool>> {
    means_in(py, obs, labels, k)
}

// ---- scipy.cluster.hierarchy ----

fn method(name: &str) -> PyResult<Method> {
    Method::ALL
        .into_iter()
        .find(|m| m.name() == name)
        .ok_or_else(|| value_err(format!("Invalid method: {name}")))
}

fn z_out<'py>(py: Python<'py>, z: &[Merge]) -> PyResult<Bound<'py, PyArray2<f64>>> {
    matrix(py, z.iter().flat_map(|m| m.to_row()).collect(), 4)
}

fn z_in(z: &PyReadonlyArray2<'_, f64>) -> PyResult<Vec<Merge>> {
    z_rows(z, tree::from_rows)
}

/// A linkage matrix whose count column is not read (scipy's `maxdists`
/// and `maxinconsts` ignore it): counts come from the children.
fn z_in_recounted(z: &PyReadonlyArray2<'_, f64>) -> PyResult<Vec<Merge>> {
    z_rows(z, tree::from_rows_recounted)
}

/// How a linkage matrix's rows become a tree (checked).
type ReadTree = fn(&[[f64; 4]]) -> Result<Vec<Merge>, HierarchyError>;

fn z_rows(z: &PyReadonlyArray2<'_, f64>, read: ReadTree) -> PyResult<Vec<Merge>> {
    let (v, d) = rows(z)?;
    if d != 4 {
        return Err(value_err("Linkage matrix 'Z' must have 4 columns."));
    }
    let r: Vec<[f64; 4]> = v
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect();
    read(&r).map_err(value_err)
}

#[pyfunction]
fn pdist<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    metric: &str,
    p: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (v, d) = rows(&x)?;
    let m = Metric::parse(metric, p).ok_or_else(|| {
        value_err(format!(
            "Unknown distance metric {metric:?}: shoal computes euclidean, sqeuclidean, cityblock, chebyshev, cosine and minkowski; pass a condensed distance matrix for others"
        ))
    })?;
    Ok(py.detach(|| vq::pdist_metric(v, d, m)).into_pyarray(py))
}

#[pyfunction]
fn linkage_condensed<'py>(
    py: Python<'py>,
    y: PyReadonlyArray1<'py, f64>,
    n: usize,
    method_name: &str,
    optimal_ordering: bool,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let m = method(method_name)?;
    let y = slice1(&y)?;
    let z = py.detach(|| {
        condensed::linkage(y.to_vec(), n, m, None).map(|z| {
            if optimal_ordering {
                olo::optimal_leaf_ordering(&z, y)
            } else {
                z
            }
        })
    });
    z_out(py, &z.map_err(value_err)?)
}

#[pyfunction]
fn linkage_obs<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    method_name: &str,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let m = method(method_name)?;
    let (v, d) = rows(&x)?;
    let z = py.detach(|| vector::linkage(v, d, m, None));
    z_out(py, &z.map_err(value_err)?)
}

#[pyfunction]
fn optimal_leaf_ordering<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let z = z_in(&z)?;
    let y = slice1(&y)?;
    let out = py.detach(|| olo::optimal_leaf_ordering(&z, y));
    z_out(py, &out)
}

#[pyfunction]
#[pyo3(signature = (z, t, criterion, depth=2, r=None, monocrit=None))]
fn fcluster<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f64>,
    t: f64,
    criterion: &str,
    depth: usize,
    r: Option<PyReadonlyArray2<'py, f64>>,
    monocrit: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<Bound<'py, PyArray1<i32>>> {
    let z = z_in(&z)?;
    let mc = || -> PyResult<Vec<f64>> {
        monocrit
            .as_ref()
            .map(|m| slice1(m).map(<[f64]>::to_vec))
            .transpose()?
            .ok_or_else(|| value_err(format!("criterion {criterion:?} needs monocrit")))
    };
    let c = match criterion {
        "distance" => Criterion::Distance(t),
        "maxclust" => Criterion::MaxClust(t as usize),
        "inconsistent" => match &r {
            // an explicit R: its coefficients are the monocrit values
            Some(r) => {
                let (v, _) = rows(r)?;
                Criterion::Monocrit {
                    t,
                    monocrit: tree::maxinconsts(
                        &z,
                        &v.chunks_exact(4)
                            .map(|c| [c[0], c[1], c[2], c[3]])
                            .collect::<Vec<_>>(),
                    ),
                }
            }
            None => Criterion::Inconsistent { t, depth },
        },
        "monocrit" => Criterion::Monocrit { t, monocrit: mc()? },
        "maxclust_monocrit" => Criterion::MaxClustMonocrit {
            t: t as usize,
            monocrit: mc()?,
        },
        other => {
            return Err(value_err(format!(
                "Invalid cluster formation criterion: {other}"
            )))
        }
    };
    let l = py.detach(|| tree::fcluster(&z, &c)).map_err(value_err)?;
    Ok(l.into_iter()
        .map(|v| v as i32)
        .collect::<Vec<_>>()
        .into_pyarray(py))
}

#[pyfunction]
fn cophenet<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let z = z_in(&z)?;
    Ok(py.detach(|| tree::cophenet(&z)).into_pyarray(py))
}

#[pyfunction]
fn inconsistent<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f64>,
    d: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let z = z_in(&z)?;
    let r = py.detach(|| tree::inconsistent(&z, d));
    matrix(py, r.into_iter().flatten().collect(), 4)
}

#[pyfunction]
fn maxdists<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let z = z_in_recounted(&z)?;
    Ok(tree::maxdists(&z).into_pyarray(py))
}

#[pyfunction]
fn maxinconsts<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f64>,
    r: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let z = z_in_recounted(&z)?;
    let (v, _) = rows(&r)?;
    let r: Vec<[f64; 4]> = v
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect();
    Ok(tree::maxinconsts(&z, &r).into_pyarray(py))
}

#[pyfunction]
fn leaves_list<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<i32>>> {
    let z = z_in(&z)?;
    Ok(tree::leaves_list(&z)
        .into_iter()
        .map(|v| v as i32)
        .collect::<Vec<_>>()
        .into_pyarray(py))
}

#[pyfunction]
fn leaders<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f64>,
    t: PyReadonlyArray1<'py, i32>,
) -> Pair<'py, PyArray1<i32>, PyArray1<i32>> {
    let z = z_in(&z)?;
    let labels: Vec<u32> = slice1(&t)?.iter().map(|&v| v as u32).collect();
    let (l, m) = tree::leaders(&z, &labels).map_err(value_err)?;
    Ok((
        l.into_iter()
            .map(|v| v as i32)
            .collect::<Vec<_>>()
            .into_pyarray(py),
        m.into_iter()
            .map(|v| v as i32)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    ))
}

#[pyfunction]
#[pyo3(signature = (z, truncate_mode=None, p=30, color_threshold=None, order="given"))]
fn dendrogram<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f64>,
    truncate_mode: Option<&str>,
    p: usize,
    color_threshold: Option<f64>,
    order: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let z = z_in(&z)?;
    let t = match truncate_mode {
        None | Some("none") => Truncate::None,
        Some("lastp") => Truncate::LastP(p),
        Some("level") => Truncate::Level(p),
        Some(o) => return Err(value_err(format!("Invalid truncation mode: {o}"))),
    };
    let order = match order {
        "given" => LeafOrder::Given,
        "count_ascending" => LeafOrder::CountAscending,
        "count_descending" => LeafOrder::CountDescending,
        "distance_ascending" => LeafOrder::DistanceAscending,
        "distance_descending" => LeafOrder::DistanceDescending,
        o => return Err(value_err(format!("unknown leaf order {o:?}"))),
    };
    let d = py.detach(|| tree::dendrogram_ordered(&z, t, color_threshold, order));
    let out = PyDict::new(py);
    let quads = |v: &[[f64; 4]]| v.iter().map(|q| q.to_vec()).collect::<Vec<_>>();
    out.set_item("icoord", quads(&d.icoord))?;
    out.set_item("dcoord", quads(&d.dcoord))?;
    out.set_item("ivl", d.ivl)?;
    out.set_item("leaves", d.leaves)?;
    out.set_item("color_list", d.color_list)?;
    out.set_item("links", d.links)?;
    Ok(out)
}

// ---- sklearn.cluster.DBSCAN ----

fn dbscan_metric(name: &str) -> PyResult<shoal_kernels::dbscan::Metric> {
    match name {
        "euclidean" => Ok(shoal_kernels::dbscan::Metric::Euclidean),
        "haversine" => Ok(shoal_kernels::dbscan::Metric::Haversine),
        o => Err(value_err(format!(
            "shoal's DBSCAN computes the 'euclidean' and 'haversine' metrics, not {o:?}"
        ))),
    }
}

/// scikit-learn's DBSCAN (its labels exactly): labels (-1 noise) and core
/// flags. `haversine` takes (latitude, longitude) in degrees, `eps` in radians.
#[pyfunction]
fn dbscan<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    eps: f64,
    min_samples: usize,
    metric: &str,
) -> Pair<'py, PyArray1<i32>, PyArray1<bool>> {
    let (v, d) = rows(&x)?;
    let m = dbscan_metric(metric)?;
    let r = py
        .detach(|| shoal_kernels::dbscan::dbscan(v, d, eps, min_samples, m))
        .map_err(value_err)?;
    Ok((r.labels.into_pyarray(py), r.core.into_pyarray(py)))
}

// ---- sklearn.metrics ----

#[pyfunction]
fn silhouette_samples<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    labels: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (v, d) = rows(&x)?;
    let l = slice1(&labels)?;
    let s = py
        .detach(|| shoal_kernels::quality::silhouette_samples(v, d, l))
        .map_err(value_err)?;
    Ok(s.into_pyarray(py))
}

#[pyfunction]
fn davies_bouldin(
    x: PyReadonlyArray2<'_, f64>,
    labels: PyReadonlyArray1<'_, i64>,
) -> PyResult<f64> {
    let (v, d) = rows(&x)?;
    shoal_kernels::quality::davies_bouldin(v, d, slice1(&labels)?).map_err(value_err)
}

#[pyfunction]
fn calinski_harabasz(
    x: PyReadonlyArray2<'_, f64>,
    labels: PyReadonlyArray1<'_, i64>,
) -> PyResult<f64> {
    let (v, d) = rows(&x)?;
    shoal_kernels::quality::calinski_harabasz(v, d, slice1(&labels)?).map_err(value_err)
}

#[pyfunction]
fn external<'py>(
    py: Python<'py>,
    truth: PyReadonlyArray1<'py, i64>,
    pred: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let (t, p) = (slice1(&truth)?, slice1(&pred)?);
    let e = py.detach(|| shoal_kernels::metrics::external(t, p));
    let out = PyDict::new(py);
    out.set_item("adjusted_rand", e.adjusted_rand)?;
    out.set_item("adjusted_mutual_info", e.adjusted_mutual_info)?;
    out.set_item("normalized_mutual_info", e.normalized_mutual_info)?;
    out.set_item("homogeneity", e.homogeneity)?;
    out.set_item("completeness", e.completeness)?;
    out.set_item("v_measure", e.v_measure)?;
    out.set_item("fowlkes_mallows", e.fowlkes_mallows)?;
    Ok(out)
}

// ---- k-means on arrays and files (the engine's fit) ----

/// Collects the labels of the final assignment pass.
struct Labels(Vec<i32>);

impl LabelSink for Labels {
    fn write(&mut self, labels: &[u32], _dist2: &[f32]) -> Result<(), WriteError> {
        self.0.extend(labels.iter().map(|&l| l as i32));
        Ok(())
    }
}

/// Initial centroids given as an array, copied for the engine.
fn given_centers(c: &Option<PyReadonlyArray2<'_, f32>>) -> PyResult<Option<Vec<f32>>> {
    c.as_ref().map(|c| Ok(rows(c)?.0.to_vec())).transpose()
}

#[allow(clippy::too_many_arguments)]
fn config(
    k: usize,
    algorithm: &str,
    init: &str,
    init_centers: Option<Vec<f32>>,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    sample_size: Option<usize>,
    batch_size: usize,
    memory: u64,
    dim: usize,
) -> PyResult<KMeansConfig> {
    let algo = match algorithm {
        "lloyd" => Algo::Lloyd,
        "minibatch" => Algo::MiniBatch,
        "subsample" => Algo::Subsample,
        o => {
            return Err(value_err(format!(
                "algorithm must be 'lloyd', 'minibatch' or 'subsample', got {o:?}"
            )))
        }
    };
    let init = match (init, init_centers) {
        (_, Some(c)) => Init::Given(c),
        ("k-means++", None) => Init::KMeansPlusPlus,
        ("random", None) => Init::Random,
        ("k-means||", None) => Init::KMeansParallel,
        (o, None) => {
            return Err(value_err(format!(
                "init must be 'k-means++', 'random', 'k-means||' or an array, got {o:?}"
            )))
        }
    };
    let mut cfg = KMeansConfig {
        algo,
        k,
        init,
        n_init,
        max_iter,
        tol,
        seed,
        sample_size,
        memory,
        pass: PassConfig::for_memory(memory, dim, rayon::current_num_threads()),
        ..KMeansConfig::default()
    };
    cfg.minibatch.batch_size = batch_size.max(1);
    Ok(cfg)
}

fn fit_dict<'py>(
    py: Python<'py>,
    f: km::KMeansFit,
    labels: Option<Vec<i32>>,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("cluster_centers", matrix(py, f.centroids, f.dim)?)?;
    if let Some(l) = labels {
        out.set_item("labels", l.into_pyarray(py))?;
    }
    out.set_item("inertia", f.inertia)?;
    out.set_item("n_iter", f.iterations)?;
    out.set_item("converged", f.converged)?;
    out.set_item("counts", f.counts)?;
    out.set_item("rows", f.rows)?;
    out.set_item("passes", f.passes.iter().filter(|p| p.over_data).count())?;
    Ok(out)
}

/// k-means on a float32 C-contiguous array, borrowed (no copy).
#[pyfunction]
#[pyo3(signature = (x, k, algorithm="lloyd", init="k-means++", init_centers=None, n_init=1, max_iter=300, tol=1e-4, seed=0, sample_size=None, batch_size=1024, memory=268435456, progress=None))]
#[allow(clippy::too_many_arguments)]
fn kmeans_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    k: usize,
    algorithm: &str,
    init: &str,
    init_centers: Option<PyReadonlyArray2<'py, f32>>,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    sample_size: Option<usize>,
    batch_size: usize,
    memory: u64,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (v, d) = rows(&x)?;
    let given = given_centers(&init_centers)?;
    let mut cfg = config(
        k,
        algorithm,
        init,
        given,
        n_init,
        max_iter,
        tol,
        seed,
        sample_size,
        batch_size,
        memory,
        d,
    )?;
    // Lloyd's per-row bounds take 8 bytes a row: on an array, only where
    // that is under 3% of the array (a fit adds under 5% of X.nbytes).
    cfg.bounds = 8.0 * (v.len() / d.max(1)) as f64 <= 0.03 * (4 * v.len()) as f64;
    let src = SliceSource::new(v, d, "X").map_err(|e| read_err(&e))?;
    let (f, labels) = cancellable(py, progress.as_ref(), |cancel, obs| {
        let mut sink = Labels(Vec::with_capacity(v.len() / d.max(1)));
        km::fit(&src, &cfg, cancel, obs, Some(&mut sink)).map(|f| (f, sink.0))
    })?
    .map_err(kmeans_err)?;
    fit_dict(py, f, Some(labels))
}

/// k-means over a file of any size, streamed.
#[pyfunction]
#[pyo3(signature = (path, k, columns=None, algorithm="lloyd", init="k-means++", init_centers=None, n_init=1, max_iter=300, tol=1e-4, seed=0, sample_size=None, batch_size=1024, memory=268435456, labels_out=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn kmeans_fit_file<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    k: usize,
    columns: Option<Vec<String>>,
    algorithm: &str,
    init: &str,
    init_centers: Option<PyReadonlyArray2<'py, f32>>,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    sample_size: Option<usize>,
    batch_size: usize,
    memory: u64,
    labels_out: Option<std::path::PathBuf>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let src = open_source(&path, columns)?;
    let d = src.info().dim;
    let given = given_centers(&init_centers)?;
    let cfg = config(
        k,
        algorithm,
        init,
        given,
        n_init,
        max_iter,
        tol,
        seed,
        sample_size,
        batch_size,
        memory,
        d,
    )?;
    let mut out = match &labels_out {
        Some(p) => Some(km::LabelFile::create(p).map_err(|e| PyOSError::new_err(e.to_string()))?),
        None => None,
    };
    let f = cancellable(py, progress.as_ref(), |cancel, obs| {
        let r = km::fit(
            src.as_ref(),
            &cfg,
            cancel,
            obs,
            out.as_mut().map(|o| o as &mut dyn LabelSink),
        );
        // the labels file is renamed into place only after a whole fit
        match (r, out) {
            (Ok(f), Some(o)) => o.finish().map(|_| f).map_err(KMeansError::Write),
            (r, _) => r,
        }
    })?
    .map_err(kmeans_err)?;
    fit_dict(py, f, None)
}

/// scipy's vq over a file of any size, streamed: every row's nearest
/// centroid and distance written to `out` (.npy or .parquet), atomically.
#[pyfunction]
#[pyo3(signature = (path, centroids, out, columns=None, memory=268435456, progress=None))]
fn assign_file<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    centroids: PyReadonlyArray2<'py, f32>,
    out: std::path::PathBuf,
    columns: Option<Vec<String>>,
    memory: u64,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let src = open_source(&path, columns)?;
    let (c, d) = rows(&centroids)?;
    let scaling = km::Scaling::identity(d);
    let pass = PassConfig::for_memory(memory, d, rayon::current_num_threads());
    let sink = km::LabelFile::create(&out).map_err(|e| PyOSError::new_err(e.to_string()))?;
    let run = cancellable(py, progress.as_ref(), |cancel, obs| {
        let mut sink = sink;
        let r = shoal_engine::assign::assign_file(
            src.as_ref(),
            c,
            &scaling,
            &pass,
            cancel,
            obs,
            &mut sink,
        );
        r.and_then(|run| sink.finish().map(|_| run).map_err(Into::into))
    })?
    .map_err(|e| {
        use shoal_engine::assign::AssignError as A;
        match e {
            A::KMeans(k) => kmeans_err(k),
            A::Read(r) => read_err(&r),
            A::Write(w) => PyOSError::new_err(w.to_string()),
            other => value_err(other),
        }
    })?;
    let d = PyDict::new(py);
    d.set_item("rows", run.rows)?;
    d.set_item("inertia", run.inertia)?;
    d.set_item("counts", run.counts)?;
    d.set_item("out", out.display().to_string())?;
    Ok(d)
}

/// Opens a file, or a Parquet dataset (a directory or a glob), as a
/// source, with `columns` selected.
fn open_source(path: &Path, columns: Option<Vec<String>>) -> PyResult<Box<dyn Source>> {
    shoal_reader::Dataset::resolve(&[path.to_path_buf()], &Default::default())
        .and_then(|ds| {
            ds.open(&OpenOptions {
                columns,
                ..OpenOptions::default()
            })
        })
        .map_err(|e| read_err(&e))
}

// ---- files: linkage, DBSCAN, generation ----

fn linkage_err(e: LinkageError) -> PyErr {
    match e {
        LinkageError::KMeans(k) => kmeans_err(k),
        LinkageError::Engine(EngineError::Cancelled) => PyKeyboardInterrupt::new_err("interrupted"),
        LinkageError::Engine(EngineError::Read(r)) => read_err(&r),
        LinkageError::Write(w) => PyOSError::new_err(w.to_string()),
        LinkageError::NoMemory(m) => PyMemoryError::new_err(m),
        LinkageError::Scratch(m) => PyOSError::new_err(m),
        other => value_err(other),
    }
}

fn precision_choice(name: &str) -> PyResult<PrecisionChoice> {
    match name {
        "auto" => Ok(PrecisionChoice::Auto),
        "f32" | "float32" => Ok(PrecisionChoice::F32),
        "f64" | "float64" => Ok(PrecisionChoice::F64),
        o => Err(value_err(format!(
            "precision must be 'auto', 'float32' or 'float64', got {o:?}"
        ))),
    }
}

/// Hierarchical clustering of a file of any size: exact (every row a
/// leaf, in memory), or of `micro_clusters` weighted k-means centroids, or
/// of a seeded `sample` of rows; with `labels_out` and a cut, every row's
/// flat label streamed to that file. The engine's `linkage_file`, as
/// `shoal linkage` runs it.
#[pyfunction]
#[pyo3(signature = (path, method, columns=None, micro_clusters=None, sample=None, micro_algorithm="minibatch", optimal_ordering=false, seed=0, precision="auto", memory=1073741824, z_out=None, labels_out=None, criterion="maxclust", t=None, depth=2, progress=None))]
#[allow(clippy::too_many_arguments)]
fn linkage_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    method: &str,
    columns: Option<Vec<String>>,
    micro_clusters: Option<usize>,
    sample: Option<usize>,
    micro_algorithm: &str,
    optimal_ordering: bool,
    seed: u64,
    precision: &str,
    memory: u64,
    z_out: Option<PathBuf>,
    labels_out: Option<PathBuf>,
    criterion: &str,
    t: Option<f64>,
    depth: usize,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let m = self::method(method)?;
    let src = open_source(&path, columns)?;
    let info = src.info().clone();
    let pass = PassConfig::for_memory(memory, info.dim, rayon::current_num_threads());
    let reduce = match (micro_clusters, sample) {
        (Some(_), Some(_)) => return Err(value_err("give micro_clusters or sample, not both")),
        (Some(k), None) | (None, Some(k)) if k < 2 => {
            return Err(value_err("micro_clusters and sample need M >= 2"))
        }
        (Some(k), None) => {
            let algo = match micro_algorithm {
                "lloyd" => Algo::Lloyd,
                "minibatch" => Algo::MiniBatch,
                o => {
                    return Err(value_err(format!(
                        "micro_algorithm must be 'minibatch' or 'lloyd', got {o:?}"
                    )))
                }
            };
            Reduce::MicroClusters {
                m: k,
                kmeans: eh::micro_kmeans_config(k, algo, seed, &pass, memory),
            }
        }
        (None, Some(k)) => Reduce::Sample { m: k, seed },
        (None, None) => Reduce::Exact {
            precision: precision_choice(precision)?.resolve(&info),
        },
    };
    let t = t.unwrap_or(f64::NAN);
    let rule = |z: &[Merge]| -> Result<Criterion, HierarchyError> {
        let param = HierarchyError::Parameter;
        let bad = |m: String| Err(param(m));
        let count = || {
            if t >= 1.0 && t.fract() == 0.0 {
                Ok(t as usize)
            } else {
                Err(param(format!(
                    "t must be a whole number of clusters >= 1, got {t}"
                )))
            }
        };
        match criterion {
            _ if !t.is_finite() => bad(format!("t must be a finite number, got {t}")),
            "distance" | "inconsistent" if t < 0.0 => bad(format!("t must be >= 0, got {t}")),
            "distance" => Ok(Criterion::Distance(t)),
            "inconsistent" => Ok(Criterion::Inconsistent { t, depth }),
            "maxclust" => Ok(Criterion::MaxClust(count()?)),
            "monocrit" => Ok(Criterion::Monocrit {
                t,
                monocrit: tree::maxdists(z),
            }),
            "maxclust_monocrit" => Ok(Criterion::MaxClustMonocrit {
                t: count()?,
                monocrit: tree::maxdists(z),
            }),
            o => bad(format!("Invalid cluster formation criterion: {o}")),
        }
    };
    let labels = match &labels_out {
        Some(p) => {
            rule(&[]).map_err(value_err)?;
            Some((p.as_path(), &rule as eh::CutRule<'_>))
        }
        None => None,
    };
    let outputs = eh::LinkageOutputs {
        z: z_out.as_deref(),
        labels,
    };
    let run = cancellable(py, progress.as_ref(), |cancel, obs| {
        eh::linkage_file(
            src.as_ref(),
            m,
            &reduce,
            optimal_ordering,
            &pass,
            memory,
            cancel,
            obs,
            outputs,
        )
    })?
    .map_err(linkage_err)?;
    let f = &run.fit;
    let out = linkage_dict(py, f)?;
    out.set_item(
        "precision",
        f.points
            .as_ref()
            .map_or(Precision::F32, |p| p.precision())
            .name(),
    )?;
    out.set_item("sizes", run.sizes.clone())?;
    out.set_item("passes", run.passes.len())?;
    Ok(out)
}

/// A tree's outputs for Python: Z, rows, and when the leaves are not the
/// rows, the leaves, their weights and micro-cluster -> leaf.
fn linkage_dict<'py>(py: Python<'py>, f: &eh::LinkageFit) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("Z", z_out(py, &f.z)?)?;
    out.set_item("rows", f.rows)?;
    if let Some(cb) = &f.codebook {
        out.set_item("leaves", matrix(py, cb.clone(), f.dim)?)?;
    }
    if let Some(w) = &f.weights {
        out.set_item("weights", w.clone().into_pyarray(py))?;
    }
    if let Some(to_leaf) = &f.micro_to_leaf {
        out.set_item("micro_to_leaf", to_leaf.clone().into_pyarray(py))?;
    }
    out.set_item("algorithm", f.algorithm.name())?;
    Ok(out)
}

/// scikit-learn's DBSCAN of every row of a file (the rows are read into
/// memory in the file's precision; the grid needs no distance matrix).
/// `haversine` takes latitude and longitude in degrees, `eps` in radians.
#[pyfunction]
#[pyo3(signature = (path, eps, min_samples, metric="euclidean", columns=None, precision="auto", labels_out=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn dbscan_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    eps: f64,
    min_samples: usize,
    metric: &str,
    columns: Option<Vec<String>>,
    precision: &str,
    labels_out: Option<PathBuf>,
    progress: Option<Bound<'py, PyAny>>,
) -> Pair<'py, PyArray1<i32>, PyArray1<bool>> {
    let metric = dbscan_metric(metric)?;
    if !(eps.is_finite() && eps > 0.0) {
        return Err(value_err(format!("eps must be > 0, got {eps}")));
    }
    let src = open_source(&path, columns)?;
    let params = DbscanParams {
        eps,
        min_samples,
        metric,
        precision: precision_choice(precision)?,
    };
    let out = match &labels_out {
        Some(p) => {
            Some(LabelWriter::create(p, false).map_err(|e| PyOSError::new_err(e.to_string()))?)
        }
        None => None,
    };
    let run = cancellable(py, progress.as_ref(), |cancel, _obs| {
        dbscan_file_engine(src.as_ref(), &params, cancel, out)
    })?
    .map_err(|e| match e {
        ExactError::Engine(EngineError::Cancelled) => PyKeyboardInterrupt::new_err("interrupted"),
        ExactError::Engine(EngineError::Read(r)) => read_err(&r),
        ExactError::Write(w) => PyOSError::new_err(w.to_string()),
        other => value_err(other),
    })?;
    Ok((
        run.result.labels.into_pyarray(py),
        run.result.core.into_pyarray(py),
    ))
}

/// The generator `kind` ("blobs", "spatial", "uniform") with its parameters.
#[allow(clippy::too_many_arguments)]
fn generator(
    kind: &str,
    rows: u64,
    dim: usize,
    k: usize,
    seed: u64,
    spread: f64,
    center_box: f64,
    zipf: Option<f64>,
    noise: Option<f64>,
    bbox: Option<[f64; 4]>,
) -> PyResult<Generator> {
    Ok(match kind {
        "blobs" => {
            let mut b = Blobs::new(rows, dim, k, seed);
            b.spread = spread;
            b.center_box = center_box;
            b.zipf = zipf.unwrap_or(b.zipf);
            b.noise = noise.unwrap_or(b.noise);
            Generator::Blobs(b)
        }
        "spatial" => {
            let mut g = Spatial::new(rows, k, seed);
            g.zipf = zipf.unwrap_or(g.zipf);
            g.noise = noise.unwrap_or(g.noise);
            g.bbox = bbox.unwrap_or(g.bbox);
            Generator::Spatial(g)
        }
        "uniform" => Generator::Uniform(Uniform {
            rows,
            dim,
            seed,
            half_width: center_box,
        }),
        o => return Err(value_err(format!("unknown generator {o:?}"))),
    })
}

/// A seeded synthetic set (the generator of `shoal gen`): in memory as
/// (points float32, labels int32, centres float64), or streamed to `out`
/// (and `labels_out`, `centers_out`) when given, then (None, None, centres).
#[pyfunction]
#[pyo3(signature = (kind, rows, dim=2, k=3, seed=0, spread=1.0, center_box=10.0, zipf=None, noise=None, bbox=None, out=None, labels_out=None, centers_out=None, dtype="float32", row_group_rows=1048576, progress=None))]
#[allow(clippy::too_many_arguments)]
fn generate<'py>(
    py: Python<'py>,
    kind: &str,
    rows: u64,
    dim: usize,
    k: usize,
    seed: u64,
    spread: f64,
    center_box: f64,
    zipf: Option<f64>,
    noise: Option<f64>,
    bbox: Option<[f64; 4]>,
    out: Option<PathBuf>,
    labels_out: Option<PathBuf>,
    centers_out: Option<PathBuf>,
    dtype: &str,
    row_group_rows: usize,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let gen = generator(
        kind, rows, dim, k, seed, spread, center_box, zipf, noise, bbox,
    )?;
    let d = gen.dim();
    let gen_err = |e: WriteFilesError| match e {
        WriteFilesError::Cancelled => PyKeyboardInterrupt::new_err("interrupted"),
        WriteFilesError::Config(c) => value_err(c),
        WriteFilesError::Write(w) => PyOSError::new_err(w.to_string()),
    };
    let start = |obs: &dyn Observer| {
        obs.pass_started(&PassStart {
            name: "generating".into(),
            index: 1,
            max_passes: Some(1),
            rows,
            inertia: None,
        })
    };
    match out {
        Some(out) => {
            let store = match dtype {
                "float32" | "f32" => StoreType::F32,
                "float64" | "f64" => StoreType::F64,
                "float16" | "f16" => StoreType::F16,
                o => {
                    return Err(value_err(format!(
                        "dtype must be float32, float64 or float16, got {o:?}"
                    )))
                }
            };
            let files = GenOutputs {
                out,
                labels_out,
                centers_out,
                store,
                row_group_rows: row_group_rows.max(1),
            };
            let centres = gen.clone().plan().map_err(value_err)?.centers;
            cancellable(py, progress.as_ref(), |cancel, obs| {
                start(obs);
                write_files(gen, &files, cancel, &|n| obs.rows_done(n))
            })?
            .map_err(gen_err)?;
            let c = matrix(py, centres, d)?;
            PyTuple::new(py, [py.None(), py.None(), c.into_any().unbind()])
        }
        None => {
            if labels_out.is_some() || centers_out.is_some() {
                return Err(value_err("labels_out and centers_out go with out"));
            }
            let plan = gen.plan().map_err(value_err)?;
            let cap = usize::try_from(rows).map_err(value_err)?;
            let (x, l) = cancellable(py, progress.as_ref(), |cancel, obs| {
                start(obs);
                let (mut x, mut l) = (Vec::new(), Vec::new());
                x.try_reserve_exact(cap.saturating_mul(d))
                    .map_err(|_| WriteFilesError::Config(GenError::Invalid(format!(
                        "{rows} x {d} float32 values do not fit in memory; give out= to stream them to a file"
                    ))))?;
                l.reserve_exact(cap);
                let done = plan.run(cancel, |p, lab| -> Result<(), WriteFilesError> {
                    x.extend_from_slice(p);
                    l.extend_from_slice(lab);
                    obs.rows_done(lab.len() as u64);
                    Ok(())
                })?;
                if done {
                    Ok((x, l))
                } else {
                    Err(WriteFilesError::Cancelled)
                }
            })?
            .map_err(gen_err)?;
            let x = matrix(py, x, d)?;
            let l = l.into_pyarray(py);
            let c = matrix(py, plan.centers, d)?;
            PyTuple::new(
                py,
                [
                    x.into_any().unbind(),
                    l.into_any().unbind(),
                    c.into_any().unbind(),
                ],
            )
        }
    }
}

/// What a file holds: rows, dimension, columns, storage, format.
#[pyfunction]
#[pyo3(signature = (path, columns=None))]
fn read_info<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    columns: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyDict>> {
    let src = open_source(&path, columns)?;
    let i = src.info();
    let out = PyDict::new(py);
    out.set_item("path", i.path.display().to_string())?;
    out.set_item("format", i.format.name())?;
    out.set_item("rows", i.rows)?;
    out.set_item("dim", i.dim)?;
    out.set_item("columns", i.columns.clone())?;
    out.set_item("storage", i.storage.clone())?;
    out.set_item("row_groups", i.row_groups)?;
    out.set_item("file_bytes", i.file_bytes)?;
    Ok(out)
}

/// Sizes the worker pool; only before the first computation.
#[pyfunction]
fn set_num_threads(n: usize) -> PyResult<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err(
                "set_num_threads must be called before shoal's first computation",
            )
        })
}

#[pyfunction]
fn num_threads() -> usize {
    rayon::current_num_threads()
}

#[pymodule]
fn _shoal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(vq_f64, m)?)?;
    m.add_function(wrap_pyfunction!(vq_f32, m)?)?;
    m.add_function(wrap_pyfunction!(update_cluster_means_f64, m)?)?;
    m.add_function(wrap_pyfunction!(update_cluster_means_f32, m)?)?;
    m.add_function(wrap_pyfunction!(pdist, m)?)?;
    m.add_function(wrap_pyfunction!(linkage_condensed, m)?)?;
    m.add_function(wrap_pyfunction!(linkage_obs, m)?)?;
    m.add_function(wrap_pyfunction!(optimal_leaf_ordering, m)?)?;
    m.add_function(wrap_pyfunction!(fcluster, m)?)?;
    m.add_function(wrap_pyfunction!(cophenet, m)?)?;
    m.add_function(wrap_pyfunction!(inconsistent, m)?)?;
    m.add_function(wrap_pyfunction!(maxdists, m)?)?;
    m.add_function(wrap_pyfunction!(maxinconsts, m)?)?;
    m.add_function(wrap_pyfunction!(leaves_list, m)?)?;
    m.add_function(wrap_pyfunction!(leaders, m)?)?;
    m.add_function(wrap_pyfunction!(dendrogram, m)?)?;
    m.add_function(wrap_pyfunction!(dbscan, m)?)?;
    m.add_function(wrap_pyfunction!(silhouette_samples, m)?)?;
    m.add_function(wrap_pyfunction!(davies_bouldin, m)?)?;
    m.add_function(wrap_pyfunction!(calinski_harabasz, m)?)?;
    m.add_function(wrap_pyfunction!(external, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans_fit, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans_fit_file, m)?)?;
    m.add_function(wrap_pyfunction!(assign_file, m)?)?;
    m.add_function(wrap_pyfunction!(read_info, m)?)?;
    m.add_function(wrap_pyfunction!(linkage_file, m)?)?;
    m.add_function(wrap_pyfunction!(dbscan_file, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(plot::plot_scatter, m)?)?;
    m.add_function(wrap_pyfunction!(plot::plot_scatter_file, m)?)?;
    m.add_function(wrap_pyfunction!(plot::plot_dendrogram, m)?)?;
    m.add_function(wrap_pyfunction!(plot::plot_silhouette, m)?)?;
    m.add_function(wrap_pyfunction!(plot::svg_to_png, m)?)?;
    m.add_class::<remote::Partition>()?;
    m.add_function(wrap_pyfunction!(remote::partition_file, m)?)?;
    m.add_function(wrap_pyfunction!(remote::partition_file_lazy, m)?)?;
    m.add_function(wrap_pyfunction!(remote::partition_array, m)?)?;
    m.add_function(wrap_pyfunction!(remote::file_partitions, m)?)?;
    m.add_function(wrap_pyfunction!(remote::kmeans_fit_remote, m)?)?;
    m.add_function(wrap_pyfunction!(remote::chunk_rows, m)?)?;
    m.add_function(wrap_pyfunction!(remote::linkage_micro_remote, m)?)?;
    m.add_function(wrap_pyfunction!(remote::label_file, m)?)?;
    m.add_function(wrap_pyfunction!(remote::scores_remote, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    Ok(())
}
