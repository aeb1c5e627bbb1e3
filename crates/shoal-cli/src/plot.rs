//! `shoal plot scatter|dendrogram|silhouette`: figures as PNG or SVG.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;
use shoal_engine::scatter::{self as es, ScatterError};
use shoal_kernels::hierarchy::tree::{self, Truncate};
use shoal_kernels::quality::{mean_and_se, silhouette_sample_values};
use shoal_kernels::raster::ColourRaster;
use shoal_plot::dendrogram::DendrogramPlot;
use shoal_plot::scatter::{plot_area, scatter_svg, Content, Density, Scatter};
use shoal_plot::silhouette::SilhouettePlot;
use shoal_plot::{cluster_colour, render_png, Frame, Rgb};
use shoal_reader::{open, AtomicFile, OpenOptions, Source};

use crate::cli::{FigureArgs, Global, PlotCommand, TruncateMode};
use crate::exit::usage;
use crate::output::thousands;
use crate::progress::Bar;
use crate::CANCEL;

pub fn run(global: &Global, cmd: &PlotCommand) -> Result<()> {
    match cmd {
        PlotCommand::Scatter { .. } => scatter(global, cmd),
        PlotCommand::Dendrogram { .. } => dendrogram(cmd),
        PlotCommand::Silhouette { .. } => silhouette(cmd),
        PlotCommand::Elbow { sweep, figure } => elbow(sweep, figure),
    }
}

#[derive(Debug, Serialize)]
struct PlotReport {
    out: String,
    width: u32,
    height: u32,
    kind: &'static str,
    rows: u64,
    mode: &'static str,
    clusters: usize,
    seconds: f64,
    peak_rss_bytes: Option<u64>,
}

/// Is the output a PNG (else SVG)? Anything else is a usage error, before any work.
fn png_out(f: &FigureArgs) -> Result<bool> {
    match f
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("png") => Ok(true),
        Some("svg") => Ok(false),
        _ => Err(usage(format!(
            "--out {}: a figure is written as .png or .svg",
            f.out.display()
        ))),
    }
}

/// Writes the figure atomically: SVG text, or the PNG rendered from it.
fn write_figure(f: &FigureArgs, svg: &str) -> Result<()> {
    let bytes = if png_out(f)? {
        render_png(svg).map_err(|e| anyhow::anyhow!("{}: {e}", f.out.display()))?
    } else {
        svg.as_bytes().to_vec()
    };
    let file = AtomicFile::create(&f.out)?;
    file.file()
        .write_all(&bytes)
        .with_context(|| format!("writing {}", f.out.display()))?;
    file.commit()?;
    Ok(())
}

fn report(f: &FigureArgs, r: PlotReport) -> Result<()> {
    if f.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{} plot of {} rows ({}, {} clusters) in {:.2} s; wrote {}",
            r.kind,
            thousands(r.rows),
            r.mode,
            r.clusters,
            r.seconds,
            r.out
        );
    }
    Ok(())
}

/// Writes the figure and prints (or reports as JSON) what was drawn.
#[allow(clippy::too_many_arguments)]
fn finish(
    f: &FigureArgs,
    svg: &str,
    kind: &'static str,
    rows: u64,
    mode: &'static str,
    clusters: usize,
    start: Instant,
) -> Result<()> {
    write_figure(f, svg)?;
    report(
        f,
        PlotReport {
            out: f.out.display().to_string(),
            width: f.size.0,
            height: f.size.1,
            kind,
            rows,
            mode,
            clusters,
            seconds: start.elapsed().as_secs_f64(),
            peak_rss_bytes: crate::output::peak_rss(),
        },
    )
}

/// Rows must stay aligned with their labels.
fn no_skipping(input: &crate::cli::InputArgs) -> Result<()> {
    if input.skip_invalid {
        return Err(usage(
            "--skip-invalid cannot be used with a plot (skipped rows would misalign the labels)",
        ));
    }
    Ok(())
}

fn scatter_err(e: ScatterError) -> anyhow::Error {
    match e {
        ScatterError::Labels(m) => usage(m),
        ScatterError::Engine(en) => en.into(),
    }
}

/// A labels file as a one-column source.
fn open_labels(path: &Path, column: &str) -> Result<Box<dyn Source>> {
    let columns = match shoal_reader::Format::from_path(path) {
        Some(shoal_reader::Format::Parquet | shoal_reader::Format::Csv) => {
            Some(vec![column.to_string()])
        }
        _ => None,
    };
    Ok(open(
        path,
        &OpenOptions {
            columns,
            ..OpenOptions::default()
        },
    )?)
}

