//! Hostile and changing inputs: a `.npy` or `.f32` file truncated by
//! another thread between two blocks of a pass ends the pass with an error
//! that says what happened, with both sizes, not a bare short read; a `.npy`
//! header declaring a shape the file cannot hold is refused at open, before
//! anything is allocated from it.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shoal_reader::{open, NpyWriter, OpenOptions, ReadError};

#[test]
fn a_file_truncated_during_a_pass_is_named_with_both_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 100_000usize;
    let values: Vec<f32> = (0..rows * 2).map(|i| i as f32).collect();
    // .npy: a 128-byte header, then the values.
    let npy = dir.path().join("x.npy");
    let mut w = NpyWriter::<f32>::create(&npy, Some(2)).unwrap();
    w.write(&values).unwrap();
    w.finish().unwrap();
    // .f32: the values alone, with the dimension in its sidecar.
    let raw = dir.path().join("x.f32");
    std::fs::write(&raw, bytemuck::cast_slice::<f32, u8>(&values)).unwrap();
    std::fs::write(
        dir.path().join("x.f32.json"),
        r#"{"dim": 2, "dtype": "float32"}"#,
    )
    .unwrap();
    for path in [npy, raw] {
        let opened = std::fs::metadata(&path).unwrap().len();
        let src = open(&path, &OpenOptions::default()).unwrap();
        let mut r = src.reader(0..rows as u64, 1000).unwrap();
        let first = r.next_block().unwrap().unwrap();
        assert_eq!(first.data[..4], [0.0, 1.0, 2.0, 3.0]);
        // Another thread cuts the file in half.
        let p = path.clone();
        std::thread::spawn(move || {
            let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
            f.set_len(opened / 2).unwrap();
        })
        .join()
        .unwrap();
        let err = loop {
            match r.next_block() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("{}: the pass ended as if nothing happened", path.display()),
                Err(e) => break e,
            }
        };
        let msg = err.to_string();
        assert!(matches!(err, ReadError::Truncated { .. }), "{msg}");
        assert!(
            msg.contains(&format!("shrank from {opened} to {} bytes", opened / 2)),
            "{msg}"
        );
        assert!(msg.contains(&path.display().to_string()), "{msg}");
    }
}

/// A `.npy` file whose header declares `shape` over a 64-byte payload.
fn npy_declaring(path: &std::path::Path, descr: &str, shape: &str) {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(&[0u8; 64]);
    std::fs::write(path, b).unwrap();
}

#[test]
fn absurd_declared_shapes_are_refused_before_allocating() {
    // Shapes no file here holds, up to the largest u64 in both places (the
    // byte count overflows even 128 bits): each is a truncation error naming
    // the path, at open, whatever the number of columns declared.
    let dir = tempfile::tempdir().unwrap();
    for (i, shape) in [
        "(1000000000000000, 2)",
        "(2, 1000000000000000)",
        "(4611686018427387904, 16)",
        "(18446744073709551615, 18446744073709551615)",
    ]
    .iter()
    .enumerate()
    {
        let path = dir.path().join(format!("a{i}.npy"));
        npy_declaring(&path, "<f8", shape);
        let err = open(&path, &OpenOptions::default()).unwrap_err();
        assert!(matches!(err, ReadError::Truncated { .. }), "{shape}: {err}");
        assert!(
            err.to_string().contains("the file has 64"),
            "{shape}: {err}"
        );
        // The whole-file f64 read (linkage matrices, condensed distances)
        // too; its product of the shape overflowed (found by fuzzing).
        let err = shoal_reader::read_npy_f64(&path).unwrap_err();
        assert!(matches!(err, ReadError::Truncated { .. }), "{shape}: {err}");
    }
    let path = dir.path().join("six.npy");
    npy_declaring(&path, "<f8", "(1265752, 149326, 1889, 26, 1889, 33)");
    let err = shoal_reader::read_npy_f64(&path).unwrap_err();
    assert!(matches!(err, ReadError::Truncated { .. }), "{err}");
}

