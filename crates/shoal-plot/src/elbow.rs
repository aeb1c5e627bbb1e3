//! The elbow figure of a k sweep: inertia against k with the knee marked
//! (top), and the silhouette (with its standard error) and Davies-Bouldin
//! index against k (bottom), the best k of each marked.

use crate::axes::Axes;
use crate::svg::{Anchor, Svg};
use crate::{Frame, Rgb, TAB10};

/// A sweep's figures.
#[derive(Debug, Clone)]
pub struct ElbowPlot {
    pub frame: Frame,
    pub title: String,
    pub ks: Vec<f64>,
    pub inertia: Vec<f64>,
    pub knee: Option<f64>,
    pub silhouette: Vec<f64>,
    pub silhouette_se: Vec<f64>,
    pub davies_bouldin: Vec<f64>,
    pub best_silhouette: Option<f64>,
    pub best_davies_bouldin: Option<f64>,
}

fn range(v: &[f64]) -> (f64, f64) {
    let (lo, hi) = v
        .iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |m, &x| {
            (m.0.min(x), m.1.max(x))
        });
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.06 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
}

fn series(svg: &mut Svg, ax: &Axes, xs: &[f64], ys: &[f64], c: Rgb, class: &str) {
    let pts: Vec<(f64, f64)> = xs
        .iter()
        .zip(ys)
        .filter(|(_, y)| y.is_finite())
        .map(|(x, y)| (ax.px(*x), ax.py(*y)))
        .collect();
    svg.polyline(&pts, c, 2.0, class);
    for (x, y) in pts {
        svg.circle(x, y, 3.5, c, 1.0);
    }
}

impl ElbowPlot {
    pub fn svg(&self) -> String {
        let f = &self.frame;
        let fg = f.theme.foreground;
        let mut svg = Svg::new(f.width, f.height, f.theme.background);
        let kx = range(&self.ks);
        let w = f.width as f64 - 230.0;
        let h = (f.height as f64 - 190.0) / 2.0;
        let top = Axes {
            x: kx,
            y: range(&self.inertia),
            left: 90.0,
            top: 50.0,
            width: w,
            height: h,
        };
        series(&mut svg, &top, &self.ks, &self.inertia, TAB10[0], "inertia");
        if let Some(k) = self.knee {
            let x = top.px(k);
            svg.line(
                x,
                top.top,
                x,
                top.top + top.height,
                Rgb(255, 0, 0),
                1.5,
                true,
            );
            svg.text(
                x + 6.0,
                top.top + 16.0,
                &format!("knee: k = {k}"),
                12.0,
                Rgb(255, 0, 0),
                Anchor::Start,
                0.0,
            );
        }
        top.draw(&mut svg, &f.theme, "k", "inertia", &self.title);
        let mut both = self.silhouette.clone();
        both.extend(&self.davies_bouldin);
        both.extend(
            self.silhouette
                .iter()
                .zip(&self.silhouette_se)
                .map(|(s, e)| s + e),
        );
        let bottom = Axes {
            x: kx,
            y: range(&both),
            left: 90.0,
            top: 50.0 + h + 90.0,
            width: w,
            height: h,
        };
        for ((k, s), e) in self
            .ks
            .iter()
            .zip(&self.silhouette)
            .zip(&self.silhouette_se)
        {
            if s.is_finite() && e.is_finite() {
                let x = bottom.px(*k);
                svg.line(
                    x,
                    bottom.py(s - e),
                    x,
                    bottom.py(s + e),
                    TAB10[1],
                    1.0,
                    false,
                );
            }
        }
        series(
            &mut svg,
            &bottom,
            &self.ks,
            &self.silhouette,
            TAB10[1],
            "silhouette",
        );
        series(
            &mut svg,
            &bottom,
            &self.ks,
            &self.davies_bouldin,
            TAB10[2],
            "davies-bouldin",
        );
        for (best, c) in [
            (self.best_silhouette, TAB10[1]),
            (self.best_davies_bouldin, TAB10[2]),
        ] {
            if let Some(k) = best {
                let x = bottom.px(k);
                svg.line(x, bottom.top, x, bottom.top + bottom.height, c, 1.0, true);
            }
        }
        bottom.draw(&mut svg, &f.theme, "k", "score", "");
        let lx = 90.0 + w + 16.0;
        let ly = bottom.top + 10.0;
        for (i, (name, c)) in [
            ("silhouette ± s.e. (max)", TAB10[1]),
            ("Davies-Bouldin (min)", TAB10[2]),
        ]
        .iter()
        .enumerate()
        {
            let y = ly + 18.0 * i as f64;
            svg.rect(lx, y - 9.0, 12.0, 12.0, *c, None);
            svg.text(lx + 18.0, y + 1.0, name, 11.0, fg, Anchor::Start, 0.0);
        }
        svg.finish()
    }
}
