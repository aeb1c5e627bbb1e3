//! Feature scaling: the affine map from input units to the units clustered.

use shoal_kernels::ColumnStats;

/// Feature scaling applied before clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScalingKind {
    #[default]
    None,
    /// z-score: `(x - mean) / std`.
    Standardize,
    /// scipy's `whiten`: `x / std` (population std; zero-std columns unchanged).
    Whiten,
}

/// The affine map from input units to clustered units: `(x - shift) / scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    pub kind: ScalingKind,
    pub shift: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Scaling {
    pub fn from_stats(kind: ScalingKind, stats: &ColumnStats, dim: usize) -> Scaling {
        let s = stats.finish();
        let std = |j: usize| {
            let v = s.get(j).map_or(1.0, |c| c.std);
            if v > 0.0 {
                v
            } else {
                1.0
            }
        };
        match kind {
            ScalingKind::None => Scaling::identity(dim),
            ScalingKind::Standardize => Scaling {
                kind,
                shift: (0..dim).map(|j| s.get(j).map_or(0.0, |c| c.mean)).collect(),
                scale: (0..dim).map(std).collect(),
            },
            ScalingKind::Whiten => Scaling {
                kind,
                shift: vec![0.0; dim],
                scale: (0..dim).map(std).collect(),
            },
        }
    }

    pub fn identity(dim: usize) -> Scaling {
        Scaling {
            kind: ScalingKind::None,
            shift: vec![0.0; dim],
            scale: vec![1.0; dim],
        }
    }

    pub fn is_identity(&self) -> bool {
        self.kind == ScalingKind::None
    }

    /// Scales row-major `x` into `out`.
    pub fn apply(&self, x: &[f32], out: &mut Vec<f32>) {
        let d = self.shift.len();
        out.clear();
        out.reserve(x.len());
        for row in x.chunks_exact(d) {
            for (j, &v) in row.iter().enumerate() {
                out.push(((v as f64 - self.shift[j]) / self.scale[j]) as f32);
            }
        }
    }

    /// `x` in clustered units: `x` itself when the scaling is the identity,
    /// otherwise scaled into `buf`.
    pub fn view<'a>(&self, x: &'a [f32], buf: &'a mut Vec<f32>) -> &'a [f32] {
        if self.is_identity() {
            x
        } else {
            self.apply(x, buf);
            buf
        }
    }

    /// Maps clustered-unit points back to input units.
    pub fn invert(&self, x: &[f32]) -> Vec<f32> {
        let d = self.shift.len();
        x.chunks_exact(d)
            .flat_map(|row| {
                row.iter()
                    .enumerate()
                    .map(|(j, &v)| (v as f64 * self.scale[j] + self.shift[j]) as f32)
            })
            .collect()
    }
}
