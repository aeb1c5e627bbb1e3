//! `shoal plot`: the PNGs decoded and measured (size, not blank, every
//! cluster's colour present, the pixel at each blob's centre in its
//! cluster's colour, the centroid markers where the model puts them), the
//! SVGs parsed, the dendrogram's links at scipy's icoord/dcoord with
//! scipy's colours (`tools/make_dendrogram_golden.py`), and bad input
//! refused with no file left behind.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::{listing, p, shoal, stderr};
use serde_json::Value;
use shoal_plot::dendrogram::DendrogramPlot;
use shoal_plot::scatter::plot_area;
use shoal_plot::{cluster_colour, decode_png, named, parse_svg, Frame, Rgb};
use shoal_reader::read_npy_f64;

fn ok(args: &[&str]) -> String {
    let o = shoal(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// Four well-separated blobs (spread 0.3) with their true labels and centres.
fn blobs(dir: &Path, rows: &str) -> (PathBuf, PathBuf, Vec<f64>) {
    let x = dir.join(format!("b{rows}.npy"));
    let l = dir.join(format!("l{rows}.npy"));
    let c = dir.join(format!("c{rows}.npy"));
    ok(&[
        "gen",
        "blobs",
        "--rows",
        rows,
        "--dim",
        "2",
        "--k",
        "4",
        "--seed",
        "4",
        "--spread",
        "0.3",
        "--out",
        p(&x),
        "--labels-out",
        p(&l),
        "--centers-out",
        p(&c),
        "-q",
    ]);
    (x, l, read_npy_f64(&c).unwrap().0)
}

/// The pixel of data point (x, y) in a scatter of `points` (matplotlib's
/// 5% margins around the data's box, as the plot draws it).
fn pixel_of(points: &[f64], frame: &Frame, x: f64, y: f64) -> (u32, u32) {
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for q in points.chunks_exact(2) {
        for k in 0..2 {
            lo[k] = lo[k].min(q[k] as f32 as f64);
            hi[k] = hi[k].max(q[k] as f32 as f64);
        }
    }
    let pad = |a: f64, b: f64| (a - 0.05 * (b - a), b + 0.05 * (b - a));
    let ((x0, x1), (y0, y1)) = (pad(lo[0], hi[0]), pad(lo[1], hi[1]));
    let (left, top, w, h) = plot_area(frame);
    let px = left + (x - x0) / (x1 - x0) * w as f64;
    let py = top + (y1 - y) / (y1 - y0) * h as f64;
    (px as u32, py as u32)
}

fn rgb_at(img: &(u32, u32, Vec<u8>), x: u32, y: u32) -> Rgb {
    let i = ((y * img.0 + x) * 4) as usize;
    Rgb(img.2[i], img.2[i + 1], img.2[i + 2])
}

fn close(a: Rgb, b: Rgb, tol: i32) -> bool {
    (a.0 as i32 - b.0 as i32).abs() <= tol
        && (a.1 as i32 - b.1 as i32).abs() <= tol
        && (a.2 as i32 - b.2 as i32).abs() <= tol
}

fn check_scatter_png(png: &Path, points: &[f64], centres: &[f64], size: (u32, u32)) {
    let img = decode_png(&std::fs::read(png).unwrap()).unwrap();
    assert_eq!((img.0, img.1), size, "size");
    let white = Rgb(255, 255, 255);
    let pixels = (img.0 * img.1) as usize;
    let differ = (0..pixels)
        .filter(|&i| Rgb(img.2[4 * i], img.2[4 * i + 1], img.2[4 * i + 2]) != white)
        .count();
    assert!(
        differ * 100 > 3 * pixels,
        "only {differ} of {pixels} pixels drawn"
    );
    let frame = Frame::new(size.0, size.1, false);
    for (j, c) in centres.chunks_exact(2).enumerate() {
        let want = cluster_colour(Some(j));
        // every cluster's colour appears, and is the colour at its centre
        let present = (0..pixels).any(|i| {
            close(
                Rgb(img.2[4 * i], img.2[4 * i + 1], img.2[4 * i + 2]),
                want,
                2,
            )
        });
        assert!(present, "cluster {j}'s colour {want:?} is missing");
        let (x, y) = pixel_of(points, &frame, c[0], c[1]);
        let got = rgb_at(&img, x, y);
        assert!(
            close(got, want, 12),
            "centre of blob {j} at ({x}, {y}): {got:?}, want {want:?}"
        );
    }
}

#[test]
fn scatter_plots_colour_each_blob_in_its_clusters_colour() {
    let dir = tempfile::tempdir().unwrap();
    for (rows, mode) in [("3000", "markers"), ("200k", "density")] {
        let (x, l, centres) = blobs(dir.path(), rows);
        let points = read_npy_f64(&x).unwrap().0;
        let out = dir.path().join(format!("s{rows}.png"));
        let j: Value = serde_json::from_str(&ok(&[
            "plot",
            "scatter",
            p(&x),
            "--labels",
            p(&l),
            "--size",
            "900x700",
            "--out",
            p(&out),
            "--json",
            "-q",
        ]))
        .unwrap();
        assert_eq!(j["mode"], mode);
        assert_eq!(j["clusters"], 4);
        check_scatter_png(&out, &points, &centres, (900, 700));
        // the same figure as SVG parses, and carries the raster (or markers)
        let svg = dir.path().join(format!("s{rows}.svg"));
        ok(&[
            "plot",
            "scatter",
            p(&x),
            "--labels",
            p(&l),
            "--out",
            p(&svg),
            "-q",
        ]);
        let text = std::fs::read_to_string(&svg).unwrap();
        parse_svg(&text).unwrap();
        assert_eq!(text.contains("class=\"density\""), mode == "density");
    }
}

#[test]
fn centroid_markers_are_red_crosses_where_the_model_puts_them() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _, _) = blobs(dir.path(), "200k");
    let points = read_npy_f64(&x).unwrap().0;
    let m = dir.path().join("m.json");
    let l = dir.path().join("fit.npy");
    ok(&[
        "fit",
        p(&x),
        "-k",
        "4",
        "--model",
        p(&m),
        "--labels",
        p(&l),
        "-q",
    ]);
    let out = dir.path().join("c.png");
    ok(&[
        "plot",
        "scatter",
        p(&x),
        "--labels",
        p(&l),
        "--model",
        p(&m),
        "--out",
        p(&out),
        "-q",
    ]);
    let img = decode_png(&std::fs::read(&out).unwrap()).unwrap();
    let model: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    let frame = Frame::new(1000, 800, false);
    for c in model["centroids"].as_array().unwrap() {
        let (cx, cy) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        let (px, py) = pixel_of(&points, &frame, cx, cy);
        let red = (-2i32..=2)
            .flat_map(|dx| (-2i32..=2).map(move |dy| (dx, dy)))
            .filter(|(dx, dy)| {
                close(
                    rgb_at(&img, (px as i32 + dx) as u32, (py as i32 + dy) as u32),
                    Rgb(255, 0, 0),
                    30,
                )
            })
            .count();
        assert!(
            red >= 5,
            "no red cross at the centroid ({cx}, {cy}) -> ({px}, {py})"
        );
    }
}

