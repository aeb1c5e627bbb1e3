//! Columns into rows: eight (or two) `f32` columns written into
//! consecutive values of each row of a row-major block, as a Parquet batch
//! of scalar columns becomes a chunk. With AVX, 8 x 8 tiles are transposed in
//! registers (8 loads, 24 shuffles, 8 stores for 64 values, against 64
//! strided stores one value at a time: 4x faster in cache). This is the
//! reader's other `unsafe` module (SIMD), beside the memory maps.

#![allow(unsafe_code)]

use std::ops::Range;

/// Writes `cols[c][r]` to `out[r * dim + offset + c]` for every `r` in
/// `rows` and `c` in `0..8`.
pub(crate) fn eight_columns(
    cols: [&[f32]; 8],
    out: &mut [f32],
    dim: usize,
    offset: usize,
    rows: Range<usize>,
) {
    assert!(offset + 8 <= dim && rows.end * dim <= out.len());
    assert!(cols.iter().all(|c| c.len() >= rows.end));
    let mut done = rows.start;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        let tiles = rows.len() / 8;
        // SAFETY: AVX is present (checked above); the asserts above keep
        // every tile's loads (rows `r .. r + 8` of each column) and stores
        // (values `offset .. offset + 8` of rows `r .. r + 8`) in bounds.
        unsafe { tiles_avx(&cols, out, dim, offset, rows.start, tiles) };
        done = rows.start + 8 * tiles;
    }
    for r in done..rows.end {
        for (c, col) in cols.iter().enumerate() {
            out[r * dim + offset + c] = col[r];
        }
    }
}

/// Writes `cols[c][r]` to `out[r * dim + offset + c]` for every `r` in
/// `rows` and `c` in `0..2` (a pair of columns, such as longitude and
/// latitude, interleaved; the loop vectorises as such).
pub(crate) fn two_columns(
    cols: [&[f32]; 2],
    out: &mut [f32],
    dim: usize,
    offset: usize,
    rows: Range<usize>,
) {
    assert!(offset + 2 <= dim && rows.end * dim <= out.len());
    let (a, b) = (&cols[0][rows.clone()], &cols[1][rows.clone()]);
    let out = &mut out[rows.start * dim..rows.end * dim];
    if dim == 2 {
        for (o, (x, y)) in out.chunks_exact_mut(2).zip(a.iter().zip(b)) {
            o[0] = *x;
            o[1] = *y;
        }
    } else {
        for (o, (x, y)) in out.chunks_exact_mut(dim).zip(a.iter().zip(b)) {
            o[offset] = *x;
            o[offset + 1] = *y;
        }
    }
}

/// `tiles` tiles of 8 rows from row `start`: the classic 8 x 8 transpose
/// (unpack pairs, shuffle quads, swap 128-bit halves).
///
/// # Safety
///
/// AVX must be present, every column must hold rows up to
/// `start + 8 tiles`, and `out` those rows of `dim` values with
/// `offset + 8 <= dim`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn tiles_avx(
    cols: &[&[f32]; 8],
    out: &mut [f32],
    dim: usize,
    offset: usize,
    start: usize,
    tiles: usize,
) {
    use std::arch::x86_64::*;
    for t in 0..tiles {
        let r0 = start + 8 * t;
        // SAFETY (loads and stores below): the caller checked that each
        // column holds rows `r0 .. r0 + 8` and `out` rows `r0 .. r0 + 8`
        // at `offset .. offset + 8 <= dim`.
        let a: [__m256; 8] =
            std::array::from_fn(|c| unsafe { _mm256_loadu_ps(cols[c].as_ptr().add(r0)) });
        let t0 = _mm256_unpacklo_ps(a[0], a[1]);
        let t1 = _mm256_unpackhi_ps(a[0], a[1]);
        let t2 = _mm256_unpacklo_ps(a[2], a[3]);
        let t3 = _mm256_unpackhi_ps(a[2], a[3]);
        let t4 = _mm256_unpacklo_ps(a[4], a[5]);
        let t5 = _mm256_unpackhi_ps(a[4], a[5]);
        let t6 = _mm256_unpacklo_ps(a[6], a[7]);
        let t7 = _mm256_unpackhi_ps(a[6], a[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let rows = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        for (r, v) in rows.into_iter().enumerate() {
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add((r0 + r) * dim + offset), v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Column `c` holds `r * 100 + c` at row `r`. Runs `write` (copying
    /// `width` columns into rows) over blocks of `n` rows prefilled with
    /// -1 for each shape and row range, and checks every value: its column
    /// value inside the written rows and dimensions, -1 elsewhere.
    fn check(
        width: usize,
        n: usize,
        shapes: &[(usize, usize)],
        ranges: &[Range<usize>],
        write: impl Fn(&[&[f32]], &mut [f32], usize, usize, Range<usize>),
    ) {
        let cols: Vec<Vec<f32>> = (0..width)
            .map(|c| (0..n).map(|r| (r * 100 + c) as f32).collect())
            .collect();
        let views: Vec<&[f32]> = cols.iter().map(|c| c.as_slice()).collect();
        for &(dim, offset) in shapes {
            for rows in ranges {
                let mut out = vec![-1.0f32; n * dim];
                write(&views, &mut out, dim, offset, rows.clone());
                for r in 0..n {
                    for t in 0..dim {
                        let inside = rows.contains(&r) && (offset..offset + width).contains(&t);
                        let want = if inside {
                            (r * 100 + t - offset) as f32
                        } else {
                            -1.0
                        };
                        assert_eq!(
                            out[r * dim + t],
                            want,
                            "dim {dim} offset {offset} rows {rows:?}"
                        );
                    }
                }
            }
        }
    }

    /// A pair of columns interleaves into whole rows or into part of wider ones.
    #[test]
    fn pairs_land_in_their_rows() {
        check(
            2,
            21,
            &[(2, 0), (5, 2)],
            &[0..21, 4..21, 3..4, 6..6],
            |v, o, d, off, r| two_columns([v[0], v[1]], o, d, off, r),
        );
    }

    /// Every value lands at its row and dimension, for row ranges that
    /// start and end off the 8-row tiles, at an offset inside wider rows,
    /// and leaves the other dimensions alone.
    #[test]
    fn columns_land_in_their_rows() {
        let ranges = [0..53, 5..53, 3..12, 7..8, 9..9];
        check(
            8,
            53,
            &[(8, 0), (11, 3), (32, 16)],
            &ranges,
            |v, o, d, off, r| eight_columns(std::array::from_fn(|c| v[c]), o, d, off, r),
        );
    }
}
