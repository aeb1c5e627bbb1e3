//! `shoal fit`: streaming k-means.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use shoal_engine::checkpoint::Checkpoints;
use shoal_engine::kmeans::{
    fit_checkpointed, Algo, Init, KMeansConfig, KMeansError, KMeansFit, LabelSink, ScalingKind,
};
use shoal_engine::minibatch::MiniBatchConfig;
use shoal_reader::{MatrixWriter, StoreType};

use crate::cli::{FitArgs, Global};
use crate::exit::usage;
use crate::model::{FitParams, Model};
use crate::output::{rate, thousands};
use crate::progress::Bar;
use crate::CANCEL;

#[derive(Debug, Serialize)]
struct PassJson {
    name: String,
    seconds: f64,
    rows: u64,
    rows_per_second: f64,
    peak_rss_bytes: Option<u64>,
    /// Rows searched in full on a Lloyd pass with per-row bounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    searched_rows: Option<u64>,
}

#[derive(Debug, Serialize)]
struct FitReport<'a> {
    model: &'a Model,
    seconds: f64,
    passes: Vec<PassJson>,
    sample_rows: usize,
    sample_inertia: Option<f64>,
    minibatch_steps: Option<u64>,
    peak_rss_bytes: Option<u64>,
}

fn load_init(path: &Path, k: usize, dim: usize) -> Result<Vec<f32>> {
    let (c, cdim) = crate::assign::read_codebook(path).context("reading --init centroids")?;
    let rows = c.len() / cdim;
    if rows != k || cdim != dim {
        return Err(usage(format!(
            "{}: holds {rows} x {cdim} centroids, expected k x dim = {k} x {dim}",
            path.display(),
        )));
    }
    Ok(c)
}

/// Maps k-means errors to the CLI's error classes.
pub fn kmeans_err(e: KMeansError) -> anyhow::Error {
    match e {
        KMeansError::Engine(en) => en.into(),
        KMeansError::Write(w) => w.into(),
        KMeansError::KTooLarge { .. }
        | KMeansError::KZero
        | KMeansError::BadInit(_)
        | KMeansError::Unsupported(_)
        | KMeansError::Budget(_) => usage(e.to_string()),
        KMeansError::TooFewDistinct { .. } => anyhow::Error::new(e),
    }
}

pub fn run(global: &Global, args: &FitArgs) -> Result<KMeansFit> {
    let (model, fitted, seconds) = fit_and_save(global, args)?;
    if args.json {
        let rep = FitReport {
            model: &model,
            seconds,
            passes: fitted
                .passes
                .iter()
                .map(|p| PassJson {
                    name: p.name.clone(),
                    seconds: p.seconds,
                    rows: p.rows,
                    rows_per_second: p.rows as f64 / p.seconds.max(1e-9),
                    peak_rss_bytes: p.peak_rss,
                    searched_rows: p.searched_rows,
                })
                .collect(),
            minibatch_steps: fitted.minibatch_steps,
            sample_rows: fitted.sample_rows,
            sample_inertia: fitted.sample_inertia,
            peak_rss_bytes: crate::output::peak_rss(),
        };
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        print_summary(&model, &fitted, seconds);
    }
    Ok(fitted)
}

