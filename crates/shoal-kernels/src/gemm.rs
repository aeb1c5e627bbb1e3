//! The one GEMM shoal needs: `X (m x d) * C^T (d x k)` into a row-major
//! `m x k` buffer, through the `gemm` crate (runtime-dispatched AVX-512 /
//! AVX2 / NEON micro-kernels). Single-threaded: shoal parallelises over chunks.

#![allow(unsafe_code)]

/// `out[i * k + j] = sum_p x[i * d + p] * c[j * d + p]`.
pub fn x_ct(x: &[f32], m: usize, d: usize, c: &[f32], k: usize, out: &mut [f32]) {
    x_ct_scaled(x, m, d, c, k, out, 1.0);
}

/// `out[i * k + j] = alpha * sum_p x[i * d + p] * c[j * d + p]`, in `T`
/// (f32 or f64).
pub fn x_ct_scaled<T: GemmFloat>(
    x: &[T],
    m: usize,
    d: usize,
    c: &[T],
    k: usize,
    out: &mut [T],
    alpha: T,
) {
    assert!(x.len() >= m * d && c.len() >= k * d && out.len() >= m * k);
    if m == 0 || k == 0 {
        return;
    }
    // SAFETY: the pointers and strides describe exactly the slices checked
    // above: `out` is m x k row-major (row stride k, column stride 1), `x` is
    // m x d row-major, and `C^T` (d x k) is read from the row-major k x d `c`
    // with row stride 1 and column stride d. The slices do not overlap
    // (`out` is borrowed mutably), and `read_dst = false` means `out`'s
    // previous contents are never read.
    unsafe {
        gemm::gemm(
            m,
            k,
            d,
            out.as_mut_ptr(),
            1,
            k as isize,
            false,
            x.as_ptr(),
            1,
            d as isize,
            c.as_ptr(),
            d as isize,
            1,
            T::ZERO,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The element types shoal multiplies.
pub trait GemmFloat: Copy + 'static {
    const ZERO: Self;
}

impl GemmFloat for f32 {
    const ZERO: f32 = 0.0;
}

impl GemmFloat for f64 {
    const ZERO: f64 = 0.0;
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_product() {
        // x = [[1,2],[3,4],[5,6]], c = [[1,0],[0,1],[1,1]]
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let c = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut out = [0.0; 9];
        super::x_ct(&x, 3, 2, &c, 3, &mut out);
        assert_eq!(out, [1.0, 2.0, 3.0, 3.0, 4.0, 7.0, 5.0, 6.0, 11.0]);
    }
}
