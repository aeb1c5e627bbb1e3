//! Command-line definitions (clap). Parsing only; validation of values that
//! depend on each other happens in the commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "shoal",
    version,
    about = "Cluster point sets too large for memory: streaming, parallel, deterministic.",
    long_about = "shoal reads .parquet, .npy, raw .f32 and .csv point sets in bounded chunks \
and runs clustering passes over them on all cores.\n\n\
Results go to stdout (a table, or JSON with --json); progress and logs go to stderr.\n\
Exit codes: 0 success, 1 failure (I/O, bad or corrupt data), 2 usage error, 130 interrupted.",
    after_help = "Examples:\n  shoal demo\n  shoal gen blobs --rows 1M --dim 2 --k 10 --out blobs.parquet\n  shoal info blobs.parquet --stats"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Worker threads [default: all cores]. Results do not depend on it.
    /// (`bench scaling` takes a list or range: the thread counts to compare.)
    #[arg(long, global = true, value_parser = parse_threads, value_name = "T", help_heading = "Global options")]
    pub threads: Option<Counts>,
    /// No progress bars.
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,
    /// More detail on stderr (chunk sizes, timings).
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub verbose: bool,
    /// Object storage (s3://, gs://, az://, http(s)://): an option of the store beyond what the
    /// environment gives (aws_endpoint_url=..., aws_region=..., google_service_account=...), or
    /// max_retries=N / retry_timeout=SECONDS for transient errors [defaults: 5, 60s]. Repeatable.
    #[arg(long, global = true, value_parser = parse_key_value, value_name = "KEY=VALUE", help_heading = "Global options")]
    pub storage_option: Vec<(String, String)>,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a synthetic point set (seeded; identical for any --threads).
    #[command(subcommand)]
    Gen(GenCommand),
    /// Describe a point-set file: rows, dimension, columns and storage types.
    Info(InfoArgs),
    /// Run the built-in demonstration on about a million generated GPS points.
    Demo(DemoArgs),
    /// Fit k-means to a file of any size (streaming Lloyd), write MODEL.json and optionally labels.
    Fit(FitArgs),
    /// Assign every row to its nearest centroid (scipy's vq): cluster and distance per row.
    Assign(AssignArgs),
    /// Divide every column by its standard deviation (scipy's whiten), streaming.
    Whiten(WhitenArgs),
    /// Hierarchical clustering (scipy's linkage): write the (n-1) x 4 tree Z.npy, optionally cut it into labels.
    Linkage(LinkageArgs),
    /// Cut a tree Z.npy into flat clusters (scipy's fcluster): labels 1..k per leaf.
    Fcluster(FclusterArgs),
    /// Dendrogram coordinates of a tree Z.npy (scipy's dendrogram data) as JSON.
    Dendrogram(DendrogramArgs),
    /// Cophenetic distances of a tree Z.npy, and their correlation with the original distances.
    Cophenet(CophenetArgs),
    /// DBSCAN (scikit-learn's definitions): clusters of any shape, noise labelled -1.
    Dbscan(DbscanArgs),
    /// Quality of a labelling: silhouette, Davies-Bouldin, Calinski-Harabasz; with --truth, ARI, AMI, NMI and more.
    Eval(EvalArgs),
    /// k-selection for files of any size: subsample k-means for every k of a range in two passes, with inertia, scores, the knee and the best k.
    Sweep(SweepArgs),
    /// One self-contained HTML report: scatter plots or maps side by side, silhouettes, scores, sizes, the model, a dendrogram, a sweep's elbow.
    Report(ReportArgs),
    /// Figures (PNG or SVG): scatter plots of files of any size, dendrograms, silhouette plots.
    #[command(subcommand)]
    Plot(PlotCommand),
    /// Benchmarks: `bench read FILE` times one bare streaming pass; `bench scaling` time and memory against rows, d, k and threads, with peers.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  shoal sweep gps.parquet -k 2..30 --out sweep.json\n  shoal plot elbow sweep.json --out elbow.png\n\nEvery k's centroids and inertia equal those of `shoal fit --algo ALGO -k K` with the\nsame seed; scores are computed on the sample (the silhouette on --silhouette-sample rows of it)."
)]
pub struct SweepArgs {
    /// A .parquet, .npy, .f32 or .csv file; or a Parquet dataset read as one: a directory
    /// (every .parquet file below it), a quoted glob ('data/part-*.parquet'), or several paths.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// The values of k: a range A..B (inclusive) or a list 2,4,8.
    #[arg(short = 'k', long = "k", value_parser = parse_k_range, value_name = "A..B")]
    pub k: KList,
    /// subsample: every k on one shared sample, then one assignment pass (two passes in all);
    /// lloyd: exact Lloyd over every row, each pass advancing every unconverged k.
    #[arg(long, value_enum, default_value_t = SweepAlgo::Subsample)]
    pub algo: SweepAlgo,
    /// Rows of the shared sample [default: max(256 k, 100 000) for the largest k].
    #[arg(long, value_parser = parse_count_usize, value_name = "M")]
    pub sample_size: Option<usize>,
    /// k-means++ starts per k, each refined on the sample.
    #[arg(long, default_value_t = 3)]
    pub n_init: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Rows of the sample the silhouette is computed on (its cost is M^2 d per k).
    #[arg(long, default_value_t = 5_000, value_parser = parse_count_usize, value_name = "M")]
    pub silhouette_sample: usize,
    /// Output JSON (one entry per k).
    #[arg(long, value_name = "SWEEP.json")]
    pub out: PathBuf,
    #[command(flatten)]
    pub memory: MemoryArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  shoal report gps.parquet --labels kmeans.parquet --model gps.json --out report.html\n  shoal report gps.parquet --labels kmeans.parquet --labels ward.parquet --truth true.npy \\\n      --linkage Z.npy --cut 2.5 --sweep sweep.json --out report.html\n\nThe file has no external reference: figures are inline SVG, rasters data-URI PNG, the font embedded."
)]
pub struct ReportArgs {
    /// A .parquet, .npy, .f32 or .csv file; or a Parquet dataset read as one: a directory
    /// (every .parquet file below it), a quoted glob ('data/part-*.parquet'), or several paths.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Labels, one per row (-1 is noise); give it again for each labelling to compare side by side
    /// (e.g. k-means, then hierarchical).
    #[arg(long, value_name = "L", required = true)]
    pub labels: Vec<PathBuf>,
    /// Column holding the labels in Parquet/CSV label files.
    #[arg(long, default_value = "cluster")]
    pub label_column: String,
    /// Reference labels: each labelling's agreement with them (ARI, AMI, NMI, ...).
    #[arg(long, value_name = "T")]
    pub truth: Option<PathBuf>,
    /// MODEL.json of the fit behind the first --labels: parameters, centroids (drawn as red X).
    #[arg(long, value_name = "MODEL.json")]
    pub model: Option<PathBuf>,
    /// A tree Z.npy (`shoal linkage`): its dendrogram.
    #[arg(long, value_name = "Z.npy")]
    pub linkage: Option<PathBuf>,
    /// Height of the dashed cut line on the dendrogram.
    #[arg(long, value_name = "T", requires = "linkage")]
    pub cut: Option<f64>,
    /// The JSON of a `shoal sweep`: the elbow figure and a table of every k.
    #[arg(long, value_name = "SWEEP.json")]
    pub sweep: Option<PathBuf>,
    /// Silhouettes are exact up to this many rows, else on a seeded sample of this many.
    #[arg(long, default_value_t = 20_000, value_parser = parse_count_usize, value_name = "M")]
    pub silhouette_sample: usize,
    /// Seed of the silhouette sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Up to this many rows are drawn as markers; more as a density raster.
    #[arg(long, default_value_t = 50_000, value_parser = parse_count_usize, value_name = "N")]
    pub max_markers: usize,
    /// Draw maps (longitude, latitude) [default: for columns named lon/lat].
    #[arg(long, conflicts_with = "no_map")]
    pub map: bool,
    /// Plain scatter plots even for lon/lat columns.
    #[arg(long)]
    pub no_map: bool,
    /// Title [default: from the file name].
    #[arg(long)]
    pub title: Option<String>,
    /// Output HTML file.
    #[arg(long, value_name = "REPORT.html")]
    pub out: PathBuf,
    #[command(flatten)]
    pub memory: MemoryArgs,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

/// The k-means of a sweep.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SweepAlgo {
    Subsample,
    Lloyd,
}