/// Fits, then writes the model and the requested outputs (all complete
/// before any is renamed into place). Prints nothing on stdout.
pub fn fit_and_save(global: &Global, args: &FitArgs) -> Result<(Model, KMeansFit, f64)> {
    let (ds, src) = args.input.open(&args.files)?;
    if let Some(d) = &args.labels_dir {
        if args.input.skip_invalid {
            return Err(usage(
                "--labels-dir cannot be combined with --skip-invalid (a skipped row would have no label in its file)",
            ));
        }
        crate::labels_dir::check(d)?;
    }
    let info = src.info().clone();
    if args.k == 0 {
        return Err(usage("-k must be at least 1"));
    }
    let algo = match args.algo {
        crate::cli::Algo::Lloyd => Algo::Lloyd,
        crate::cli::Algo::Minibatch => Algo::MiniBatch,
        crate::cli::Algo::Subsample => Algo::Subsample,
    };
    let tol = args
        .tol
        .unwrap_or(if algo == Algo::MiniBatch { 0.0 } else { 1e-4 });
    if !(tol >= 0.0 && tol.is_finite()) {
        return Err(usage("--tol must be a finite number >= 0"));
    }
    let max_iter = args
        .max_iter
        .unwrap_or(if algo == Algo::MiniBatch { 100 } else { 300 });
    if args.batch_size == 0 {
        return Err(usage("--batch-size must be at least 1"));
    }
    if !(0.0..=1.0).contains(&args.reassignment_ratio) {
        return Err(usage("--reassignment-ratio must be between 0 and 1"));
    }
    if args.sample_size == Some(0) {
        return Err(usage("--sample-size must be at least 1"));
    }
    let (init, init_name) = match args.init.as_str() {
        "kmeans++" | "k-means++" => (Init::KMeansPlusPlus, "kmeans++".to_string()),
        "random" => (Init::Random, "random".to_string()),
        "kmeans-parallel" | "kmeans||" | "k-means||" => {
            (Init::KMeansParallel, "kmeans-parallel".to_string())
        }
        path => {
            let p = Path::new(path);
            if !p.exists() {
                return Err(usage(format!(
                    "--init {path:?}: expected kmeans++, kmeans-parallel, random or an existing .npy file of centroids"
                )));
            }
            (
                Init::Given(load_init(p, args.k, info.dim)?),
                format!("file:{path}"),
            )
        }
    };
    // (one k-means++ start often ends in a poor optimum: on the 1B x 2
    // benchmark file, 2 of 8 mini-batch seeds within 1% of the best inertia
    // with one start, 5 of 8 with three; on Zipf-sized GPS cities with 5%
    // noise, Lloyd's 90th percentile over 20 seeds was 1.18x the best of
    // ten runs with one start and 1.012x with three, for a fixed 30 ms or
    // so on a 100k-row sample. The extra starts run on the sample only;
    // k-means|| makes passes over all the data for each start, so it keeps one)
    let n_init = args.n_init.unwrap_or(match (&init, algo) {
        (Init::Random, _) => 10,
        (Init::Given(_), _) | (Init::KMeansParallel, Algo::Lloyd) => 1,
        _ => 3,
    });
    if n_init == 0 {
        return Err(usage("--n-init must be at least 1"));
    }
    let cfg = KMeansConfig {
        algo,
        k: args.k,
        init,
        n_init,
        max_iter,
        tol,
        seed: args.seed,
        sample_size: args.sample_size,
        scaling: if args.standardize {
            ScalingKind::Standardize
        } else if args.whiten {
            ScalingKind::Whiten
        } else {
            ScalingKind::None
        },
        pass: args.memory.pass_config(info.dim, global.verbose),
        minibatch: MiniBatchConfig {
            batch_size: args.batch_size,
            reassignment_ratio: args.reassignment_ratio,
            max_no_improvement: (args.max_no_improvement > 0).then_some(args.max_no_improvement),
            shuffle_rows: None,
            batches: match args.batches {
                crate::cli::BatchesArg::Rows => shoal_engine::minibatch::Batches::Rows,
                crate::cli::BatchesArg::Stream => shoal_engine::minibatch::Batches::Stream,
            },
        },
        memory: args.memory.memory,
        bounds: !args.no_bounds,
    };
    // Checkpoints: the file the fit is of and the parameters that decide
    // its result, checked on --resume.
    let ck_path = args.checkpoint.clone().or_else(|| args.resume.clone());
    let mut saver = None;
    let mut resume = None;
    if ck_path.is_some() || args.resume.is_some() {
        if src.files().iter().any(|f| shoal_reader::remote::is_url(f)) {
            return Err(usage(
                "--checkpoint and --resume need local input files (an object's identity is not checked across runs yet); copy the data to a local disk, or fit without checkpoints",
            ));
        }
        let identity = src
            .files()
            .iter()
            .map(|f| crate::checkpoint::Identity::of(f))
            .collect::<Result<Vec<_>>>()?;
        let params = serde_json::json!({
            "k": args.k,
            "algo": algo.name(),
            "batch_size": args.batch_size,
            "reassignment_ratio": args.reassignment_ratio,
            "max_no_improvement": args.max_no_improvement,
            "batches": format!("{:?}", args.batches),
            "init": init_name,
            "n_init": n_init,
            "seed": args.seed,
            "max_iter": max_iter,
            "tol": tol,
            "sample_size": args.sample_size,
            "scaling": format!("{:?}", cfg.scaling),
            "columns": info.columns,
            "skip_invalid": args.input.skip_invalid,
        });
        let serde_json::Value::Object(params) = params else {
            unreachable!("an object literal")
        };
        if let Some(r) = &args.resume {
            resume = Some(crate::checkpoint::load(r, &identity, &params)?);
        }
        if let Some(p) = ck_path {
            saver = Some(crate::checkpoint::Saver::new(
                p,
                args.checkpoint_every,
                identity,
                params,
            ));
        }
    }
    if let Some(st) = &resume {
        if !global.quiet {
            eprintln!(
                "resuming {}{}",
                match &st.minibatch {
                    Some(m) => format!("after {} mini-batch steps", m.steps),
                    None => format!(
                        "after {} Lloyd iteration{}",
                        st.iterations,
                        if st.iterations == 1 { "" } else { "s" }
                    ),
                },
                if st.done {
                    " (only the final assignment is left)"
                } else {
                    ""
                }
            );
        }
    }

    let start = std::time::Instant::now();
    let mut labels = crate::labels_dir::LabelsOut::create(
        args.labels.as_deref(),
        args.labels_dir.as_deref(),
        &ds,
        src.as_ref(),
    )?;
    let bar = Bar::passes(info.rows, info.file_bytes, global.quiet);
    let result = fit_checkpointed(
        src.as_ref(),
        &cfg,
        &CANCEL,
        &bar,
        labels.as_mut().map(|l| l as &mut dyn LabelSink),
        Checkpoints {
            resume,
            save: saver
                .as_mut()
                .map(|s| s as &mut dyn shoal_engine::checkpoint::Checkpointer),
        },
    );
    bar.finish();
    let fitted = result.map_err(kmeans_err)?;
    let model = Model::from_fit(
        &fitted,
        FitParams {
            columns: info.columns.clone(),
            init: init_name,
            n_init,
            seed: args.seed,
            tol,
            max_iter,
            source: info.path.display().to_string(),
        },
    );
    // All outputs are complete before any is renamed into place.
    if let Some(p) = &args.centroids_out {
        let mut w = MatrixWriter::create(p, fitted.dim, &info.columns, StoreType::F32, 1 << 20)?;
        w.write(&fitted.centroids)?;
        w.finish()?;
    }
    if let Some(l) = labels {
        l.finish()?;
    }
    model.save(&args.model)?;
    Ok((model, fitted, start.elapsed().as_secs_f64()))
}

