//! The element types a reader can hand out: `f32` (the streaming passes)
//! and `f64` (the exact, in-memory algorithms, so that float64 data keeps
//! every bit). Each storage type converts to either with one rounding at
//! most, so a block of `f32` is exactly the `f64` block rounded to `f32`.

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
        all_finite(data)
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
        all_finite_f64(data)
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

/// Element types a dense file may store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    F16,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl Elem {
    /// The precision that holds every value of this type exactly: f64 for
    /// float64 and the 32/64-bit integers (beyond 2^24 in magnitude, f32
    /// rounds them), f32 for the rest.
    pub fn native_precision(self) -> Precision {
        match self {
            Elem::F64 | Elem::I32 | Elem::I64 | Elem::U32 | Elem::U64 => Precision::F64,
            _ => Precision::F32,
        }
    }

    pub fn size(self) -> usize {
        match self {
            Elem::I8 | Elem::U8 => 1,
            Elem::F16 | Elem::I16 | Elem::U16 => 2,
            Elem::F32 | Elem::I32 | Elem::U32 => 4,
            Elem::F64 | Elem::I64 | Elem::U64 => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Elem::F16 => "float16",
            Elem::F32 => "float32",
            Elem::F64 => "float64",
            Elem::I8 => "int8",
            Elem::I16 => "int16",
            Elem::I32 => "int32",
            Elem::I64 => "int64",
            Elem::U8 => "uint8",
            Elem::U16 => "uint16",
            Elem::U32 => "uint32",
            Elem::U64 => "uint64",
        }
    }
}

/// Bits of a float's magnitude at and above which it is not finite (the
/// exponent all ones: infinities and NaNs).
const NON_FINITE_MAGNITUDE: u32 = 0x7f80_0000;

/// True when every value is finite: the largest magnitude's bits (sign
/// cleared) stay under the all-ones exponent. One AND and one unsigned max
/// a vector, built for AVX-512 and AVX2 and picked at run time; the reader
/// runs it over every value it decodes.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx2",
    "x86_64+avx2",
    "aarch64+neon"
))]
pub fn all_finite(data: &[f32]) -> bool {
    data.chunks(4096).all(|c| {
        c.iter().fold(0u32, |m, x| m.max(x.to_bits() & 0x7fff_ffff)) < NON_FINITE_MAGNITUDE
    })
}

/// [`all_finite`] for `f64` values (the same test on 64-bit patterns).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx2",
    "x86_64+avx2",
    "aarch64+neon"
))]
pub fn all_finite_f64(data: &[f64]) -> bool {
    const NON_FINITE: u64 = 0x7ff0_0000_0000_0000;
    data.chunks(2048).all(|c| {
        c.iter()
            .fold(0u64, |m, x| m.max(x.to_bits() & 0x7fff_ffff_ffff_ffff))
            < NON_FINITE
    })
}
