//! `summary.md`, `summary.json`, the figures and `report.html` of a scaling
//! run, all computed from the rows of `results.csv` alone: the fitted
//! exponent of time against rows, the peak RSS trend, strong scaling,
//! throughput against the bare read pass, shoal against the best peer, the
//! largest run that finished, and every failure with its reason.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use shoal_plot::html::{Block as HBlock, Cell, Report, Section as HSection};
use shoal_plot::lines::{LineChart, Series};
use shoal_plot::{cluster_colour, render_png, Frame, Rgb, Scale};

use super::plan::{algo_name, two_d_only, Plan};
use super::results::{Machine, Row, Status};
use super::stats::Line;
use crate::output::bytes;

pub struct Written {
    pub figures: usize,
    pub report: bool,
}

/// `95 s`, `12 min`, `3.4 h`.
pub fn duration(secs: f64) -> String {
    if secs < 1.0 {
        format!("{secs:.2} s")
    } else if secs < 120.0 {
        format!("{secs:.0} s")
    } else if secs < 7200.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// A configuration at any row count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Group {
    pub tool: String,
    pub algo: String,
    pub dim: usize,
    pub k: usize,
    pub threads: usize,
    pub format: String,
}

impl Group {
    fn of(r: &Row) -> Group {
        Group {
            tool: r.tool.clone(),
            algo: r.algo.clone(),
            dim: r.dim,
            k: r.k,
            threads: r.threads,
            format: r.format.clone(),
        }
    }

    /// Tool first, then the axes that vary in this run.
    fn label(&self, v: &Varying, with_algo: bool) -> String {
        let mut s = self.tool.clone();
        if with_algo {
            s += &format!(" {}", self.algo);
        }
        if v.dim {
            s += &format!(" d={}", self.dim);
        }
        if v.k {
            s += &format!(" k={}", self.k);
        }
        if v.threads {
            s += &format!(" T={}", self.threads);
        }
        if v.format {
            s += &format!(" {}", self.format);
        }
        s
    }
}

/// Which axes have more than one value (the others are left out of labels).
struct Varying {
    dim: bool,
    k: bool,
    threads: bool,
    format: bool,
}

/// The fitted power laws of one group.
#[derive(Debug, Serialize)]
pub struct Fit {
    #[serde(flatten)]
    pub group: Group,
    pub points: usize,
    pub rows_min: u64,
    pub rows_max: u64,
    /// Exponent of wall time against rows (least squares on every finished
    /// run, log-log) and its 95% half-width (null with two points).
    pub time_exponent: f64,
    pub time_exponent_ci95: Option<f64>,
    /// The whole fitted line of time against rows (the figures draw it).
    #[serde(skip)]
    pub time_line: Line,
    /// The exponents between the two largest row counts (medians): what
    /// the growth is once start-up no longer counts.
    pub time_exponent_last: f64,
    pub rss_exponent: f64,
    pub rss_exponent_ci95: Option<f64>,
    pub rss_exponent_last: f64,
    /// Median peak RSS at each row count.
    pub rss_by_rows: Vec<(u64, u64)>,
    /// Flat: peak RSS grew as rows^0.25 or less over the last step (under
    /// 1.8x for 10x the rows).
    pub rss_flat: bool,
}

/// The largest exponent of a flat memory trend.
pub const FLAT_RSS_EXPONENT: f64 = 0.25;

enum Block {
    Para(String),
    Table {
        caption: String,
        header: Vec<&'static str>,
        rows: Vec<Vec<String>>,
    },
    Figure {
        name: String,
        caption: String,
        svg: String,
    },
}

struct Section {
    id: &'static str,
    heading: &'static str,
    blocks: Vec<Block>,
}

fn ok(rows: &[Row]) -> impl Iterator<Item = &Row> {
    rows.iter()
        .filter(|r| r.status == Status::Ok && r.wall_s.is_some())
}

/// Median wall, RSS and passes of the finished runs of each group and row count.
struct Medians {
    wall: BTreeMap<(Group, u64), f64>,
    rss: BTreeMap<(Group, u64), f64>,
    passes: BTreeMap<(Group, u64), f64>,
}

