//! CSV sources. The first record is a header unless every field of it is a
//! number. Columns whose first data value is not a number (names, ids as
//! text) are skipped unless selected. Values are parsed as f64 and rounded to
//! f32, as `numpy.loadtxt(...).astype(np.float32)` does. Ragged rows and
//! unparsable fields are errors naming the 1-based line and the column.

use std::fs::File;
use std::io::BufReader;
use std::ops::Range;
use std::path::Path;

use crate::error::ReadError;
use crate::source::{Block, ChunkReader, Format, OpenOptions, Source, SourceInfo};
use crate::stamp::FileStamp;
use crate::validate::check_block;
use crate::value::{Precision, Value};

/// An opened CSV file. Opening reads it once to count the rows and check
/// their shape.
#[derive(Debug)]
pub(crate) struct CsvSource {
    info: SourceInfo,
    /// Index of each selected column in a record.
    fields: Vec<usize>,
    /// Number of fields per record.
    width: usize,
    has_header: bool,
    skip_invalid: bool,
    /// The file as it was opened, checked after every pass.
    stamp: FileStamp,
}

fn parse_num<V: Value>(s: &[u8]) -> Option<V> {
    let s = std::str::from_utf8(s).ok()?.trim();
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok().map(V::from_f64)
}

/// The 1-based line on which the record at byte `byte` starts. Computed only
/// when an error is reported: the csv crate's own line counter miscounts
/// CRLF files (as Python's csv module writes them).
fn line_at(path: &Path, byte: u64) -> u64 {
    use std::io::Read;
    let Ok(f) = File::open(path) else { return 0 };
    // `byte` may point at the `\n` ending the previous line (CRLF files), so
    // that byte is counted too; in LF files it is the record's first byte.
    let mut r = BufReader::new(f).take(byte + 1);
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 1;
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => return lines,
            Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64,
        }
    }
}

fn record_line(path: &Path, rec: &csv::ByteRecord) -> u64 {
    rec.position().map_or(0, |p| line_at(path, p.byte()))
}

fn csv_reader(path: &Path) -> Result<csv::Reader<BufReader<File>>, ReadError> {
    let f = File::open(path).map_err(|e| ReadError::io(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 20, f)))
}

fn csv_err(path: &Path, e: csv::Error) -> ReadError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => ReadError::io(path, io),
        other => ReadError::Format {
            path: path.to_path_buf(),
            format: "csv",
            detail: format!("{other:?}"),
        },
    }
}

pub(crate) fn open(path: &Path, opts: &OpenOptions) -> Result<CsvSource, ReadError> {
    let stamp = FileStamp::at(path)?;
    let file_bytes = std::fs::metadata(path)
        .map_err(|e| ReadError::io(path, e))?
        .len();
    let mut rdr = csv_reader(path)?;
    let mut rec = csv::ByteRecord::new();
    if !rdr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_err(path, e))?
    {
        return Err(ReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let width = rec.len();
    let has_header = rec.iter().any(|f| parse_num::<f64>(f).is_none());
    let names: Vec<String> = if has_header {
        rec.iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect()
    } else {
        (0..width).map(|i| format!("c{i}")).collect()
    };
    let first_data = if has_header {
        let mut r = csv::ByteRecord::new();
        if rdr.read_byte_record(&mut r).map_err(|e| csv_err(path, e))? {
            Some(r)
        } else {
            None
        }
    } else {
        Some(rec.clone())
    };
    let Some(first_data) = first_data else {
        return Err(ReadError::Empty {
            path: path.to_path_buf(),
        });
    };
    let fields: Vec<usize> = match &opts.columns {
        Some(sel) => sel
            .iter()
            .map(|n| {
                names
                    .iter()
                    .position(|h| h == n)
                    .ok_or_else(|| ReadError::Columns {
                        path: path.to_path_buf(),
                        detail: format!(
                            "no column named {n:?}; the header has: {}",
                            names.join(", ")
                        ),
                    })
            })
            .collect::<Result<_, _>>()?,
        None => (0..width)
            .filter(|&i| first_data.get(i).and_then(parse_num::<f64>).is_some())
            .collect(),
    };
    if fields.is_empty() {
        return Err(ReadError::Columns {
            path: path.to_path_buf(),
            detail: format!(
                "no numeric column to cluster; the header has: {}",
                names.join(", ")
            ),
        });
    }
    // Count the data rows (and catch ragged lines early, with their line).
    let mut rows: u64 = 1;
    let mut r = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut r).map_err(|e| csv_err(path, e))? {
        if r.len() != width {
            let line = record_line(path, &r);
            return Err(ReadError::Ragged {
                path: path.to_path_buf(),
                line,
                row: rows,
                detail: format!("{} fields, the header has {width}", r.len()),
            });
        }
        rows += 1;
    }
    let columns: Vec<String> = fields.iter().map(|&i| names[i].clone()).collect();
    let info = SourceInfo {
        path: path.to_path_buf(),
        format: Format::Csv,
        rows,
        dim: fields.len(),
        storage: columns
            .iter()
            .map(|c| (c.clone(), "text".to_string()))
            .collect(),
        columns,
        row_groups: None,
        file_bytes,
        native: Precision::F64,
    };
    Ok(CsvSource {
        info,
        fields,
        width,
        has_header,
        skip_invalid: opts.skip_invalid,
        stamp,
    })
}

