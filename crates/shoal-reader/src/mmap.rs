//! Read-only memory maps of input files. This is one of the two places in
//! shoal that use `unsafe` (the other is SIMD kernels).

#![allow(unsafe_code)]

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use crate::error::ReadError;

/// Maps `path` read-only. An empty file yields `Ok(None)` (an empty mapping
/// is not portable).
pub(crate) fn map_file(path: &Path) -> Result<Option<Mmap>, ReadError> {
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
        // Sequential passes dominate; tell the kernel so it reads ahead.
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    Ok(Some(map))
}

/// Page-aligned sub-range `[start, end)` lying inside `offset..offset+len`.
fn inner_pages(offset: usize, len: usize) -> Option<(usize, usize)> {
    const PAGE: usize = 4096;
    let start = offset.div_ceil(PAGE) * PAGE;
    let end = (offset + len) / PAGE * PAGE;
    (end > start).then(|| (start, end - start))
}

/// Asks the kernel to map `len` bytes at `offset` in one go (Linux 5.14+
/// `MADV_POPULATE_READ`; a no-op elsewhere), instead of one fault per few pages.
pub(crate) fn populate(map: &Mmap, offset: usize, len: usize) {
    #[cfg(target_os = "linux")]
    if let Some((s, l)) = inner_pages(offset, len) {
        let _ = map.advise_range(memmap2::Advice::PopulateRead, s, l);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (map, offset, len);
}

/// Drops the pages of `offset..offset+len` from this process's page tables
/// once they have been read, so the resident set does not grow with the file
/// (the data stays in the page cache).
pub(crate) fn release(map: &Mmap, offset: usize, len: usize) {
    #[cfg(unix)]
    if let Some((s, l)) = inner_pages(offset, len) {
        // SAFETY: `MADV_DONTNEED` on a private, read-only, file-backed mapping
        // only unmaps the pages: the next access faults them in again from
        // the file, with the same bytes. We never write through the map, so no
        // modification can be lost, and no reference into the range is
        // invalidated (its contents stay identical).
        let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, s, l) };
    }
    #[cfg(not(unix))]
    let _ = (map, offset, len);
}
