//! What a `bench scaling` run will do: the axes (a preset, replaced axis by
//! axis by the options given), the data sets, and the runs in order.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{Counts, Global, ScalingAlgo, ScalingArgs, ScalingFormat, ScalingPreset};
use crate::exit::usage;

/// The peers the peer script knows, and the algorithms each has an
/// equivalent of (the script's own table says the same).
pub const PEERS: &[(&str, &[ScalingAlgo])] = {
    use ScalingAlgo::*;
    &[
        ("sklearn", &[Lloyd, Minibatch, Assign, Dbscan]),
        ("sklearnex", &[Lloyd, Dbscan]),
        ("faiss", &[Lloyd, Subsample, Assign]),
        ("scipy", &[Lloyd, Assign, LinkageMicro]),
        ("fastcluster", &[LinkageMicro]),
        ("pyarrow", &[Read]),
        ("datashader", &[Scatter]),
        ("matplotlib", &[Scatter]),
    ]
};

/// A generated data set: blobs with `k` true clusters.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub rows: u64,
    pub dim: usize,
    pub k: usize,
    pub format: ScalingFormat,
    pub seed: u64,
    pub path: PathBuf,
    /// The true centres (`k x dim`, .npy): the codebook of `assign`.
    pub centers: PathBuf,
}

impl Dataset {
    pub fn exists(&self) -> bool {
        self.path.is_file() && self.centers.is_file()
    }

    /// The file's size: f32 values, Parquet about the same (uncompressed
    /// random floats), plus a margin.
    pub fn estimated_bytes(&self) -> u64 {
        self.rows * self.dim as u64 * 4 + (1 << 20)
    }

    pub fn format_name(&self) -> &'static str {
        format_name(self.format)
    }

    pub fn file_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }
}

/// One run: a tool (`shoal` or a peer) doing an algorithm on a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub tool: String,
    pub algo: ScalingAlgo,
    pub dataset: usize,
    pub threads: usize,
    pub repeat: usize,
}

impl Run {
    pub fn algo_name(&self) -> &'static str {
        algo_name(self.algo)
    }
}

pub fn algo_name(a: ScalingAlgo) -> &'static str {
    match a {
        ScalingAlgo::Read => "read",
        ScalingAlgo::Lloyd => "lloyd",
        ScalingAlgo::Minibatch => "minibatch",
        ScalingAlgo::Subsample => "subsample",
        ScalingAlgo::Assign => "assign",
        ScalingAlgo::Dbscan => "dbscan",
        ScalingAlgo::LinkageMicro => "linkage-micro",
        ScalingAlgo::Scatter => "scatter",
    }
}

/// A format's name, which is also its files' extension.
pub fn format_name(f: ScalingFormat) -> &'static str {
    match f {
        ScalingFormat::Parquet => "parquet",
        ScalingFormat::Npy => "npy",
        ScalingFormat::F32 => "f32",
    }
}

/// Algorithms that run on two-dimensional sets only.
pub fn two_d_only(a: ScalingAlgo) -> bool {
    matches!(a, ScalingAlgo::Dbscan | ScalingAlgo::Scatter)
}

#[derive(Debug)]
pub struct Plan {
    pub out: PathBuf,
    pub rows: Vec<u64>,
    pub dims: Vec<usize>,
    pub ks: Vec<usize>,
    pub algos: Vec<ScalingAlgo>,
    pub formats: Vec<ScalingFormat>,
    pub threads: Vec<usize>,
    pub repeat: usize,
    pub memory: u64,
    pub budget: Option<f64>,
    pub timeout: f64,
    pub mem_limit: Option<u64>,
    pub cold: bool,
    pub peers: Vec<String>,
    pub python: PathBuf,
    pub seed: u64,
    pub report: bool,
    pub datasets: Vec<Dataset>,
}

struct Preset {
    rows: &'static [u64],
    dims: &'static [usize],
    ks: &'static [usize],
    algos: &'static [ScalingAlgo],
    formats: &'static [ScalingFormat],
    budget: Option<f64>,
    timeout: f64,
}

fn preset(p: Option<ScalingPreset>) -> Preset {
    use ScalingAlgo::*;
    const ALL: &[ScalingAlgo] = &[
        Lloyd,
        Minibatch,
        Subsample,
        Assign,
        Dbscan,
        LinkageMicro,
        Scatter,
    ];
    match p {
        Some(ScalingPreset::Quick) => Preset {
            rows: &[20_000, 40_000, 80_000, 160_000],
            dims: &[2],
            ks: &[4],
            algos: &[Lloyd, Subsample, Assign, Scatter],
            formats: &[ScalingFormat::Npy],
            budget: None,
            timeout: 120.0,
        },
        Some(ScalingPreset::Laptop) => Preset {
            rows: &[100_000, 1_000_000, 10_000_000],
            dims: &[2, 32],
            ks: &[10],
            algos: ALL,
            formats: &[ScalingFormat::Parquet],
            budget: Some(120.0),
            timeout: 360.0,
        },
        Some(ScalingPreset::Full) => Preset {
            rows: &[1_000_000, 10_000_000, 100_000_000, 1_000_000_000],
            dims: &[2, 32],
            ks: &[10],
            algos: ALL,
            formats: &[ScalingFormat::Parquet],
            budget: Some(3600.0),
            timeout: 3.0 * 3600.0,
        },
        None => Preset {
            rows: &[1_000_000, 10_000_000],
            dims: &[2],
            ks: &[10],
            algos: &[Lloyd, Assign],
            formats: &[ScalingFormat::Parquet],
            budget: None,
            timeout: 3600.0,
        },
    }
}

