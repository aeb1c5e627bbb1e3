//! A dense numeric array stored in a file, in C or Fortran order, in any
//! supported element type and byte order. Shared by the `.npy` and raw
//! `.f32` sources.
//!
//! Streaming passes over C-order data read each chunk with one positional
//! read (`pread`) into a buffer the reader reuses: the chunk (at most
//! `CHUNK_CACHE_BYTES` of values) is then still in cache when it is
//! validated and clustered. Through the memory map the same pass paid a
//! page-table update per 4 KiB page to map it and another to unmap it (so
//! the resident set stays small), and the kernels met the data in memory,
//! not in cache: the bare O1B read (8 GB) took 0.60-0.72 s that way and
//! takes 0.49-0.51 s this way. Fortran order takes one read per column of
//! the chunk. Random rows of payloads up to [`RANDOM_COPY_MAX_BYTES`] are
//! served from a copy read once into memory; larger ones row by row.
//!
//! No memory map is kept: a map of a file that another program truncates
//! raises SIGBUS on the next access to the lost pages, which no error path
//! can turn into a message. Positional reads see a short read instead, and
//! the file's stamp ([`crate::stamp::FileStamp`]) is checked after every
//! pass, so a file that changes under a run ends it with an error.

use std::fs::File;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::OnceLock;

use half::f16;

use crate::error::ReadError;
use crate::source::{fixed_partitions, Block, ChunkReader, Source, SourceInfo};
use crate::stamp::FileStamp;
use crate::validate::check_block;
use crate::value::{all_finite, Elem, Value};

/// Layout of the numbers inside the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub offset: usize,
    pub rows: u64,
    pub dim: usize,
    pub elem: Elem,
    pub big_endian: bool,
    pub fortran: bool,
}

/// A dense array in a file, read with positional reads.
pub(crate) struct DenseSource {
    info: SourceInfo,
    layout: Layout,
    skip_invalid: bool,
    file: File,
    /// The file's length at open.
    file_len: u64,
    /// The file as it was opened, checked after every pass.
    stamp: FileStamp,
    /// The payload, read whole on the first `read_rows` when it is at most
    /// [`RANDOM_COPY_MAX_BYTES`] (in 8-byte words, so that it can be viewed
    /// as `f32` or `f64`).
    copy: OnceLock<Vec<u64>>,
    /// Partitions (see `partitions()`) already read whole and found valid:
    /// later passes skip the check (a file changed in between fails the
    /// stamp's check after the pass, so no unchecked value is ever used).
    valid: Vec<AtomicBool>,
}

/// `read_rows` serves payloads up to this size from a copy in memory, read
/// once (mini-batch's random rows soon touch every page; this is what a
/// memory map of the file held resident before); larger payloads are read
/// row by row with `pread`, which leaves the resident set alone.
const RANDOM_COPY_MAX_BYTES: usize = 128 << 20;

impl std::fmt::Debug for DenseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseSource")
            .field("info", &self.info)
            .field("layout", &self.layout)
            .finish()
    }
}

/// Opens `path` for positional reads: the file, its length, and its first
/// `head` bytes (fewer if the file is shorter).
pub(crate) fn open_file(
    path: &std::path::Path,
    head: usize,
) -> Result<(File, u64, Vec<u8>), ReadError> {
    let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let len = file.metadata().map_err(|e| ReadError::io(path, e))?.len();
    let n = usize::try_from(len).unwrap_or(usize::MAX).min(head);
    let mut bytes = vec![0u8; n];
    read_exact_at(&file, &mut bytes, 0).map_err(|e| ReadError::io(path, e))?;
    Ok((file, len, bytes))
}

impl Layout {
    /// Refuses a shape the file cannot hold, before anything is allocated
    /// from it (a header may declare any shape).
    pub(crate) fn check(&self, path: &std::path::Path, file_len: usize) -> Result<(), ReadError> {
        let need = (self.rows as u128)
            .saturating_mul(self.dim as u128)
            .saturating_mul(self.elem.size() as u128);
        let have = (file_len - self.offset.min(file_len)) as u128;
        if have < need {
            return Err(ReadError::Truncated {
                path: path.to_path_buf(),
                detail: format!(
                    "{} x {} {} values need {need} bytes after the {}-byte header, the file has {have}",
                    self.rows,
                    self.dim,
                    self.elem.name(),
                    self.offset
                ),
            });
        }
        Ok(())
    }
}