impl Source for CsvSource {
    fn unchanged(&self) -> Result<(), ReadError> {
        self.stamp.check(&self.info.path)
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn partitions(&self) -> Vec<Range<u64>> {
        std::iter::once(0..self.info.rows).collect()
    }

    fn reader(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader + '_>, ReadError> {
        Ok(Box::new(self.chunks::<f32>(rows, chunk_rows)?))
    }

    fn reader_f64(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader<f64> + '_>, ReadError> {
        Ok(Box::new(self.chunks::<f64>(rows, chunk_rows)?))
    }
}

impl CsvSource {
    fn chunks<V: Value>(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<CsvChunks<'_, V>, ReadError> {
        let mut r = CsvChunks {
            src: self,
            range: rows,
            chunk_rows: chunk_rows.max(1),
            rdr: None,
            rec: csv::ByteRecord::new(),
            next_row: 0,
            buf: Vec::new(),
            seq: 0,
            skipped: 0,
        };
        r.rewind()?;
        Ok(r)
    }
}

struct CsvChunks<'a, V> {
    src: &'a CsvSource,
    range: Range<u64>,
    chunk_rows: usize,
    rdr: Option<csv::Reader<BufReader<File>>>,
    rec: csv::ByteRecord,
    next_row: u64,
    buf: Vec<V>,
    seq: u64,
    skipped: u64,
}

impl<V: Value> ChunkReader<V> for CsvChunks<'_, V> {
    fn next_block(&mut self) -> Result<Option<Block<'_, V>>, ReadError> {
        let path = &self.src.info.path;
        let dim = self.src.info.dim;
        loop {
            let Some(rdr) = self.rdr.as_mut() else {
                return Ok(None);
            };
            let first = self.next_row;
            self.buf.clear();
            let mut invalid_rows = 0u64;
            while self.next_row < self.range.end && self.buf.len() < self.chunk_rows * dim {
                if !rdr
                    .read_byte_record(&mut self.rec)
                    .map_err(|e| csv_err(path, e))?
                {
                    return Err(ReadError::Truncated {
                        path: path.clone(),
                        detail: format!("the file ended at data row {}", self.next_row),
                    });
                }
                let row = self.next_row;
                self.next_row += 1;
                if self.rec.len() != self.src.width {
                    return Err(ReadError::Ragged {
                        path: path.clone(),
                        line: record_line(path, &self.rec),
                        row,
                        detail: format!(
                            "{} fields, the header has {}",
                            self.rec.len(),
                            self.src.width
                        ),
                    });
                }
                let start = self.buf.len();
                for (j, &f) in self.src.fields.iter().enumerate() {
                    let field = self.rec.get(f).unwrap_or_default();
                    match parse_num(field) {
                        Some(v) => self.buf.push(v),
                        None if field.iter().all(u8::is_ascii_whitespace) => {
                            if !self.src.skip_invalid {
                                return Err(ReadError::Null {
                                    path: path.clone(),
                                    row,
                                    column: self.src.info.columns[j].clone(),
                                });
                            }
                            self.buf.truncate(start);
                            invalid_rows += 1;
                            break;
                        }
                        None => {
                            return Err(ReadError::Parse {
                                path: path.clone(),
                                line: record_line(path, &self.rec),
                                row,
                                column: self.src.info.columns[j].clone(),
                                value: String::from_utf8_lossy(field).into_owned(),
                            })
                        }
                    }
                }
            }
            self.skipped += invalid_rows;
            if self.next_row >= self.range.end {
                self.rdr = None;
            }
            if let Some((kept, dropped)) = check_block(
                &self.buf,
                dim,
                first,
                &self.src.info.columns,
                path,
                self.src.skip_invalid,
            )? {
                self.buf = kept;
                self.skipped += dropped;
            }
            if self.buf.is_empty() {
                if self.rdr.is_none() {
                    return Ok(None);
                }
                continue;
            }
            let seq = self.seq;
            self.seq += 1;
            return Ok(Some(Block {
                data: &self.buf,
                dim,
                first_row: first,
                seq,
            }));
        }
    }

    fn rewind(&mut self) -> Result<(), ReadError> {
        let path = &self.src.info.path;
        let mut rdr = csv_reader(path)?;
        let mut rec = csv::ByteRecord::new();
        let skip = self.range.start + u64::from(self.src.has_header);
        for _ in 0..skip {
            rdr.read_byte_record(&mut rec)
                .map_err(|e| csv_err(path, e))?;
        }
        self.rdr = (self.range.start < self.range.end).then_some(rdr);
        self.next_row = self.range.start;
        self.seq = 0;
        self.skipped = 0;
        Ok(())
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}
