//! The statistics of the scaling summary: a least-squares line through
//! (log rows, log value) and the confidence interval of its slope, from
//! Student's t distribution.

/// `y = a + b x` by least squares, with the standard error of `b` and its
/// two-sided 95% confidence half-width (NaN with fewer than three points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    pub intercept: f64,
    pub slope: f64,
    pub slope_se: f64,
    pub slope_ci95: f64,
    pub points: usize,
}

impl Line {
    /// The line through `pts`; `None` unless there are two distinct x.
    pub fn fit(pts: &[(f64, f64)]) -> Option<Line> {
        let n = pts.len();
        if n < 2 {
            return None;
        }
        let mx = pts.iter().map(|p| p.0).sum::<f64>() / n as f64;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / n as f64;
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        if sxx <= 1e-12 * (1.0 + mx * mx) {
            return None;
        }
        let slope = sxy / sxx;
        let intercept = my - slope * mx;
        let (se, ci) = if n > 2 {
            let sse: f64 = pts
                .iter()
                .map(|p| (p.1 - intercept - slope * p.0).powi(2))
                .sum();
            let se = (sse / (n - 2) as f64 / sxx).sqrt();
            (se, se * t_quantile(0.975, (n - 2) as f64))
        } else {
            (f64::NAN, f64::NAN)
        };
        Some(Line {
            intercept,
            slope,
            slope_se: se,
            slope_ci95: ci,
            points: n,
        })
    }

    /// The power law `v = exp(a) n^b` through `(n, v)`: the line of the logs.
    pub fn power_law(pts: &[(f64, f64)]) -> Option<Line> {
        let logs: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.0 > 0.0 && p.1 > 0.0)
            .map(|p| (p.0.ln(), p.1.ln()))
            .collect();
        Line::fit(&logs)
    }

    /// The power law's value at `n`.
    pub fn predict_power(&self, n: f64) -> f64 {
        (self.intercept + self.slope * n.ln()).exp()
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let s = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |s, (i, c)| s + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + s.ln()
}

/// The regularised incomplete beta function I_x(a, b) (continued fraction,
/// Lentz's method).
fn inc_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - inc_beta(1.0 - x, b, a);
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp() / a;
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
    let mut f = d;
    for m in 1..300 {
        let m = m as f64;
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
            c = 1.0 + num / c;
            if c.abs() < tiny {
                c = tiny;
            }
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * f
}

/// P(T <= t) for Student's t with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * inc_beta(df / (df + t * t), df / 2.0, 0.5);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The `p` quantile (p > 0.5) of Student's t with `df` degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1e7);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        // Two-sided 95% critical values (any statistics table; scipy's
        // t.ppf(0.975, df)).
        for (df, t) in [
            (1.0, 12.706_204_736),
            (2.0, 4.302_652_730),
            (5.0, 2.570_581_836),
            (10.0, 2.228_138_852),
            (30.0, 2.042_272_456),
            (1000.0, 1.962_339_286),
        ] {
            let q = t_quantile(0.975, df);
            assert!((q - t).abs() < 1e-6 * t, "df {df}: {q} vs {t}");
        }
        assert!((t_cdf(0.0, 7.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_power_law_is_recovered_with_its_interval() {
        // v = 3 n^1.5 exactly: slope 1.5, zero-width interval.
        let pts: Vec<(f64, f64)> = [1e3, 1e4, 1e5, 1e6]
            .iter()
            .map(|&n: &f64| (n, 3.0 * n.powf(1.5)))
            .collect();
        let l = Line::power_law(&pts).expect("four points");
        assert!((l.slope - 1.5).abs() < 1e-12);
        assert!(l.slope_ci95.abs() < 1e-9);
        assert!((l.predict_power(1e7) / (3.0 * 1e7f64.powf(1.5)) - 1.0).abs() < 1e-9);
        // Hand-computed case: x = 0, 1, 2, y = 0, 1, 3: slope 1.5,
        // residuals (1/6, -1/3, 1/6), s^2 = 1/6, se = sqrt(1/12).
        let l = Line::fit(&[(0.0, 0.0), (1.0, 1.0), (2.0, 3.0)]).expect("fit");
        assert!((l.slope - 1.5).abs() < 1e-12);
        assert!((l.intercept + 1.0 / 6.0).abs() < 1e-12);
        assert!((l.slope_se - (1.0f64 / 12.0).sqrt()).abs() < 1e-12);
        assert!((l.slope_ci95 - 12.706_204_736 * (1.0f64 / 12.0).sqrt()).abs() < 1e-6);
        assert!(Line::fit(&[(1.0, 1.0), (1.0, 2.0)]).is_none(), "one x");
        assert!(Line::fit(&[(1.0, 2.0), (2.0, 3.0)]).is_some_and(|l| l.slope_ci95.is_nan()));
    }
}
