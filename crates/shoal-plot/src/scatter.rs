//! Scatter plots: real markers for small inputs, a shaded colour-density
//! raster (embedded as a PNG under vector axes) for any number of points;
//! centroids as red X markers, noise in light grey, a legend with sizes.

use crate::axes::Axes;
use crate::render::{encode_rgba, PlotError};
use crate::svg::{Anchor, Svg};
use crate::{Frame, Rgb};

/// Per-pixel counts and colour sums of a density raster (`width x height`,
/// row-major, row 0 at the top), as the engine's pass accumulates them.
#[derive(Debug, Clone, Copy)]
pub struct Density<'a> {
    pub width: usize,
    pub height: usize,
    pub count: &'a [u32],
    pub rgb: &'a [[u64; 3]],
}

/// What the plot area shows.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// One marker per point: `xy` pairs, with its colour.
    Markers { xy: &'a [f64], colours: &'a [Rgb] },
    /// A raster the size of the plot area ([`plot_area`]).
    Density(Density<'a>),
}

/// A scatter plot.
#[derive(Debug, Clone)]
pub struct Scatter<'a> {
    pub frame: Frame,
    pub title: String,
    pub xlabel: String,
    pub ylabel: String,
    /// Data box.
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub content: Content<'a>,
    /// Centroids to mark with red X markers.
    pub centroids: Vec<(f64, f64)>,
    /// Legend entries (label, colour), in order.
    pub legend: Vec<(String, Rgb)>,
    /// A line under the title (e.g. "1,000,000 points, density").
    pub note: Option<String>,
    /// `x` is longitude and `y` latitude (degrees), in a box from
    /// [`crate::map::map_box`]: coastlines and borders underneath, a scale bar.
    pub map: bool,
}

/// Legend entries for cluster sizes (`sizes[l + 1]`: rows labelled `l`,
/// `sizes[0]`: noise): clusters in order, noise last. Without labels the
/// one entry is "points".
pub fn legend_entries(sizes: &[u64], labelled: bool) -> Vec<(String, Rgb)> {
    let mut out: Vec<(String, Rgb)> = sizes
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, &n)| n > 0)
        .map(|(i, &n)| {
            let name = if labelled {
                format!("{} ({})", i - 1, crate::thousands(n))
            } else {
                format!("points ({})", crate::thousands(n))
            };
            (name, crate::cluster_colour(Some(i - 1)))
        })
        .collect();
    if let Some(&n) = sizes.first().filter(|&&n| n > 0) {
        out.push((
            format!("noise ({})", crate::thousands(n)),
            crate::cluster_colour(None),
        ));
    }
    out
}

/// The plot box of a data box (`[x0, x1, y0, y1]`) for a plot area of
/// `width x height` pixels: padded by 5%, and for a map widened so a pixel
/// spans the same distance across and up ([`crate::map::map_box`]).
pub fn plot_box(b: [f64; 4], map: bool, width: usize, height: usize) -> ((f64, f64), (f64, f64)) {
    let (x, y) = (padded(b[0], b[1]), padded(b[2], b[3]));
    if map {
        crate::map::map_box(x, y, width as f64, height as f64)
    } else {
        (x, y)
    }
}

/// Axis labels of the first two principal components, with the share of
/// the `total` variance each explains.
pub fn component_labels(variances: &[f64], total: f64) -> (String, String) {
    let share =
        |i: usize| 100.0 * variances.get(i).copied().unwrap_or(0.0) / total.max(f64::MIN_POSITIVE);
    (
        format!("principal component 1 ({:.1}% of the variance)", share(0)),
        format!("principal component 2 ({:.1}% of the variance)", share(1)),
    )
}

