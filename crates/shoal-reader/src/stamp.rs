//! What an input file looked like when it was opened (device, inode, size,
//! modification time), checked again after every pass: a file that is
//! truncated, extended, rewritten in place or replaced while shoal reads it
//! ends the run with [`ReadError::Changed`] saying which, rather than with a
//! result computed from two different files. A stamp is serialisable, so
//! that a checkpoint can say which file it is of.

use std::fs::{File, Metadata};
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::ReadError;

/// A file's device, inode, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
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
    pub fn at(path: &Path) -> Result<FileStamp, ReadError> {
        let m = std::fs::metadata(path).map_err(|e| ReadError::io(path, e))?;
        Ok(FileStamp::from_meta(&m))
    }

    /// Whether `path` still names the file this stamp was taken of, as it
    /// was: an error saying what changed otherwise.
    pub fn check(&self, path: &Path) -> Result<(), ReadError> {
        let detail = match std::fs::metadata(path) {
            Ok(m) => self.change_to(&FileStamp::from_meta(&m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("was deleted".into()),
            Err(e) => return Err(ReadError::io(path, e)),
        };
        match detail {
            None => Ok(()),
            Some(detail) => Err(ReadError::Changed {
                path: path.to_path_buf(),
                detail,
            }),
        }
    }

    /// What changed between this stamp and `now` ("shrank from A to B
    /// bytes", "was replaced by another file ..."), if anything did.
    pub fn change_to(&self, now: &FileStamp) -> Option<String> {
        if (now.dev, now.ino) != (self.dev, self.ino) {
            return Some(format!(
                "was replaced by another file ({} bytes then, {} now)",
                self.len, now.len
            ));
        }
        if now.len < self.len {
            return Some(format!("shrank from {} to {} bytes", self.len, now.len));
        }
        if now.len > self.len {
            return Some(format!("grew from {} to {} bytes", self.len, now.len));
        }
        if now.modified != self.modified {
            return Some("was rewritten in place (same size, a new modification time)".into());
        }
        None
    }
}
