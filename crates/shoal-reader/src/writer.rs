//! Streaming writers for outputs: `.npy`, raw `.f32` (+ `.json` sidecar) and
//! Parquet. Every writer writes to a temporary file in the destination's
//! directory and renames it into place only in `finish`; dropping a writer
//! without finishing (an error, Ctrl-C) deletes the temporary file, so a
//! failed run never leaves a half-written output.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float16Array, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    UInt32Array,
};
use arrow_schema::{DataType, Field, Schema};
use half::f16;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use tempfile::NamedTempFile;

use crate::raw::sidecar_path;
use crate::source::Format;

/// An error while writing an output file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: parquet writer: {detail}")]
    Parquet { path: PathBuf, detail: String },
    #[error("{path}: {detail}")]
    Usage { path: PathBuf, detail: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A temporary file beside `path`, renamed to `path` by `commit`. For an
/// object-store URL, the temporary file is local (in the system's temporary
/// directory) and `commit` uploads it: the object appears whole, or not at
/// all when the run fails or is interrupted first.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: NamedTempFile,
    path: PathBuf,
}

fn remote_err(e: crate::ReadError) -> WriteError {
    match e {
        crate::ReadError::Io { path, source } => WriteError::Io { path, source },
        other => WriteError::Usage {
            path: PathBuf::new(),
            detail: other.to_string(),
        },
    }
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<Self, WriteError> {
        if crate::remote::is_url(path) {
            // The store is built (its options checked) before any work.
            crate::remote::locate(&path.to_string_lossy()).map_err(remote_err)?;
            let tmp = tempfile::Builder::new()
                .prefix(".shoal-upload.")
                .tempfile()
                .map_err(io(path))?;
            return Ok(AtomicFile {
                tmp,
                path: path.to_path_buf(),
            });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // Temporary files are private (0600) by default; an output should get
        // the ordinary mode, 0666 less the process umask.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(&dir).map_err(io(path))?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    pub fn file(&self) -> &File {
        self.tmp.as_file()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes to disk and renames into place (or uploads).
    pub fn commit(self) -> Result<(), WriteError> {
        if crate::remote::is_url(&self.path) {
            return crate::remote::upload(self.tmp.path(), &self.path.to_string_lossy())
                .map_err(remote_err);
        }
        self.tmp.as_file().sync_all().map_err(io(&self.path))?;
        let path = self.path;
        self.tmp.persist(&path).map_err(|e| WriteError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(())
    }
}

/// Element types the `.npy` writer stores.
pub trait NpyElem: bytemuck::Pod {
    const DESCR: &'static str;
}
impl NpyElem for f32 {
    const DESCR: &'static str = "<f4";
}
impl NpyElem for f64 {
    const DESCR: &'static str = "<f8";
}
impl NpyElem for f16 {
    const DESCR: &'static str = "<f2";
}
impl NpyElem for i32 {
    const DESCR: &'static str = "<i4";
}
impl NpyElem for i64 {
    const DESCR: &'static str = "<i8";
}
impl NpyElem for u32 {
    const DESCR: &'static str = "<u4";
}

/// npy v1 header for `shape`, padded to exactly `total` bytes (magic included).
fn npy_header(descr: &str, rows: u64, dim: Option<usize>, total: usize) -> Vec<u8> {
    let shape = match dim {
        Some(d) => format!("({rows}, {d})"),
        None => format!("({rows},)"),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    let hlen = total - 10;
    h.extend_from_slice(&(hlen as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

/// Header size that fits any row count: the dict with a 20-digit row count,
/// rounded up to a multiple of 64 bytes as numpy does.
fn npy_header_len(descr: &str, dim: Option<usize>) -> usize {
    let widest = npy_header_min(descr, u64::MAX, dim);
    widest.div_ceil(64) * 64
}

fn npy_header_min(descr: &str, rows: u64, dim: Option<usize>) -> usize {
    let shape = match dim {
        Some(d) => format!("({rows}, {d})"),
        None => format!("({rows},)"),
    };
    10 + format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}").len() + 1
}

/// Streams a C-order `.npy` array of `T`: 2-D `(rows, dim)`, or 1-D when
/// created with `dim = None`. The row count is written into the header by `finish`.
#[derive(Debug)]
pub struct NpyWriter<T: NpyElem> {
    out: BufWriter<File>,
    file: AtomicFile,
    dim: Option<usize>,
    header_len: usize,
    values: u64,
    _t: std::marker::PhantomData<T>,
}

impl<T: NpyElem> NpyWriter<T> {
    pub fn create(path: &Path, dim: Option<usize>) -> Result<Self, WriteError> {
        let file = AtomicFile::create(path)?;
        let header_len = npy_header_len(T::DESCR, dim);
        let handle = file.file().try_clone().map_err(io(path))?;
        let mut out = BufWriter::with_capacity(1 << 20, handle);
        out.write_all(&npy_header(T::DESCR, 0, dim, header_len))
            .map_err(io(path))?;
        Ok(NpyWriter {
            out,
            file,
            dim,
            header_len,
            values: 0,
            _t: std::marker::PhantomData,
        })
    }

    /// Appends values (whole rows, row-major).
    pub fn write(&mut self, values: &[T]) -> Result<(), WriteError> {
        let path = self.file.path().to_path_buf();
        if cfg!(target_endian = "little") {
            self.out
                .write_all(bytemuck::cast_slice(values))
                .map_err(io(&path))?;
        } else {
            for v in values {
                let mut b = bytemuck::bytes_of(v).to_vec();
                b.reverse();
                self.out.write_all(&b).map_err(io(&path))?;
            }
        }
        self.values += values.len() as u64;
        Ok(())
    }

    pub fn finish(mut self) -> Result<u64, WriteError> {
        let path = self.file.path().to_path_buf();
        let d = self.dim.unwrap_or(1) as u64;
        if !self.values.is_multiple_of(d) {
            return Err(WriteError::Usage {
                path,
                detail: format!("{} values are not whole rows of {d}", self.values),
            });
        }
        let rows = self.values / d;
        self.out.flush().map_err(io(&path))?;
        let mut f = self.out.into_inner().map_err(|e| WriteError::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        f.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        f.write_all(&npy_header(T::DESCR, rows, self.dim, self.header_len))
            .map_err(io(&path))?;
        self.file.commit()?;
        Ok(rows)
    }
}

/// Storage type of a written point matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreType {
    #[default]
    F32,
    F16,
    F64,
}

impl StoreType {
    pub fn name(self) -> &'static str {
        match self {
            StoreType::F32 => "f32",
            StoreType::F16 => "f16",
            StoreType::F64 => "f64",
        }
    }
}

/// One column of values for the Parquet writer.
#[derive(Debug, Clone, Copy)]
pub enum ColumnData<'a> {
    F16(&'a [f16]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U32(&'a [u32]),
}

impl ColumnData<'_> {
    fn len(&self) -> usize {
        match self {
            ColumnData::F16(v) => v.len(),
            ColumnData::F32(v) => v.len(),
            ColumnData::F64(v) => v.len(),
            ColumnData::I32(v) => v.len(),
            ColumnData::I64(v) => v.len(),
            ColumnData::U32(v) => v.len(),
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            ColumnData::F16(_) => DataType::Float16,
            ColumnData::F32(_) => DataType::Float32,
            ColumnData::F64(_) => DataType::Float64,
            ColumnData::I32(_) => DataType::Int32,
            ColumnData::I64(_) => DataType::Int64,
            ColumnData::U32(_) => DataType::UInt32,
        }
    }

    fn to_array(self) -> ArrayRef {
        match self {
            ColumnData::F16(v) => Arc::new(Float16Array::from(v.to_vec())),
            ColumnData::F32(v) => Arc::new(Float32Array::from(v.to_vec())),
            ColumnData::F64(v) => Arc::new(Float64Array::from(v.to_vec())),
            ColumnData::I32(v) => Arc::new(Int32Array::from(v.to_vec())),
            ColumnData::I64(v) => Arc::new(Int64Array::from(v.to_vec())),
            ColumnData::U32(v) => Arc::new(UInt32Array::from(v.to_vec())),
        }
    }
}

/// Streams a Parquet table of typed columns, one row group per
/// `row_group_rows` rows, snappy-compressed, no dictionaries.
#[derive(Debug)]
pub struct ParquetTableWriter {
    inner: BatchWriter,
    schema: Arc<Schema>,
}

/// Default rows per Parquet row group.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1 << 20;

impl ParquetTableWriter {
    /// `columns`: (name, type) of each column; `row_group_rows`: rows per row group.
    pub fn create(
        path: &Path,
        columns: &[(String, DataType)],
        row_group_rows: usize,
    ) -> Result<Self, WriteError> {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(n, t)| Field::new(n, t.clone(), false))
                .collect::<Vec<_>>(),
        ));
        // Dictionaries do not pay on continuous numbers and cost encode time.
        let inner = BatchWriter::with_options(path, schema.clone(), row_group_rows, false)?;
        Ok(ParquetTableWriter { inner, schema })
    }

    /// Appends rows given column by column (all the same length, types as declared).
    pub fn write(&mut self, cols: &[ColumnData<'_>]) -> Result<(), WriteError> {
        let path = self.inner.file.path().to_path_buf();
        let perr = |detail: String| WriteError::Parquet {
            path: path.clone(),
            detail,
        };
        if cols.len() != self.schema.fields().len() {
            return Err(perr(format!(
                "{} columns given, the table has {}",
                cols.len(),
                self.schema.fields().len()
            )));
        }
        let n = cols.first().map_or(0, |c| c.len());
        for (c, f) in cols.iter().zip(self.schema.fields()) {
            if c.len() != n || &c.data_type() != f.data_type() {
                return Err(perr(format!(
                    "column {} has the wrong length or type",
                    f.name()
                )));
            }
        }
        let arrays: Vec<ArrayRef> = cols.iter().map(|c| c.to_array()).collect();
        let batch =
            RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| perr(e.to_string()))?;
        self.inner.write(&batch)
    }

    pub fn finish(self) -> Result<u64, WriteError> {
        self.inner.finish()
    }
}