fn medians(rows: &[Row]) -> Medians {
    type Samples = (Vec<f64>, Vec<f64>, Vec<f64>);
    let mut w: BTreeMap<(Group, u64), Samples> = BTreeMap::new();
    for r in ok(rows) {
        let e = w.entry((Group::of(r), r.rows)).or_default();
        e.0.extend(r.wall_s);
        e.1.extend(r.peak_rss_bytes.map(|b| b as f64));
        e.2.extend(r.passes.map(|p| p as f64));
    }
    let mut m = Medians {
        wall: BTreeMap::new(),
        rss: BTreeMap::new(),
        passes: BTreeMap::new(),
    };
    for (k, (a, b, c)) in w {
        for (map, v) in [(&mut m.wall, a), (&mut m.rss, b), (&mut m.passes, c)] {
            if let Some(x) = median(v) {
                map.insert(k.clone(), x);
            }
        }
    }
    m
}

/// Power laws of time and RSS against rows for every group with two or
/// more row counts finished.
pub fn fits(rows: &[Row]) -> Vec<Fit> {
    let mut by: BTreeMap<Group, Vec<&Row>> = BTreeMap::new();
    for r in ok(rows) {
        by.entry(Group::of(r)).or_default().push(r);
    }
    let mut out = Vec::new();
    for (g, rs) in by {
        let t: Vec<(f64, f64)> = rs
            .iter()
            .filter_map(|r| Some((r.rows as f64, r.wall_s?)))
            .collect();
        let m: Vec<(f64, f64)> = rs
            .iter()
            .filter_map(|r| Some((r.rows as f64, r.peak_rss_bytes? as f64)))
            .collect();
        let (Some(lt), Some(lm)) = (Line::power_law(&t), Line::power_law(&m)) else {
            continue;
        };
        let mut sizes: Vec<u64> = rs.iter().map(|r| r.rows).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let at = |n: u64, f: &dyn Fn(&Row) -> Option<f64>| {
            median(
                rs.iter()
                    .filter(|r| r.rows == n)
                    .filter_map(|r| f(r))
                    .collect(),
            )
            .unwrap_or(f64::NAN)
        };
        let wall = |r: &Row| r.wall_s;
        let rss = |r: &Row| r.peak_rss_bytes.map(|b| b as f64);
        let (n1, n2) = (sizes[sizes.len() - 2], sizes[sizes.len() - 1]);
        let last = |f: &dyn Fn(&Row) -> Option<f64>| {
            (at(n2, f) / at(n1, f)).ln() / (n2 as f64 / n1 as f64).ln()
        };
        let rss_exponent_last = last(&rss);
        let ci = |l: &Line| l.slope_ci95.is_finite().then_some(l.slope_ci95);
        out.push(Fit {
            group: g,
            points: lt.points,
            rows_min: sizes[0],
            rows_max: n2,
            time_exponent: lt.slope,
            time_exponent_ci95: ci(&lt),
            time_line: lt,
            time_exponent_last: last(&wall),
            rss_exponent: lm.slope,
            rss_exponent_ci95: ci(&lm),
            rss_exponent_last,
            rss_by_rows: sizes.iter().map(|&n| (n, at(n, &rss) as u64)).collect(),
            rss_flat: rss_exponent_last <= FLAT_RSS_EXPONENT,
        });
    }
    out
}

fn exponent(b: f64, ci: Option<f64>) -> String {
    match ci {
        Some(c) => format!("{b:.2} ± {c:.2}"),
        None => format!("{b:.2}"),
    }
}

fn secs(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2}")
    } else {
        format!("{s:.1}")
    }
}

fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 && n % 1_000_000_000 == 0 => format!("{}B", n / 1_000_000_000),
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// Tool, algorithm, rows, d, k and threads of a run, as table cells.
fn config_cells(r: &Row) -> Vec<String> {
    vec![
        r.tool.clone(),
        r.algo.clone(),
        count(r.rows),
        r.dim.to_string(),
        r.k.to_string(),
        r.threads.to_string(),
    ]
}

const W: u32 = 1000;
const H: u32 = 600;

fn chart(
    title: String,
    xl: &str,
    yl: &str,
    xs: Scale,
    ys: Scale,
    series: Vec<Series>,
) -> LineChart {
    LineChart {
        frame: Frame::new(W, H, false),
        title,
        xlabel: xl.into(),
        ylabel: yl.into(),
        x_scale: xs,
        y_scale: ys,
        series,
    }
}

