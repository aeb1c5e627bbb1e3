//! Maps: coastlines and country borders from Natural Earth 1:110m under a
//! scatter of longitude/latitude points, in the equirectangular projection
//! around the data's centre (x is longitude scaled by the cosine of the
//! mean latitude), with a scale bar in kilometres.
//!
//! The lines are embedded in the binary (`data/world-110m.bin`, converted
//! by `tools/make_world.py` from the npm package `world-atlas`; public
//! domain, see `data/LICENSE-world-atlas.txt`).

use crate::axes::Axes;
use crate::svg::{Anchor, Svg};
use crate::{Rgb, Theme};

static WORLD: &[u8] = include_bytes!("../data/world-110m.bin");

/// Kilometres per degree of latitude (mean Earth radius 6371.0088 km).
pub const KM_PER_DEGREE: f64 = 6371.0088 * std::f64::consts::PI / 180.0;

/// What a world line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Coast,
    Border,
}

/// Every line of the embedded world: (kind, (lon, lat) points in degrees).
pub fn world_lines() -> Vec<(LineKind, Vec<(f64, f64)>)> {
    let b = WORLD;
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let i16_at = |i: usize| i16::from_le_bytes([b[i], b[i + 1]]);
    assert_eq!(&b[..4], b"SHW1", "embedded world file");
    let n = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    let mut at = 8;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = if b[at] == 0 {
            LineKind::Coast
        } else {
            LineKind::Border
        };
        let m = u16_at(at + 1) as usize;
        at += 3;
        let pts = (0..m)
            .map(|j| {
                let p = at + 4 * j;
                (i16_at(p) as f64 / 100.0, i16_at(p + 2) as f64 / 100.0)
            })
            .collect();
        at += 4 * m;
        out.push((kind, pts));
    }
    out
}

/// The data box of a map: `lon` and `lat` (degrees) widened so that one
/// pixel is the same distance across and up in the equirectangular
/// projection about the mean latitude, for a plot area of `width x height`
/// pixels. Returns the (lon, lat) box.
pub fn map_box(
    lon: (f64, f64),
    lat: (f64, f64),
    width: f64,
    height: f64,
) -> ((f64, f64), (f64, f64)) {
    let lat = (lat.0.max(-89.0), lat.1.min(89.0));
    let mid_lat = 0.5 * (lat.0 + lat.1);
    let k = mid_lat.to_radians().cos().max(0.05);
    // spans in projected units (degrees of latitude)
    let (sx, sy) = ((lon.1 - lon.0) * k, lat.1 - lat.0);
    let aspect = width / height.max(1.0);
    let (sx, sy) = if sx / sy.max(f64::MIN_POSITIVE) > aspect {
        (sx, sx / aspect)
    } else {
        (sy * aspect, sy)
    };
    let (cx, cy) = (0.5 * (lon.0 + lon.1), 0.5 * (lat.0 + lat.1));
    (
        (cx - 0.5 * sx / k, cx + 0.5 * sx / k),
        (cy - 0.5 * sy, cy + 0.5 * sy),
    )
}