/// Writes a point matrix (row-major f32 in, stored as `store`) to `.npy`,
/// `.f32` or `.parquet` (one column per dimension, named by `columns`).
#[derive(Debug)]
pub enum MatrixWriter {
    NpyF32(NpyWriter<f32>),
    NpyF16(NpyWriter<f16>),
    NpyF64(NpyWriter<f64>),
    Raw {
        out: BufWriter<File>,
        file: AtomicFile,
        dim: usize,
    },
    Parquet {
        w: Box<ParquetTableWriter>,
        dim: usize,
        store: StoreType,
    },
}

impl MatrixWriter {
    pub fn create(
        path: &Path,
        dim: usize,
        columns: &[String],
        store: StoreType,
        row_group_rows: usize,
    ) -> Result<Self, WriteError> {
        let usage = |detail: String| WriteError::Usage {
            path: path.to_path_buf(),
            detail,
        };
        match Format::from_path(path) {
            Some(Format::Npy) => Ok(match store {
                StoreType::F32 => MatrixWriter::NpyF32(NpyWriter::create(path, Some(dim))?),
                StoreType::F16 => MatrixWriter::NpyF16(NpyWriter::create(path, Some(dim))?),
                StoreType::F64 => MatrixWriter::NpyF64(NpyWriter::create(path, Some(dim))?),
            }),
            Some(Format::RawF32) => {
                if store != StoreType::F32 {
                    return Err(usage(format!(
                        "a raw .f32 file stores float32; use .npy or .parquet for {}",
                        store.name()
                    )));
                }
                let file = AtomicFile::create(path)?;
                let out =
                    BufWriter::with_capacity(1 << 20, file.file().try_clone().map_err(io(path))?);
                Ok(MatrixWriter::Raw { out, file, dim })
            }
            Some(Format::Parquet) => {
                let dt = match store {
                    StoreType::F32 => DataType::Float32,
                    StoreType::F16 => DataType::Float16,
                    StoreType::F64 => DataType::Float64,
                };
                let cols: Vec<(String, DataType)> =
                    columns.iter().map(|c| (c.clone(), dt.clone())).collect();
                if cols.len() != dim {
                    return Err(usage(format!(
                        "{} column names for dimension {dim}",
                        cols.len()
                    )));
                }
                Ok(MatrixWriter::Parquet {
                    w: Box::new(ParquetTableWriter::create(path, &cols, row_group_rows)?),
                    dim,
                    store,
                })
            }
            _ => Err(usage(
                "unknown output type; write .parquet, .npy or .f32".into(),
            )),
        }
    }

