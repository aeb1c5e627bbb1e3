//! Read-only memory maps of input files. This is one of the two places in
//! shoal that use `unsafe` (the other is SIMD kernels).

#![allow(unsafe_code)]

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use crate::error::ReadError;

/// Opens `path` and maps it read-only; the file is kept for positional
/// reads. An empty file yields `Ok(None)` (an empty mapping is not portable).
pub(crate) fn map_file(path: &Path) -> Result<Option<(File, Mmap)>, ReadError> {
    let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let len = file.metadata().map_err(|e| ReadError::io(path, e))?.len();
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: the mapping is read-only and lives as long as the `Mmap`. The
    // invariant a memory map needs is that no one truncates or rewrites the
    // file while it is mapped; shoal never writes its inputs, and the CLI
    // documents that inputs must not be modified during a run (a concurrent
    // truncation would raise SIGBUS, as with every mmap-based reader). Bytes
    // are only ever read through `&[u8]` and converted with `bytemuck`'s
    // checked casts, so no invalid value can be produced.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| ReadError::io(path, e))?;
    #[cfg(unix)]
    {
        // The map serves random rows of files up to 128 MiB (mini-batch
        // batches), which soon touch every page: read ahead. (Streaming
        // passes read the file with `pread`.)
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    Ok(Some((file, map)))
}
