//! Streaming label outputs: `.npy` (int32 cluster per row) or `.parquet`
//! (`cluster` int32 and `distance` float32, the Euclidean distance to the
//! centroid as scipy's `vq` returns it).

use std::path::Path;

use anyhow::Result;
use shoal_engine::kmeans::LabelSink;
use shoal_reader::{
    ColumnData, DataType, Format, NpyWriter, ParquetTableWriter, WriteError, DEFAULT_ROW_GROUP_ROWS,
};

use crate::exit::usage;

#[derive(Debug)]
pub enum LabelOut {
    Npy(NpyWriter<i32>),
    Parquet(Box<ParquetTableWriter>),
}

impl LabelOut {
    pub fn create(path: &Path) -> Result<LabelOut> {
        Ok(match Format::from_path(path) {
            Some(Format::Npy) => LabelOut::Npy(NpyWriter::create(path, None)?),
            Some(Format::Parquet) => LabelOut::Parquet(Box::new(ParquetTableWriter::create(
                path,
                &[
                    ("cluster".to_string(), DataType::Int32),
                    ("distance".to_string(), DataType::Float32),
                ],
                DEFAULT_ROW_GROUP_ROWS,
            )?)),
            _ => {
                return Err(usage(format!(
                    "{}: labels are written to .npy or .parquet",
                    path.display()
                )))
            }
        })
    }

    pub fn finish(self) -> Result<u64> {
        Ok(match self {
            LabelOut::Npy(w) => w.finish()?,
            LabelOut::Parquet(w) => w.finish()?,
        })
    }
}

impl LabelSink for LabelOut {
    fn write(&mut self, labels: &[u32], dist2: &[f32]) -> Result<(), WriteError> {
        let l: Vec<i32> = labels.iter().map(|&v| v as i32).collect();
        match self {
            LabelOut::Npy(w) => w.write(&l),
            LabelOut::Parquet(w) => {
                let d: Vec<f32> = dist2.iter().map(|v| v.max(0.0).sqrt()).collect();
                w.write(&[ColumnData::I32(&l), ColumnData::F32(&d)])
            }
        }
    }
}