    /// Appends whole rows (row-major f32).
    pub fn write(&mut self, data: &[f32]) -> Result<(), WriteError> {
        match self {
            MatrixWriter::NpyF32(w) => w.write(data),
            MatrixWriter::NpyF16(w) => {
                let v: Vec<f16> = data.iter().map(|&x| f16::from_f32(x)).collect();
                w.write(&v)
            }
            MatrixWriter::NpyF64(w) => {
                let v: Vec<f64> = data.iter().map(|&x| x as f64).collect();
                w.write(&v)
            }
            MatrixWriter::Raw { out, file, .. } => {
                let path = file.path().to_path_buf();
                if cfg!(target_endian = "little") {
                    out.write_all(bytemuck::cast_slice(data)).map_err(io(&path))
                } else {
                    for x in data {
                        out.write_all(&x.to_le_bytes()).map_err(io(&path))?;
                    }
                    Ok(())
                }
            }
            MatrixWriter::Parquet { w, dim, store } => {
                let n = data.len() / *dim;
                let mut f32s: Vec<Vec<f32>> = Vec::new();
                let mut f16s: Vec<Vec<f16>> = Vec::new();
                let mut f64s: Vec<Vec<f64>> = Vec::new();
                for j in 0..*dim {
                    let col = (0..n).map(|i| data[i * *dim + j]);
                    match store {
                        StoreType::F32 => f32s.push(col.collect()),
                        StoreType::F16 => f16s.push(col.map(f16::from_f32).collect()),
                        StoreType::F64 => f64s.push(col.map(|x| x as f64).collect()),
                    }
                }
                let cols: Vec<ColumnData<'_>> = match store {
                    StoreType::F32 => f32s.iter().map(|v| ColumnData::F32(v)).collect(),
                    StoreType::F16 => f16s.iter().map(|v| ColumnData::F16(v)).collect(),
                    StoreType::F64 => f64s.iter().map(|v| ColumnData::F64(v)).collect(),
                };
                w.write(&cols)
            }
        }
    }

    /// Finishes the file and renames it into place; returns the row count.
    pub fn finish(self) -> Result<u64, WriteError> {
        match self {
            MatrixWriter::NpyF32(w) => w.finish(),
            MatrixWriter::NpyF16(w) => w.finish(),
            MatrixWriter::NpyF64(w) => w.finish(),
            MatrixWriter::Raw { mut out, file, dim } => {
                let path = file.path().to_path_buf();
                out.flush().map_err(io(&path))?;
                let bytes = out.get_ref().metadata().map_err(io(&path))?.len();
                drop(out);
                file.commit()?;
                // The sidecar is tiny; written atomically after the data.
                let side = sidecar_path(&path);
                let sf = AtomicFile::create(&side)?;
                writeln!(sf.file(), "{{\"dim\": {dim}}}").map_err(io(&side))?;
                sf.commit()?;
                Ok(bytes / (dim as u64 * 4))
            }
            MatrixWriter::Parquet { w, .. } => w.finish(),
        }
    }
}

