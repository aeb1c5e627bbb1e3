//! The memory promise, kept under a hard limit: the streaming commands run
//! under an address-space limit (RLIMIT_AS, util-linux's `prlimit --as`) of
//! `--memory` plus the documented 32 MiB plus 2 MiB per thread, on files
//! five times larger than the limit, and succeed; a budget too small for the fit
//! asked for is refused before anything is read, with the least budget that
//! would do, and that budget does.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::process::Command;

use common::{gen, p, shoal, stderr};

const MIB: u64 = 1 << 20;

fn has_prlimit() -> bool {
    let ok = Command::new("prlimit").arg("--version").output().is_ok();
    if !ok {
        eprintln!("skipped: needs util-linux's prlimit");
    }
    ok
}

#[test]
fn streaming_commands_run_within_memory_plus_the_constant() {
    if !has_prlimit() {
        return;
    }
    let threads = 2u64;
    let budget = 32 * MIB;
    let limit = budget + 32 * MIB + 2 * MIB * threads;
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let (npy, pq, centers) = (d("x.npy"), d("x.parquet"), d("c.npy"));
    for out in [&npy, &pq] {
        // 12M x 8 float32: 384 MB, over five times the limit.
        gen(
            out,
            &[
                "blobs",
                "--rows",
                "12M",
                "--dim",
                "8",
                "-k",
                "16",
                "--centers-out",
                p(&centers),
                "--row-group-rows",
                "250000",
            ],
        );
        assert!(std::fs::metadata(out).unwrap().len() > 5 * limit);
    }
    let (m, l, w) = (d("m.json"), d("l.npy"), d("w.f32"));
    let runs: Vec<Vec<&str>> = vec![
        vec![
            "fit",
            p(&npy),
            "-k",
            "16",
            "--max-iter",
            "3",
            "--model",
            p(&m),
            "--labels",
            p(&l),
        ],
        vec![
            "fit",
            p(&pq),
            "-k",
            "16",
            "--max-iter",
            "3",
            "--model",
            p(&m),
            "--labels",
            p(&l),
        ],
        vec![
            "fit",
            p(&npy),
            "-k",
            "16",
            "--algo",
            "minibatch",
            "--max-iter",
            "1",
            "--model",
            p(&m),
        ],
        vec![
            "fit",
            p(&pq),
            "-k",
            "16",
            "--algo",
            "minibatch",
            "--max-iter",
            "1",
            "--model",
            p(&m),
        ],
        vec![
            "fit",
            p(&pq),
            "-k",
            "16",
            "--algo",
            "subsample",
            "--model",
            p(&m),
        ],
        vec!["assign", p(&pq), "--centroids", p(&centers), "--out", p(&l)],
        vec!["whiten", p(&npy), "--out", p(&w)],
        vec!["bench", "read", p(&pq)],
    ];
    for args in runs {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--as={limit}"))
            .arg(env!("CARGO_BIN_EXE_shoal"))
            .args(["--threads", &threads.to_string()])
            .args(&args)
            .arg("-q");
        // `bench read` and `whiten` size their chunks as `fit` does for the
        // default budget; the others are given the small one.
        if !matches!(args[0], "whiten" | "bench") {
            cmd.args(["--memory", "32MiB"]);
        }
        let o = cmd.output().unwrap();
        assert!(
            o.status.success(),
            "{args:?} under {} MiB of address space: {:?} {}",
            limit / MIB,
            o.status,
            stderr(&o)
        );
    }
}

#[test]
fn a_budget_too_small_for_the_fit_is_refused_with_the_least_that_does() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    gen(&x, &["uniform", "--rows", "400k", "--dim", "2"]);
    let m = dir.path().join("m.json");
    // k = 3000 samples every row (256 k > 400k): 400k x 2 values and their
    // initialisation state, over a quarter of 16 MiB.
    let fit = |memory: &str| {
        shoal(&[
            "fit",
            p(&x),
            "-k",
            "3000",
            "--init",
            "random",
            "--n-init",
            "1",
            "--max-iter",
            "1",
            "--memory",
            memory,
            "--model",
            p(&m),
            "-q",
        ])
    };
    let o = fit("16MiB");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!m.exists(), "refused before any output");
    let least = err
        .split("of at least ")
        .nth(1)
        .and_then(|s| s.split("MiB").next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no least budget in: {err}"));
    // The sample alone is 400k x (8 + 16) bytes = 9.2 MiB: four times that,
    // at least.
    assert!(least >= 36, "{err}");
    let o = fit(&format!("{least}MiB"));
    assert!(
        o.status.success(),
        "the budget it named works: {}",
        stderr(&o)
    );
}
