//! `shoal plot scatter|dendrogram|silhouette`: figures as PNG or SVG.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;
use shoal_engine::scatter::{self as es, ScatterError};
use shoal_kernels::hierarchy::tree::{self, Truncate};
use shoal_kernels::quality::{mean_and_se, silhouette_samples};
use shoal_kernels::raster::ColourRaster;
use shoal_plot::dendrogram::DendrogramPlot;
use shoal_plot::scatter::{
    component_labels, label_colour, legend_entries, marker_colours, plot_area, plot_box,
    scatter_svg, Content, Density, Scatter,
};
use shoal_plot::silhouette::SilhouettePlot;
use shoal_plot::{render_png, Frame};
use shoal_reader::{open, OpenOptions, Source};

use crate::cli::{FigureArgs, Global, PlotCommand, TruncateMode};
use crate::exit::usage;
use crate::output::thousands;
use crate::progress::Bar;
use crate::CANCEL;

pub fn run(global: &Global, cmd: &PlotCommand) -> Result<()> {
    match cmd {
        PlotCommand::Scatter { .. } => scatter(global, cmd),
        PlotCommand::Dendrogram { .. } => dendrogram(cmd),
        PlotCommand::Silhouette { .. } => silhouette(global, cmd),
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
    crate::output::write_atomic(&f.out, &bytes)
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
fn finish(f: &FigureArgs, fig: &Figure, start: Instant) -> Result<()> {
    write_figure(f, &fig.svg)?;
    report(
        f,
        PlotReport {
            out: f.out.display().to_string(),
            width: f.size.0,
            height: f.size.1,
            kind: fig.kind,
            rows: fig.rows,
            mode: fig.mode,
            clusters: fig.clusters,
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

/// A figure drawn, before it is written.
#[derive(Debug, Clone)]
pub struct Figure {
    pub svg: String,
    pub kind: &'static str,
    pub rows: u64,
    pub mode: &'static str,
    pub clusters: usize,
}

/// What a scatter plot draws.
#[derive(Debug, Clone, Copy)]
pub struct ScatterInput<'a> {
    pub files: &'a [PathBuf],
    pub input: &'a crate::cli::InputArgs,
    pub labels: Option<&'a Path>,
    pub label_column: &'a str,
    pub model: Option<&'a Path>,
    pub max_markers: usize,
    /// `Some(true)` a map, `Some(false)` never, `None` for columns named
    /// lat/lon (latitude/longitude).
    pub map: Option<bool>,
    pub memory: &'a crate::cli::MemoryArgs,
}

/// A drawn scatter plot and what it counted.
#[derive(Debug, Clone)]
pub struct ScatterFigure {
    pub figure: Figure,
    /// Rows per label + 1 (index 0 is noise).
    pub sizes: Vec<u64>,
    pub map: bool,
}

/// The (longitude, latitude) columns among `cols`, by name.
pub fn lon_lat(cols: &[String]) -> Option<(usize, usize)> {
    let find = |names: &[&str]| {
        cols.iter()
            .position(|c| names.iter().any(|n| c.eq_ignore_ascii_case(n)))
    };
    Some((
        find(&["lon", "lng", "long", "longitude"])?,
        find(&["lat", "latitude"])?,
    ))
}

/// A model's centroids in the order of the selected `columns`: by name when
/// the model names them all, else as stored when the dimensions agree.
fn centroids_for(model: &crate::model::Model, columns: &[String]) -> Result<Vec<f32>> {
    let idx: Option<Vec<usize>> = columns
        .iter()
        .map(|c| model.columns.iter().position(|m| m == c))
        .collect();
    match idx {
        Some(idx) => Ok(model
            .centroids
            .iter()
            .flat_map(|c| idx.iter().map(|&i| c[i]))
            .collect()),
        None if model.dim == columns.len() => Ok(model.flat_centroids()),
        None => Err(usage(format!(
            "the model has dimension {} (columns {}), the plot {} ({}); select the model's --columns",
            model.dim,
            model.columns.join(","),
            columns.len(),
            columns.join(",")
        ))),
    }
}

/// Draws a scatter plot (or map) of any size: real markers up to
/// `max_markers` rows, else a streamed density raster.
pub fn scatter_figure(
    global: &Global,
    s: &ScatterInput,
    frame: Frame,
    title: Option<String>,
) -> Result<ScatterFigure> {
    no_skipping(s.input)?;
    let (_, mut src) = s.input.open(s.files)?;
    // A map draws longitude across and latitude up: select those two
    // columns, in that order, whatever the file's order.
    let named = lon_lat(&src.info().columns);
    let mut map = s.map.unwrap_or(named.is_some());
    if map {
        match named {
            Some((lo, la)) if src.info().dim != 2 || lo != 0 => {
                let cols = &src.info().columns;
                let pick = vec![cols[lo].clone(), cols[la].clone()];
                src = s.input.dataset(s.files)?.open(&OpenOptions {
                    columns: Some(pick),
                    ..s.input.options()
                })?;
            }
            Some(_) => {}
            None if src.info().dim == 2 => {}
            None => {
                return Err(usage(format!(
                    "{}: --map needs two columns, longitude then latitude (--columns LON,LAT)",
                    src.info().path.display()
                )))
            }
        }
    }
    let info = src.info().clone();
    if info.dim < 2 {
        return Err(usage(format!(
            "{}: a scatter plot needs two columns and this selection has {}",
            src.info().path.display(),
            info.dim
        )));
    }
    let lab = match s.labels {
        Some(p) => Some(open_labels(p, s.label_column)?),
        None => None,
    };
    if let Some(l) = &lab {
        es::check_labels(src.as_ref(), l.as_ref()).map_err(scatter_err)?;
    }
    let model_centroids: Option<Vec<f32>> = match s.model {
        Some(m) => Some(centroids_for(&crate::model::load(m)?, &info.columns)?),
        None => None,
    };
    let pass = s.memory.pass_config(info.dim, global.verbose);
    let title = title.unwrap_or_else(|| {
        format!(
            "{}{}",
            src.info()
                .path
                .file_name()
                .map_or(String::new(), |f| f.to_string_lossy().into_owned()),
            s.labels.map_or(String::new(), |l| format!(
                " coloured by {}",
                l.file_name()
                    .map_or(String::new(), |f| f.to_string_lossy().into_owned())
            ))
        )
    });
    let small = info.rows as usize <= s.max_markers;
    // More than two columns: the first two principal components (one
    // covariance pass), and centroids projected the same way; then the
    // points (small inputs) or the data box (one statistics pass).
    let bar = Bar::passes(info.rows, info.file_bytes, global.quiet || small);
    let data = es::scatter_data(
        src.as_ref(),
        lab.as_deref(),
        model_centroids.as_deref(),
        s.max_markers,
        &pass,
        &CANCEL,
        &bar,
    );
    bar.finish();
    let es::ScatterData {
        principal: pc,
        xy,
        labels: point_labels,
        bounds: b,
        centroids,
    } = data.map_err(scatter_err)?;
    let xy = xy.unwrap_or_default();
    let (lo, hi) = ([b[0], b[2]], [b[1], b[3]]);
    if map && !(lo[0] >= -180.0 && hi[0] <= 180.0 && lo[1] >= -90.0 && hi[1] <= 90.0) {
        let msg = format!(
            "{}: columns {} and {} are not longitude and latitude in degrees (they span {:.4}..{:.4} and {:.4}..{:.4})",
            src.info().path.display(),
            info.columns[0],
            info.columns[1],
            lo[0],
            hi[0],
            lo[1],
            hi[1]
        );
        if s.map == Some(true) {
            return Err(anyhow::anyhow!(msg));
        }
        if !global.quiet {
            eprintln!("{msg}; drawing a plain scatter plot");
        }
        map = false;
    }
    let (_, _, w, h) = plot_area(&frame);
    let (x, y) = plot_box(b, map, w, h);
    let (xlabel, ylabel) = match &pc {
        Some(p) => component_labels(&p.variances, p.total_variance),

        None if map => (
            format!("{} (degrees east)", info.columns[0]),
            format!("{} (degrees north)", info.columns[1]),
        ),
        None => (info.columns[0].clone(), info.columns[1].clone()),
    };
    let (svg, sizes, mode) = if small {
        let (colours, sizes) = marker_colours(&point_labels);
        let sc = Scatter {
            frame,
            title,
            xlabel,
            ylabel,
            x,
            y,
            content: Content::Markers {
                xy: &xy,
                colours: &colours,
            },
            centroids,
            legend: legend_entries(&sizes, lab.is_some()),
            note: Some(format!("{} points", thousands(info.rows))),
            map,
        };
        (scatter_svg(&sc)?, sizes, "markers")
    } else {
        let bar = Bar::passes(info.rows, info.file_bytes, global.quiet);
        let empty = ColourRaster::new(w, h, x, y);
        let r = es::density(
            src.as_ref(),
            lab.as_deref(),
            pc.as_ref(),
            &empty,
            &label_colour,
            &pass,
            &CANCEL,
            &bar,
        );
        bar.finish();
        let (raster, sizes, _) = r.map_err(scatter_err)?;
        let sc = Scatter {
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
            centroids,
            legend: legend_entries(&sizes, lab.is_some()),
            note: Some(format!(
                "{} points, density (colour: mix of the clusters in each pixel; opacity: equalised count)",
                thousands(raster.total())
            )),
            map,
        };
        (scatter_svg(&sc)?, sizes, "density")
    };
    Ok(ScatterFigure {
        figure: Figure {
            svg,
            kind: if map { "map" } else { "scatter" },
            rows: info.rows,
            mode,
            clusters: sizes.iter().skip(1).filter(|&&c| c > 0).count(),
        },
        sizes,
        map,
    })
}

fn scatter(global: &Global, cmd: &PlotCommand) -> Result<()> {
    let PlotCommand::Scatter {
        files,
        input,
        labels,
        label_column,
        model,
        max_markers,
        map,
        no_map,
        figure,
        memory,
    } = cmd
    else {
        unreachable!()
    };
    let start = Instant::now();
    png_out(figure)?;
    let f = scatter_figure(
        global,
        &ScatterInput {
            files,
            input,
            labels: labels.as_deref(),
            label_column,
            model: model.as_deref(),
            max_markers: *max_markers,
            map: if *map {
                Some(true)
            } else if *no_map {
                Some(false)
            } else {
                None
            },
            memory,
        },
        Frame::new(figure.size.0, figure.size.1, figure.dark),
        figure.title.clone(),
    )?;
    finish(figure, &f.figure, start)
}

/// Leaves beyond which a dendrogram is truncated by default.
const DENDROGRAM_MAX_LEAVES: usize = 2000;

/// How a dendrogram is drawn.
#[derive(Debug, Clone, Copy)]
pub struct DendrogramInput<'a> {
    pub z: &'a Path,
    pub truncate: Option<TruncateMode>,
    pub p: usize,
    pub color_threshold: Option<f64>,
    pub cut: Option<f64>,
    pub leaf_rotation: f64,
}

/// Draws scipy's dendrogram of a tree Z.npy.
pub fn dendrogram_figure(
    d: &DendrogramInput,
    frame: Frame,
    title: Option<String>,
) -> Result<Figure> {
    let merges = crate::hier::load_z(d.z)?;
    let n = merges.len() + 1;
    let (mode, note) = match d.truncate {
        Some(TruncateMode::None) => (Truncate::None, None),
        Some(TruncateMode::Lastp) => (Truncate::LastP(d.p), None),
        Some(TruncateMode::Level) => (Truncate::Level(d.p), None),
        None if n > DENDROGRAM_MAX_LEAVES => (
            Truncate::LastP(500),
            Some(format!(
                "{} leaves: the last 500 merges are shown (--truncate none draws all)",
                thousands(n as u64)
            )),
        ),
        None => (Truncate::None, None),
    };
    if let Some(t) = d.cut {
        if !(t.is_finite() && t >= 0.0) {
            return Err(usage(format!("--cut must be a height >= 0, got {t}")));
        }
    }
    let dd = tree::dendrogram_with(&merges, mode, d.color_threshold);
    let title = title.unwrap_or_else(|| {
        format!(
            "dendrogram of {}",
            d.z.file_name()
                .map_or(String::new(), |f| f.to_string_lossy().into_owned())
        )
    });
    let plot = DendrogramPlot {
        frame,
        title,
        icoord: &dd.icoord,
        dcoord: &dd.dcoord,
        color_list: &dd.color_list,
        ivl: &dd.ivl,
        cut: d.cut,
        leaf_rotation: d.leaf_rotation,
        note,
    };
    Ok(Figure {
        svg: plot.svg(),
        kind: "dendrogram",
        rows: n as u64,
        mode: "links",
        clusters: dd.ivl.len(),
    })
}

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
    let f = dendrogram_figure(
        &DendrogramInput {
            z,
            truncate: *truncate,
            p: *p,
            color_threshold: *color_threshold,
            cut: *cut,
            leaf_rotation: *leaf_rotation,
        },
        Frame::new(figure.size.0, figure.size.1, figure.dark),
        figure.title.clone(),
    )?;
    finish(figure, &f, start)
}

/// What a silhouette plot is drawn from.
#[derive(Debug, Clone, Copy)]
pub struct SilhouetteInput<'a> {
    pub files: &'a [PathBuf],
    pub input: &'a crate::cli::InputArgs,
    pub labels: &'a Path,
    pub label_column: &'a str,
    pub sample: usize,
    pub seed: u64,
    pub memory: &'a crate::cli::MemoryArgs,
}

/// A drawn silhouette plot and its numbers.
#[derive(Debug, Clone)]
pub struct SilhouetteFigure {
    pub figure: Figure,
    pub mean: f64,
    pub standard_error: f64,
    /// Rows scored: all of them, or the seeded sample's.
    pub scored: usize,
    pub rows: u64,
}

/// Draws scikit-learn's silhouette-analysis figure: exact up to `sample`
/// rows, else on the seeded sample `shoal eval` scores, streamed (memory
/// for the sample only).
pub fn silhouette_figure(
    global: &Global,
    s: &SilhouetteInput,
    frame: Frame,
    title: Option<String>,
) -> Result<SilhouetteFigure> {
    no_skipping(s.input)?;
    let (_, src) = s.input.open(s.files)?;
    let info = src.info().clone();
    let lab = open_labels(s.labels, s.label_column)?;
    let pass = s.memory.pass_config(info.dim, global.verbose);
    let sampled = info.rows as usize > s.sample;
    let bar = Bar::passes(info.rows, info.file_bytes, global.quiet || !sampled);
    let r = es::sample_rows(
        src.as_ref(),
        lab.as_ref(),
        s.sample,
        s.seed,
        &pass,
        &CANCEL,
        &bar,
    );
    bar.finish();
    let (x, ls) = r.map_err(scatter_err)?;
    let vals = silhouette_samples(&x, info.dim, &ls)
        .map_err(|e| usage(format!("{}: {e}", s.labels.display())))?;
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
    let n = info.rows;
    let plot = SilhouettePlot {
        frame,
        title: title.unwrap_or_else(|| format!("silhouette of {k} clusters: mean {mean:.4}")),
        clusters,
        mean,
        note: Some(if sampled {
            format!(
                "seeded sample of {} of {} rows: mean {mean:.4} ± {se:.4} (standard error)",
                thousands(x.len() as u64 / info.dim.max(1) as u64),
                thousands(n)
            )
        } else {
            format!("exact, {} rows", thousands(n))
        }),
    };
    Ok(SilhouetteFigure {
        figure: Figure {
            svg: plot.svg(),
            kind: "silhouette",
            rows: n,
            mode: if sampled { "sample" } else { "exact" },
            clusters: k,
        },
        mean,
        standard_error: se,
        scored: ls.len(),
        rows: n,
    })
}

fn silhouette(global: &Global, cmd: &PlotCommand) -> Result<()> {
    let PlotCommand::Silhouette {
        files,
        input,
        labels,
        label_column,
        sample,
        seed,
        figure,
        memory,
    } = cmd
    else {
        unreachable!()
    };
    let start = Instant::now();
    png_out(figure)?;
    let f = silhouette_figure(
        global,
        &SilhouetteInput {
            files,
            input,
            labels,
            label_column,
            sample: *sample,
            seed: *seed,
            memory,
        },
        Frame::new(figure.size.0, figure.size.1, figure.dark),
        figure.title.clone(),
    )?;
    finish(figure, &f.figure, start)
}

/// A `shoal sweep` JSON, read and checked.
pub fn load_sweep(path: &Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let j: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a sweep's JSON: {e}", path.display()))?;
    let ok = j["format"] == "shoal-sweep-1"
        && j["points"].as_array().is_some_and(|p| {
            !p.is_empty()
                && p.iter()
                    .all(|q| q["k"].as_f64().is_some_and(f64::is_finite))
        });
    if !ok {
        return Err(anyhow::anyhow!(
            "{}: not the JSON of `shoal sweep` (format shoal-sweep-1 with points, each with a k)",
            path.display()
        ));
    }
    Ok(j)
}

/// Draws the elbow figure of a sweep.
pub fn elbow_figure(j: &serde_json::Value, frame: Frame, title: Option<String>) -> Figure {
    let points = j["points"].as_array().map_or(&[][..], |v| v.as_slice());
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let col = |key: &str| points.iter().map(|p| num(&p[key])).collect::<Vec<f64>>();
    let plot = shoal_plot::elbow::ElbowPlot {
        frame,
        title: title.unwrap_or_else(|| {
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
        ks: col("k"),
    };
    Figure {
        svg: plot.svg(),
        kind: "elbow",
        rows: num(&j["rows"]) as u64,
        mode: "sweep",
        clusters: points.len(),
    }
}

fn elbow(path: &Path, figure: &FigureArgs) -> Result<()> {
    let start = Instant::now();
    png_out(figure)?;
    let j = load_sweep(path)?;
    let f = elbow_figure(
        &j,
        Frame::new(figure.size.0, figure.size.1, figure.dark),
        figure.title.clone(),
    );
    finish(figure, &f, start)
}
