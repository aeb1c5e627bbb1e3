//! Several files read as one point set: a Parquet *dataset* as Spark, Dask
//! and pyarrow write it (a directory of part files, often Hive-partitioned
//! as `country=FR/day=2026-12-01/part-0.parquet`), a quoted glob, or a list
//! of paths.
//!
//! [`Dataset::resolve`] turns what the user typed into an ordered list of
//! files: a directory gives every `.parquet`/`.pq` file below it in sorted
//! path order, skipping hidden and `_`-prefixed names (`_SUCCESS`,
//! `_metadata`, `_common_metadata`, `.part-0.crc`, `_temporary/`) and other
//! files; a glob gives its matches (any format shoal reads) in sorted order;
//! several inputs are concatenated in the order given. `key=value`
//! directory names below a directory's (or a glob's literal) root are the
//! file's partition values, and `--filter` drops whole files on them before
//! any is opened.
//!
//! [`Dataset::open`] opens every file and checks that they agree on the
//! selected columns; the [`Source`] it returns reads them as one: its
//! partitions are the files' partitions (row groups) in order, so a pass
//! over a dataset is the pass over the concatenation, and the result cannot
//! depend on how the rows are split into files.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use crate::error::ReadError;
use crate::source::{Block, ChunkReader, Format, OpenOptions, ReaderOf, Source, SourceInfo};
use crate::value::{Precision, Value};

/// One file of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetFile {
    pub path: PathBuf,
    /// The path below the dataset's root (the file name for a file given
    /// by itself): where `--labels-dir` writes this file's labels.
    pub rel: PathBuf,
    /// Hive partition values (`key=value` directories), in path order.
    pub partition: Vec<(String, String)>,
}

/// The files several inputs name, in the order they are read.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// What the user typed, for messages (`data/`, `'data/*.parquet'`, or
    /// the first path and how many more).
    pub name: PathBuf,
    pub files: Vec<DatasetFile>,
    /// The partition keys every file has, in path order (empty when the
    /// data is not Hive-partitioned).
    pub keys: Vec<String>,
    /// Files `--filter` left out.
    pub filtered_out: usize,
    /// Whether the inputs were exactly one plain file.
    single_file: bool,
}

/// `--filter key=value[,key=value...]`: a file is kept when, for every key
/// named, its value is one of the values given for that key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionFilter(pub Vec<(String, String)>);

