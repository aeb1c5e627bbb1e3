//! What an input file looked like when it was opened (device, inode, size,
//! modification time), checked again after every pass: a file that is
//! truncated, extended, rewritten in place or replaced while shoal reads it
//! ends the run with [`ReadError::Changed`] saying which, rather than with a
//! result computed from two different files.

use std::fs::{File, Metadata};
use std::path::Path;
use std::time::SystemTime;

use crate::error::ReadError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn from_meta(m: &Metadata) -> FileStamp {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        FileStamp {
            dev,
            ino,
            len: m.len(),
            modified: m.modified().ok(),
        }
    }

    /// The stamp of an opened file.
    pub(crate) fn of(file: &File, path: &Path) -> Result<FileStamp, ReadError> {
        let m = file.metadata().map_err(|e| ReadError::io(path, e))?;
        Ok(FileStamp::from_meta(&m))
    }

    /// The stamp of the file `path` names now.
    pub(crate) fn at(path: &Path) -> Result<FileStamp, ReadError> {
        let m = std::fs::metadata(path).map_err(|e| ReadError::io(path, e))?;
        Ok(FileStamp::from_meta(&m))
    }

    /// Whether `path` still names the file this stamp was taken of, as it
    /// was: an error saying what changed otherwise.
    pub(crate) fn check(&self, path: &Path) -> Result<(), ReadError> {
        let changed = |detail: String| {
            Err(ReadError::Changed {
                path: path.to_path_buf(),
                detail,
            })
        };
        let now = match std::fs::metadata(path) {
            Ok(m) => FileStamp::from_meta(&m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return changed("was deleted".into())
            }
            Err(e) => return Err(ReadError::io(path, e)),
        };
        if (now.dev, now.ino) != (self.dev, self.ino) {
            return changed(format!(
                "was replaced by another file ({} bytes then, {} now)",
                self.len, now.len
            ));
        }
        if now.len < self.len {
            return changed(format!("shrank from {} to {} bytes", self.len, now.len));
        }
        if now.len > self.len {
            return changed(format!("grew from {} to {} bytes", self.len, now.len));
        }
        if now.modified != self.modified {
            return changed("was rewritten in place (same size, a new modification time)".into());
        }
        Ok(())
    }
}
