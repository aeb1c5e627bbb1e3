//! `shoal bench scaling`: time and memory against rows, dimension, k,
//! threads and file format, for shoal's algorithms and for the peers users
//! run today, every run a separate child process timed from the outside.
//!
//! Data sets are generated once with the seeded generator into `OUT/data`
//! and reused by later runs. Runs go in order of rows (so `--budget` can
//! predict a run from the smaller ones) and, within one row count,
//! interleaved over configurations and repeats, so a machine's drift
//! spreads over all of them. `results.csv`/`results.json` are rewritten
//! after every run; `summary.md`, the figures and `--report` at the end (or
//! at Ctrl-C, marked as interrupted).

mod child;
mod plan;
mod results;
mod stats;
mod summary;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use shoal_data_gen::{write_files, Blobs, Generator, Outputs, WriteFilesError};
use shoal_reader::StoreType;

use crate::cli::{Global, ScalingAlgo, ScalingArgs};
use crate::exit::Interrupted;
use crate::output::bytes;
use crate::CANCEL;
use child::End;
pub use plan::{Dataset, Plan, Run};
pub use results::{Machine, Row, Status};
use stats::Line;

/// The peer script, carried by the binary so `bench scaling` runs from any
/// directory; written to `OUT/peers/` before the first peer run.
const PEER_SCRIPT: &str = include_str!("../../../../tools/peer_scaling.py");

/// Exit codes of the peer script.
const PEER_UNSUPPORTED: i32 = 2;
const PEER_MISSING: i32 = 4;
const PEER_OOM: i32 = 5;

pub fn run(global: &Global, args: &ScalingArgs) -> Result<()> {
    let plan = Plan::new(global, args)?;
    if args.resummarize {
        let r = results::read(&plan.out)?;
        let w = summary::write(
            &plan,
            &r.command,
            &r.machine,
            &r.runs,
            plan.runs().len(),
            r.interrupted,
        )?;
        if !global.quiet {
            eprintln!(
                "rewrote summary.md, summary.json and {} figures from {} runs",
                w.figures,
                r.runs.len()
            );
        }
        println!("{}", plan.out.join("summary.md").display());
        return Ok(());
    }
    std::fs::create_dir_all(plan.out.join("data"))
        .with_context(|| format!("creating {}", plan.out.join("data").display()))?;
    std::fs::create_dir_all(plan.out.join("tmp"))?;
    let script = plan.out.join("peers").join("peer_scaling.py");
    if !plan.peers.is_empty() {
        std::fs::create_dir_all(script.parent().unwrap_or(&plan.out))?;
        crate::output::write_atomic(&script, PEER_SCRIPT.as_bytes())?;
    }
    prepare_data(global, &plan)?;
    let machine = Machine::probe();
    let runs = plan.runs();
    let command: Vec<String> = std::env::args().collect();
    let mut rows: Vec<Row> = Vec::with_capacity(runs.len());
    let bar = progress(global.quiet, runs.len());
    let started = Instant::now();
    let mut missing_peers: Vec<(String, String)> = Vec::new();
    let mut interrupted = false;
    for (i, r) in runs.iter().enumerate() {
        if CANCEL.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        let ds = &plan.datasets[r.dataset];
        let mut row = Row::new(i, r, ds, &plan, &machine);
        if let Some(reason) = skip_reason(&plan, r, &rows, &missing_peers) {
            row.status = Status::Skipped;
            row.reason = reason;
        } else {
            if plan.cold {
                evict(&ds.path);
            }
            let cmd = command_for(&plan, r, ds, &script);
            match child::run(cmd, plan.timeout, plan.mem_limit, &CANCEL) {
                Ok(o) => {
                    record(&mut row, &o, &plan, r);
                    if o.end == End::Exited(PEER_MISSING) {
                        missing_peers.push((r.tool.clone(), row.reason.clone()));
                    }
                }
                Err(e) => {
                    row.status = Status::Failed;
                    row.reason = format!("cannot start {}: {e}", program(&plan, r).display());
                    if r.tool != "shoal" {
                        missing_peers.push((r.tool.clone(), row.reason.clone()));
                    }
                }
            }
        }
        if row.status == Status::Interrupted {
            interrupted = true;
        }
        log_run(global, &bar, &row, i, runs.len());
        rows.push(row);
        results::write(&plan.out, &command, &machine, &rows, interrupted)?;
        bar.set_position(i as u64 + 1);
        bar.set_message(eta(&rows, &runs[i + 1..], &plan, started));
        if interrupted {
            break;
        }
    }
    bar.finish_and_clear();
    if interrupted {
        eprintln!(
            "shoal: interrupted after {} of {} runs; writing the partial summary",
            rows.iter()
                .filter(|r| r.status != Status::Interrupted)
                .count(),
            runs.len()
        );
    }
    results::write(&plan.out, &command, &machine, &rows, interrupted)?;
    let written = summary::write(&plan, &command, &machine, &rows, runs.len(), interrupted)?;
    let _ = std::fs::remove_dir_all(plan.out.join("tmp"));
    if !global.quiet {
        eprintln!(
            "wrote {} runs to {} in {:.0} s: results.csv, results.json, summary.md and {} figures{}",
            rows.len(),
            plan.out.display(),
            started.elapsed().as_secs_f64(),
            written.figures,
            if written.report { ", report.html" } else { "" }
        );
    }
    println!("{}", plan.out.join("summary.md").display());
    if interrupted {
        return Err(Interrupted.into());
    }
    Ok(())
}

