//! `--labels-dir DIR`: one labels file per input file, at the input's path
//! below the dataset's root (`DIR/country=FR/day=1/part-0.parquet` for
//! `data/country=FR/day=1/part-0.parquet`), each holding that file's rows in
//! its order, so that labels join back file by file.
//!
//! The files are written into a hidden staging directory beside `DIR` and
//! the staging directory is renamed to `DIR` once every file is complete:
//! `DIR` appears whole or not at all. In object storage (`s3://...`), where
//! there is no renaming a directory, the staging directory is local and its
//! files are uploaded once all are complete, then an empty `_SUCCESS`
//! object (as Spark writes it) says the set is whole; a failed upload
//! deletes what it had uploaded.

use std::path::{Path, PathBuf};

use anyhow::Result;
use shoal_engine::kmeans::{LabelFile, LabelSink};
use shoal_reader::{Dataset, Format, LabelWriter, WriteError};

use crate::exit::usage;

/// Refuses a `--labels-dir` that holds files already (shoal does not mix
/// its labels with other files, nor delete them).
pub fn check(dir: &Path) -> Result<()> {
    if shoal_reader::remote::is_url(dir) {
        let url = dir.to_string_lossy();
        let there = shoal_reader::remote::list(&format!("{}/", url.trim_end_matches('/')))?;
        if !there.is_empty() {
            return Err(usage(format!(
                "--labels-dir {url}: {} objects are there already; give a new prefix",
                there.len()
            )));
        }
        return Ok(());
    }
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(usage(format!(
                    "--labels-dir {}: the directory exists and is not empty; give a new (or empty) directory",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(usage(format!(
            "--labels-dir {}: a file is in the way (a directory is written there)",
            dir.display()
        ))),
        Err(e) => Err(anyhow::anyhow!("--labels-dir {}: {e}", dir.display())),
    }
}

/// Where a file's labels go below the labels directory: its own relative
/// path for `.parquet` and `.npy` inputs, with `.parquet` for the others.
fn label_path(rel: &Path) -> PathBuf {
    match Format::from_path(rel) {
        Some(Format::Parquet | Format::Npy) => rel.to_path_buf(),
        _ => rel.with_extension("parquet"),
    }
}

/// Labels streamed in dataset order, split into one file per input file.
#[derive(Debug)]
pub struct LabelsDir {
    dir: PathBuf,
    staging: tempfile::TempDir,
    /// (labels file below the staging directory, rows).
    files: Vec<(PathBuf, u64)>,
    /// The file being written, and the rows it still needs.
    at: usize,
    left: u64,
    cur: Option<LabelWriter>,
    with_distance: bool,
}

impl LabelsDir {
    /// `rows` holds each of the dataset's files' row counts, in order.
    pub fn create(dir: &Path, ds: &Dataset, rows: &[u64], with_distance: bool) -> Result<Self> {
        check(dir)?;
        if rows.len() != ds.files.len() {
            anyhow::bail!(
                "--labels-dir: {} files but {} row counts",
                ds.files.len(),
                rows.len()
            );
        }
        let parent = match dir.parent() {
            _ if shoal_reader::remote::is_url(dir) => std::env::temp_dir(),
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .map_err(|e| anyhow::anyhow!("--labels-dir {}: {e}", parent.display()))?;
        let name = dir
            .file_name()
            .map_or("labels".into(), |n| n.to_string_lossy().into_owned());
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempdir_in(&parent)
            .map_err(|e| anyhow::anyhow!("--labels-dir {}: {e}", parent.display()))?;
        let mut files: Vec<(PathBuf, u64)> = ds
            .files
            .iter()
            .zip(rows)
            .map(|(f, &n)| (label_path(&f.rel), n))
            .collect();
        // Two inputs with one relative path (the same file name in two
        // directories given as separate inputs) would overwrite each other.
        let mut seen = std::collections::HashSet::new();
        for (i, (rel, _)) in files.iter().enumerate() {
            if !seen.insert(rel.clone()) {
                return Err(usage(format!(
                    "--labels-dir: two input files would both write {} ({}); give one directory or glob, whose relative paths differ",
                    rel.display(),
                    ds.files[i].path.display()
                )));
            }
        }
        files.shrink_to_fit();
        let left = files.first().map_or(0, |f| f.1);
        Ok(LabelsDir {
            dir: dir.to_path_buf(),
            staging,
            files,
            at: 0,
            left,
            cur: None,
            with_distance,
        })
    }

    /// Instead of streaming labels: `write(i, path)` writes input file
    /// `i`'s whole output at `path` (in the staging directory); then the
    /// directory is renamed into place.
    pub fn write_each(
        mut self,
        mut write: impl FnMut(usize, &Path) -> Result<()>,
    ) -> Result<usize> {
        for i in 0..self.files.len() {
            let path = self.staging.path().join(&self.files[i].0);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            }
            write(i, &path)?;
        }
        self.at = self.files.len();
        self.commit()
    }

    fn open_current(&mut self) -> Result<&mut LabelWriter, WriteError> {
        if self.cur.is_none() {
            let path = self.staging.path().join(&self.files[self.at].0);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p).map_err(|e| WriteError::Io {
                    path: p.to_path_buf(),
                    source: e,
                })?;
            }
            self.cur = Some(LabelWriter::create(&path, self.with_distance)?);
        }
        Ok(self.cur.as_mut().expect("opened above"))
    }

    /// Writes (empty) the files with no rows left, from the current one on.
    fn skip_empty(&mut self) -> Result<(), WriteError> {
        while self.at < self.files.len() && self.left == 0 {
            self.open_current()?;
            if let Some(w) = self.cur.take() {
                w.finish()?;
            }
            self.at += 1;
            self.left = self.files.get(self.at).map_or(0, |f| f.1);
        }
        Ok(())
    }

    /// The next labels (and distances, when written), in dataset order.
    pub fn write(
        &mut self,
        mut labels: &[i32],
        mut dist: Option<&[f32]>,
    ) -> Result<(), WriteError> {
        self.skip_empty()?;
        while !labels.is_empty() {
            if self.at >= self.files.len() {
                return Err(WriteError::Usage {
                    path: self.dir.clone(),
                    detail: format!("more labels than the {} files' rows", self.files.len()),
                });
            }
            let n = (self.left.min(labels.len() as u64)) as usize;
            let d = dist.map(|d| &d[..n]);
            self.open_current()?.write(&labels[..n], d)?;
            labels = &labels[n..];
            dist = dist.map(|d| &d[n..]);
            self.left -= n as u64;
            self.skip_empty()?;
        }
        Ok(())
    }

    /// Checks every file is complete and renames the directory into place.
    pub fn finish(mut self) -> Result<usize> {
        self.skip_empty()?;
        if self.at < self.files.len() {
            anyhow::bail!(
                "--labels-dir {}: {} rows of {} had no label",
                self.dir.display(),
                self.left,
                self.files[self.at].0.display()
            );
        }
        self.commit()
    }

    fn commit(self) -> Result<usize> {
        check(&self.dir)?;
        if shoal_reader::remote::is_url(&self.dir) {
            let base = self.dir.to_string_lossy().trim_end_matches('/').to_string();
            let mut done: Vec<String> = Vec::new();
            let mut rels: Vec<PathBuf> = self.files.iter().map(|f| f.0.clone()).collect();
            rels.push(PathBuf::from("_SUCCESS"));
            std::fs::write(self.staging.path().join("_SUCCESS"), b"")
                .map_err(|e| anyhow::anyhow!("{}: {e}", self.staging.path().display()))?;
            for rel in &rels {
                let url = format!("{base}/{}", rel.to_string_lossy());
                if let Err(e) = shoal_reader::remote::upload(&self.staging.path().join(rel), &url) {
                    for u in &done {
                        let _ = shoal_reader::remote::delete(u);
                    }
                    return Err(e.into());
                }
                done.push(url);
            }
            return Ok(self.files.len());
        }
        // An empty directory at the destination is replaced.
        if self.dir.is_dir() {
            std::fs::remove_dir(&self.dir)
                .map_err(|e| anyhow::anyhow!("--labels-dir {}: {e}", self.dir.display()))?;
        }
        let staging = self.staging.keep();
        if let Err(e) = std::fs::rename(&staging, &self.dir) {
            let _ = std::fs::remove_dir_all(&staging);
            anyhow::bail!("--labels-dir {}: {e}", self.dir.display());
        }
        Ok(self.files.len())
    }
}

