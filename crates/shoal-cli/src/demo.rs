//! `shoal demo`: the README's first command. Generates about a million GPS
//! points around cities into a temporary directory and shows what shoal
//! knows about them.

use anyhow::{Context, Result};
use shoal_data_gen::{Generator, Spatial};

use crate::cli::{Algo, AssignArgs, DemoArgs, FitArgs, Global, InfoArgs, InputArgs, MemoryArgs};
use crate::gen::{generate, print_report};
use shoal_data_gen::Outputs;

pub fn run(global: &Global, args: &DemoArgs) -> Result<()> {
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            d.clone()
        }
        None => {
            tmp = tempfile::Builder::new()
                .prefix("shoal-demo-")
                .tempdir()
                .context("creating a temporary directory")?;
            tmp.path().to_path_buf()
        }
    };
    let points = dir.join("gps_points.parquet");
    let labels = dir.join("gps_true_cities.npy");
    let true_labels = labels.clone();
    println!(
        "== shoal demo: {} GPS fixes around 12 cities, 5% background noise",
        crate::output::thousands(args.rows)
    );
    println!();
    let spatial = Spatial::new(args.rows, 12, 7);
    let rep = generate(
        global,
        Generator::Spatial(spatial),
        &Outputs {
            out: points.clone(),
            labels_out: Some(labels.clone()),
            centers_out: None,
            store: shoal_reader::StoreType::F32,
            row_group_rows: 1 << 18,
        },
    )?;
    print_report(&rep);
    println!();
    println!("== shoal info {} --stats", points.display());
    let info = crate::info::report(
        global,
        &InfoArgs {
            files: vec![points.clone()],
            input: InputArgs {
                columns: None,
                dim: None,
                skip_invalid: false,
                filter: None,
            },
            stats: true,
            json: false,
        },
    )?;
    info.print();
    println!();

    let model = dir.join("gps_model.json");
    let labels = dir.join("gps_labels.parquet");
    println!(
        "== shoal fit {} -k 12 --n-init 3 --model {} --labels {}",
        points.display(),
        model.display(),
        labels.display()
    );
    let fit_args = FitArgs {
        files: vec![points.clone()],
        input: InputArgs {
            columns: None,
            dim: None,
            skip_invalid: false,
            filter: None,
        },
        k: 12,
        algo: Algo::Lloyd,
        init: "kmeans++".into(),
        n_init: Some(3),
        seed: 0,
        max_iter: None,
        tol: None,
        no_bounds: false,
        sample_size: None,
        batch_size: 1024,
        reassignment_ratio: 0.01,
        max_no_improvement: 10,
        batches: crate::cli::BatchesArg::Rows,
        standardize: false,
        whiten: false,
        model: model.clone(),
        labels: Some(labels.clone()),
        labels_dir: None,
        centroids_out: None,
        checkpoint: None,
        checkpoint_every: 30.0,
        resume: None,
        memory: MemoryArgs {
            memory: shoal_engine::DEFAULT_MEMORY,
            chunk_rows: None,
        },
        json: false,
    };
    crate::fit::run(global, &fit_args)?;
    println!();
    let assigned = dir.join("gps_assigned.parquet");
    println!(
        "== shoal assign {} --model {} --out {}",
        points.display(),
        model.display(),
        assigned.display()
    );
    crate::assign::run(
        global,
        &AssignArgs {
            files: vec![points.clone()],
            input: fit_args.input.clone(),
            model: Some(model.clone()),
            centroids: None,
            out: Some(assigned),
            labels_dir: None,
            keep_columns: false,
            memory: fit_args.memory.clone(),
            json: false,
        },
    )?;
    println!();

    // The three k-means side by side on the same points.
    println!(
        "== shoal fit {} -k 12 --algo lloyd|minibatch|subsample --n-init 3 (no labels)",
        points.display()
    );
    println!(
        "{:>10}  {:>8}  {:>8}  {:>14}  {:>11}  {:>14}",
        "algo", "passes", "seconds", "inertia", "vs lloyd", "peak RSS"
    );
    let mut lloyd_inertia = None;
    for algo in [Algo::Lloyd, Algo::Minibatch, Algo::Subsample] {
        let a = FitArgs {
            algo,
            labels: None,
            model: dir.join(format!("gps_model_{algo:?}.json").to_lowercase()),
            ..fit_args.clone()
        };
        shoal_engine::reset_peak_rss();
        let (_, f, secs) = crate::fit::fit_and_save(global, &a)?;
        let base = *lloyd_inertia.get_or_insert(f.inertia);
        let passes = f.data_passes();
        println!(
            "{:>10}  {:>8}  {:>8.2}  {:>14.6e}  {:>+10.3}%  {:>14}",
            format!("{algo:?}").to_lowercase(),
            passes,
            secs,
            f.inertia,
            (f.inertia / base - 1.0) * 100.0,
            crate::output::peak_rss().map_or("-".into(), crate::output::bytes)
        );
    }
    println!();

    // Density clustering of the same fixes, and a hierarchical cut.
    let db_out = dir.join("gps_dbscan.parquet");
    println!(
        "== shoal dbscan {} --metric haversine --eps 2km --min-samples 50 --out {}",
        points.display(),
        db_out.display()
    );
    crate::dbscan::run(
        global,
        &crate::cli::DbscanArgs {
            files: vec![points.clone()],
            input: fit_args.input.clone(),
            eps: "2km".into(),
            min_samples: 50,
            metric: crate::cli::DbscanMetric::Haversine,
            precision: crate::cli::PrecisionArg::Auto,
            out: db_out.clone(),
            json: false,
        },
    )?;
    println!();
    let ward_out = dir.join("gps_ward.parquet");
    println!(
        "== shoal linkage {} --method ward --micro-clusters 500 --out {} --labels {} -t 12",
        points.display(),
        dir.join("gps_ward_Z.npy").display(),
        ward_out.display()
    );
    crate::hier::linkage(
        global,
        &crate::cli::LinkageArgs {
            files: vec![points.clone()],
            input: fit_args.input.clone(),
            method: crate::cli::LinkageMethod::Ward,
            out: dir.join("gps_ward_Z.npy"),
            condensed: false,
            optimal_ordering: false,
            micro_clusters: Some(500),
            sample: None,
            algo: crate::cli::MicroAlgo::Minibatch,
            seed: 0,
            labels: Some(ward_out.clone()),
            t: Some(12.0),
            criterion: crate::cli::CutCriterion::Maxclust,
            depth: 2,
            precision: crate::cli::PrecisionArg::Auto,
            memory: fit_args.memory.clone(),
            json: false,
        },
    )?;
    println!();
    crate::eval::demo_table(
        &points,
        &true_labels,
        &[
            ("k-means (12)", labels.as_path()),
            ("dbscan 2km", db_out.as_path()),
            ("ward via 500", ward_out.as_path()),
        ],
    )?;
    println!();

    // Choosing k, then everything in one report.
    let sweep_out = dir.join("gps_sweep.json");
    println!(
        "== shoal sweep {} -k 4..20 --out {}",
        points.display(),
        sweep_out.display()
    );
    crate::sweep::run(
        global,
        &crate::cli::SweepArgs {
            files: vec![points.clone()],
            input: fit_args.input.clone(),
            k: crate::cli::KList((4..=20).collect()),
            algo: crate::cli::SweepAlgo::Subsample,
            sample_size: None,
            n_init: 3,
            seed: 0,
            silhouette_sample: 5_000,
            out: sweep_out.clone(),
            memory: fit_args.memory.clone(),
            json: false,
        },
    )?;
    println!();
    // The dashed line on the dendrogram: between the heights that leave 12
    // clusters and 11.
    let z = dir.join("gps_ward_Z.npy");
    let mut heights: Vec<f64> = crate::hier::load_z(&z)?.iter().map(|m| m.height).collect();
    heights.sort_by(f64::total_cmp);
    let cut = (heights.len() >= 12)
        .then(|| 0.5 * (heights[heights.len() - 12] + heights[heights.len() - 11]));
    // The report outlives a temporary directory.
    let report = match &args.dir {
        Some(d) => d.join("gps_report.html"),
        None => std::env::temp_dir().join("shoal-demo-report.html"),
    };
    println!(
        "== shoal report {} --labels {} --labels {} --truth {} --model {} --linkage {} --sweep {} --out {}",
        points.display(),
        labels.display(),
        ward_out.display(),
        true_labels.display(),
        model.display(),
        z.display(),
        sweep_out.display(),
        report.display()
    );
    let s = crate::report::write(
        global,
        &crate::report::ReportInput {
            files: std::slice::from_ref(&points),
            input: &fit_args.input,
            labels: vec![
                ("k-means (12)".into(), labels.clone()),
                ("ward via 500 micro-clusters (12)".into(), ward_out.clone()),
            ],
            label_column: "cluster",
            truth: Some(&true_labels),
            model: Some(&model),
            linkage: Some(&z),
            cut,
            sweep: Some(&sweep_out),
            silhouette_sample: 20_000,
            seed: 0,
            max_markers: 50_000,
            map: None,
            title: Some(format!(
                "shoal demo: {} GPS fixes around 12 cities",
                crate::output::thousands(args.rows)
            )),
            memory: &fit_args.memory,
            command: "shoal demo".into(),
        },
        &report,
    )?;
    println!(
        "wrote the report ({}, {} figures) in {:.2} s",
        crate::output::bytes(s.bytes),
        s.figures,
        s.seconds
    );
    println!();
    match &args.dir {
        Some(d) => println!("files kept in {}", d.display()),
        None => println!("(generated files are removed; pass --dir DIR to keep them)"),
    }
    println!("report: {} (open it in a browser)", report.display());
    Ok(())
}
