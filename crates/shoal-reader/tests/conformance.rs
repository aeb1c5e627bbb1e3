//! The same points through every source and every chunk size give the same
//! blocks: npy float32, npy float64, raw f32, Parquet and
//! CSV; chunk sizes 1, 7, 1000 and more than the row count.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Write;
use std::path::Path;

use shoal_reader::{open, MatrixWriter, OpenOptions, Source, StoreType};

fn points(n: usize, d: usize) -> Vec<f32> {
    // A simple LCG: any values will do, including negatives and tiny ones.
    let mut s = 0x2545F4914F6CDD1Du64;
    (0..n * d)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2000.0
        })
        .collect()
}

fn write(path: &Path, x: &[f32], d: usize, store: StoreType) {
    let cols: Vec<String> = (0..d).map(|i| format!("c{i}")).collect();
    let mut w = MatrixWriter::create(path, d, &cols, store, 777).unwrap();
    for part in x.chunks(d * 500) {
        w.write(part).unwrap();
    }
    w.finish().unwrap();
}

/// Reads with `chunk`, checking block invariants, and returns all values.
fn read(src: &dyn Source, chunk: usize) -> Vec<f32> {
    let info = src.info();
    let mut r = src.reader(0..info.rows, chunk).unwrap();
    let mut out = Vec::new();
    let mut expect_first = 0u64;
    let mut expect_seq = 0u64;
    while let Some(b) = r.next_block().unwrap() {
        assert_eq!(b.dim, info.dim);
        assert!(b.rows() >= 1 && b.rows() <= chunk);
        assert_eq!(b.first_row, expect_first);
        assert_eq!(b.seq, expect_seq);
        expect_first += b.rows() as u64;
        expect_seq += 1;
        out.extend_from_slice(b.data);
    }
    assert_eq!(expect_first, info.rows);
    // rewind replays the same blocks
    r.rewind().unwrap();
    let first = r.next_block().unwrap().unwrap();
    assert_eq!(first.first_row, 0);
    assert_eq!(first.data, &out[..first.data.len()]);
    out
}

#[test]
fn every_source_and_chunk_size_gives_the_same_points() {
    let (n, d) = (2345, 3);
    let x = points(n, d);
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("p.npy");
    let npy64 = dir.path().join("p64.npy");
    let raw = dir.path().join("p.f32");
    let pq = dir.path().join("p.parquet");
    let csv = dir.path().join("p.csv");
    write(&npy, &x, d, StoreType::F32);
    write(&npy64, &x, d, StoreType::F64);
    write(&raw, &x, d, StoreType::F32);
    write(&pq, &x, d, StoreType::F32);
    let mut f = std::fs::File::create(&csv).unwrap();
    writeln!(f, "c0,name,c1,c2").unwrap();
    for (i, r) in x.chunks(d).enumerate() {
        // f64 Display of an f32 value is exact, so parsing gives it back
        writeln!(f, "{},row{i},{},{}", r[0] as f64, r[1] as f64, r[2] as f64).unwrap();
    }
    drop(f);

    let mmap = open(&npy, &OpenOptions::default()).unwrap();
    assert!(
        mmap.as_contiguous().is_some(),
        "little-endian f32 npy is served without a copy"
    );
    assert_eq!(mmap.as_contiguous().unwrap(), &x[..]);
    let sources: Vec<(&str, Box<dyn Source>)> = vec![
        ("npy", mmap),
        ("npy f64", open(&npy64, &OpenOptions::default()).unwrap()),
        ("raw", open(&raw, &OpenOptions::default()).unwrap()),
        ("parquet", open(&pq, &OpenOptions::default()).unwrap()),
        ("csv", open(&csv, &OpenOptions::default()).unwrap()),
    ];
    assert_eq!(sources[3].1.partitions().len(), n.div_ceil(777));
    for (name, src) in &sources {
        assert_eq!((src.info().rows, src.info().dim), (n as u64, d), "{name}");
        for chunk in [1, 7, 1000, n + 1] {
            let got = read(src.as_ref(), chunk);
            assert!(
                got.iter().zip(&x).all(|(a, b)| a.to_bits() == b.to_bits()) && got.len() == x.len(),
                "{name} with chunk {chunk} differs"
            );
        }
        // A sub-range reader starts where asked.
        let mut r = src.reader(100..205, 50).unwrap();
        let b = r.next_block().unwrap().unwrap();
        assert_eq!(b.first_row, 100);
        assert_eq!(b.data, &x[300..450], "{name}");
    }
}