#[test]
fn dendrogram_links_are_at_scipys_coordinates_in_scipys_colours() {
    let dir = tempfile::tempdir().unwrap();
    let gold = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/plot");
    let all: Value =
        serde_json::from_str(&std::fs::read_to_string(gold.join("dendrogram.json")).unwrap())
            .unwrap();
    let z = gold.join("Z_dendro.npy");
    for (name, extra) in [
        ("full_threshold", vec!["--truncate", "none"]),
        ("lastp12_threshold", vec!["--truncate", "lastp", "-p", "12"]),
        ("level3", vec!["--truncate", "level", "-p", "3"]),
    ] {
        let case = &all["cases"][name];
        let out = dir.path().join(format!("{name}.svg"));
        let mut args = vec!["plot", "dendrogram", p(&z), "--out", p(&out)];
        args.extend(extra);
        let t = case["params"]["color_threshold"]
            .as_f64()
            .map(|t| format!("{t:e}"));
        if let Some(t) = &t {
            args.extend(["--color-threshold", t.as_str()]);
        }
        ok(&args);
        let text = std::fs::read_to_string(&out).unwrap();
        parse_svg(&text).unwrap();
        let quad = |v: &Value| -> Vec<[f64; 4]> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| std::array::from_fn(|j| r[j].as_f64().unwrap()))
                .collect()
        };
        let (ic, dc) = (quad(&case["icoord"]), quad(&case["dcoord"]));
        let colours: Vec<String> = case["color_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        let ivl: Vec<String> = case["ivl"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        let plot = DendrogramPlot {
            frame: Frame::new(1000, 800, false),
            title: String::new(),
            icoord: &ic,
            dcoord: &dc,
            color_list: &colours,
            ivl: &ivl,
            cut: None,
            leaf_rotation: 0.0,
            note: None,
        };
        let ax = plot.axes();
        let links: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("class=\"link "))
            .collect();
        assert_eq!(links.len(), ic.len(), "{name}: links");
        for (k, line) in links.iter().enumerate() {
            let class = line
                .split("class=\"link ")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            assert_eq!(class, colours[k], "{name}: link {k} colour");
            let stroke = line
                .split("stroke=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            assert_eq!(
                stroke,
                named(&colours[k]).unwrap().hex(),
                "{name}: link {k} stroke"
            );
            let pts: Vec<(f64, f64)> = line
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .split(' ')
                .map(|xy| {
                    let (a, b) = xy.split_once(',').unwrap();
                    (a.parse().unwrap(), b.parse().unwrap())
                })
                .collect();
            for j in 0..4 {
                let (x, y) = (ax.px(ic[k][j]), ax.py(dc[k][j]));
                assert!(
                    (pts[j].0 - x).abs() <= 0.006 && (pts[j].1 - y).abs() <= 0.006,
                    "{name}: link {k} point {j}: {:?}, scipy's ({}, {}) -> ({x}, {y})",
                    pts[j],
                    ic[k][j],
                    dc[k][j]
                );
            }
        }
        for leaf in &ivl {
            assert!(
                text.contains(&format!(">{leaf}</text>")),
                "{name}: leaf label {leaf}"
            );
        }
    }
    // a PNG of the same, with a cut line
    let png = dir.path().join("d.png");
    ok(&[
        "plot",
        "dendrogram",
        p(&z),
        "--cut",
        "10",
        "--out",
        p(&png),
        "-q",
    ]);
    let img = decode_png(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!((img.0, img.1), (1000, 800));
}

