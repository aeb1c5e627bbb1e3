//! Parquet sources through the `parquet` crate's Arrow reader. Only the
//! selected columns are decoded (projection pushdown); row groups are the
//! partitions, so several threads can decode at once.

use std::fs::File;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;

use crate::error::ReadError;
use crate::source::{Block, ChunkReader, Format, OpenOptions, Source, SourceInfo};
use crate::stamp::FileStamp;
use crate::validate::check_block;
use crate::value::{Elem, Precision, Value};

/// How one selected column contributes to a point.
#[derive(Debug, Clone)]
enum ColKind {
    /// One number per row.
    Scalar,
    /// A fixed-size list of `width` numbers per row.
    FixedList(usize),
    /// A variable list whose rows must all have `width` numbers.
    List(usize),
}

#[derive(Debug, Clone)]
struct Col {
    name: String,
    kind: ColKind,
    /// First dimension of this column in the block.
    offset: usize,
}

impl Col {
    fn width(&self) -> usize {
        match self.kind {
            ColKind::Scalar => 1,
            ColKind::FixedList(w) | ColKind::List(w) => w,
        }
    }
}

/// An opened Parquet file.
pub(crate) struct ParquetSource {
    info: SourceInfo,
    meta: ArrowReaderMetadata,
    mask: ProjectionMask,
    cols: Vec<Col>,
    rg_starts: Vec<u64>,
    skip_invalid: bool,
    /// Where the bytes are.
    backing: Backing,
    /// The file as it was opened, checked after every pass.
    stamp: Stamp,
}

/// Where a Parquet file's bytes are: a local file, or an object in object
/// storage (its size), read a row group's column chunks at a time.
#[derive(Debug, Clone)]
pub(crate) enum Backing {
    Local,
    Remote(crate::remote::Location, u64),
}

/// What a file or object was when it was opened.
#[derive(Debug, Clone)]
enum Stamp {
    Local(FileStamp),
    Remote(crate::remote::Version),
}

/// Opens `path` (a local file or an object's URL) and decodes its footer.
fn open_meta(path: &Path) -> Result<(Backing, Stamp, u64, ArrowReaderMetadata), ReadError> {
    let load = |r: &dyn Fn() -> parquet::errors::Result<ArrowReaderMetadata>| {
        catch_unwind(AssertUnwindSafe(r))
            .map_err(|_| format_err(path, "the footer could not be decoded"))?
            .map_err(|e| format_err(path, e))
    };
    if crate::remote::is_url(path) {
        let loc = crate::remote::locate(&path.to_string_lossy())?;
        let version = loc.head()?;
        let size = version.size;
        let footer = loc.footer(size)?;
        let meta = load(&|| ArrowReaderMetadata::load(&footer, ArrowReaderOptions::new()))?;
        return Ok((
            Backing::Remote(loc, size),
            Stamp::Remote(version),
            size,
            meta,
        ));
    }
    let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let stamp = FileStamp::of(&file, path)?;
    let file_bytes = file.metadata().map_err(|e| ReadError::io(path, e))?.len();
    let meta = load(&|| ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()))?;
    Ok((Backing::Local, Stamp::Local(stamp), file_bytes, meta))
}

impl std::fmt::Debug for ParquetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSource")
            .field("info", &self.info)
            .field("cols", &self.cols)
            .finish()
    }
}

fn is_numeric(dt: &DataType) -> bool {
    use DataType::*;
    matches!(
        dt,
        Float16
            | Float32
            | Float64
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
    )
}

fn type_name(dt: &DataType) -> String {
    use DataType::*;
    match dt {
        Float16 => "float16".into(),
        Float32 => "float32".into(),
        Float64 => "float64".into(),
        Int8 => "int8".into(),
        Int16 => "int16".into(),
        Int32 => "int32".into(),
        Int64 => "int64".into(),
        UInt8 => "uint8".into(),
        UInt16 => "uint16".into(),
        UInt32 => "uint32".into(),
        UInt64 => "uint64".into(),
        FixedSizeList(f, n) => format!("fixed_size_list<{}, {n}>", type_name(f.data_type())),
        List(f) => format!("list<{}>", type_name(f.data_type())),
        LargeList(f) => format!("large_list<{}>", type_name(f.data_type())),
        other => format!("{other}").to_lowercase(),
    }
}