impl PartitionFilter {
    /// Parses `key=value,key=value`.
    pub fn parse(s: &str) -> Result<PartitionFilter, String> {
        let mut v = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((k, val)) if !k.trim().is_empty() => {
                    v.push((k.trim().to_string(), val.trim().to_string()))
                }
                _ => {
                    return Err(format!(
                        "{part:?} is not key=value (e.g. --filter country=FR,day=2026-12-01)"
                    ))
                }
            }
        }
        if v.is_empty() {
            return Err("an empty filter; give key=value[,key=value...]".into());
        }
        Ok(PartitionFilter(v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn keeps(&self, partition: &[(String, String)]) -> bool {
        let mut keys: Vec<&str> = self.0.iter().map(|(k, _)| k.as_str()).collect();
        keys.dedup();
        keys.iter().all(|key| {
            let have = partition.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            self.0.iter().any(|(k, v)| k == key && Some(v) == have)
        })
    }
}

fn usage(path: &Path, detail: impl Into<String>) -> ReadError {
    ReadError::Usage {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Whether a directory entry is part of a dataset's data: not hidden, not
/// `_`-prefixed (the rule Spark, Hive and pyarrow share).
fn visible(name: &std::ffi::OsStr) -> bool {
    let n = name.to_string_lossy();
    !(n.starts_with('.') || n.starts_with('_'))
}

fn is_parquet(path: &Path) -> bool {
    Format::from_path(path) == Some(Format::Parquet)
}

/// Every visible Parquet file below `dir`, sorted by path.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ReadError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ReadError::io(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| ReadError::io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if !visible(&e.file_name()) {
            continue;
        }
        let path = e.path();
        // Follows symbolic links, as a reader of the files would.
        let meta = std::fs::metadata(&path).map_err(|err| ReadError::io(&path, err))?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if meta.is_file() && is_parquet(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Percent-decodes a Hive partition value (`a%20b` is `a b`, as pyarrow
/// writes it).
fn unescape(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The `key=value` directories of a path below a root.
fn partition_of(rel: &Path) -> Vec<(String, String)> {
    let Some(parent) = rel.parent() else {
        return Vec::new();
    };
    parent
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => {
                let s = s.to_string_lossy();
                let (k, v) = s.split_once('=')?;
                (!k.is_empty()).then(|| (unescape(k), unescape(v)))
            }
            _ => None,
        })
        .collect()
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The directory a glob's matches are below: its components before the
/// first with a wildcard.
fn glob_root(pattern: &str) -> PathBuf {
    let mut root = PathBuf::new();
    for c in Path::new(pattern).components() {
        if has_glob_chars(&c.as_os_str().to_string_lossy()) {
            break;
        }
        root.push(c);
    }
    root
}

fn file(path: PathBuf, root: &Path) -> DatasetFile {
    let rel = path
        .strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.file_name().map(PathBuf::from).unwrap_or_default());
    DatasetFile {
        partition: partition_of(&rel),
        rel,
        path,
    }
}

/// The objects a URL names: one object (a `.parquet`/`.pq` key), the
/// objects matching a glob, or every visible Parquet object below a prefix.
fn resolve_url(input: &Path) -> Result<Vec<DatasetFile>, ReadError> {
    let text = input.to_string_lossy().into_owned();
    let (scheme_host, _) = text.split_at(text.find("://").map_or(0, |i| i + 3));
    let after = &text[scheme_host.len()..];
    // The bucket (or host) is never a wildcard.
    let glob_at = after.find(['*', '?', '[']);
    let make = |url: String, root: &str| {
        let rel = PathBuf::from(url[root.len()..].trim_start_matches('/'));
        DatasetFile {
            partition: partition_of(&rel),
            rel,
            path: PathBuf::from(url),
        }
    };
    let visible_below = |rel: &str| {
        rel.split('/')
            .all(|c| c.is_empty() || visible(std::ffi::OsStr::new(c)))
    };
    if let Some(at) = glob_at {
        let literal = &after[..at];
        let root = match literal.rfind('/') {
            Some(i) => format!("{scheme_host}{}", &literal[..i]),
            None => scheme_host.trim_end_matches('/').to_string(),
        };
        let pattern = glob::Pattern::new(&text)
            .map_err(|e| usage(input, format!("not a valid glob pattern ({e})")))?;
        let opts = glob::MatchOptions {
            require_literal_separator: true,
            ..Default::default()
        };
        let found: Vec<DatasetFile> = crate::remote::list(&root)?
            .into_iter()
            .filter(|(url, _)| {
                pattern.matches_with(url, opts)
                    && visible_below(&url[root.len()..])
                    && Format::from_path(Path::new(url)).is_some()
            })
            .map(|(url, _)| make(url, &root))
            .collect();
        if found.is_empty() {
            return Err(ReadError::io(
                input,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no object matches this pattern",
                ),
            ));
        }
        return Ok(found);
    }
    if is_parquet(input) {
        let root = text
            .rsplit_once('/')
            .map_or(text.as_str(), |(r, _)| r)
            .to_string();
        return Ok(vec![make(text.clone(), &root)]);
    }
    let root = text.trim_end_matches('/').to_string();
    let found: Vec<DatasetFile> = crate::remote::list(&format!("{root}/"))?
        .into_iter()
        .filter(|(url, _)| visible_below(&url[root.len()..]) && is_parquet(Path::new(url)))
        .map(|(url, _)| make(url, &root))
        .collect();
    if found.is_empty() {
        return Err(usage(
            input,
            "no Parquet objects below this prefix (shoal reads every visible .parquet object below a URL that does not name one)",
        ));
    }
    Ok(found)
}

impl Dataset {
    /// The files `inputs` name (files, directories, globs), filtered.
    pub fn resolve(inputs: &[PathBuf], filter: &PartitionFilter) -> Result<Dataset, ReadError> {
        let Some(first) = inputs.first() else {
            return Err(usage(Path::new(""), "no input given"));
        };
        let mut files = Vec::new();
        for input in inputs {
            let text = input.to_string_lossy();
            if crate::remote::is_url(input) {
                files.extend(resolve_url(input)?);
            } else if input.is_dir() {
                let mut found = Vec::new();
                walk(input, &mut found)?;
                if found.is_empty() {
                    return Err(usage(
                        input,
                        "no Parquet files in this directory or below it (shoal reads every visible .parquet file of a directory)",
                    ));
                }
                files.extend(found.into_iter().map(|p| file(p, input)));
            } else if !input.exists() && has_glob_chars(&text) {
                let root = glob_root(&text);
                let paths = glob::glob(&text)
                    .map_err(|e| usage(input, format!("not a valid glob pattern ({e})")))?;
                let mut found = Vec::new();
                for p in paths {
                    let p = p.map_err(|e| {
                        ReadError::io(e.path(), std::io::Error::other(e.to_string()))
                    })?;
                    let below = p.strip_prefix(&root).unwrap_or(&p);
                    let hidden = below.components().any(|c| match c {
                        Component::Normal(s) => !visible(s),
                        _ => false,
                    });
                    if !hidden && p.is_file() && Format::from_path(&p).is_some() {
                        found.push(p);
                    }
                }
                found.sort();
                if found.is_empty() {
                    return Err(ReadError::io(
                        input,
                        std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "no file matches this pattern",
                        ),
                    ));
                }
                files.extend(found.into_iter().map(|p| file(p, &root)));
            } else {
                // A file (its existence and type are checked when it opens).
                let root = input.parent().unwrap_or(Path::new(""));
                files.push(file(input.clone(), root));
            }
        }
        let single_file = inputs.len() == 1 && files.len() == 1 && files[0].path == *first;
        // Every file has the same partition keys, in the same order.
        let keys: Vec<String> = files[0].partition.iter().map(|(k, _)| k.clone()).collect();
        for f in &files {
            let these: Vec<&String> = f.partition.iter().map(|(k, _)| k).collect();
            if these.iter().copied().ne(keys.iter()) {
                return Err(usage(
                    &f.path,
                    format!(
                        "its partition keys [{}] differ from those of {} [{}]; a dataset's files must be partitioned alike",
                        these.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
                        files[0].path.display(),
                        keys.join(", ")
                    ),
                ));
            }
        }
        let name = if inputs.len() == 1 {
            first.clone()
        } else {
            PathBuf::from(format!(
                "{} (and {} more)",
                first.display(),
                inputs.len() - 1
            ))
        };
        let mut filtered_out = 0;
        if !filter.is_empty() {
            for (k, v) in &filter.0 {
                if !keys.contains(k) {
                    let known = if keys.is_empty() {
                        "it is not Hive-partitioned (no key=value directories)".to_string()
                    } else {
                        format!("its partition keys are {}", keys.join(", "))
                    };
                    return Err(usage(
                        &name,
                        format!("--filter {k}={v}: no partition key {k:?}; {known}"),
                    ));
                }
            }
            let before = files.len();
            files.retain(|f| filter.keeps(&f.partition));
            filtered_out = before - files.len();
            if files.is_empty() {
                return Err(usage(
                    &name,
                    format!("no file matches --filter (all {before} were left out)"),
                ));
            }
        }
        Ok(Dataset {
            name,
            files,
            keys,
            filtered_out,
            single_file,
        })
    }

    /// The dataset of file `i` alone (its partition values kept).
    pub fn file(&self, i: usize) -> Dataset {
        Dataset {
            name: self.files[i].path.clone(),
            files: vec![self.files[i].clone()],
            keys: self.keys.clone(),
            filtered_out: 0,
            single_file: false,
        }
    }

    /// Whether the inputs were one plain file (read exactly as before).
    pub fn is_single_file(&self) -> bool {
        self.single_file
    }

    /// Each partition key's values, sorted, without repeats.
    pub fn key_values(&self) -> Vec<(String, Vec<String>)> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let mut v: Vec<String> = self
                    .files
                    .iter()
                    .map(|f| f.partition[i].1.clone())
                    .collect();
                v.sort();
                v.dedup();
                (k.clone(), v)
            })
            .collect()
    }

    /// Every column of every file, as record batches in dataset order, the
    /// partition values appended as columns (for `--keep-columns`).
    pub fn record_batches(&self, batch_rows: usize) -> Result<crate::RecordBatches, ReadError> {
        let files: Vec<(PathBuf, Vec<(String, String)>)> = self
            .files
            .iter()
            .map(|f| (f.path.clone(), f.partition.clone()))
            .collect();
        crate::RecordBatches::open_files(&files, batch_rows)
    }

    /// Opens every file as one source.
    pub fn open(&self, opts: &OpenOptions) -> Result<Box<dyn Source>, ReadError> {
        if self.single_file {
            return crate::open(&self.files[0].path, opts);
        }
        let mut parts: Vec<Box<dyn Source>> = Vec::with_capacity(self.files.len());
        for f in &self.files {
            let s = crate::open(&f.path, opts)?;
            if let Some(first) = parts.first() {
                agree(first.info(), s.info())?;
            }
            parts.push(s);
        }
        Ok(Box::new(Concat::new(self.name.clone(), parts)))
    }
}

