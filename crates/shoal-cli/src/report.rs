//! `shoal report`: one self-contained HTML file of what a clustering found:
//! the scatter plot or map of every labelling side by side, their
//! silhouette plots, every score of `shoal eval`, cluster sizes, the
//! model's parameters and centroids, the dendrogram of a tree, the elbow
//! of a sweep, and the run's timings. Figures are inline SVG (rasters in
//! them data-URI PNG); nothing in the file is fetched from anywhere.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;
use shoal_engine::exact::{self as ex, EvalOptions, EvalReport, SilhouetteMode};
use shoal_plot::html::{Block, Cell, Report, Section};
use shoal_plot::Frame;
use shoal_reader::AtomicFile;

use crate::cli::{Global, InputArgs, MemoryArgs, ReportArgs};
use crate::exit::usage;
use crate::output::thousands;
use crate::plot::{
    dendrogram_figure, elbow_figure, load_sweep, scatter_figure, silhouette_figure,
    DendrogramInput, ScatterInput, SilhouetteInput,
};

/// Rows of a table shown before "... more".
const TABLE_ROWS: usize = 100;
/// Columns of the centroid table shown.
const TABLE_COLUMNS: usize = 16;
/// Bytes of rows the scores may read into memory (as `shoal eval` does).
const EVAL_BYTES: u64 = 4 << 30;

/// What the report is made of (the command's arguments, or the demo's).
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    pub files: &'a [PathBuf],
    pub input: &'a InputArgs,
    /// (name, labels file), in the order shown.
    pub labels: Vec<(String, PathBuf)>,
    pub label_column: &'a str,
    pub truth: Option<&'a Path>,
    pub model: Option<&'a Path>,
    pub linkage: Option<&'a Path>,
    pub cut: Option<f64>,
    pub sweep: Option<&'a Path>,
    pub silhouette_sample: usize,
    pub seed: u64,
    pub max_markers: usize,
    pub map: Option<bool>,
    pub title: Option<String>,
    pub memory: &'a MemoryArgs,
    /// The command that made it, shown in the report.
    pub command: String,
}

#[derive(Debug, Serialize)]
pub struct ReportSummary {
    pub out: String,
    pub bytes: u64,
    pub labellings: usize,
    pub figures: usize,
    pub sections: Vec<String>,
    pub seconds: f64,
    pub peak_rss_bytes: Option<u64>,
}

pub fn run(global: &Global, a: &ReportArgs) -> Result<()> {
    let labels = a
        .labels
        .iter()
        .map(|p| (name_of(p), p.clone()))
        .collect::<Vec<_>>();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let s = write(
        global,
        &ReportInput {
            files: &a.files,
            input: &a.input,
            labels,
            label_column: &a.label_column,
            truth: a.truth.as_deref(),
            model: a.model.as_deref(),
            linkage: a.linkage.as_deref(),
            cut: a.cut,
            sweep: a.sweep.as_deref(),
            silhouette_sample: a.silhouette_sample,
            seed: a.seed,
            max_markers: a.max_markers,
            map: if a.map {
                Some(true)
            } else if a.no_map {
                Some(false)
            } else {
                None
            },
            title: a.title.clone(),
            memory: &a.memory,
            command,
        },
        &a.out,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!(
            "report of {} labelling(s), {} figures ({}) in {:.2} s; wrote {}",
            s.labellings,
            s.figures,
            crate::output::bytes(s.bytes),
            s.seconds,
            s.out
        );
    }
    Ok(())
}