/// The storage type of a numeric (or list of numeric) column, as the
/// dense files name it.
fn elem_of(dt: &DataType) -> Option<Elem> {
    use DataType::*;
    Some(match dt {
        Float16 => Elem::F16,
        Float32 => Elem::F32,
        Float64 => Elem::F64,
        Int8 => Elem::I8,
        Int16 => Elem::I16,
        Int32 => Elem::I32,
        Int64 => Elem::I64,
        UInt8 => Elem::U8,
        UInt16 => Elem::U16,
        UInt32 => Elem::U32,
        UInt64 => Elem::U64,
        FixedSizeList(f, _) | List(f) | LargeList(f) => return elem_of(f.data_type()),
        _ => return None,
    })
}

/// The kind of a column, or `None` when it is not numeric. List widths are
/// filled in later from the data.
fn col_kind(field: &Field) -> Option<ColKind> {
    match field.data_type() {
        dt if is_numeric(dt) => Some(ColKind::Scalar),
        DataType::FixedSizeList(f, n) if is_numeric(f.data_type()) && *n > 0 => {
            Some(ColKind::FixedList(*n as usize))
        }
        DataType::List(f) | DataType::LargeList(f) if is_numeric(f.data_type()) => {
            Some(ColKind::List(0))
        }
        _ => None,
    }
}

fn format_err(path: &Path, detail: impl std::fmt::Display) -> ReadError {
    ReadError::Format {
        path: path.to_path_buf(),
        format: "parquet",
        detail: detail.to_string(),
    }
}

