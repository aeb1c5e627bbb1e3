//! `shoal.plot`: figures of arrays in memory, drawn by `shoal-plot` as the
//! command line draws files: real markers up to `max_markers` points, past
//! that a colour-density raster filled by the engine's streaming pass over
//! the borrowed array; more than two columns are drawn on their first two
//! principal components. Each function returns the SVG text; `svg_to_png`
//! renders it.

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use shoal_engine::scatter::{self as es, ScatterError};
use shoal_engine::{PassConfig, Silent};
use shoal_kernels::hierarchy::tree::{self, Truncate};
use shoal_kernels::quality::{mean_and_se, silhouette_samples};
use shoal_kernels::raster::ColourRaster;
use shoal_plot::dendrogram::DendrogramPlot;
use shoal_plot::scatter::{
    component_labels, label_colour, legend_entries, marker_colours, plot_area, plot_box,
    scatter_svg, Content, Density, Scatter,
};
use shoal_plot::silhouette::SilhouettePlot;
use shoal_plot::{thousands, Frame};
use shoal_reader::{SliceSource, Source};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use crate::{open_source, read_err, rows, slice1, value_err, z_in};

fn scatter_err(e: ScatterError) -> PyErr {
    match e {
        ScatterError::Engine(shoal_engine::EngineError::Read(r)) => read_err(&r),
        other => value_err(other),
    }
}

/// Centroids as values, checked to have the points' `d` columns.
fn centroid_values(c: &PyReadonlyArray2<'_, f32>, d: usize) -> PyResult<Vec<f32>> {
    let (v, cd) = rows(c)?;
    if cd != d {
        return Err(value_err(format!(
            "centroids have {cd} columns, the points {d}"
        )));
    }
    Ok(v.to_vec())
}

/// How a scatter plot looks (the caller's options).
struct Look {
    title: String,
    xlabel: Option<String>,
    ylabel: Option<String>,
    map: bool,
    frame: Frame,
    max_markers: usize,
}

/// Draws `src` (coloured by `lab`, with `cents` in its units) as `look`
/// says, with the GIL released; `names` are the default axis labels.
fn draw(
    py: Python<'_>,
    src: &dyn Source,
    lab: Option<&dyn Source>,
    cents: Option<Vec<f32>>,
    look: Look,
    names: (String, String),
    memory: u64,
) -> PyResult<(String, &'static str)> {
    let d = src.info().dim;
    if d < 2 {
        return Err(value_err(format!(
            "a scatter plot needs at least two columns, got {d}"
        )));
    }
    if look.map && d != 2 {
        return Err(value_err("map=True draws two columns: longitude, latitude"));
    }
    let Look {
        title,
        xlabel,
        ylabel,
        map,
        frame,
        max_markers,
    } = look;
    let (_, _, w, h) = plot_area(&frame);
    let pass = PassConfig::for_memory(memory, d, rayon::current_num_threads());
    let cancel = AtomicBool::new(false);
    py.detach(|| {
        let data = es::scatter_data(src, lab, cents.as_deref(), max_markers, &pass, &cancel, &Silent)?;
        let es::ScatterData {
            principal: pc,
            xy,
            labels: point_labels,
            bounds: b,
            centroids: centres,
        } = data;
        if map && !(b[0] >= -180.0 && b[1] <= 180.0 && b[2] >= -90.0 && b[3] <= 90.0) {
            return Err(ScatterError::Labels(format!(
                "map=True needs longitude and latitude in degrees; the columns span {:.4}..{:.4} and {:.4}..{:.4}",
                b[0], b[1], b[2], b[3]
            )));
        }
        let (bx, by) = plot_box(b, map, w, h);
        let (default_x, default_y) = match &pc {
            Some(p) => component_labels(&p.variances, p.total_variance),
            None if map => (format!("{} (degrees east)", names.0), format!("{} (degrees north)", names.1)),
            None => names,
        };
        let scatter = |content, sizes: &[u64], note: String| Scatter {
            frame,
            title: title.clone(),
            xlabel: xlabel.clone().unwrap_or_else(|| default_x.clone()),
            ylabel: ylabel.clone().unwrap_or_else(|| default_y.clone()),
            x: bx,
            y: by,
            content,
            centroids: centres.clone(),
            legend: legend_entries(sizes, lab.is_some()),
            note: Some(note),
            map,
        };
        let svg_err = |e: shoal_plot::PlotError| ScatterError::Labels(e.to_string());
        match xy {
            Some(xy) => {
                let (colours, sizes) = marker_colours(&point_labels);
                let content = Content::Markers { xy: &xy, colours: &colours };
                let note = format!("{} points", thousands(point_labels.len() as u64));
                Ok((scatter_svg(&scatter(content, &sizes, note)).map_err(svg_err)?, "markers"))
            }
            None => {
                let empty = ColourRaster::new(w, h, bx, by);
                let (r, sizes, _) =
                    es::density(src, lab, pc.as_ref(), &empty, &label_colour, &pass, &cancel, &Silent)?;
                let content = Content::Density(Density {
                    width: r.width,
                    height: r.height,
                    count: &r.count,
                    rgb: &r.rgb,
                });
                let note = format!(
                    "{} points, density (colour: mix of the clusters in each pixel; opacity: equalised count)",
                    thousands(r.total())
                );
                Ok((scatter_svg(&scatter(content, &sizes, note)).map_err(svg_err)?, "density"))
            }
        }
    })
    .map_err(scatter_err)
}