/// A data range padded by 5% each side (matplotlib's margins); a single
/// value gets half a unit each side.
pub fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    if span > 0.0 {
        (lo - 0.05 * span, hi + 0.05 * span)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

/// Each marker's colour by its label (noise, -1, grey) and the rows per
/// label as [`legend_entries`] takes them (`sizes[l + 1]`, noise at 0).
pub fn marker_colours(labels: &[i64]) -> (Vec<Rgb>, Vec<u64>) {
    let colours = labels
        .iter()
        .map(|&v| crate::cluster_colour((v >= 0).then_some(v as usize)))
        .collect();
    let mut sizes = Vec::new();
    for &v in labels {
        let i = (v + 1).max(0) as usize;
        if sizes.len() <= i {
            sizes.resize(i + 1, 0u64);
        }
        sizes[i] += 1;
    }
    (colours, sizes)
}

/// The colour of label `l` in a density raster (noise, -1, grey).
pub fn label_colour(l: i64) -> [u8; 3] {
    let c = crate::cluster_colour((l >= 0).then_some(l as usize));
    [c.0, c.1, c.2]
}

/// The centroid marker's red (matplotlib's `r`).
pub const CENTROID_RED: Rgb = Rgb(255, 0, 0);

const LEFT: f64 = 80.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 72.0;
const LEGEND: f64 = 190.0;

/// The plot area `(left, top, width, height)` of a frame, whole pixels.
pub fn plot_area(frame: &Frame) -> (f64, f64, usize, usize) {
    let w = (frame.width as f64 - LEFT - LEGEND).max(16.0).floor();
    let h = (frame.height as f64 - TOP - BOTTOM).max(16.0).floor();
    (LEFT, TOP, w as usize, h as usize)
}

/// Shades a density raster: each pixel the count-weighted mean of its
/// points' colours; opacity from the histogram-equalised count (the
/// fraction of occupied pixels holding at most as many points), from 0.3
/// to 1; occupied pixels with no occupied neighbour spread to their 3 x 3
/// block so single points stay visible. Returns straight RGBA.
pub fn shade(d: &Density) -> Vec<u8> {
    let (w, h) = (d.width, d.height);
    let mut occupied: Vec<u32> = d.count.iter().copied().filter(|&c| c > 0).collect();
    occupied.sort_unstable();
    let n = occupied.len().max(1) as f64;
    let alpha = |c: u32| -> u8 {
        // fraction of occupied pixels with a count <= c
        let at = occupied.partition_point(|&v| v <= c) as f64;
        (255.0 * (0.3 + 0.7 * at / n)).round().clamp(0.0, 255.0) as u8
    };
    let mut out = vec![0u8; w * h * 4];
    for i in 0..w * h {
        let c = d.count[i];
        if c == 0 {
            continue;
        }
        let s = d.rgb[i];
        let px = &mut out[i * 4..i * 4 + 4];
        for k in 0..3 {
            px[k] = ((s[k] as f64 / c as f64).round()).min(255.0) as u8;
        }
        px[3] = alpha(c);
    }
    // spread isolated pixels
    let mut spread = out.clone();
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            if d.count[i] == 0 {
                continue;
            }
            let neighbours = |f: &mut dyn FnMut(usize)| {
                for dr in -1i64..=1 {
                    for dc in -1i64..=1 {
                        let (rr, cc) = (r as i64 + dr, c as i64 + dc);
                        if (dr != 0 || dc != 0)
                            && rr >= 0
                            && cc >= 0
                            && (rr as usize) < h
                            && (cc as usize) < w
                        {
                            f(rr as usize * w + cc as usize);
                        }
                    }
                }
            };
            let mut alone = true;
            neighbours(&mut |j| alone &= d.count[j] == 0);
            if alone {
                let px: [u8; 4] = out[i * 4..i * 4 + 4].try_into().unwrap_or([0; 4]);
                neighbours(&mut |j| {
                    if spread[j * 4 + 3] == 0 {
                        spread[j * 4..j * 4 + 4].copy_from_slice(&px);
                    }
                });
            }
        }
    }
    spread
}

