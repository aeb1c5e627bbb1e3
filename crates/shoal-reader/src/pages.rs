//! Parquet page headers checked before the parquet crate decodes them.
//!
//! The parquet crate reserves a page's declared uncompressed size before it
//! decompresses the page and only then compares the two (apache/arrow-rs
//! issue 10734): an 800-byte file whose page header declares 2 GiB made a
//! pass take 3.7 GB of memory (found by fuzzing). The format makes every
//! page's uncompressed size at most its column chunk's total, which the
//! footer records; so before a row group is read, the headers of the pages
//! of every selected column chunk are read (a few hundred bytes each, from
//! the pages about to be read anyway) and a page larger than its chunk, or
//! reaching past it, is refused before anything is allocated from it.
//!
//! A page whose header honestly declares a huge size (a decompression bomb:
//! a few kilobytes that inflate to gigabytes) is refused too, above
//! [`MAX_PAGE_BYTES`]: writers make pages of about 1 MiB (pyarrow, Spark,
//! polars and the parquet crate by default), and one page is decoded whole.
//!
//! The headers are Thrift compact structs; only the three leading sizes are
//! decoded, the rest is skipped by type.

use std::fs::File;
use std::ops::Range;
use std::path::Path;

use parquet::arrow::ProjectionMask;
use parquet::file::metadata::ParquetMetaData;

use crate::error::ReadError;

/// Bytes read for a header at first; a header that needs more (large
/// statistics) is read again with more, up to [`MAX_HEADER`].
const FIRST_READ: usize = 512;
const MAX_HEADER: usize = 16 << 20;
/// The largest page decoded: 256 MiB uncompressed.
pub(crate) const MAX_PAGE_BYTES: u64 = 256 << 20;
/// Nesting the skipper follows (the format nests a few levels).
const MAX_DEPTH: usize = 32;

fn corrupt(path: &Path, detail: String) -> ReadError {
    ReadError::Format {
        path: path.to_path_buf(),
        format: "parquet",
        detail,
    }
}

/// Bytes at a position: a local file, or the column chunks fetched from
/// object storage.
pub(crate) trait ReadAt {
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()>;
}

impl ReadAt for File {
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()> {
        crate::dense::read_exact_at(self, buf, at)
    }
}

/// A selected column chunk of a row group: where it is, and what the footer
/// says it holds uncompressed.
pub(crate) struct Chunk {
    pub(crate) rg: usize,
    pub(crate) column: String,
    pub(crate) range: Range<u64>,
    pub(crate) uncompressed: u64,
}

/// The selected column chunks of `row_groups`, each checked to lie in the
/// `file_len`-byte file.
pub(crate) fn chunks(
    path: &Path,
    md: &ParquetMetaData,
    row_groups: &[usize],
    mask: &ProjectionMask,
    file_len: u64,
) -> Result<Vec<Chunk>, ReadError> {
    let mut out = Vec::new();
    for &rg in row_groups {
        for (i, col) in md.row_group(rg).columns().iter().enumerate() {
            if !mask.leaf_included(i) {
                continue;
            }
            // (not `byte_range()`, which panics on negative values: found by
            // fuzzing)
            let start = col
                .dictionary_page_offset()
                .unwrap_or(col.data_page_offset());
            let len = col.compressed_size();
            let end = u64::try_from(start)
                .ok()
                .zip(u64::try_from(len).ok())
                .and_then(|(s, l)| s.checked_add(l))
                .filter(|&e| e <= file_len)
                .ok_or_else(|| {
                corrupt(
                    path,
                    format!(
                        "row group {rg}, column {}: its chunk claims bytes {start}..+{len}, outside the {file_len}-byte file",
                        col.column_path().string()
                    ),
                )
            })?;
            out.push(Chunk {
                rg,
                column: col.column_path().string(),
                range: end - len as u64..end, // both non-negative, checked above
                uncompressed: u64::try_from(col.uncompressed_size()).unwrap_or(0),
            });
        }
    }
    Ok(out)
}

/// Checks the page headers of the column chunks `chunks` (of [`chunks`]).
pub(crate) fn check_pages(
    file: &impl ReadAt,
    path: &Path,
    chunks: &[Chunk],
) -> Result<(), ReadError> {
    for c in chunks {
        check_chunk(
            file,
            path,
            c.range.start,
            c.range.end,
            c.uncompressed,
            c.rg,
            &c.column,
        )?;
    }
    Ok(())
}