/// The values of k of a sweep, sorted and distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KList(pub Vec<usize>);

/// `-k 2..30` or `-k 2,4,8`: sorted, distinct, each >= 1.
pub fn parse_k_range(s: &str) -> Result<KList, String> {
    let bad = || {
        format!("-k {s:?}: expected a range A..B (e.g. 2..30) or a list (e.g. 2,4,8) of whole numbers >= 1")
    };
    let mut ks: Vec<usize> = if let Some((a, b)) = s.split_once("..") {
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = b
            .trim()
            .trim_start_matches('=')
            .parse()
            .map_err(|_| bad())?;
        if a > b || b - a > 10_000 {
            return Err(bad());
        }
        (a..=b).collect()
    } else {
        s.split(',')
            .map(|v| v.trim().parse::<usize>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?
    };
    ks.sort_unstable();
    ks.dedup();
    if ks.is_empty() || ks[0] == 0 {
        return Err(bad());
    }
    Ok(KList(ks))
}

/// Size, theme and output shared by every figure.
#[derive(Debug, Args, Clone)]
pub struct FigureArgs {
    /// Output figure: .png or .svg (the PNG is the SVG rendered, the same picture).
    #[arg(long, value_name = "FIG.png|FIG.svg")]
    pub out: PathBuf,
    /// Size in pixels, WIDTHxHEIGHT (100 DPI: 1000x800 is matplotlib's 10 x 8 inches).
    #[arg(long, default_value = "1000x800", value_parser = parse_figure_size, value_name = "WxH")]
    pub size: (u32, u32),
    /// Dark background.
    #[arg(long)]
    pub dark: bool,
    /// Title [default: from the inputs].
    #[arg(long)]
    pub title: Option<String>,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

/// `--size WxH`.
pub fn parse_figure_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WIDTHxHEIGHT in pixels, e.g. 1000x800, got {s:?}"))?;
    let p = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|&v| (200..=8000).contains(&v))
    };
    match (p(w), p(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(format!(
            "--size {s:?}: width and height must be whole numbers of pixels from 200 to 8000"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum PlotCommand {
    /// Points coloured by cluster: real markers up to --max-markers rows, a streamed density raster beyond (any size, bounded memory); centroids as red X.
    #[command(
        after_help = "Examples:\n  shoal plot scatter gps.parquet --columns lon,lat --labels gps_labels.parquet --model gps.json --out gps.png\n  shoal plot scatter huge.f32 --labels l.npy --memory 256MiB --out huge.png"
    )]
    Scatter {
        /// The points (.parquet, .npy, .f32 or .csv, or a Parquet dataset: a directory, a quoted
        /// glob, several paths); two columns (--columns X,Y).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        input: InputArgs,
        /// Labels, one per row (.npy, or a column of a .parquet/.csv); -1 is noise.
        #[arg(long, value_name = "L")]
        labels: Option<PathBuf>,
        /// Column holding the labels in Parquet/CSV label files.
        #[arg(long, default_value = "cluster")]
        label_column: String,
        /// MODEL.json of a fit: its centroids are drawn as red X markers.
        #[arg(long, value_name = "MODEL.json")]
        model: Option<PathBuf>,
        /// Up to this many rows are drawn as markers; more as a density raster.
        #[arg(long, default_value_t = 50_000, value_parser = parse_count_usize, value_name = "N")]
        max_markers: usize,
        /// Draw a map: longitude across, latitude up (equirectangular about the data's
        /// centre), Natural Earth coastlines and borders, a scale bar [default: for
        /// columns named lon/lat, longitude/latitude].
        #[arg(long, conflicts_with = "no_map")]
        map: bool,
        /// A plain scatter plot even for lon/lat columns.
        #[arg(long)]
        no_map: bool,
        #[command(flatten)]
        figure: FigureArgs,
        #[command(flatten)]
        memory: MemoryArgs,
    },
    /// scipy's dendrogram of a tree Z.npy, drawn: links coloured below --color-threshold, a dashed --cut line.
    #[command(
        after_help = "Examples:\n  shoal plot dendrogram Z.npy --cut 2.5 --out tree.svg\n  shoal plot dendrogram Z.npy --truncate lastp -p 30 --out tree.png"
    )]
    Dendrogram {
        /// A linkage matrix (.npy, (n-1) x 4).
        z: PathBuf,
        /// Truncation [default: none up to 2000 leaves, lastp 500 beyond].
        #[arg(long = "truncate", value_enum)]
        truncate: Option<TruncateMode>,
        /// The p of the truncation.
        #[arg(short = 'p', default_value_t = 30)]
        p: usize,
        /// Links below this height take the subtree colours C1.. (scipy's color_threshold) [default: 0.7 x the top height].
        #[arg(long, value_name = "T")]
        color_threshold: Option<f64>,
        /// A dashed horizontal line at this height (the fcluster distance threshold).
        #[arg(long, value_name = "T")]
        cut: Option<f64>,
        /// Leaf label rotation in degrees.
        #[arg(long, default_value_t = 0.0, value_name = "DEG")]
        leaf_rotation: f64,
        #[command(flatten)]
        figure: FigureArgs,
    },
    /// The elbow figure of a `shoal sweep`: inertia against k with the knee, silhouette and Davies-Bouldin below.
    Elbow {
        /// The JSON written by `shoal sweep`.
        sweep: PathBuf,
        #[command(flatten)]
        figure: FigureArgs,
    },
    /// scikit-learn's silhouette-analysis figure: per-cluster bands of sorted silhouette values, the mean as a red dashed line.
    Silhouette {
        /// The points that were clustered (a file, or a Parquet dataset: a directory, a quoted
        /// glob, several paths).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        input: InputArgs,
        /// Labels, one per row.
        #[arg(long, value_name = "L")]
        labels: PathBuf,
        /// Column holding the labels in Parquet/CSV label files.
        #[arg(long, default_value = "cluster")]
        label_column: String,
        /// Exact up to this many rows; beyond, on a seeded sample of this many.
        #[arg(long, default_value_t = 20_000, value_parser = parse_count_usize, value_name = "M")]
        sample: usize,
        /// Seed of the sample.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        figure: FigureArgs,
        #[command(flatten)]
        memory: MemoryArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// One streaming pass that decodes and touches every value: rows/s, GB/s, peak RSS.
    Read {
        /// A .parquet, .npy, .f32 or .csv file, or a Parquet dataset (a directory, a quoted glob,
        /// several paths; URLs in object storage).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        input: InputArgs,
        /// Rows per chunk [default: as `fit` picks them for the default --memory].
        #[arg(long, value_parser = parse_count_usize, value_name = "N")]
        chunk_rows: Option<usize>,
        /// Print JSON instead of a line of text.
        #[arg(long)]
        json: bool,
    },
    /// One assignment pass (nearest centroid for every row, no output): points/s.
    Assign {
        /// A .parquet, .npy, .f32 or .csv file, or a Parquet dataset (a directory, a quoted glob,
        /// several paths; URLs in object storage).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        input: InputArgs,
        /// Centroids (k x d) in .npy.
        #[arg(long, value_name = "C.npy")]
        centroids: PathBuf,
        /// Passes to time (the best is reported).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// Print JSON instead of a line of text.
        #[arg(long)]
        json: bool,
    },
    /// Time and memory against rows, dimension, k, threads and format, every run a child process;
    /// peers on the same files; results.csv/json, summary.md with fitted exponents, and figures.
    Scaling(ScalingArgs),
}

/// The algorithms `bench scaling` times (each a whole `shoal` command).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalingAlgo {
    /// `shoal bench read`: decode and touch every value (the ceiling of every pass).
    Read,
    /// `shoal fit --algo lloyd`.
    Lloyd,
    /// `shoal fit --algo minibatch`.
    Minibatch,
    /// `shoal fit --algo subsample`.
    Subsample,
    /// `shoal assign` to the true centres, labels written.
    Assign,
    /// `shoal dbscan` (2-D sets only).
    Dbscan,
    /// `shoal linkage --method ward --micro-clusters`.
    LinkageMicro,
    /// `shoal plot scatter` of the first two columns.
    Scatter,
}

