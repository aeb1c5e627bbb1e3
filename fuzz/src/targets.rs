//! The bodies of the fuzz targets: each takes arbitrary bytes, feeds them to
//! one of shoal's readers or parsers as a user's file or argument would reach
//! it, and checks what it gets back. An `Err` is the right answer to most
//! inputs; a panic, an abort, an allocation the input's size does not
//! justify, or a broken invariant (asserted here) is a bug.
//!
//! Shared by the fuzz binaries (`fuzz/fuzz_targets/*.rs`, run by cargo fuzz)
//! and by the corpus replay that `cargo test` runs
//! (`crates/shoal-cli/tests/fuzz_replay.rs`), which includes this file.

use std::fs;
use std::path::{Path, PathBuf};

use shoal_cli::cli;
use shoal_cli::dbscan::parse_eps;
use shoal_engine::model::Model;
use shoal_kernels::hierarchy::tree::{self, Criterion, Truncate};
use shoal_kernels::hierarchy::Merge;
use shoal_reader::{open, read_npy_f64, OpenOptions, RecordBatches, Source};

/// Chunk sizes small enough that a few rows span several blocks.
const CHUNK_ROWS: usize = 3;

/// A directory for the files the targets write (in `/dev/shm` when it exists,
/// so a fuzzing run does not wear a disk).
#[derive(Debug)]
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    pub fn new() -> Scratch {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::Builder::new()
                .prefix("shoal-fuzz")
                .tempdir_in(shm)
        } else {
            tempfile::Builder::new().prefix("shoal-fuzz").tempdir()
        };
        Scratch {
            dir: dir.expect("a scratch directory for the fuzz targets"),
        }
    }

    /// Writes `bytes` to `name` in the scratch directory.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, bytes).expect("writing a fuzz input");
        path
    }
}

