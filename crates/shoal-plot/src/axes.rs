//! Axes: a data range mapped onto a rectangle of the figure, with "nice"
//! ticks (steps of 1, 2, 2.5 or 5 times a power of ten, as matplotlib's
//! `MaxNLocator` picks them), tick labels, axis labels and a title.

use crate::svg::{Anchor, Svg};
use crate::Theme;

/// Ticks covering `[lo, hi]`: at most about `max` values at a nice step.
pub fn nice_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let raw = (hi - lo) / max.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .map(|i| {
            let v = i as f64 * step;
            // clean the rounding of i * step (0.30000000000000004)
            let digits = (-step.log10().floor()).max(0.0) as i32 + 1;
            let p = 10f64.powi(digits);
            (v * p).round() / p
        })
        .collect()
}

/// A tick label: plain decimals for ordinary magnitudes, exponent otherwise.
pub fn tick_label(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-4..1e6).contains(&a) {
        let s = format!("{v:.2e}");
        return s.replace("e0", "e").replace(".00e", "e");
    }
    let decimals = if step >= 1.0 {
        usize::from(step.fract() != 0.0)
    } else {
        (-step.log10().floor()) as usize
            + usize::from(step * 10f64.powf(-step.log10().floor()) % 1.0 != 0.0)
    };
    format!("{v:.decimals$}")
}

/// Axes over the data box `x` by `y`, drawn in the figure rectangle
/// `(left, top, width, height)` in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axes {
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl Axes {
    /// Data x to pixel x.
    pub fn px(&self, x: f64) -> f64 {
        self.left + (x - self.x.0) / (self.x.1 - self.x.0) * self.width
    }

    /// Data y to pixel y (up is up).
    pub fn py(&self, y: f64) -> f64 {
        self.top + (self.y.1 - y) / (self.y.1 - self.y.0) * self.height
    }

    /// The frame, ticks with their labels, the axis labels and the title.
    pub fn draw(&self, svg: &mut Svg, theme: &Theme, xlabel: &str, ylabel: &str, title: &str) {
        let fg = theme.foreground;
        let (l, t, w, h) = (self.left, self.top, self.width, self.height);
        let xt = nice_ticks(self.x.0, self.x.1, (w / 90.0).max(2.0) as usize);
        let yt = nice_ticks(self.y.0, self.y.1, (h / 60.0).max(2.0) as usize);
        let step = |v: &[f64]| if v.len() > 1 { v[1] - v[0] } else { 1.0 };
        let (sx, sy) = (step(&xt), step(&yt));
        for &v in &xt {
            let x = self.px(v);
            svg.line(x, t + h, x, t + h + 5.0, fg, 1.0, false);
            svg.text(
                x,
                t + h + 19.0,
                &tick_label(v, sx),
                12.0,
                fg,
                Anchor::Middle,
                0.0,
            );
        }
        for &v in &yt {
            let y = self.py(v);
            svg.line(l - 5.0, y, l, y, fg, 1.0, false);
            svg.text(
                l - 8.0,
                y + 4.0,
                &tick_label(v, sy),
                12.0,
                fg,
                Anchor::End,
                0.0,
            );
        }
        svg.raw(&format!(
            "<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1\"/>",
            crate::svg::num(l),
            crate::svg::num(t),
            crate::svg::num(w),
            crate::svg::num(h),
            fg.hex()
        ));
        svg.text(
            l + w / 2.0,
            t + h + 42.0,
            xlabel,
            14.0,
            fg,
            Anchor::Middle,
            0.0,
        );
        svg.text(
            l - 58.0,
            t + h / 2.0,
            ylabel,
            14.0,
            fg,
            Anchor::Middle,
            -90.0,
        );
        svg.text(l + w / 2.0, t - 14.0, title, 16.0, fg, Anchor::Middle, 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_inside_the_range() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(nice_ticks(-0.33, 0.71, 5), vec![-0.25, 0.0, 0.25, 0.5]);
        let t = nice_ticks(24.5, 49.4, 6);
        assert_eq!(t, vec![25.0, 30.0, 35.0, 40.0, 45.0]);
        assert_eq!(nice_ticks(3.0, 3.0, 5), vec![2.6, 2.8, 3.0, 3.2, 3.4]);
        assert_eq!(tick_label(0.30000000000000004, 0.1), "0.3");
        assert_eq!(tick_label(2.5, 2.5), "2.5");
        assert_eq!(tick_label(1500.0, 500.0), "1500");
    }
}
