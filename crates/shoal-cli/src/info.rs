//! `shoal info`: what a file (or a dataset of files) holds, and optionally
//! per-column statistics.

use anyhow::Result;
use serde::Serialize;
use shoal_engine::{column_stats, PassConfig};
use shoal_reader::{Dataset, SourceInfo};

use crate::cli::{Global, InfoArgs};
use crate::output::{bytes, rate, thousands};
use crate::progress::Bar;
use crate::CANCEL;

#[derive(Debug, Serialize)]
pub struct ColumnReport {
    pub column: String,
    pub min: f32,
    pub max: f32,
    pub mean: f64,
    pub std: f64,
}

#[derive(Debug, Serialize)]
pub struct DatasetReport {
    pub files: usize,
    /// Files `--filter` left out.
    pub filtered_out: usize,
    /// Each Hive partition key and its values, in path order.
    pub partitions: Vec<(String, Vec<String>)>,
}

impl DatasetReport {
    pub fn new(ds: &Dataset) -> Option<Self> {
        (!ds.is_single_file()).then(|| DatasetReport {
            files: ds.files.len(),
            filtered_out: ds.filtered_out,
            partitions: ds.key_values(),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct InfoReport {
    pub file: String,
    pub format: &'static str,
    pub rows: u64,
    pub dim: usize,
    pub columns: Vec<String>,
    pub storage: Vec<(String, String)>,
    pub row_groups: Option<usize>,
    pub file_bytes: u64,
    /// Precision of the exact algorithms (linkage, dbscan, eval) under
    /// `--precision auto`; the streaming k-means family is always f32.
    pub precision: &'static str,
    /// A dataset of several files: how many, and its partitions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<ColumnReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

impl InfoReport {
    pub fn new(info: &SourceInfo) -> Self {
        InfoReport {
            file: info.path.display().to_string(),
            format: info.format.name(),
            rows: info.rows,
            dim: info.dim,
            columns: info.columns.clone(),
            storage: info.storage.clone(),
            row_groups: info.row_groups,
            file_bytes: info.file_bytes,
            precision: info.native.name(),
            dataset: None,
            stats: None,
            skipped_rows: None,
            seconds: None,
        }
    }

    pub fn print(&self) {
        println!("file       {} ({})", self.file, bytes(self.file_bytes));
        if let Some(d) = &self.dataset {
            let filtered = if d.filtered_out > 0 {
                format!(
                    " ({} left out by --filter)",
                    thousands(d.filtered_out as u64)
                )
            } else {
                String::new()
            };
            println!("files      {}{filtered}", thousands(d.files as u64));
            for (k, v) in &d.partitions {
                let shown: Vec<&str> = v.iter().take(12).map(String::as_str).collect();
                let more = if v.len() > 12 {
                    format!(", ... ({} values)", v.len())
                } else {
                    String::new()
                };
                println!("partition  {k} = {}{more}", shown.join(", "));
            }
        }
        match self.row_groups {
            Some(g) => println!("format     {}, {g} row groups", self.format),
            None => println!("format     {}", self.format),
        }
        println!("rows       {}", thousands(self.rows));
        println!("dim        {}", self.dim);
        let storage: Vec<String> = self
            .storage
            .iter()
            .map(|(c, t)| format!("{c} {t}"))
            .collect();
        println!("storage    {}", storage.join(", "));
        println!(
            "precision  {} for linkage, dbscan and eval (--precision auto); f32 compute with f64 sums for fit, assign and whiten",
            self.precision
        );
        if let Some(stats) = &self.stats {
            let w = stats
                .iter()
                .map(|s| s.column.len())
                .max()
                .unwrap_or(6)
                .max(6);
            println!();
            println!(
                "{:<w$}  {:>14}  {:>14}  {:>14}  {:>14}",
                "column", "min", "max", "mean", "std"
            );
            for s in stats {
                println!(
                    "{:<w$}  {:>14.6}  {:>14.6}  {:>14.6}  {:>14.6}",
                    s.column, s.min, s.max, s.mean, s.std
                );
            }
            if let (Some(sec), Some(sk)) = (self.seconds, self.skipped_rows) {
                println!(
                    "\nstats pass: {:.2} s, {} rows/s{}",
                    sec,
                    rate(self.rows - sk, sec),
                    if sk > 0 {
                        format!(", {} invalid rows skipped", thousands(sk))
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
}

/// Builds the report, running the statistics pass when asked.
pub fn report(global: &Global, args: &InfoArgs) -> Result<InfoReport> {
    let (ds, src) = args.input.open(&args.files)?;
    let mut rep = InfoReport::new(src.info());
    rep.dataset = DatasetReport::new(&ds);
    if args.stats {
        let bar = Bar::rows(src.info().rows, "stats", global.quiet);
        let (stats, pass) = column_stats(src.as_ref(), &PassConfig::default(), &CANCEL, &bar)?;
        bar.finish();
        rep.stats = Some(
            stats
                .finish()
                .into_iter()
                .zip(&src.info().columns)
                .map(|(s, c)| ColumnReport {
                    column: c.clone(),
                    min: s.min,
                    max: s.max,
                    mean: s.mean,
                    std: s.std,
                })
                .collect(),
        );
        rep.skipped_rows = Some(pass.skipped);
        rep.seconds = Some(pass.elapsed.as_secs_f64());
    }
    Ok(rep)
}

pub fn run(global: &Global, args: &InfoArgs) -> Result<()> {
    let rep = report(global, args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        rep.print();
    }
    Ok(())
}