/// Wide Parquet rows: float32 columns are copied into rows eight, two or
/// one at a time (19 = 8 + 8 + 2 + 1); every value lands in its row and
/// dimension, whatever the chunk size.
#[test]
fn parquet_wide_rows_land_in_place() {
    let (n, d) = (1234, 19);
    let x = points(n, d);
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("w.parquet");
    write(&pq, &x, d, StoreType::F32);
    let src = open(&pq, &OpenOptions::default()).unwrap();
    for chunk in [1, 7, 1000, n + 1] {
        let got = read(src.as_ref(), chunk);
        assert!(
            got.len() == x.len() && got.iter().zip(&x).all(|(a, b)| a.to_bits() == b.to_bits()),
            "chunk {chunk} differs"
        );
    }
}

#[test]
fn csv_lf_and_crlf_report_the_same_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, eol) in [("lf.csv", "\n"), ("crlf.csv", "\r\n")] {
        let p = dir.path().join(name);
        let text = ["a,b", "1,2", "3,4", "5,x", "7,8"].join(eol) + eol;
        std::fs::write(&p, text).unwrap();
        let src = open(
            &p,
            &OpenOptions {
                columns: Some(vec!["a".into(), "b".into()]),
                ..Default::default()
            },
        )
        .unwrap();
        let err = shoal_reader::read_all(src.as_ref(), 10).unwrap_err();
        assert!(err.to_string().contains("line 4"), "{name}: {err}");
        assert_eq!(err.row(), Some(2));
    }
}