/// A preset of `bench scaling`'s axes.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ScalingPreset {
    /// Tiny sets, a few seconds (what the tests run).
    Quick,
    /// 100k to 10M rows, d = 2 and 32, every algorithm: about 10 minutes without peers.
    Laptop,
    /// Up to 1e9 rows: hours, and about 150 GB of disk.
    Full,
}

/// The file formats `bench scaling` generates.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalingFormat {
    Parquet,
    Npy,
    F32,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  shoal bench scaling --preset quick --out scaling\n  \
shoal bench scaling --rows 1M,10M,100M --dim 2,32 -k 10 --algo lloyd,assign --threads 1,2 --out scaling\n  \
shoal bench scaling --preset laptop --peers sklearn,faiss,scipy --python ~/venv/bin/python --report --out scaling\n\n\
Lists are comma-separated; --rows A..B is A, 10A, 100A, ... up to B; --threads A..B every count from A to B.\n\
Every run is a child process: wall, user and system time and peak RSS are the child's own.\n\
Data sets are generated once into OUT/data and reused; results.csv, results.json and summary.md are\n\
rewritten after every run, so an interrupted run keeps what finished."
)]
pub struct ScalingArgs {
    /// Start from a preset; the axes given explicitly replace the preset's.
    #[arg(long, value_enum)]
    pub preset: Option<ScalingPreset>,
    /// Row counts: a list (1M,10M,100M) or a range of decades (1M..1B).
    #[arg(long, value_parser = parse_rows_axis, value_name = "N,N,...")]
    pub rows: Option<Counts>,
    /// Dimensions.
    #[arg(long, value_parser = parse_small_axis, value_name = "D,D,...")]
    pub dim: Option<Counts>,
    /// Numbers of clusters (the data have as many true clusters).
    #[arg(short = 'k', long = "k", value_parser = parse_small_axis, value_name = "K,K,...")]
    pub k: Option<Counts>,
    /// Algorithms (`read`, the bare pass, always runs: it is the throughput reference).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "A,B,...")]
    pub algo: Option<Vec<ScalingAlgo>>,
    /// File formats of the generated sets.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "F,F,...")]
    pub format: Option<Vec<ScalingFormat>>,
    /// Runs of every configuration.
    #[arg(long, value_name = "R")]
    pub repeat: Option<usize>,
    /// --memory given to every shoal run.
    #[arg(long, default_value = "256MiB", value_parser = parse_size, value_name = "SIZE")]
    pub memory: u64,
    /// Skip configurations predicted (from the smaller ones) to take longer than this: 90s, 10m, 2h.
    #[arg(long, value_parser = parse_duration, value_name = "TIME")]
    pub budget: Option<f64>,
    /// Stop a run that takes longer than this, and record it as timed out [default: 3 x --budget, or the preset's].
    #[arg(long, value_parser = parse_duration, value_name = "TIME")]
    pub timeout: Option<f64>,
    /// Hard address-space limit of every child (RLIMIT_AS); a run that exceeds it is recorded as out of memory.
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    pub mem_limit: Option<u64>,
    /// Evict each data file from the page cache before each run (posix_fadvise DONTNEED).
    #[arg(long)]
    pub cold: bool,
    /// Peers to run on the same files: sklearn, sklearnex (scikit-learn-intelex), faiss, scipy, fastcluster, pyarrow, datashader, matplotlib.
    #[arg(long, value_delimiter = ',', value_name = "P,P,...")]
    pub peers: Vec<String>,
    /// The Python that runs the peers (a virtual environment's bin/python).
    #[arg(long, default_value = "python3", value_name = "PATH")]
    pub python: PathBuf,
    /// Seed of the data and of every fit.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also fold the tables and figures into OUT/report.html.
    #[arg(long)]
    pub report: bool,
    /// Run nothing: rewrite summary.md, summary.json, the figures (and with --report the page)
    /// from OUT/results.json, e.g. to add --report afterwards. Give the run's own axes.
    #[arg(long)]
    pub resummarize: bool,
    /// Output directory (data sets are cached in OUT/data).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// A list of whole numbers, in the order given (duplicates dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts(pub Vec<u64>);

fn parse_list(s: &str, name: &str, range: impl Fn(u64, u64) -> Vec<u64>) -> Result<Counts, String> {
    let mut v: Vec<u64> = if let Some((a, b)) = s.split_once("..") {
        let (a, b) = (parse_count(a)?, parse_count(b.trim_start_matches('='))?);
        if a == 0 || a > b {
            return Err(format!("{name} {s:?}: a range A..B needs 1 <= A <= B"));
        }
        range(a, b)
    } else {
        s.split(',').map(parse_count).collect::<Result<_, _>>()?
    };
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(*x));
    if v.is_empty() || v.contains(&0) {
        return Err(format!("{name} {s:?}: every value must be at least 1"));
    }
    Ok(Counts(v))
}