/// A labels file's name for captions: its stem.
pub fn name_of(p: &Path) -> String {
    p.file_stem().map_or_else(
        || p.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

fn fmt(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

fn stage(timings: &mut Vec<(String, f64)>, what: impl Into<String>, t: Instant) {
    timings.push((what.into(), t.elapsed().as_secs_f64()));
}

/// Builds the report and writes it atomically to `out`.
pub fn write(global: &Global, r: &ReportInput, out: &Path) -> Result<ReportSummary> {
    let start = Instant::now();
    match out
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("html" | "htm") => {}
        _ => {
            return Err(usage(format!(
                "--out {}: a report is written as .html",
                out.display()
            )))
        }
    }
    if r.labels.is_empty() {
        return Err(usage("a report needs at least one --labels file"));
    }
    let (_, src) = r.input.open(r.files)?;
    let info = src.info().clone();
    drop(src);
    let mut timings: Vec<(String, f64)> = Vec::new();
    let mut sections = Vec::new();
    let mut figures = 0usize;

    // The data.
    sections.push(Section {
        id: "data".into(),
        heading: "Data".into(),
        blocks: vec![Block::Table {
            caption: "the file clustered".into(),
            header: vec!["".into(), "".into()],
            rows: vec![
                kv("file", info.path.display().to_string()),
                kv("format", format!("{:?}", info.format).to_lowercase()),
                kv("rows", thousands(info.rows)),
                kv("columns", info.columns.join(", ")),
                kv("size on disk", crate::output::bytes(info.file_bytes)),
            ],
        }],
    });

    // Every labelling's scatter (or map), side by side; the model's
    // centroids on the first.
    let t = Instant::now();
    let mut scatters = Vec::new();
    let mut sizes = Vec::new();
    for (i, (name, path)) in r.labels.iter().enumerate() {
        let f = scatter_figure(
            global,
            &ScatterInput {
                files: r.files,
                input: r.input,
                labels: Some(path),
                label_column: r.label_column,
                model: if i == 0 { r.model } else { None },
                max_markers: r.max_markers,
                map: r.map,
                memory: r.memory,
            },
            Frame::new(800, 640, false),
            Some(name.clone()),
        )?;
        sizes.push(f.sizes.clone());
        scatters.push((
            format!(
                "{name}: {} clusters, {} ({}){}",
                f.figure.clusters,
                if f.map { "map" } else { "scatter plot" },
                f.figure.mode,
                if i == 0 && r.model.is_some() {
                    "; red X: the model's centroids"
                } else {
                    ""
                }
            ),
            f.figure.svg,
        ));
    }
    figures += scatters.len();
    stage(&mut timings, "scatter plots", t);
    sections.push(Section {
        id: "clusters".into(),
        heading: if r.labels.len() > 1 {
            "Clusters, side by side".into()
        } else {
            "Clusters".into()
        },
        blocks: vec![Block::Figures(scatters)],
    });

    // Scores and silhouettes.
    let t = Instant::now();
    let truth = match r.truth {
        Some(p) => Some(crate::eval::read_labels(p, r.label_column)?),
        None => None,
    };
    let mut sils = Vec::new();
    let mut sil_values = Vec::new();
    for (name, path) in &r.labels {
        let f = silhouette_figure(
            global,
            &SilhouetteInput {
                files: r.files,
                input: r.input,
                labels: path,
                label_column: r.label_column,
                sample: r.silhouette_sample,
                seed: r.seed,
                memory: r.memory,
            },
            Frame::new(800, 600, false),
            None,
        )?;
        sils.push((
            format!(
                "{name}: silhouette {} (exact up to {} rows, else a seeded sample)",
                f.figure.mode,
                thousands(r.silhouette_sample as u64)
            ),
            f.figure.svg.clone(),
        ));
        sil_values.push(f);
    }
    figures += sils.len();
    stage(&mut timings, "silhouette plots", t);
    let t = Instant::now();
    let bytes = info.rows.saturating_mul(info.dim as u64).saturating_mul(8);
    let mut evals: Vec<Option<EvalReport>> = Vec::new();
    let mut eval_note = None;
    if bytes <= EVAL_BYTES {
        // The rows are read once, for every labelling's scores.
        let (_, src) = r.input.open(r.files)?;
        let opts = EvalOptions {
            silhouette: SilhouetteMode::None,
            ..EvalOptions::default()
        };
        let precision = opts.precision.resolve(&info);
        let points = shoal_reader::Points::read(src.as_ref(), precision, 1 << 16)?;
        for (_, path) in &r.labels {
            let l = crate::eval::read_labels(path, r.label_column)?;
            let e = match &points {
                shoal_reader::Points::F32(x) => {
                    ex::eval_points(x, info.dim, &l, truth.as_deref(), &opts, precision)
                }
                shoal_reader::Points::F64(x) => {
                    ex::eval_points(x, info.dim, &l, truth.as_deref(), &opts, precision)
                }
            }
            .map_err(crate::dbscan::exact_err)
            .with_context(|| format!("scoring {}", path.display()))?;
            evals.push(Some(e));
        }
    } else {
        eval_note = Some(format!(
            "The centroid-based scores read the rows into memory, as `shoal eval` does ({}); this file is larger than the report's {} for that, so only the sampled silhouette is shown.",
            crate::output::bytes(bytes),
            crate::output::bytes(EVAL_BYTES)
        ));
        evals.resize(r.labels.len(), None);
    }
    stage(&mut timings, "scores", t);
    let mut blocks = vec![scores_table(r, &evals, &sil_values)];
    if let Some(n) = eval_note {
        blocks.push(Block::Para(n));
    }
    if truth.is_some() {
        blocks.push(Block::Para(format!(
            "Agreement with the reference labels of {}: scikit-learn's definitions; 1 is a perfect match.",
            r.truth.map(|p| p.display().to_string()).unwrap_or_default()
        )));
    }
    blocks.push(Block::Figures(sils));
    sections.push(Section {
        id: "scores".into(),
        heading: "Scores".into(),
        blocks,
    });

    // Cluster sizes.
    sections.push(Section {
        id: "sizes".into(),
        heading: "Cluster sizes".into(),
        blocks: r
            .labels
            .iter()
            .zip(&sizes)
            .map(|((name, _), s)| sizes_table(name, s))
            .collect(),
    });

    // The model.
    if let Some(m) = r.model {
        let model = crate::model::load(m)?;
        sections.push(Section {
            id: "model".into(),
            heading: "Model".into(),
            blocks: model_blocks(m, &model),
        });
    }

    // The tree.
    if let Some(z) = r.linkage {
        let t = Instant::now();
        let f = dendrogram_figure(
            &DendrogramInput {
                z,
                truncate: None,
                p: 30,
                color_threshold: None,
                cut: r.cut,
                leaf_rotation: 0.0,
            },
            Frame::new(1000, 600, false),
            None,
        )?;
        figures += 1;
        stage(&mut timings, "dendrogram", t);
        sections.push(Section {
            id: "tree".into(),
            heading: "Hierarchy".into(),
            blocks: vec![Block::Figures(vec![(
                format!(
                    "dendrogram of {} ({} leaves){}",
                    z.display(),
                    thousands(f.rows),
                    r.cut
                        .map_or(String::new(), |c| format!("; dashed: the cut at {c}"))
                ),
                f.svg,
            )])],
        });
    }

    // The sweep.
    if let Some(s) = r.sweep {
        let j = load_sweep(s)?;
        let f = elbow_figure(&j, Frame::new(1000, 700, false), None);
        figures += 1;
        sections.push(Section {
            id: "sweep".into(),
            heading: "Choosing k".into(),
            blocks: sweep_blocks(s, &j, f.svg),
        });
    }

    // The run.
    let total = start.elapsed().as_secs_f64();
    let mut rows: Vec<Vec<Cell>> = timings
        .iter()
        .map(|(w, s)| vec![Cell::text(w), Cell::num(format!("{s:.2}"))])
        .collect();
    rows.push(vec![Cell::text("total"), Cell::num(format!("{total:.2}"))]);
    sections.push(Section {
        id: "run".into(),
        heading: "This run".into(),
        blocks: vec![
            Block::Para(format!("Made by: {}", r.command)),
            Block::Table {
                caption: "timings (seconds)".into(),
                header: vec!["stage".into(), "seconds".into()],
                rows,
            },
            Block::Table {
                caption: "machine".into(),
                header: vec!["".into(), "".into()],
                rows: vec![
                    kv("shoal", env!("CARGO_PKG_VERSION").to_string()),
                    kv("threads", rayon::current_num_threads().to_string()),
                    kv(
                        "peak memory (RSS)",
                        crate::output::peak_rss().map_or("-".into(), crate::output::bytes),
                    ),
                    kv(
                        "memory budget (--memory)",
                        crate::output::bytes(r.memory.memory),
                    ),
                ],
            },
        ],
    });

    let report = Report {
        title: r.title.clone().unwrap_or_else(|| {
            format!(
                "shoal report: {}",
                r.files[0]
                    .file_name()
                    .map_or(String::new(), |f| f.to_string_lossy().into_owned())
            )
        }),
        subtitle: format!(
            "{} rows x {} columns, {} labelling(s); made by shoal {}",
            thousands(info.rows),
            info.dim,
            r.labels.len(),
            env!("CARGO_PKG_VERSION")
        ),
        sections,
    };
    let html = report.html(shoal_plot::font_ttf());
    let f = AtomicFile::create(out)?;
    f.file()
        .write_all(html.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    f.commit()?;
    Ok(ReportSummary {
        out: out.display().to_string(),
        bytes: html.len() as u64,
        labellings: r.labels.len(),
        figures,
        sections: report.sections.iter().map(|s| s.id.clone()).collect(),
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_bytes: crate::output::peak_rss(),
    })
}

fn kv(k: &str, v: String) -> Vec<Cell> {
    vec![Cell::text(k), Cell::text(v)]
}

fn scores_table(
    r: &ReportInput,
    evals: &[Option<EvalReport>],
    sils: &[crate::plot::SilhouetteFigure],
) -> Block {
    let mut header = vec!["score".to_string()];
    header.extend(r.labels.iter().map(|(n, _)| n.clone()));
    let row = |name: &str, f: &dyn Fn(usize) -> String| {
        let mut v = vec![Cell::text(name)];
        v.extend((0..r.labels.len()).map(|i| Cell::num(f(i))));
        v
    };
    let ev = |i: usize, g: &dyn Fn(&EvalReport) -> String| evals[i].as_ref().map_or("-".into(), g);
    let mut rows = vec![
        row("clusters", &|i| {
            ev(i, &|e| {
                (e.clusters - usize::from(e.noise_points > 0)).to_string()
            })
        }),
        row("noise points (-1)", &|i| {
            ev(i, &|e| thousands(e.noise_points as u64))
        }),
        row("silhouette (higher is better)", &|i| {
            let s = &sils[i];
            if s.scored as u64 == s.rows {
                format!("{:.4} (exact)", s.mean)
            } else {
                format!(
                    "{:.4} ± {:.4} ({} rows)",
                    s.mean,
                    s.standard_error,
                    thousands(s.scored as u64)
                )
            }
        }),
        row("simplified silhouette", &|i| {
            ev(i, &|e| fmt(e.simplified_silhouette))
        }),
        row("Davies-Bouldin (lower is better)", &|i| {
            ev(i, &|e| fmt(e.davies_bouldin))
        }),
        row("Calinski-Harabasz (higher is better)", &|i| {
            ev(i, &|e| fmt(e.calinski_harabasz))
        }),
        row("inertia (within-cluster sum of squares)", &|i| {
            ev(i, &|e| fmt(e.inertia))
        }),
    ];
    if evals.iter().flatten().any(|e| e.external.is_some()) {
        type Get = fn(&shoal_kernels::metrics::External) -> f64;
        let ext: [(&str, Get); 7] = [
            ("adjusted Rand index", |x| x.adjusted_rand),
            ("adjusted mutual information", |x| x.adjusted_mutual_info),
            ("normalized mutual information", |x| {
                x.normalized_mutual_info
            }),
            ("homogeneity", |x| x.homogeneity),
            ("completeness", |x| x.completeness),
            ("V-measure", |x| x.v_measure),
            ("Fowlkes-Mallows", |x| x.fowlkes_mallows),
        ];
        for (name, get) in ext {
            rows.push(row(name, &|i| {
                ev(i, &|e| {
                    e.external.as_ref().map_or("-".into(), |x| fmt(get(x)))
                })
            }));
        }
    }
    Block::Table {
        caption: "quality of each labelling (scikit-learn's definitions; noise is one more cluster, as scikit-learn scores it)".into(),
        header,
        rows,
    }
}

/// `sizes[label + 1]` rows of each label (index 0: noise).
fn sizes_table(name: &str, sizes: &[u64]) -> Block {
    let n = sizes.iter().sum::<u64>().max(1) as f64;
    let order: Vec<(i64, u64)> = sizes
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, &c)| (i as i64 - 1, c))
        .collect();
    let shown = order.len().min(TABLE_ROWS);
    let mut rows: Vec<Vec<Cell>> = order[..shown]
        .iter()
        .map(|&(l, s)| {
            vec![
                Cell::text(if l == -1 {
                    "noise (-1)".into()
                } else {
                    l.to_string()
                }),
                Cell::num(thousands(s)),
                Cell::num(format!("{:.2}%", 100.0 * s as f64 / n)),
            ]
        })
        .collect();
    if shown < order.len() {
        rows.push(vec![
            Cell::text(format!("… {} more", order.len() - shown)),
            Cell::text(""),
            Cell::text(""),
        ]);
    }
    Block::Table {
        caption: format!("{name}: rows per label"),
        header: vec!["label".into(), "rows".into(), "share".into()],
        rows,
    }
}

fn model_blocks(path: &Path, m: &crate::model::Model) -> Vec<Block> {
    let params = vec![
        kv("file", path.display().to_string()),
        kv("algorithm", m.algo.clone()),
        kv("k", m.k.to_string()),
        kv("init", format!("{} ({} starts)", m.init, m.n_init)),
        kv("seed", m.seed.to_string()),
        kv(
            "iterations",
            format!(
                "{} of at most {}{}",
                m.iterations,
                m.max_iter,
                if m.converged { ", converged" } else { "" }
            ),
        ),
        kv("tol", fmt(m.tol)),
        kv("inertia", fmt(m.inertia)),
        kv(
            "scaling",
            m.scaling.as_ref().map_or("none".into(), |s| s.kind.clone()),
        ),
        kv("rows fitted", thousands(m.rows)),
        kv("source", m.source.clone()),
    ];
    let cols = m.dim.min(TABLE_COLUMNS);
    let mut header = vec!["cluster".to_string(), "rows".to_string()];
    header.extend(m.columns.iter().take(cols).cloned());
    if cols < m.dim {
        header.push(format!("… {} more columns", m.dim - cols));
    }
    let shown = m.k.min(TABLE_ROWS);
    let mut rows: Vec<Vec<Cell>> = (0..shown)
        .map(|i| {
            let mut r = vec![
                Cell::text(i.to_string()),
                Cell::num(m.counts.get(i).map_or("-".into(), |&c| thousands(c))),
            ];
            r.extend(
                m.centroids[i]
                    .iter()
                    .take(cols)
                    .map(|&v| Cell::num(fmt(v as f64))),
            );
            if cols < m.dim {
                r.push(Cell::text(""));
            }
            r
        })
        .collect();
    if shown < m.k {
        rows.push(vec![Cell::text(format!("… {} more", m.k - shown))]);
    }
    vec![
        Block::Table {
            caption: "parameters".into(),
            header: vec!["".into(), "".into()],
            rows: params,
        },
        Block::Table {
            caption: "centroids (in the input's units)".into(),
            header,
            rows,
        },
    ]
}

fn sweep_blocks(path: &Path, j: &serde_json::Value, svg: String) -> Vec<Block> {
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let best = |key: &str| j[key].as_u64().map_or("-".into(), |v| v.to_string());
    let mut blocks = vec![
        Block::Para(format!(
            "{}: the knee of the inertia curve (kneedle) is k = {}; the best silhouette is at k = {}, the best Davies-Bouldin at k = {}, the best Calinski-Harabasz at k = {}.",
            path.display(),
            best("knee"),
            best("best_silhouette"),
            best("best_davies_bouldin"),
            best("best_calinski_harabasz")
        )),
        Block::Figures(vec![("inertia against k, the knee marked; scores below".into(), svg)]),
    ];
    let rows = j["points"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    vec![
                        Cell::num(format!("{}", num(&p["k"]))),
                        Cell::num(fmt(num(&p["inertia"]))),
                        Cell::num(format!(
                            "{:.4} ± {:.4}",
                            num(&p["silhouette"]),
                            num(&p["silhouette_se"])
                        )),
                        Cell::num(fmt(num(&p["davies_bouldin"]))),
                        Cell::num(fmt(num(&p["calinski_harabasz"]))),
                        Cell::num(format!("{:.3}", num(&p["fit_seconds"]))),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    blocks.push(Block::Table {
        caption: "every k".into(),
        header: vec![
            "k".into(),
            "inertia".into(),
            "silhouette".into(),
            "Davies-Bouldin".into(),
            "Calinski-Harabasz".into(),
            "fit seconds".into(),
        ],
        rows,
    });
    blocks
}
