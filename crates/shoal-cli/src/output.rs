//! Formatting helpers for stdout reports.

/// `1234567` -> `1,234,567`.
pub use shoal_plot::thousands;

/// Bytes as `12.3 MB` (powers of 1000, like `ls -h --si`).
pub fn bytes(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// A rate such as `12.3M rows/s`.
pub fn rate(n: u64, secs: f64) -> String {
    let r = n as f64 / secs.max(1e-9);
    if r >= 1e9 {
        format!("{:.2}G", r / 1e9)
    } else if r >= 1e6 {
        format!("{:.1}M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

pub use shoal_engine::peak_rss;

/// Writes `bytes` to `path` through a temporary file renamed into place.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let file = shoal_reader::AtomicFile::create(path)?;
    file.file()
        .write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    file.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(801_000_000), "801.0 MB");
        assert_eq!(rate(2_000_000, 1.0), "2.0M");
    }
}