/// Writes labels (one per row) to `.npy` (int32, 1-D) or `.parquet` (an
/// int32 column `cluster`, and with `with_distance` a float32 `distance`;
/// `.npy` holds the labels only).
#[derive(Debug)]
pub enum LabelWriter {
    Npy(NpyWriter<i32>),
    Parquet(Box<ParquetTableWriter>),
}

impl LabelWriter {
    pub fn create(path: &Path, with_distance: bool) -> Result<Self, WriteError> {
        match Format::from_path(path) {
            Some(Format::Npy) => Ok(LabelWriter::Npy(NpyWriter::create(path, None)?)),
            Some(Format::Parquet) => {
                let mut cols = vec![("cluster".to_string(), DataType::Int32)];
                if with_distance {
                    cols.push(("distance".to_string(), DataType::Float32));
                }
                Ok(LabelWriter::Parquet(Box::new(ParquetTableWriter::create(
                    path,
                    &cols,
                    DEFAULT_ROW_GROUP_ROWS,
                )?)))
            }
            _ => Err(WriteError::Usage {
                path: path.to_path_buf(),
                detail: "labels are written to .npy or .parquet".into(),
            }),
        }
    }

    /// `distance` is required exactly when the writer was created `with_distance`
    /// (and ignored for `.npy`).
    pub fn write(&mut self, labels: &[i32], distance: Option<&[f32]>) -> Result<(), WriteError> {
        match (self, distance) {
            (LabelWriter::Npy(w), _) => w.write(labels),
            (LabelWriter::Parquet(w), None) => w.write(&[ColumnData::I32(labels)]),
            (LabelWriter::Parquet(w), Some(d)) => {
                w.write(&[ColumnData::I32(labels), ColumnData::F32(d)])
            }
        }
    }

