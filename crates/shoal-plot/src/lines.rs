//! Line charts: named series of (x, y) points on linear or logarithmic
//! axes, each drawn as a line with markers or as a dashed line (a fitted
//! model, an ideal), with a legend on the right. The benchmark figures
//! (time and memory against rows, speed-up against threads) are these.

use crate::axes::{Axes, Scale};
use crate::svg::{Anchor, Svg};
use crate::{Frame, Rgb};

/// One series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub colour: Rgb,
    /// A dashed line without markers (a fit or a reference), not data.
    pub dashed: bool,
}

/// A chart of several series.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub frame: Frame,
    pub title: String,
    pub xlabel: String,
    pub ylabel: String,
    pub x_scale: Scale,
    pub y_scale: Scale,
    pub series: Vec<Series>,
}

fn to_axis(v: f64, s: Scale) -> Option<f64> {
    match s {
        Scale::Linear => v.is_finite().then_some(v),
        Scale::Log => (v.is_finite() && v > 0.0).then(|| v.log10()),
    }
}

fn padded(lo: f64, hi: f64, s: Scale) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let pad = match (hi > lo, s) {
        (true, _) => 0.05 * (hi - lo),
        (false, Scale::Log) => 0.3,
        (false, Scale::Linear) => 0.5_f64.max(0.1 * lo.abs()),
    };
    (lo - pad, hi + pad)
}

impl LineChart {
    /// The points of every series in axis units (`log10` on log axes);
    /// points a log axis cannot show (zero, negative) are left out.
    fn axis_points(&self) -> Vec<Vec<(f64, f64)>> {
        self.series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .filter_map(|&(x, y)| {
                        Some((to_axis(x, self.x_scale)?, to_axis(y, self.y_scale)?))
                    })
                    .collect()
            })
            .collect()
    }

    pub fn svg(&self) -> String {
        let f = &self.frame;
        let fg = f.theme.foreground;
        let mut svg = Svg::new(f.width, f.height, f.theme.background);
        let pts = self.axis_points();
        let all = pts.iter().flatten();
        let (x0, x1, y0, y1) = all.fold(
            (
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ),
            |m, &(x, y)| (m.0.min(x), m.1.max(x), m.2.min(y), m.3.max(y)),
        );
        let legend_w = if self.series.is_empty() { 0.0 } else { 260.0 };
        let ax = Axes {
            x: padded(x0, x1, self.x_scale),
            y: padded(y0, y1, self.y_scale),
            left: 90.0,
            top: 50.0,
            width: (f.width as f64 - 130.0 - legend_w).max(50.0),
            height: (f.height as f64 - 120.0).max(50.0),
        };
        let clip = |(x, y): (f64, f64)| (ax.px(x), ax.py(y));
        for (s, p) in self.series.iter().zip(&pts) {
            let px: Vec<(f64, f64)> = p.iter().copied().map(clip).collect();
            if s.dashed {
                for w in px.windows(2) {
                    svg.line(w[0].0, w[0].1, w[1].0, w[1].1, s.colour, 1.5, true);
                }
            } else {
                svg.polyline(&px, s.colour, 2.0, "series");
                for (x, y) in px {
                    svg.circle(x, y, 3.5, s.colour, 1.0);
                }
            }
        }
        ax.draw_scaled(
            &mut svg,
            &f.theme,
            [self.x_scale, self.y_scale],
            [&self.xlabel, &self.ylabel],
            &self.title,
        );
        let lx = ax.left + ax.width + 18.0;
        let row = if self.series.len() > 36 { 11.0 } else { 17.0 };
        // Series without a name (fitted lines beside their data) stay out of the legend.
        for (i, s) in self
            .series
            .iter()
            .filter(|s| !s.name.is_empty())
            .enumerate()
        {
            let y = ax.top + 8.0 + row * i as f64;
            if s.dashed {
                svg.line(lx, y - 3.0, lx + 16.0, y - 3.0, s.colour, 1.5, true);
            } else {
                svg.line(lx, y - 3.0, lx + 16.0, y - 3.0, s.colour, 2.0, false);
                svg.circle(lx + 8.0, y - 3.0, 3.0, s.colour, 1.0);
            }
            svg.text(lx + 22.0, y + 1.0, &s.name, 11.0, fg, Anchor::Start, 0.0);
        }
        svg.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_png, render_png, TAB10};

    fn chart(series: Vec<Series>) -> LineChart {
        LineChart {
            frame: Frame::new(800, 500, false),
            title: "t".into(),
            xlabel: "rows".into(),
            ylabel: "seconds".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            series,
        }
    }

    #[test]
    fn a_log_log_line_is_straight_where_the_data_are() {
        // y = x on log-log axes is the diagonal of the data box: the marker
        // of (10, 10) sits a decade right of and above that of (1, 1).
        let c = chart(vec![Series {
            name: "y = x".into(),
            points: vec![(1.0, 1.0), (10.0, 10.0), (100.0, 100.0)],
            colour: TAB10[0],
            dashed: false,
        }]);
        let svg = c.svg();
        let circles: Vec<(f64, f64)> = svg
            .lines()
            .filter(|l| l.starts_with("<circle"))
            .map(|l| {
                let attr = |a: &str| -> f64 {
                    let s = &l[l.find(&format!("{a}=\"")).expect("attr") + a.len() + 2..];
                    s[..s.find('"').expect("quote")].parse().expect("number")
                };
                (attr("cx"), attr("cy"))
            })
            .collect();
        assert_eq!(circles.len(), 3 + 1, "three markers and the legend's");
        let d1 = (circles[1].0 - circles[0].0, circles[1].1 - circles[0].1);
        let d2 = (circles[2].0 - circles[1].0, circles[2].1 - circles[1].1);
        assert!((d1.0 - d2.0).abs() < 1e-6 && (d1.1 - d2.1).abs() < 1e-6);
        assert!(d1.0 > 0.0 && d1.1 < 0.0, "up and to the right");
        assert!(
            svg.contains(">100<") && svg.contains(">10<"),
            "decade labels"
        );
        let png = render_png(&svg).expect("renders");
        let (w, h, _) = decode_png(&png).expect("decodes");
        assert_eq!((w, h), (800, 500));
    }

    #[test]
    fn non_positive_values_are_left_off_log_axes() {
        let c = chart(vec![Series {
            name: "s".into(),
            points: vec![(0.0, 1.0), (10.0, -1.0), (10.0, 5.0)],
            colour: TAB10[1],
            dashed: true,
        }]);
        assert_eq!(c.axis_points()[0], vec![(1.0, 5f64.log10())]);
        assert!(c.svg().starts_with("<svg"));
    }
}