impl DenseSource {
    /// A positional read of `buf.len()` bytes at `at`. A read that finds the
    /// file shorter than it was at open says so, with both sizes: another
    /// process truncated or rewrote it while shoal read it.
    fn read_at(&self, f: &File, buf: &mut [u8], at: u64) -> Result<(), ReadError> {
        read_exact_at(f, buf, at).map_err(|e| {
            let opened = self.file_len;
            match f.metadata().map(|m| m.len()) {
                Ok(now) if e.kind() == std::io::ErrorKind::UnexpectedEof && now < opened => {
                    ReadError::Truncated {
                        path: self.info.path.clone(),
                        detail: format!(
                            "it shrank from {opened} to {now} bytes while it was being read; \
                             was another program writing it?"
                        ),
                    }
                }
                _ => ReadError::io(&self.info.path, e),
            }
        })
    }

    /// Checks that the file holds the whole array and builds the source.
    pub(crate) fn new(
        info: SourceInfo,
        file: File,
        layout: Layout,
        skip_invalid: bool,
    ) -> Result<Self, ReadError> {
        let stamp = FileStamp::of(&file, &info.path)?;
        let file_len = info.file_bytes;
        layout.check(&info.path, usize::try_from(file_len).unwrap_or(usize::MAX))?;
        Ok(DenseSource {
            info,
            layout,
            skip_invalid,
            file,
            file_len,
            stamp,
            copy: OnceLock::new(),
            valid: (0..fixed_partitions(layout.rows, layout.dim).len())
                .map(|_| AtomicBool::new(false))
                .collect(),
        })
    }

    fn payload_len(&self) -> usize {
        self.layout.rows as usize * self.layout.dim * self.layout.elem.size()
    }

    /// The payload in memory, read on first use, when it is small enough.
    fn payload(&self) -> Result<Option<&[u8]>, ReadError> {
        let n = self.payload_len();
        if n > RANDOM_COPY_MAX_BYTES {
            return Ok(None);
        }
        if self.copy.get().is_none() {
            let mut words = vec![0u64; n.div_ceil(8)];
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
            self.read_at(&self.file, &mut bytes[..n], self.layout.offset as u64)?;
            // Another thread may have read it meanwhile: the same bytes.
            let _ = self.copy.set(words);
        }
        Ok(self
            .copy
            .get()
            .map(|w| &bytemuck::cast_slice::<u64, u8>(w)[..n]))
    }

    fn read_rows_dense(&self, rows: &[u64], out: &mut Vec<f32>) -> Result<usize, ReadError> {
        let l = self.layout;
        let (d, es) = (l.dim, l.elem.size());
        let payload = self.payload()?;
        let file = payload.is_none().then_some(&self.file);
        let native = payload.filter(|_| self.is_native_f32());
        if let Some(all) = native.and_then(|p| bytemuck::try_cast_slice::<u8, f32>(p).ok()) {
            // Native f32 in memory: a plain gather (independent loads, so
            // the cache misses of random rows overlap), validated at once.
            let start = out.len();
            out.reserve(rows.len() * d);
            for &r in rows {
                assert!(r < l.rows, "row {r} out of range");
                let r = r as usize;
                out.extend_from_slice(&all[r * d..(r + 1) * d]);
            }
            if all_finite(&out[start..]) {
                return Ok(rows.len());
            }
            out.truncate(start);
            // fall through: the slow path names the bad row or skips it
        }
        let mut bytes = vec![0u8; d * es];
        let mut row = vec![0.0f32; d];
        let mut kept = 0;
        for &r in rows {
            assert!(r < l.rows, "row {r} out of range");
            let r = r as usize;
            // (byte offset in the payload, values, stride in the output)
            // Fortran order: one value per column, `rows` apart; C order:
            // the row's values together.
            let (pieces, count) = if l.fortran && d > 1 { (d, 1) } else { (1, d) };
            for c in 0..pieces {
                let at = if count == 1 && pieces > 1 {
                    (c * l.rows as usize + r) * es
                } else {
                    r * d * es
                };
                let src: &[u8] = match (payload, file) {
                    (Some(p), _) => &p[at..at + count * es],
                    (None, Some(f)) => {
                        self.read_at(f, &mut bytes[..count * es], (l.offset + at) as u64)?;
                        &bytes[..count * es]
                    }
                    (None, None) => unreachable!("no copy means positional reads"),
                };
                convert(src, l.elem, l.big_endian, &mut row[c..], 1);
            }
            match check_block(
                &row,
                d,
                r as u64,
                &self.info.columns,
                &self.info.path,
                self.skip_invalid,
            )? {
                Some((k, _)) if k.is_empty() => {}
                _ => {
                    out.extend_from_slice(&row);
                    kept += 1;
                }
            }
        }
        Ok(kept)
    }

