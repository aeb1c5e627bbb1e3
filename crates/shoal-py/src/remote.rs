//! Bindings for `shoal.dask`: partitions held by Dask workers
//! ([`Partition`]), and a k-means fit whose passes they run
//! ([`kmeans_fit_remote`]): the fit itself runs here, in the engine, and
//! each pass's job goes to every partition through a Python runner (the
//! Dask client), its partials coming back as bytes.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use numpy::{PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use shoal_engine::hierarchy as eh;
use shoal_engine::kmeans as km;
use shoal_engine::remote::{run_streamed, Job, PartResult, Remote, Resident};
use shoal_engine::{EngineError, Observer};
use shoal_reader::{SliceSource, Source};

use crate::{
    cancellable, config, fit_dict, kmeans_err, matrix, open_source, read_err, rows, value_err,
};

fn engine_err(e: EngineError) -> PyErr {
    match e {
        EngineError::Read(r) => read_err(&r),
        EngineError::Cancelled => pyo3::exceptions::PyKeyboardInterrupt::new_err("interrupted"),
        other => value_err(other),
    }
}

/// How a partition was made, to make it again where it is unpickled (a
/// file partition travels as its file name and number, never its rows).
#[derive(Debug, Clone)]
enum Recipe {
    File {
        path: PathBuf,
        columns: Option<Vec<String>>,
        index: usize,
        offset: u64,
        chunk_rows: usize,
        resident: bool,
    },
    Array {
        first_row: u64,
        chunk_rows: usize,
    },
}

#[derive(Debug)]
enum Held {
    Resident(Resident),
    Streamed {
        source: Box<dyn Source>,
        rows: Range<u64>,
        offset: u64,
    },
}

/// A partition of a dataset on a worker: its rows read once and kept
/// (resident), or read from the file on every pass (streamed).
#[derive(Debug)]
#[pyclass(module = "shoal._shoal", frozen)]
pub struct Partition {
    /// Empty in a file partition just unpickled: it is read on first use,
    /// so that a file that has gone is an error of the task that needs
    /// it (raised to the client), not of the transfer.
    held: OnceLock<Held>,
    recipe: Recipe,
}

/// Partition `index` of file `path` (its row numbers shifted by `offset`,
/// the rows of the dataset's earlier files), read now and kept when
/// `resident`.
#[pyfunction]
#[pyo3(signature = (path, columns, index, offset, chunk_rows, resident))]
pub fn partition_file(
    py: Python<'_>,
    path: PathBuf,
    columns: Option<Vec<String>>,
    index: usize,
    offset: u64,
    chunk_rows: usize,
    resident: bool,
) -> PyResult<Partition> {
    let recipe = Recipe::File {
        path,
        columns,
        index,
        offset,
        chunk_rows: chunk_rows.max(1),
        resident,
    };
    let held = OnceLock::new();
    let _ = held.set(load(py, &recipe)?);
    Ok(Partition { held, recipe })
}

/// A file partition to be read on first use (how one is unpickled).
#[pyfunction]
#[pyo3(signature = (path, columns, index, offset, chunk_rows, resident))]
pub fn partition_file_lazy(
    path: PathBuf,
    columns: Option<Vec<String>>,
    index: usize,
    offset: u64,
    chunk_rows: usize,
    resident: bool,
) -> Partition {
    Partition {
        held: OnceLock::new(),
        recipe: Recipe::File {
            path,
            columns,
            index,
            offset,
            chunk_rows: chunk_rows.max(1),
            resident,
        },
    }
}

/// Reads a file partition as its recipe says.
fn load(py: Python<'_>, recipe: &Recipe) -> PyResult<Held> {
    let Recipe::File {
        path,
        columns,
        index,
        offset,
        chunk_rows,
        resident,
    } = recipe
    else {
        return Err(value_err("an array partition holds its rows"));
    };
    let (index, offset, chunk_rows) = (*index, *offset, *chunk_rows);
    let source = open_source(path, columns.clone())?;
    let parts = source.partitions();
    let rows = parts.get(index).cloned().ok_or_else(|| {
        value_err(format!(
            "{}: partition {index} asked for, the file has {} (was it replaced?)",
            path.display(),
            parts.len()
        ))
    })?;
    Ok(if *resident {
        let r = py
            .detach(|| {
                Resident::load(
                    source.as_ref(),
                    rows,
                    offset,
                    chunk_rows.max(1),
                    &AtomicBool::new(false),
                )
            })
            .map_err(engine_err)?;
        Held::Resident(r)
    } else {
        Held::Streamed {
            source,
            rows,
            offset,
        }
    })
}