/// Whether two files of a dataset hold the same columns: an error naming
/// the second and how it differs otherwise.
fn agree(a: &SourceInfo, b: &SourceInfo) -> Result<(), ReadError> {
    let differ = |how: String| {
        Err(usage(
            &b.path,
            format!(
                "{how}; every file of a dataset must hold the selected columns as {} does",
                a.path.display()
            ),
        ))
    };
    for (name, ty) in &a.storage {
        match b.storage.iter().find(|(n, _)| n == name) {
            None => return differ(format!("no column {name:?} ({ty} in {})", a.path.display())),
            Some((_, t)) if t != ty => {
                return differ(format!(
                    "column {name:?} is {t} here, {ty} in {}",
                    a.path.display()
                ))
            }
            _ => {}
        }
    }
    for (name, ty) in &b.storage {
        if !a.storage.iter().any(|(n, _)| n == name) {
            return differ(format!(
                "a numeric column {name:?} ({ty}) that {} does not have (choose the columns with --columns)",
                a.path.display()
            ));
        }
    }
    if a.storage != b.storage {
        return differ(format!(
            "the columns are in another order ({})",
            b.storage
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if a.dim != b.dim {
        return differ(format!(
            "{} values a row here, {} in {}",
            b.dim,
            a.dim,
            a.path.display()
        ));
    }
    Ok(())
}

/// Several sources read one after another as one.
#[derive(Debug)]
pub(crate) struct Concat {
    info: SourceInfo,
    parts: Vec<Box<dyn Source>>,
    /// The first row of each part, and the total at the end.
    starts: Vec<u64>,
}

impl Concat {
    pub(crate) fn new(name: PathBuf, parts: Vec<Box<dyn Source>>) -> Concat {
        let first = parts[0].info();
        let mut starts = Vec::with_capacity(parts.len() + 1);
        let mut rows = 0u64;
        for p in &parts {
            starts.push(rows);
            rows += p.info().rows;
        }
        starts.push(rows);
        let row_groups = parts
            .iter()
            .map(|p| p.info().row_groups)
            .sum::<Option<usize>>();
        let native = if parts.iter().any(|p| p.info().native == Precision::F64) {
            Precision::F64
        } else {
            Precision::F32
        };
        let info = SourceInfo {
            path: name,
            format: first.format,
            rows,
            dim: first.dim,
            columns: first.columns.clone(),
            storage: first.storage.clone(),
            row_groups,
            file_bytes: parts.iter().map(|p| p.info().file_bytes).sum(),
            native,
        };
        Concat {
            info,
            parts,
            starts,
        }
    }

    /// The parts `rows` overlaps, with the range within each.
    fn pieces(&self, rows: Range<u64>) -> Vec<(usize, Range<u64>)> {
        let mut v = Vec::new();
        for (i, w) in self.starts.windows(2).enumerate() {
            let (s, e) = (rows.start.max(w[0]), rows.end.min(w[1]));
            if s < e {
                v.push((i, s - w[0]..e - w[0]));
            }
        }
        v
    }

    fn reader_as<V: ReaderOf>(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader<V> + '_>, ReadError> {
        assert!(rows.start <= rows.end && rows.end <= self.info.rows);
        let pieces = self.pieces(rows);
        if let [(i, r)] = pieces.as_slice() {
            // Within one file (every partition is): that file's reader, its
            // rows numbered in the whole dataset.
            return Ok(Box::new(Shifted {
                inner: V::reader(self.parts[*i].as_ref(), r.clone(), chunk_rows)?,
                by: self.starts[*i],
            }));
        }
        Ok(Box::new(Chain::<V> {
            src: self,
            pieces,
            at: 0,
            cur: None,
            chunk_rows,
            buf: Vec::new(),
            seq: 0,
            skipped_before: 0,
        }))
    }
}

impl Source for Concat {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn partitions(&self) -> Vec<Range<u64>> {
        let mut v = Vec::new();
        for (p, start) in self.parts.iter().zip(&self.starts) {
            v.extend(
                p.partitions()
                    .into_iter()
                    .map(|r| r.start + start..r.end + start),
            );
        }
        v
    }

    fn reader(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader + '_>, ReadError> {
        self.reader_as::<f32>(rows, chunk_rows)
    }

    fn reader_f64(
        &self,
        rows: Range<u64>,
        chunk_rows: usize,
    ) -> Result<Box<dyn ChunkReader<f64> + '_>, ReadError> {
        self.reader_as::<f64>(rows, chunk_rows)
    }

    fn read_rows(&self, rows: &[u64], out: &mut Vec<f32>) -> Option<Result<usize, ReadError>> {
        // Runs of rows in one file go to that file together.
        let mut done = 0;
        let mut i = 0;
        let mut local = Vec::new();
        while i < rows.len() {
            let part = self.starts.partition_point(|&s| s <= rows[i]) - 1;
            let (lo, hi) = (self.starts[part], self.starts[part + 1]);
            local.clear();
            while i < rows.len() && rows[i] >= lo && rows[i] < hi {
                local.push(rows[i] - lo);
                i += 1;
            }
            match self.parts[part].read_rows(&local, out)? {
                Ok(n) => done += n,
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(done))
    }

    fn unchanged(&self) -> Result<(), ReadError> {
        self.parts.iter().try_for_each(|p| p.unchanged())
    }

    fn files(&self) -> Vec<PathBuf> {
        self.parts.iter().flat_map(|p| p.files()).collect()
    }

    fn file_rows(&self) -> Vec<u64> {
        self.parts.iter().flat_map(|p| p.file_rows()).collect()
    }
}

/// A reader whose block rows are numbered from `by`.
struct Shifted<'a, V> {
    inner: Box<dyn ChunkReader<V> + 'a>,
    by: u64,
}

impl<V: Value> ChunkReader<V> for Shifted<'_, V> {
    fn next_block(&mut self) -> Result<Option<Block<'_, V>>, ReadError> {
        let by = self.by;
        Ok(self.inner.next_block()?.map(|b| Block {
            first_row: b.first_row + by,
            ..b
        }))
    }

    fn rewind(&mut self) -> Result<(), ReadError> {
        self.inner.rewind()
    }

    fn skipped(&self) -> u64 {
        self.inner.skipped()
    }
}

