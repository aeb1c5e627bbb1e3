//! NumPy `.npy` files, format versions 1, 2 and 3. The header (a Python dict
//! literal) is parsed by hand; object/structured dtypes are refused, never
//! unpickled.

use std::path::Path;

use crate::dense::open_file;
use crate::dense::{DenseSource, Layout};
use crate::error::ReadError;
use crate::source::{Format, OpenOptions, SourceInfo};
use crate::value::Elem;

const MAGIC: &[u8] = b"\x93NUMPY";

/// The parsed header of an `.npy` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    /// Byte offset of the data.
    pub data_offset: usize,
}

fn fmt_err(path: &Path, detail: impl Into<String>) -> ReadError {
    ReadError::Format {
        path: path.to_path_buf(),
        format: "npy",
        detail: detail.into(),
    }
}

/// Parses the header from the first bytes of a file.
pub fn parse_header(path: &Path, bytes: &[u8]) -> Result<NpyHeader, ReadError> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(fmt_err(path, "missing the \\x93NUMPY magic bytes"));
    }
    let major = bytes[6];
    let (hlen, start): (usize, usize) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(fmt_err(path, "header length field is cut off"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(fmt_err(path, format!("unknown format version {v}"))),
    };
    let end = start
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| ReadError::Truncated {
            path: path.to_path_buf(),
            detail: format!("header claims {hlen} bytes, the file is shorter"),
        })?;
    let text = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| fmt_err(path, "header is not UTF-8 text"))?;
    let descr = dict_value(text, "descr").ok_or_else(|| fmt_err(path, "header has no 'descr'"))?;
    let fortran = dict_value(text, "fortran_order")
        .ok_or_else(|| fmt_err(path, "header has no 'fortran_order'"))?;
    let shape = dict_value(text, "shape").ok_or_else(|| fmt_err(path, "header has no 'shape'"))?;
    if descr.starts_with('[') {
        return Err(ReadError::Dtype {
            path: path.to_path_buf(),
            dtype: descr.to_string(),
            detail: "structured arrays are not supported; save a plain numeric 2-D array".into(),
        });
    }
    let descr = descr.trim_matches(|c| c == '\'' || c == '"').to_string();
    let fortran_order = match fortran {
        "True" => true,
        "False" => false,
        other => return Err(fmt_err(path, format!("bad fortran_order {other:?}"))),
    };
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| fmt_err(path, format!("bad shape {shape:?}")))?;
    let mut dims = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let part = part.trim_end_matches('L');
        dims.push(
            part.parse::<u64>()
                .map_err(|_| fmt_err(path, format!("bad shape {shape:?}")))?,
        );
    }
    Ok(NpyHeader {
        descr,
        fortran_order,
        shape: dims,
        data_offset: end,
    })
}

