//! `shoal fit --checkpoint/--resume`: the checkpoint file around the
//! engine's [`LloydState`] — which file it is of (path and the reader's
//! file stamp), which parameters, which version — written atomically, and refused
//! with the reason when any of them differs on `--resume`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shoal_engine::checkpoint::{Checkpointer, LloydState};
use shoal_reader::{AtomicFile, FileStamp, WriteError};

use crate::exit::usage;

pub const FORMAT: &str = "shoal-checkpoint-2";

/// A file a checkpoint is of (a dataset's checkpoint is of each of its
/// files): its path, and the reader's stamp of it (device, inode, size,
/// modification time) when the fit opened it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub path: PathBuf,
    pub stamp: FileStamp,
}

impl Identity {
    pub fn of(path: &Path) -> Result<Identity> {
        Ok(Identity {
            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            stamp: FileStamp::at(path)?,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct CheckpointFile {
    format: String,
    version: String,
    sources: Vec<Identity>,
    /// The parameters that decide the result, by option name.
    params: serde_json::Map<String, Value>,
    state: LloydState,
}

/// Reads a checkpoint and checks it against this fit; the state it holds.
pub fn load(
    path: &Path,
    sources: &[Identity],
    params: &serde_json::Map<String, Value>,
) -> Result<LloydState> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the checkpoint {}", path.display()))?;
    let refuse = |why: String| usage(format!("--resume {}: {why}", path.display()));
    let head: Value =
        serde_json::from_str(&text).map_err(|e| refuse(format!("not a shoal checkpoint ({e})")))?;
    if head.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(refuse(format!(
            "not a shoal checkpoint (no \"format\": \"{FORMAT}\")"
        )));
    }
    let version = head.get("version").and_then(Value::as_str).unwrap_or("?");
    if version != env!("CARGO_PKG_VERSION") {
        return Err(refuse(format!(
            "written by shoal {version}; this is shoal {}: finish the fit with that version or start again",
            env!("CARGO_PKG_VERSION")
        )));
    }
    let ck: CheckpointFile =
        serde_json::from_value(head).map_err(|e| refuse(format!("a damaged checkpoint ({e})")))?;
    let paths = |v: &[Identity]| {
        let mut s = v
            .iter()
            .take(3)
            .map(|i| i.path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if v.len() > 3 {
            s += &format!(" and {} more files", v.len() - 3);
        }
        s
    };
    if ck.sources.len() != sources.len()
        || ck
            .sources
            .iter()
            .zip(sources)
            .any(|(a, b)| a.path != b.path)
    {
        return Err(refuse(format!(
            "it is of {}, not of {}",
            paths(&ck.sources),
            paths(sources)
        )));
    }
    for (then, now) in ck.sources.iter().zip(sources) {
        if let Some(change) = then.stamp.change_to(&now.stamp) {
            return Err(refuse(format!(
                "{} has changed since the checkpoint was written: it {change}",
                now.path.display()
            )));
        }
    }
    let mut differ = Vec::new();
    for key in ck.params.keys().chain(params.keys()) {
        let (then, now) = (ck.params.get(key), params.get(key));
        if then != now
            && !differ
                .iter()
                .any(|d: &String| d.starts_with(&format!("{key}:")))
        {
            let show = |v: Option<&Value>| v.map_or("(none)".to_string(), Value::to_string);
            differ.push(format!("{key}: {} then, {} now", show(then), show(now)));
        }
    }
    if !differ.is_empty() {
        return Err(refuse(format!(
            "the fit's parameters differ from the checkpoint's ({}); resume with the same ones",
            differ.join("; ")
        )));
    }
    Ok(ck.state)
}

/// Writes states to `path` (atomically), at most every `every` (the engine
/// also saves the last state whatever the interval).
#[derive(Debug)]
pub struct Saver {
    path: PathBuf,
    every: Duration,
    last: Option<Instant>,
    sources: Vec<Identity>,
    params: serde_json::Map<String, Value>,
    /// Checkpoints written.
    pub written: usize,
}

impl Saver {
    pub fn new(
        path: PathBuf,
        every_secs: f64,
        sources: Vec<Identity>,
        params: serde_json::Map<String, Value>,
    ) -> Saver {
        Saver {
            path,
            every: Duration::from_secs_f64(every_secs.max(0.0)),
            last: None,
            sources,
            params,
            written: 0,
        }
    }
}

impl Checkpointer for Saver {
    /// Due when the interval has passed since the last save (the first
    /// question starts the clock; an interval of 0 is always due).
    fn due(&mut self) -> bool {
        match self.last {
            None => {
                self.last = Some(Instant::now());
                self.every.is_zero()
            }
            Some(t) => t.elapsed() >= self.every,
        }
    }

    fn save(&mut self, st: &LloydState) -> Result<(), WriteError> {
        let io = |e: std::io::Error| WriteError::Io {
            path: self.path.clone(),
            source: e,
        };
        let ck = CheckpointFile {
            format: FORMAT.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            sources: self.sources.clone(),
            params: self.params.clone(),
            state: st.clone(),
        };
        let text = serde_json::to_vec(&ck).map_err(|e| io(std::io::Error::other(e)))?;
        let f = AtomicFile::create(&self.path)?;
        (&mut f.file()).write_all(&text).map_err(io)?;
        f.commit()?;
        self.written += 1;
        self.last = Some(Instant::now());
        Ok(())
    }
}
