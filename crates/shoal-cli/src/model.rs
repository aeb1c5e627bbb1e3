//! MODEL.json: what `shoal fit` learned, enough for `shoal assign` to use it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use shoal_engine::kmeans::{Scaling, ScalingKind};
use shoal_reader::AtomicFile;

use crate::exit::usage;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScalingJson {
    /// `standardize` or `whiten`.
    pub kind: String,
    /// Clustered value = (input - shift) / scale.
    pub shift: Vec<f64>,
    pub scale: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub format: String,
    pub algo: String,
    pub k: usize,
    pub dim: usize,
    pub columns: Vec<String>,
    /// k x dim, in the input's units.
    pub centroids: Vec<Vec<f32>>,
    pub counts: Vec<u64>,
    /// Sum of squared distances to the nearest centroid, in the units clustered.
    pub inertia: f64,
    pub iterations: usize,
    pub converged: bool,
    pub empty_cluster_relocations: usize,
    pub scaling: Option<ScalingJson>,
    pub init: String,
    pub n_init: usize,
    pub seed: u64,
    pub tol: f64,
    pub max_iter: usize,
    pub rows: u64,
    pub skipped_rows: u64,
    pub source: String,
}

pub const FORMAT: &str = "shoal-kmeans-1";

impl Model {
    pub fn scaling(&self) -> Scaling {
        match &self.scaling {
            None => Scaling::identity(self.dim),
            Some(s) => Scaling {
                kind: if s.kind == "whiten" {
                    ScalingKind::Whiten
                } else {
                    ScalingKind::Standardize
                },
                shift: s.shift.clone(),
                scale: s.scale.clone(),
            },
        }
    }

    pub fn flat_centroids(&self) -> Vec<f32> {
        self.centroids.iter().flatten().copied().collect()
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let f = AtomicFile::create(path)?;
        let text = serde_json::to_string_pretty(self)?;
        (&mut f.file())
            .write_all(text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        f.commit()?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Model> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the model {}", path.display()))?;
        let m: Model = serde_json::from_str(&text)
            .map_err(|e| usage(format!("{}: not a shoal model: {e}", path.display())))?;
        if m.format != FORMAT {
            return Err(usage(format!(
                "{}: unknown model format {:?}",
                path.display(),
                m.format
            )));
        }
        let bad = |what: &str| usage(format!("{}: invalid model: {what}", path.display()));
        if m.k == 0 || m.centroids.len() != m.k || m.centroids.iter().any(|c| c.len() != m.dim) {
            return Err(bad("centroids must be k rows of dim values"));
        }
        if m.centroids.iter().flatten().any(|v| !v.is_finite()) {
            return Err(bad("a centroid holds NaN or infinity"));
        }
        if let Some(s) = &m.scaling {
            if s.shift.len() != m.dim
                || s.scale.len() != m.dim
                || s.scale.iter().any(|&v| !(v > 0.0 && v.is_finite()))
            {
                return Err(bad(
                    "scaling must have dim finite shifts and positive scales",
                ));
            }
        }
        Ok(m)
    }
}