/// Finds the value text of `'key': value` in a Python dict literal. Values
/// are strings, `True`/`False`, tuples or lists; that is all npy headers hold.
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat1 = format!("'{key}'");
    let pat2 = format!("\"{key}\"");
    let at = text.find(&pat1).or_else(|| text.find(&pat2))? + pat1.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = match rest.chars().next()? {
        '(' => rest.find(')')? + 1,
        '[' => {
            // nested lists of tuples in structured dtypes
            let mut depth = 0i32;
            let mut end = None;
            for (i, ch) in rest.char_indices() {
                match ch {
                    '[' | '(' => depth += 1,
                    ']' | ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            end?
        }
        q @ ('\'' | '"') => rest[1..].find(q)? + 2,
        _ => rest.find([',', '}']).unwrap_or(rest.len()),
    };
    Some(rest[..end].trim())
}

/// Maps a numpy type string such as `<f4` to an element type and byte order.
pub fn parse_descr(descr: &str) -> Option<(Elem, bool)> {
    let (order, code) = match descr.chars().next()? {
        c @ ('<' | '>' | '|' | '=') => (c, &descr[1..]),
        _ => ('=', descr),
    };
    let big = match order {
        '>' => true,
        '<' | '|' => false,
        _ => cfg!(target_endian = "big"),
    };
    let elem = match code {
        "f2" | "e" => Elem::F16,
        "f4" | "f" => Elem::F32,
        "f8" | "d" => Elem::F64,
        "i1" | "b" => Elem::I8,
        "i2" | "h" => Elem::I16,
        "i4" | "i" => Elem::I32,
        "i8" | "q" => Elem::I64,
        "u1" | "B" => Elem::U8,
        "u2" | "H" => Elem::U16,
        "u4" | "I" => Elem::U32,
        "u8" | "Q" => Elem::U64,
        _ => return None,
    };
    Some((elem, big))
}

/// A whole `.npy` array in f64 (for small exact arrays such as linkage
/// matrices and condensed distances, which f32 would round), with its shape.
/// Any numeric dtype is widened; Fortran order is turned into C order.
pub fn read_f64(path: &Path) -> Result<(Vec<f64>, Vec<u64>), ReadError> {
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let h = parse_header(path, &bytes)?;
    let (elem, big) = parse_descr(&h.descr).ok_or_else(|| ReadError::Dtype {
        path: path.to_path_buf(),
        dtype: h.descr.clone(),
        detail: "expected a numeric array".into(),
    })?;
    let size = elem.size();
    let data = &bytes[h.data_offset..];
    // (found by fuzzing: the product of a declared shape overflowed)
    let need = h
        .shape
        .iter()
        .try_fold(size as u64, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= data.len() as u64);
    let Some(need) = need else {
        return Err(ReadError::Truncated {
            path: path.to_path_buf(),
            detail: format!(
                "shape {:?} of {size}-byte values needs more than the {} bytes of data the file has",
                h.shape,
                data.len()
            ),
        });
    };
    let count = need as usize / size;
    let mut out = Vec::with_capacity(count);
    for v in data[..count * size].chunks_exact(size) {
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(v);
        if big {
            b[..size].reverse();
        }
        out.push(match elem {
            Elem::F16 => half::f16::from_le_bytes([b[0], b[1]]).to_f64(),
            Elem::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Elem::F64 => f64::from_le_bytes(b),
            Elem::I8 => b[0] as i8 as f64,
            Elem::I16 => i16::from_le_bytes([b[0], b[1]]) as f64,
            Elem::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Elem::I64 => i64::from_le_bytes(b) as f64,
            Elem::U8 => b[0] as f64,
            Elem::U16 => u16::from_le_bytes([b[0], b[1]]) as f64,
            Elem::U32 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Elem::U64 => u64::from_le_bytes(b) as f64,
        });
    }
    if h.fortran_order && h.shape.len() == 2 {
        let (r, c) = (h.shape[0] as usize, h.shape[1] as usize);
        let mut t = vec![0f64; count];
        for i in 0..r {
            for j in 0..c {
                t[i * c + j] = out[j * r + i];
            }
        }
        out = t;
    }
    Ok((out, h.shape))
}

pub(crate) fn open(path: &Path, opts: &OpenOptions) -> Result<DenseSource, ReadError> {
    let (file, len, head) = open_file(path, 1 << 20)?;
    if len == 0 {
        return Err(fmt_err(path, "the file is empty"));
    }
    let header = parse_header(path, &head)?;
    let (elem, big_endian) = parse_descr(&header.descr).ok_or_else(|| ReadError::Dtype {
        path: path.to_path_buf(),
        dtype: header.descr.clone(),
        detail: if header.descr.contains('O') {
            "object (pickled) arrays are refused and never unpickled; save a numeric array".into()
        } else {
            "expected a float or integer dtype (float16/32/64, int/uint 8-64)".into()
        },
    })?;
    let (rows, dim) = match header.shape.as_slice() {
        [n] => (*n, 1usize),
        [n, d] => (*n, *d as usize),
        other => {
            return Err(ReadError::Shape {
                path: path.to_path_buf(),
                shape: format!("{other:?}"),
            })
        }
    };
    if rows == 0 {
        return Err(ReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    if dim == 0 {
        return Err(ReadError::Columns {
            path: path.to_path_buf(),
            detail: "the array has zero columns".into(),
        });
    }
    let layout = Layout {
        offset: header.data_offset,
        rows,
        dim,
        elem,
        big_endian,
        fortran: header.fortran_order && dim > 1,
    };
    // Before the column names: a header may declare any number of columns.
    layout.check(path, usize::try_from(len).unwrap_or(usize::MAX))?;
    let info = SourceInfo {
        path: path.to_path_buf(),
        format: Format::Npy,
        rows,
        dim,
        columns: (0..dim).map(|i| format!("x{i}")).collect(),
        storage: vec![(
            "array".into(),
            format!(
                "{}{}{}",
                elem.name(),
                if big_endian { " big-endian" } else { "" },
                if header.fortran_order && dim > 1 {
                    " fortran-order"
                } else {
                    ""
                }
            ),
        )],
        row_groups: None,
        file_bytes: len,
        native: elem.native_precision(),
    };
    DenseSource::new(info, file, layout, opts.skip_invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[1, 0]);
        v.extend_from_slice(&(text.len() as u16).to_le_bytes());
        v.extend_from_slice(text.as_bytes());
        v
    }

    #[test]
    fn parses_numpy_headers() {
        let h = parse_header(
            Path::new("a.npy"),
            &header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 3), }   \n"),
        )
        .unwrap();
        assert_eq!(h.descr, "<f4");
        assert!(!h.fortran_order);
        assert_eq!(h.shape, vec![1000, 3]);
        let h = parse_header(
            Path::new("a.npy"),
            &header("{'descr': '>f8', 'fortran_order': True, 'shape': (7,), }"),
        )
        .unwrap();
        assert_eq!(h.shape, vec![7]);
        assert!(h.fortran_order);
        assert_eq!(parse_descr(&h.descr), Some((Elem::F64, true)));
    }

    #[test]
    fn version_3_utf8_header() {
        let text = "{'descr': '<i2', 'fortran_order': False, 'shape': (4, 2), }  \n";
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[3, 0]);
        v.extend_from_slice(&(text.len() as u32).to_le_bytes());
        v.extend_from_slice(text.as_bytes());
        let h = parse_header(Path::new("a.npy"), &v).unwrap();
        assert_eq!(h.data_offset, 12 + text.len());
        assert_eq!(h.shape, vec![4, 2]);
        assert_eq!(parse_descr(&h.descr), Some((Elem::I16, false)));
    }

    #[test]
    fn refuses_structured_and_object() {
        let e = parse_header(
            Path::new("a.npy"),
            &header(
                "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (3,), }",
            ),
        )
        .unwrap_err();
        assert_eq!(e.class(), crate::ErrorClass::Dtype);
        assert_eq!(parse_descr("|O"), None);
        assert_eq!(parse_descr("<U3"), None);
    }

    #[test]
    fn bad_magic_and_cut_header() {
        let e = parse_header(Path::new("a.npy"), b"NOTNUMPY\x01\x00").unwrap_err();
        assert_eq!(e.class(), crate::ErrorClass::Format);
        let mut h = header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
        h.truncate(20);
        let e = parse_header(Path::new("a.npy"), &h).unwrap_err();
        assert_eq!(e.class(), crate::ErrorClass::Truncated);
    }
}
