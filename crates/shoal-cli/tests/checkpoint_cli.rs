//! `shoal fit --checkpoint/--resume`: a fit killed with SIGKILL at a random
//! point and resumed from its last checkpoint ends with the model and labels
//! of a fit that was never interrupted, byte for byte; a checkpoint of
//! another file, other parameters or another version is refused.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{gen, p, shoal, stderr};

/// A seed for "a random point" that differs from run to run, printed so a
/// failure can be replayed (`SHOAL_TEST_SEED`).
fn seed() -> u64 {
    let s = std::env::var("SHOAL_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.subsec_nanos() as u64)
        });
    eprintln!("SHOAL_TEST_SEED={s}");
    s
}

fn saved(ck: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(ck).ok()?;
    serde_json::from_str(&text).ok()
}

fn iterations_saved(ck: &Path) -> Option<u64> {
    saved(ck)?["state"]["iterations"].as_u64()
}

/// Mini-batch steps in the checkpoint (0 for a Lloyd one).
fn steps_saved(ck: &Path) -> Option<u64> {
    let v = saved(ck)?;
    Some(v["state"]["minibatch"]["steps"].as_u64().unwrap_or(0))
}

fn fit_args<'a>(data: &'a str, model: &'a str, labels: &'a str) -> Vec<&'a str> {
    vec![
        "fit",
        data,
        "-k",
        "24",
        "--tol",
        "0",
        "--max-iter",
        "30",
        "--seed",
        "5",
        "--model",
        model,
        "--labels",
        labels,
        "--quiet",
    ]
}