impl Plan {
    pub fn new(global: &Global, a: &ScalingArgs) -> Result<Plan> {
        let p = preset(a.preset);
        let list = |c: &Option<Counts>, d: &[u64]| c.as_ref().map_or(d.to_vec(), |c| c.0.clone());
        let usizes = |c: &Option<Counts>, d: &[usize]| {
            c.as_ref()
                .map_or(d.to_vec(), |c| c.0.iter().map(|&v| v as usize).collect())
        };
        let mut rows = list(&a.rows, p.rows);
        rows.sort_unstable();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = match &global.threads {
            Some(Counts(t)) => t.iter().map(|&t| t as usize).collect(),
            None if a.preset == Some(ScalingPreset::Quick) => vec![1, cores.min(2)],
            None => (1..=cores).collect::<Vec<_>>(),
        };
        let mut threads: Vec<usize> = threads;
        threads.dedup();
        let mut algos = a.algo.clone().unwrap_or_else(|| p.algos.to_vec());
        // The bare read pass is the throughput reference of every algorithm.
        algos.insert(0, ScalingAlgo::Read);
        let mut seen = std::collections::HashSet::new();
        algos.retain(|x| seen.insert(*x));
        let formats = a.format.clone().unwrap_or_else(|| p.formats.to_vec());
        let mut peers = Vec::new();
        for name in &a.peers {
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() || peers.contains(&name) {
                continue;
            }
            if !PEERS.iter().any(|(p, _)| *p == name) {
                return Err(usage(format!(
                    "--peers: unknown peer {name:?}; known: {}",
                    PEERS.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
                )));
            }
            peers.push(name);
        }
        let repeat = a.repeat.unwrap_or(1);
        if repeat == 0 {
            return Err(usage("--repeat must be at least 1"));
        }
        let budget = a.budget.or(p.budget);
        let timeout = a.timeout.unwrap_or(match budget {
            Some(b) if a.budget.is_some() => 3.0 * b,
            _ => p.timeout,
        });
        let mut plan = Plan {
            out: a.out.clone(),
            rows,
            dims: usizes(&a.dim, p.dims),
            ks: usizes(&a.k, p.ks),
            algos,
            formats,
            threads,
            repeat,
            memory: a.memory,
            budget,
            timeout,
            mem_limit: a.mem_limit,
            cold: a.cold,
            peers,
            python: a.python.clone(),
            seed: a.seed,
            report: a.report,
            datasets: Vec::new(),
        };
        for &n in &plan.rows {
            if let Some(&k) = plan.ks.iter().find(|&&k| k as u64 > n) {
                return Err(usage(format!("-k {k} is more than --rows {n}")));
            }
        }
        let data = plan.out.join("data");
        for &rows in &plan.rows {
            for &dim in &plan.dims {
                for &k in &plan.ks {
                    for &format in &plan.formats {
                        let stem = format!("blobs-n{rows}-d{dim}-k{k}-s{}", plan.seed);
                        let ext = format_name(format);
                        plan.datasets.push(Dataset {
                            rows,
                            dim,
                            k,
                            format,
                            seed: plan.seed,
                            path: data.join(format!("{stem}.{ext}")),
                            centers: data.join(format!("{stem}.centers.npy")),
                        });
                    }
                }
            }
        }
        Ok(plan)
    }

    /// The tools that run `algo` on a data set.
    fn tools(&self, algo: ScalingAlgo, d: &Dataset) -> Vec<String> {
        if two_d_only(algo) && d.dim != 2 {
            return Vec::new();
        }
        let mut t = vec!["shoal".to_string()];
        for p in &self.peers {
            // pyarrow's read pass is of Parquet files only.
            let format_ok = p != "pyarrow" || d.format == ScalingFormat::Parquet;
            if format_ok
                && PEERS
                    .iter()
                    .any(|(name, algos)| name == p && algos.contains(&algo))
            {
                t.push(p.clone());
            }
        }
        t
    }

    /// Every run, smallest row count first; within a row count, repeat by
    /// repeat over every configuration, each repeat's order rotated, so
    /// drift spreads over the configurations.
    pub fn runs(&self) -> Vec<Run> {
        let mut out = Vec::new();
        for &rows in &self.rows {
            let mut configs = Vec::new();
            for (di, d) in self.datasets.iter().enumerate() {
                if d.rows != rows {
                    continue;
                }
                for &algo in &self.algos {
                    for tool in self.tools(algo, d) {
                        for &threads in &self.threads {
                            configs.push((tool.clone(), algo, di, threads));
                        }
                    }
                }
            }
            for repeat in 0..self.repeat {
                let n = configs.len().max(1);
                for i in 0..configs.len() {
                    let (tool, algo, dataset, threads) = configs[(i + repeat * 7) % n].clone();
                    out.push(Run {
                        tool,
                        algo,
                        dataset,
                        threads,
                        repeat,
                    });
                }
            }
        }
        out
    }
}
