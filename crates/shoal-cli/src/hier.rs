//! `shoal linkage`, `fcluster`, `dendrogram`, `cophenet`: hierarchical
//! clustering with scipy's conventions.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;
use shoal_engine::hierarchy::{self as eh, LinkageError, Reduce};
use shoal_engine::kmeans::{Algo, LabelSink};
use shoal_kernels::hierarchy::{
    condensed, condensed_bytes, num_obs_condensed, olo,
    tree::{self, Criterion, Truncate},
    HierarchyError, Merge,
};
use shoal_reader::{read_npy_f64, AtomicFile, NpyWriter, Precision};

use crate::cli::{
    CophenetArgs, CutCriterion, DendrogramArgs, FclusterArgs, Global, LinkageArgs, MicroAlgo,
    TruncateMode,
};
use crate::exit::usage;
use crate::fit::kmeans_err;
use crate::output::thousands;
use crate::progress::Bar;
use crate::CANCEL;

/// Bad data is exit 1; a bad parameter or a budget too small is exit 2.
fn hier_err(e: HierarchyError) -> anyhow::Error {
    match e {
        HierarchyError::Parameter(m) => usage(m),
        other => anyhow::Error::new(other),
    }
}

fn linkage_err(e: LinkageError) -> anyhow::Error {
    match e {
        LinkageError::KMeans(k) => kmeans_err(k),
        LinkageError::Engine(en) => en.into(),
        LinkageError::Hierarchy(h) => hier_err(h),
        LinkageError::Write(w) => w.into(),
        too_big @ LinkageError::TooBig { .. } => usage(too_big.to_string()),
        other @ (LinkageError::NoMemory(_) | LinkageError::Scratch(_)) => anyhow::Error::new(other),
    }
}

/// A linkage matrix from a `.npy` file, checked as scipy checks it.
pub fn load_z(path: &Path) -> Result<Vec<Merge>> {
    let (v, shape) = read_npy_f64(path)?;
    if shape.len() != 2 || shape[1] != 4 || shape[0] == 0 {
        return Err(anyhow::anyhow!(
            "{}: a linkage matrix has shape (n-1, 4) with n >= 2; this array has shape {shape:?}",
            path.display()
        ));
    }
    let rows: Vec<[f64; 4]> = v
        .chunks_exact(4)
        .map(|r| [r[0], r[1], r[2], r[3]])
        .collect();
    tree::from_rows(&rows).map_err(|e| anyhow::Error::new(e).context(path.display().to_string()))
}

fn write_z(path: &Path, z: &[Merge]) -> Result<NpyWriter<f64>> {
    let mut w = NpyWriter::<f64>::create(path, Some(4))?;
    let flat: Vec<f64> = z.iter().flat_map(|m| m.to_row()).collect();
    w.write(&flat)?;
    Ok(w)
}

/// The cut `criterion` with threshold `t`, checked (a bad `-t` is a
/// [`HierarchyError::Parameter`]: exit 2).
fn criterion(
    c: CutCriterion,
    t: f64,
    depth: usize,
    monocrit: Option<Vec<f64>>,
    z: &[Merge],
) -> Result<Criterion, HierarchyError> {
    let bad = |m: String| Err(HierarchyError::Parameter(m));
    if !t.is_finite() {
        return bad(format!("-t must be a finite number, got {t}"));
    }
    let count = |t: f64| {
        if t >= 1.0 && t.fract() == 0.0 {
            Ok(t as usize)
        } else {
            Err(HierarchyError::Parameter(format!(
                "-t must be a whole number of clusters >= 1 for this criterion, got {t}"
            )))
        }
    };
    let mc = || monocrit.clone().unwrap_or_else(|| tree::maxdists(z));
    Ok(match c {
        CutCriterion::Distance => {
            if t < 0.0 {
                return bad(format!("-t is a distance and must be >= 0, got {t}"));
            }
            Criterion::Distance(t)
        }
        CutCriterion::Maxclust => Criterion::MaxClust(count(t)?),
        CutCriterion::Inconsistent => {
            if t < 0.0 {
                return bad(format!(
                    "-t is an inconsistency coefficient and must be >= 0, got {t}"
                ));
            }
            Criterion::Inconsistent { t, depth }
        }
        CutCriterion::Monocrit => Criterion::Monocrit { t, monocrit: mc() },
        CutCriterion::MaxclustMonocrit => Criterion::MaxClustMonocrit {
            t: count(t)?,
            monocrit: mc(),
        },
    })
}