pub(crate) fn open(path: &Path, opts: &OpenOptions) -> Result<ParquetSource, ReadError> {
    let (backing, stamp, file_bytes, meta) = open_meta(path)?;
    let schema = meta.schema().clone();
    let fields = schema.fields();

    // Choose the columns: the user's, in the user's order, or every numeric one.
    let chosen: Vec<(usize, ColKind)> = match &opts.columns {
        Some(names) => {
            let mut v = Vec::new();
            for name in names {
                let (idx, field) =
                    schema
                        .column_with_name(name)
                        .ok_or_else(|| ReadError::Columns {
                            path: path.to_path_buf(),
                            detail: format!(
                                "no column named {name:?}; the file has: {}",
                                fields
                                    .iter()
                                    .map(|f| f.name().as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        })?;
                let kind = col_kind(field).ok_or_else(|| ReadError::Columns {
                    path: path.to_path_buf(),
                    detail: format!(
                        "column {name:?} holds {}, not numbers",
                        type_name(field.data_type())
                    ),
                })?;
                v.push((idx, kind));
            }
            v
        }
        None => fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| col_kind(f).map(|k| (i, k)))
            .collect(),
    };
    if chosen.is_empty() {
        return Err(ReadError::Columns {
            path: path.to_path_buf(),
            detail: format!(
                "no numeric column to cluster; the file has: {}",
                fields
                    .iter()
                    .map(|f| format!("{} ({})", f.name(), type_name(f.data_type())))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let md = meta.metadata();
    let rows: u64 = md.file_metadata().num_rows().max(0) as u64;
    if rows == 0 {
        return Err(ReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut rg_starts = Vec::with_capacity(md.num_row_groups() + 1);
    let mut acc = 0u64;
    for rg in md.row_groups() {
        rg_starts.push(acc);
        acc += rg.num_rows().max(0) as u64;
    }
    rg_starts.push(acc);
    if acc != rows {
        return Err(format_err(
            path,
            format!("row groups hold {acc} rows but the footer says {rows}"),
        ));
    }
    let mask = ProjectionMask::roots(
        meta.parquet_schema(),
        chosen.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
    );

    let mut cols: Vec<Col> = chosen
        .iter()
        .map(|(i, k)| Col {
            name: fields[*i].name().clone(),
            kind: k.clone(),
            offset: 0,
        })
        .collect();
    // Variable lists: the width is the length of the first row.
    if cols.iter().any(|c| matches!(c.kind, ColKind::List(_))) {
        let mut r = build_reader(path, &backing, &meta, mask.clone(), &[0], 1, 0, 1)?;
        let batch = next_batch(path, &mut r)?.ok_or_else(|| format_err(path, "no first row"))?;
        for c in cols.iter_mut() {
            if let ColKind::List(_) = c.kind {
                let arr = batch
                    .column_by_name(&c.name)
                    .ok_or_else(|| format_err(path, format!("column {} missing", c.name)))?;
                let w = list_len(arr.as_ref(), 0);
                if w == 0 {
                    return Err(ReadError::Ragged {
                        path: path.to_path_buf(),
                        line: 0,
                        row: 0,
                        detail: format!("list column {:?} is empty in the first row", c.name),
                    });
                }
                c.kind = ColKind::List(w);
            }
        }
    }
    let mut dim = 0;
    let mut columns = Vec::new();
    for c in cols.iter_mut() {
        c.offset = dim;
        dim += c.width();
        match c.kind {
            ColKind::Scalar => columns.push(c.name.clone()),
            _ => columns.extend((0..c.width()).map(|t| format!("{}[{t}]", c.name))),
        }
    }
    let storage = chosen
        .iter()
        .map(|(i, _)| (fields[*i].name().clone(), type_name(fields[*i].data_type())))
        .collect();
    let native = if chosen.iter().any(|(i, _)| {
        elem_of(fields[*i].data_type()).is_some_and(|e| e.native_precision() == Precision::F64)
    }) {
        Precision::F64
    } else {
        Precision::F32
    };
    let info = SourceInfo {
        path: path.to_path_buf(),
        format: Format::Parquet,
        rows,
        dim,
        columns,
        storage,
        row_groups: Some(md.num_row_groups()),
        file_bytes,
        native,
    };
    Ok(ParquetSource {
        info,
        meta,
        mask,
        cols,
        rg_starts,
        skip_invalid: opts.skip_invalid,
        backing,
        stamp,
    })
}

fn list_len(arr: &dyn Array, i: usize) -> usize {
    match arr.data_type() {
        DataType::List(_) => arr.as_list::<i32>().value_length(i) as usize,
        DataType::LargeList(_) => arr.as_list::<i64>().value_length(i) as usize,
        _ => 0,
    }
}

/// Rows per decoded sub-batch: about 128 KiB of f32 values, so a sub-batch
/// is still in cache when it is copied into the row-major chunk and checked.
fn sub_batch_rows(dim: usize, chunk_rows: usize) -> usize {
    (128 * 1024 / (4 * dim.max(1)))
        .max(256)
        .min(chunk_rows.max(1))
}

/// A row group's bytes: the local file, or its column chunks fetched from
/// object storage. The decoder and the page check read either alike.
enum RowGroupBytes {
    Local(File),
    Remote(crate::remote::Sparse),
}

impl parquet::file::reader::Length for RowGroupBytes {
    fn len(&self) -> u64 {
        match self {
            RowGroupBytes::Local(f) => f.len(),
            RowGroupBytes::Remote(s) => s.len(),
        }
    }
}

impl parquet::file::reader::ChunkReader for RowGroupBytes {
    type T = Box<dyn std::io::Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(match self {
            RowGroupBytes::Local(f) => Box::new(f.get_read(start)?),
            RowGroupBytes::Remote(s) => Box::new(s.get_read(start)?),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        match self {
            RowGroupBytes::Local(f) => f.get_bytes(start, length),
            RowGroupBytes::Remote(s) => s.get_bytes(start, length),
        }
    }
}

impl crate::pages::ReadAt for RowGroupBytes {
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()> {
        match self {
            RowGroupBytes::Local(f) => f.read_exact_at(buf, at),
            RowGroupBytes::Remote(s) => s.read_exact_at(buf, at),
        }
    }
}

/// A reader of `row_groups`' selected columns, their page headers checked
/// first. From object storage, the row groups' column chunks are fetched
/// into memory at once (ranges closer than 1 MiB in one request); from a
/// local file, the kernel is asked for them at once.
#[allow(clippy::too_many_arguments)]
fn build_reader(
    path: &Path,
    backing: &Backing,
    meta: &ArrowReaderMetadata,
    mask: ProjectionMask,
    row_groups: &[usize],
    batch: usize,
    offset: usize,
    limit: usize,
) -> Result<ParquetRecordBatchReader, ReadError> {
    use parquet::file::reader::Length;
    let md = meta.metadata();
    let (bytes, chunks) = match backing {
        Backing::Local => {
            let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
            let chunks = crate::pages::chunks(path, md, row_groups, &mask, file.len())?;
            will_need(&file, &chunks);
            (RowGroupBytes::Local(file), chunks)
        }
        Backing::Remote(loc, size) => {
            let chunks = crate::pages::chunks(path, md, row_groups, &mask, *size)?;
            let ranges: Vec<Range<u64>> = chunks.iter().map(|c| c.range.clone()).collect();
            let got = loc.get_ranges(&ranges)?;
            let sparse = crate::remote::Sparse::new(
                *size,
                ranges.iter().map(|r| r.start).zip(got).collect(),
            );
            (RowGroupBytes::Remote(sparse), chunks)
        }
    };
    crate::pages::check_pages(&bytes, path, &chunks)?;
    ParquetRecordBatchReaderBuilder::new_with_metadata(bytes, meta.clone())
        .with_projection(mask)
        .with_row_groups(row_groups.to_vec())
        .with_batch_size(batch)
        .with_offset(offset)
        .with_limit(limit)
        .build()
        .map_err(|e| format_err(path, e))
}

/// Asks the kernel to read the column chunks about to be decoded, whole and
/// at once: a file's first row group otherwise starts with the small
/// read-ahead window of a newly opened file, which made a pass over a
/// dataset of many small files much slower from disk than over one large
/// file. (Advice only: errors are ignored.)
fn will_need(file: &File, chunks: &[crate::pages::Chunk]) {
    #[cfg(target_os = "linux")]
    for c in chunks {
        let n = std::num::NonZeroU64::new(c.range.end - c.range.start);
        let _ = rustix::fs::fadvise(file, c.range.start, n, rustix::fs::Advice::WillNeed);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, chunks);
}

/// The next batch, turning decoder errors (and, defensively, decoder panics
/// on corrupt pages) into format errors.
fn next_batch(
    path: &Path,
    r: &mut ParquetRecordBatchReader,
) -> Result<Option<RecordBatch>, ReadError> {
    match catch_unwind(AssertUnwindSafe(|| r.next())) {
        Ok(None) => Ok(None),
        Ok(Some(Ok(b))) => Ok(Some(b)),
        Ok(Some(Err(e))) => Err(format_err(path, e)),
        Err(_) => Err(format_err(path, "the decoder failed on corrupt data")),
    }
}

impl Source for ParquetSource {
    fn unchanged(&self) -> Result<(), ReadError> {
        match (&self.stamp, &self.backing) {
            (Stamp::Local(s), _) => s.check(&self.info.path),
            (Stamp::Remote(v), Backing::Remote(loc, _)) => loc.check(v),
            (Stamp::Remote(_), Backing::Local) => Ok(()),
        }
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn partitions(&self) -> Vec<Range<u64>> {
        self.rg_starts
            .windows(2)
            .filter(|w| w[1] > w[0])
            .map(|w| w[0]..w[1])
            .collect()
    }

    fn reader(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader + '_>, ReadError> {
        Ok(Box::new(self.pq_reader::<f32>(rows, chunk_rows)?))
    }

    fn reader_f64(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader<f64> + '_>, ReadError> {
        Ok(Box::new(self.pq_reader::<f64>(rows, chunk_rows)?))
    }
}

impl ParquetSource {
    fn pq_reader<V: Value>(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<PqReader<'_, V>, ReadError> {
        assert!(rows.start <= rows.end && rows.end <= self.info.rows);
        let mut r = PqReader {
            src: self,
            range: rows,
            chunk_rows: chunk_rows.max(1),
            inner: None,
            pending: None,
            next_row: 0,
            buf: Vec::new(),
            seq: 0,
            skipped: 0,
        };
        r.rewind()?;
        Ok(r)
    }
}

struct PqReader<'a, V> {
    src: &'a ParquetSource,
    range: Range<u64>,
    chunk_rows: usize,
    inner: Option<ParquetRecordBatchReader>,
    /// The rest of a sub-batch that did not fit in the last chunk.
    pending: Option<RecordBatch>,
    next_row: u64,
    buf: Vec<V>,
    seq: u64,
    skipped: u64,
}

impl<V: Value> PqReader<'_, V> {
    /// Writes one batch (its first row is `first_row` of the file) into
    /// `out` (row-major, exactly `rows x dim`; every value is written, nulls
    /// as NaN). Returns the first null (row within the batch, column name),
    /// if any.
    fn fill(
        src: &ParquetSource,
        batch: &RecordBatch,
        first_row: u64,
        out: &mut [V],
    ) -> Result<Option<(usize, String)>, ReadError> {
        let n = batch.num_rows();
        let dim = src.info.dim;
        debug_assert_eq!(out.len(), n * dim);
        let path = &src.info.path;
        let mut first_null: Option<(usize, String)> = None;
        // Copies into the row-major buffer, done after the checks in blocks
        // of rows (array, first dimension, width).
        let mut copies: Vec<(ArrayRef, usize, usize)> = Vec::with_capacity(src.cols.len());
        let mut to_mark: Vec<(ArrayRef, &Col)> = Vec::new();
        for c in &src.cols {
            let arr = batch.column_by_name(&c.name).ok_or_else(|| {
                format_err(path, format!("column {} missing from a batch", c.name))
            })?;
            let null_row = match c.kind {
                ColKind::Scalar => {
                    copies.push((arr.clone(), c.offset, 1));
                    first_null_row(arr.as_ref())
                }
                ColKind::FixedList(w) => {
                    let l = arr.as_fixed_size_list();
                    let start = l.value_offset_at(0);
                    let vals = l.values().slice(start, n * w);
                    let null = first_null_row(arr.as_ref())
                        .or_else(|| first_null_row(&vals).map(|v| v / w));
                    copies.push((vals, c.offset, w));
                    null
                }
                ColKind::List(w) => {
                    let (start, vals) = match arr.data_type() {
                        DataType::LargeList(_) => {
                            let l = arr.as_list::<i64>();
                            (
                                l.value_offsets()
                                    .to_vec()
                                    .into_iter()
                                    .map(|o| o as usize)
                                    .collect::<Vec<_>>(),
                                l.values().clone(),
                            )
                        }
                        _ => {
                            let l = arr.as_list::<i32>();
                            (
                                l.value_offsets()
                                    .iter()
                                    .map(|&o| o as usize)
                                    .collect::<Vec<_>>(),
                                l.values().clone(),
                            )
                        }
                    };
                    for i in 0..n {
                        let len = start[i + 1] - start[i];
                        if len != w && !arr.is_null(i) {
                            let row = first_row + i as u64;
                            return Err(ReadError::Ragged {
                                path: path.clone(),
                                line: 0,
                                row,
                                detail: format!(
                                    "list column {:?} has {len} values in this row, {w} in the first",
                                    c.name
                                ),
                            });
                        }
                    }
                    let base = start[0];
                    let contiguous = start[n] - base == n * w;
                    if contiguous {
                        let vals = vals.slice(base, n * w);
                        let null = first_null_row(arr.as_ref())
                            .or_else(|| first_null_row(&vals).map(|v| v / w));
                        copies.push((vals, c.offset, w));
                        null
                    } else {
                        // Null list entries take no values: fill row by row.
                        for (i, &s) in start[..n].iter().enumerate() {
                            let row = &mut out[i * dim..(i + 1) * dim];
                            if arr.is_null(i) {
                                row[c.offset..c.offset + w].fill(V::nan());
                                continue;
                            }
                            scatter(&vals.slice(s, w), row, dim, c.offset, w, 0..1);
                        }
                        first_null_row(arr.as_ref())
                    }
                }
            };
            if let Some(r) = null_row {
                if first_null.as_ref().is_none_or(|(fr, _)| r < *fr) {
                    first_null = Some((r, c.name.clone()));
                }
                if src.skip_invalid {
                    to_mark.push((arr.clone(), c));
                }
            }
        }
        // Runs of eight (or two) float32 scalar columns at consecutive
        // dimensions are transposed together; other columns are copied one
        // at a time.
        let mut eights: Vec<([&[f32]; 8], usize)> = Vec::new();
        let mut pairs: Vec<([&[f32]; 2], usize)> = Vec::new();
        let mut others: Vec<&(ArrayRef, usize, usize)> = Vec::new();
        let transposable = V::ELEM == Elem::F32;
        let f32_run = |i: usize, len: usize| {
            copies.get(i..i + len).filter(|run| {
                transposable
                    && run.iter().enumerate().all(|(t, (a, o, w))| {
                        *w == 1 && *o == run[0].1 + t && a.data_type() == &DataType::Float32
                    })
            })
        };
        fn values(a: &ArrayRef) -> &[f32] {
            a.as_primitive::<Float32Type>().values()
        }
        let mut i = 0;
        while i < copies.len() {
            if let Some(run) = f32_run(i, 8) {
                eights.push((std::array::from_fn(|t| values(&run[t].0)), run[0].1));
                i += 8;
            } else if let Some(run) = f32_run(i, 2) {
                pairs.push(([values(&run[0].0), values(&run[1].0)], run[0].1));
                i += 2;
            } else {
                others.push(&copies[i]);
                i += 1;
            }
        }
        // Row blocks small enough that their part of the buffer stays in
        // cache while every column writes into it (a column at a time over
        // the whole batch would touch each cache line once per column).
        let block = (16 * 1024 / (4 * dim)).max(16);
        for r0 in (0..n).step_by(block) {
            let rows = r0..(r0 + block).min(n);
            if let Some(out) = V::as_f32_mut(out) {
                for (cols, offset) in &eights {
                    crate::transpose::eight_columns(*cols, out, dim, *offset, rows.clone());
                }
                for (cols, offset) in &pairs {
                    crate::transpose::two_columns(*cols, out, dim, *offset, rows.clone());
                }
            }
            for (vals, offset, w) in others.iter().copied() {
                scatter(vals, out, dim, *offset, *w, rows.clone());
            }
        }
        for (arr, c) in to_mark {
            mark_nulls(arr.as_ref(), c, out, dim);
        }
        Ok(first_null)
    }
}

fn first_null_row(arr: &dyn Array) -> Option<usize> {
    if arr.null_count() == 0 {
        return None;
    }
    (0..arr.len()).find(|&i| arr.is_null(i))
}

/// Sets every dimension of rows with a null in column `c` to NaN, so the
/// finite check drops them under `skip_invalid`.
fn mark_nulls<V: Value>(arr: &dyn Array, c: &Col, buf: &mut [V], dim: usize) {
    let w = c.width();
    let child: Option<ArrayRef> = match arr.data_type() {
        DataType::FixedSizeList(..) => {
            let l = arr.as_fixed_size_list();
            Some(l.values().slice(l.value_offset_at(0), arr.len() * w))
        }
        _ => None,
    };
    for i in 0..arr.len() {
        let null = arr.is_null(i)
            || child
                .as_ref()
                .is_some_and(|v| (0..w).any(|t| v.is_null(i * w + t)));
        if null {
            buf[i * dim + c.offset] = V::nan();
        }
    }
}

/// Copies the numbers of `rows` of `arr` (flattened, `width` per row) into
/// the same rows of the row-major `out`, at dimension `offset` of rows of
/// length `dim`.
fn scatter<V: Value>(
    arr: &ArrayRef,
    out: &mut [V],
    dim: usize,
    offset: usize,
    width: usize,
    rows: Range<usize>,
) {
    let out = &mut out[rows.start * dim..rows.end * dim];
    let vals = rows.start * width..rows.end * width;
    fn put<T: Copy, V>(
        vals: &[T],
        out: &mut [V],
        dim: usize,
        offset: usize,
        width: usize,
        f: impl Fn(T) -> V,
    ) {
        if width == dim {
            for (o, v) in out.iter_mut().zip(vals) {
                *o = f(*v);
            }
        } else if width == 1 {
            for (row, v) in out.chunks_mut(dim).zip(vals) {
                row[offset] = f(*v);
            }
        } else {
            for (row, v) in out.chunks_mut(dim).zip(vals.chunks(width)) {
                for (o, x) in row[offset..offset + width].iter_mut().zip(v) {
                    *o = f(*x);
                }
            }
        }
    }
    macro_rules! prim {
        ($t:ty, $f:expr) => {
            put(
                &arr.as_primitive::<$t>().values()[vals],
                out,
                dim,
                offset,
                width,
                $f,
            )
        };
    }
    match arr.data_type() {
        DataType::Float16 => prim!(Float16Type, |v: half::f16| V::from_f32(v.to_f32())),
        DataType::Float32 => prim!(Float32Type, V::from_f32),
        DataType::Float64 => prim!(Float64Type, V::from_f64),
        DataType::Int8 => prim!(Int8Type, |v: i8| V::from_i64(v.into())),
        DataType::Int16 => prim!(Int16Type, |v: i16| V::from_i64(v.into())),
        DataType::Int32 => prim!(Int32Type, |v: i32| V::from_i64(v.into())),
        DataType::Int64 => prim!(Int64Type, V::from_i64),
        DataType::UInt8 => prim!(UInt8Type, |v: u8| V::from_i64(v.into())),
        DataType::UInt16 => prim!(UInt16Type, |v: u16| V::from_i64(v.into())),
        DataType::UInt32 => prim!(UInt32Type, |v: u32| V::from_i64(v.into())),
        DataType::UInt64 => prim!(UInt64Type, V::from_u64),
        _ => {}
    }
}

impl<V: Value> ChunkReader<V> for PqReader<'_, V> {
    fn next_block(&mut self) -> Result<Option<Block<'_, V>>, ReadError> {
        // Decoded in sub-batches small enough to stay in cache while they
        // are copied into the chunk and checked; the chunk grows to
        // `chunk_rows` (the buffer is reused, never cleared).
        let dim = self.src.info.dim;
        let path = self.src.info.path.clone();
        let mut filled = 0;
        let mut first = None;
        while filled < self.chunk_rows * dim {
            let batch = match self.pending.take() {
                Some(b) => b,
                None => {
                    let Some(inner) = self.inner.as_mut() else {
                        break;
                    };
                    let Some(b) = next_batch(&path, inner)? else {
                        self.inner = None;
                        break;
                    };
                    b
                }
            };
            // Rows past the chunk wait for the next one (a zero-copy slice).
            let room = self.chunk_rows - filled / dim;
            let batch = if batch.num_rows() > room {
                self.pending = Some(batch.slice(room, batch.num_rows() - room));
                batch.slice(0, room)
            } else {
                batch
            };
            let n = batch.num_rows();
            let start = self.next_row;
            first.get_or_insert(start);
            let end = filled + n * dim;
            if self.buf.len() < end {
                self.buf.resize(end, V::default());
            }
            let out = &mut self.buf[filled..end];
            if let Some((r, col)) = Self::fill(self.src, &batch, start, out)? {
                if !self.src.skip_invalid {
                    return Err(ReadError::Null {
                        path,
                        row: start + r as u64,
                        column: col,
                    });
                }
            }
            self.next_row += n as u64;
            match check_block(
                out,
                dim,
                start,
                &self.src.info.columns,
                &path,
                self.src.skip_invalid,
            )? {
                Some((kept, dropped)) => {
                    self.buf[filled..filled + kept.len()].copy_from_slice(&kept);
                    self.skipped += dropped;
                    filled += kept.len();
                }
                None => filled = end,
            }
        }
        let Some(first_row) = first.filter(|_| filled > 0) else {
            return Ok(None);
        };
        let seq = self.seq;
        self.seq += 1;
        Ok(Some(Block {
            data: &self.buf[..filled],
            dim,
            first_row,
            seq,
        }))
    }

    fn rewind(&mut self) -> Result<(), ReadError> {
        self.seq = 0;
        self.skipped = 0;
        self.next_row = self.range.start;
        self.pending = None;
        if self.range.is_empty() {
            self.inner = None;
            return Ok(());
        }
        let starts = &self.src.rg_starts;
        let rgs: Vec<usize> = (0..starts.len() - 1)
            .filter(|&g| starts[g + 1] > self.range.start && starts[g] < self.range.end)
            .collect();
        let offset = (self.range.start - starts[rgs[0]]) as usize;
        let limit = (self.range.end - self.range.start) as usize;
        self.inner = Some(build_reader(
            &self.src.info.path,
            &self.src.backing,
            &self.src.meta,
            self.src.mask.clone(),
            &rgs,
            sub_batch_rows(self.src.info.dim, self.chunk_rows),
            offset,
            limit,
        )?);
        Ok(())
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}

/// Every column of a Parquet file (or of a dataset's files, one after
/// another) as Arrow record batches, in file order: for carrying a file's
/// own columns (ids, names, timestamps) into an output. A dataset's Hive
/// partition values are appended as columns (int64 when every value of the
/// key is an integer, strings otherwise). Row groups are read one after
/// another, each one's page headers checked just before it is decoded (as a
/// [`Source`]'s are); every file must have the first one's columns.
pub struct RecordBatches {
    files: Vec<(PathBuf, Vec<PartValue>)>,
    /// The file being read (an index into `files`), with its metadata.
    at: usize,
    backing: Backing,
    meta: ArrowReaderMetadata,
    /// The first file's schema, which every file must have.
    file_schema: arrow_schema::SchemaRef,
    schema: arrow_schema::SchemaRef,
    batch_rows: usize,
    /// The row group to read after the current one.
    next_rg: usize,
    inner: Option<ParquetRecordBatchReader>,
}

impl std::fmt::Debug for RecordBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatches")
            .field("file", &self.files[self.at].0)
            .field("next_rg", &self.next_rg)
            .finish()
    }
}

/// A Hive partition value, as a column.
#[derive(Debug, Clone)]
enum PartValue {
    Int(i64),
    Str(String),
}

impl PartValue {
    fn repeated(&self, n: usize) -> ArrayRef {
        match self {
            PartValue::Int(v) => std::sync::Arc::new(arrow_array::Int64Array::from(vec![*v; n])),
            PartValue::Str(v) => {
                std::sync::Arc::new(arrow_array::StringArray::from(vec![v.as_str(); n]))
            }
        }
    }
}

fn load_meta(path: &Path) -> Result<(Backing, ArrowReaderMetadata), ReadError> {
    open_meta(path).map(|(backing, _, _, meta)| (backing, meta))
}

impl RecordBatches {
    pub fn open(path: &Path, batch_rows: usize) -> Result<Self, ReadError> {
        Self::open_files(&[(path.to_path_buf(), Vec::new())], batch_rows)
    }

    /// The files in order, each with its partition values (`key`, `value`;
    /// every file the same keys).
    pub fn open_files(
        files: &[(PathBuf, Vec<(String, String)>)],
        batch_rows: usize,
    ) -> Result<Self, ReadError> {
        let Some((first, keys)) = files.first() else {
            return Err(ReadError::Usage {
                path: PathBuf::new(),
                detail: "no files to read".into(),
            });
        };
        let (backing, meta) = load_meta(first)?;
        let file_schema = meta.schema().clone();
        let mut fields: Vec<Field> = file_schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        // A key's values as one array per file.
        let mut values: Vec<Vec<PartValue>> = vec![Vec::new(); files.len()];
        for (i, (key, _)) in keys.iter().enumerate() {
            if file_schema.field_with_name(key).is_ok() {
                return Err(ReadError::Usage {
                    path: first.clone(),
                    detail: format!(
                        "a column is named {key:?}, as the partition key of its directory is"
                    ),
                });
            }
            let vals: Vec<&str> = files
                .iter()
                .map(|(_, p)| p.get(i).map_or("", |(_, v)| v.as_str()))
                .collect();
            let ints: Option<Vec<i64>> = vals.iter().map(|v| v.parse::<i64>().ok()).collect();
            match ints {
                Some(ints) => {
                    fields.push(Field::new(key, DataType::Int64, false));
                    for (out, v) in values.iter_mut().zip(ints) {
                        out.push(PartValue::Int(v));
                    }
                }
                None => {
                    fields.push(Field::new(key, DataType::Utf8, false));
                    for (out, v) in values.iter_mut().zip(vals) {
                        out.push(PartValue::Str(v.to_string()));
                    }
                }
            }
        }
        let schema = std::sync::Arc::new(arrow_schema::Schema::new_with_metadata(
            fields,
            file_schema.metadata().clone(),
        ));
        Ok(RecordBatches {
            files: files.iter().map(|(p, _)| p.clone()).zip(values).collect(),
            at: 0,
            backing,
            meta,
            file_schema,
            schema,
            batch_rows: batch_rows.max(1),
            next_rg: 0,
            inner: None,
        })
    }

    pub fn schema(&self) -> arrow_schema::SchemaRef {
        self.schema.clone()
    }

    /// The next batch, or `None` at the end.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, ReadError> {
        loop {
            let (path, parts) = &self.files[self.at];
            if let Some(r) = &mut self.inner {
                if let Some(b) = next_batch(path, r)? {
                    if parts.is_empty() {
                        return Ok(Some(b));
                    }
                    let n = b.num_rows();
                    let mut cols = b.columns().to_vec();
                    cols.extend(parts.iter().map(|v| v.repeated(n)));
                    return RecordBatch::try_new(self.schema.clone(), cols)
                        .map(Some)
                        .map_err(|e| format_err(path, e));
                }
                self.inner = None;
            }
            if self.next_rg >= self.meta.metadata().num_row_groups() {
                // The next file, which must have the first one's columns.
                if self.at + 1 >= self.files.len() {
                    return Ok(None);
                }
                self.at += 1;
                let path = &self.files[self.at].0;
                (self.backing, self.meta) = load_meta(path)?;
                let (want, got) = (self.file_schema.fields(), self.meta.schema().fields());
                let same = want.len() == got.len()
                    && want
                        .iter()
                        .zip(got.iter())
                        .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
                if !same {
                    let show = |f: &arrow_schema::Fields| {
                        f.iter()
                            .map(|f| format!("{} {}", f.name(), type_name(f.data_type())))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    return Err(ReadError::Usage {
                        path: path.clone(),
                        detail: format!(
                            "its columns ({}) differ from those of {} ({}); every file must have the same columns to carry them into the output",
                            show(got),
                            self.files[0].0.display(),
                            show(want)
                        ),
                    });
                }
                self.next_rg = 0;
                continue;
            }
            let rg = self.next_rg;
            self.next_rg += 1;
            self.inner = Some(build_reader(
                &self.files[self.at].0,
                &self.backing,
                &self.meta,
                ProjectionMask::all(),
                &[rg],
                self.batch_rows,
                0,
                usize::MAX,
            )?);
        }
    }
}
