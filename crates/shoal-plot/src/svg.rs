//! A small SVG writer: elements appended as text, attributes escaped.

use std::fmt::Write;

use crate::render::FONT_FAMILY;
use crate::Rgb;

/// An SVG document being written.
#[derive(Debug, Clone)]
pub struct Svg {
    width: u32,
    height: u32,
    body: String,
}

/// Escapes text for an XML attribute or element.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// A number for SVG: two decimals, no trailing zeros.
pub fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Horizontal anchor of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Svg {
    pub fn new(width: u32, height: u32, background: Rgb) -> Svg {
        let mut s = Svg {
            width,
            height,
            body: String::new(),
        };
        s.rect(0.0, 0.0, width as f64, height as f64, background, None);
        s
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Appends raw SVG (already escaped).
    pub fn raw(&mut self, s: &str) {
        self.body.push_str(s);
        self.body.push('\n');
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: Rgb, stroke: Option<Rgb>) {
        let stroke = stroke.map_or(String::new(), |c| {
            format!(" stroke=\"{}\" stroke-width=\"1\"", c.hex())
        });
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{stroke}/>",
            num(x),
            num(y),
            num(w),
            num(h),
            fill.hex()
        );
    }

    /// A straight line; `dash` draws it dashed.
    #[allow(clippy::too_many_arguments)]
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, c: Rgb, width: f64, dash: bool) {
        let dash = if dash {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{dash}/>",
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            c.hex(),
            num(width)
        );
    }

    /// An open polyline through `pts`, with a `class` for tests and styling.
    pub fn polyline(&mut self, pts: &[(f64, f64)], c: Rgb, width: f64, class: &str) {
        let p: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
            .collect();
        let _ = writeln!(
            self.body,
            "<polyline class=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"/>",
            esc(class),
            p.join(" "),
            c.hex(),
            num(width)
        );
    }

    pub fn circle(&mut self, x: f64, y: f64, r: f64, fill: Rgb, opacity: f64) {
        let _ = writeln!(
            self.body,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" fill-opacity=\"{}\"/>",
            num(x),
            num(y),
            num(r),
            fill.hex(),
            num(opacity)
        );
    }

    /// An X marker of half-width `r` (the tutorial's centroid marker).
    pub fn cross(&mut self, x: f64, y: f64, r: f64, c: Rgb, width: f64) {
        let _ = writeln!(
            self.body,
            "<path class=\"centroid\" d=\"M{} {}L{} {}M{} {}L{} {}\" stroke=\"{}\" stroke-width=\"{}\" stroke-linecap=\"round\"/>",
            num(x - r),
            num(y - r),
            num(x + r),
            num(y + r),
            num(x - r),
            num(y + r),
            num(x + r),
            num(y - r),
            c.hex(),
            num(width)
        );
    }

    /// Text at (x, y) (baseline), rotated by `rotate` degrees about that point.
    #[allow(clippy::too_many_arguments)]
    pub fn text(
        &mut self,
        x: f64,
        y: f64,
        s: &str,
        size: f64,
        c: Rgb,
        anchor: Anchor,
        rotate: f64,
    ) {
        let a = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let rot = if rotate != 0.0 {
            format!(
                " transform=\"rotate({} {} {})\"",
                num(rotate),
                num(x),
                num(y)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            self.body,
            "<text x=\"{}\" y=\"{}\" font-family=\"{FONT_FAMILY}\" font-size=\"{}\" fill=\"{}\" text-anchor=\"{a}\"{rot}>{}</text>",
            num(x),
            num(y),
            num(size),
            c.hex(),
            esc(s)
        );
    }

    /// An embedded PNG image (data URI) at (x, y), `w x h` pixels, drawn
    /// without smoothing.
    pub fn png(&mut self, x: f64, y: f64, w: f64, h: f64, png: &[u8]) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(png);
        let _ = writeln!(
            self.body,
            "<image class=\"density\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{b64}\"/>",
            num(x),
            num(y),
            num(w),
            num(h)
        );
    }

    /// The document.
    pub fn finish(&self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text_are_written_safely() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(2.345), "2.35");
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
