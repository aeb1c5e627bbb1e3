//! k-selection for files of any size: subsample-then-assign k-means for
//! every k of a range, sharing the work across k. One pass draws the
//! sample (for the largest sample any k asks for; a smaller k's sample is
//! a prefix of it in key order, the sample its own fit would draw); each k
//! is initialised and refined on the sample; then one assignment pass
//! gives every k's full-data inertia and counts while each chunk is in
//! cache. So a sweep of 29 values of k costs two passes over the file, and
//! each k's model and inertia equal a separate `fit --algo subsample` of
//! that k with the same seed, to the bit.
//!
//! Scores per k (scikit-learn's definitions) are computed on the sample:
//! Davies-Bouldin and Calinski-Harabasz on all of it, the silhouette on a
//! seeded sample of it, with its standard error. The knee of the inertia
//! curve is found by the kneedle method (Satopää et al., 2011) on
//! log(inertia).

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use shoal_kernels::kmeans::{LloydPartial, LloydScratch};
use shoal_kernels::quality::{calinski_harabasz, davies_bouldin, silhouette_sampled};
use shoal_kernels::{assign, AssignScratch, Centroids, ColumnStats};
use shoal_reader::Source;

use crate::kmeans::{
    prepare, starts_on_sample, Algo, KMeansConfig, KMeansError, PassTiming, Prepared,
};
use crate::{run_pass, Observer, PassStart};

/// One k of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    pub k: usize,
    /// Sum of squared distances over every row (as `fit` reports it).
    pub inertia: f64,
    pub counts: Vec<u64>,
    /// Centroids in the input's units (`k x dim`).
    pub centroids: Vec<f32>,
    /// Lloyd iterations: on the sample (subsample), over every row (lloyd).
    pub iterations: usize,
    pub davies_bouldin: f64,
    pub calinski_harabasz: f64,
    pub silhouette: f64,
    pub silhouette_se: f64,
    /// Seconds of this k's initialisation and refinement on the sample.
    pub fit_seconds: f64,
}

/// The outcome of [`sweep`].
#[derive(Debug, Clone)]
pub struct Sweep {
    pub points: Vec<SweepPoint>,
    /// The knee of inertia against k (kneedle), if the curve has one.
    pub knee: Option<usize>,
    pub best_silhouette: usize,
    pub best_davies_bouldin: usize,
    pub best_calinski_harabasz: usize,
    pub rows: u64,
    pub sample_rows: usize,
    pub silhouette_rows: usize,
    pub passes: Vec<PassTiming>,
}

/// The knee of a decreasing, convex curve `y(x)` by kneedle: both axes
/// scaled to [0, 1], the point farthest above the chord from the first to
/// the last point of the flipped curve (the largest `(1 - y) - x`).
pub fn kneedle(xs: &[f64], ys: &[f64]) -> Option<usize> {
    if xs.len() < 3 {
        return None;
    }
    let (x0, x1) = (xs[0], xs[xs.len() - 1]);
    let (ylo, yhi) = ys.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |m, &y| {
        (m.0.min(y), m.1.max(y))
    });
    if !(x1 > x0 && yhi > ylo) {
        return None;
    }
    let diff = |i: usize| (1.0 - (ys[i] - ylo) / (yhi - ylo)) - (xs[i] - x0) / (x1 - x0);
    let (best, v) =
        (0..xs.len())
            .map(|i| (i, diff(i)))
            .fold(
                (0, f64::NEG_INFINITY),
                |m, (i, d)| if d > m.1 { (i, d) } else { m },
            );
    (v > 1e-9).then_some(best)
}