    /// The index of the partition `rows` is exactly, if it is one.
    fn partition_of(&self, rows: &Range<u64>) -> Option<usize> {
        let per = crate::source::partition_rows(self.layout.dim);
        let p = rows.start / per;
        let want = p * per..((p + 1) * per).min(self.layout.rows);
        (rows.start.is_multiple_of(per) && *rows == want && (p as usize) < self.valid.len())
            .then_some(p as usize)
    }

    fn dense_reader<V: Value>(&self, rows: Range<u64>, chunk_rows: usize) -> DenseReader<'_, V> {
        assert!(rows.end <= self.layout.rows && rows.start <= rows.end);
        // A partition found valid as f32 is valid as f64 too, but not the
        // other way round (1e300 is a finite double): only f32 readers keep
        // and trust the marks.
        let part = (V::ELEM == Elem::F32)
            .then(|| self.partition_of(&rows))
            .flatten();
        let trusted = part.is_some_and(|p| self.valid[p].load(Ordering::Relaxed));
        DenseReader {
            src: self,
            part,
            trusted,
            clean: true,
            range: rows.clone(),
            next: rows.start,
            chunk_rows: chunk_rows.max(1),
            buf: Vec::new(),
            bytes: Vec::new(),
            seq: 0,
            skipped: 0,
        }
    }

    /// Is the payload exactly `V` in native byte order (C order is checked
    /// by the caller)?
    fn is_native<V: Value>(&self) -> bool {
        self.layout.elem == V::ELEM && (self.layout.big_endian == cfg!(target_endian = "big"))
    }

    /// Is the payload exactly little-endian C-order float32?
    fn is_native_f32(&self) -> bool {
        !self.layout.fortran && self.is_native::<f32>()
    }
}

impl Source for DenseSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn partitions(&self) -> Vec<Range<u64>> {
        fixed_partitions(self.layout.rows, self.layout.dim)
    }

    fn reader(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader + '_>, ReadError> {
        Ok(Box::new(self.dense_reader::<f32>(rows, chunk_rows)))
    }

    fn reader_f64(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader<f64> + '_>, ReadError> {
        Ok(Box::new(self.dense_reader::<f64>(rows, chunk_rows)))
    }

    fn read_rows(&self, rows: &[u64], out: &mut Vec<f32>) -> Option<Result<usize, ReadError>> {
        Some(self.read_rows_dense(rows, out))
    }

    fn resident_fraction(&self) -> Option<f64> {
        let payload = self.payload_len() as u64;
        resident_fraction(&self.file, self.layout.offset as u64, payload)
    }

    fn as_contiguous(&self) -> Option<&[f32]> {
        if self.is_native_f32() {
            bytemuck::try_cast_slice(self.payload().ok()??).ok()
        } else {
            None
        }
    }

    fn unchanged(&self) -> Result<(), ReadError> {
        self.stamp.check(&self.info.path)
    }
}

/// Pages probed by [`resident_fraction`].
const RESIDENT_PROBES: u64 = 256;

/// The fraction of [`RESIDENT_PROBES`] evenly spaced bytes of `f` in
/// `at .. at + len` that a read finds in the page cache: each is read with
/// `RWF_NOWAIT`, which fails rather than wait for the disk (Linux 4.14 and
/// later). `None` where that cannot be asked.
#[cfg(target_os = "linux")]
fn resident_fraction(f: &File, at: u64, len: u64) -> Option<f64> {
    use rustix::io::{preadv2, Errno, ReadWriteFlags};
    if len == 0 {
        return Some(1.0);
    }
    let mut byte = [0u8; 1];
    let mut hit = 0u64;
    for i in 0..RESIDENT_PROBES {
        let off = at + (len as u128 * (2 * i as u128 + 1) / (2 * RESIDENT_PROBES as u128)) as u64;
        let mut bufs = [std::io::IoSliceMut::new(&mut byte)];
        match preadv2(f, &mut bufs, off, ReadWriteFlags::NOWAIT) {
            Ok(_) => hit += 1,
            Err(Errno::AGAIN) => {}
            Err(_) => return None,
        }
    }
    Some(hit as f64 / RESIDENT_PROBES as f64)
}

#[cfg(not(target_os = "linux"))]
fn resident_fraction(_f: &File, _at: u64, _len: u64) -> Option<f64> {
    None
}

#[cfg(unix)]
pub(crate) fn read_exact_at(f: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, at)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(f: &File, mut buf: &mut [u8], mut at: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = f.seek_read(buf, at)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        at += n as u64;
    }
    Ok(())
}