/// A scatter plot of `x` (n x d, d >= 2) coloured by `labels`, with
/// `centroids` as red X markers; `map`: columns are longitude, latitude.
#[pyfunction]
#[pyo3(signature = (x, labels=None, centroids=None, title="", xlabel=None, ylabel=None, map=false, width=800, height=600, dark=false, max_markers=20000))]
#[allow(clippy::too_many_arguments)]
pub fn plot_scatter(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f32>,
    labels: Option<PyReadonlyArray1<'_, i64>>,
    centroids: Option<PyReadonlyArray2<'_, f32>>,
    title: &str,
    xlabel: Option<String>,
    ylabel: Option<String>,
    map: bool,
    width: u32,
    height: u32,
    dark: bool,
    max_markers: usize,
) -> PyResult<(String, &'static str)> {
    let (v, d) = rows(&x)?;
    let src = SliceSource::new(v, d, "X").map_err(|e| read_err(&e))?;
    // labels as a one-column source beside the rows (exact below 2^24)
    let lab_f: Option<Vec<f32>> = match &labels {
        Some(l) => Some(slice1(l)?.iter().map(|&v| v as f32).collect()),
        None => None,
    };
    let lab = match &lab_f {
        Some(l) => Some(SliceSource::new(l, 1, "labels").map_err(|e| read_err(&e))?),
        None => None,
    };
    let cents = match &centroids {
        Some(c) => Some(centroid_values(c, d)?),
        None => None,
    };
    let look = Look {
        title: title.to_string(),
        xlabel,
        ylabel,
        map,
        frame: Frame::new(width, height, dark),
        max_markers,
    };
    let names = if map {
        ("longitude".to_string(), "latitude".to_string())
    } else {
        ("x0".to_string(), "x1".to_string())
    };
    draw(
        py,
        &src,
        lab.as_ref().map(|l| l as &dyn Source),
        cents,
        look,
        names,
        1 << 28,
    )
}

/// A scatter plot of a file of any size (`columns` selected; a map draws
/// them as longitude, latitude), coloured by the `label_column` of a labels
/// file (.npy, .parquet, .csv) read beside it, in bounded memory.
#[pyfunction]
#[pyo3(signature = (path, labels=None, label_column="cluster", columns=None, centroids=None, title="", xlabel=None, ylabel=None, map=false, width=800, height=600, dark=false, max_markers=20000, memory=268435456))]
#[allow(clippy::too_many_arguments)]
pub fn plot_scatter_file(
    py: Python<'_>,
    path: PathBuf,
    labels: Option<PathBuf>,
    label_column: &str,
    columns: Option<Vec<String>>,
    centroids: Option<PyReadonlyArray2<'_, f32>>,
    title: &str,
    xlabel: Option<String>,
    ylabel: Option<String>,
    map: bool,
    width: u32,
    height: u32,
    dark: bool,
    max_markers: usize,
    memory: u64,
) -> PyResult<(String, &'static str)> {
    let src = open_source(&path, columns)?;
    let lab = match &labels {
        Some(p) => {
            let cols = match shoal_reader::Format::from_path(p) {
                Some(shoal_reader::Format::Parquet | shoal_reader::Format::Csv) => {
                    Some(vec![label_column.to_string()])
                }
                _ => None,
            };
            Some(open_source(p, cols)?)
        }
        None => None,
    };
    let cents = match &centroids {
        Some(c) => Some(centroid_values(c, src.info().dim)?),
        None => None,
    };
    let cols = &src.info().columns;
    let names = (
        cols.first().cloned().unwrap_or_default(),
        cols.get(1).cloned().unwrap_or_default(),
    );
    let look = Look {
        title: title.to_string(),
        xlabel,
        ylabel,
        map,
        frame: Frame::new(width, height, dark),
        max_markers,
    };
    draw(py, src.as_ref(), lab.as_deref(), cents, look, names, memory)
}

