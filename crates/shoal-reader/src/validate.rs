//! Finite-value checks on decoded blocks: fail naming the first bad row and
//! column, or (with `skip_invalid`) compact the block and count what was dropped.

use std::path::Path;

use crate::error::ReadError;
use crate::value::Value;
#[cfg(test)]
use crate::value::{all_finite, all_finite_f64};

fn describe<V: Value>(v: V) -> String {
    let v = v.to_f64();
    if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "+inf".into()
    } else {
        "-inf".into()
    }
}

/// Checks a row-major block. Returns `Ok(None)` when every value is finite.
/// Otherwise, without `skip`, the error names the first bad row and column;
/// with `skip`, returns the compacted rows and the number of rows dropped.
pub(crate) fn check_block<V: Value>(
    data: &[V],
    dim: usize,
    first_row: u64,
    columns: &[String],
    path: &Path,
    skip: bool,
) -> Result<Option<(Vec<V>, u64)>, ReadError> {
    if V::all_finite(data) {
        return Ok(None);
    }
    if !skip {
        for (i, row) in data.chunks_exact(dim).enumerate() {
            if let Some(c) = row.iter().position(|x| !x.is_finite()) {
                return Err(ReadError::NonFinite {
                    path: path.to_path_buf(),
                    row: first_row + i as u64,
                    column: columns.get(c).cloned().unwrap_or_else(|| c.to_string()),
                    value: describe(row[c]),
                });
            }
        }
        return Ok(None);
    }
    let mut kept = Vec::with_capacity(data.len());
    let mut dropped = 0;
    for row in data.chunks_exact(dim) {
        if V::all_finite(row) {
            kept.extend_from_slice(row);
        } else {
            dropped += 1;
        }
    }
    Ok(Some((kept, dropped)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_first_bad_row_and_column() {
        let cols = vec!["a".to_string(), "b".to_string()];
        let data = [1.0, 2.0, 3.0, f32::NAN, f32::INFINITY, 0.0];
        let err = check_block(&data, 2, 10, &cols, Path::new("f"), false).unwrap_err();
        assert_eq!(err.row(), Some(11));
        assert_eq!(err.column(), Some("b"));
        let (kept, dropped) = check_block(&data, 2, 10, &cols, Path::new("f"), true)
            .unwrap()
            .unwrap();
        assert_eq!(kept, vec![1.0, 2.0]);
        assert_eq!(dropped, 2);
    }

    #[test]
    fn every_non_finite_value_is_found_at_every_position() {
        // the extremes of the finite range pass; each kind of non-finite
        // value fails wherever it sits (vector body, tail, across blocks)
        let edge = [f32::MAX, f32::MIN, f32::MIN_POSITIVE, -0.0, 1e-45, -1e-45];
        for n in [1usize, 15, 16, 17, 64, 4095, 4096, 4097, 9000] {
            let clean: Vec<f32> = (0..n).map(|i| edge[i % edge.len()]).collect();
            assert!(all_finite(&clean), "n = {n}");
            for bad in [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                for at in [0, n / 2, n - 1] {
                    let mut v = clean.clone();
                    v[at] = bad;
                    assert!(!all_finite(&v), "{bad} at {at} of {n}");
                }
            }
        }
        assert!(all_finite(&[]));
    }

    #[test]
    fn f64_values_finite_in_f64_but_not_in_f32_pass() {
        // 1e300 overflows f32 but is a finite double: only the f32 check fails it
        let data = [1.0f64, 1e300, -1e-320, f64::MAX];
        assert!(all_finite_f64(&data));
        let narrowed: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        assert!(!all_finite(&narrowed));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for n in [1usize, 7, 2048, 2049, 5000] {
                let mut v = vec![0.5f64; n];
                v[n - 1] = bad;
                assert!(!all_finite_f64(&v), "{bad} at the end of {n}");
            }
        }
        let err = check_block(&[1.0f64, f64::NAN], 2, 3, &[], Path::new("f"), false).unwrap_err();
        assert_eq!(err.row(), Some(3));
    }

    #[test]
    fn finite_block_passes() {
        let data: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        assert!(all_finite(&data));
        assert!(check_block(&data, 4, 0, &[], Path::new("f"), false)
            .unwrap()
            .is_none());
    }
}