fn progress(quiet: bool, n: usize) -> ProgressBar {
    let pb = crate::progress::target(quiet, n as u64);
    pb.set_style(
        ProgressStyle::with_template("scaling [{bar:30.cyan/blue}] {pos}/{len} runs  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb
}

/// One line per run on stderr (above the bar, or alone in a log).
fn log_run(global: &Global, bar: &ProgressBar, row: &Row, i: usize, n: usize) {
    if global.quiet {
        return;
    }
    let what = match row.status {
        Status::Ok => format!(
            "{:.2} s, peak {}",
            row.wall_s.unwrap_or(f64::NAN),
            bytes(row.peak_rss_bytes.unwrap_or(0))
        ),
        _ => format!("{}: {}", row.status.name(), row.reason),
    };
    bar.suspend(|| {
        eprintln!(
            "[{}/{n}] {} {} rows={} d={} k={} T={} {}: {what}",
            i + 1,
            row.tool,
            row.algo,
            row.rows,
            row.dim,
            row.k,
            row.threads,
            row.format
        )
    });
}

/// The remaining time, from each remaining run's prediction (its group's
/// power law, else the mean run so far).
fn eta(rows: &[Row], rest: &[Run], plan: &Plan, started: Instant) -> String {
    if rest.is_empty() {
        return String::new();
    }
    let done = rows
        .iter()
        .filter(|r| r.status != Status::Skipped)
        .count()
        .max(1);
    let mean = started.elapsed().as_secs_f64() / done as f64;
    let secs: f64 = rest
        .iter()
        .map(|r| {
            predict(r, &plan.datasets, rows)
                .unwrap_or(mean)
                .min(plan.timeout)
        })
        .sum();
    format!("eta ~{}", summary::duration(secs))
}

/// Why `r` is not run: its peer is missing, a smaller run of its
/// configuration ran out of time or memory, or `--budget` predicts too long.
fn skip_reason(plan: &Plan, r: &Run, done: &[Row], missing: &[(String, String)]) -> Option<String> {
    if let Some((_, why)) = missing.iter().find(|(p, _)| *p == r.tool) {
        return Some(format!("peer not run: {why}"));
    }
    let ds = &plan.datasets[r.dataset];
    if let Some(prev) = done.iter().find(|p| {
        p.same_config(r, ds)
            && p.rows < ds.rows
            && matches!(p.status, Status::Timeout | Status::Oom)
    }) {
        return Some(format!(
            "a smaller run ({} rows) ended with {}",
            prev.rows,
            prev.status.name()
        ));
    }
    let budget = plan.budget?;
    let t = predict(r, &plan.datasets, done)?;
    (t > budget).then(|| {
        format!(
            "predicted {} from the smaller runs, over the budget of {}",
            summary::duration(t),
            summary::duration(budget)
        )
    })
}

/// Drops a file's pages from the page cache (clean pages only: the file is
/// synced first). Without permission or support this is a no-op.
fn evict(path: &Path) {
    let mut paths = vec![path.to_path_buf()];
    paths.push(shoal_reader::sidecar_path(path));
    for p in paths {
        if let Ok(f) = std::fs::File::open(&p) {
            let _ = f.sync_all();
            let _ = rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed);
        }
    }
}

fn program(plan: &Plan, r: &Run) -> PathBuf {
    if r.tool == "shoal" {
        std::env::current_exe().unwrap_or_else(|_| PathBuf::from("shoal"))
    } else {
        plan.python.clone()
    }
}

/// DBSCAN's radius: 0.1 at a million rows, shrinking as 1/sqrt(rows) so a
/// point's expected number of neighbours stays the same at every size (on
/// the generator's unit-spread clusters).
pub fn dbscan_eps(rows: u64) -> f64 {
    0.1 * (1e6 / rows as f64).sqrt()
}

/// DBSCAN's options, the same for shoal and the peers.
fn dbscan_args(rows: u64) -> [String; 4] {
    [
        "--eps".into(),
        dbscan_eps(rows).to_string(),
        "--min-samples".into(),
        "10".into(),
    ]
}

/// Micro-clusters of `linkage-micro`.
pub const MICRO_CLUSTERS: usize = 2000;

/// Lloyd iterations at most (shoal's and the peers').
pub const MAX_ITER: usize = 20;

fn command_for(plan: &Plan, r: &Run, ds: &Dataset, script: &Path) -> Command {
    let tmp = plan.out.join("tmp");
    let t = r.threads.to_string();
    let mut c = Command::new(program(plan, r));
    for v in [
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMBA_NUM_THREADS",
        "RAYON_NUM_THREADS",
    ] {
        c.env(v, &t);
    }
    let file = ds.path.as_os_str();
    if r.tool != "shoal" {
        c.arg(script)
            .args(["--peer", &r.tool, "--algo", r.algo_name(), "--file"])
            .arg(file)
            .args(["--format", ds.format_name()])
            .args(["--k", &ds.k.to_string(), "--threads", &t])
            .args(["--seed", &plan.seed.to_string()])
            .args(["--max-iter", &MAX_ITER.to_string()])
            .arg("--centers")
            .arg(&ds.centers)
            .args(dbscan_args(ds.rows))
            .arg("--out")
            .arg(tmp.join(if r.algo == ScalingAlgo::Scatter {
                "peer.png"
            } else {
                "peer.npy"
            }));
        return c;
    }
    c.args(["--threads", &t, "--quiet"]);
    let memory = plan.memory.to_string();
    let k = ds.k.to_string();
    let fit = |c: &mut Command, algo: &str| {
        c.arg("fit")
            .arg(file)
            .args(["-k", &k, "--algo", algo, "--seed", &plan.seed.to_string()])
            .args(["--max-iter", &MAX_ITER.to_string(), "--memory", &memory])
            .arg("--model")
            .arg(tmp.join("model.json"))
            .arg("--json");
    };
    match r.algo {
        ScalingAlgo::Read => {
            c.args(["bench", "read"]).arg(file).arg("--json");
        }
        ScalingAlgo::Lloyd => fit(&mut c, "lloyd"),
        ScalingAlgo::Minibatch => fit(&mut c, "minibatch"),
        ScalingAlgo::Subsample => fit(&mut c, "subsample"),
        ScalingAlgo::Assign => {
            c.arg("assign")
                .arg(file)
                .arg("--centroids")
                .arg(&ds.centers)
                .arg("--out")
                .arg(tmp.join("labels.npy"))
                .args(["--memory", &memory, "--json"]);
        }
        ScalingAlgo::Dbscan => {
            c.arg("dbscan")
                .arg(file)
                .args(dbscan_args(ds.rows))
                .arg("--out")
                .arg(tmp.join("labels.npy"))
                .arg("--json");
        }
        ScalingAlgo::LinkageMicro => {
            c.arg("linkage")
                .arg(file)
                .args(["--method", "ward", "--micro-clusters"])
                .arg(MICRO_CLUSTERS.to_string())
                .args(["--memory", &memory, "--seed", &plan.seed.to_string()])
                .arg("--out")
                .arg(tmp.join("Z.npy"))
                .arg("--json");
        }
        ScalingAlgo::Scatter => {
            c.args(["plot", "scatter"])
                .arg(file)
                .args(["--memory", &memory])
                .arg("--out")
                .arg(tmp.join("scatter.png"))
                .arg("--json");
        }
    }
    c
}

/// Fills `row` from a finished child: its measures, and what its JSON
/// says of passes and quality, or why it failed.
fn record(row: &mut Row, o: &child::Outcome, plan: &Plan, r: &Run) {
    row.wall_s = Some(o.wall);
    row.user_s = Some(o.user);
    row.sys_s = Some(o.sys);
    row.peak_rss_bytes = Some(o.peak_rss);
    let last_line = o
        .stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    // The limit a run out of memory met: --mem-limit, else the machine's.
    let limit = match plan.mem_limit {
        Some(l) => format!(" (limit {})", bytes(l)),
        None => format!(" (machine memory {})", bytes(row.mem_total_bytes)),
    };
    let looks_oom = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.contains("memory") || s.contains("alloc")
    };
    match o.end {
        End::Exited(0) => match results::parse_child_json(&o.stdout, r.algo) {
            Some(j) => {
                row.status = Status::Ok;
                row.passes = j.passes;
                row.quality_name = j.quality_name;
                row.quality = j.quality;
                row.inner_s = j.seconds;
                let secs = o.wall.max(1e-9);
                row.rows_per_s = Some(row.rows as f64 / secs);
                row.bytes_per_s = Some(row.file_bytes as f64 / secs);
            }
            None => {
                row.status = Status::Failed;
                row.reason = format!("no result on stdout: {}", o.stdout.trim());
            }
        },
        End::Exited(PEER_UNSUPPORTED) if r.tool != "shoal" => {
            row.status = Status::Skipped;
            row.reason = format!("{} has no equivalent here: {last_line}", r.tool);
        }
        End::Exited(PEER_MISSING) if r.tool != "shoal" => {
            row.status = Status::Skipped;
            row.reason = last_line;
        }
        End::Exited(PEER_OOM) if r.tool != "shoal" => {
            row.status = Status::Oom;
            row.reason = format!("MemoryError{limit}");
        }
        End::TimedOut => {
            row.status = Status::Timeout;
            row.reason = format!(
                "stopped at the limit of {}",
                summary::duration(plan.timeout)
            );
        }
        End::Cancelled => {
            row.status = Status::Interrupted;
            row.reason = "Ctrl-C".into();
        }
        End::Signalled(sig) => {
            if plan.mem_limit.is_some() || sig == 9 {
                // SIGKILL unasked is the kernel's OOM killer.
                row.status = Status::Oom;
                row.reason = format!("killed by signal {sig}{limit}");
            } else {
                row.status = Status::Failed;
                row.reason = format!("killed by signal {sig}: {last_line}");
            }
        }
        End::Exited(code) => {
            if plan.mem_limit.is_some() && looks_oom(&o.stderr) {
                row.status = Status::Oom;
                row.reason = format!("{last_line}{limit}");
            } else {
                row.status = Status::Failed;
                row.reason = format!("exit {code}: {last_line}");
            }
        }
    }
}