/// Clips segment `a`-`b` to the box (Liang-Barsky); `None` when outside.
fn clip(
    a: (f64, f64),
    b: (f64, f64),
    x: (f64, f64),
    y: (f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - x.0),
        (dx, x.1 - a.0),
        (-dy, a.1 - y.0),
        (dy, y.1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    Some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
}

/// The world's lines clipped to `ax`'s data box, as pixel polylines of
/// each kind.
pub fn clipped_lines(ax: &Axes) -> Vec<(LineKind, Vec<(f64, f64)>)> {
    let mut out = Vec::new();
    for (kind, pts) in world_lines() {
        let mut cur: Vec<(f64, f64)> = Vec::new();
        for w in pts.windows(2) {
            match clip(w[0], w[1], ax.x, ax.y) {
                Some((p, q)) => {
                    let (p, q) = ((ax.px(p.0), ax.py(p.1)), (ax.px(q.0), ax.py(q.1)));
                    let joined = cur
                        .last()
                        .is_some_and(|l| (l.0 - p.0).abs() < 1e-6 && (l.1 - p.1).abs() < 1e-6);
                    if !joined {
                        if cur.len() >= 2 {
                            out.push((kind, std::mem::take(&mut cur)));
                        }
                        cur.clear();
                        cur.push(p);
                    }
                    cur.push(q);
                }
                None => {
                    if cur.len() >= 2 {
                        out.push((kind, std::mem::take(&mut cur)));
                    }
                    cur.clear();
                }
            }
        }
        if cur.len() >= 2 {
            out.push((kind, cur));
        }
    }
    out
}

/// Draws the coastlines (darker) and borders (lighter, thinner) inside
/// `ax`.
pub fn draw_world(svg: &mut Svg, ax: &Axes, theme: &Theme) {
    let dark = theme.background.0 < 128;
    let (coast, border) = if dark {
        (Rgb(150, 150, 150), Rgb(100, 100, 100))
    } else {
        (Rgb(110, 110, 110), Rgb(175, 175, 175))
    };
    for (kind, line) in clipped_lines(ax) {
        match kind {
            LineKind::Coast => svg.polyline(&line, coast, 1.0, "coast"),
            LineKind::Border => svg.polyline(&line, border, 0.7, "border"),
        }
    }
}

/// A "nice" length (1, 2 or 5 x 10^n km) near `target`.
pub fn nice_km(target: f64) -> f64 {
    let p = 10f64.powf(target.max(1e-9).log10().floor());
    let m = target / p;
    p * if m >= 5.0 {
        5.0
    } else if m >= 2.0 {
        2.0
    } else {
        1.0
    }
}

/// A scale bar at the plot area's lower left: a nice length near a fifth
/// of the width, measured along the mean latitude. Returns its length in
/// kilometres.
pub fn draw_scale_bar(svg: &mut Svg, ax: &Axes, theme: &Theme) -> f64 {
    // pixels per km: the y axis is true distance in latitude degrees
    let px_per_km = ax.height / ((ax.y.1 - ax.y.0) * KM_PER_DEGREE);
    let km = nice_km(0.2 * ax.width / px_per_km);
    let len = km * px_per_km;
    let (x, y) = (ax.left + 16.0, ax.top + ax.height - 18.0);
    let fg = theme.foreground;
    svg.raw(&format!(
        "<rect class=\"scalebar-bg\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"26\" fill=\"{}\" fill-opacity=\"0.7\"/>",
        crate::svg::num(x - 6.0),
        crate::svg::num(y - 18.0),
        crate::svg::num(len + 12.0),
        theme.background.hex()
    ));
    svg.line(x, y, x + len, y, fg, 3.0, false);
    svg.line(x, y - 4.0, x, y + 4.0, fg, 1.5, false);
    svg.line(x + len, y - 4.0, x + len, y + 4.0, fg, 1.5, false);
    let label = if km >= 1.0 {
        format!("{km} km")
    } else {
        format!("{} m", km * 1000.0)
    };
    svg.text(
        x + len / 2.0,
        y - 6.0,
        &label,
        11.0,
        fg,
        Anchor::Middle,
        0.0,
    );
    km
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_world_has_coasts_and_borders_in_range() {
        let w = world_lines();
        assert!(w.len() > 500);
        let coasts = w.iter().filter(|(k, _)| *k == LineKind::Coast).count();
        assert!(coasts > 100 && coasts < w.len());
        for (_, l) in &w {
            for &(lon, lat) in l {
                assert!((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat));
            }
        }
        // Italy's boot: some coastline point near (12.5 E, 41.9 N) within a degree
        assert!(w.iter().any(|(k, l)| *k == LineKind::Coast
            && l.iter()
                .any(|&(x, y)| (x - 12.2).abs() < 1.0 && (y - 41.8).abs() < 1.0)));
    }

    #[test]
    fn the_map_box_is_equirectangular_about_the_mean_latitude() {
        // 10 degrees of longitude at 60 N are 5 degrees of latitude across
        let (x, y) = map_box((0.0, 10.0), (55.0, 65.0), 400.0, 400.0);
        let k = 60f64.to_radians().cos();
        assert!(((y.1 - y.0) - 10.0).abs() < 1e-9);
        assert!(((x.1 - x.0) * k - 10.0).abs() < 1e-9, "{x:?}");
        // wide data: the latitude span grows instead
        let (x, y) = map_box((0.0, 40.0), (-1.0, 1.0), 400.0, 200.0);
        assert!(((x.1 - x.0) - 40.0).abs() < 1e-9);
        let k = 0f64.to_radians().cos();
        assert!((((x.1 - x.0) * k) / (y.1 - y.0) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn segments_are_clipped_to_the_box() {
        let b = ((0.0, 1.0), (0.0, 1.0));
        assert_eq!(
            clip((-1.0, 0.5), (2.0, 0.5), b.0, b.1),
            Some(((0.0, 0.5), (1.0, 0.5)))
        );
        assert_eq!(clip((-1.0, 2.0), (-0.5, 3.0), b.0, b.1), None);
        assert_eq!(nice_km(370.0), 200.0);
        assert_eq!(nice_km(0.7), 0.5);
        assert_eq!(nice_km(10.0), 10.0);
    }
}