struct DenseReader<'a, V> {
    src: &'a DenseSource,
    /// The partition this reader covers exactly, if any.
    part: Option<usize>,
    /// The partition was validated by an earlier reader: skip the checks.
    trusted: bool,
    /// Every block so far was valid as read.
    clean: bool,
    range: Range<u64>,
    next: u64,
    chunk_rows: usize,
    /// The chunk's values.
    buf: Vec<V>,
    /// The chunk's bytes as stored, when they are not native f32.
    bytes: Vec<u8>,
    seq: u64,
    skipped: u64,
}

/// Converts the elements stored in `bytes` to `V` (one rounding at most),
/// writing them to `out` with a stride (1 for C order; `dim` when scattering
/// a Fortran-order column into row-major output).
fn convert<V: Value>(bytes: &[u8], elem: Elem, big: bool, out: &mut [V], stride: usize) {
    macro_rules! conv {
        ($t:ty, $n:expr, $f:expr) => {{
            for (i, c) in bytes.chunks_exact($n).enumerate() {
                let arr: [u8; $n] = c.try_into().expect("chunks_exact yields $n bytes");
                let v = if big {
                    <$t>::from_be_bytes(arr)
                } else {
                    <$t>::from_le_bytes(arr)
                };
                out[i * stride] = $f(v);
            }
        }};
    }
    match elem {
        Elem::F32 => conv!(f32, 4, V::from_f32),
        Elem::F64 => conv!(f64, 8, V::from_f64),
        Elem::F16 => conv!(u16, 2, |v: u16| V::from_f32(f16::from_bits(v).to_f32())),
        Elem::I8 => conv!(i8, 1, |v: i8| V::from_i64(v.into())),
        Elem::I16 => conv!(i16, 2, |v: i16| V::from_i64(v.into())),
        Elem::I32 => conv!(i32, 4, |v: i32| V::from_i64(v.into())),
        Elem::I64 => conv!(i64, 8, V::from_i64),
        Elem::U8 => conv!(u8, 1, |v: u8| V::from_i64(v.into())),
        Elem::U16 => conv!(u16, 2, |v: u16| V::from_i64(v.into())),
        Elem::U32 => conv!(u32, 4, |v: u32| V::from_i64(v.into())),
        Elem::U64 => conv!(u64, 8, V::from_u64),
    }
}

impl<V: Value> ChunkReader<V> for DenseReader<'_, V> {
    fn next_block(&mut self) -> Result<Option<Block<'_, V>>, ReadError> {
        loop {
            if self.next >= self.range.end {
                if let (Some(p), true) = (self.part, self.clean) {
                    self.src.valid[p].store(true, Ordering::Relaxed);
                }
                return Ok(None);
            }
            let l = self.src.layout;
            let start = self.next;
            let end = (start + self.chunk_rows as u64).min(self.range.end);
            self.next = end;
            let n = (end - start) as usize;
            let seq = self.seq;
            self.seq += 1;
            let es = l.elem.size();
            self.buf.resize(n * l.dim, V::default());
            let src = self.src;
            let f = &src.file;
            if !l.fortran || l.dim == 1 {
                // C order: the chunk's bytes are contiguous in the file
                let at = (l.offset + start as usize * l.dim * es) as u64;
                if src.is_native::<V>() {
                    src.read_at(f, bytemuck::cast_slice_mut(&mut self.buf[..]), at)?;
                } else {
                    self.bytes.resize(n * l.dim * es, 0);
                    src.read_at(f, &mut self.bytes, at)?;
                    convert(&self.bytes, l.elem, l.big_endian, &mut self.buf, 1);
                }
            } else {
                // Fortran order: one read per column, scattered into rows
                self.bytes.resize(n * es, 0);
                for c in 0..l.dim {
                    let at = (l.offset + (c * l.rows as usize + start as usize) * es) as u64;
                    src.read_at(f, &mut self.bytes, at)?;
                    convert(&self.bytes, l.elem, l.big_endian, &mut self.buf[c..], l.dim);
                }
            }
            if self.trusted {
                // validated by an earlier pass
            } else if let Some((kept, dropped)) = check_block(
                &self.buf,
                l.dim,
                start,
                &self.src.info.columns,
                &self.src.info.path,
                self.src.skip_invalid,
            )? {
                self.clean = false;
                self.skipped += dropped;
                self.buf = kept;
            }
            if self.buf.is_empty() {
                continue; // every row of this chunk was skipped
            }
            return Ok(Some(Block {
                data: &self.buf,
                dim: l.dim,
                first_row: start,
                seq,
            }));
        }
    }

    fn rewind(&mut self) -> Result<(), ReadError> {
        self.next = self.range.start;
        self.seq = 0;
        self.skipped = 0;
        Ok(())
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}