/// `--rows 1M,10M` or `--rows 1M..1B` (decades: 1M, 10M, 100M, 1B).
pub fn parse_rows_axis(s: &str) -> Result<Counts, String> {
    parse_list(s, "--rows", |a, b| {
        std::iter::successors(Some(a), |x| x.checked_mul(10).filter(|y| *y <= b)).collect()
    })
}

/// `--dim 2,32`, `-k 10,100`: lists, or A..B for every value (at most 64).
pub fn parse_small_axis(s: &str) -> Result<Counts, String> {
    let c = parse_list(s, "the axis", |a, b| (a..=b).take(64).collect())?;
    if c.0.iter().any(|&v| v > 1 << 20) {
        return Err(format!("{s:?}: values above 1048576 are not sensible here"));
    }
    Ok(c)
}

/// `--threads 4`, or for `bench scaling` `--threads 1,2` or `1..4`.
pub fn parse_threads(s: &str) -> Result<Counts, String> {
    parse_list(s, "--threads", |a, b| (a..=b).take(1024).collect()).map_err(|e| {
        e.replace(
            "every value must be at least 1",
            "--threads must be at least 1",
        )
    })
}

/// `90`, `90s`, `10m`, `2h`, `1.5h`: seconds.
/// A [`parse_duration`] that may also be zero (`0`, `0s`).
pub fn parse_interval(s: &str) -> Result<f64, String> {
    if split_unit(s).0.parse::<f64>() == Ok(0.0) {
        return Ok(0.0);
    }
    parse_duration(s)
}

/// "90s" as ("90", 1), "10m" as ("10", 60), "2h" as ("2", 3600), "5" as
/// ("5", 1): one unit at most.
fn split_unit(s: &str) -> (&str, f64) {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('s') => (&t[..t.len() - 1], 1.0),
        Some('m') => (&t[..t.len() - 1], 60.0),
        Some('h') => (&t[..t.len() - 1], 3600.0),
        _ => (t, 1.0),
    };
    (num.trim(), mult)
}

pub fn parse_duration(s: &str) -> Result<f64, String> {
    let (num, mult) = split_unit(s);
    // (v * mult, not v, must be finite: "1e308h" is no duration)
    match num.parse::<f64>().map(|v| (v, v * mult)) {
        Ok((v, t)) if v > 0.0 && t.is_finite() => Ok(t),
        _ => Err(format!("{s:?} is not a duration (try 90s, 10m or 2h)")),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum DType {
    #[default]
    F32,
    F16,
    F64,
}

/// Options every generator shares.
#[derive(Debug, Args)]
pub struct GenCommon {
    /// Number of points; accepts 1000000, 1_000_000, 1e6, 1M, 100k, 1B.
    #[arg(long, value_parser = parse_count, value_name = "N")]
    pub rows: u64,
    /// Random seed; the same seed gives the same bytes.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Output file: .parquet (one column per dimension), .npy or .f32 (raw, with a .json sidecar).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also write each row's true cluster (noise = -1) to .npy (int32) or .parquet (column `cluster`).
    #[arg(long, value_name = "FILE")]
    pub labels_out: Option<PathBuf>,
    /// Also write the true centres (k x d) to .npy, .parquet or .f32.
    #[arg(long, value_name = "FILE")]
    pub centers_out: Option<PathBuf>,
    /// Storage type of the points.
    #[arg(long, value_enum, default_value_t = DType::F32)]
    pub dtype: DType,
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = 1 << 20, value_parser = parse_count_usize, value_name = "N")]
    pub row_group_rows: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// K isotropic Gaussian clusters in D dimensions (centres uniform in a box).
    Blobs {
        #[command(flatten)]
        common: GenCommon,
        /// Dimension.
        #[arg(long, value_name = "D")]
        dim: usize,
        /// Number of clusters.
        #[arg(long, short = 'k', value_name = "K")]
        k: usize,
        /// Standard deviation of each cluster.
        #[arg(long, default_value_t = 1.0)]
        spread: f64,
        /// Centres are uniform in [-B, B]^D.
        #[arg(long, default_value_t = 10.0, value_name = "B")]
        center_box: f64,
        /// Cluster i (0-based) has weight 1/(i+1)^Z: imbalanced sizes, as spatial's cities [default: 0, equal].
        #[arg(long, default_value_t = 0.0, value_name = "Z")]
        zipf: f64,
        /// Fraction of rows that are uniform noise in [-B, B]^D (label -1).
        #[arg(long, default_value_t = 0.0)]
        noise: f64,
    },
    /// Latitude/longitude points around K cities (Zipf-like sizes, spreads of a few km) plus uniform noise.
    Spatial {
        #[command(flatten)]
        common: GenCommon,
        /// Number of cities.
        #[arg(long, short = 'k', value_name = "K")]
        k: usize,
        /// Fraction of rows that are background noise (label -1).
        #[arg(long, default_value_t = 0.05)]
        noise: f64,
        /// Bounding box MIN_LAT,MIN_LON,MAX_LAT,MAX_LON in degrees [default: contiguous US].
        #[arg(long, value_parser = parse_bbox, value_name = "BOX")]
        bbox: Option<[f64; 4]>,
        /// Zipf exponent of city sizes.
        #[arg(long, default_value_t = 1.1)]
        zipf: f64,
    },
    /// Uniform points in [-H, H]^D.
    Uniform {
        #[command(flatten)]
        common: GenCommon,
        /// Dimension.
        #[arg(long, value_name = "D")]
        dim: usize,
        /// Half-width of the box.
        #[arg(long, default_value_t = 10.0, value_name = "H")]
        half_width: f64,
    },
}

/// `--batches`: how mini-batch draws batches from `.npy`/`.f32` files.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BatchesArg {
    Rows,
    Stream,
}