/// A partition of a float32 array (a row chunk of a dask array whose first
/// row is `first_row`), kept.
#[pyfunction]
pub fn partition_array(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f32>,
    first_row: u64,
    chunk_rows: usize,
) -> PyResult<Partition> {
    // (an array unpickled from a message may be an unaligned or strided
    // view: then its rows are copied, in order)
    let owned: Vec<f32>;
    let (v, d) = match rows(&x) {
        Ok(r) => r,
        Err(_) => {
            owned = x.as_array().iter().copied().collect();
            (&owned[..], x.as_array().ncols())
        }
    };
    let src = SliceSource::new(v, d, "X").map_err(|e| read_err(&e))?;
    let n = src.info().rows;
    let r = py
        .detach(|| {
            Resident::load(
                &src,
                0..n,
                first_row,
                chunk_rows.max(1),
                &AtomicBool::new(false),
            )
        })
        .map_err(engine_err)?;
    Ok(Partition {
        held: OnceLock::from(Held::Resident(r)),
        recipe: Recipe::Array {
            first_row,
            chunk_rows: chunk_rows.max(1),
        },
    })
}

impl Partition {
    /// The rows (or the open source), read now if not yet.
    fn held(&self, py: Python<'_>) -> PyResult<&Held> {
        if self.held.get().is_none() {
            let h = load(py, &self.recipe)?;
            let _ = self.held.set(h);
        }
        self.held
            .get()
            .ok_or_else(|| value_err("partition not loaded"))
    }
}

#[pymethods]
impl Partition {
    /// Runs an encoded job over this partition: its encoded result.
    fn run<'py>(&self, py: Python<'py>, job: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let job = Job::decode(job).map_err(value_err)?;
        let held = self.held(py)?;
        let out = py
            .detach(|| match held {
                Held::Resident(r) => r.run(&job),
                Held::Streamed {
                    source,
                    rows,
                    offset,
                } => run_streamed(
                    source.as_ref(),
                    rows.clone(),
                    *offset,
                    &job,
                    &AtomicBool::new(false),
                ),
            })
            .map_err(engine_err)?;
        Ok(PyBytes::new(py, &out.encode()))
    }

    /// Rows of the partition (valid rows, for a resident one).
    #[getter]
    fn rows(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(match self.held(py)? {
            Held::Resident(r) => r.rows(),
            Held::Streamed { rows, .. } => rows.end - rows.start,
        })
    }

    /// Whether the rows are held in memory.
    #[getter]
    fn resident(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(matches!(self.held(py)?, Held::Resident(_)))
    }

    /// Bytes held (Dask's memory accounting reads `sys.getsizeof`).
    fn __sizeof__(&self) -> usize {
        64 + match self.held.get() {
            Some(Held::Resident(r)) => r.bytes(),
            _ => 0,
        }
    }

    /// Pickled as the recipe: a file partition as its file name and
    /// number (read again where it is first used), an array partition as its rows.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let me = slf.get();
        let m = py.import("shoal._shoal")?;
        match &me.recipe {
            Recipe::File {
                path,
                columns,
                index,
                offset,
                chunk_rows,
                resident,
            } => {
                let args = (
                    path.clone(),
                    columns.clone(),
                    *index,
                    *offset,
                    *chunk_rows,
                    *resident,
                )
                    .into_pyobject(py)?;
                (m.getattr("partition_file_lazy")?, args).into_pyobject(py)
            }
            Recipe::Array {
                first_row,
                chunk_rows,
            } => {
                let Some(Held::Resident(r)) = me.held.get() else {
                    return Err(value_err("an array partition holds its rows"));
                };
                let d = r.values().len() / (r.rows().max(1) as usize);
                let x: Bound<'py, PyArray2<f32>> = matrix(py, r.values().to_vec(), d.max(1))?;
                let args = (x, *first_row, *chunk_rows).into_pyobject(py)?;
                (m.getattr("partition_array")?, args).into_pyobject(py)
            }
        }
    }
}

