//! SVG to PNG with resvg, text in the embedded font only.

use std::sync::{Arc, OnceLock};

/// DejaVu Sans, cut to Latin and a few signs (`tools/subset_font.sh`);
/// licence in `fonts/LICENSE-DejaVu.txt`.
static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans-subset.ttf");

/// The family every text element names.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// The embedded font's TrueType bytes (for pages that show the SVG).
pub fn font_ttf() -> &'static [u8] {
    FONT
}

/// Why a figure could not be made.
#[derive(Debug)]
pub enum PlotError {
    Svg(String),
    Size(u32, u32),
}

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlotError::Svg(m) => write!(f, "the figure's SVG did not parse: {m}"),
            PlotError::Size(w, h) => write!(f, "a figure of {w} x {h} pixels cannot be drawn"),
        }
    }
}

impl std::error::Error for PlotError {}

fn options() -> &'static resvg::usvg::Options<'static> {
    static OPT: OnceLock<resvg::usvg::Options<'static>> = OnceLock::new();
    OPT.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        resvg::usvg::Options {
            font_family: FONT_FAMILY.to_string(),
            fontdb: Arc::new(db),
            ..resvg::usvg::Options::default()
        }
    })
}

/// Parses an SVG as the renderer does (for tests: every figure must parse).
pub fn parse_svg(svg: &str) -> Result<resvg::usvg::Tree, PlotError> {
    resvg::usvg::Tree::from_str(svg, options()).map_err(|e| PlotError::Svg(e.to_string()))
}

/// Renders an SVG to PNG bytes at its own size.
pub fn render_png(svg: &str) -> Result<Vec<u8>, PlotError> {
    let tree = parse_svg(svg)?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or(PlotError::Size(size.width(), size.height()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| PlotError::Svg(e.to_string()))
}

/// Encodes straight RGBA pixels (`w x h`, row-major) as PNG.
pub fn encode_rgba(w: u32, h: u32, rgba: &[u8]) -> Result<Vec<u8>, PlotError> {
    let mut pm = resvg::tiny_skia::Pixmap::new(w, h).ok_or(PlotError::Size(w, h))?;
    // tiny-skia stores premultiplied colour.
    for (px, c) in pm.pixels_mut().iter_mut().zip(rgba.chunks_exact(4)) {
        *px = resvg::tiny_skia::ColorU8::from_rgba(c[0], c[1], c[2], c[3]).premultiply();
    }
    pm.encode_png().map_err(|e| PlotError::Svg(e.to_string()))
}

/// Decodes a PNG to (width, height, straight RGBA) — for tests and checks.
pub fn decode_png(png: &[u8]) -> Result<(u32, u32, Vec<u8>), PlotError> {
    let pm =
        resvg::tiny_skia::Pixmap::decode_png(png).map_err(|e| PlotError::Svg(e.to_string()))?;
    let rgba = pm
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    Ok((pm.width(), pm.height(), rgba))
}