#[test]
fn silhouette_plot_has_a_band_per_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let (x, l, _) = blobs(dir.path(), "3000");
    let out = dir.path().join("sil.svg");
    let j: Value = serde_json::from_str(&ok(&[
        "plot",
        "silhouette",
        p(&x),
        "--labels",
        p(&l),
        "--out",
        p(&out),
        "--json",
    ]))
    .unwrap();
    assert_eq!(j["mode"], "exact");
    let text = std::fs::read_to_string(&out).unwrap();
    parse_svg(&text).unwrap();
    assert_eq!(text.matches("class=\"band\"").count(), 4);
    // well-separated blobs: the mean silhouette in the title is high
    let mean: f64 = text.split("mean ").nth(1).unwrap()[..6].parse().unwrap();
    assert!(mean > 0.8, "{mean}");
    let png = dir.path().join("sil.png");
    ok(&[
        "plot",
        "silhouette",
        p(&x),
        "--labels",
        p(&l),
        "--out",
        p(&png),
        "--sample",
        "1000",
    ]);
    let img = decode_png(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!((img.0, img.1), (1000, 800));
}

#[test]
fn bad_plot_input_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _, _) = blobs(dir.path(), "3000");
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let wrong = dir.path().join("wrong.npy");
    common::write_npy(&wrong, &[0.0, 1.0, 2.0], None);
    let out = out_dir.join("f.png");
    for (args, code, needle) in [
        (
            vec![
                "plot",
                "scatter",
                p(&x),
                "--labels",
                p(&wrong),
                "--out",
                p(&out),
            ],
            2,
            "3 labels",
        ),
        (
            vec!["plot", "scatter", p(&x), "--out", p(&out_dir.join("f.jpg"))],
            2,
            ".png or .svg",
        ),
        (
            vec![
                "plot",
                "scatter",
                p(&x),
                "--out",
                p(&out),
                "--size",
                "10x10",
            ],
            2,
            "--size",
        ),
        (
            vec![
                "plot",
                "scatter",
                p(&x),
                "--columns",
                "a,b",
                "--out",
                p(&out),
            ],
            2,
            "",
        ),
        (
            vec!["plot", "dendrogram", p(&x), "--out", p(&out)],
            1,
            "linkage matrix",
        ),
    ] {
        let o = shoal(&args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(
            listing(&out_dir).is_empty(),
            "{args:?}: {:?}",
            listing(&out_dir)
        );
    }
}