    pub fn finish(self) -> Result<u64, WriteError> {
        match self {
            LabelWriter::Npy(w) => w.finish(),
            LabelWriter::Parquet(w) => w.finish(),
        }
    }
}

/// Streams Arrow record batches of a fixed schema to a Parquet file
/// (snappy, `DEFAULT_ROW_GROUP_ROWS` rows per row group), atomically.
pub struct BatchWriter {
    writer: ArrowWriter<BufWriter<File>>,
    file: AtomicFile,
    rows: u64,
}

impl std::fmt::Debug for BatchWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter")
            .field("path", &self.file.path())
            .field("rows", &self.rows)
            .finish()
    }
}

impl BatchWriter {
    /// Snappy, `DEFAULT_ROW_GROUP_ROWS` rows per row group, dictionaries where they pay.
    pub fn create(path: &Path, schema: Arc<Schema>) -> Result<Self, WriteError> {
        Self::with_options(path, schema, DEFAULT_ROW_GROUP_ROWS, true)
    }

    pub fn with_options(
        path: &Path,
        schema: Arc<Schema>,
        row_group_rows: usize,
        dictionary: bool,
    ) -> Result<Self, WriteError> {
        let file = AtomicFile::create(path)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_dictionary_enabled(dictionary)
            .set_max_row_group_row_count(Some(row_group_rows.max(1)))
            .build();
        let handle = file.file().try_clone().map_err(io(path))?;
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, handle),
            schema,
            Some(props),
        )
        .map_err(|e| WriteError::Parquet {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        Ok(BatchWriter {
            writer,
            file,
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), WriteError> {
        self.writer.write(batch).map_err(|e| WriteError::Parquet {
            path: self.file.path().to_path_buf(),
            detail: e.to_string(),
        })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    pub fn finish(self) -> Result<u64, WriteError> {
        let path = self.file.path().to_path_buf();
        let mut inner = self.writer.into_inner().map_err(|e| WriteError::Parquet {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        inner.flush().map_err(io(&path))?;
        drop(inner);
        self.file.commit()?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_parseable() {
        for dim in [None, Some(3)] {
            let len = npy_header_len("<f4", dim);
            assert_eq!(len % 64, 0);
            let h = npy_header("<f4", 12345, dim, len);
            assert_eq!(h.len(), len);
            let parsed = crate::npy::parse_header(Path::new("t.npy"), &h).unwrap();
            assert_eq!(parsed.data_offset, len);
            assert_eq!(parsed.shape[0], 12345);
        }
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.npy");
        {
            let mut w = NpyWriter::<f32>::create(&p, Some(2)).unwrap();
            w.write(&[1.0, 2.0]).unwrap();
        }
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn outputs_get_ordinary_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.npy");
        let mut w = NpyWriter::<f32>::create(&p, None).unwrap();
        w.write(&[1.0]).unwrap();
        w.finish().unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        // The oracle: a file created the ordinary way gets 0666 less the umask.
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let want = std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, want);
    }
}
