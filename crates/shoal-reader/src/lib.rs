//! Chunked point-set sources for shoal and the writers for its outputs.
//!
//! Every format implements [`Source`]: it knows its row count, dimension and
//! column names, splits into independent row ranges ([`Source::partitions`])
//! and hands out lending [`ChunkReader`]s that yield row-major `f32`
//! [`Block`]s. Storage may be any float or integer type; values are
//! converted to `f32` chunk by chunk. Nothing here knows about clustering.
//!
//! ```no_run
//! use shoal_reader::{open, OpenOptions};
//! let src = open("points.parquet".as_ref(), &OpenOptions::default())?;
//! let mut reader = src.reader(0..src.info().rows, 65536)?;
//! while let Some(block) = reader.next_block()? {
//!     println!("rows {}..{}", block.first_row, block.first_row + block.rows() as u64);
//! }
//! # Ok::<(), shoal_reader::ReadError>(())
//! ```

mod csv;
mod dataset;
mod dense;
mod error;
mod memory;
mod npy;
mod open;
mod pages;
mod parquet;
mod raw;
pub mod remote;
mod source;
mod stamp;
mod transpose;
mod validate;
mod value;
mod writer;

pub use arrow_array;
pub use arrow_schema;
pub use arrow_schema::DataType;
pub use dataset::{Dataset, DatasetFile, PartitionFilter};
pub use error::{ErrorClass, ReadError};
pub use memory::SliceSource;
pub use npy::{parse_descr, parse_header, read_f64 as read_npy_f64, NpyHeader};
pub use open::open;
pub use parquet::RecordBatches;
pub use raw::sidecar_path;
pub use source::{
    read_all, read_all_as, read_all_f64, Block, ChunkReader, Format, OpenOptions, Points, ReaderOf,
    Source, SourceInfo,
};
pub use stamp::FileStamp;
pub use value::{all_finite, all_finite_f64, Elem, Precision, Value};
pub use writer::{
    AtomicFile, BatchWriter, ColumnData, LabelWriter, MatrixWriter, NpyElem, NpyWriter,
    ParquetTableWriter, StoreType, WriteError, DEFAULT_ROW_GROUP_ROWS,
};