/// scipy's dendrogram of `z`, drawn; `cut` adds a dashed line at that height.
#[pyfunction]
#[pyo3(signature = (z, truncate_mode=None, p=30, color_threshold=None, cut=None, labels=None, title="", leaf_rotation=90.0, width=800, height=600, dark=false))]
#[allow(clippy::too_many_arguments)]
pub fn plot_dendrogram(
    z: PyReadonlyArray2<'_, f64>,
    truncate_mode: Option<&str>,
    p: usize,
    color_threshold: Option<f64>,
    cut: Option<f64>,
    labels: Option<Vec<String>>,
    title: &str,
    leaf_rotation: f64,
    width: u32,
    height: u32,
    dark: bool,
) -> PyResult<String> {
    let z = z_in(&z)?;
    let mode = match truncate_mode {
        None | Some("none") => Truncate::None,
        Some("lastp") => Truncate::LastP(p),
        Some("level") => Truncate::Level(p),
        Some(o) => return Err(value_err(format!("Invalid truncation mode: {o}"))),
    };
    if let Some(t) = cut {
        if !(t.is_finite() && t >= 0.0) {
            return Err(value_err(format!("cut must be a height >= 0, got {t}")));
        }
    }
    let mut dd = tree::dendrogram_with(&z, mode, color_threshold);
    if let Some(names) = labels {
        if names.len() != z.len() + 1 {
            return Err(value_err("Dimensions of Z and labels must be consistent."));
        }
        for (s, &leaf) in dd.ivl.iter_mut().zip(&dd.leaves) {
            if leaf <= z.len() {
                s.clone_from(&names[leaf]);
            }
        }
    }
    let plot = DendrogramPlot {
        frame: Frame::new(width, height, dark),
        title: title.to_string(),
        icoord: &dd.icoord,
        dcoord: &dd.dcoord,
        color_list: &dd.color_list,
        ivl: &dd.ivl,
        cut,
        leaf_rotation,
        note: None,
    };
    Ok(plot.svg())
}

/// scikit-learn's silhouette-analysis figure of `x` under `labels`.
#[pyfunction]
#[pyo3(signature = (x, labels, title="", width=800, height=600, dark=false))]
pub fn plot_silhouette(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    labels: PyReadonlyArray1<'_, i64>,
    title: &str,
    width: u32,
    height: u32,
    dark: bool,
) -> PyResult<(String, f64)> {
    let (v, d) = rows(&x)?;
    let l = slice1(&labels)?;
    let vals = py
        .detach(|| silhouette_samples(v, d, l))
        .map_err(value_err)?;
    let (mean, _) = mean_and_se(&vals);
    let mut by: std::collections::BTreeMap<i64, Vec<f64>> = std::collections::BTreeMap::new();
    for (&c, &s) in l.iter().zip(&vals) {
        by.entry(c).or_default().push(s);
    }
    let plot = SilhouettePlot {
        frame: Frame::new(width, height, dark),
        title: title.to_string(),
        clusters: by.into_iter().map(|(c, v)| (c.to_string(), v)).collect(),
        mean,
        note: Some(format!("exact, {} rows", thousands(l.len() as u64))),
    };
    Ok((plot.svg(), mean))
}

/// The PNG of an SVG figure (rendered by resvg with shoal's embedded font).
#[pyfunction]
pub fn svg_to_png<'py>(py: Python<'py>, svg: &str) -> PyResult<Bound<'py, PyBytes>> {
    let png = py
        .detach(|| shoal_plot::render_png(svg))
        .map_err(value_err)?;
    Ok(PyBytes::new(py, &png))
}
