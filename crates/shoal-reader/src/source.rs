//! The seam every format implements: a [`Source`] describes a point set and
//! hands out [`ChunkReader`]s over row ranges; a reader lends row-major `f32`
//! [`Block`]s of at most `chunk_rows` rows.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::ReadError;
use crate::value::{Precision, Value};

/// The file formats shoal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Npy,
    RawF32,
    Parquet,
    Csv,
    /// An array in memory ([`crate::SliceSource`]).
    Memory,
}

impl Format {
    /// The format implied by a path's extension (`.npy`, `.f32`, `.parquet`/`.pq`, `.csv`).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "npy" => Some(Format::Npy),
            "f32" => Some(Format::RawF32),
            "parquet" | "pq" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Npy => "npy",
            Format::RawF32 => "raw f32",
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Memory => "array",
        }
    }
}

/// What a source knows about its point set before reading any data.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub path: PathBuf,
    pub format: Format,
    /// Number of data rows (points).
    pub rows: u64,
    /// Number of f32 values per point.
    pub dim: usize,
    /// One name per dimension, in block order (`x0..`, or the file's column
    /// names; a vector column `emb` of width 3 gives `emb[0]`, `emb[1]`, `emb[2]`).
    pub columns: Vec<String>,
    /// How each selected source column is stored, e.g. `float64` or
    /// `fixed_size_list<float32, 3>`; one entry per source column, not per dimension.
    pub storage: Vec<(String, String)>,
    /// Parquet row groups (or `None` for other formats).
    pub row_groups: Option<usize>,
    /// Size of the file in bytes.
    pub file_bytes: u64,
    /// The precision that holds every stored value exactly: `F64` when a
    /// selected column is float64 or a 32/64-bit integer, and for CSV
    /// (text parsed as f64); `F32` otherwise.
    pub native: Precision,
}

/// A borrowed, validated block of points: `data.len() == rows * dim`.
/// Streaming passes read `f32` blocks; the exact in-memory algorithms may
/// read `f64` ones ([`Source::reader_f64`]).
#[derive(Debug, Clone, Copy)]
pub struct Block<'a, V = f32> {
    /// Row-major values.
    pub data: &'a [V],
    pub dim: usize,
    /// Index (0-based, in the whole source) of the block's first row. With
    /// `skip_invalid`, rows of the block after a skipped row are no longer
    /// contiguous in the source; `first_row` is still the input index of the
    /// first row the block was read from.
    pub first_row: u64,
    /// Sequence number of the block within its reader (0, 1, 2, ...).
    pub seq: u64,
}

impl<V> Block<'_, V> {
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Row `i` as a slice of `dim` values.
    pub fn row(&self, i: usize) -> &[V] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// A lending reader: each call to `next_block` returns the next block of at
/// most `chunk_rows` rows, reusing its own buffer.
pub trait ChunkReader<V = f32>: Send {
    fn next_block(&mut self) -> Result<Option<Block<'_, V>>, ReadError>;
    /// Start again from the first row of the reader's range.
    fn rewind(&mut self) -> Result<(), ReadError>;
    /// How many rows were skipped as invalid so far (with `skip_invalid`).
    fn skipped(&self) -> u64 {
        0
    }
}

/// An opened point-set file.
pub trait Source: Send + Sync + std::fmt::Debug {
    fn info(&self) -> &SourceInfo;

    /// Row ranges that can be read independently and in parallel, in order,
    /// covering `0..rows`: Parquet row groups, or fixed-size byte ranges of a
    /// memory map. They depend only on the file, never on the thread count.
    fn partitions(&self) -> Vec<Range<u64>>;

    /// A reader over `rows` (which must lie within `0..info().rows`) that
    /// yields blocks of at most `chunk_rows` rows.
    fn reader(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader + '_>, ReadError>;

    /// As [`Source::reader`], in `f64`: every stored value converted to
    /// double precision directly (a float64 file keeps every bit), and
    /// validated as a double (1e300 is finite here). The default widens the
    /// `f32` blocks, which is exact for sources whose values are `f32`.
    fn reader_f64(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader<f64> + '_>, ReadError> {
        Ok(Box::new(Widen {
            inner: self.reader(rows, chunk_rows)?,
            buf: Vec::new(),
        }))
    }

    /// The whole point set as one row-major `f32` slice, when the file holds
    /// exactly that (little-endian C-order float32) and is small enough to be
    /// kept in memory for random rows: no conversion. The values are *not*
    /// validated here.
    fn as_contiguous(&self) -> Option<&[f32]> {
        None
    }

    /// Random access, for formats that have it (memory-mapped `.npy` and raw
    /// `.f32`): appends the given rows (any order, repeats allowed) to `out`,
    /// row-major and validated like blocks (an invalid row is an error, or is
    /// left out with `skip_invalid`), and returns how many were appended.
    /// `None` for formats without random access (Parquet, CSV).
    fn read_rows(&self, _rows: &[u64], _out: &mut Vec<f32>) -> Option<Result<usize, ReadError>> {
        None
    }

    /// For a source with random access: the fraction of its data that is in
    /// the page cache (from a probe of evenly spaced pages), so that random
    /// rows cost no disk read; `None` when unknown.
    fn resident_fraction(&self) -> Option<f64> {
        None
    }

    /// Whether the file is still as it was opened (same file, size and
    /// modification time): the engine asks after every pass, so that a file
    /// changed under a run ends it with [`ReadError::Changed`]. Sources not
    /// read from a file during passes have nothing to check.
    fn unchanged(&self) -> Result<(), ReadError> {
        Ok(())
    }

    /// The files the source reads (one, or a dataset's), in order.
    fn files(&self) -> Vec<PathBuf> {
        vec![self.info().path.clone()]
    }

    /// The rows of each of [`Source::files`], in order.
    fn file_rows(&self) -> Vec<u64> {
        vec![self.info().rows]
    }
}

/// `f32` blocks widened to `f64`.
struct Widen<'a> {
    inner: Box<dyn ChunkReader + 'a>,
    buf: Vec<f64>,
}

