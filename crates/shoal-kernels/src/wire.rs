//! A plain little-endian encoding of the partial results of a pass, so that
//! a pass's partitions can be run by other processes (Dask workers) and
//! their partials merged by the process that owns the fit, to the bit as
//! if it had run them itself. Every field is written verbatim; decoding
//! checks lengths and refuses trailing or missing bytes.

use std::fmt;

/// A partial that did not decode: truncated, too long, or inconsistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed partial: {}", self.0)
    }
}

impl std::error::Error for WireError {}

/// Appends values to a byte buffer.
#[derive(Debug, Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn usize(&mut self, v: usize) {
        self.u64(v as u64);
    }
    pub fn f64s(&mut self, v: &[f64]) {
        self.usize(v.len());
        v.iter().for_each(|&x| self.f64(x));
    }
    pub fn f32s(&mut self, v: &[f32]) {
        self.usize(v.len());
        v.iter().for_each(|&x| self.f32(x));
    }
    pub fn u64s(&mut self, v: &[u64]) {
        self.usize(v.len());
        v.iter().for_each(|&x| self.u64(x));
    }
    pub fn opt_f64(&mut self, v: Option<f64>) {
        match v {
            None => self.u8(0),
            Some(x) => {
                self.u8(1);
                self.f64(x);
            }
        }
    }
}

/// Reads values back from a byte slice.
#[derive(Debug)]
pub struct Dec<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Dec { buf, at: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| WireError(format!("{} bytes, more expected", self.buf.len())))?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    pub fn u64(&mut self) -> Result<u64, WireError> {
        self.array().map(u64::from_le_bytes)
    }
    pub fn f64(&mut self) -> Result<f64, WireError> {
        self.array().map(f64::from_le_bytes)
    }
    pub fn f32(&mut self) -> Result<f32, WireError> {
        self.array().map(f32::from_le_bytes)
    }
    pub fn usize(&mut self) -> Result<usize, WireError> {
        let v = self.u64()?;
        usize::try_from(v).map_err(|_| WireError(format!("length {v} too large")))
    }
    /// A length prefix, checked against the bytes left (`each` bytes an item).
    fn len(&mut self, each: usize) -> Result<usize, WireError> {
        let n = self.usize()?;
        if n.saturating_mul(each) > self.buf.len() - self.at {
            return Err(WireError(format!("length {n} past the end")));
        }
        Ok(n)
    }
    pub fn f64s(&mut self) -> Result<Vec<f64>, WireError> {
        let n = self.len(8)?;
        (0..n).map(|_| self.f64()).collect()
    }
    pub fn f32s(&mut self) -> Result<Vec<f32>, WireError> {
        let n = self.len(4)?;
        (0..n).map(|_| self.f32()).collect()
    }
    pub fn u64s(&mut self) -> Result<Vec<u64>, WireError> {
        let n = self.len(8)?;
        (0..n).map(|_| self.u64()).collect()
    }
    pub fn opt_f64(&mut self) -> Result<Option<f64>, WireError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.f64().map(Some),
            t => Err(WireError(format!("option tag {t}"))),
        }
    }
    /// Checks that every byte was read.
    pub fn finish(self) -> Result<(), WireError> {
        if self.at == self.buf.len() {
            Ok(())
        } else {
            Err(WireError(format!(
                "{} bytes left over",
                self.buf.len() - self.at
            )))
        }
    }
}

/// Checks a decoded length against the one the fields imply.
pub fn expect_len(what: &str, got: usize, want: usize) -> Result<(), WireError> {
    if got == want {
        Ok(())
    } else {
        Err(WireError(format!("{what}: {got} values, expected {want}")))
    }
}
