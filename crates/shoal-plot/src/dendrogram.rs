//! scipy's dendrogram, drawn: the links at scipy's `icoord`/`dcoord` (leaf
//! `i` at x = 5 + 10 i, heights as merged), coloured by scipy's
//! `color_list` (`C0`..`C9`), leaf labels under the axis, and a dashed cut
//! line at the `fcluster` threshold.

use crate::axes::Axes;
use crate::palette::named;
use crate::svg::{Anchor, Svg};
use crate::{Frame, Rgb, TAB10};

/// A dendrogram as scipy lays it out.
#[derive(Debug, Clone)]
pub struct DendrogramPlot<'a> {
    pub frame: Frame,
    pub title: String,
    pub icoord: &'a [[f64; 4]],
    pub dcoord: &'a [[f64; 4]],
    /// `C0`.. per link.
    pub color_list: &'a [String],
    /// Leaf labels left to right.
    pub ivl: &'a [String],
    /// A dashed horizontal line at this height.
    pub cut: Option<f64>,
    /// Degrees to rotate the leaf labels (scipy's `leaf_rotation`).
    pub leaf_rotation: f64,
    pub note: Option<String>,
}

impl DendrogramPlot<'_> {
    /// The axes the links are drawn on (data: scipy's coordinates).
    pub fn axes(&self) -> Axes {
        let f = &self.frame;
        let leaves = self.ivl.len().max(1) as f64;
        let top_h = self
            .dcoord
            .iter()
            .flat_map(|d| d.iter().copied())
            .chain(self.cut)
            .fold(0.0f64, f64::max);
        let top_h = if top_h > 0.0 { top_h * 1.05 } else { 1.0 };
        Axes {
            x: (0.0, 10.0 * leaves),
            y: (0.0, top_h),
            left: 80.0,
            top: 50.0,
            width: (f.width as f64 - 110.0).max(16.0),
            height: (f.height as f64 - 150.0).max(16.0),
        }
    }

    pub fn svg(&self) -> String {
        let f = &self.frame;
        let fg = f.theme.foreground;
        let mut svg = Svg::new(f.width, f.height, f.theme.background);
        let ax = self.axes();
        for ((ic, dc), c) in self.icoord.iter().zip(self.dcoord).zip(self.color_list) {
            let pts: Vec<(f64, f64)> = (0..4).map(|j| (ax.px(ic[j]), ax.py(dc[j]))).collect();
            let colour = named(c).unwrap_or(TAB10[0]);
            svg.polyline(&pts, colour, 1.5, &format!("link {c}"));
        }
        if let Some(t) = self.cut {
            let y = ax.py(t);
            svg.line(ax.left, y, ax.left + ax.width, y, Rgb(0, 0, 0), 1.2, true);
        }
        // y axis and frame: no x ticks (leaves are labelled instead)
        let mut bare = ax;
        bare.x = (0.0, 10.0 * self.ivl.len().max(1) as f64);
        draw_y_only(&mut svg, &bare, f, &self.title);
        let step = ax.width / self.ivl.len().max(1) as f64;
        if step >= 9.0 {
            let size = step.clamp(9.0, 12.0);
            for (i, label) in self.ivl.iter().enumerate() {
                let x = ax.px(5.0 + 10.0 * i as f64);
                let y = ax.top + ax.height + 14.0;
                let (rot, anchor) = if self.leaf_rotation != 0.0 {
                    (self.leaf_rotation, Anchor::End)
                } else if step < 30.0 {
                    (-90.0, Anchor::End)
                } else {
                    (0.0, Anchor::Middle)
                };
                svg.text(
                    x + if rot != 0.0 { size / 3.0 } else { 0.0 },
                    y,
                    label,
                    size,
                    fg,
                    anchor,
                    rot,
                );
            }
        }
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

/// A frame with y ticks only, and the title.
fn draw_y_only(svg: &mut Svg, ax: &Axes, f: &Frame, title: &str) {
    let fg = f.theme.foreground;
    let yt = crate::axes::nice_ticks(ax.y.0, ax.y.1, (ax.height / 60.0).max(2.0) as usize);
    let step = if yt.len() > 1 { yt[1] - yt[0] } else { 1.0 };
    for &v in &yt {
        let y = ax.py(v);
        svg.line(ax.left - 5.0, y, ax.left, y, fg, 1.0, false);
        svg.text(
            ax.left - 8.0,
            y + 4.0,
            &crate::axes::tick_label(v, step),
            12.0,
            fg,
            Anchor::End,
            0.0,
        );
    }
    svg.line(ax.left, ax.top, ax.left, ax.top + ax.height, fg, 1.0, false);
    svg.line(
        ax.left,
        ax.top + ax.height,
        ax.left + ax.width,
        ax.top + ax.height,
        fg,
        1.0,
        false,
    );
    svg.text(
        ax.left - 58.0,
        ax.top + ax.height / 2.0,
        "height",
        14.0,
        fg,
        Anchor::Middle,
        -90.0,
    );
    svg.text(
        ax.left + ax.width / 2.0,
        ax.top - 14.0,
        title,
        16.0,
        fg,
        Anchor::Middle,
        0.0,
    );
}
