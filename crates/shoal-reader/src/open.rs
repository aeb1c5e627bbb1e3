//! Opening any supported file by its extension.

use std::path::Path;

use crate::error::ReadError;
use crate::source::{Format, OpenOptions, Source};

/// Opens `path` (a local file, or a Parquet object's URL) as a point-set
/// source, choosing the reader by extension.
pub fn open(path: &Path, opts: &OpenOptions) -> Result<Box<dyn Source>, ReadError> {
    let format = Format::from_path(path).ok_or_else(|| ReadError::Usage {
        path: path.to_path_buf(),
        detail: "unknown file type; shoal reads .parquet, .npy, .f32 (raw float32) and .csv".into(),
    })?;
    if crate::remote::is_url(path) {
        if format != Format::Parquet {
            return Err(ReadError::Usage {
                path: path.to_path_buf(),
                detail: "shoal reads Parquet from object storage; copy other files to a local disk first".into(),
            });
        }
    } else if !path.exists() {
        return Err(ReadError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    if opts.columns.is_some() && matches!(format, Format::Npy | Format::RawF32) {
        return Err(ReadError::Usage {
            path: path.to_path_buf(),
            detail:
                "--columns applies to Parquet and CSV files; .npy and .f32 files are read whole"
                    .into(),
        });
    }
    Ok(match format {
        Format::Npy => Box::new(crate::npy::open(path, opts)?),
        Format::RawF32 => Box::new(crate::raw::open(path, opts)?),
        Format::Parquet => Box::new(crate::parquet::open(path, opts)?),
        Format::Csv => Box::new(crate::csv::open(path, opts)?),
        Format::Memory => unreachable!("from_path never names an array in memory"),
    })
}