/// How to read an input file (shared by every command that reads one).
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// Columns to use, in order (Parquet, CSV) [default: every numeric column].
    #[arg(long, value_delimiter = ',', value_name = "A,B,...")]
    pub columns: Option<Vec<String>>,
    /// Dimension of a raw .f32 file [default: from FILE.json].
    #[arg(long, value_name = "D")]
    pub dim: Option<usize>,
    /// Skip rows with NaN, Inf or null values (and report how many) instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Datasets: read only the files whose Hive partition directories (key=value) match; several
    /// values of one key match any of them (country=FR,country=DE,day=2026-12-01).
    #[arg(long, value_parser = parse_filter, value_name = "KEY=VALUE,...")]
    pub filter: Option<shoal_reader::PartitionFilter>,
}

fn parse_filter(s: &str) -> Result<shoal_reader::PartitionFilter, String> {
    shoal_reader::PartitionFilter::parse(s)
}

impl InputArgs {
    /// The files `files` name (a file, directories, globs), after `--filter`.
    pub fn dataset(
        &self,
        files: &[PathBuf],
    ) -> Result<shoal_reader::Dataset, shoal_reader::ReadError> {
        shoal_reader::Dataset::resolve(files, &self.filter.clone().unwrap_or_default())
    }

    /// The inputs opened as one source, with the dataset they make.
    pub fn open(
        &self,
        files: &[PathBuf],
    ) -> Result<(shoal_reader::Dataset, Box<dyn shoal_reader::Source>), shoal_reader::ReadError>
    {
        let ds = self.dataset(files)?;
        let src = ds.open(&self.options())?;
        Ok((ds, src))
    }

    pub fn options(&self) -> shoal_reader::OpenOptions {
        shoal_reader::OpenOptions {
            columns: self.columns.clone(),
            dim: self.dim,
            skip_invalid: self.skip_invalid,
        }
    }
}

/// `--precision` of the exact, in-memory algorithms.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PrecisionArg {
    /// The file's own: f64 for float64 (and 32/64-bit integer, and CSV) data, f32 otherwise.
    Auto,
    /// Single precision: half the memory; float64 input is rounded to f32 first.
    F32,
    /// Double precision, also for f32 files.
    F64,
}

impl PrecisionArg {
    pub fn choice(self) -> shoal_engine::exact::PrecisionChoice {
        use shoal_engine::exact::PrecisionChoice as P;
        match self {
            PrecisionArg::Auto => P::Auto,
            PrecisionArg::F32 => P::F32,
            PrecisionArg::F64 => P::F64,
        }
    }
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A .parquet, .npy, .f32 or .csv file; or a Parquet dataset read as one: a directory
    /// (every .parquet file below it), a quoted glob ('data/part-*.parquet'), or several paths.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// One streaming pass for min, max, mean and std of every column.
    #[arg(long)]
    pub stats: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Algo {
    /// Exact k-means: one streaming pass per iteration.
    Lloyd,
    /// Mini-batch k-means (scikit-learn's MiniBatchKMeans), then one assignment pass.
    Minibatch,
    /// Lloyd on a uniform sample (--sample-size), then one assignment pass: two passes in all
    /// (one when a large .npy/.f32 sample is read by row number).
    Subsample,
}

#[derive(Debug, Args, Clone)]
#[command(
    after_help = "Examples:\n  shoal fit gps.parquet -k 50 --model gps.json --labels gps_labels.parquet\n  shoal fit emb.npy -k 256 --n-init 3 --standardize --model emb.json"
)]
pub struct FitArgs {
    /// A .parquet, .npy, .f32 or .csv file; or a Parquet dataset read as one: a directory
    /// (every .parquet file below it), a quoted glob ('data/part-*.parquet'), or several paths.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Number of clusters.
    #[arg(short = 'k', long, value_name = "K")]
    pub k: usize,
    /// Algorithm.
    #[arg(long, value_enum, default_value_t = Algo::Lloyd)]
    pub algo: Algo,
    /// Initialisation: kmeans++ (greedy, on a sample), kmeans-parallel (k-means||: oversampling
    /// passes over all the data), random, or a .npy file of k x d centroids.
    #[arg(long, default_value = "kmeans++", value_name = "METHOD|FILE.npy")]
    pub init: String,
    /// Starts tried on the sample; the best is refined on all the data [default: 10 for random,
    /// 1 for kmeans-parallel with lloyd, 3 otherwise].
    #[arg(long, value_name = "N")]
    pub n_init: Option<usize>,
    /// Random seed (sampling and initialisation).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Maximum Lloyd iterations over the whole data (lloyd, subsample), or
    /// epochs' worth of mini-batch steps [default: 300; 100 for minibatch].
    #[arg(long, value_name = "N")]
    pub max_iter: Option<usize>,
    /// Stop when the total squared centre shift is at most TOL x the mean
    /// feature variance (scikit-learn's rule) [default: 1e-4; 0 (off) for minibatch].
    #[arg(long, value_name = "TOL")]
    pub tol: Option<f64>,
    /// Search every centroid for every row on every Lloyd pass, instead of
    /// keeping per-row bounds between passes (8 bytes a row, used when
    /// d > 8 and they fit in a quarter of --memory). The result is the same;
    /// this is for measuring.
    #[arg(long)]
    pub no_bounds: bool,
    /// Rows sampled in the first pass, for initialisation (and for the
    /// clustering itself with subsample) [default: max(256 k, 100000); for
    /// minibatch 3 x batch size, at least 3 k].
    #[arg(long, value_parser = parse_count_usize, value_name = "M")]
    pub sample_size: Option<usize>,
    /// Mini-batch: rows per batch.
    #[arg(long, default_value = "1024", value_parser = parse_count_usize, value_name = "B", help_heading = "Mini-batch")]
    pub batch_size: usize,
    /// Mini-batch: move centres whose count is below this fraction of the largest.
    #[arg(
        long,
        default_value_t = 0.01,
        value_name = "R",
        help_heading = "Mini-batch"
    )]
    pub reassignment_ratio: f64,
    /// Mini-batch: stop after N steps without improvement of the smoothed batch inertia (0: never).
    #[arg(
        long,
        default_value_t = 10,
        value_name = "N",
        help_heading = "Mini-batch"
    )]
    pub max_no_improvement: usize,
    /// Mini-batch: how batches are drawn from .npy/.f32 files: rows (uniform random rows of
    /// the whole file, as scikit-learn; each a read, from disk if the file is not in memory)
    /// or stream (partitions read in a random order through a shuffle buffer, as for
    /// Parquet: sequential reads, for files larger than memory).
    #[arg(
        long,
        value_enum,
        default_value_t = BatchesArg::Rows,
        value_name = "HOW",
        help_heading = "Mini-batch"
    )]
    pub batches: BatchesArg,
    /// Cluster z-scores ((x - mean) / std); the model and centroids stay in input units.
    #[arg(long, conflicts_with = "whiten")]
    pub standardize: bool,
    /// Cluster x / std (scipy's whiten); the model and centroids stay in input units.
    #[arg(long)]
    pub whiten: bool,
    /// Where to write the model (JSON).
    #[arg(long, value_name = "MODEL.json")]
    pub model: PathBuf,
    /// Write each row's cluster (and distance, for .parquet) in input order.
    #[arg(long, value_name = "OUT")]
    pub labels: Option<PathBuf>,
    /// Write one labels file per input file (cluster, distance), at the input's path below the
    /// dataset's root, each in its input's row order: labels that join back file by file.
    #[arg(long, value_name = "DIR", conflicts_with = "labels")]
    pub labels_dir: Option<PathBuf>,
    /// Write the centroids (k x d, input units) to .npy, .parquet or .f32.
    #[arg(long, value_name = "C.npy")]
    pub centroids_out: Option<PathBuf>,
    /// Save the fit's state to this file (atomically) between Lloyd
    /// iterations or mini-batch steps (rows of a .npy/.f32 file), at most
    /// every --checkpoint-every, so that `--resume` can finish an
    /// interrupted fit.
    #[arg(long, value_name = "FILE", help_heading = "Checkpoints")]
    pub checkpoint: Option<PathBuf>,
    /// Least time between two checkpoints (0: after every iteration).
    #[arg(long, default_value = "30s", value_parser = parse_interval, value_name = "TIME", help_heading = "Checkpoints")]
    pub checkpoint_every: f64,
    /// Continue the fit saved in this checkpoint (same file, same parameters,
    /// same shoal version): the result is the one the fit would have had
    /// uninterrupted. Checkpoints go on to the same file unless --checkpoint
    /// names another.
    #[arg(long, value_name = "FILE", help_heading = "Checkpoints")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub memory: MemoryArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// A .parquet, .npy, .f32 or .csv file; or a Parquet dataset read as one: a directory
    /// (every .parquet file below it), a quoted glob ('data/part-*.parquet'), or several paths.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// A model written by `shoal fit` (applies its scaling).
    #[arg(
        long,
        value_name = "MODEL.json",
        required_unless_present = "centroids",
        conflicts_with = "centroids"
    )]
    pub model: Option<PathBuf>,
    /// A codebook: k x d centroids in .npy (no scaling).
    #[arg(long, value_name = "C.npy")]
    pub centroids: Option<PathBuf>,
    /// Output: .parquet (cluster, distance) or .npy (cluster), rows in input order.
    #[arg(long, value_name = "OUT", required_unless_present = "labels_dir")]
    pub out: Option<PathBuf>,
    /// Instead of --out: one file per input file at the input's path below the dataset's root
    /// (cluster, distance, and with --keep-columns the input's columns), each in its input's row
    /// order.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub labels_dir: Option<PathBuf>,
    /// With a Parquet input and output: carry every input column (ids, names,
    /// timestamps, and a dataset's partition keys) into the output, then `cluster` and `distance`.
    #[arg(long)]
    pub keep_columns: bool,
    #[command(flatten)]
    pub memory: MemoryArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Memory and chunking of streaming passes.