fn check_chunk(
    file: &impl ReadAt,
    path: &Path,
    start: u64,
    end: u64,
    total: u64,
    rg: usize,
    column: &str,
) -> Result<(), ReadError> {
    let mut at = start;
    let mut buf = Vec::new();
    while at < end {
        let mut want = FIRST_READ;
        let header = loop {
            let n = (want as u64).min(end - at) as usize;
            buf.resize(n, 0);
            file.read_exact_at(&mut buf, at)
                .map_err(|e| ReadError::io(path, e))?;
            match page_sizes(&buf) {
                Ok(h) => break h,
                Err(Short) if n == want && want < MAX_HEADER => want *= 8,
                Err(_) => {
                    return Err(corrupt(
                        path,
                        format!("row group {rg}, column {column}: the page header at byte {at} cannot be decoded"),
                    ))
                }
            }
        };
        let (unc, comp, header_len) = header;
        let here = format!("row group {rg}, column {column}: the page at byte {at}");
        let (Ok(unc), Ok(comp)) = (u64::try_from(unc), u64::try_from(comp)) else {
            return Err(corrupt(path, format!("{here} declares a negative size")));
        };
        let next = at + header_len as u64 + comp;
        if next > end {
            return Err(corrupt(
                path,
                format!(
                    "{here} declares {comp} bytes, past the end of its column chunk (byte {end})"
                ),
            ));
        }
        if unc > MAX_PAGE_BYTES {
            return Err(corrupt(
                path,
                format!(
                    "{here} declares {unc} bytes uncompressed ({comp} stored); shoal decodes pages of at most {} MiB (writers make pages of about 1 MiB): rewrite the file with smaller pages",
                    MAX_PAGE_BYTES >> 20
                ),
            ));
        }
        if unc > total {
            return Err(corrupt(
                path,
                format!(
                    "{here} declares {unc} bytes uncompressed, more than its whole column chunk ({total}); refused before decompressing"
                ),
            ));
        }
        at = next;
    }
    Ok(())
}

/// The header ended before the bytes read (read more), or is malformed.
#[derive(Debug)]
struct Short;

/// `(uncompressed_page_size, compressed_page_size, header length)` of the
/// Thrift compact `PageHeader` at the start of `b`.
fn page_sizes(b: &[u8]) -> Result<(i64, i64, usize), Short> {
    let mut r = Reader { b, at: 0 };
    let (mut unc, mut comp) = (None, None);
    let mut last = 0i16;
    loop {
        let byte = r.byte()?;
        if byte == 0 {
            break;
        }
        let kind = byte & 0x0f;
        let delta = (byte >> 4) as i16;
        let id = if delta == 0 {
            zigzag(r.varint()?) as i16
        } else {
            last.wrapping_add(delta)
        };
        last = id;
        match (id, kind) {
            (2, 5) => unc = Some(zigzag(r.varint()?)),
            (3, 5) => comp = Some(zigzag(r.varint()?)),
            _ => r.skip(kind, 0)?,
        }
    }
    match (unc, comp) {
        (Some(u), Some(c)) => Ok((u, c, r.at)),
        _ => Err(Short),
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, Short> {
        let v = *self.b.get(self.at).ok_or(Short)?;
        self.at += 1;
        Ok(v)
    }

    fn varint(&mut self) -> Result<u64, Short> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Short)
    }

    fn advance(&mut self, n: u64) -> Result<(), Short> {
        let n = usize::try_from(n).map_err(|_| Short)?;
        self.at = self
            .at
            .checked_add(n)
            .filter(|&a| a <= self.b.len())
            .ok_or(Short)?;
        Ok(())
    }

    /// Skips `n` elements of a list, set or map, each one value of every
    /// type of `kinds`. A boolean element is a byte (in a struct field it
    /// lives in the header), so every element takes at least a byte: a
    /// count larger than the bytes left is refused at once rather than
    /// looped over (found by fuzzing: a map of 34 billion booleans took
    /// minutes).
    fn elements(&mut self, n: u64, kinds: &[u8], depth: usize) -> Result<(), Short> {
        if n > (self.b.len() - self.at) as u64 {
            return Err(Short);
        }
        for _ in 0..n {
            for &kind in kinds {
                if kind == 1 || kind == 2 {
                    self.advance(1)?;
                } else {
                    self.skip(kind, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// Skips a value of compact type `kind`.
    fn skip(&mut self, kind: u8, depth: usize) -> Result<(), Short> {
        if depth > MAX_DEPTH {
            return Err(Short);
        }
        match kind {
            1 | 2 => Ok(()),                    // booleans live in the field header
            3 => self.advance(1),               // i8
            4..=6 => self.varint().map(|_| ()), // i16, i32, i64
            7 => self.advance(8),               // double
            8 => {
                let n = self.varint()?; // binary
                self.advance(n)
            }
            9 | 10 => {
                let h = self.byte()?; // list, set
                let n = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                self.elements(n, &[h & 0x0f], depth)
            }
            11 => {
                let n = self.varint()?; // map
                if n == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                self.elements(n, &[kv >> 4, kv & 0x0f], depth)
            }
            12 => loop {
                let byte = self.byte()?; // struct
                if byte == 0 {
                    return Ok(());
                }
                if byte >> 4 == 0 {
                    self.varint()?;
                }
                self.skip(byte & 0x0f, depth + 1)?;
            },
            _ => Err(Short),
        }
    }
}

fn zigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}