#[derive(Debug, Serialize)]
struct LinkageReport {
    method: &'static str,
    rows: u64,
    leaves: usize,
    weighted: bool,
    seconds: f64,
    linkage_seconds: f64,
    /// Precision the tree was computed in (f32 or f64).
    precision: &'static str,
    /// `matrix` (scipy's algorithm on the condensed distances) or `vector`
    /// (from the observations, O(n d)).
    algorithm: &'static str,
    top_heights: Vec<f64>,
    monotonic: bool,
    clusters: Option<usize>,
    cluster_sizes: Option<Vec<u64>>,
    passes: Vec<PassJson>,
    peak_rss_bytes: Option<u64>,
    out: String,
    labels: Option<String>,
}

#[derive(Debug, Serialize)]
struct PassJson {
    name: String,
    seconds: f64,
    rows: u64,
}

pub fn linkage(global: &Global, args: &LinkageArgs) -> Result<()> {
    let start = Instant::now();
    let method = args.method.kernel();
    let memory = args.memory.memory;
    if args.condensed {
        return linkage_condensed(args, start);
    }
    let (_ds, src) = args.input.open(&args.files)?;
    let info = src.info().clone();
    let pass = args.memory.pass_config(info.dim, global.verbose);
    let reduce = match (args.micro_clusters, args.sample) {
        (Some(0), _) | (_, Some(0)) => {
            return Err(usage("--micro-clusters and --sample need M >= 2"));
        }
        (Some(m), _) => {
            let algo = match args.algo {
                MicroAlgo::Lloyd => Algo::Lloyd,
                MicroAlgo::Minibatch => Algo::MiniBatch,
            };
            let kmeans = eh::micro_kmeans_config(m, algo, args.seed, &pass, memory);
            Reduce::MicroClusters { m, kmeans }
        }
        (None, Some(m)) => Reduce::Sample { m, seed: args.seed },
        (None, None) => Reduce::Exact {
            precision: args.precision.choice().resolve(&info),
        },
    };
    // A bad -t is refused before the work.
    let rule = |z: &[Merge]| criterion(args.criterion, args.t.unwrap_or(0.0), args.depth, None, z);
    let labels = match (&args.labels, args.t) {
        (Some(p), Some(_)) => {
            rule(&[]).map_err(hier_err)?;
            Some((p.as_path(), &rule as eh::CutRule<'_>))
        }
        _ => None,
    };
    let bar = Bar::passes(info.rows, info.file_bytes, global.quiet);
    let run = eh::linkage_file(
        src.as_ref(),
        method,
        &reduce,
        args.optimal_ordering,
        &pass,
        memory,
        &CANCEL,
        &bar,
        eh::LinkageOutputs {
            z: Some(&args.out),
            labels,
        },
    );
    bar.finish();
    let eh::LinkageRun {
        fit: fitted,
        passes,
        sizes,
    } = run.map_err(linkage_err)?;
    report(
        args,
        &fitted.z,
        fitted.rows,
        fitted.weights.is_some(),
        start.elapsed().as_secs_f64(),
        fitted.linkage_seconds,
        (
            fitted
                .points
                .as_ref()
                .map_or(Precision::F32, |p| p.precision())
                .name(),
            fitted.algorithm.name(),
        ),
        sizes,
        passes
            .iter()
            .map(|p| PassJson {
                name: p.name.clone(),
                seconds: p.seconds,
                rows: p.rows,
            })
            .collect(),
    )
}

/// `--condensed`: FILE holds scipy's condensed distances.
fn linkage_condensed(args: &LinkageArgs, start: Instant) -> Result<()> {
    if args.labels.is_some() && args.t.is_none() {
        return Err(usage("--labels needs -t"));
    }
    let [file] = args.files.as_slice() else {
        return Err(usage("--condensed reads one .npy file of distances"));
    };
    let (y, shape) = read_npy_f64(file)?;
    if shape.len() != 1 {
        return Err(anyhow::anyhow!(
            "{}: a condensed distance vector is 1-D; this array has shape {shape:?}",
            file.display()
        ));
    }
    let n = num_obs_condensed(y.len()).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: {} distances is not n(n-1)/2 for any n >= 2; save scipy's pdist output (condensed form)",
            file.display(),
            y.len()
        )
    })?;
    let method = args.method.kernel();
    // The file's values, then their copy in huge-page storage.
    let mut need = (condensed_bytes(n) as u64).saturating_mul(2);
    if args.optimal_ordering {
        need = need
            .saturating_mul(2)
            .saturating_add(olo::memory_bytes(n) as u64);
    }
    if need > args.memory.memory {
        return Err(usage(format!(
            "{method} linkage of {n} observations from a condensed matrix needs about {} MiB, more than --memory {} MiB; raise --memory",
            (need >> 20) + 1,
            args.memory.memory >> 20
        )));
    }
    condensed::validate(&y)
        .map_err(|e| anyhow::Error::new(e).context(file.display().to_string()))?;
    let t0 = Instant::now();
    let keep = args.optimal_ordering.then(|| y.clone());
    // Huge-page storage for the scans (see `Condensed`); the read buffer is
    // dropped right after the copy.
    let yc =
        condensed::Condensed::from_slice(&y).with_context(|| format!("{} distances", y.len()))?;
    drop(y);
    let mut z = condensed::linkage(yc, n, method, None).map_err(hier_err)?;
    if let Some(y) = keep {
        z = olo::optimal_leaf_ordering(&z, &y);
    }
    let linkage_seconds = t0.elapsed().as_secs_f64();
    let mut flat = None;
    let mut sizes = None;
    if let (Some(path), Some(t)) = (&args.labels, args.t) {
        let crit = criterion(args.criterion, t, args.depth, None, &z).map_err(hier_err)?;
        let l = tree::fcluster(&z, &crit).map_err(hier_err)?;
        let mut f = eh::FlatLabels::create(path)?;
        f.write(&l, &[])?;
        sizes = Some(f.sizes());
        flat = Some(f);
    }
    write_z(&args.out, &z)?.finish()?;
    if let Some(f) = flat {
        f.finish()?;
    }
    report(
        args,
        &z,
        n as u64,
        false,
        start.elapsed().as_secs_f64(),
        linkage_seconds,
        ("f64", "matrix"),
        sizes,
        Vec::new(),
    )
}