/// A file's rows, dimension, column names and partitions (row ranges).
type FilePartitions = (u64, usize, Vec<String>, Vec<(u64, u64)>);

/// The partitions of a file: `(rows, dim, columns, [(start, end), ...])`.
#[pyfunction]
#[pyo3(signature = (path, columns=None))]
pub fn file_partitions(path: PathBuf, columns: Option<Vec<String>>) -> PyResult<FilePartitions> {
    let s = open_source(&path, columns)?;
    let info = s.info();
    Ok((
        info.rows,
        info.dim,
        info.columns.clone(),
        s.partitions().iter().map(|r| (r.start, r.end)).collect(),
    ))
}

/// The engine's [`Remote`] over a Python runner: `runner.submit(job)`
/// returns a pending pass with `done()`, `result()` (one encoded result
/// per partition, in partition order) and `cancel()`.
struct PyRemote {
    runner: Py<PyAny>,
    shape: (u64, usize),
    /// The exception a runner call raised (a worker's error, re-raised by
    /// the client), handed back to Python as it is.
    error: Mutex<Option<PyErr>>,
}

impl PyRemote {
    fn fail(&self, e: PyErr) -> EngineError {
        let msg = Python::attach(|py| e.value(py).to_string());
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        EngineError::Remote(msg)
    }
}

/// How often a pending pass is polled for completion and Ctrl-C.
const POLL: Duration = Duration::from_millis(5);

impl Remote for PyRemote {
    fn shape(&self) -> (u64, usize) {
        self.shape
    }

    fn run(
        &self,
        job: &Job,
        cancel: &AtomicBool,
        observer: &dyn Observer,
    ) -> Result<Vec<PartResult>, EngineError> {
        let bytes = job.encode();
        let pending = Python::attach(|py| {
            self.runner
                .call_method1(py, "submit", (PyBytes::new(py, &bytes),))
        })
        .map_err(|e| self.fail(e))?;
        loop {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = Python::attach(|py| pending.call_method0(py, "cancel"));
                return Err(EngineError::Cancelled);
            }
            let done = Python::attach(|py| {
                pending
                    .call_method0(py, "done")
                    .and_then(|d| d.extract::<bool>(py))
            })
            .map_err(|e| self.fail(e))?;
            if done {
                break;
            }
            std::thread::sleep(POLL);
        }
        let encoded: Vec<Vec<u8>> = Python::attach(|py| {
            let r = pending.call_method0(py, "result")?;
            let list = r.bind(py).cast::<PyList>()?.clone();
            list.iter()
                .map(|b| Ok(b.cast::<PyBytes>()?.as_bytes().to_vec()))
                .collect::<PyResult<Vec<_>>>()
        })
        .map_err(|e| self.fail(e))?;
        let mut out = Vec::with_capacity(encoded.len());
        for (i, b) in encoded.iter().enumerate() {
            let p = PartResult::decode(b)
                .map_err(|e| EngineError::Remote(format!("partition {i}: {e}")))?;
            observer.rows_done(p.rows + p.skipped);
            out.push(p);
        }
        Ok(out)
    }
}

/// Runs `work` in the engine with a [`PyRemote`] over `runner` (Ctrl-C and
/// `progress` as [`cancellable`]); an exception a runner call raised (a
/// worker's, re-raised by the client) is raised as it is.
fn on_workers<R: Send>(
    py: Python<'_>,
    runner: Py<PyAny>,
    shape: (u64, usize),
    progress: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce(&PyRemote, &AtomicBool, &dyn Observer) -> R + Send,
) -> PyResult<R> {
    let remote = PyRemote {
        runner,
        shape,
        error: Mutex::new(None),
    };
    let r = cancellable(py, progress, |cancel, obs| work(&remote, cancel, obs))?;
    if let Some(e) = remote
        .error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(e);
    }
    Ok(r)
}

