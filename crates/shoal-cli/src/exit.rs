//! Exit codes (DESIGN.md): 0 success, 1 failure (I/O, bad or corrupt data,
//! resources), 2 usage or configuration error, 130 interrupted.

use shoal_engine::EngineError;
use shoal_reader::{ErrorClass, ReadError, WriteError};

pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const INTERRUPTED: u8 = 130;

/// A usage or configuration error raised by the CLI itself.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

/// Marks that work was interrupted by Ctrl-C.
#[derive(Debug)]
pub struct Interrupted;
impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}
impl std::error::Error for Interrupted {}

pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// The exit code for an error, from the first cause that decides it.
pub fn code_for(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause.is::<Interrupted>() {
            return INTERRUPTED;
        }
        if cause.is::<UsageError>() || cause.is::<shoal_data_gen::GenError>() {
            return USAGE;
        }
        if let Some(r) = cause.downcast_ref::<ReadError>() {
            return if r.class() == ErrorClass::Usage {
                USAGE
            } else {
                FAILURE
            };
        }
        if let Some(w) = cause.downcast_ref::<WriteError>() {
            return if matches!(w, WriteError::Usage { .. }) {
                USAGE
            } else {
                FAILURE
            };
        }
        if let Some(en) = cause.downcast_ref::<EngineError>() {
            return match en {
                EngineError::Cancelled => INTERRUPTED,
                EngineError::Read(r) if r.class() == ErrorClass::Usage => USAGE,
                EngineError::Read(_) | EngineError::Remote(_) => FAILURE,
            };
        }
    }
    FAILURE
}

/// The message: the context chain joined with ": ".
pub fn render(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in e.chain() {
        let s = c.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_contract() {
        assert_eq!(code_for(&usage("bad flag")), USAGE);
        assert_eq!(code_for(&anyhow::Error::new(Interrupted)), INTERRUPTED);
        let r = ReadError::Empty {
            path: "a.npy".into(),
        };
        assert_eq!(code_for(&anyhow::Error::new(r).context("reading")), FAILURE);
        let r = ReadError::Usage {
            path: "a.f32".into(),
            detail: "needs --dim".into(),
        };
        assert_eq!(code_for(&anyhow::Error::new(r)), USAGE);
        assert_eq!(
            code_for(&anyhow::Error::new(EngineError::Cancelled)),
            INTERRUPTED
        );
        assert_eq!(code_for(&anyhow::anyhow!("disk full")), FAILURE);
    }
}
