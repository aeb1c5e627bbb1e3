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

/// How an axis maps values: as they are, or by their `log10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

impl Scale {
    /// Ticks over `range` (in axis units, i.e. `log10` for `Log`) with
    /// their labels.
    pub fn ticks(self, range: (f64, f64), max: usize) -> Vec<(f64, String)> {
        match self {
            Scale::Linear => {
                let t = nice_ticks(range.0, range.1, max);
                let step = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
                t.into_iter().map(|v| (v, tick_label(v, step))).collect()
            }
            Scale::Log => {
                if !(range.0.is_finite() && range.1.is_finite()) {
                    return Vec::new();
                }
                let (lo, hi) = (range.0.floor() as i32, range.1.ceil() as i32);
                // Under two decades, 2 and 5 times each power are marked too.
                let mults: &[f64] = if range.1 - range.0 < 2.0 {
                    &[1.0, 2.0, 5.0]
                } else {
                    &[1.0]
                };
                let stride = ((hi - lo) as usize / max.max(1)).max(1);
                (lo..=hi)
                    .filter(|e| ((e - lo) as usize).is_multiple_of(stride))
                    .flat_map(|e| mults.iter().map(move |m| m * 10f64.powi(e)))
                    .filter(|v| {
                        let l = v.log10();
                        l >= range.0 - 1e-9 && l <= range.1 + 1e-9
                    })
                    .map(|v| (v.log10(), tick_label(v, v)))
                    .collect()
            }
        }
    }
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
        self.draw_scaled(svg, theme, [Scale::Linear; 2], [xlabel, ylabel], title);
    }

    /// [`Axes::draw`] for axes whose data are `log10` of the values when
    /// their [`Scale`] is `Log`: ticks at powers of ten (and 2 and 5 times
    /// them over short ranges), labelled with the values themselves.
    pub fn draw_scaled(
        &self,
        svg: &mut Svg,
        theme: &Theme,
        scales: [Scale; 2],
        labels: [&str; 2],
        title: &str,
    ) {
        let [xlabel, ylabel] = labels;
        let fg = theme.foreground;
        let (l, t, w, h) = (self.left, self.top, self.width, self.height);
        let xt = scales[0].ticks(self.x, (w / 90.0).max(2.0) as usize);
        let yt = scales[1].ticks(self.y, (h / 60.0).max(2.0) as usize);
        for (v, label) in &xt {
            let x = self.px(*v);
            svg.line(x, t + h, x, t + h + 5.0, fg, 1.0, false);
            svg.text(x, t + h + 19.0, label, 12.0, fg, Anchor::Middle, 0.0);
        }
        for (v, label) in &yt {
            let y = self.py(*v);
            svg.line(l - 5.0, y, l, y, fg, 1.0, false);
            svg.text(l - 8.0, y + 4.0, label, 12.0, fg, Anchor::End, 0.0);
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

    #[test]
    fn log_ticks_are_powers_of_ten_labelled_by_value() {
        let t = Scale::Log.ticks((3.7, 8.2), 8);
        let labels: Vec<&str> = t.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["10000", "100000", "1e6", "1e7", "1e8"]);
        assert!((t[0].0 - 4.0).abs() < 1e-12);
        let short = Scale::Log.ticks((-0.5, 0.9), 8);
        let labels: Vec<&str> = short.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0.5", "1", "2", "5"]);
    }
}
