//! Raw little-endian float32 files (`.f32`): row-major, no header. The
//! dimension comes from the caller (`--dim`) or a `FILE.json` sidecar
//! holding `{"dim": d}`.

use std::path::{Path, PathBuf};

use crate::dense::open_file;
use crate::dense::{DenseSource, Layout};
use crate::error::ReadError;
use crate::source::{Format, OpenOptions, SourceInfo};
use crate::value::Elem;

/// The sidecar path of a raw file: `data.f32` -> `data.f32.json`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

fn sidecar_dim(path: &Path) -> Result<Option<usize>, ReadError> {
    let side = sidecar_path(path);
    let text = match std::fs::read_to_string(&side) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReadError::io(&side, e)),
    };
    let bad = |detail: String| ReadError::Format {
        path: side.clone(),
        format: "sidecar json",
        detail,
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("{e}")))?;
    let dim = v
        .get("dim")
        .and_then(|d| d.as_u64())
        .ok_or_else(|| bad("expected an object with a positive integer \"dim\"".into()))?;
    if dim == 0 {
        return Err(bad("\"dim\" must be at least 1".into()));
    }
    Ok(Some(dim as usize))
}

pub(crate) fn open(path: &Path, opts: &OpenOptions) -> Result<DenseSource, ReadError> {
    let dim = match opts.dim {
        Some(d) => d,
        None => sidecar_dim(path)?.ok_or_else(|| ReadError::Usage {
            path: path.to_path_buf(),
            detail: format!(
                "a raw .f32 file needs its dimension: pass --dim D or write {} with {{\"dim\": D}}",
                sidecar_path(path).display()
            ),
        })?,
    };
    if dim == 0 {
        return Err(ReadError::Usage {
            path: path.to_path_buf(),
            detail: "--dim must be at least 1".into(),
        });
    }
    let (file, len, _) = open_file(path, 0)?;
    if len == 0 {
        return Err(ReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let row_bytes = dim as u64 * 4;
    if !len.is_multiple_of(row_bytes) {
        return Err(ReadError::Truncated {
            path: path.to_path_buf(),
            detail: format!(
                "{len} bytes is not a whole number of rows of {dim} float32 values ({row_bytes} bytes each); {} bytes left over",
                len % row_bytes
            ),
        });
    }
    let rows = len / row_bytes;
    let info = SourceInfo {
        path: path.to_path_buf(),
        format: Format::RawF32,
        rows,
        dim,
        columns: (0..dim).map(|i| format!("x{i}")).collect(),
        storage: vec![("raw".into(), "float32 little-endian".into())],
        row_groups: None,
        file_bytes: len,
        native: crate::value::Precision::F32,
    };
    let layout = Layout {
        offset: 0,
        rows,
        dim,
        elem: Elem::F32,
        big_endian: false,
        fortran: false,
    };
    DenseSource::new(info, file, layout, opts.skip_invalid)
}
