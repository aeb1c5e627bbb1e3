//! Parquet datasets read as one source: a Hive-partitioned directory, a
//! glob and a list of paths give, bit for bit, what one file holding the
//! same row groups in the same order gives; files that disagree, empty
//! directories and filters that match nothing are clear errors; `--filter`
//! never opens the files it leaves out; `--labels-dir` joins back row for
//! row. (Datasets written by pyarrow are checked in python/tests.)

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::{gen, listing, p, shoal, stderr};
use shoal_reader::{BatchWriter, RecordBatches};

const RG: usize = 5000;

/// Row groups of `all` (`RG` rows each) copied, in order, into files of a
/// Hive-partitioned dataset under `dir`: (relative path, row groups).
fn split(all: &Path, dir: &Path, layout: &[(&str, usize)]) -> Vec<PathBuf> {
    let mut b = RecordBatches::open(all, RG).unwrap();
    let schema = b.schema();
    let mut out = Vec::new();
    for (rel, groups) in layout {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut w = BatchWriter::with_options(&path, schema.clone(), RG, true).unwrap();
        for _ in 0..*groups {
            let batch = b.next_batch().unwrap().unwrap();
            assert_eq!(batch.num_rows(), RG, "a batch is a row group");
            w.write(&batch).unwrap();
        }
        w.finish().unwrap();
        out.push(path);
    }
    assert!(b.next_batch().unwrap().is_none(), "every row group placed");
    out
}

/// 12 row groups of blobs, and a dataset of the same row groups in four
/// files under three partitions (sorted path order = the file's order),
/// with the files a writer leaves beside them.
fn dataset(dir: &Path) -> (PathBuf, PathBuf) {
    let all = dir.join("all.parquet");
    gen(
        &all,
        &[
            "blobs",
            "--rows",
            "60000",
            "--dim",
            "3",
            "-k",
            "5",
            "--seed",
            "4",
            "--row-group-rows",
            &RG.to_string(),
        ],
    );
    let ds = dir.join("ds");
    split(
        &all,
        &ds,
        &[
            ("region=a/part-0.parquet", 3),
            ("region=a/part-1.parquet", 1),
            ("region=b/part-0.parquet", 5),
            ("region=c/part-0.parquet", 3),
        ],
    );
    // Not data: each would fail to open as Parquet.
    for junk in [
        "_SUCCESS",
        "_metadata",
        "_common_metadata",
        ".part-0.parquet.crc",
        "region=a/.hidden.parquet",
        "_temporary/0/part-9.parquet",
        "region=b/notes.txt",
    ] {
        let f = ds.join(junk);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, b"not parquet").unwrap();
    }
    (all, ds)
}

fn fit(input: &[&str], model: &Path, labels: &Path) -> std::process::Output {
    let mut a = vec!["fit"];
    a.extend_from_slice(input);
    a.extend([
        "-k",
        "5",
        "--seed",
        "1",
        "--model",
        p(model),
        "--labels",
        p(labels),
        "--quiet",
    ]);
    shoal(&a)
}

/// The model without the name of its input.
fn model_of(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("source");
    v
}

#[test]
fn a_dataset_fits_as_the_file_of_its_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let (all, ds) = dataset(dir.path());
    let out = fit(&[p(&all)], &d("m_all.json"), &d("l_all.parquet"));
    assert!(out.status.success(), "{}", stderr(&out));
    let want_labels = std::fs::read(d("l_all.parquet")).unwrap();
    let want_model = model_of(&d("m_all.json"));

    let glob = format!("{}/region=*/*.parquet", ds.display());
    let files: Vec<String> = [
        "region=a/part-0.parquet",
        "region=a/part-1.parquet",
        "region=b/part-0.parquet",
        "region=c/part-0.parquet",
    ]
    .iter()
    .map(|f| ds.join(f).display().to_string())
    .collect();
    let inputs: Vec<(&str, Vec<&str>)> = vec![
        ("directory", vec![p(&ds)]),
        ("glob", vec![glob.as_str()]),
        ("paths", files.iter().map(String::as_str).collect()),
    ];
    for (what, input) in inputs {
        let (m, l) = (
            d(&format!("m_{what}.json")),
            d(&format!("l_{what}.parquet")),
        );
        let out = fit(&input, &m, &l);
        assert!(out.status.success(), "{what}: {}", stderr(&out));
        assert_eq!(model_of(&m), want_model, "{what}");
        assert!(
            std::fs::read(&l).unwrap() == want_labels,
            "{what}: the labels differ from the single file's"
        );
    }

    // What `info` says of it.
    let out = shoal(&["info", p(&ds), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["rows"], 60000);
    assert_eq!(j["row_groups"], 12);
    assert_eq!(j["dataset"]["files"], 4);
    assert_eq!(
        j["dataset"]["partitions"],
        serde_json::json!([["region", ["a", "b", "c"]]])
    );
}