impl ChunkReader<f64> for Widen<'_> {
    fn next_block(&mut self) -> Result<Option<Block<'_, f64>>, ReadError> {
        let Some(b) = self.inner.next_block()? else {
            return Ok(None);
        };
        self.buf.clear();
        self.buf.extend(b.data.iter().map(|&v| v as f64));
        let (dim, first_row, seq) = (b.dim, b.first_row, b.seq);
        Ok(Some(Block {
            data: &self.buf,
            dim,
            first_row,
            seq,
        }))
    }

    fn rewind(&mut self) -> Result<(), ReadError> {
        self.inner.rewind()
    }

    fn skipped(&self) -> u64 {
        self.inner.skipped()
    }
}

/// Options for opening a source.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Columns to select and their order (Parquet and CSV). `None`: every numeric column.
    pub columns: Option<Vec<String>>,
    /// Dimension of a raw `.f32` file (otherwise read from its `.json` sidecar).
    pub dim: Option<usize>,
    /// Skip rows with NaN/Inf/null values instead of failing.
    pub skip_invalid: bool,
}

/// Read a whole source into memory (row-major), for small inputs and tests.
pub fn read_all(source: &dyn Source, chunk_rows: usize) -> Result<Vec<f32>, ReadError> {
    read_all_as::<f32>(source, chunk_rows)
}

/// Read a whole source into memory (row-major) in `f64`.
pub fn read_all_f64(source: &dyn Source, chunk_rows: usize) -> Result<Vec<f64>, ReadError> {
    read_all_as::<f64>(source, chunk_rows)
}

/// Every row of `source` in `V`, row-major.
pub fn read_all_as<V: ReaderOf>(
    source: &dyn Source,
    chunk_rows: usize,
) -> Result<Vec<V>, ReadError> {
    let info = source.info();
    let mut out = Vec::with_capacity(info.rows as usize * info.dim);
    let mut reader = V::reader(source, 0..info.rows, chunk_rows)?;
    while let Some(block) = reader.next_block()? {
        out.extend_from_slice(block.data);
    }
    drop(reader);
    source.unchanged()?;
    Ok(out)
}

/// The rows of a source in memory, in the precision asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Points {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Points {
    /// Reads every row of `source` in `precision`.
    pub fn read(
        source: &dyn Source,
        precision: Precision,
        chunk_rows: usize,
    ) -> Result<Points, ReadError> {
        Ok(match precision {
            Precision::F32 => Points::F32(read_all(source, chunk_rows)?),
            Precision::F64 => Points::F64(read_all_f64(source, chunk_rows)?),
        })
    }

    pub fn precision(&self) -> Precision {
        match self {
            Points::F32(_) => Precision::F32,
            Points::F64(_) => Precision::F64,
        }
    }

    /// Number of values (rows x dim).
    pub fn len(&self) -> usize {
        match self {
            Points::F32(v) => v.len(),
            Points::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.len() as u64 * self.precision().bytes()
    }

    /// The values narrowed (or copied) to `f32`.
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Points::F32(v) => v.clone(),
            Points::F64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
}

/// Picks the reader of a [`Source`] for an element type.
pub trait ReaderOf: Value {
    fn reader(
        source: &dyn Source,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader<Self> + '_>, ReadError>;
}

impl ReaderOf for f32 {
    fn reader(
        source: &dyn Source,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader<f32> + '_>, ReadError> {
        source.reader(rows, chunk_rows)
    }
}

impl ReaderOf for f64 {
    fn reader(
        source: &dyn Source,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader<f64> + '_>, ReadError> {
        source.reader_f64(rows, chunk_rows)
    }
}

/// Partition size of `.npy`/`.f32` sources, in rows of dimension 1; a
/// partition holds about this many values (4 MiB of f32) whatever the
/// dimension.
const DENSE_PARTITION_VALUES: u64 = 1 << 20;

/// Rows in each of [`fixed_partitions`]' partitions (the last may hold fewer).
pub(crate) fn partition_rows(dim: usize) -> u64 {
    (DENSE_PARTITION_VALUES / dim.max(1) as u64).max(1)
}

pub(crate) fn fixed_partitions(rows: u64, dim: usize) -> Vec<Range<u64>> {
    let per = partition_rows(dim);
    let mut out = Vec::new();
    let mut start = 0;
    while start < rows {
        let end = (start + per).min(rows);
        out.push(start..end);
        start = end;
    }
    out
}
