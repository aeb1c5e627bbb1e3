//! Runs the `shoal` binary: outputs, messages, exit codes, and that failed
//! or interrupted runs leave no output behind.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{listing, p, shoal, stderr};
use shoal_reader::{open, read_all, OpenOptions};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fixtures")
}

#[test]
fn gen_is_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["npy", "parquet", "f32"] {
        let mut outs = Vec::new();
        for threads in ["1", "2"] {
            let out = dir.path().join(format!("b{threads}.{ext}"));
            let labels = dir.path().join(format!("l{threads}.npy"));
            let o = shoal(&[
                "gen",
                "blobs",
                "--rows",
                "150k",
                "--dim",
                "3",
                "--k",
                "4",
                "--seed",
                "9",
                "--out",
                p(&out),
                "--labels-out",
                p(&labels),
                "--threads",
                threads,
                "--row-group-rows",
                "40000",
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            outs.push((
                std::fs::read(&out).unwrap(),
                std::fs::read(&labels).unwrap(),
            ));
        }
        assert!(
            outs[0] == outs[1],
            "{ext}: output differs between 1 and 2 threads"
        );
    }
}

#[test]
fn generated_blobs_read_back_near_their_centres() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.parquet");
    let labels = dir.path().join("l.parquet");
    let centers = dir.path().join("c.npy");
    let o = shoal(&[
        "gen",
        "blobs",
        "--rows",
        "200000",
        "--dim",
        "2",
        "--k",
        "5",
        "--seed",
        "1",
        "--out",
        p(&out),
        "--labels-out",
        p(&labels),
        "--centers-out",
        p(&centers),
        "--row-group-rows",
        "30000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pts = open(&out, &OpenOptions::default()).unwrap();
    assert_eq!((pts.info().rows, pts.info().dim), (200_000, 2));
    assert_eq!(pts.info().row_groups, Some(7));
    assert_eq!(pts.info().columns, vec!["x0", "x1"]);
    let x = read_all(pts.as_ref(), 65536).unwrap();
    let lab = read_all(
        open(&labels, &OpenOptions::default()).unwrap().as_ref(),
        65536,
    )
    .unwrap();
    let c = read_all(
        open(&centers, &OpenOptions::default()).unwrap().as_ref(),
        16,
    )
    .unwrap();
    assert_eq!(c.len(), 10);
    let mut sum = [[0.0f64; 2]; 5];
    let mut n = [0usize; 5];
    for (row, &l) in x.chunks(2).zip(&lab) {
        let l = l as usize;
        n[l] += 1;
        sum[l][0] += row[0] as f64;
        sum[l][1] += row[1] as f64;
    }
    for k in 0..5 {
        for j in 0..2 {
            let mean = sum[k][j] / n[k] as f64;
            // ~40k points of unit spread per cluster: standard error 0.005
            assert!(
                (mean - c[k * 2 + j] as f64).abs() < 0.03,
                "cluster {k} dim {j}"
            );
        }
    }
}

#[test]
fn gen_f16_parquet_and_spatial() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.parquet");
    let o = shoal(&[
        "gen",
        "spatial",
        "--rows",
        "5000",
        "--k",
        "3",
        "--dtype",
        "f16",
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = shoal(&["info", p(&out), "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 5000);
    assert_eq!(v["columns"], serde_json::json!(["lat", "lon"]));
    assert_eq!(v["storage"][0][1], "float16");
}

#[test]
fn info_stats_match_an_independent_computation() {
    let f = fixtures().join("f64_c.npy");
    let o = shoal(&["info", p(&f), "--stats", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 1000);
    // Oracle: the numpy-written expectation file, decoded here by hand.
    let b = std::fs::read(fixtures().join("f64_c.npy.expect.npy")).unwrap();
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let x: Vec<f64> = b[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
        .collect();
    for j in 0..3 {
        let col: Vec<f64> = x.chunks(3).map(|r| r[j]).collect();
        let mean = col.iter().sum::<f64>() / 1000.0;
        let std = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 1000.0).sqrt();
        let s = &v["stats"][j];
        assert!((s["mean"].as_f64().unwrap() - mean).abs() < 1e-9 * (1.0 + mean.abs()));
        assert!((s["std"].as_f64().unwrap() - std).abs() < 1e-9 * (1.0 + std));
    }
}

#[test]
fn bad_input_gives_clear_errors_and_exit_codes() {
    let fx = fixtures();
    // corrupt data: exit 1, the file named
    for (file, needle) in [
        ("corrupt_page.parquet", "corrupt_page.parquet"),
        ("truncated.parquet", "not a valid parquet"),
        ("f32_truncated.npy", "truncated"),
        ("object.npy", "pickled"),
    ] {
        let o = shoal(&["info", p(&fx.join(file)), "--stats"]);
        assert_eq!(o.status.code(), Some(1), "{file}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{file}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{file}");
    }
    let o = shoal(&["info", p(&fx.join("f32_nan.npy")), "--stats"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("row 17") && stderr(&o).contains("--skip-invalid"),
        "{}",
        stderr(&o)
    );
    let o = shoal(&[
        "info",
        p(&fx.join("f32_nan.npy")),
        "--stats",
        "--skip-invalid",
        "--json",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["skipped_rows"], 2);
    let o = shoal(&["info", p(&fx.join("ragged.csv")), "--stats"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 8"), "{}", stderr(&o));
    // usage errors: exit 2
    let o = shoal(&["info", "points.xyz"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = shoal(&[
        "info",
        p(&fx.join("mixed.parquet")),
        "--columns",
        "lat,nope",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope"));
    let o = shoal(&[
        "gen", "blobs", "--rows", "ten", "--dim", "2", "--k", "2", "--out", "x.npy",
    ]);
    assert_eq!(o.status.code(), Some(2));
    // missing file: exit 1, named
    let o = shoal(&["info", "/nonexistent/points.parquet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/points.parquet"));
}

#[test]
fn failed_gen_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    // f16 cannot be stored raw: usage error before anything is written
    let out = dir.path().join("x.f32");
    let o = shoal(&[
        "gen",
        "uniform",
        "--rows",
        "100",
        "--dim",
        "2",
        "--dtype",
        "f16",
        "--out",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // the labels cannot be written (no such directory): no points file either
    let out = dir.path().join("x.npy");
    let bad = dir.path().join("missing/l.npy");
    let o = shoal(&[
        "gen",
        "blobs",
        "--rows",
        "100",
        "--dim",
        "2",
        "--k",
        "2",
        "--out",
        p(&out),
        "--labels-out",
        p(&bad),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("missing/l.npy"));
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

#[cfg(unix)]
#[test]
fn ctrl_c_exits_130_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.parquet");
    let child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "gen",
            "blobs",
            "--rows",
            "2B",
            "--dim",
            "2",
            "--k",
            "3",
            "--out",
            p(&out),
            "-q",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the temporary output exists, so the run is under way.
    let t0 = std::time::Instant::now();
    while listing(dir.path()).is_empty() && t0.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let t1 = std::time::Instant::now();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(t1.elapsed().as_secs_f64() < 5.0, "took too long to stop");
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

fn gen_blobs(dir: &Path, name: &str, rows: &str, dim: &str, k: &str) -> PathBuf {
    let out = dir.join(name);
    let o = shoal(&[
        "gen",
        "blobs",
        "--rows",
        rows,
        "--dim",
        dim,
        "--k",
        k,
        "--seed",
        "3",
        "--out",
        p(&out),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

#[test]
fn fit_model_is_identical_for_any_thread_count_and_chunk_size() {
    let dir = tempfile::tempdir().unwrap();
    // several partitions: 300k x 8 = 2.4M values (the mmap partition is 1M values)
    let data = gen_blobs(dir.path(), "b.npy", "300k", "8", "6");
    let pq = dir.path().join("b.parquet");
    let o = shoal(&[
        "gen",
        "blobs",
        "--rows",
        "300k",
        "--dim",
        "8",
        "--k",
        "6",
        "--seed",
        "3",
        "--out",
        p(&pq),
        "--row-group-rows",
        "70000",
        "-q",
    ]);
    assert!(o.status.success());
    // the model file of `fit INPUT -k 6 EXTRA...` for each (threads, chunk rows)
    let models = |input: &Path, extra: &[&str], runs: &[(&str, &str)]| -> Vec<Vec<u8>> {
        runs.iter()
            .enumerate()
            .map(|(i, &(threads, chunk))| {
                let m = dir.path().join(format!("m_{i}.json"));
                let mut args = vec!["fit", p(input), "-k", "6", "--model", p(&m)];
                args.extend_from_slice(extra);
                args.extend_from_slice(&["--threads", threads, "--chunk-rows", chunk, "-q"]);
                let o = shoal(&args);
                assert!(o.status.success(), "{}", stderr(&o));
                std::fs::read(&m).unwrap()
            })
            .collect()
    };
    for input in [&data, &pq] {
        let runs = [("1", "64k"), ("2", "1000"), ("4", "7777"), ("2", "1M")];
        let ms = models(input, &["--seed", "11"], &runs);
        assert!(
            ms.windows(2).all(|w| w[0] == w[1]),
            "{}: models differ",
            input.display()
        );
    }
    // k-means|| draws its own per-row randomness over whole passes
    let ms = models(
        &pq,
        &["--init", "kmeans-parallel"],
        &[("1", "64k"), ("4", "999")],
    );
    assert!(ms[0] == ms[1], "k-means|| models differ");
    // the scaling comes from the statistics pass, which must not depend on
    // the blocks either
    let ms = models(&data, &["--standardize"], &[("1", "64k"), ("3", "1000")]);
    assert!(ms[0] == ms[1], "standardized models differ");
}

#[test]
fn fit_labels_equal_assign_labels_and_recover_the_centres() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("b.parquet");
    let centers = dir.path().join("c.npy");
    let o = shoal(&[
        "gen",
        "blobs",
        "--rows",
        "200k",
        "--dim",
        "3",
        "--k",
        "5",
        "--seed",
        "8",
        "--spread",
        "0.3",
        "--out",
        p(&data),
        "--centers-out",
        p(&centers),
        "-q",
    ]);
    assert!(o.status.success());
    for algo in ["lloyd", "minibatch", "subsample"] {
        let model = dir.path().join(format!("m_{algo}.json"));
        let fit_labels = dir.path().join(format!("fit_{algo}.parquet"));
        let o = shoal(&[
            "fit",
            p(&data),
            "-k",
            "5",
            "--n-init",
            "3",
            "--algo",
            algo,
            "--model",
            p(&model),
            "--labels",
            p(&fit_labels),
            "-q",
        ]);
        assert!(o.status.success(), "{algo}: {}", stderr(&o));
        let assigned = dir.path().join(format!("assign_{algo}.parquet"));
        let o = shoal(&[
            "assign",
            p(&data),
            "--model",
            p(&model),
            "--out",
            p(&assigned),
            "-q",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let a = read_all(
            open(&fit_labels, &OpenOptions::default()).unwrap().as_ref(),
            1 << 16,
        )
        .unwrap();
        let b = read_all(
            open(&assigned, &OpenOptions::default()).unwrap().as_ref(),
            1 << 16,
        )
        .unwrap();
        assert_eq!(a.len(), 400_000); // cluster and distance per row
        assert!(a == b, "{algo}: fit --labels and assign disagree");
        // well-separated blobs (spread 0.3 in a box of 10): every true centre
        // has a fitted centroid within 0.05
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
        assert_eq!(m["algo"], algo);
        assert_eq!(m["converged"], true, "{algo}");
        let truth = read_all(
            open(&centers, &OpenOptions::default()).unwrap().as_ref(),
            16,
        )
        .unwrap();
        for t in truth.chunks(3) {
            let best = m["centroids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    c.as_array()
                        .unwrap()
                        .iter()
                        .zip(t)
                        .map(|(v, w)| (v.as_f64().unwrap() - *w as f64).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .fold(f64::INFINITY, f64::min);
            assert!(
                best < 0.05,
                "{algo}: true centre {t:?} is {best} from the nearest centroid"
            );
        }
    }
}

#[test]
fn a_bad_row_mid_file_stops_every_algorithm_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = gen_blobs(dir.path(), "b.npy", "300k", "2", "4");
    // poison row 201,234, column x1, in place (npy header then f32 pairs)
    let mut bytes = std::fs::read(&data).unwrap();
    let header = bytes.len() - 300_000 * 8;
    let at = header + 201_234 * 8 + 4;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&data, &bytes).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    for algo in ["lloyd", "minibatch", "subsample"] {
        let o = shoal(&[
            "fit",
            p(&data),
            "-k",
            "4",
            "--algo",
            algo,
            "--model",
            p(&out.join("m.json")),
            "--labels",
            p(&out.join("l.parquet")),
            "--memory",
            "16MiB",
            "-q",
        ]);
        assert_eq!(o.status.code(), Some(1), "{algo}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("201234") || e.contains("201,234"), "{algo}: {e}");
        assert!(listing(&out).is_empty(), "{algo}: {:?}", listing(&out));
    }
}

/// Without `--n-init`: three k-means++ starts (each refined on the sample,
/// the best one kept), one k-means|| start for Lloyd (each start is passes
/// over all the data), ten random ones; the model records the number used.
#[test]
fn default_starts_depend_on_the_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let data = gen_blobs(dir.path(), "b.npy", "5k", "2", "3");
    for (algo, init, want) in [
        ("lloyd", "kmeans++", 3),
        ("lloyd", "kmeans-parallel", 1),
        ("minibatch", "kmeans++", 3),
        ("subsample", "kmeans++", 3),
        ("subsample", "random", 10),
    ] {
        let m = dir.path().join("m.json");
        let o = shoal(&[
            "fit",
            p(&data),
            "-k",
            "3",
            "--algo",
            algo,
            "--init",
            init,
            "--model",
            p(&m),
            "-q",
        ]);
        assert!(o.status.success(), "{algo}: {}", stderr(&o));
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
        assert_eq!(m["n_init"], want, "{algo} {init}");
    }
}

#[test]
fn memory_budget_is_parsed_checked_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = gen_blobs(dir.path(), "b.npy", "10k", "4", "3");
    let m = dir.path().join("m.json");
    let o = shoal(&[
        "fit",
        p(&data),
        "-k",
        "3",
        "--model",
        p(&m),
        "--memory",
        "64MiB",
        "-v",
        "--threads",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // 64 MiB / 2 / (4 partitions x 3 buffers x 24 bytes) = 349,525 rows,
    // capped at 512 KiB of values (16 bytes a row): 32,768
    assert!(
        stderr(&o).contains("chunks of 32768 rows")
            && stderr(&o).contains("4 partitions in flight"),
        "{}",
        stderr(&o)
    );
    for bad in ["1MiB", "lots", "12 parsecs"] {
        let o = shoal(&[
            "fit",
            p(&data),
            "-k",
            "3",
            "--model",
            p(&m),
            "--memory",
            bad,
        ]);
        assert_eq!(o.status.code(), Some(2), "--memory {bad}: {}", stderr(&o));
    }
}

#[test]
fn standardize_keeps_the_model_in_input_units() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("s.parquet");
    let o = shoal(&[
        "gen",
        "spatial",
        "--rows",
        "50k",
        "--k",
        "4",
        "--noise",
        "0",
        "--seed",
        "2",
        "--out",
        p(&data),
        "-q",
    ]);
    assert!(o.status.success());
    let model = dir.path().join("m.json");
    let o = shoal(&[
        "fit",
        p(&data),
        "-k",
        "4",
        "--standardize",
        "--n-init",
        "4",
        "--model",
        p(&model),
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    assert_eq!(m["scaling"]["kind"], "standardize");
    // centroids are latitudes/longitudes inside the generator's default box
    for c in m["centroids"].as_array().unwrap() {
        let (lat, lon) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!(
            (24.0..50.0).contains(&lat) && (-125.0..-66.0).contains(&lon),
            "{lat},{lon}"
        );
    }
}

#[test]
fn whiten_divides_by_the_population_std() {
    let dir = tempfile::tempdir().unwrap();
    let data = gen_blobs(dir.path(), "b.npy", "10k", "2", "3");
    let out = dir.path().join("w.npy");
    let o = shoal(&["whiten", p(&data), "--out", p(&out), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w = read_all(open(&out, &OpenOptions::default()).unwrap().as_ref(), 4096).unwrap();
    for j in 0..2 {
        let col: Vec<f64> = w.chunks(2).map(|r| r[j] as f64).collect();
        let mean = col.iter().sum::<f64>() / col.len() as f64;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / col.len() as f64;
        assert!((var - 1.0).abs() < 1e-5, "column {j} variance {var}");
    }
}

#[test]
fn kmeans_bad_input_is_refused_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = gen_blobs(dir.path(), "b.npy", "100", "2", "3");
    let model = dir.path().join("m.json");
    let labels = dir.path().join("l.npy");
    let before = listing(dir.path());
    // k larger than the data, k = 0: usage errors
    for k in ["101", "0"] {
        let o = shoal(&[
            "fit",
            p(&data),
            "-k",
            k,
            "--model",
            p(&model),
            "--labels",
            p(&labels),
        ]);
        assert_eq!(o.status.code(), Some(2), "k={k}: {}", stderr(&o));
        assert!(stderr(&o).contains('k'), "{}", stderr(&o));
    }
    // NaN in the data: exit 1 naming the row; no model, no labels
    let o = shoal(&[
        "fit",
        p(&fixtures().join("f32_nan.npy")),
        "-k",
        "3",
        "--model",
        p(&model),
        "--labels",
        p(&labels),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("row 17"));
    assert_eq!(listing(dir.path()), before);
    // a model of another dimension
    let o = shoal(&["fit", p(&data), "-k", "3", "--model", p(&model), "-q"]);
    assert!(o.status.success());
    let d3 = gen_blobs(dir.path(), "d3.npy", "100", "3", "3");
    let out = dir.path().join("a.npy");
    let o = shoal(&["assign", p(&d3), "--model", p(&model), "--out", p(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("dimension"), "{}", stderr(&o));
    assert!(!out.exists());
    // an unreadable model, a codebook with NaN
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{not json").unwrap();
    let o = shoal(&["assign", p(&data), "--model", p(&junk), "--out", p(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("junk.json"));
    let o = shoal(&[
        "assign",
        p(&data),
        "--centroids",
        p(&fixtures().join("f32_nan.npy")),
        "--out",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
    // fewer distinct points than k
    let same = dir.path().join("same.csv");
    std::fs::write(&same, "x,y\n1,1\n1,1\n2,2\n1,1\n").unwrap();
    let o = shoal(&["fit", p(&same), "-k", "3", "--model", p(&model)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("distinct"), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn closed_stdout_is_not_a_panic() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(["demo", "--rows", "20000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // read one byte, then close our end of the pipe
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn assign_keep_columns_carries_the_input_columns() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    // mixed.parquet: id (int64), lat, lon, count (int32); cluster on lat,lon
    let input = fx.join("mixed.parquet");
    let cents = dir.path().join("c.npy");
    let mut w = shoal_reader::NpyWriter::<f32>::create(&cents, Some(2)).unwrap();
    w.write(&[-1.0, -5.0, 1.0, -5.0]).unwrap();
    w.finish().unwrap();
    let out = dir.path().join("out.parquet");
    let o = shoal(&[
        "assign",
        p(&input),
        "--columns",
        "lat,lon",
        "--centroids",
        p(&cents),
        "--out",
        p(&out),
        "--keep-columns",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // the id column comes through unchanged, and cluster agrees with a plain assign
    let ids = open(
        &out,
        &OpenOptions {
            columns: Some(vec!["id".into(), "cluster".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    let v = read_all(ids.as_ref(), 300).unwrap();
    assert_eq!(v.len(), 2000);
    assert!(
        v.chunks(2).enumerate().all(|(i, r)| r[0] == i as f32),
        "ids changed"
    );
    let plain = dir.path().join("plain.npy");
    let o = shoal(&[
        "assign",
        p(&input),
        "--columns",
        "lat,lon",
        "--centroids",
        p(&cents),
        "--out",
        p(&plain),
        "-q",
    ]);
    assert!(o.status.success());
    let labels = read_all(open(&plain, &OpenOptions::default()).unwrap().as_ref(), 300).unwrap();
    assert!(v.chunks(2).zip(&labels).all(|(r, l)| r[1] == *l));
    let all = open(&out, &OpenOptions::default()).unwrap();
    assert_eq!(
        all.info().columns,
        vec!["id", "lat", "lon", "count", "cluster", "distance"]
    );
    // not for .npy outputs
    let o = shoal(&[
        "assign",
        p(&input),
        "--columns",
        "lat,lon",
        "--centroids",
        p(&cents),
        "--out",
        p(&plain),
        "--keep-columns",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
