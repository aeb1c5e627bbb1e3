//! The element types a reader can hand out: `f32` (the streaming passes)
//! and `f64` (the exact, in-memory algorithms, so that float64 data keeps
//! every bit). Each storage type converts to either with one rounding at
//! most, so a block of `f32` is exactly the `f64` block rounded to `f32`.

use crate::dense::Elem;

/// A block element: `f32` or `f64`.
pub trait Value:
    bytemuck::Pod + Default + PartialOrd + Send + Sync + std::fmt::Debug + 'static
{
    /// The storage type that holds this value as it is.
    const ELEM: Elem;
    fn from_f64(v: f64) -> Self;
    fn from_f32(v: f32) -> Self;
    /// Integers, rounded once (so `i64 -> f32` is not rounded twice through f64).
    fn from_i64(v: i64) -> Self;
    fn from_u64(v: u64) -> Self;
    fn to_f64(self) -> f64;
    fn nan() -> Self;
    fn is_finite(self) -> bool;
    /// True when every value is finite.
    fn all_finite(data: &[Self]) -> bool;
    /// The same slice seen as `f32` when `Self` is `f32` (for the
    /// transposing fast paths written for f32 only).
    fn as_f32_mut(data: &mut [Self]) -> Option<&mut [f32]>;
}

impl Value for f32 {
    const ELEM: Elem = Elem::F32;
    #[inline]
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
    #[inline]
    fn from_f32(v: f32) -> f32 {
        v
    }
    #[inline]
    fn from_i64(v: i64) -> f32 {
        v as f32
    }
    #[inline]
    fn from_u64(v: u64) -> f32 {
        v as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn nan() -> f32 {
        f32::NAN
    }
    #[inline]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    fn all_finite(data: &[f32]) -> bool {
        crate::validate::all_finite(data)
    }
    fn as_f32_mut(data: &mut [f32]) -> Option<&mut [f32]> {
        Some(data)
    }
}

impl Value for f64 {
    const ELEM: Elem = Elem::F64;
    #[inline]
    fn from_f64(v: f64) -> f64 {
        v
    }
    #[inline]
    fn from_f32(v: f32) -> f64 {
        v as f64
    }
    #[inline]
    fn from_i64(v: i64) -> f64 {
        v as f64
    }
    #[inline]
    fn from_u64(v: u64) -> f64 {
        v as f64
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    fn nan() -> f64 {
        f64::NAN
    }
    #[inline]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn all_finite(data: &[f64]) -> bool {
        crate::validate::all_finite_f64(data)
    }
    fn as_f32_mut(_data: &mut [f64]) -> Option<&mut [f32]> {
        None
    }
}

/// The precision a computation runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    F32,
    F64,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }

    /// Bytes of one value.
    pub fn bytes(self) -> u64 {
        match self {
            Precision::F32 => 4,
            Precision::F64 => 8,
        }
    }
}