impl LabelSink for LabelsDir {
    fn write(&mut self, labels: &[u32], dist2: &[f32]) -> Result<(), WriteError> {
        let l: Vec<i32> = labels.iter().map(|&v| v as i32).collect();
        let d: Vec<f32> = dist2.iter().map(|v| v.max(0.0).sqrt()).collect();
        LabelsDir::write(self, &l, Some(&d))
    }
}

/// Where a command's labels go: one file, or one per input file.
#[derive(Debug)]
pub enum LabelsOut {
    File(LabelFile),
    Dir(LabelsDir),
}

impl LabelsOut {
    /// `--labels FILE` or `--labels-dir DIR` (or neither).
    pub fn create(
        file: Option<&Path>,
        dir: Option<&Path>,
        ds: &Dataset,
        src: &dyn shoal_reader::Source,
    ) -> Result<Option<LabelsOut>> {
        Ok(match (file, dir) {
            (Some(f), _) => Some(LabelsOut::File(LabelFile::create(f)?)),
            (None, Some(d)) => Some(LabelsOut::Dir(LabelsDir::create(
                d,
                ds,
                &src.file_rows(),
                true,
            )?)),
            (None, None) => None,
        })
    }

    pub fn finish(self) -> Result<()> {
        match self {
            LabelsOut::File(f) => {
                f.finish()?;
            }
            LabelsOut::Dir(d) => {
                d.finish()?;
            }
        }
        Ok(())
    }
}

impl LabelSink for LabelsOut {
    fn write(&mut self, labels: &[u32], dist2: &[f32]) -> Result<(), WriteError> {
        match self {
            LabelsOut::File(f) => f.write(labels, dist2),
            LabelsOut::Dir(d) => LabelSink::write(d, labels, dist2),
        }
    }
}