/// The scatter plot as SVG.
pub fn scatter_svg(s: &Scatter) -> Result<String, PlotError> {
    let f = &s.frame;
    let theme = f.theme;
    let mut svg = Svg::new(f.width, f.height, theme.background);
    let (left, top, w, h) = plot_area(f);
    let ax = Axes {
        x: s.x,
        y: s.y,
        left,
        top,
        width: w as f64,
        height: h as f64,
    };
    match s.content {
        Content::Markers { xy, colours } => {
            let r = if xy.len() / 2 > 5000 { 1.5 } else { 3.0 };
            for (p, c) in xy.chunks_exact(2).zip(colours) {
                svg.circle(ax.px(p[0]), ax.py(p[1]), r, *c, 0.8);
            }
        }
        Content::Density(d) => {
            assert_eq!(
                (d.width, d.height),
                (w, h),
                "raster the size of the plot area"
            );
            let png = encode_rgba(w as u32, h as u32, &shade(&d))?;
            svg.png(left, top, w as f64, h as f64, &png);
        }
    }
    // coastlines over the points (as cartopy's coastlines draw), under the markers
    if s.map {
        crate::map::draw_world(&mut svg, &ax, &theme);
    }
    for &(x, y) in &s.centroids {
        svg.cross(ax.px(x), ax.py(y), 7.0, CENTROID_RED, 3.0);
    }
    if s.map {
        crate::map::draw_scale_bar(&mut svg, &ax, &theme);
        svg.text(
            left + w as f64 - 4.0,
            top + h as f64 - 5.0,
            "map: Natural Earth 1:110m",
            10.0,
            theme.foreground,
            Anchor::End,
            0.0,
        );
    }
    ax.draw(&mut svg, &theme, &s.xlabel, &s.ylabel, &s.title);
    if let Some(n) = &s.note {
        svg.text(
            left + w as f64,
            f.height as f64 - 6.0,
            n,
            11.0,
            theme.foreground,
            Anchor::End,
            0.0,
        );
    }
    legend(&mut svg, f, &s.legend, !s.centroids.is_empty());
    Ok(svg.finish())
}

/// The legend, right of the plot area.
pub(crate) fn legend(svg: &mut Svg, f: &Frame, entries: &[(String, Rgb)], centroids: bool) {
    let (left, top, w, _) = plot_area(f);
    let x = left + w as f64 + 18.0;
    let mut y = top + 8.0;
    let fg = f.theme.foreground;
    let max_rows = ((f.height as f64 - top - 40.0) / 18.0).max(1.0) as usize;
    let shown = entries
        .len()
        .min(max_rows.saturating_sub(usize::from(centroids) + 1));
    for (label, c) in &entries[..shown] {
        svg.rect(x, y - 9.0, 12.0, 12.0, *c, None);
        svg.text(x + 18.0, y + 1.0, label, 12.0, fg, Anchor::Start, 0.0);
        y += 18.0;
    }
    if shown < entries.len() {
        svg.text(
            x,
            y + 1.0,
            &format!("… {} more", entries.len() - shown),
            12.0,
            fg,
            Anchor::Start,
            0.0,
        );
        y += 18.0;
    }
    if centroids {
        svg.cross(x + 6.0, y - 3.0, 5.0, CENTROID_RED, 2.5);
        svg.text(x + 18.0, y + 1.0, "centroids", 12.0, fg, Anchor::Start, 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shading_mixes_colours_equalises_opacity_and_spreads_lone_points() {
        // 5 x 5; a dense pixel (9 points, all red) at (1, 1) beside a lighter
        // one (1 red + 1 blue) at (1, 2); a lone point at (4, 4)
        let (w, h) = (5, 5);
        let mut count = vec![0u32; 25];
        let mut rgb = vec![[0u64; 3]; 25];
        count[6] = 9;
        rgb[6] = [9 * 255, 0, 0];
        count[7] = 2;
        rgb[7] = [255, 0, 255];
        count[24] = 1;
        rgb[24] = [0, 255, 0];
        let out = shade(&Density {
            width: w,
            height: h,
            count: &count,
            rgb: &rgb,
        });
        assert_eq!(&out[6 * 4..6 * 4 + 4], &[255, 0, 0, 255]);
        assert_eq!(&out[7 * 4..7 * 4 + 3], &[128, 0, 128]);
        assert!(out[7 * 4 + 3] < 255 && out[7 * 4 + 3] > 76);
        // the lone green point spread to its neighbours (18, 19, 23)
        for j in [18, 19, 23, 24] {
            assert_eq!(&out[j * 4..j * 4 + 3], &[0, 255, 0], "pixel {j}");
        }
        // a pixel with a neighbour is not spread: (0, 0) stays empty
        assert_eq!(out[3], 0);
    }
}