#[derive(Debug, Args, Clone)]
pub struct MemoryArgs {
    /// Memory budget for the streaming pipeline (chunk size, queue depth,
    /// mini-batch shuffle buffer), e.g. 256MiB, 1GiB, 500MB.
    #[arg(long, default_value = "256MiB", value_parser = parse_size, value_name = "SIZE")]
    pub memory: u64,
    /// Rows per chunk [default: from --memory, at most 64k and 512 KiB of values].
    #[arg(long, value_parser = parse_count_usize, value_name = "N")]
    pub chunk_rows: Option<usize>,
}

impl MemoryArgs {
    /// The pass configuration for rows of `dim` values on the current pool.
    pub fn pass_config(&self, dim: usize, verbose: bool) -> shoal_engine::PassConfig {
        let threads = rayon::current_num_threads();
        let mut cfg = shoal_engine::PassConfig::for_memory(self.memory, dim, threads);
        if let Some(c) = self.chunk_rows {
            cfg.chunk_rows = c.max(1);
        }
        if verbose {
            eprintln!(
                "pipeline: budget {} MiB, chunks of {} rows ({:.1} MiB), {} partitions in flight on {} threads",
                self.memory >> 20,
                cfg.chunk_rows,
                (cfg.chunk_rows * (4 * dim + 8)) as f64 / (1u64 << 20) as f64,
                cfg.depth(threads),
                threads
            );
        }
        cfg
    }
}

/// scipy's linkage methods.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LinkageMethod {
    Single,
    Complete,
    Average,
    Weighted,
    Centroid,
    Median,
    Ward,
}

impl LinkageMethod {
    pub fn kernel(self) -> shoal_kernels::hierarchy::Method {
        use shoal_kernels::hierarchy::Method as M;
        match self {
            LinkageMethod::Single => M::Single,
            LinkageMethod::Complete => M::Complete,
            LinkageMethod::Average => M::Average,
            LinkageMethod::Weighted => M::Weighted,
            LinkageMethod::Centroid => M::Centroid,
            LinkageMethod::Median => M::Median,
            LinkageMethod::Ward => M::Ward,
        }
    }
}

/// scipy's fcluster criteria.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CutCriterion {
    /// Clusters whose cophenetic distance is at most t.
    Distance,
    /// At most t clusters (the lowest cut that gives no more).
    Maxclust,
    /// Links whose inconsistency coefficient (over --depth levels) is at most t.
    Inconsistent,
    /// Nodes whose --monocrit value is at most t.
    Monocrit,
    /// At most t clusters by the --monocrit values.
    MaxclustMonocrit,
}

