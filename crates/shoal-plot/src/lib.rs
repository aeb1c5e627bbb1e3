//! shoal's figures. Everything is drawn as SVG text first; a PNG is that
//! SVG rendered by `resvg` with the one embedded font (DejaVu Sans, cut to
//! the characters figures use), so both files look the same and no system
//! font is ever consulted. The crate draws what it is given and reads no
//! files: the streaming passes that feed it live in the engine.
//!
//! Defaults follow matplotlib's: white background, the `tab10` palette (a
//! longer qualitative palette past ten clusters), labelled axes with
//! "nice" ticks, a title and a legend, sizes in pixels at 100 DPI.

mod axes;
pub mod dendrogram;
pub mod elbow;
pub mod html;
pub mod lines;
pub mod map;
mod palette;
mod render;
pub mod scatter;
pub mod silhouette;
mod svg;

pub use axes::{nice_ticks, tick_label, Axes, Scale};
pub use palette::{cluster_colour, named, Rgb, NOISE_GREY, TAB10};
pub use render::{
    decode_png, encode_rgba, font_ttf, parse_svg, render_png, PlotError, FONT_FAMILY,
};
pub use svg::Svg;

/// `1234567` as `1,234,567`, for figure notes and legends.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Colours of a figure's frame and text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub background: Rgb,
    pub foreground: Rgb,
    pub grid: Rgb,
}

impl Theme {
    pub fn light() -> Theme {
        Theme {
            background: Rgb(255, 255, 255),
            foreground: Rgb(0, 0, 0),
            grid: Rgb(220, 220, 220),
        }
    }

    pub fn dark() -> Theme {
        Theme {
            background: Rgb(30, 30, 30),
            foreground: Rgb(230, 230, 230),
            grid: Rgb(70, 70, 70),
        }
    }
}

/// A figure's size (pixels) and theme.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub theme: Theme,
}

impl Frame {
    pub fn new(width: u32, height: u32, dark: bool) -> Frame {
        Frame {
            width,
            height,
            theme: if dark { Theme::dark() } else { Theme::light() },
        }
    }
}