/// A small `.npy`, a `.parquet` and a `.csv` of the same rows.
fn three_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let values: Vec<f32> = (0..2000).map(|i| i as f32).collect();
    let npy = dir.join("x.npy");
    let mut w = NpyWriter::<f32>::create(&npy, Some(2)).unwrap();
    w.write(&values).unwrap();
    w.finish().unwrap();
    let csv = dir.join("x.csv");
    let mut text = String::from("a,b\n");
    for r in values.chunks(2) {
        text.push_str(&format!("{},{}\n", r[0], r[1]));
    }
    std::fs::write(&csv, text).unwrap();
    let pq = dir.join("x.parquet");
    let mut w = shoal_reader::MatrixWriter::create(
        &pq,
        2,
        &["a".to_string(), "b".to_string()],
        shoal_reader::StoreType::F32,
        1 << 20,
    )
    .unwrap();
    w.write(&values).unwrap();
    w.finish().unwrap();
    vec![npy, csv, pq]
}

/// Every way a file can change after it was opened, each seen by the check
/// the engine makes after every pass, with what happened.
#[test]
fn every_change_to_an_open_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    type Change = fn(&std::path::Path);
    let changes: [(&str, Change, &str); 5] = [
        (
            "truncated",
            |p| {
                let len = std::fs::metadata(p).unwrap().len();
                let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                f.set_len(len - 8).unwrap();
            },
            "shrank from",
        ),
        (
            "extended",
            |p| {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
                f.write_all(b"12345678").unwrap();
            },
            "grew from",
        ),
        (
            "rewritten in place",
            |p| {
                use std::io::{Seek, SeekFrom, Write};
                let len = std::fs::metadata(p).unwrap().len();
                let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                f.seek(SeekFrom::Start(len - 1)).unwrap();
                f.write_all(b"\n").unwrap();
                // A new modification time, even on a coarse clock.
                let later = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
                f.set_modified(later).unwrap();
            },
            "rewritten in place",
        ),
        (
            "replaced",
            |p| {
                let other = p.with_extension("new");
                std::fs::copy(p, &other).unwrap();
                std::fs::rename(&other, p).unwrap();
            },
            "was replaced by another file",
        ),
        (
            "deleted",
            |p| std::fs::remove_file(p).unwrap(),
            "was deleted",
        ),
    ];
    for (what, change, says) in changes {
        let sub = dir.path().join(what.replace(' ', "_"));
        std::fs::create_dir(&sub).unwrap();
        for path in three_files(&sub) {
            let src = open(&path, &OpenOptions::default()).unwrap();
            assert!(src.unchanged().is_ok(), "{what}: fresh {}", path.display());
            change(&path);
            let err = src.unchanged().expect_err(what);
            let msg = err.to_string();
            assert!(matches!(err, ReadError::Changed { .. }), "{msg}");
            assert!(msg.contains(says), "{what}: {msg}");
            assert!(msg.contains(&path.display().to_string()), "{msg}");
        }
    }
}

/// Random rows (mini-batch's batches) of a file truncated after the first
/// batch: an error naming both sizes, never SIGBUS (a memory map would
/// fault on the lost pages) and never rows of the shortened file.
#[test]
fn random_rows_of_a_truncated_file_are_an_error_or_the_rows_as_opened() {
    let dir = tempfile::tempdir().unwrap();
    for (i, big) in [false, true].into_iter().enumerate() {
        let path = dir.path().join(format!("r{i}.f32"));
        // 64 MB is served from a copy in memory; 160 MB row by row.
        let rows: usize = if big { 20 << 20 } else { 8 << 20 };
        let values: Vec<f32> = (0..rows * 2).map(|i| (i % 1000) as f32).collect();
        std::fs::write(&path, bytemuck::cast_slice::<f32, u8>(&values)).unwrap();
        let src = open(
            &path,
            &OpenOptions {
                dim: Some(2),
                ..OpenOptions::default()
            },
        )
        .unwrap();
        let mut out = Vec::new();
        assert_eq!(src.read_rows(&[0, 1], &mut out).unwrap().unwrap(), 2);
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(4096).unwrap();
        let last = rows as u64 - 1;
        out.clear();
        match src.read_rows(&[last, 3], &mut out).unwrap() {
            // The copy made before the cut: the rows as they were.
            Ok(n) => {
                assert!(!big, "a large file is read row by row");
                assert_eq!(n, 2);
                assert_eq!(&out[..2], &values[last as usize * 2..last as usize * 2 + 2]);
            }
            Err(e) => {
                assert!(
                    big,
                    "the small file's copy was made at the first batch: {e}"
                );
                assert!(e.to_string().contains("shrank from"), "{e}");
            }
        }
        assert!(
            src.unchanged().is_err(),
            "and the check after the pass says so"
        );
    }
}