#[test]
fn more_than_two_columns_are_drawn_on_their_first_two_principal_components() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("h.npy");
    let l = dir.path().join("hl.npy");
    ok(&[
        "gen",
        "blobs",
        "--rows",
        "60k",
        "--dim",
        "16",
        "--k",
        "5",
        "--seed",
        "9",
        "--out",
        p(&x),
        "--labels-out",
        p(&l),
        "-q",
    ]);
    for (max, mode) in [("100k", "markers"), ("1000", "density")] {
        let svg = dir.path().join(format!("h{mode}.svg"));
        let j: Value = serde_json::from_str(&ok(&[
            "plot",
            "scatter",
            p(&x),
            "--labels",
            p(&l),
            "--max-markers",
            max,
            "--out",
            p(&svg),
            "--json",
            "-q",
        ]))
        .unwrap();
        assert_eq!(j["mode"], mode);
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("principal component 1 ("), "{mode}");
        let png = dir.path().join(format!("h{mode}.png"));
        ok(&[
            "plot",
            "scatter",
            p(&x),
            "--labels",
            p(&l),
            "--max-markers",
            max,
            "--out",
            p(&png),
            "-q",
        ]);
        let img = decode_png(&std::fs::read(&png).unwrap()).unwrap();
        let px = |i: usize| Rgb(img.2[4 * i], img.2[4 * i + 1], img.2[4 * i + 2]);
        for j in 0..5 {
            let want = cluster_colour(Some(j));
            assert!(
                (0..(img.0 * img.1) as usize).any(|i| close(px(i), want, 2)),
                "{mode}: cluster {j}'s colour is missing"
            );
        }
    }
}