/// A reader over rows of several files: each file's blocks, copied (a
/// lending reader cannot hand out a block of a reader it may replace).
/// Only reads spanning files use it (reading a whole dataset into memory);
/// the streaming passes read partition by partition, through [`Shifted`].
struct Chain<'a, V> {
    src: &'a Concat,
    pieces: Vec<(usize, Range<u64>)>,
    /// The piece `cur` reads.
    at: usize,
    cur: Option<Box<dyn ChunkReader<V> + 'a>>,
    chunk_rows: usize,
    buf: Vec<V>,
    seq: u64,
    /// Rows the finished pieces skipped.
    skipped_before: u64,
}

impl<V: ReaderOf> ChunkReader<V> for Chain<'_, V> {
    fn next_block(&mut self) -> Result<Option<Block<'_, V>>, ReadError> {
        loop {
            if self.cur.is_none() {
                let Some((i, r)) = self.pieces.get(self.at) else {
                    return Ok(None);
                };
                self.cur = Some(V::reader(
                    self.src.parts[*i].as_ref(),
                    r.clone(),
                    self.chunk_rows,
                )?);
            }
            let Some(cur) = self.cur.as_mut() else {
                continue;
            };
            let by = self.src.starts[self.pieces[self.at].0];
            let got = match cur.next_block()? {
                Some(b) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(b.data);
                    Some((b.dim, b.first_row + by))
                }
                None => None,
            };
            match got {
                Some((dim, first_row)) => {
                    let seq = self.seq;
                    self.seq += 1;
                    return Ok(Some(Block {
                        data: &self.buf,
                        dim,
                        first_row,
                        seq,
                    }));
                }
                None => {
                    self.skipped_before += cur.skipped();
                    self.cur = None;
                    self.at += 1;
                }
            }
        }
    }

    fn rewind(&mut self) -> Result<(), ReadError> {
        self.cur = None;
        self.at = 0;
        self.seq = 0;
        self.skipped_before = 0;
        Ok(())
    }

    fn skipped(&self) -> u64 {
        self.skipped_before + self.cur.as_ref().map_or(0, |c| c.skipped())
    }
}
