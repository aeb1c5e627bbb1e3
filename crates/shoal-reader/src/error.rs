//! Errors of the readers and writers. Every variant carries the path and,
//! where it applies, the 0-based data row, the 1-based text line and the
//! column, so the CLI can tell the user exactly where a file is wrong.

use std::path::PathBuf;

/// The class of a read error, one name per kind of problem a user can have
/// with an input file. `ErrorClass::name` gives the stable lowercase name
/// (`"truncated"`, `"non-finite"`, ...) used in tests and `--json` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The file could not be opened, read or written.
    Io,
    /// The bytes are not a valid file of the claimed format.
    Format,
    /// The file is shorter than its header says (or not a whole number of rows).
    Truncated,
    /// The storage type cannot be read as numbers (object/pickled, strings, ...).
    Dtype,
    /// The array shape is not a point set (not 1-D or 2-D).
    Shape,
    /// A NaN or infinite value.
    NonFinite,
    /// A null (missing) value.
    Null,
    /// A requested column is missing, or there is no numeric column.
    Columns,
    /// Zero rows.
    Empty,
    /// A CSV line with the wrong number of fields, or a list column whose
    /// rows have different lengths.
    Ragged,
    /// A text field that is not a number.
    Parse,
    /// The caller's options do not fit the file (missing `--dim`, unknown extension).
    Usage,
    /// The file changed (was truncated, extended, rewritten or replaced)
    /// while shoal read it.
    Changed,
}

impl ErrorClass {
    /// Stable lowercase name of the class.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Io => "io",
            ErrorClass::Format => "format",
            ErrorClass::Truncated => "truncated",
            ErrorClass::Dtype => "dtype",
            ErrorClass::Shape => "shape",
            ErrorClass::NonFinite => "non-finite",
            ErrorClass::Null => "null",
            ErrorClass::Columns => "columns",
            ErrorClass::Empty => "empty",
            ErrorClass::Ragged => "ragged",
            ErrorClass::Parse => "parse",
            ErrorClass::Usage => "usage",
            ErrorClass::Changed => "changed",
        }
    }
}

/// An error while opening, reading or writing a point-set file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid {format} file: {detail}")]
    Format {
        path: PathBuf,
        format: &'static str,
        detail: String,
    },
    #[error("{path}: file is truncated: {detail}")]
    Truncated { path: PathBuf, detail: String },
    #[error("{path}: unsupported data type {dtype}: {detail}")]
    Dtype {
        path: PathBuf,
        dtype: String,
        detail: String,
    },
    #[error("{path}: array of shape {shape} is not a point set (expected 1-D or 2-D)")]
    Shape { path: PathBuf, shape: String },
    #[error("{path}: row {row}, column {column}: value is {value}; clean the data or pass --skip-invalid to skip such rows")]
    NonFinite {
        path: PathBuf,
        row: u64,
        column: String,
        value: String,
    },
    #[error("{path}: row {row}, column {column}: value is null; clean the data or pass --skip-invalid to skip such rows")]
    Null {
        path: PathBuf,
        row: u64,
        column: String,
    },
    #[error("{path}: {detail}")]
    Columns { path: PathBuf, detail: String },
    #[error("{path}: the file has no rows")]
    Empty { path: PathBuf },
    #[error("{path}: line {line} (data row {row}): {detail}")]
    Ragged {
        path: PathBuf,
        line: u64,
        row: u64,
        detail: String,
    },
    #[error(
        "{path}: line {line} (data row {row}), column {column}: cannot parse {value:?} as a number"
    )]
    Parse {
        path: PathBuf,
        line: u64,
        row: u64,
        column: String,
        value: String,
    },
    #[error("{path}: {detail}")]
    Usage { path: PathBuf, detail: String },
    #[error("{path}: the file {detail} while shoal was reading it; was another program writing it? (a result from a file that changes under it would be wrong, so none is written)")]
    Changed { path: PathBuf, detail: String },
}

impl ReadError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            ReadError::Io { .. } => ErrorClass::Io,
            ReadError::Format { .. } => ErrorClass::Format,
            ReadError::Truncated { .. } => ErrorClass::Truncated,
            ReadError::Dtype { .. } => ErrorClass::Dtype,
            ReadError::Shape { .. } => ErrorClass::Shape,
            ReadError::NonFinite { .. } => ErrorClass::NonFinite,
            ReadError::Null { .. } => ErrorClass::Null,
            ReadError::Columns { .. } => ErrorClass::Columns,
            ReadError::Empty { .. } => ErrorClass::Empty,
            ReadError::Ragged { .. } => ErrorClass::Ragged,
            ReadError::Parse { .. } => ErrorClass::Parse,
            ReadError::Usage { .. } => ErrorClass::Usage,
            ReadError::Changed { .. } => ErrorClass::Changed,
        }
    }

    /// The 0-based data row the error is about, if any.
    pub fn row(&self) -> Option<u64> {
        match self {
            ReadError::NonFinite { row, .. }
            | ReadError::Null { row, .. }
            | ReadError::Ragged { row, .. }
            | ReadError::Parse { row, .. } => Some(*row),
            _ => None,
        }
    }

    /// The column the error is about, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            ReadError::NonFinite { column, .. }
            | ReadError::Null { column, .. }
            | ReadError::Parse { column, .. } => Some(column),
            _ => None,
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        ReadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