/// k-means over a dataset held by Dask workers: the engine's fit, every
/// pass's partitions run by `runner` (see [`PyRemote`]). `rows` and `dim`
/// are the dataset's; `chunk_rows` the blocks the partitions were read in.
/// With `model_out`, the MODEL.json `shoal fit` writes (with `columns` and
/// `source` recorded in it), atomically.
#[pyfunction]
#[pyo3(signature = (runner, rows, dim, k, chunk_rows, algorithm="lloyd", init="k-means||", init_centers=None, n_init=1, max_iter=300, tol=1e-4, seed=0, sample_size=None, memory=268435456, progress=None, model_out=None, columns=None, source=None))]
#[allow(clippy::too_many_arguments)]
pub fn kmeans_fit_remote<'py>(
    py: Python<'py>,
    runner: Py<PyAny>,
    rows: u64,
    dim: usize,
    k: usize,
    chunk_rows: usize,
    algorithm: &str,
    init: &str,
    init_centers: Option<PyReadonlyArray2<'py, f32>>,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    sample_size: Option<usize>,
    memory: u64,
    progress: Option<Bound<'py, PyAny>>,
    model_out: Option<PathBuf>,
    columns: Option<Vec<String>>,
    source: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let given = crate::given_centers(&init_centers)?;
    let init_name = match (init, given.is_some()) {
        (_, true) => "given",
        ("k-means++", _) => "kmeans++",
        ("k-means||", _) => "kmeans-parallel",
        (o, _) => o,
    }
    .to_string();
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
        1024,
        memory,
        dim,
    )?;
    cfg.pass.chunk_rows = chunk_rows.max(1);
    let r = on_workers(
        py,
        runner,
        (rows, dim),
        progress.as_ref(),
        |remote, cancel, obs| km::fit_remote(remote, &cfg, cancel, obs),
    )?;
    let f = r.map_err(kmeans_err)?;
    if let Some(p) = &model_out {
        let model = shoal_engine::model::Model::from_fit(
            &f,
            shoal_engine::model::FitParams {
                columns: columns.unwrap_or_else(|| (0..dim).map(|j| format!("x{j}")).collect()),
                init: init_name,
                n_init: cfg.n_init,
                seed,
                tol,
                max_iter,
                source: source.unwrap_or_default(),
            },
        );
        model
            .save(p)
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
    }
    fit_dict(py, f, None)
}

/// The chunk size a fit with `memory` bytes uses for rows of `dim` values
/// (the local fit's, so that partitions are read in the same blocks).
#[pyfunction]
pub fn chunk_rows(memory: u64, dim: usize) -> usize {
    shoal_engine::PassConfig::for_memory(memory, dim, rayon::current_num_threads()).chunk_rows
}

/// k-means to `m` micro-clusters on Dask (Lloyd, as `shoal linkage
/// --micro-clusters M --micro-algorithm lloyd`) and the tree over their
/// weighted centroids, built here: Z, the leaves, their weights,
/// micro-cluster -> leaf.
#[pyfunction]
#[pyo3(signature = (runner, rows, dim, m, chunk_rows, method="ward", seed=0, optimal_ordering=false, memory=1073741824, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn linkage_micro_remote<'py>(
    py: Python<'py>,
    runner: Py<PyAny>,
    rows: u64,
    dim: usize,
    m: usize,
    chunk_rows: usize,
    method: &str,
    seed: u64,
    optimal_ordering: bool,
    memory: u64,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let meth = crate::method(method)?;
    if m < 2 {
        return Err(value_err("micro_clusters needs M >= 2"));
    }
    let mut pass = shoal_engine::PassConfig::for_memory(memory, dim, rayon::current_num_threads());
    pass.chunk_rows = chunk_rows.max(1);
    let cfg = eh::micro_kmeans_config(m, km::Algo::Lloyd, seed, &pass, memory);
    let r = on_workers(
        py,
        runner,
        (rows, dim),
        progress.as_ref(),
        |remote, cancel, obs| {
            let f = km::fit_remote(remote, &cfg, cancel, obs)?;
            eh::linkage_of_micro(f, meth, optimal_ordering, memory)
        },
    )?;
    let f = r.map_err(crate::linkage_err)?;
    let out = crate::linkage_dict(py, &f)?;
    if let Some(k) = &f.kmeans {
        out.set_item("n_iter", k.iterations)?;
        out.set_item("inertia", k.inertia)?;
    }
    Ok(out)
}

