//! A self-contained HTML report: figures as inline SVG (rasters inside
//! them as data-URI PNG), tables and notes, the figures' font embedded as
//! a data-URI `@font-face`, and a Content-Security-Policy that forbids
//! every request, so the file reads the same offline, mailed or archived.

use base64::Engine as _;

use crate::svg::esc;

/// A cell of a table: text, or a number right-aligned.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Num(String),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    pub fn num(s: impl Into<String>) -> Cell {
        Cell::Num(s.into())
    }
}

/// A part of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph of text.
    Para(String),
    /// Figures (SVG documents) side by side, each with a caption.
    Figures(Vec<(String, String)>),
    /// A table: caption, header, rows.
    Table {
        caption: String,
        header: Vec<String>,
        rows: Vec<Vec<Cell>>,
    },
}

/// A titled section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Anchor (letters, digits and '-').
    pub id: String,
    pub heading: String,
    pub blocks: Vec<Block>,
}

/// A report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub title: String,
    /// Under the title (e.g. what made it, when).
    pub subtitle: String,
    pub sections: Vec<Section>,
}

const STYLE: &str = "
body { font-family: 'DejaVu Sans', sans-serif; margin: 24px auto; max-width: 1500px; padding: 0 16px; color: #111; background: #fff; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
p.sub { color: #555; margin-top: 0; }
nav a { margin-right: 14px; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; flex: 1 1 560px; max-width: 1000px; }
figure svg { width: 100%; height: auto; display: block; border: 1px solid #e4e4e4; }
figcaption { font-size: 13px; color: #444; margin-top: 4px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
caption { text-align: left; font-weight: bold; padding-bottom: 4px; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; }
th { background: #f3f3f3; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.wrap { overflow-x: auto; }
";

impl Report {
    /// The whole document. `font` is the TrueType font the figures name
    /// (embedded so the browser draws their text as the PNGs do).
    pub fn html(&self, font: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(font);
        let mut o = String::with_capacity(1 << 16);
        o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        // Nothing may be fetched: images, fonts and styles are all in the file.
        o.push_str(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'\">\n",
        );
        o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        o.push_str(&format!("<title>{}</title>\n<style>\n", esc(&self.title)));
        o.push_str(&format!(
            "@font-face {{ font-family: '{}'; src: url(data:font/ttf;base64,{b64}) format('truetype'); }}\n",
            crate::FONT_FAMILY
        ));
        o.push_str(STYLE);
        o.push_str("</style>\n</head>\n<body>\n");
        o.push_str(&format!("<h1>{}</h1>\n", esc(&self.title)));
        o.push_str(&format!(
            "<p class=\"sub\">{}</p>\n<nav>",
            esc(&self.subtitle)
        ));
        for s in &self.sections {
            o.push_str(&format!(
                "<a href=\"#{}\">{}</a>",
                esc(&s.id),
                esc(&s.heading)
            ));
        }
        o.push_str("</nav>\n");
        for s in &self.sections {
            o.push_str(&format!(
                "<section id=\"{}\">\n<h2>{}</h2>\n",
                esc(&s.id),
                esc(&s.heading)
            ));
            for b in &s.blocks {
                block(&mut o, b);
            }
            o.push_str("</section>\n");
        }
        o.push_str("</body>\n</html>\n");
        o
    }
}

fn block(o: &mut String, b: &Block) {
    match b {
        Block::Para(t) => o.push_str(&format!("<p>{}</p>\n", esc(t))),
        Block::Figures(figs) => {
            o.push_str("<div class=\"figures\">\n");
            for (caption, svg) in figs {
                o.push_str("<figure>\n");
                // The figure's own document, inline (no XML prolog: it is
                // an element of the page).
                o.push_str(svg.trim_start_matches("<?xml version=\"1.0\"?>"));
                o.push_str(&format!(
                    "<figcaption>{}</figcaption>\n</figure>\n",
                    esc(caption)
                ));
            }
            o.push_str("</div>\n");
        }
        Block::Table {
            caption,
            header,
            rows,
        } => {
            o.push_str(&format!(
                "<div class=\"wrap\"><table>\n<caption>{}</caption>\n",
                esc(caption)
            ));
            // a table of key-value rows has no header
            if header.iter().any(|h| !h.is_empty()) {
                o.push_str("<tr>");
                for h in header {
                    o.push_str(&format!("<th>{}</th>", esc(h)));
                }
                o.push_str("</tr>\n");
            }
            for r in rows {
                o.push_str("<tr>");
                for c in r {
                    match c {
                        Cell::Text(t) => o.push_str(&format!("<td>{}</td>", esc(t))),
                        Cell::Num(t) => o.push_str(&format!("<td class=\"n\">{}</td>", esc(t))),
                    }
                }
                o.push_str("</tr>\n");
            }
            o.push_str("</table></div>\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_one_file_with_escaped_text_and_no_address() {
        let r = Report {
            title: "a <b> & c".into(),
            subtitle: "made by a test".into(),
            sections: vec![Section {
                id: "s1".into(),
                heading: "Scores".into(),
                blocks: vec![
                    Block::Para("x < y".into()),
                    Block::Figures(vec![(
                        "fig".into(),
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>"
                            .into(),
                    )]),
                    Block::Table {
                        caption: "t".into(),
                        header: vec!["k".into(), "v".into()],
                        rows: vec![vec![Cell::text("a&b"), Cell::num("1.5")]],
                    },
                ],
            }],
        };
        let h = r.html(b"font bytes");
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains("<title>a &lt;b&gt; &amp; c</title>"));
        assert!(h.contains("<p>x &lt; y</p>"));
        assert!(h.contains("<td>a&amp;b</td><td class=\"n\">1.5</td>"));
        assert!(h.contains("data:font/ttf;base64,Zm9udCBieXRlcw=="));
        // the only URLs are the SVG namespace (a name, never fetched) and data:
        let without_ns = h.replace("http://www.w3.org/2000/svg", "");
        assert!(!without_ns.contains("http:") && !without_ns.contains("https:"));
        assert!(!h.contains(" src=\"http"));
    }
}