fn colour(i: usize) -> Rgb {
    cluster_colour(Some(i))
}

/// Writes summary.md, summary.json, the figures (PNG and SVG) and, with
/// `--report`, report.html.
pub fn write(
    plan: &Plan,
    command: &[String],
    m: &Machine,
    rows: &[Row],
    planned: usize,
    interrupted: bool,
) -> Result<Written> {
    let fits = fits(rows);
    let med = medians(rows);
    let v = Varying {
        dim: plan.dims.len() > 1,
        k: plan.ks.len() > 1,
        threads: plan.threads.len() > 1,
        format: plan.formats.len() > 1,
    };
    let max_t = plan.threads.iter().copied().max().unwrap_or(1);
    let mut sections = Vec::new();

    // Header.
    let mut head = vec![Block::Para(format!(
        "Command: `{}`",
        command
            .iter()
            .map(|a| if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            })
            .collect::<Vec<_>>()
            .join(" ")
    ))];
    head.push(Block::Para(format!(
        "Machine: {}, {} cores, {} memory, Linux {}. shoal {} ({}). --memory {} for shoal's runs; timeout {}{}{}{}.",
        m.cpu_model,
        m.cores,
        bytes(m.mem_total_bytes),
        m.kernel,
        m.shoal_version,
        m.git_revision,
        bytes(plan.memory),
        duration(plan.timeout),
        plan.budget.map(|b| format!(", budget {}", duration(b))).unwrap_or_default(),
        plan.mem_limit.map(|l| format!(", memory limit {} per run", bytes(l))).unwrap_or_default(),
        if plan.cold { ", page cache evicted before every run" } else { ", page cache warm (data read before)" },
    )));
    let count_of = |s: Status| rows.iter().filter(|r| r.status == s).count();
    head.push(Block::Para(format!(
        "{}{} runs planned: {} finished, {} failed, {} timed out, {} out of memory, {} skipped. \
         Every run is a child process; times are whole-process wall seconds (start-up, reading \
         the file, the work, writing outputs), RSS the child's peak resident memory. Peers load \
         the file into memory as a notebook does (np.load, pyarrow.parquet.read_table).",
        if interrupted {
            "**INTERRUPTED** (Ctrl-C): this summary covers the runs that finished. "
        } else {
            ""
        },
        planned,
        count_of(Status::Ok),
        count_of(Status::Failed),
        count_of(Status::Timeout),
        count_of(Status::Oom),
        count_of(Status::Skipped),
    )));
    sections.push(Section {
        id: "run",
        heading: "The run",
        blocks: head,
    });

    // Time and memory against rows.
    let mut blocks = vec![Block::Para(
        "Exponent b of wall time ∝ rows^b: least squares on log-log over every finished run, \
         with its 95% confidence half-width (Student's t; none with two points; with one run \
         per size and three sizes there is one degree of freedom, so the interval is wide: \
         --repeat narrows it). Linear scaling is b = 1; a fixed start-up cost pulls b below 1 \
         at small sizes, so b between the two largest sizes (\"last step\") is also given. \
         Peak memory is called flat when it grew as rows^0.25 or less over the last step (a \
         streaming pass holds a few row groups or chunks in flight, so its memory rises until \
         the file has more of them than are in flight, then stays)."
            .into(),
    )];
    blocks.push(Block::Table {
        caption: "Time and peak memory against rows".into(),
        header: vec![
            "tool",
            "algorithm",
            "d",
            "k",
            "threads",
            "format",
            "rows",
            "runs",
            "time exponent",
            "last step",
            "peak RSS by rows",
            "RSS exponent (last step)",
            "memory",
        ],
        rows: fits
            .iter()
            .map(|f| {
                let g = &f.group;
                vec![
                    g.tool.clone(),
                    g.algo.clone(),
                    g.dim.to_string(),
                    g.k.to_string(),
                    g.threads.to_string(),
                    g.format.clone(),
                    format!("{}–{}", count(f.rows_min), count(f.rows_max)),
                    f.points.to_string(),
                    exponent(f.time_exponent, f.time_exponent_ci95),
                    format!("{:.2}", f.time_exponent_last),
                    f.rss_by_rows
                        .iter()
                        .map(|&(_, b)| bytes(b))
                        .collect::<Vec<_>>()
                        .join(" → "),
                    format!(
                        "{} ({:.2})",
                        exponent(f.rss_exponent, f.rss_exponent_ci95),
                        f.rss_exponent_last
                    ),
                    if f.rss_flat {
                        "flat".into()
                    } else {
                        format!("grows (∝ rows^{:.2})", f.rss_exponent_last)
                    },
                ]
            })
            .collect(),
    });
    let mut figures = Vec::new();
    for &algo in &plan.algos {
        let name = algo_name(algo);
        let groups: Vec<Group> = {
            let mut g: Vec<Group> = med
                .wall
                .keys()
                .filter(|(g, _)| g.algo == name && g.threads == max_t)
                .map(|(g, _)| g.clone())
                .collect();
            g.dedup();
            g
        };
        if groups.is_empty() {
            continue;
        }
        let mut time = Vec::new();
        let mut rss = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let pts = |map: &BTreeMap<(Group, u64), f64>, scale: f64| -> Vec<(f64, f64)> {
                map.iter()
                    .filter(|((h, _), _)| h == g)
                    .map(|((_, n), v)| (*n as f64, v * scale))
                    .collect()
            };
            let c = colour(i);
            // Every series of these figures is at the most threads.
            let label = g.label(
                &Varying {
                    threads: false,
                    ..v
                },
                false,
            );
            let t = pts(&med.wall, 1.0);
            if let Some(line) = fits.iter().find(|f| &f.group == g).map(|f| f.time_line) {
                let (a, b) = (
                    t.first().map_or(1.0, |p| p.0),
                    t.last().map_or(1.0, |p| p.0),
                );
                time.push(Series {
                    name: String::new(),
                    points: vec![(a, line.predict_power(a)), (b, line.predict_power(b))],
                    colour: c,
                    dashed: true,
                });
                time.push(Series {
                    name: format!("{label} (b = {:.2})", line.slope),
                    points: t,
                    colour: c,
                    dashed: false,
                });
            } else {
                time.push(Series {
                    name: label.clone(),
                    points: t,
                    colour: c,
                    dashed: false,
                });
            }
            rss.push(Series {
                name: label,
                points: pts(&med.rss, 1.0 / (1 << 20) as f64),
                colour: c,
                dashed: false,
            });
        }
        let tl = if v.threads {
            format!(", {max_t} threads")
        } else {
            String::new()
        };
        figures.push((
            format!("time-{name}"),
            format!("{name}: wall time against rows (log-log; dashed: the fitted power law){tl}"),
            chart(
                format!("{name}: time against rows{tl}"),
                "rows",
                "wall seconds",
                Scale::Log,
                Scale::Log,
                time,
            ),
        ));
        figures.push((
            format!("rss-{name}"),
            format!("{name}: peak RSS against rows (log-log){tl}"),
            chart(
                format!("{name}: peak memory against rows{tl}"),
                "rows",
                "peak RSS (MiB)",
                Scale::Log,
                Scale::Log,
                rss,
            ),
        ));
    }
    for (name, caption, c) in figures.drain(..) {
        blocks.push(Block::Figure {
            name,
            caption,
            svg: c.svg(),
        });
    }
    sections.push(Section {
        id: "rows",
        heading: "Time and memory against rows",
        blocks,
    });

    // Strong scaling.
    if plan.threads.len() > 1 {
        let mut table = Vec::new();
        let mut series = Vec::new();
        let mut by: BTreeMap<Group, BTreeMap<u64, BTreeMap<usize, f64>>> = BTreeMap::new();
        for ((g, n), w) in &med.wall {
            let mut base = g.clone();
            base.threads = 0;
            by.entry(base)
                .or_default()
                .entry(*n)
                .or_default()
                .insert(g.threads, *w);
        }
        for (g, per_rows) in &by {
            let Some((n, ts)) = per_rows.iter().rev().find(|(_, t)| t.len() > 1) else {
                continue;
            };
            let figure = g.tool == "shoal";
            let (&t0, &w0) = ts.iter().next().expect("two entries");
            let mut pts = Vec::new();
            for (&t, &w) in ts {
                let s = w0 / w;
                let e = s / (t as f64 / t0 as f64);
                table.push(vec![
                    g.tool.clone(),
                    g.algo.clone(),
                    g.dim.to_string(),
                    g.k.to_string(),
                    g.format.clone(),
                    count(*n),
                    t.to_string(),
                    secs(w),
                    format!("{s:.2}"),
                    format!("{:.0}%", 100.0 * e),
                ]);
                pts.push((t as f64, s));
            }
            if !figure {
                continue;
            }
            let i = series.len();
            let vv = Varying {
                threads: false,
                ..v
            };
            series.push(Series {
                name: format!("{} ({} rows)", g.label(&vv, true), count(*n)),
                points: pts,
                colour: colour(i),
                dashed: false,
            });
        }
        let lo = *plan.threads.iter().min().unwrap_or(&1) as f64;
        series.push(Series {
            name: "ideal".into(),
            points: plan
                .threads
                .iter()
                .map(|&t| (t as f64, t as f64 / lo))
                .collect(),
            colour: Rgb(0, 0, 0),
            dashed: true,
        });
        sections.push(Section {
            id: "threads",
            heading: "Strong scaling",
            blocks: vec![
                Block::Para("Speed-up = wall time on the fewest threads ÷ wall time on T threads, at the largest row count that ran on several; efficiency = speed-up ÷ the thread ratio.".into()),
                Block::Table {
                    caption: "Speed-up against threads".into(),
                    header: vec!["tool", "algorithm", "d", "k", "format", "rows", "threads", "seconds", "speed-up", "efficiency"],
                    rows: table,
                },
                Block::Figure {
                    name: "speedup".into(),
                    caption: "shoal's speed-up against threads (dashed: ideal; the peers' are in the table)".into(),
                    svg: chart("shoal: speed-up against threads".into(), "threads", "speed-up", Scale::Linear, Scale::Linear, series).svg(),
                },
            ],
        });
    }

    // Throughput against the bare read.
    {
        let mut table = Vec::new();
        let mut by: BTreeMap<Group, Vec<(f64, f64)>> = BTreeMap::new();
        for ((g, n), &w) in &med.wall {
            if g.tool != "shoal" || g.algo == "read" {
                continue;
            }
            let mut rg = g.clone();
            rg.algo = "read".into();
            let Some(&read) = med.wall.get(&(rg, *n)) else {
                continue;
            };
            let passes = med
                .passes
                .get(&(g.clone(), *n))
                .copied()
                .unwrap_or(1.0)
                .max(1.0);
            let frac = read * passes / w;
            table.push(vec![
                g.algo.clone(),
                count(*n),
                g.dim.to_string(),
                g.k.to_string(),
                g.threads.to_string(),
                g.format.clone(),
                secs(read),
                secs(w),
                format!("{passes:.0}"),
                format!("{:.1}", w / read),
                format!("{:.0}%", 100.0 * frac),
            ]);
            if g.threads == max_t {
                by.entry(g.clone()).or_default().push((*n as f64, frac));
            }
        }
        let series = by
            .iter()
            .enumerate()
            .map(|(i, (g, pts))| Series {
                name: g
                    .label(
                        &Varying {
                            threads: false,
                            ..v
                        },
                        true,
                    )
                    .replacen("shoal ", "", 1),
                points: pts.clone(),
                colour: colour(i),
                dashed: false,
            })
            .collect::<Vec<_>>();
        let mut blocks = vec![
            Block::Para("Each shoal run against `shoal bench read` on the same file (whole processes, medians): the time as a multiple of the read, and the fraction of the read's speed each pass over the file reaches (read × passes ÷ time; 100% = as fast as decoding alone).".into()),
            Block::Table {
                caption: "Throughput against the bare read pass".into(),
                header: vec!["algorithm", "rows", "d", "k", "threads", "format", "read s", "run s", "passes", "× read", "per pass, of read"],
                rows: table,
            },
        ];
        if !series.is_empty() {
            blocks.push(Block::Figure {
                name: "read-fraction".into(),
                caption: "Per-pass throughput as a fraction of the bare read pass".into(),
                svg: chart(
                    "Per-pass throughput, fraction of the bare read".into(),
                    "rows",
                    "fraction of read speed",
                    Scale::Log,
                    Scale::Linear,
                    series,
                )
                .svg(),
            });
        }
        sections.push(Section {
            id: "read",
            heading: "Throughput against the bare read",
            blocks,
        });
    }

    // Peers.
    if !plan.peers.is_empty() {
        let mut table = Vec::new();
        // A configuration at one row count, whatever the tool.
        let mut cells: BTreeMap<(Group, u64), BTreeMap<String, String>> = BTreeMap::new();
        let mut walls: BTreeMap<(Group, u64), BTreeMap<String, f64>> = BTreeMap::new();
        for r in rows {
            let key = (
                Group {
                    tool: String::new(),
                    ..Group::of(r)
                },
                r.rows,
            );
            let e = cells.entry(key.clone()).or_default();
            if let Some(&w) = med.wall.get(&(Group::of(r), r.rows)) {
                walls.entry(key).or_default().insert(r.tool.clone(), w);
                e.insert(r.tool.clone(), format!("{} s", secs(w)));
            } else {
                let limit = match r.status {
                    Status::Timeout => format!(" ({})", duration(r.timeout_s)),
                    Status::Oom => r
                        .mem_limit_bytes
                        .map(|l| format!(" ({})", bytes(l)))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                e.entry(r.tool.clone())
                    .or_insert(format!("{}{limit}", r.status.name()));
            }
        }
        for (key, c) in &cells {
            if c.len() < 2 {
                continue;
            }
            let w = walls.get(key);
            let shoal = w.and_then(|w| w.get("shoal")).copied();
            let best = w.and_then(|w| {
                w.iter()
                    .filter(|(t, _)| t.as_str() != "shoal")
                    .min_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(t, s)| (t.clone(), *s))
            });
            let others = c
                .iter()
                .filter(|(t, _)| t.as_str() != "shoal")
                .map(|(t, s)| format!("{t}: {s}"))
                .collect::<Vec<_>>()
                .join("; ");
            let (g, n) = key;
            table.push(vec![
                g.algo.clone(),
                count(*n),
                g.dim.to_string(),
                g.k.to_string(),
                g.threads.to_string(),
                g.format.clone(),
                c.get("shoal").cloned().unwrap_or_default(),
                best.as_ref().map_or("—".into(), |b| b.0.clone()),
                match (shoal, &best) {
                    (Some(s), Some((_, b))) => format!("{:.3}", s / b),
                    _ => "—".into(),
                },
                others,
            ]);
        }
        sections.push(Section {
            id: "peers",
            heading: "Against the peers",
            blocks: vec![
                Block::Para("Ratio = shoal's wall time ÷ the best (fastest finished) peer's on the same file, threads and parameters: below 1, shoal is faster. A peer that ran out of time or memory is listed with the limit it met.".into()),
                Block::Table {
                    caption: "shoal against the best peer per configuration".into(),
                    header: vec!["algorithm", "rows", "d", "k", "threads", "format", "shoal", "best peer", "ratio", "peers"],
                    rows: table,
                },
            ],
        });
    }

    // Largest finished, and failures.
    {
        let mut largest: BTreeMap<(String, String), &Row> = BTreeMap::new();
        for r in ok(rows) {
            let e = largest.entry((r.tool.clone(), r.algo.clone())).or_insert(r);
            if (r.rows, r.dim, r.k) > (e.rows, e.dim, e.k) {
                *e = r;
            }
        }
        let failures: Vec<Vec<String>> = rows
            .iter()
            .filter(|r| r.status != Status::Ok)
            .map(|r| {
                let mut cells = config_cells(r);
                cells.extend([r.format.clone(), r.status.name().into(), r.reason.clone()]);
                cells
            })
            .collect();
        let mut blocks = vec![Block::Table {
            caption: "The largest configuration that finished".into(),
            header: vec![
                "tool",
                "algorithm",
                "rows",
                "d",
                "k",
                "threads",
                "seconds",
                "peak RSS",
            ],
            rows: largest
                .values()
                .map(|r| {
                    let mut cells = config_cells(r);
                    cells.extend([
                        secs(r.wall_s.unwrap_or(f64::NAN)),
                        bytes(r.peak_rss_bytes.unwrap_or(0)),
                    ]);
                    cells
                })
                .collect(),
        }];
        if !failures.is_empty() {
            blocks.push(Block::Table {
                caption: "Runs that did not finish, and why".into(),
                header: vec![
                    "tool",
                    "algorithm",
                    "rows",
                    "d",
                    "k",
                    "threads",
                    "format",
                    "status",
                    "reason",
                ],
                rows: failures,
            });
        }
        if plan.algos.iter().any(|&a| two_d_only(a)) && plan.dims.iter().any(|&d| d != 2) {
            blocks.push(Block::Para(
                "dbscan and scatter run on the two-dimensional sets only.".into(),
            ));
        }
        sections.push(Section {
            id: "largest",
            heading: "Largest runs and failures",
            blocks,
        });
    }

    // Files.
    let mut nfig = 0;
    let mut md = format!(
        "# shoal bench scaling{}\n\n",
        if interrupted { " (interrupted)" } else { "" }
    );
    for s in &sections {
        md += &format!("## {}\n\n", s.heading);
        for b in &s.blocks {
            match b {
                Block::Para(p) => md += &format!("{p}\n\n"),
                Block::Table {
                    caption,
                    header,
                    rows,
                } => {
                    md += &format!(
                        "**{caption}**\n\n| {} |\n|{}\n",
                        header.join(" | "),
                        "---|".repeat(header.len())
                    );
                    for r in rows {
                        md += &format!(
                            "| {} |\n",
                            r.iter()
                                .map(|c| c.replace('|', "\\|"))
                                .collect::<Vec<_>>()
                                .join(" | ")
                        );
                    }
                    md += "\n";
                }
                Block::Figure { name, caption, svg } => {
                    let png = render_png(svg).map_err(|e| anyhow::anyhow!("{name}.png: {e}"))?;
                    crate::output::write_atomic(&plan.out.join(format!("{name}.png")), &png)?;
                    crate::output::write_atomic(
                        &plan.out.join(format!("{name}.svg")),
                        svg.as_bytes(),
                    )?;
                    nfig += 1;
                    md += &format!("![{caption}]({name}.png)\n\n");
                }
            }
        }
    }
    crate::output::write_atomic(&plan.out.join("summary.md"), md.as_bytes())?;
    #[derive(Serialize)]
    struct Doc<'a> {
        interrupted: bool,
        planned: usize,
        recorded: usize,
        fits: &'a [Fit],
    }
    crate::output::write_atomic(
        &plan.out.join("summary.json"),
        serde_json::to_string_pretty(&Doc {
            interrupted,
            planned,
            recorded: rows.len(),
            fits: &fits,
        })?
        .as_bytes(),
    )?;
    if plan.report {
        let report = Report {
            title: format!(
                "shoal bench scaling{}",
                if interrupted { " (interrupted)" } else { "" }
            ),
            subtitle: format!(
                "{} · {} · shoal {} ({})",
                m.cpu_model,
                bytes(m.mem_total_bytes),
                m.shoal_version,
                m.git_revision
            ),
            sections: sections
                .into_iter()
                .map(|s| HSection {
                    id: s.id.into(),
                    heading: s.heading.into(),
                    blocks: s
                        .blocks
                        .into_iter()
                        .map(|b| match b {
                            Block::Para(p) => HBlock::Para(p.replace('`', "")),
                            Block::Table {
                                caption,
                                header,
                                rows,
                            } => HBlock::Table {
                                caption,
                                header: header.into_iter().map(String::from).collect(),
                                rows: rows
                                    .into_iter()
                                    .map(|r| {
                                        r.into_iter()
                                            .map(|c| {
                                                if c.starts_with(|ch: char| ch.is_ascii_digit()) {
                                                    Cell::num(c)
                                                } else {
                                                    Cell::text(c)
                                                }
                                            })
                                            .collect()
                                    })
                                    .collect(),
                            },
                            Block::Figure { caption, svg, .. } => {
                                HBlock::Figures(vec![(caption, svg)])
                            }
                        })
                        .collect(),
                })
                .collect(),
        };
        crate::output::write_atomic(
            &plan.out.join("report.html"),
            report.html(shoal_plot::font_ttf()).as_bytes(),
        )?;
    }
    Ok(Written {
        figures: nfig,
        report: plan.report,
    })
}