/// Flat labels (1..k, as `shoal linkage` writes them) of every row of a
/// file to `out`, atomically: each row takes the label of its nearest leaf
/// (a worker's part of `shoal.dask.linkage_micro`). Returns the rows of
/// each label 1..k.
#[pyfunction]
#[pyo3(signature = (path, leaves, leaf_labels, out, columns=None, memory=268435456))]
#[allow(clippy::too_many_arguments)]
pub fn label_file(
    py: Python<'_>,
    path: PathBuf,
    leaves: PyReadonlyArray2<'_, f32>,
    leaf_labels: Vec<u32>,
    out: PathBuf,
    columns: Option<Vec<String>>,
    memory: u64,
) -> PyResult<Vec<u64>> {
    let src = open_source(&path, columns)?;
    let (c, d) = rows(&leaves)?;
    if d != src.info().dim {
        return Err(value_err(format!(
            "{}: {} values a row, the leaves have {d}",
            path.display(),
            src.info().dim
        )));
    }
    let pass = shoal_engine::PassConfig::for_memory(memory, d, rayon::current_num_threads());
    let mut sink = eh::FlatLabels::create(&out).map_err(|e| PyOSError::new_err(e.to_string()))?;
    let r = py.detach(|| {
        eh::label_rows_by_leaves(
            src.as_ref(),
            c,
            d,
            &leaf_labels,
            &pass,
            &AtomicBool::new(false),
            &shoal_engine::Silent,
            &mut sink,
        )
    });
    r.map_err(crate::linkage_err)?;
    let sizes = sink.sizes();
    sink.finish()
        .map_err(|e| PyOSError::new_err(e.to_string()))?;
    Ok(sizes)
}

/// Inertia, Calinski-Harabasz and Davies-Bouldin of the labelling of every
/// row by its nearest of `centroids` over a dataset held by Dask workers
/// (two passes), and with `sample` the seeded sample of that many rows (for
/// a silhouette on the client).
#[pyfunction]
#[pyo3(signature = (runner, rows, dim, centroids, chunk_rows, sample=0, seed=0, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn scores_remote<'py>(
    py: Python<'py>,
    runner: Py<PyAny>,
    rows: u64,
    dim: usize,
    centroids: PyReadonlyArray2<'py, f32>,
    chunk_rows: usize,
    sample: usize,
    seed: u64,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (c, d) = crate::rows(&centroids)?;
    if d != dim || c.is_empty() {
        return Err(value_err(format!(
            "centroids of {d} values for data of {dim}"
        )));
    }
    let r = on_workers(
        py,
        runner,
        (rows, dim),
        progress.as_ref(),
        |remote, cancel, obs| {
            let s = shoal_engine::remote::scores_remote(remote, c, chunk_rows.max(1), cancel, obs)?;
            let x = match sample {
                0 => Vec::new(),
                n => shoal_engine::remote::sample_remote(
                    remote,
                    n,
                    seed,
                    chunk_rows.max(1),
                    cancel,
                    obs,
                )?,
            };
            Ok::<_, EngineError>((s, x))
        },
    )?;
    let (s, x) = r.map_err(engine_err)?;
    let out = PyDict::new(py);
    out.set_item("rows", s.rows)?;
    out.set_item("inertia", s.inertia)?;
    out.set_item("clusters", s.clusters)?;
    out.set_item("within", s.within)?;
    out.set_item("calinski_harabasz", s.calinski_harabasz)?;
    out.set_item("davies_bouldin", s.davies_bouldin)?;
    if sample > 0 {
        out.set_item("sample", matrix(py, x, dim)?)?;
    }
    Ok(out)
}