pub fn print_summary(m: &Model, f: &KMeansFit, seconds: f64) {
    let what = match f.minibatch_steps {
        Some(steps) => format!("{} mini-batch steps", thousands(steps)),
        None if f.algo == Algo::Subsample => format!("{} iterations on the sample", m.iterations),
        None => format!("{} iterations", m.iterations),
    };
    println!(
        "k-means ({}): k = {}, {} rows x {}, {} ({}), inertia {:.6e}",
        m.algo,
        m.k,
        thousands(m.rows),
        m.dim,
        what,
        if m.converged {
            "converged"
        } else {
            "not converged: raise --max-iter"
        },
        m.inertia
    );
    let data_passes = f.data_passes() as u64;
    println!(
        "{} pass{} over the data in {:.2} s ({} rows/s per pass); {} on a sample of {} rows{}",
        data_passes,
        if data_passes == 1 { "" } else { "es" },
        seconds,
        rate(m.rows * data_passes, seconds),
        if f.algo == Algo::Subsample {
            "fitted"
        } else {
            "initialised"
        },
        thousands(f.sample_rows as u64),
        match (f.algo, m.empty_cluster_relocations) {
            (_, 0) => String::new(),
            (Algo::MiniBatch, n) => format!("; {n} centres reassigned"),
            (_, n) => format!("; {n} empty clusters relocated"),
        }
    );
    if m.skipped_rows > 0 {
        println!("{} invalid rows skipped", thousands(m.skipped_rows));
    }
    let show = m.k.min(20);
    let w = m.dim.min(6);
    println!();
    print!("{:>7}  {:>12}", "cluster", "count");
    for c in m.columns.iter().take(w) {
        print!("  {:>12}", c);
    }
    println!();
    for j in 0..show {
        print!("{:>7}  {:>12}", j, thousands(m.counts[j]));
        for v in m.centroids[j].iter().take(w) {
            print!("  {:>12.5}", v);
        }
        println!();
    }
    if m.k > show {
        println!("  ... {} more clusters in the model file", m.k - show);
    }
}