/// Generates every data set not yet in `OUT/data`, after checking it fits
/// on the disk.
fn prepare_data(global: &Global, plan: &Plan) -> Result<()> {
    let todo: Vec<&Dataset> = plan.datasets.iter().filter(|d| !d.exists()).collect();
    if todo.is_empty() {
        return Ok(());
    }
    let need: u64 = todo.iter().map(|d| d.estimated_bytes()).sum();
    let dir = plan.out.join("data");
    if let Ok(v) = rustix::fs::statvfs(&dir) {
        let free = v.f_bavail.saturating_mul(v.f_frsize);
        // Keep 5% of the disk, and room for the runs' outputs (labels).
        let outputs = plan.datasets.iter().map(|d| d.rows * 8).max().unwrap_or(0);
        if need + outputs > free.saturating_sub(v.f_blocks.saturating_mul(v.f_frsize) / 20) {
            anyhow::bail!(
                "the data sets need {} in {} (plus {} for outputs), but only {} is free there: \
                 choose fewer or smaller --rows, --dim or --format, or another --out",
                bytes(need),
                dir.display(),
                bytes(outputs),
                bytes(free)
            );
        }
    }
    for (i, d) in todo.iter().enumerate() {
        if !global.quiet {
            eprintln!(
                "generating data set {}/{}: {} rows x {}, k = {}, {} ({})",
                i + 1,
                todo.len(),
                d.rows,
                d.dim,
                d.k,
                d.format_name(),
                bytes(d.estimated_bytes())
            );
        }
        let gen = Generator::Blobs(Blobs::new(d.rows, d.dim, d.k, d.seed));
        let outs = Outputs {
            out: d.path.clone(),
            labels_out: None,
            centers_out: Some(d.centers.clone()),
            store: StoreType::F32,
            row_group_rows: 1 << 20,
        };
        let bar = crate::progress::Bar::rows(d.rows, "generating", global.quiet);
        let w = write_files(gen, &outs, &CANCEL, &|n| bar.inc(n));
        bar.finish();
        match w {
            Ok(_) => {}
            Err(WriteFilesError::Cancelled) => return Err(Interrupted.into()),
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("generating {}", d.path.display()))
                )
            }
        }
    }
    Ok(())
}

