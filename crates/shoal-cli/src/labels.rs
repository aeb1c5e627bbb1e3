//! Streaming label outputs for k-means: `.npy` (int32 cluster per row) or
//! `.parquet` (`cluster` int32 and `distance` float32, the Euclidean
//! distance to the centroid as scipy's `vq` returns it).

use std::path::Path;

use anyhow::Result;
use shoal_engine::kmeans::LabelSink;
use shoal_reader::{LabelWriter, WriteError};

/// A [`LabelSink`] over the reader crate's [`LabelWriter`].
#[derive(Debug)]
pub struct LabelOut(LabelWriter);

impl LabelOut {
    pub fn create(path: &Path) -> Result<LabelOut> {
        Ok(LabelOut(LabelWriter::create(path, true)?))
    }

    pub fn finish(self) -> Result<u64> {
        Ok(self.0.finish()?)
    }
}

impl LabelSink for LabelOut {
    fn write(&mut self, labels: &[u32], dist2: &[f32]) -> Result<(), WriteError> {
        let l: Vec<i32> = labels.iter().map(|&v| v as i32).collect();
        let d: Vec<f32> = dist2.iter().map(|v| v.max(0.0).sqrt()).collect();
        self.0.write(&l, Some(&d))
    }
}
