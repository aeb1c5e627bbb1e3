//! MODEL.json: the engine's [`Model`], read with the command line's errors.

use std::path::Path;

use anyhow::{Context, Result};
pub use shoal_engine::model::{FitParams, Model};

use crate::exit::usage;

/// Reads and checks a model (a bad one is a usage error naming the file).
pub fn load(path: &Path) -> Result<Model> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the model {}", path.display()))?;
    Model::parse(&text).map_err(|e| usage(format!("{}: {e}", path.display())))
}