/// A run's wall time predicted from the finished runs of its configuration
/// at fewer rows: their power law, or with one row count, linear growth
/// from it (`None` with none).
fn predict(r: &Run, datasets: &[Dataset], done: &[Row]) -> Option<f64> {
    let ds = &datasets[r.dataset];
    let pts: Vec<(f64, f64)> = done
        .iter()
        .filter(|p| p.status == Status::Ok && p.same_config(r, ds) && p.rows < ds.rows)
        .filter_map(|p| Some((p.rows as f64, p.wall_s?)))
        .collect();
    if let Some(l) = Line::power_law(&pts) {
        return Some(l.predict_power(ds.rows as f64));
    }
    let (n, t) = pts.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(t * ds.rows as f64 / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of `path` in the page cache, as util-linux's fincore counts them.
    fn cached(path: &Path) -> Option<u64> {
        let o = Command::new("fincore")
            .args(["--bytes", "--noheadings", "--output", "RES"])
            .arg(path)
            .output()
            .ok()?;
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    }

    #[test]
    fn evict_drops_a_file_from_the_page_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("x.f32");
        std::fs::write(&f, vec![7u8; 8 << 20]).expect("write");
        let _ = std::fs::read(&f).expect("read");
        let Some(before) = cached(&f) else {
            eprintln!("skipped: needs util-linux's fincore");
            return;
        };
        if before == 0 {
            eprintln!("skipped: this filesystem keeps no page cache for the file");
            return;
        }
        evict(&f);
        let after = cached(&f).expect("fincore ran before");
        assert!(after < before / 4, "{before} -> {after} bytes cached");
    }

    #[test]
    fn dbscan_keeps_the_expected_neighbours_at_every_size() {
        // The expected neighbours of a point grow as rows x eps^2: constant.
        let n = |rows: u64| rows as f64 * dbscan_eps(rows).powi(2);
        assert!((dbscan_eps(1_000_000) - 0.1).abs() < 1e-15);
        assert!((n(100_000) / n(1_000_000_000) - 1.0).abs() < 1e-12);
    }
}