/// Reads every row of an opened source the ways the engine does (partition
/// by partition in `f32`, the whole range in `f64`, random rows) and checks
/// what the reader promises.
fn drain(source: &dyn Source, skip_invalid: bool) {
    let info = source.info().clone();
    assert!(info.dim >= 1, "a source has at least one column");
    assert_eq!(info.columns.len(), info.dim, "one name per dimension");
    let parts = source.partitions();
    let mut next = 0;
    for p in &parts {
        assert_eq!(p.start, next, "partitions are contiguous: {parts:?}");
        next = p.end;
    }
    assert_eq!(next, info.rows, "partitions cover every row: {parts:?}");
    let mut read = 0u64;
    for p in parts {
        let Ok(mut r) = source.reader(p.clone(), CHUNK_ROWS) else {
            return;
        };
        loop {
            match r.next_block() {
                Ok(Some(b)) => {
                    assert_eq!(b.dim, info.dim);
                    assert_eq!(b.data.len() % info.dim, 0);
                    assert!(b.rows() <= CHUNK_ROWS);
                    assert!(b.data.iter().all(|v| v.is_finite()), "blocks are validated");
                    read += b.rows() as u64;
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        if !skip_invalid {
            assert!(read <= next, "no more rows than declared");
        }
    }
    if !skip_invalid {
        assert_eq!(read, info.rows, "a pass that ends cleanly read every row");
    }
    if let Ok(mut r) = source.reader_f64(0..info.rows, CHUNK_ROWS) {
        while let Ok(Some(b)) = r.next_block() {
            assert_eq!(b.data.len() % info.dim, 0);
            assert!(b.data.iter().all(|v| v.is_finite()), "blocks are validated");
        }
    }
    if info.rows > 0 {
        let rows = [0, info.rows - 1, info.rows / 2, 0];
        let mut out = Vec::new();
        if let Some(Ok(n)) = source.read_rows(&rows, &mut out) {
            assert_eq!(out.len(), n * info.dim);
            assert!(n <= rows.len());
        }
    }
}

fn open_and_drain(path: &Path, opts: OpenOptions) {
    let skip = opts.skip_invalid;
    if let Ok(source) = open(path, &opts) {
        drain(source.as_ref(), skip);
    }
}

/// A file with named columns: every column, some selected, and every
/// column with `--skip-invalid`.
fn tabular(path: &Path) {
    open_and_drain(path, OpenOptions::default());
    select_columns(path);
    open_and_drain(
        path,
        OpenOptions {
            skip_invalid: true,
            ..OpenOptions::default()
        },
    );
}

/// `--columns` over the file's own column names, last first, and one name
/// it does not have (which must be an error).
fn select_columns(path: &Path) {
    let Ok(source) = open(path, &OpenOptions::default()) else {
        return;
    };
    let mut names: Vec<String> = source
        .info()
        .storage
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    drop(source);
    names.reverse();
    names.truncate(2);
    open_and_drain(
        path,
        OpenOptions {
            columns: Some(names),
            ..OpenOptions::default()
        },
    );
    // A name the file does not hold anywhere (a fuzzer reads the target's
    // strings and writes them into headers: found so).
    let absent = "\u{0}no such column";
    let bytes = fs::read(path).unwrap_or_default();
    if bytes.windows(absent.len()).any(|w| w == absent.as_bytes()) {
        return;
    }
    let missing = OpenOptions {
        columns: Some(vec![absent.into()]),
        ..OpenOptions::default()
    };
    assert!(
        open(path, &missing).is_err(),
        "a missing column is an error"
    );
}

/// A `.npy` file: header, then body (and the whole-file `f64` read that
/// `shoal fcluster` and friends use).
pub fn npy(s: &Scratch, data: &[u8]) {
    let path = s.file("in.npy", data);
    open_and_drain(&path, OpenOptions::default());
    if let Ok((v, shape)) = read_npy_f64(&path) {
        let n = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        assert_eq!(
            n,
            Some(v.len() as u64),
            "values = product of the shape {shape:?}"
        );
    }
}

/// A CSV file, strict and with `--skip-invalid`.
pub fn csv(s: &Scratch, data: &[u8]) {
    tabular(&s.file("in.csv", data));
}

/// A Parquet file: open, map the schema, read every block; also the record
/// batches that `--keep-columns` copies into outputs.
pub fn parquet(s: &Scratch, data: &[u8]) {
    let path = s.file("in.parquet", data);
    tabular(&path);
    if let Ok(mut batches) = RecordBatches::open(&path, CHUNK_ROWS) {
        let _ = batches.schema();
        while let Ok(Some(_)) = batches.next_batch() {}
    }
}

/// A raw `.f32` file and its `.json` sidecar: the first byte is the sidecar's
/// length (0: no sidecar, the dimension given as `--dim` would be).
pub fn raw_f32(s: &Scratch, data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = (n as usize).min(rest.len());
    let (side, body) = rest.split_at(n);
    let path = s.file("in.f32", body);
    let side_path = shoal_reader::sidecar_path(&path);
    let opts = if n == 0 {
        let _ = fs::remove_file(&side_path);
        OpenOptions {
            dim: Some(1 + body.first().map_or(0, |&b| b as usize % 8)),
            ..OpenOptions::default()
        }
    } else {
        fs::write(&side_path, side).expect("writing a fuzz sidecar");
        OpenOptions::default()
    };
    open_and_drain(&path, opts);
}

/// MODEL.json, as `shoal assign` reads it.
pub fn model_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Model::parse(text) {
        let c = m.flat_centroids();
        assert_eq!(c.len(), m.k * m.dim, "a parsed model has k x dim centroids");
        if let Some(s) = &m.scaling {
            assert!(s.shift.iter().chain(&s.scale).all(|v| v.is_finite()));
        }
        let _ = m.scaling();
    }
}

/// A linkage matrix `Z.npy` as `shoal fcluster`/`dendrogram`/`cophenet` read
/// it; a matrix that passes the checks is walked as [`walk`] does.
pub fn z_npy(s: &Scratch, data: &[u8]) {
    let path = s.file("Z.npy", data);
    if let Ok(z) = shoal_cli::hier::load_z(&path) {
        walk(&z, data.last().copied().unwrap_or(0));
    }
}

/// An arbitrary valid tree built from the bytes (which clusters merge, at
/// what height), walked by every tree function.
pub fn tree(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let n = 2 + first as usize % 48;
    let mut active: Vec<(usize, usize)> = (0..n).map(|i| (i, 1)).collect();
    let mut bytes = rest.iter().copied().cycle().chain(std::iter::repeat(0));
    let mut next = || bytes.next().unwrap_or(0);
    let monotonic = first & 0x80 != 0;
    let mut height = 0.0f64;
    let mut z = Vec::with_capacity(n - 1);
    for i in 0..n - 1 {
        let a = next() as usize % active.len();
        let (left, lc) = active.swap_remove(a);
        let b = next() as usize % active.len();
        let (right, rc) = active.swap_remove(b);
        let step = f64::from(next()) / 16.0;
        height = if monotonic { height + step } else { step };
        z.push(Merge {
            left: left.min(right),
            right: left.max(right),
            height,
            count: lc + rc,
        });
        active.push((n + i, lc + rc));
    }
    let rows: Vec<[f64; 4]> = z.iter().map(|m| m.to_row()).collect();
    let z = tree::from_rows(&rows).expect("a tree built merge by merge is a valid linkage");
    walk(&z, next());
}

/// Every walker over one valid tree, with the invariants scipy's answers keep.
fn walk(z: &[Merge], knob: u8) {
    let n = z.len() + 1;
    let leaves = tree::leaves_list(z);
    let mut seen = leaves.clone();
    seen.sort_unstable();
    assert!(
        seen.iter().copied().eq(0..n),
        "leaves_list is a permutation"
    );
    let coph = tree::cophenet(z);
    assert_eq!(coph.len(), n * (n - 1) / 2);
    let incons = tree::inconsistent(z, 1 + knob as usize % 4);
    assert_eq!(incons.len(), z.len());
    let maxd = tree::maxdists(z);
    let maxi = tree::maxinconsts(z, &incons);
    let _ = tree::is_monotonic(z);
    let t = z.get(knob as usize % z.len()).map_or(0.0, |m| m.height);
    let k = 1 + knob as usize % (n + 1);
    let criteria = [
        Criterion::Distance(t.abs()),
        Criterion::MaxClust(k),
        Criterion::Inconsistent {
            t: f64::from(knob) / 64.0,
            depth: 1 + knob as usize % 3,
        },
        Criterion::Monocrit {
            t,
            monocrit: maxd.clone(),
        },
        Criterion::MaxClustMonocrit {
            t: k,
            monocrit: maxi,
        },
    ];
    for c in &criteria {
        if let Ok(labels) = tree::fcluster(z, c) {
            assert_eq!(labels.len(), n);
            let clusters = labels.iter().copied().max().unwrap_or(0) as usize;
            assert!(labels.iter().all(|&l| l >= 1), "labels start at 1");
            if let Criterion::MaxClust(k) = c {
                assert!(
                    clusters <= (*k).max(1),
                    "maxclust {k} gave {clusters} clusters"
                );
            }
            if let Ok((leaders, ids)) = tree::leaders(z, &labels) {
                assert_eq!(leaders.len(), ids.len());
                assert_eq!(leaders.len(), clusters);
            }
        }
    }
    for truncate in [
        Truncate::None,
        Truncate::LastP(1 + knob as usize % n),
        Truncate::Level(knob as usize % 5),
    ] {
        let d = tree::dendrogram(z, truncate);
        assert_eq!(d.icoord.len(), d.dcoord.len());
    }
}

/// The argument parsers (sizes, durations, ranges, lists, boxes, radii): the
/// first byte chooses one, the rest is the argument.
pub fn args(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 10 {
        0 => {
            if let Ok(n) = cli::parse_size(s) {
                assert_eq!(cli::parse_size(&n.to_string()), Ok(n), "{s:?}");
            }
        }
        1 => {
            if let Ok(t) = cli::parse_duration(s) {
                assert!(t.is_finite() && t > 0.0, "{s:?} gave {t}");
            }
            if let Ok(t) = cli::parse_interval(s) {
                assert!(t.is_finite() && t >= 0.0, "{s:?} gave {t}");
            }
        }
        2 => {
            if let Ok(cli::KList(ks)) = cli::parse_k_range(s) {
                assert!(!ks.is_empty() && ks.windows(2).all(|w| w[0] < w[1]));
                assert!(ks[0] >= 1);
            }
        }
        3 => {
            let _ = cli::parse_count_usize(s);
        }
        4 => {
            let _ = cli::parse_rows_axis(s);
        }
        5 => {
            let _ = cli::parse_small_axis(s);
        }
        6 => {
            let _ = cli::parse_threads(s);
        }
        7 => {
            let _ = cli::parse_figure_size(s);
        }
        8 => {
            if let Ok(b) = cli::parse_bbox(s) {
                assert!(b.iter().all(|v| v.is_finite()), "{s:?} gave {b:?}");
            }
        }
        _ => {
            for metric in [cli::DbscanMetric::Euclidean, cli::DbscanMetric::Haversine] {
                if let Ok(e) = parse_eps(s, metric) {
                    assert!(!e.is_nan(), "{s:?} gave NaN");
                }
            }
        }
    }
}
