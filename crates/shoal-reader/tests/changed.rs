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
    }
}