#[test]
fn filter_reads_only_the_matching_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let (_, ds) = dataset(dir.path());
    // A partition whose file cannot be read: opened, it is an error.
    std::fs::create_dir_all(ds.join("region=z")).unwrap();
    std::fs::write(ds.join("region=z/part-0.parquet"), b"not parquet").unwrap();
    let out = shoal(&["info", p(&ds)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("region=z"), "{}", stderr(&out));

    let out = shoal(&["info", p(&ds), "--filter", "region=b,region=c", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["rows"], 8 * RG as u64);
    assert_eq!(j["dataset"]["files"], 2);
    assert_eq!(j["dataset"]["filtered_out"], 3);

    // The same rows as region=b's file fitted alone.
    let b = ds.join("region=b/part-0.parquet");
    let out = fit(&[p(&b)], &d("m1.json"), &d("l1.parquet"));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fit(
        &[p(&ds), "--filter", "region=b"],
        &d("m2.json"),
        &d("l2.parquet"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(model_of(&d("m1.json")), model_of(&d("m2.json")));
    assert!(std::fs::read(d("l1.parquet")).unwrap() == std::fs::read(d("l2.parquet")).unwrap());

    for (filter, says) in [
        (
            "regio=b",
            "no partition key \"regio\"; its partition keys are region",
        ),
        ("region=q", "no file matches --filter"),
        ("region", "is not key=value"),
    ] {
        let out = shoal(&["info", p(&ds), "--filter", filter]);
        assert_eq!(out.status.code(), Some(2), "{filter}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{filter}: {}", stderr(&out));
    }
}

#[test]
fn datasets_that_cannot_be_read_as_one_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    // An empty directory (only a marker file).
    std::fs::create_dir_all(d("empty/sub")).unwrap();
    std::fs::write(d("empty/_SUCCESS"), b"").unwrap();
    let out = shoal(&["info", p(&d("empty"))]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no Parquet files in this directory"),
        "{}",
        stderr(&out)
    );
    // A glob that matches nothing.
    let pat = format!("{}/nothing-*.parquet", dir.path().display());
    let out = shoal(&["info", &pat]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no file matches this pattern"),
        "{}",
        stderr(&out)
    );
    // Files whose columns differ: float64 in the second, float32 in the first.
    let mixed = d("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    gen(
        &mixed.join("a.parquet"),
        &["blobs", "--rows", "100", "--dim", "2", "-k", "2"],
    );
    gen(
        &mixed.join("b.parquet"),
        &[
            "blobs", "--rows", "100", "--dim", "2", "-k", "2", "--dtype", "f64",
        ],
    );
    let out = shoal(&["info", p(&mixed)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("b.parquet"), "{err}");
    assert!(err.contains("is float64 here, float32 in"), "{err}");
    // A file with another column.
    gen(
        &mixed.join("b.parquet"),
        &["blobs", "--rows", "100", "--dim", "3", "-k", "2"],
    );
    let out = shoal(&["info", p(&mixed)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not have"), "{}", stderr(&out));
    // ... which --columns leaves aside.
    let cols = shoal(&["info", p(&mixed), "--json"]);
    assert!(!cols.status.success());
    let x0 = shoal(&["info", p(&mixed), "--columns", "x0,x1", "--json"]);
    assert!(x0.status.success(), "{}", stderr(&x0));
    let j: serde_json::Value = serde_json::from_slice(&x0.stdout).unwrap();
    assert_eq!(j["rows"], 200);
    // Partition keys that differ between files.
    let odd = d("odd");
    std::fs::create_dir_all(odd.join("a=1")).unwrap();
    std::fs::create_dir_all(odd.join("b=1")).unwrap();
    std::fs::copy(mixed.join("a.parquet"), odd.join("a=1/p.parquet")).unwrap();
    std::fs::copy(mixed.join("a.parquet"), odd.join("b=1/p.parquet")).unwrap();
    let out = shoal(&["info", p(&odd)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("partition keys [b] differ"),
        "{}",
        stderr(&out)
    );
}

/// Labels (and, for `assign`, the input's columns with the partition keys)
/// per input file, each in its file's row order.
#[test]
fn labels_dir_joins_back_file_by_file() {
    use shoal_reader::arrow_array::cast::AsArray;
    use shoal_reader::arrow_array::types::{Float32Type, Int32Type};

    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let (all, ds) = dataset(dir.path());
    let out = fit(&[p(&all)], &d("m.json"), &d("l_all.parquet"));
    assert!(out.status.success(), "{}", stderr(&out));
    let cluster_col = |path: &Path, col: &str| -> Vec<i32> {
        let mut b = RecordBatches::open(path, 1 << 16).unwrap();
        let mut v = Vec::new();
        while let Some(batch) = b.next_batch().unwrap() {
            let c = batch.column_by_name(col).unwrap();
            v.extend(c.as_primitive::<Int32Type>().values().iter().copied());
        }
        v
    };
    let all_labels = cluster_col(&d("l_all.parquet"), "cluster");

    let ld = d("labels");
    let out = shoal(&[
        "fit",
        p(&ds),
        "-k",
        "5",
        "--seed",
        "1",
        "--model",
        p(&d("m2.json")),
        "--labels-dir",
        p(&ld),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rels = [
        ("region=a/part-0.parquet", 3),
        ("region=a/part-1.parquet", 1),
        ("region=b/part-0.parquet", 5),
        ("region=c/part-0.parquet", 3),
    ];
    let mut joined = Vec::new();
    for (rel, groups) in rels {
        let l = cluster_col(&ld.join(rel), "cluster");
        assert_eq!(l.len(), groups * RG, "{rel}");
        joined.extend(l);
    }
    assert_eq!(joined, all_labels);
    assert!(
        listing(dir.path()).iter().all(|f| !f.contains(".tmp")),
        "{:?}",
        listing(dir.path())
    );
    // Again into it: refused, nothing touched.
    let again = shoal(&[
        "fit",
        p(&ds),
        "-k",
        "5",
        "--model",
        p(&d("m3.json")),
        "--labels-dir",
        p(&ld),
        "-q",
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("not empty"), "{}", stderr(&again));
    assert!(!d("m3.json").exists());

    // assign --keep-columns: each file's columns, its partition key, then
    // cluster and distance.
    let kd = d("kept");
    let out = shoal(&[
        "assign",
        p(&ds),
        "--model",
        p(&d("m.json")),
        "--labels-dir",
        p(&kd),
        "--keep-columns",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (rel, _) in rels {
        let src = ds.join(rel);
        let (mut a, mut b) = (
            RecordBatches::open(&src, 1 << 20).unwrap(),
            RecordBatches::open(&kd.join(rel), 1 << 20).unwrap(),
        );
        let names: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            ["x0", "x1", "x2", "region", "cluster", "distance"],
            "{rel}"
        );
        let region = &rel[7..8];
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        while let Some(batch) = a.next_batch().unwrap() {
            xs.extend(
                batch
                    .column(0)
                    .as_primitive::<Float32Type>()
                    .values()
                    .to_vec(),
            );
        }
        let mut labels = Vec::new();
        while let Some(batch) = b.next_batch().unwrap() {
            ys.extend(
                batch
                    .column(0)
                    .as_primitive::<Float32Type>()
                    .values()
                    .to_vec(),
            );
            labels.extend(
                batch
                    .column(4)
                    .as_primitive::<Int32Type>()
                    .values()
                    .to_vec(),
            );
            let r = batch.column(3).as_string::<i32>();
            assert!(r.iter().all(|v| v == Some(region)), "{rel}");
        }
        assert_eq!(xs, ys, "{rel}: the input's rows, in order");
        assert_eq!(labels, cluster_col(&ld.join(rel), "cluster"), "{rel}");
    }
}