#[test]
fn lon_lat_columns_are_drawn_on_an_equirectangular_map_with_a_true_scale_bar() {
    let dir = tempfile::tempdir().unwrap();
    // points around cities of northern Europe: lat 50..60, lon 0..30 (columns lat, lon)
    let x = dir.path().join("gps.parquet");
    ok(&[
        "gen",
        "spatial",
        "--rows",
        "3000",
        "--k",
        "5",
        "--seed",
        "3",
        "--bbox",
        "50,0,60,30",
        "--out",
        p(&x),
        "-q",
    ]);
    let m = dir.path().join("m.json");
    let l = dir.path().join("l.npy");
    ok(&[
        "fit",
        p(&x),
        "-k",
        "5",
        "--model",
        p(&m),
        "--labels",
        p(&l),
        "-q",
    ]);
    let out = dir.path().join("map.png");
    let j: Value = serde_json::from_str(&ok(&[
        "plot",
        "scatter",
        p(&x),
        "--labels",
        p(&l),
        "--model",
        p(&m),
        "--out",
        p(&out),
        "--json",
        "-q",
    ]))
    .unwrap();
    assert_eq!(j["kind"], "map", "lat/lon columns make a map by default");

    // The projection, from its definition: longitude across, latitude up,
    // the 5%-padded data box widened so that a pixel spans the same
    // distance both ways at the mean latitude.
    let src = shoal_reader::open(&x, &Default::default()).unwrap();
    let (lat, lon): (Vec<f64>, Vec<f64>) = {
        let v = shoal_reader::read_all_f64(src.as_ref(), 1 << 16).unwrap();
        (
            v.iter().step_by(2).copied().collect(),
            v.iter().skip(1).step_by(2).copied().collect(),
        )
    };
    let span = |v: &[f64]| {
        let (a, b) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        (a - 0.05 * (b - a), b + 0.05 * (b - a))
    };
    let ((x0, x1), (y0, y1)) = (span(&lon), span(&lat));
    let frame = Frame::new(1000, 800, false);
    let (left, top, w, h) = plot_area(&frame);
    let k = (0.5 * (y0 + y1)).to_radians().cos();
    let (mut sx, mut sy) = ((x1 - x0) * k, y1 - y0);
    if sx / sy > w as f64 / h as f64 {
        sy = sx * h as f64 / w as f64;
    } else {
        sx = sy * w as f64 / h as f64;
    }
    let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
    let (bx0, bx1, by0, by1) = (
        cx - 0.5 * sx / k,
        cx + 0.5 * sx / k,
        cy - 0.5 * sy,
        cy + 0.5 * sy,
    );
    let img = decode_png(&std::fs::read(&out).unwrap()).unwrap();
    let model: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    assert_eq!(model["columns"], serde_json::json!(["lat", "lon"]));
    for c in model["centroids"].as_array().unwrap() {
        let (clat, clon) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        let px = left + (clon - bx0) / (bx1 - bx0) * w as f64;
        let py = top + (by1 - clat) / (by1 - by0) * h as f64;
        let red = (-2i32..=2)
            .flat_map(|dx| (-2i32..=2).map(move |dy| (dx, dy)))
            .filter(|(dx, dy)| {
                close(
                    rgb_at(&img, (px as i32 + dx) as u32, (py as i32 + dy) as u32),
                    Rgb(255, 0, 0),
                    30,
                )
            })
            .count();
        assert!(
            red >= 5,
            "no red cross at ({clon}, {clat}) -> ({px:.0}, {py:.0})"
        );
    }

    // The SVG: coastlines and borders, and a scale bar whose length is its
    // label's kilometres on the mean Earth radius.
    let svg = dir.path().join("map.svg");
    ok(&[
        "plot",
        "scatter",
        p(&x),
        "--labels",
        p(&l),
        "--out",
        p(&svg),
        "-q",
    ]);
    let text = std::fs::read_to_string(&svg).unwrap();
    parse_svg(&text).unwrap();
    assert!(text.matches("class=\"coast\"").count() >= 3);
    assert!(text.contains("class=\"border\""));
    assert!(text.contains("lon (degrees east)") && text.contains("lat (degrees north)"));
    let after = &text[text.find("class=\"scalebar-bg\"").unwrap()..];
    let attr = |s: &str, name: &str| -> f64 {
        let i = s.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        s[i..i + s[i..].find('"').unwrap()].parse().unwrap()
    };
    let line = &after[after.find("<line").unwrap()..];
    let bar_px = attr(line, "x2") - attr(line, "x1");
    let km: f64 = {
        let t = &after[..after.find(" km</text>").unwrap()];
        t[t.rfind('>').unwrap() + 1..].parse().unwrap()
    };
    let km_per_px = (by1 - by0) * 6371.0088 * std::f64::consts::PI / 180.0 / h as f64;
    assert!(
        (bar_px * km_per_px - km).abs() <= 0.01 * km + km_per_px,
        "the {km} km bar is {bar_px} px at {km_per_px} km/px"
    );

    // --no-map draws a plain scatter; --map on values that are not degrees is refused
    let j: Value = serde_json::from_str(&ok(&[
        "plot",
        "scatter",
        p(&x),
        "--no-map",
        "--out",
        p(&dir.path().join("plain.png")),
        "--json",
        "-q",
    ]))
    .unwrap();
    assert_eq!(j["kind"], "scatter");
    let far = dir.path().join("far.npy");
    common::write_npy(&far, &[0.0, 0.0, 500.0, 10.0, 20.0, 30.0], Some(2));
    let bad = dir.path().join("bad.png");
    let o = shoal(&["plot", "scatter", p(&far), "--map", "--out", p(&bad)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not longitude and latitude"),
        "{}",
        stderr(&o)
    );
    assert!(!bad.exists());
}