#[allow(clippy::too_many_arguments)]
fn report(
    args: &LinkageArgs,
    z: &[Merge],
    rows: u64,
    weighted: bool,
    seconds: f64,
    linkage_seconds: f64,
    (precision, algorithm): (&'static str, &'static str),
    sizes: Option<Vec<u64>>,
    passes: Vec<PassJson>,
) -> Result<()> {
    let top: Vec<f64> = z.iter().rev().take(5).map(|m| m.height).collect();
    let r = LinkageReport {
        method: args.method.kernel().name(),
        rows,
        leaves: z.len() + 1,
        weighted,
        seconds,
        linkage_seconds,
        precision,
        algorithm,
        top_heights: top,
        monotonic: tree::is_monotonic(z),
        clusters: sizes.as_ref().map(|s| s.iter().filter(|&&c| c > 0).count()),
        cluster_sizes: sizes,
        passes,
        peak_rss_bytes: crate::output::peak_rss(),
        out: args.out.display().to_string(),
        labels: args.labels.as_ref().map(|p| p.display().to_string()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    let leaves = if r.leaves as u64 == rows {
        format!("{} rows", thousands(rows))
    } else {
        format!(
            "{} leaves ({}) for {} rows",
            thousands(r.leaves as u64),
            if weighted {
                "weighted micro-clusters"
            } else {
                "sample points"
            },
            thousands(rows)
        )
    };
    println!(
        "{} linkage of {leaves} in {:.2} s (tree {:.2} s, {}, {}); top merge heights {}; wrote {}",
        r.method,
        seconds,
        linkage_seconds,
        r.precision,
        r.algorithm,
        r.top_heights
            .iter()
            .map(|h| format!("{h:.6}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.out
    );
    if let (Some(sizes), Some(l)) = (&r.cluster_sizes, &r.labels) {
        let mut sorted: Vec<u64> = sizes.iter().copied().filter(|&c| c > 0).collect();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let shown: Vec<String> = sorted.iter().take(10).map(|&c| thousands(c)).collect();
        println!(
            "{} flat clusters (largest: {}{}); labels 1..k in {l}",
            sorted.len(),
            shown.join(", "),
            if sorted.len() > 10 { ", ..." } else { "" }
        );
    }
    Ok(())
}

pub fn fcluster(_global: &Global, args: &FclusterArgs) -> Result<()> {
    let z = load_z(&args.z)?;
    let monocrit = match &args.monocrit {
        Some(p) => {
            let (v, _) = read_npy_f64(p)?;
            if v.len() != z.len() {
                return Err(usage(format!(
                    "{}: {} monocrit values for a linkage of {} rows",
                    p.display(),
                    v.len(),
                    z.len()
                )));
            }
            Some(v)
        }
        None => None,
    };
    let crit = criterion(args.criterion, args.t, args.depth, monocrit, &z).map_err(hier_err)?;
    let labels = tree::fcluster(&z, &crit).map_err(hier_err)?;
    let mut flat = eh::FlatLabels::create(&args.out)?;
    flat.write(&labels, &[])?;
    let sizes = flat.sizes();
    let k = sizes.iter().filter(|&&c| c > 0).count();
    flat.finish()?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"leaves": z.len() + 1, "clusters": k, "cluster_sizes": sizes, "out": args.out.display().to_string()})
        );
    } else {
        println!(
            "{} flat clusters of {} leaves; wrote {}",
            k,
            thousands((z.len() + 1) as u64),
            args.out.display()
        );
    }
    Ok(())
}

