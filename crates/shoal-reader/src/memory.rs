//! Points already in memory (a borrowed row-major `f32` slice, e.g. a
//! numpy array handed over by the Python bindings) as a [`Source`], so the
//! engine's passes run over arrays exactly as over files, without a copy.

use std::ops::Range;
use std::path::PathBuf;

use crate::source::{Block, ChunkReader, Format, Source, SourceInfo};
use crate::value::Precision;
use crate::ReadError;

/// Rows per partition: fixed, so partials merge in the same order for any
/// thread count.
const PARTITION_ROWS: u64 = 1 << 16;

/// A borrowed row-major `f32` array of `rows x dim` finite values.
#[derive(Debug)]
pub struct SliceSource<'a> {
    info: SourceInfo,
    data: &'a [f32],
}

impl<'a> SliceSource<'a> {
    /// Checks the shape and that every value is finite (the first bad value
    /// is named by row and column). `name` stands in for a path in messages.
    pub fn new(data: &'a [f32], dim: usize, name: &str) -> Result<Self, ReadError> {
        let path = PathBuf::from(name);
        if dim == 0 || !data.len().is_multiple_of(dim) {
            return Err(ReadError::Shape {
                path,
                shape: format!("{} values in rows of {dim}", data.len()),
            });
        }
        if data.is_empty() {
            return Err(ReadError::Empty { path });
        }
        if !crate::all_finite(data) {
            let i = data.iter().position(|v| !v.is_finite()).unwrap_or(0);
            return Err(ReadError::NonFinite {
                path,
                row: (i / dim) as u64,
                column: format!("x{}", i % dim),
                value: data[i].to_string(),
            });
        }
        let rows = (data.len() / dim) as u64;
        Ok(SliceSource {
            info: SourceInfo {
                path,
                format: Format::Memory,
                rows,
                dim,
                columns: (0..dim).map(|i| format!("x{i}")).collect(),
                storage: vec![("array".into(), format!("float32[{rows}, {dim}]"))],
                row_groups: None,
                file_bytes: std::mem::size_of_val(data) as u64,
                native: Precision::F32,
            },
            data,
        })
    }
}

struct SliceReader<'a> {
    data: &'a [f32],
    dim: usize,
    rows: Range<u64>,
    at: u64,
    chunk: usize,
    seq: u64,
}

impl ChunkReader for SliceReader<'_> {
    fn next_block(&mut self) -> Result<Option<Block<'_>>, ReadError> {
        if self.at >= self.rows.end {
            return Ok(None);
        }
        let end = (self.at + self.chunk as u64).min(self.rows.end);
        let (a, b) = (self.at as usize * self.dim, end as usize * self.dim);
        let block = Block {
            data: &self.data[a..b],
            dim: self.dim,
            first_row: self.at,
            seq: self.seq,
        };
        self.at = end;
        self.seq += 1;
        Ok(Some(block))
    }

    fn rewind(&mut self) -> Result<(), ReadError> {
        self.at = self.rows.start;
        self.seq = 0;
        Ok(())
    }
}

impl Source for SliceSource<'_> {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn partitions(&self) -> Vec<Range<u64>> {
        (0..self.info.rows)
            .step_by(PARTITION_ROWS as usize)
            .map(|s| s..(s + PARTITION_ROWS).min(self.info.rows))
            .collect()
    }

    fn reader(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader + '_>, ReadError> {
        assert!(rows.end <= self.info.rows, "rows within the source");
        Ok(Box::new(SliceReader {
            data: self.data,
            dim: self.info.dim,
            at: rows.start,
            rows,
            chunk: chunk_rows.max(1),
            seq: 0,
        }))
    }

    fn as_contiguous(&self) -> Option<&[f32]> {
        Some(self.data)
    }

    fn read_rows(&self, rows: &[u64], out: &mut Vec<f32>) -> Option<Result<usize, ReadError>> {
        let d = self.info.dim;
        for &r in rows {
            let r = r as usize;
            out.extend_from_slice(&self.data[r * d..(r + 1) * d]);
        }
        Some(Ok(rows.len()))
    }

    fn resident_fraction(&self) -> Option<f64> {
        Some(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_reads_back_in_order_and_bad_values_are_named() {
        let v: Vec<f32> = (0..10).map(|i| i as f32).collect();
        let s = SliceSource::new(&v, 2, "array").unwrap();
        assert_eq!(s.info().rows, 5);
        assert_eq!(crate::read_all(&s, 2).unwrap(), v);
        let mut r = s.reader(1..4, 2).unwrap();
        let b = r.next_block().unwrap().unwrap();
        assert_eq!((b.first_row, b.data), (1, &v[2..6]));
        let mut w = v.clone();
        w[7] = f32::NAN;
        let e = SliceSource::new(&w, 2, "array").unwrap_err().to_string();
        assert!(e.contains("row 3") && e.contains("x1"), "{e}");
        assert!(SliceSource::new(&v, 3, "array").is_err());
    }
}