/// k-means used to build micro-clusters.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum MicroAlgo {
    Lloyd,
    Minibatch,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  shoal linkage pts.npy --method ward --out Z.npy --labels L.npy -t 5\n  shoal linkage d.npy --condensed --method average --out Z.npy\n  shoal linkage big.parquet --method ward --micro-clusters 2000 --out Z.npy --labels L.parquet -t 10\n\nsingle, ward, centroid and median run from the observations in O(n*d) memory;\ncomplete, average and weighted need the n(n-1)/2 distance matrix and refuse\nwhen it does not fit in --memory.\nWith --micro-clusters M the rows are first reduced by k-means to M weighted\ncentroids: ward and centroid are then exact on the micro-clusters (sizes as\nweights), average weighs distances by sizes, single/complete/median/weighted\nuse the centroid distances alone. Z's count column counts leaves."
)]
pub struct LinkageArgs {
    /// A .parquet, .npy, .f32 or .csv file of observations, or a Parquet dataset (a directory, a
    /// quoted glob, several paths); with --condensed, a 1-D .npy of distances.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Linkage method.
    #[arg(long, value_enum, default_value_t = LinkageMethod::Single)]
    pub method: LinkageMethod,
    /// Output linkage matrix (.npy, float64, (n-1) x 4).
    #[arg(long, value_name = "Z.npy")]
    pub out: PathBuf,
    /// FILE is a condensed distance vector (scipy's pdist layout), not observations.
    #[arg(long, conflicts_with_all = ["micro_clusters", "sample"])]
    pub condensed: bool,
    /// Reorder leaves so neighbouring leaves are close (scipy's optimal_ordering; O(n^2) memory).
    #[arg(long)]
    pub optimal_ordering: bool,
    /// Reduce the rows by k-means to M weighted micro-clusters first (any file size, bounded memory).
    #[arg(long, value_parser = parse_count_usize, value_name = "M", conflicts_with = "sample")]
    pub micro_clusters: Option<usize>,
    /// Build the tree on a seeded uniform sample of M rows; every row takes its nearest sample point's cluster.
    #[arg(long, value_parser = parse_count_usize, value_name = "M")]
    pub sample: Option<usize>,
    /// k-means for --micro-clusters.
    #[arg(long, value_enum, default_value_t = MicroAlgo::Minibatch)]
    pub algo: MicroAlgo,
    /// Seed for --micro-clusters and --sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Cut the tree and write each row's flat cluster (1..k) here (.npy or .parquet).
    #[arg(long, value_name = "OUT", requires = "t")]
    pub labels: Option<PathBuf>,
    /// Threshold of the cut (a distance, a cluster count, ...; see --criterion).
    #[arg(short = 't', long = "threshold", value_name = "T")]
    pub t: Option<f64>,
    /// How --labels cuts the tree.
    #[arg(long, value_enum, default_value_t = CutCriterion::Maxclust)]
    pub criterion: CutCriterion,
    /// Levels below a link for --criterion inconsistent.
    #[arg(long, default_value_t = 2)]
    pub depth: usize,
    /// Precision of an exact linkage: auto follows the file's storage (float64 stays float64).
    #[arg(long, value_enum, default_value_t = PrecisionArg::Auto)]
    pub precision: PrecisionArg,
    #[command(flatten)]
    pub memory: MemoryArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  shoal fcluster Z.npy --criterion maxclust -t 4 --out L.npy\n  shoal fcluster Z.npy --criterion distance -t 1.5 --out L.parquet"
)]
pub struct FclusterArgs {
    /// A linkage matrix (.npy, (n-1) x 4).
    pub z: PathBuf,
    /// How to cut (scipy's default is inconsistent).
    #[arg(long, value_enum, default_value_t = CutCriterion::Inconsistent)]
    pub criterion: CutCriterion,
    /// Threshold of the cut.
    #[arg(short = 't', long = "threshold", value_name = "T")]
    pub t: f64,
    /// Levels below a link for --criterion inconsistent.
    #[arg(long, default_value_t = 2)]
    pub depth: usize,
    /// One value per row of Z for the monocrit criteria (.npy); default: the largest height at or below each row (scipy's maxdists).
    #[arg(long, value_name = "MC.npy")]
    pub monocrit: Option<PathBuf>,
    /// Output labels, 1..k per leaf in leaf id order (.npy int32 or .parquet column `cluster`).
    #[arg(long, value_name = "L")]
    pub out: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Dendrogram truncation (scipy's truncate_mode).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TruncateMode {
    None,
    /// Only the last p merges.
    Lastp,
    /// At most p levels below the root.
    Level,
}

#[derive(Debug, Args)]
pub struct DendrogramArgs {
    /// A linkage matrix (.npy, (n-1) x 4).
    pub z: PathBuf,
    /// Truncation.
    #[arg(long = "truncate", value_enum, default_value_t = TruncateMode::None)]
    pub truncate: TruncateMode,
    /// The p of the truncation.
    #[arg(short = 'p', default_value_t = 30)]
    pub p: usize,
    /// Output JSON with icoord, dcoord, ivl, leaves and color_list.
    #[arg(long, value_name = "D.json")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CophenetArgs {
    /// A linkage matrix (.npy, (n-1) x 4).
    pub z: PathBuf,
    /// The condensed distances the tree was built from (.npy): prints the cophenetic correlation.
    #[arg(long, value_name = "Y.npy")]
    pub distances: Option<PathBuf>,
    /// Write the condensed cophenetic distances (.npy float64, n(n-1)/2 values).
    #[arg(long, value_name = "C.npy")]
    pub out: Option<PathBuf>,
    /// Memory budget for --out.
    #[arg(long, default_value = "256MiB", value_parser = parse_size, value_name = "SIZE")]
    pub memory: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// DBSCAN distance.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DbscanMetric {
    /// Euclidean distance between rows.
    Euclidean,
    /// Great-circle distance between (latitude, longitude) rows in degrees.
    Haversine,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  shoal dbscan pts.npy --eps 0.1 --min-samples 10 --out labels.npy\n  shoal dbscan gps.parquet --columns lat,lon --metric haversine --eps 500m --min-samples 20 --out gps_db.parquet\n\nThe rows are held in memory in the file's precision (--precision; about 2 x rows x dim x\n4 bytes for f32, 8 for f64, plus 40 bytes a row while the index is built; 10M 2-D f32 points\ntake about 560 MB). Neighbours are tested in f64 as d^2 <= eps^2 (haversine: the angle <= eps). With haversine, --eps takes\na unit: 500m, 50km or 0.01rad (Earth's mean radius 6371.0088 km)."
)]
pub struct DbscanArgs {
    /// A .parquet, .npy, .f32 or .csv file; or a Parquet dataset read as one: a directory
    /// (every .parquet file below it), a quoted glob ('data/part-*.parquet'), or several paths.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Neighbourhood radius (inclusive): a number for euclidean; 500m, 50km or 0.01rad for haversine.
    #[arg(long, value_name = "EPS")]
    pub eps: String,
    /// Points (the point itself included) within eps that make a core point.
    #[arg(long, default_value_t = 5)]
    pub min_samples: usize,
    /// Distance.
    #[arg(long, value_enum, default_value_t = DbscanMetric::Euclidean)]
    pub metric: DbscanMetric,
    /// Precision of the computation: auto follows the file's storage (float64 stays float64).
    #[arg(long, value_enum, default_value_t = PrecisionArg::Auto)]
    pub precision: PrecisionArg,
    /// Labels (-1 noise, 0..c-1 clusters) in input order: .npy (int32) or .parquet (`cluster`).
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Which silhouette `shoal eval` computes.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SilhouetteMode {
    /// Exact up to 20 000 rows, a 10 000-row sample beyond.
    Auto,
    /// Exact: O(n^2) time, O(n) memory.
    Exact,
    /// On a seeded sample of --silhouette-sample rows, with its standard error.
    Sample,
    /// None (only the O(n k) simplified silhouette).
    None,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  shoal eval pts.npy --labels labels.npy\n  shoal eval pts.parquet --labels fit_labels.parquet --truth truth.npy --json\n  shoal eval big.npy --labels l.npy --silhouette-sample 20000"
)]
pub struct EvalArgs {
    /// A .parquet, .npy, .f32 or .csv file; or a Parquet dataset read as one: a directory
    /// (every .parquet file below it), a quoted glob ('data/part-*.parquet'), or several paths.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Labels, one per row: .npy, or the `cluster` column of a .parquet/.csv.
    #[arg(long, value_name = "L")]
    pub labels: PathBuf,
    /// Reference labels for the agreement scores (same formats).
    #[arg(long, value_name = "T")]
    pub truth: Option<PathBuf>,
    /// Column holding the labels in Parquet/CSV label files.
    #[arg(long, default_value = "cluster")]
    pub label_column: String,
    /// Silhouette to compute.
    #[arg(long, value_enum, default_value_t = SilhouetteMode::Auto)]
    pub silhouette: SilhouetteMode,
    /// Rows in the silhouette sample (implies --silhouette sample unless exact is asked for).
    #[arg(long, value_parser = parse_count_usize, value_name = "M")]
    pub silhouette_sample: Option<usize>,
    /// Seed of the silhouette sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Precision of the computation: auto follows the file's storage (float64 stays float64).
    #[arg(long, value_enum, default_value_t = PrecisionArg::Auto)]
    pub precision: PrecisionArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WhitenArgs {
    /// A .parquet, .npy, .f32 or .csv file; or a Parquet dataset read as one: a directory
    /// (every .parquet file below it), a quoted glob ('data/part-*.parquet'), or several paths.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output (.parquet, .npy or .f32), same columns.
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Points to generate.
    #[arg(long, default_value = "1M", value_parser = parse_count, value_name = "N")]
    pub rows: u64,
    /// Keep the generated files in DIR instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Parses counts such as `1000000`, `1_000_000`, `1e6`, `1M`, `100k`, `1B`.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        Some('g' | 'G' | 'b' | 'B') => (&t[..t.len() - 1], 1e9),
        _ => (&t[..], 1.0),
    };
    if let Ok(v) = num.parse::<u64>() {
        return v
            .checked_mul(mult as u64)
            .ok_or_else(|| format!("{s:?} is too large"));
    }
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a count (try 1000000, 1e6 or 1M)"))?;
    let v = v * mult;
    if !(v >= 0.0 && v.fract() == 0.0 && v < 1.8e19) {
        return Err(format!("{s:?} is not a whole, non-negative count"));
    }
    Ok(v as u64)
}