#[test]
fn parquet_integer_columns_convert_to_f32() {
    use arrow_schema::DataType;
    use shoal_reader::{ColumnData, ParquetTableWriter};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ints.parquet");
    let a: Vec<i32> = vec![-3, 0, 7, 1 << 20];
    let b: Vec<i64> = vec![-(1 << 40), 5, 9, 11];
    let c: Vec<u32> = vec![0, 1, u32::MAX, 42];
    let mut w = ParquetTableWriter::create(
        &p,
        &[
            ("a".into(), DataType::Int32),
            ("b".into(), DataType::Int64),
            ("c".into(), DataType::UInt32),
        ],
        3,
    )
    .unwrap();
    w.write(&[
        ColumnData::I32(&a),
        ColumnData::I64(&b),
        ColumnData::U32(&c),
    ])
    .unwrap();
    w.finish().unwrap();
    let src = open(
        &p,
        &OpenOptions {
            columns: Some(vec!["c".into(), "a".into(), "b".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(src.info().columns, vec!["c", "a", "b"]);
    let got = shoal_reader::read_all(src.as_ref(), 2).unwrap();
    let want: Vec<f32> = (0..4)
        .flat_map(|i| [c[i] as f32, a[i] as f32, b[i] as f32])
        .collect();
    assert_eq!(got, want);
}

/// Random access returns the same rows as a sequential read, in the order
/// asked (repeats allowed), for the formats that have it, and is refused
/// (`None`) by the others.
#[test]
fn read_rows_equals_sequential_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (n, d) = (3_001usize, 3usize);
    let x = points(n, d);
    let idx: Vec<u64> = vec![0, 3_000, 17, 17, 1_500, 2, 2_999];
    for (name, store, random) in [
        ("a.npy", StoreType::F32, true),
        ("b.npy", StoreType::F64, true),
        ("c.f32", StoreType::F32, true),
        ("d.parquet", StoreType::F32, false),
    ] {
        let path = dir.path().join(name);
        write(&path, &x, d, store);
        let src = open(&path, &OpenOptions::default()).unwrap();
        let all = read(src.as_ref(), 1000);
        let mut got = Vec::new();
        match src.read_rows(&idx, &mut got) {
            None => assert!(!random, "{name}: random access expected"),
            Some(r) => {
                assert!(random, "{name}: no random access expected");
                assert_eq!(r.unwrap(), idx.len());
                let want: Vec<f32> = idx
                    .iter()
                    .flat_map(|&i| all[i as usize * d..(i as usize + 1) * d].to_vec())
                    .collect();
                assert_eq!(got, want, "{name}");
            }
        }
    }
}

/// Random access on a Fortran-order fixture (columns stored apart) returns
/// the rows of the fixture's expected C-order array.
#[test]
fn read_rows_on_fortran_order() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fixtures");
    let src = open(&dir.join("f32_fortran.npy"), &OpenOptions::default()).unwrap();
    let want = open(
        &dir.join("f32_fortran.npy.expect.npy"),
        &OpenOptions::default(),
    )
    .unwrap();
    let d = src.info().dim;
    assert!(d > 1, "the fixture should have several columns");
    let all = read(want.as_ref(), 1000);
    let n = all.len() / d;
    let idx: Vec<u64> = vec![n as u64 - 1, 0, (n / 2) as u64, 0];
    let mut got = Vec::new();
    assert_eq!(src.read_rows(&idx, &mut got).unwrap().unwrap(), idx.len());
    let expect: Vec<f32> = idx
        .iter()
        .flat_map(|&i| all[i as usize * d..(i as usize + 1) * d].to_vec())
        .collect();
    assert_eq!(got, expect);
}

/// Wide Parquet rows are decoded in sub-batches smaller than a chunk; the
/// chunks still hold exactly `chunk` rows (the last one the rest), every
/// row once, in order, for chunk sizes that do and do not divide the
/// sub-batches and row groups.
#[test]
fn parquet_sub_batches_fill_whole_chunks() {
    let (n, d) = (2345, 100); // about 327 rows a sub-batch; row groups of 777
    let x = points(n, d);
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("wide.parquet");
    write(&pq, &x, d, StoreType::F32);
    let src = open(&pq, &OpenOptions::default()).unwrap();
    for chunk in [300, 1000, 1500, n] {
        let info = src.info();
        let mut r = src.reader(0..info.rows, chunk).unwrap();
        let mut sizes = Vec::new();
        let mut got = Vec::new();
        while let Some(b) = r.next_block().unwrap() {
            assert_eq!(b.first_row, got.len() as u64 / d as u64);
            sizes.push(b.rows());
            got.extend_from_slice(b.data);
        }
        let mut want = vec![chunk; n / chunk];
        if n % chunk > 0 {
            want.push(n % chunk);
        }
        assert_eq!(sizes, want, "chunk {chunk}");
        assert!(
            got.iter().zip(&x).all(|(a, b)| a.to_bits() == b.to_bits()) && got.len() == x.len()
        );
        // a partition (one row group) read the same way
        let part = src.partitions()[1].clone();
        let mut r = src.reader(part.clone(), chunk).unwrap();
        let mut got = Vec::new();
        while let Some(b) = r.next_block().unwrap() {
            got.extend_from_slice(b.data);
        }
        assert_eq!(got, &x[part.start as usize * d..part.end as usize * d]);
    }
}

/// A `.npy` or `.f32` file just written and read is in the page cache, by
/// the probe of `resident_fraction` (where the system can answer); a
/// Parquet file, without random access, does not say.
#[test]
fn a_file_just_read_is_resident() {
    let dir = tempfile::tempdir().unwrap();
    let (n, d) = (50_000usize, 4usize);
    let x = points(n, d);
    for (name, store) in [("a.npy", StoreType::F32), ("c.f32", StoreType::F32)] {
        let path = dir.path().join(name);
        write(&path, &x, d, store);
        let src = open(&path, &OpenOptions::default()).unwrap();
        assert_eq!(read(src.as_ref(), 4096), x);
        // (None where the file system cannot be asked, e.g. an old tmpfs)
        if let Some(f) = src.resident_fraction() {
            assert!((0.99..=1.0).contains(&f), "{name}: {f}");
        }
    }
    let path = dir.path().join("d.parquet");
    write(&path, &x, d, StoreType::F32);
    let src = open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(src.resident_fraction(), None);
}

/// `RecordBatches` (what `--keep-columns` copies) reads every column of every
/// row group, in file order: pyarrow's eight-row-group fixture gives its
/// expected values in batches that do not divide a row group.
#[test]
fn record_batches_cover_every_row_group_in_order() {
    use shoal_reader::arrow_array::cast::AsArray;
    use shoal_reader::arrow_array::types::Float32Type;

    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fixtures");
    let (want, shape) =
        shoal_reader::read_npy_f64(&fx.join("f32_rowgroups.parquet.expect.npy")).unwrap();
    let d = shape[1] as usize;
    let mut b = shoal_reader::RecordBatches::open(&fx.join("f32_rowgroups.parquet"), 7).unwrap();
    let names: Vec<String> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names.len(),
        d + 1,
        "{names:?}: every column, not only the numeric ones"
    );
    let mut got = Vec::new();
    let mut batches = 0;
    while let Some(batch) = b.next_batch().unwrap() {
        assert!(batch.num_rows() <= 7);
        batches += 1;
        for r in 0..batch.num_rows() {
            for c in 0..d {
                got.push(f64::from(
                    batch.column(c).as_primitive::<Float32Type>().value(r),
                ));
            }
        }
    }
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    assert!(batches >= 1000 / 7, "{batches}");
}