/// Subsample-then-assign k-means for every k in `ks` (see the module), or
/// with `cfg.algo` Lloyd, Lloyd over every row for every k, sharing each
/// pass ([`lloyd_all`]). `cfg` gives everything but `k`.
pub fn sweep(
    source: &dyn Source,
    cfg: &KMeansConfig,
    ks: &[usize],
    silhouette_rows: usize,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<Sweep, KMeansError> {
    assert!(
        matches!(cfg.algo, Algo::Subsample | Algo::Lloyd),
        "the sweep shares a subsample, or Lloyd's passes"
    );
    let kmax = ks.iter().copied().max().ok_or(KMeansError::KZero)?;
    let d = source.info().dim;
    // The sample of the k that asks for the most rows.
    let widest = ks
        .iter()
        .copied()
        .max_by_key(|&k| {
            KMeansConfig { k, ..cfg.clone() }
                .default_sample_size(source.info().rows)
                .max(k)
        })
        .unwrap_or(kmax);
    let Prepared {
        sample_x,
        scaling,
        tol,
        passes: mut all_passes,
        stats_from_sample,
        valid_rows,
        ..
    } = prepare(
        source,
        &KMeansConfig {
            k: widest,
            ..cfg.clone()
        },
        cancel,
        observer,
    )?;
    let mut fits = Vec::with_capacity(ks.len());
    for &k in ks {
        if k as u64 > valid_rows || k == 0 {
            return Err(if k == 0 {
                KMeansError::KZero
            } else {
                KMeansError::KTooLarge {
                    k,
                    rows: valid_rows,
                }
            });
        }
        let cfg_k = KMeansConfig { k, ..cfg.clone() };
        let cap = cfg_k.default_sample_size(source.info().rows).max(k);
        let xs = &sample_x[..(cap * d).min(sample_x.len())];
        // The tolerance of a separate fit of this k: its own sample's
        // variance when the first pass took no statistics.
        let tol_k = if stats_from_sample && xs.len() != sample_x.len() {
            let mut st = ColumnStats::new(d);
            st.update(xs);
            let mv = st.finish().iter().map(|s| s.std.powi(2)).sum::<f64>() / d as f64;
            cfg.tol * mv
        } else {
            tol
        };
        let t0 = Instant::now();
        let mut passes = Vec::new();
        let (c, _, it) = starts_on_sample(
            crate::kmeans::Passes::Local(source),
            &cfg_k,
            &cfg_k.init,
            &scaling,
            xs,
            tol_k,
            cancel,
            observer,
            &mut passes,
        )?;
        all_passes.extend(passes);
        fits.push((k, c, it, t0.elapsed().as_secs_f64(), xs.len() / d));
    }
    if cfg.algo == Algo::Lloyd {
        lloyd_all(
            source,
            cfg,
            &scaling,
            tol,
            &mut fits,
            cancel,
            observer,
            &mut all_passes,
        )?;
    }
    // One assignment pass for every k.
    observer.pass_started(&PassStart {
        name: format!("assign ({} models)", ks.len()),
        index: all_passes.len() + 1,
        max_passes: None,
        rows: source.info().rows,
        inertia: None,
    });
    let models: Vec<Centroids> = fits
        .iter()
        .map(|(_, c, ..)| Centroids::new(c.clone(), d))
        .collect();
    let (acc, rep) = multi_pass(source, cfg, &scaling, &models, false, cancel, observer)?;
    all_passes.push(PassTiming::new(
        format!("assign ({} models)", ks.len()),
        &rep,
    ));
    // Scores on the sample.
    let m = fits.iter().map(|f| f.4).max().unwrap_or(0);
    let sample = &sample_x[..m * d];
    let sil_rows = silhouette_rows.min(m);
    let mut points = Vec::with_capacity(fits.len());
    for ((k, c, it, secs, _), lp) in fits.into_iter().zip(&acc) {
        let mut labels = vec![0u32; m];
        let mut dist2 = vec![0f32; m];
        assign(
            sample,
            &Centroids::new(c.clone(), d),
            &mut labels,
            &mut dist2,
            &mut AssignScratch::default(),
        );
        let l: Vec<i64> = labels.iter().map(|&v| v as i64).collect();
        let score = |r: Result<f64, _>| r.unwrap_or(f64::NAN);
        let (s, se) =
            silhouette_sampled(sample, d, &l, sil_rows, cfg.seed).unwrap_or((f64::NAN, f64::NAN));
        points.push(SweepPoint {
            k,
            inertia: lp.inertia(),
            counts: lp.counts.clone(),
            centroids: scaling.invert(&c),
            iterations: it,
            davies_bouldin: score(davies_bouldin(sample, d, &l)),
            calinski_harabasz: score(calinski_harabasz(sample, d, &l)),
            silhouette: s,
            silhouette_se: se,
            fit_seconds: secs,
        });
    }
    let xs: Vec<f64> = points.iter().map(|p| p.k as f64).collect();
    // On log(inertia): inertia falls by orders of magnitude up to the true
    // k, and on the raw scale kneedle favours the first steep drop (5
    // separated blobs, k = 2..9: raw 4, log 5).
    let ys: Vec<f64> = points
        .iter()
        .map(|p| p.inertia.max(f64::MIN_POSITIVE).ln())
        .collect();
    let knee = kneedle(&xs, &ys).map(|i| points[i].k);
    let arg = |f: &dyn Fn(&SweepPoint) -> f64, max: bool| {
        points
            .iter()
            .filter(|p| f(p).is_finite())
            .fold(None::<&SweepPoint>, |b, p| match b {
                Some(q) if (max && f(q) >= f(p)) || (!max && f(q) <= f(p)) => Some(q),
                _ => Some(p),
            })
            .map_or(kmax, |p| p.k)
    };
    Ok(Sweep {
        best_silhouette: arg(&|p| p.silhouette, true),
        best_davies_bouldin: arg(&|p| p.davies_bouldin, false),
        best_calinski_harabasz: arg(&|p| p.calinski_harabasz, true),
        knee,
        rows: rep.rows,
        sample_rows: m,
        silhouette_rows: sil_rows,
        points,
        passes: all_passes,
    })
}

/// One pass over every row folding each chunk into one Lloyd partial per
/// model while it is in cache (`sums`: with the cluster sums a centroid
/// update needs; else counts and inertia only), merged in partition order.
fn multi_pass(
    source: &dyn Source,
    cfg: &KMeansConfig,
    scaling: &crate::kmeans::Scaling,
    models: &[Centroids],
    sums: bool,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<(Vec<LloydPartial>, crate::PassReport), KMeansError> {
    let d = source.info().dim;
    struct Part {
        lloyd: Vec<LloydPartial>,
        scratch: LloydScratch,
        buf: Vec<f32>,
    }
    let (acc, rep) = run_pass(
        source,
        &cfg.pass,
        cancel,
        observer,
        || Part {
            lloyd: models
                .iter()
                .map(|c| {
                    if sums {
                        LloydPartial::new(c.k(), d)
                    } else {
                        LloydPartial::counting(c.k(), d)
                    }
                })
                .collect(),
            scratch: LloydScratch::default(),
            buf: Vec::new(),
        },
        |p: &mut Part, b| {
            let x = scaling.view(b.data, &mut p.buf);
            for (lp, c) in p.lloyd.iter_mut().zip(models) {
                lp.update(x, b.first_row, c, &mut p.scratch);
            }
        },
        |a: &mut Part, p: Part| {
            for (x, y) in a.lloyd.iter_mut().zip(&p.lloyd) {
                x.merge(y);
            }
        },
    )
    .map_err(KMeansError::Engine)?;
    Ok((acc.lloyd, rep))
}

/// Lloyd iterations over every row for every k at once: each pass folds
/// each chunk into every unconverged k's partial while it is in cache, and
/// each k then takes `fit`'s own step (`LloydPartial::centroids`, the same
/// convergence rule), so its centroids are those of a separate `fit --algo
/// lloyd`, to the bit. A k leaves the passes when it converges or reaches
/// `max_iter`; `fits[i].2` becomes its iteration count.
#[allow(clippy::too_many_arguments)]
fn lloyd_all(
    source: &dyn Source,
    cfg: &KMeansConfig,
    scaling: &crate::kmeans::Scaling,
    tol: f64,
    fits: &mut [(usize, Vec<f32>, usize, f64, usize)],
    cancel: &AtomicBool,
    observer: &dyn Observer,
    passes: &mut Vec<PassTiming>,
) -> Result<(), KMeansError> {
    let d = source.info().dim;
    for f in fits.iter_mut() {
        f.2 = 0;
    }
    let mut active: Vec<usize> = (0..fits.len()).collect();
    let mut iteration = 0;
    while !active.is_empty() && iteration < cfg.max_iter {
        iteration += 1;
        let name = format!("lloyd {iteration} ({} models)", active.len());
        observer.pass_started(&PassStart {
            name: name.clone(),
            index: passes.len() + 1,
            max_passes: None,
            rows: source.info().rows,
            inertia: None,
        });
        let models: Vec<Centroids> = active
            .iter()
            .map(|&i| Centroids::new(fits[i].1.clone(), d))
            .collect();
        let (acc, rep) = multi_pass(source, cfg, scaling, &models, true, cancel, observer)?;
        passes.push(PassTiming::new(name, &rep));
        let mut still = Vec::with_capacity(active.len());
        for (&i, lp) in active.iter().zip(&acc) {
            let (next, moved) = lp.centroids(&fits[i].1);
            let shift = crate::kmeans::shift2(&next, &fits[i].1);
            fits[i].1 = next;
            fits[i].2 += 1;
            if !(shift <= tol && moved == 0) {
                still.push(i);
            }
        }
        active = still;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kneedle_finds_the_elbow_of_a_convex_curve() {
        // inertia of 5 true clusters: steep to k = 5, flat after
        let xs: Vec<f64> = (2..=10).map(|k| k as f64).collect();
        let ys = [100.0, 70.0, 45.0, 10.0, 9.0, 8.2, 7.5, 7.0, 6.6];
        assert_eq!(kneedle(&xs, &ys), Some(3)); // k = 5
        assert_eq!(kneedle(&xs[..2], &ys[..2]), None);
        let line: Vec<f64> = xs.iter().map(|x| 20.0 - x).collect();
        assert_eq!(kneedle(&xs, &line), None);
    }
}