/// Kills a checkpointing fit once its checkpoint holds `at` iterations (plus
/// a random delay, so the kill lands anywhere in the next pass), resumes it,
/// and compares with an uninterrupted fit.
fn killed_and_resumed(dim: usize, rng: u64) {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let data = d("data.npy");
    let out = shoal(&[
        // Uniform points: Lloyd is still moving them after 30 iterations.
        "gen",
        "uniform",
        "--rows",
        "300k",
        "--dim",
        &dim.to_string(),
        "--seed",
        "11",
        "--out",
        p(&data),
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (m_ref, l_ref) = (d("ref.json"), d("ref.npy"));
    let out = shoal(&fit_args(p(&data), p(&m_ref), p(&l_ref)));
    assert!(out.status.success(), "{}", stderr(&out));

    let (m, l, ck) = (d("model.json"), d("labels.npy"), d("fit.ckpt"));
    let mut args = fit_args(p(&data), p(&m), p(&l));
    args.extend(["--checkpoint", p(&ck), "--checkpoint-every", "0"]);
    let at = 2 + rng % 26;
    let delay = Duration::from_micros((rng >> 8) % 40_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if iterations_saved(&ck).is_some_and(|i| i >= at) {
            std::thread::sleep(delay);
            break;
        }
        if child.try_wait().unwrap().is_some() {
            panic!("the fit ended before its checkpoint reached {at} iterations");
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    let done = iterations_saved(&ck).unwrap();
    eprintln!("d = {dim}: killed ({status}) with {done} iterations saved (asked {at})");
    assert!(!m.exists(), "a killed fit wrote no model");
    assert!(!l.exists(), "a killed fit wrote no labels");

    args.extend(["--resume", p(&ck), "--json"]);
    let out = shoal(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    // It resumed: its passes are the iterations left and the assignment.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = report["model"]["iterations"].as_u64().unwrap();
    let passes = report["passes"].as_array().unwrap();
    assert_eq!(passes.len() as u64, total - done + 1, "{passes:?}");
    let first = if done < total {
        format!("lloyd {}", done + 1)
    } else {
        "assign".to_string()
    };
    assert_eq!(passes[0]["name"], first.as_str());
    assert_eq!(
        std::fs::read_to_string(&m).unwrap(),
        std::fs::read_to_string(&m_ref).unwrap(),
        "the resumed fit's model is the uninterrupted one's"
    );
    assert!(
        std::fs::read(&l).unwrap() == std::fs::read(&l_ref).unwrap(),
        "the resumed fit's labels are the uninterrupted one's"
    );
    let last = saved(&ck).unwrap();
    assert_eq!(
        last["state"]["done"], true,
        "the last checkpoint is the end"
    );
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    assert_eq!(last["state"]["iterations"], model["iterations"]);
    assert!(
        model["iterations"].as_u64().unwrap() > at,
        "the kill came before the end"
    );
}

#[test]
fn a_killed_fit_resumes_to_the_uninterrupted_result() {
    let s = seed();
    // d = 8 searches every centroid; d = 16 keeps per-row bounds between
    // passes, which a resumed fit starts without.
    killed_and_resumed(8, s);
    killed_and_resumed(16, s.rotate_left(17));
}

/// Mini-batch drawing rows of a `.npy` file: killed after a random number
/// of steps, resumed, the same model and labels as without the kill.
#[test]
fn a_killed_minibatch_fit_resumes_to_the_uninterrupted_result() {
    let rng = seed();
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let data = d("data.npy");
    gen(
        &data,
        &["uniform", "--rows", "200k", "--dim", "8", "--seed", "3"],
    );
    let args = |m: &'static str, l: &'static str| -> Vec<String> {
        [
            "fit",
            p(&data),
            "-k",
            "24",
            "--algo",
            "minibatch",
            "--batch-size",
            "512",
            "--max-iter",
            "30",
            "--max-no-improvement",
            "0",
            "--seed",
            "9",
            "--quiet",
            "--model",
            p(&d(m)),
            "--labels",
            p(&d(l)),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |a: &[String]| shoal(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let out = run(&args("ref.json", "ref.npy"));
    assert!(out.status.success(), "{}", stderr(&out));
    let ck = d("fit.ckpt");
    let mut a = args("model.json", "labels.npy");
    a.extend([
        "--checkpoint".into(),
        p(&ck).into(),
        "--checkpoint-every".into(),
        "0.02s".into(),
    ]);
    // 30 epochs of 200k rows: 11,718 steps; kill after 1,000 to 9,000.
    let at = 1000 + rng % 8000;
    let mut child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(&a)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while steps_saved(&ck).is_none_or(|s| s < at) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before step {at}"
        );
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = steps_saved(&ck).unwrap();
    eprintln!("mini-batch: killed with {done} steps saved (asked {at})");
    assert!(!d("model.json").exists());
    a.extend(["--resume".into(), p(&ck).into(), "--json".into()]);
    let out = run(&a);
    assert!(out.status.success(), "{}", stderr(&out));
    // It resumed: no first pass (sample), the steps, then the assignment.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report["passes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.contains("sample")), "{names:?}");
    assert_eq!(names.last(), Some(&"assign"), "{names:?}");
    assert_eq!(
        std::fs::read_to_string(d("model.json")).unwrap(),
        std::fs::read_to_string(d("ref.json")).unwrap(),
        "the resumed mini-batch fit's model is the uninterrupted one's"
    );
    assert!(std::fs::read(d("labels.npy")).unwrap() == std::fs::read(d("ref.npy")).unwrap());
    assert!(
        steps_saved(&ck).unwrap() > done,
        "it went on from the checkpoint"
    );
}

#[test]
fn a_checkpoint_of_something_else_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let (data, other) = (d("data.npy"), d("other.npy"));
    for (f, seed) in [(&data, "1"), (&other, "2")] {
        gen(
            f,
            &[
                "blobs", "--rows", "5000", "--dim", "3", "-k", "4", "--seed", seed,
            ],
        );
    }
    let (m, l, ck) = (d("m.json"), d("l.npy"), d("fit.ckpt"));
    let mut args = fit_args(p(&data), p(&m), p(&l));
    args.extend(["--checkpoint", p(&ck)]);
    let out = shoal(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(ck.exists(), "the last state is saved whatever the interval");

    let resume = |args: &[&str]| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--resume", p(&ck)]);
        shoal(&a)
    };
    // Other parameters.
    let mut other_k = fit_args(p(&data), p(&m), p(&l));
    other_k[3] = "25";
    let out = resume(&other_k);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("k: 24 then, 25 now"),
        "{}",
        stderr(&out)
    );
    // Another file.
    let out = resume(&fit_args(p(&other), p(&m), p(&l)));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("it is of"), "{}", stderr(&out));
    // The same file, changed since.
    let bytes = std::fs::read(&data).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&data, &bytes).unwrap();
    let out = resume(&fit_args(p(&data), p(&m), p(&l)));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has changed since"),
        "{}",
        stderr(&out)
    );
    // Another version (and a damaged file).
    let text = std::fs::read_to_string(&ck).unwrap();
    let version = format!("\"version\":\"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(text.contains(&version), "{text}");
    std::fs::write(&ck, text.replace(&version, "\"version\":\"0.0.1\"")).unwrap();
    let out = resume(&fit_args(p(&data), p(&m), p(&l)));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("written by shoal 0.0.1"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&ck, &text[..text.len() / 2]).unwrap();
    let out = resume(&fit_args(p(&data), p(&m), p(&l)));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a shoal checkpoint"),
        "{}",
        stderr(&out)
    );
    // Runs with nothing to resume from a step are refused, not ignored:
    // subsample-then-assign, and mini-batch streaming its batches.
    for (algo, why) in [
        (vec!["--algo", "subsample"], "nothing to checkpoint"),
        (
            vec!["--algo", "minibatch", "--batches", "stream"],
            "this run streams them",
        ),
    ] {
        let mut a = fit_args(p(&data), p(&m), p(&l));
        a.extend(algo);
        a.extend(["--checkpoint", p(&ck)]);
        let out = shoal(&a);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
    }
}