/// Parses sizes such as `256MiB`, `1GiB`, `500MB`, `64k` or a byte count.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (try 256MiB, 1GiB or 500MB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => (1u64 << 20) as f64,
        "g" | "gb" => 1e9,
        "gib" => (1u64 << 30) as f64,
        "t" | "tb" => 1e12,
        "tib" => (1u64 << 40) as f64,
        u => {
            return Err(format!(
                "{s:?}: unknown unit {u:?} (use B, KiB, MiB, GiB, KB, MB, GB)"
            ))
        }
    };
    let b = v * mult;
    if b.is_nan() || b < (16u64 << 20) as f64 {
        return Err(format!("{s:?}: the memory budget must be at least 16MiB"));
    }
    Ok(b as u64)
}

pub fn parse_count_usize(s: &str) -> Result<usize, String> {
    parse_count(s).map(|v| v as usize)
}

pub fn parse_bbox(s: &str) -> Result<[f64; 4], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{s:?}: expected four numbers MIN_LAT,MIN_LON,MAX_LAT,MAX_LON"))?;
    let b: [f64; 4] = v
        .try_into()
        .map_err(|_| format!("{s:?}: expected four numbers MIN_LAT,MIN_LON,MAX_LAT,MAX_LON"))?;
    // (found by fuzzing: "0,1e400,1,2" and "nan,..." parsed as a box)
    if b.iter().any(|x| !x.is_finite()) {
        return Err(format!("{s:?}: every bound must be a finite number"));
    }
    if !(b[0] < b[2] && b[1] < b[3]) {
        return Err(format!(
            "{s:?}: expected MIN_LAT < MAX_LAT and MIN_LON < MAX_LON"
        ));
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(parse_count("1000000"), Ok(1_000_000));
        assert_eq!(parse_count("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_count("1e6"), Ok(1_000_000));
        assert_eq!(parse_count("1M"), Ok(1_000_000));
        assert_eq!(parse_count("2.5k"), Ok(2_500));
        assert_eq!(parse_count("1B"), Ok(1_000_000_000));
        assert!(parse_count("-5").is_err());
        assert!(parse_count("1.5").is_err());
        assert!(parse_count("lots").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1.5 GB"), Ok(1_500_000_000));
        assert!(parse_size("1MiB").is_err(), "below the floor");
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn axes_and_durations() {
        assert_eq!(
            parse_rows_axis("1M..1B"),
            Ok(Counts(vec![
                1_000_000,
                10_000_000,
                100_000_000,
                1_000_000_000
            ]))
        );
        assert_eq!(
            parse_rows_axis("10k,1M,10k"),
            Ok(Counts(vec![10_000, 1_000_000]))
        );
        assert_eq!(parse_threads("1..3"), Ok(Counts(vec![1, 2, 3])));
        assert_eq!(parse_threads("4"), Ok(Counts(vec![4])));
        assert!(parse_threads("0").is_err());
        assert!(parse_rows_axis("10M..1M").is_err());
        assert!(parse_small_axis("2,x").is_err());
        assert_eq!(parse_duration("90s"), Ok(90.0));
        assert_eq!(parse_duration("1.5h"), Ok(5400.0));
        assert_eq!(parse_duration("10m"), Ok(600.0));
        assert!(parse_duration("-3m").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("1e308h").is_err());
        assert_eq!(parse_interval("0"), Ok(0.0));
        assert_eq!(parse_interval("0s"), Ok(0.0));
        assert_eq!(parse_interval("2m"), Ok(120.0));
        assert!(parse_interval("-1").is_err());
        // One unit, not a run of them.
        assert!(parse_interval("0hms").is_err());
        assert!(parse_interval("0ss").is_err());
    }

    #[test]
    fn boxes() {
        assert_eq!(parse_bbox("-10,35,30,60"), Ok([-10.0, 35.0, 30.0, 60.0]));
        // Found by fuzzing: an overflowing or NaN bound was a box.
        assert!(parse_bbox("0,033e366,1,661").is_err());
        assert!(parse_bbox("nan,0,1,1").is_err());
        assert!(parse_bbox("1,0,0,1").is_err(), "min above max");
        assert!(parse_bbox("1,2,3").is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
