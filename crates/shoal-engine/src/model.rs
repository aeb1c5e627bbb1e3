//! MODEL.json: what a k-means fit learned, enough to label other rows with
//! it (`shoal assign`, `shoal.dask.assign_parquet`). Written by `shoal fit`
//! and by `shoal-dask fit` from the same [`KMeansFit`].

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use shoal_reader::{AtomicFile, WriteError};

use crate::kmeans::KMeansFit;
use crate::scaling::{Scaling, ScalingKind};

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

/// How a fit was asked for (what MODEL.json records beside its result).
#[derive(Debug, Clone)]
pub struct FitParams {
    pub columns: Vec<String>,
    /// `kmeans++`, `kmeans-parallel`, `random` or `file:PATH`.
    pub init: String,
    pub n_init: usize,
    pub seed: u64,
    pub tol: f64,
    pub max_iter: usize,
    /// The input, as the user named it.
    pub source: String,
}

impl Model {
    pub fn from_fit(f: &KMeansFit, p: FitParams) -> Model {
        Model {
            format: FORMAT.into(),
            algo: f.algo.name().into(),
            k: f.k,
            dim: f.dim,
            columns: p.columns,
            centroids: f.centroids.chunks(f.dim).map(|c| c.to_vec()).collect(),
            counts: f.counts.clone(),
            inertia: f.inertia,
            iterations: f.iterations,
            converged: f.converged,
            empty_cluster_relocations: f.relocations,
            scaling: (!f.scaling.is_identity()).then(|| ScalingJson {
                kind: match f.scaling.kind {
                    ScalingKind::Whiten => "whiten".into(),
                    _ => "standardize".into(),
                },
                shift: f.scaling.shift.clone(),
                scale: f.scaling.scale.clone(),
            }),
            init: p.init,
            n_init: p.n_init,
            seed: p.seed,
            tol: p.tol,
            max_iter: p.max_iter,
            rows: f.rows,
            skipped_rows: f.skipped_rows,
            source: p.source,
        }
    }

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

    /// Writes the model as pretty JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<(), WriteError> {
        let f = AtomicFile::create(path)?;
        let text = serde_json::to_string_pretty(self).map_err(|e| WriteError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        (&mut f.file())
            .write_all(text.as_bytes())
            .map_err(|e| WriteError::Io {
                path: path.to_path_buf(),
                source: e,
            })?;
        f.commit()
    }

    /// A model from its JSON, checked; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Model, String> {
        let m: Model = serde_json::from_str(text).map_err(|e| format!("not a shoal model: {e}"))?;
        if m.format != FORMAT {
            return Err(format!("unknown model format {:?}", m.format));
        }
        let bad = |what: &str| format!("invalid model: {what}");
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