pub fn dendrogram(_global: &Global, args: &DendrogramArgs) -> Result<()> {
    let z = load_z(&args.z)?;
    let mode = match args.truncate {
        TruncateMode::None => Truncate::None,
        TruncateMode::Lastp => Truncate::LastP(args.p),
        TruncateMode::Level => Truncate::Level(args.p),
    };
    let d = tree::dendrogram(&z, mode);
    let json = serde_json::json!({
        "icoord": d.icoord,
        "dcoord": d.dcoord,
        "ivl": d.ivl,
        "leaves": d.leaves,
        "color_list": d.color_list,
    });
    let f = AtomicFile::create(&args.out)?;
    {
        let mut w = BufWriter::new(f.file());
        serde_json::to_writer(&mut w, &json)?;
        w.flush()
            .with_context(|| format!("writing {}", args.out.display()))?;
    }
    f.commit()?;
    println!(
        "dendrogram of {} leaves: {} links, {} shown leaves; wrote {}",
        thousands((z.len() + 1) as u64),
        d.icoord.len(),
        d.leaves.len(),
        args.out.display()
    );
    Ok(())
}

pub fn cophenet(_global: &Global, args: &CophenetArgs) -> Result<()> {
    let z = load_z(&args.z)?;
    let n = z.len() + 1;
    let corr = match &args.distances {
        Some(p) => {
            let (y, _) = read_npy_f64(p)?;
            if y.len() != n * (n - 1) / 2 {
                return Err(usage(format!(
                    "{}: {} distances, but a tree of {n} leaves needs n(n-1)/2 = {}",
                    p.display(),
                    y.len(),
                    n * (n - 1) / 2
                )));
            }
            condensed::validate(&y)
                .map_err(|e| anyhow::Error::new(e).context(p.display().to_string()))?;
            Some(tree::cophenet_correlation(&z, &y))
        }
        None => None,
    };
    if let Some(out) = &args.out {
        let need = condensed_bytes(n) as u64;
        if need > args.memory {
            return Err(usage(format!(
                "the cophenetic matrix of {n} leaves takes {} MiB, more than --memory {} MiB",
                (need >> 20) + 1,
                args.memory >> 20
            )));
        }
        let c = tree::cophenet(&z);
        let mut w = NpyWriter::<f64>::create(out, None)?;
        w.write(&c)?;
        w.finish()?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"leaves": n, "cophenetic_correlation": corr, "out": args.out.as_ref().map(|p| p.display().to_string())})
        );
    } else {
        match corr {
            Some(c) => println!("cophenetic correlation {c:.9} over {n} leaves"),
            None => println!("{n} leaves"),
        }
        if let Some(o) = &args.out {
            println!("wrote {}", o.display());
        }
    }
    Ok(())
}
