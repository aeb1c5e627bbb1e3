//! One row per run, and the machine it ran on: `results.csv` (flat, one
//! column per field, the machine repeated on every row so a row stands
//! alone) and `results.json` (the same rows, with the command and the
//! machine once more at the top).

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::plan::{Dataset, Plan, Run};
use crate::cli::ScalingAlgo;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    Timeout,
    Oom,
    Skipped,
    Interrupted,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Oom => "out of memory",
            Status::Skipped => "skipped",
            Status::Interrupted => "interrupted",
        }
    }
}

/// Facts of the machine, from /proc.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub mem_total_bytes: u64,
    pub kernel: String,
    pub shoal_version: String,
    pub git_revision: String,
}

impl Machine {
    pub fn probe() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu_model = read("/proc/cpuinfo")
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or("unknown".into(), |(_, v)| v.trim().to_string());
        let mem_total_bytes = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024);
        Machine {
            cpu_model,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_total_bytes,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            shoal_version: env!("CARGO_PKG_VERSION").to_string(),
            git_revision: env!("SHOAL_GIT_REVISION").to_string(),
        }
    }
}

/// One run. Fields that a run did not produce are empty in the CSV.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub run: usize,
    pub tool: String,
    pub algo: String,
    pub rows: u64,
    pub dim: usize,
    pub k: usize,
    pub threads: usize,
    pub format: String,
    pub repeat: usize,
    pub status: Status,
    pub reason: String,
    pub wall_s: Option<f64>,
    pub user_s: Option<f64>,
    pub sys_s: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub rows_per_s: Option<f64>,
    pub bytes_per_s: Option<f64>,
    pub file_bytes: u64,
    pub passes: Option<u64>,
    pub quality_name: Option<String>,
    pub quality: Option<f64>,
    /// The work alone, as the child itself timed it.
    pub inner_s: Option<f64>,
    pub memory_budget_bytes: u64,
    pub mem_limit_bytes: Option<u64>,
    pub timeout_s: f64,
    pub cold: bool,
    pub cpu_model: String,
    pub cores: usize,
    pub mem_total_bytes: u64,
    pub kernel: String,
    pub shoal_version: String,
    pub git_revision: String,
    pub started_unix_s: u64,
}

impl Row {
    pub fn new(i: usize, r: &Run, ds: &Dataset, plan: &Plan, m: &Machine) -> Row {
        Row {
            run: i,
            tool: r.tool.clone(),
            algo: r.algo_name().into(),
            rows: ds.rows,
            dim: ds.dim,
            k: ds.k,
            threads: r.threads,
            format: ds.format_name().into(),
            repeat: r.repeat,
            status: Status::Failed,
            reason: String::new(),
            wall_s: None,
            user_s: None,
            sys_s: None,
            peak_rss_bytes: None,
            rows_per_s: None,
            bytes_per_s: None,
            file_bytes: ds.file_bytes(),
            passes: None,
            quality_name: None,
            quality: None,
            inner_s: None,
            memory_budget_bytes: plan.memory,
            mem_limit_bytes: plan.mem_limit,
            timeout_s: plan.timeout,
            cold: plan.cold,
            cpu_model: m.cpu_model.clone(),
            cores: m.cores,
            mem_total_bytes: m.mem_total_bytes,
            kernel: m.kernel.clone(),
            shoal_version: m.shoal_version.clone(),
            git_revision: m.git_revision.clone(),
            started_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// Same tool, algorithm, dimension, k, threads and format as `r` on
    /// `ds` (any row count).
    pub fn same_config(&self, r: &Run, ds: &Dataset) -> bool {
        self.tool == r.tool
            && self.algo == r.algo_name()
            && self.dim == ds.dim
            && self.k == ds.k
            && self.threads == r.threads
            && self.format == ds.format_name()
    }
}

/// What a child printed: passes over the file, a quality figure, its own
/// timing.
#[derive(Debug, Default, PartialEq)]
pub struct ChildResult {
    pub passes: Option<u64>,
    pub quality_name: Option<String>,
    pub quality: Option<f64>,
    pub seconds: Option<f64>,
}

/// Reads the JSON a shoal command or the peer script printed.
pub fn parse_child_json(stdout: &str, algo: ScalingAlgo) -> Option<ChildResult> {
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).ok()?;
    let f = |p: &str| v.pointer(p).and_then(|x| x.as_f64());
    let mut r = ChildResult {
        seconds: f("/seconds"),
        ..ChildResult::default()
    };
    // The peer script's own shape.
    if v.get("quality_name").is_some() {
        r.quality_name = v["quality_name"].as_str().map(String::from);
        r.quality = f("/quality");
        r.passes = v["passes"].as_u64();
        return Some(r);
    }
    // Passes over the file: those a command lists, less in-memory steps.
    let listed = v["passes"].as_array().map(|p| {
        p.iter()
            .filter(|p| !p["name"].as_str().unwrap_or("").contains("in memory"))
            .count() as u64
    });
    let (name, q) = match algo {
        ScalingAlgo::Read => (None, None),
        ScalingAlgo::Lloyd | ScalingAlgo::Minibatch | ScalingAlgo::Subsample => {
            (Some("inertia"), f("/model/inertia"))
        }
        ScalingAlgo::Assign => (Some("inertia"), f("/inertia")),
        ScalingAlgo::Dbscan => (Some("clusters"), f("/clusters")),
        ScalingAlgo::LinkageMicro => (Some("top merge height"), f("/top_heights/0")),
        ScalingAlgo::Scatter => (None, None),
    };
    r.quality_name = name.map(String::from);
    r.quality = q;
    r.passes = listed.or(Some(1));
    Some(r)
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    command: &'a [String],
    machine: &'a Machine,
    interrupted: bool,
    runs: &'a [Row],
}

/// A `results.json` read back.
#[derive(Debug, Deserialize)]
pub struct Recorded {
    pub command: Vec<String>,
    pub machine: Machine,
    pub interrupted: bool,
    pub runs: Vec<Row>,
}

/// Reads `OUT/results.json`.
pub fn read(out: &Path) -> Result<Recorded> {
    let path = out.join("results.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (--resummarize needs a finished or interrupted run there)",
            path.display()
        )
    })?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a bench scaling results file: {e}", path.display()))
}

