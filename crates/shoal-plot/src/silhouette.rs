//! scikit-learn's silhouette-analysis figure: per cluster, a band of its
//! members' silhouette values sorted, stacked with gaps, the cluster's
//! number beside it, and the mean as a red dashed line.

use crate::axes::Axes;
use crate::svg::{Anchor, Svg};
use crate::{cluster_colour, Frame, Rgb};

/// Silhouette values by cluster.
#[derive(Debug, Clone)]
pub struct SilhouettePlot {
    pub frame: Frame,
    pub title: String,
    /// Cluster name and its members' values (any order).
    pub clusters: Vec<(String, Vec<f64>)>,
    /// The mean silhouette (the score).
    pub mean: f64,
    pub note: Option<String>,
}

impl SilhouettePlot {
    pub fn svg(&self) -> String {
        let f = &self.frame;
        let fg = f.theme.foreground;
        let mut svg = Svg::new(f.width, f.height, f.theme.background);
        let total: usize = self.clusters.iter().map(|c| c.1.len()).sum();
        let gap = (total as f64 / 50.0).max(1.0);
        let rows = total as f64 + gap * (self.clusters.len() + 1) as f64;
        let lo = self
            .clusters
            .iter()
            .flat_map(|c| c.1.iter().copied())
            .fold(-0.1f64, f64::min);
        let ax = Axes {
            x: (lo.min(-0.1), 1.0),
            y: (0.0, rows),
            left: 80.0,
            top: 50.0,
            width: (f.width as f64 - 110.0).max(16.0),
            height: (f.height as f64 - 122.0).max(16.0),
        };
        let mut y0 = gap;
        for (i, (name, vals)) in self.clusters.iter().enumerate() {
            let mut v = vals.clone();
            v.sort_by(f64::total_cmp);
            let colour = cluster_colour(Some(i));
            // one polygon: the band's right edge follows the sorted values
            let mut d = format!("M{} {}", ax.px(0.0), ax.py(y0));
            let step = (v.len() / 2000).max(1);
            for (j, s) in v.iter().enumerate().step_by(step) {
                d.push_str(&format!(" L{:.2} {:.2}", ax.px(*s), ax.py(y0 + j as f64)));
            }
            let end = y0 + v.len() as f64;
            if let Some(last) = v.last() {
                d.push_str(&format!(" L{:.2} {:.2}", ax.px(*last), ax.py(end)));
            }
            d.push_str(&format!(" L{:.2} {:.2} Z", ax.px(0.0), ax.py(end)));
            svg.raw(&format!(
                "<path class=\"band\" d=\"{d}\" fill=\"{}\" fill-opacity=\"0.7\" stroke=\"{}\" stroke-width=\"0.5\"/>",
                colour.hex(),
                colour.hex()
            ));
            svg.text(
                ax.px(lo.min(-0.1)) - 4.0,
                ax.py(y0 + v.len() as f64 / 2.0) + 4.0,
                name,
                12.0,
                fg,
                Anchor::End,
                0.0,
            );
            y0 = end + gap;
        }
        let xm = ax.px(self.mean);
        svg.line(
            xm,
            ax.top,
            xm,
            ax.top + ax.height,
            Rgb(255, 0, 0),
            1.5,
            true,
        );
        // x ticks only
        let xt = crate::axes::nice_ticks(ax.x.0, ax.x.1, 6);
        let step = if xt.len() > 1 { xt[1] - xt[0] } else { 0.2 };
        for &v in &xt {
            let x = ax.px(v);
            svg.line(
                x,
                ax.top + ax.height,
                x,
                ax.top + ax.height + 5.0,
                fg,
                1.0,
                false,
            );
            svg.text(
                x,
                ax.top + ax.height + 19.0,
                &crate::axes::tick_label(v, step),
                12.0,
                fg,
                Anchor::Middle,
                0.0,
            );
        }
        svg.raw(&format!(
            "<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{}\"/>",
            ax.left, ax.top, ax.width, ax.height, fg.hex()
        ));
        svg.text(
            ax.left + ax.width / 2.0,
            ax.top + ax.height + 42.0,
            "silhouette coefficient",
            14.0,
            fg,
            Anchor::Middle,
            0.0,
        );
        svg.text(
            ax.left - 58.0,
            ax.top + ax.height / 2.0,
            "cluster",
            14.0,
            fg,
            Anchor::Middle,
            -90.0,
        );
        svg.text(
            ax.left + ax.width / 2.0,
            ax.top - 14.0,
            &self.title,
            16.0,
            fg,
            Anchor::Middle,
            0.0,
        );
        if let Some(n) = &self.note {
            svg.text(
                ax.left + ax.width,
                f.height as f64 - 8.0,
                n,
                11.0,
                fg,
                Anchor::End,
                0.0,
            );
        }
        svg.finish()
    }
}