fn colour_of(label: i64) -> [u8; 3] {
    let c = cluster_colour((label >= 0).then_some(label as usize));
    [c.0, c.1, c.2]
}

/// Legend entries for label sizes (index label + 1): clusters in order,
/// noise last.
fn legend(sizes: &[u64], labelled: bool) -> Vec<(String, Rgb)> {
    let mut out: Vec<(String, Rgb)> = sizes
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, &n)| n > 0)
        .map(|(i, &n)| {
            let name = if labelled {
                format!("{} ({})", i - 1, thousands(n))
            } else {
                format!("points ({})", thousands(n))
            };
            (name, cluster_colour(Some(i - 1)))
        })
        .collect();
    if let Some(&n) = sizes.first().filter(|&&n| n > 0) {
        out.push((format!("noise ({})", thousands(n)), cluster_colour(None)));
    }
    out
}

/// The data box of the first two columns, padded by 5% (matplotlib's margins).
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    if span > 0.0 {
        (lo - 0.05 * span, hi + 0.05 * span)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

fn scatter(global: &Global, cmd: &PlotCommand) -> Result<()> {
    let PlotCommand::Scatter {
        file,
        input,
        labels,
        label_column,
        model,
        max_markers,
        figure,
        memory,
    } = cmd
    else {
        unreachable!()
    };
    let start = Instant::now();
    png_out(figure)?;
    no_skipping(input)?;
    let src = open(file, &input.options())?;
    let info = src.info().clone();
    if info.dim < 2 {
        return Err(usage(format!(
            "{}: a scatter plot needs two columns and this selection has {}",
            file.display(),
            info.dim
        )));
    }
    let lab = match labels {
        Some(p) => Some(open_labels(p, label_column)?),
        None => None,
    };
    if let Some(l) = &lab {
        es::check_labels(src.as_ref(), l.as_ref()).map_err(scatter_err)?;
    }
    let model_centroids: Option<Vec<f32>> = match model {
        Some(m) => {
            let m = crate::model::Model::load(m)?;
            if m.dim != info.dim {
                return Err(usage(format!(
                    "the model has dimension {}, the data {}; select the model's --columns",
                    m.dim, info.dim
                )));
            }
            Some(m.flat_centroids())
        }
        None => None,
    };
    let frame = Frame::new(figure.size.0, figure.size.1, figure.dark);
    let pass = memory.pass_config(2, global.verbose);
    let title = figure.title.clone().unwrap_or_else(|| {
        format!(
            "{}{}",
            file.file_name()
                .map_or(String::new(), |f| f.to_string_lossy().into_owned()),
            labels.as_ref().map_or(String::new(), |l| format!(
                " coloured by {}",
                l.file_name()
                    .map_or(String::new(), |f| f.to_string_lossy().into_owned())
            ))
        )
    });
    let small = info.rows as usize <= *max_markers;
    // More than two columns: the first two principal components (one
    // covariance pass), and centroids projected the same way.
    let pc = if info.dim > 2 {
        let bar = Bar::passes(info.rows, info.file_bytes, global.quiet || small);
        let pc = es::principal(src.as_ref(), &pass, &CANCEL, &bar);
        bar.finish();
        Some(pc.map_err(scatter_err)?)
    } else {
        None
    };
    let (xlabel, ylabel) = match &pc {
        Some(p) => {
            let share = |i: usize| 100.0 * p.variances[i] / p.total_variance.max(f64::MIN_POSITIVE);
            (
                format!("principal component 1 ({:.1}% of the variance)", share(0)),
                format!("principal component 2 ({:.1}% of the variance)", share(1)),
            )
        }
        None => (info.columns[0].clone(), info.columns[1].clone()),
    };
    let centroids: Vec<(f64, f64)> = match (&pc, &model_centroids) {
        (Some(p), Some(c)) => {
            let mut v = Vec::new();
            p.project(c, &mut v);
            v.chunks_exact(2)
                .map(|q| (q[0] as f64, q[1] as f64))
                .collect()
        }
        (None, Some(c)) => c
            .chunks_exact(2)
            .map(|q| (q[0] as f64, q[1] as f64))
            .collect(),
        _ => Vec::new(),
    };
    let (svg, sizes, mode) = if small {
        let (xy, l) = es::points(src.as_ref(), lab.as_deref(), pc.as_ref()).map_err(scatter_err)?;
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in xy.chunks_exact(2) {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        for c in &centroids {
            lo = [lo[0].min(c.0), lo[1].min(c.1)];
            hi = [hi[0].max(c.0), hi[1].max(c.1)];
        }
        let colours: Vec<Rgb> = l
            .iter()
            .map(|&v| cluster_colour((v >= 0).then_some(v as usize)))
            .collect();
        let mut sizes = Vec::new();
        for &v in &l {
            let i = (v + 1) as usize;
            if sizes.len() <= i {
                sizes.resize(i + 1, 0u64);
            }
            sizes[i] += 1;
        }
        let s = Scatter {
            frame,
            title,
            xlabel,
            ylabel,
            x: padded(lo[0], hi[0]),
            y: padded(lo[1], hi[1]),
            content: Content::Markers {
                xy: &xy,
                colours: &colours,
            },
            centroids: centroids.clone(),
            legend: legend(&sizes, lab.is_some()),
            note: Some(format!("{} points", thousands(info.rows))),
        };
        (scatter_svg(&s)?, sizes, "markers")
    } else {
        let bar = Bar::passes(info.rows, info.file_bytes, global.quiet);
        let bounds = match &pc {
            Some(p) => {
                es::projected_box(src.as_ref(), p, &pass, &CANCEL, &bar).map_err(scatter_err)
            }
            None => shoal_engine::column_stats(src.as_ref(), &pass, &CANCEL, &bar)
                .map(|(st, _)| {
                    let s = st.finish();
                    [
                        s[0].min as f64,
                        s[0].max as f64,
                        s[1].min as f64,
                        s[1].max as f64,
                    ]
                })
                .map_err(anyhow::Error::from),
        };
        let bounds = match bounds {
            Ok(b) => b,
            Err(e) => {
                bar.finish();
                return Err(e);
            }
        };
        let mut lo = [bounds[0], bounds[2]];
        let mut hi = [bounds[1], bounds[3]];
        for c in &centroids {
            lo = [lo[0].min(c.0), lo[1].min(c.1)];
            hi = [hi[0].max(c.0), hi[1].max(c.1)];
        }
        let (x, y) = (padded(lo[0], hi[0]), padded(lo[1], hi[1]));
        let (_, _, w, h) = plot_area(&frame);
        let empty = ColourRaster::new(w, h, x, y);
        let r = es::density(
            src.as_ref(),
            lab.as_deref(),
            pc.as_ref(),
            &empty,
            &colour_of,
            &pass,
            &CANCEL,
            &bar,
        );
        bar.finish();
        let (raster, sizes, _) = r.map_err(scatter_err)?;
        let s = Scatter {
            frame,
            title,
            xlabel,
            ylabel,
            x,
            y,
            content: Content::Density(Density {
                width: raster.width,
                height: raster.height,
                count: &raster.count,
                rgb: &raster.rgb,
            }),
            centroids: centroids.clone(),
            legend: legend(&sizes, lab.is_some()),
            note: Some(format!(
                "{} points, density (colour: mix of the clusters in each pixel; opacity: equalised count)",
                thousands(raster.total())
            )),
        };
        (scatter_svg(&s)?, sizes, "density")
    };
    finish(
        figure,
        &svg,
        "scatter",
        info.rows,
        mode,
        sizes.iter().skip(1).filter(|&&c| c > 0).count(),
        start,
    )
}

/// Leaves beyond which a dendrogram is truncated by default.
const DENDROGRAM_MAX_LEAVES: usize = 2000;

fn dendrogram(cmd: &PlotCommand) -> Result<()> {
    let PlotCommand::Dendrogram {
        z,
        truncate,
        p,
        color_threshold,
        cut,
        leaf_rotation,
        figure,
    } = cmd
    else {
        unreachable!()
    };
    let start = Instant::now();
    png_out(figure)?;
    let merges = crate::hier::load_z(z)?;
    let n = merges.len() + 1;
    let (mode, note) = match truncate {
        Some(TruncateMode::None) => (Truncate::None, None),
        Some(TruncateMode::Lastp) => (Truncate::LastP(*p), None),
        Some(TruncateMode::Level) => (Truncate::Level(*p), None),
        None if n > DENDROGRAM_MAX_LEAVES => (
            Truncate::LastP(500),
            Some(format!(
                "{} leaves: the last 500 merges are shown (--truncate none draws all)",
                thousands(n as u64)
            )),
        ),
        None => (Truncate::None, None),
    };
    if let Some(t) = cut {
        if !(t.is_finite() && *t >= 0.0) {
            return Err(usage(format!("--cut must be a height >= 0, got {t}")));
        }
    }
    let d = tree::dendrogram_with(&merges, mode, *color_threshold);
    let title = figure.title.clone().unwrap_or_else(|| {
        format!(
            "dendrogram of {}",
            z.file_name()
                .map_or(String::new(), |f| f.to_string_lossy().into_owned())
        )
    });
    let plot = DendrogramPlot {
        frame: Frame::new(figure.size.0, figure.size.1, figure.dark),
        title,
        icoord: &d.icoord,
        dcoord: &d.dcoord,
        color_list: &d.color_list,
        ivl: &d.ivl,
        cut: *cut,
        leaf_rotation: *leaf_rotation,
        note,
    };
    finish(
        figure,
        &plot.svg(),
        "dendrogram",
        n as u64,
        "links",
        d.ivl.len(),
        start,
    )
}

fn silhouette(cmd: &PlotCommand) -> Result<()> {
    let PlotCommand::Silhouette {
        file,
        input,
        labels,
        label_column,
        sample,
        seed,
        figure,
    } = cmd
    else {
        unreachable!()
    };
    let start = Instant::now();
    png_out(figure)?;
    no_skipping(input)?;
    let src = open(file, &input.options())?;
    let dim = src.info().dim;
    let l = crate::eval::read_labels(labels, label_column)?;
    let x = shoal_reader::read_all_f64(src.as_ref(), 1 << 16)?;
    let n = x.len() / dim;
    if l.len() != n {
        return Err(usage(format!(
            "{} has {} labels but {} has {n} rows",
            labels.display(),
            l.len(),
            file.display()
        )));
    }
    // Exact up to --sample rows; beyond, the seeded sample `shoal eval`'s
    // sampled silhouette scores (scored on its own, as scikit-learn's
    // silhouette_score(sample_size=...)).
    let note = (n > *sample).then_some(*sample);
    let (ls, vals) = silhouette_sample_values(&x, dim, &l, *sample, *seed)
        .map_err(|e| usage(format!("{}: {e}", labels.display())))?;
    let (mean, se) = mean_and_se(&vals);
    let mut by: std::collections::BTreeMap<i64, Vec<f64>> = std::collections::BTreeMap::new();
    for (&c, &v) in ls.iter().zip(&vals) {
        by.entry(c).or_default().push(v);
    }
    let clusters: Vec<(String, Vec<f64>)> = by
        .into_iter()
        .map(|(c, v)| {
            (
                if c == -1 {
                    "noise".into()
                } else {
                    c.to_string()
                },
                v,
            )
        })
        .collect();
    let k = clusters.len();
    let plot = SilhouettePlot {
        frame: Frame::new(figure.size.0, figure.size.1, figure.dark),
        title: figure
            .title
            .clone()
            .unwrap_or_else(|| format!("silhouette of {} clusters: mean {mean:.4}", k)),
        clusters,
        mean,
        note: Some(match note {
            Some(s) => format!(
                "seeded sample of {} of {} rows: mean {mean:.4} ± {se:.4} (standard error)",
                thousands(s as u64),
                thousands(n as u64)
            ),
            None => format!("exact, {} rows", thousands(n as u64)),
        }),
    };
    finish(
        figure,
        &plot.svg(),
        "silhouette",
        n as u64,
        if note.is_some() { "sample" } else { "exact" },
        k,
        start,
    )
}

fn elbow(path: &Path, figure: &FigureArgs) -> Result<()> {
    let start = Instant::now();
    png_out(figure)?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let j: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a sweep's JSON: {e}", path.display()))?;
    let points = j["points"]
        .as_array()
        .filter(|p| !p.is_empty() && j["format"] == "shoal-sweep-1")
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: not the JSON of `shoal sweep` (no points)",
                path.display()
            )
        })?;
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let col = |key: &str| points.iter().map(|p| num(&p[key])).collect::<Vec<f64>>();
    let ks = col("k");
    if ks.iter().any(|k| !k.is_finite()) {
        return Err(anyhow::anyhow!("{}: a point has no k", path.display()));
    }
    let plot = shoal_plot::elbow::ElbowPlot {
        frame: Frame::new(figure.size.0, figure.size.1, figure.dark),
        title: figure.title.clone().unwrap_or_else(|| {
            format!(
                "k sweep of {}",
                j["file"]
                    .as_str()
                    .map_or("", |f| f.rsplit('/').next().unwrap_or(f))
            )
        }),
        inertia: col("inertia"),
        knee: j["knee"].as_f64(),
        silhouette: col("silhouette"),
        silhouette_se: col("silhouette_se"),
        davies_bouldin: col("davies_bouldin"),
        best_silhouette: j["best_silhouette"].as_f64(),
        best_davies_bouldin: j["best_davies_bouldin"].as_f64(),
        ks,
    };
    finish(
        figure,
        &plot.svg(),
        "elbow",
        num(&j["rows"]) as u64,
        "sweep",
        points.len(),
        start,
    )
}