/// Rewrites `results.csv` and `results.json` with every row so far.
pub fn write(
    out: &Path,
    command: &[String],
    m: &Machine,
    rows: &[Row],
    interrupted: bool,
) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        // The header alone, from a row of defaults' field names.
        w.write_record(COLUMNS)?;
    }
    for r in rows {
        w.serialize(r)?;
    }
    let csv = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::output::write_atomic(&out.join("results.csv"), &csv)?;
    let doc = JsonDoc {
        command,
        machine: m,
        interrupted,
        runs: rows,
    };
    crate::output::write_atomic(
        &out.join("results.json"),
        serde_json::to_string_pretty(&doc)?.as_bytes(),
    )?;
    Ok(())
}

/// The CSV's columns, in order.
pub const COLUMNS: &[&str] = &[
    "run",
    "tool",
    "algo",
    "rows",
    "dim",
    "k",
    "threads",
    "format",
    "repeat",
    "status",
    "reason",
    "wall_s",
    "user_s",
    "sys_s",
    "peak_rss_bytes",
    "rows_per_s",
    "bytes_per_s",
    "file_bytes",
    "passes",
    "quality_name",
    "quality",
    "inner_s",
    "memory_budget_bytes",
    "mem_limit_bytes",
    "timeout_s",
    "cold",
    "cpu_model",
    "cores",
    "mem_total_bytes",
    "kernel",
    "shoal_version",
    "git_revision",
    "started_unix_s",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rows_fields_are_the_columns() {
        let v = serde_json::to_value(Row {
            run: 0,
            tool: "shoal".into(),
            algo: "lloyd".into(),
            rows: 1,
            dim: 1,
            k: 1,
            threads: 1,
            format: "npy".into(),
            repeat: 0,
            status: Status::Ok,
            reason: String::new(),
            wall_s: None,
            user_s: None,
            sys_s: None,
            peak_rss_bytes: None,
            rows_per_s: None,
            bytes_per_s: None,
            file_bytes: 0,
            passes: None,
            quality_name: None,
            quality: None,
            inner_s: None,
            memory_budget_bytes: 0,
            mem_limit_bytes: None,
            timeout_s: 0.0,
            cold: false,
            cpu_model: String::new(),
            cores: 1,
            mem_total_bytes: 0,
            kernel: String::new(),
            shoal_version: String::new(),
            git_revision: String::new(),
            started_unix_s: 0,
        })
        .expect("serialises");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut want = COLUMNS.to_vec();
        want.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, want);
    }

    #[test]
    fn child_json_is_read_per_algorithm() {
        let fit = r#"{"model": {"inertia": 12.5}, "passes": [{"name": "sample"}, {"name": "init (in memory)"}, {"name": "assign"}], "seconds": 0.5}"#;
        let r = parse_child_json(fit, ScalingAlgo::Subsample).expect("json");
        assert_eq!(r.passes, Some(2));
        assert_eq!(r.quality, Some(12.5));
        let peer = r#"{"quality_name": "inertia", "quality": 3.0, "passes": 7, "seconds": 1.0}"#;
        let r = parse_child_json(peer, ScalingAlgo::Lloyd).expect("json");
        assert_eq!((r.passes, r.quality), (Some(7), Some(3.0)));
        assert!(parse_child_json("not json", ScalingAlgo::Read).is_none());
    }
}