/// A Parquet page whose header declares more bytes than its whole column
/// chunk (the parquet crate would reserve them before decompressing) is
/// refused before it is decoded, naming the page.
#[test]
fn a_parquet_page_larger_than_its_chunk_is_refused_before_decoding() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.parquet");
    let values: Vec<f32> = (0..1000).map(|i| i as f32).collect();
    let mut w = shoal_reader::MatrixWriter::create(
        &path,
        1,
        &["x".to_string()],
        shoal_reader::StoreType::F32,
        1 << 20,
    )
    .unwrap();
    w.write(&values).unwrap();
    w.finish().unwrap();
    assert!(open(&path, &OpenOptions::default()).is_ok());
    let mut bytes = std::fs::read(&path).unwrap();
    let col = SerializedFileReader::new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .metadata()
        .row_group(0)
        .column(0)
        .clone();
    let total = col.uncompressed_size();
    // The first page header: field 1 (type) then field 2, the uncompressed
    // size, as a zigzag varint; write a larger one of the same length.
    let (start, _) = col.byte_range();
    let at = start as usize;
    assert_eq!(bytes[at], 0x15, "field 1, i32");
    assert_eq!(bytes[at + 2], 0x15, "field 2, i32");
    let mut end = at + 3;
    while bytes[end] & 0x80 != 0 {
        end += 1;
    }
    let len = end + 1 - (at + 3);
    let claim: u64 = (1u64 << (7 * len - 1)) - 1; // the largest of that length
    assert!(claim as i64 > total, "{claim} vs {total}");
    let mut z = claim << 1;
    for b in &mut bytes[at + 3..=end] {
        *b = (z as u8 & 0x7f) | 0x80;
        z >>= 7;
    }
    bytes[end] &= 0x7f;
    std::fs::write(&path, &bytes).unwrap();
    let src = open(&path, &OpenOptions::default()).unwrap();
    let err = shoal_reader::read_all(src.as_ref(), 100).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("declares {claim} bytes uncompressed")),
        "{msg}"
    );
    assert!(msg.contains("more than its whole column chunk"), "{msg}");
}

/// A decompression bomb: a page that honestly declares, and would inflate
/// to, 300 MB of zeros from a few kilobytes. Refused before decoding.
#[test]
fn a_parquet_decompression_bomb_is_refused_before_decoding() {
    use std::sync::Arc;

    use arrow_array::{Float32Array, RecordBatch};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.parquet");
    let rows = 75_000_000usize; // 300 MB of float32 zeros
    let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "x",
        arrow_schema::DataType::Float32,
        false,
    )]));
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap()))
        .set_dictionary_enabled(false)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .set_data_page_size_limit(usize::MAX)
        .set_data_page_row_count_limit(usize::MAX)
        .set_write_batch_size(rows)
        .set_max_row_group_row_count(Some(rows))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        schema.clone(),
        Some(props),
    )
    .unwrap();
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(Float32Array::from(vec![0.0f32; rows]))],
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    drop(batch);
    let bytes = std::fs::metadata(&path).unwrap().len();
    assert!(bytes < 1 << 20, "a bomb: {bytes} bytes on disk");
    let src = open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(src.info().rows, rows as u64);
    let err = shoal_reader::read_all(src.as_ref(), 1 << 16).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("declares 300000000 bytes uncompressed"),
        "{msg}"
    );
    assert!(msg.contains("pages of at most 256 MiB"), "{msg}");
}

/// The Parquet and `.npy` inputs fuzzing found (`fuzz/regressions/`): each
/// opens or reads to an error naming the file, never a panic.
#[test]
fn what_fuzzing_found_reads_to_an_error() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for (kind, ext) in [("parquet", "parquet"), ("npy", "npy")] {
        for entry in std::fs::read_dir(root.join(kind)).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let path = dir.path().join(format!("f{seen}.{ext}"));
            std::fs::write(&path, bytes).unwrap();
            seen += 1;
            let result = std::panic::catch_unwind(|| {
                let src = open(&path, &OpenOptions::default())?;
                shoal_reader::read_all(src.as_ref(), 7)
            })
            .unwrap_or_else(|_| panic!("{}: a panic", path.display()));
            let err = result.expect_err("a broken file");
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
    }
    assert!(seen >= 3, "the regressions are committed");
}
