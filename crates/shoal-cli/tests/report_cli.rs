//! `shoal report`: the HTML file holds every part it promises, with the
//! scores scikit-learn computes (the clustbench catalogue), no external
//! address, bad input refused without a file; and, opened in headless
//! Chromium, it loads with no console message and no request leaving the
//! file, and its screenshot shows the clusters.
//!
//! The browser test needs Debian's `chromium` (CI installs it). Without
//! it the test says so and passes, unless `SHOAL_REQUIRE_BROWSER=1` (set
//! by CI), where a missing browser fails it.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{listing, p, shoal, stderr, write_npy};
use shoal_plot::{decode_png, Rgb, TAB10};

fn ok(args: &[&str]) -> String {
    let o = shoal(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Four blobs, their true labels, a k-means fit with labels, a micro-cluster
/// ward tree cut into 4, and a sweep: every input of a full report.
struct Inputs {
    x: PathBuf,
    truth: PathBuf,
    kmeans: PathBuf,
    ward: PathBuf,
    model: PathBuf,
    z: PathBuf,
    sweep: PathBuf,
}

fn inputs(dir: &Path) -> Inputs {
    let i = Inputs {
        x: dir.join("x.npy"),
        truth: dir.join("truth.npy"),
        kmeans: dir.join("kmeans.parquet"),
        ward: dir.join("ward.parquet"),
        model: dir.join("model.json"),
        z: dir.join("z.npy"),
        sweep: dir.join("sweep.json"),
    };
    ok(&[
        "gen",
        "blobs",
        "--rows",
        "60000",
        "--dim",
        "2",
        "--k",
        "4",
        "--seed",
        "4",
        "--spread",
        "0.3",
        "--out",
        p(&i.x),
        "--labels-out",
        p(&i.truth),
        "-q",
    ]);
    ok(&[
        "fit",
        p(&i.x),
        "-k",
        "4",
        "--model",
        p(&i.model),
        "--labels",
        p(&i.kmeans),
        "-q",
    ]);
    ok(&[
        "linkage",
        p(&i.x),
        "--method",
        "ward",
        "--micro-clusters",
        "100",
        "--out",
        p(&i.z),
        "--labels",
        p(&i.ward),
        "-t",
        "4",
        "-q",
    ]);
    ok(&["sweep", p(&i.x), "-k", "2..8", "--out", p(&i.sweep), "-q"]);
    i
}

/// The numbers in the table row whose first cell is `name`.
fn row_values(html: &str, name: &str) -> Vec<String> {
    let start = html
        .find(&format!("<tr><td>{name}</td>"))
        .unwrap_or_else(|| panic!("no row {name:?}"));
    let row = &html[start..start + html[start..].find("</tr>").unwrap()];
    row.split("<td class=\"n\">")
        .skip(1)
        .map(|c| c[..c.find("</td>").unwrap()].to_string())
        .collect()
}

#[test]
fn a_report_holds_every_part_with_true_scores_and_no_address() {
    let dir = tempfile::tempdir().unwrap();
    let i = inputs(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let html_path = out.join("report.html");
    let summary = ok(&[
        "report",
        p(&i.x),
        "--labels",
        p(&i.kmeans),
        "--labels",
        p(&i.truth),
        "--truth",
        p(&i.truth),
        "--model",
        p(&i.model),
        "--linkage",
        p(&i.z),
        "--cut",
        "10",
        "--sweep",
        p(&i.sweep),
        "--out",
        p(&html_path),
        "--json",
    ]);
    let s: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(s["figures"], 6, "{s}");
    assert_eq!(listing(&out), vec!["report.html"]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    for id in [
        "data", "clusters", "scores", "sizes", "model", "tree", "sweep", "run",
    ] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    // two scatters, two silhouettes, the dendrogram, the elbow
    assert_eq!(html.matches("<svg ").count(), 6);
    // the density raster is a data-URI PNG inside its SVG (60 000 rows > 50 000 markers)
    assert!(html.contains("data:image/png;base64,"));
    // the truth against itself agrees perfectly; k-means on separated blobs nearly so
    let ari = row_values(&html, "adjusted Rand index");
    assert_eq!(ari[1], "1.0000");
    assert!(ari[0].parse::<f64>().unwrap() > 0.95, "{ari:?}");
    // cluster sizes: the truth's rows per label sum to the file's rows
    let sizes: u64 = html
        .split("truth: rows per label")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap()
        .split("<td class=\"n\">")
        .skip(1)
        .step_by(2)
        .map(|c| {
            c[..c.find('<').unwrap()]
                .replace(',', "")
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(sizes, 60_000);
    // nothing to fetch: the only address is the SVG namespace, a name
    let stripped = html.replace("http://www.w3.org/2000/svg", "");
    for bad in ["http://", "https://", "//cdn", "<script", "<link"] {
        assert!(!stripped.contains(bad), "{bad}");
    }
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("@font-face"));
}

#[test]
fn report_scores_equal_the_clustbench_catalogue() {
    // engytime's reference labels: scikit-learn's Davies-Bouldin and
    // Calinski-Harabasz from the catalogue, shown to four decimals
    let text = std::fs::read_to_string(shared().join("clustbench/catalogue.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |h: &str| header.iter().position(|x| *x == h).unwrap();
    let row: Vec<&str> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f[0] == "fcps" && f[1] == "engytime" && f[2] == "labels0")
        .unwrap();
    let db: f64 = row[col("davies_bouldin_of_reference_labels")]
        .parse()
        .unwrap();
    let ch: f64 = row[col("calinski_harabasz_of_reference_labels")]
        .parse()
        .unwrap();
    let sil: f64 = row[col("silhouette_of_reference_labels")].parse().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut data = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(shared().join("clustbench/fcps/engytime.data.gz")).unwrap(),
    )
    .read_to_string(&mut data)
    .unwrap();
    let x: Vec<f64> = data
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let mut lab = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(shared().join("clustbench/fcps/engytime.labels0.gz")).unwrap(),
    )
    .read_to_string(&mut lab)
    .unwrap();
    let l: Vec<f64> = lab.split_whitespace().map(|v| v.parse().unwrap()).collect();
    assert_eq!(x.len(), 2 * l.len());
    let (xp, lp) = (dir.path().join("x.npy"), dir.path().join("ref.npy"));
    write_npy(&xp, &x, Some(2));
    write_npy(&lp, &l, None);
    let out = dir.path().join("r.html");
    ok(&["report", p(&xp), "--labels", p(&lp), "--out", p(&out), "-q"]);
    let html = std::fs::read_to_string(&out).unwrap();
    let got = |name: &str| -> f64 {
        let v = row_values(&html, name);
        v[0].split_whitespace().next().unwrap().parse().unwrap()
    };
    assert!((got("Davies-Bouldin (lower is better)") - db).abs() <= 5.1e-5);
    assert!((got("Calinski-Harabasz (higher is better)") - ch).abs() <= 5.1e-5);
    // 4 096 rows: the exact silhouette (float32 rows, so a little looser)
    assert!((got("silhouette (higher is better)") - sil).abs() <= 2e-4);
}

#[test]
fn bad_report_input_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    ok(&[
        "gen",
        "blobs",
        "--rows",
        "2000",
        "--dim",
        "2",
        "--k",
        "3",
        "--out",
        p(&x),
        "--labels-out",
        p(&dir.path().join("l.npy")),
        "-q",
    ]);
    let l = dir.path().join("l.npy");
    let wrong = dir.path().join("wrong.npy");
    write_npy(&wrong, &[0.0, 1.0, 1.0], None);
    let bad_sweep = dir.path().join("bad.json");
    std::fs::write(&bad_sweep, "{\"format\": \"other\"}").unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("r.html");
    for (args, code, needle) in [
        (
            vec!["report", p(&x), "--labels", p(&wrong), "--out", p(&out)],
            2,
            "3 labels",
        ),
        (
            vec![
                "report",
                p(&x),
                "--labels",
                p(&l),
                "--out",
                p(&out_dir.join("r.pdf")),
            ],
            2,
            ".html",
        ),
        (vec!["report", p(&x), "--out", p(&out)], 2, "--labels"),
        (
            vec![
                "report",
                p(&x),
                "--labels",
                p(&l),
                "--sweep",
                p(&bad_sweep),
                "--out",
                p(&out),
            ],
            1,
            "shoal sweep",
        ),
        (
            vec![
                "report",
                p(&x),
                "--labels",
                p(&l),
                "--linkage",
                p(&x),
                "--out",
                p(&out),
            ],
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

// ---- the browser ----

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SHOAL_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Hosts Chromium itself calls (time, updates, accounts) even with its
/// background networking off; a page's requests are anything else.
fn browser_own(request: &str) -> bool {
    let host = request
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or("")
        .to_string();
    [
        "google.com",
        "googleapis.com",
        "gstatic.com",
        "gvt1.com",
        "googleusercontent.com",
    ]
    .iter()
    .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// What a page did in headless Chromium: its console messages, the
/// requests that reached the proxy every request is sent to, and the
/// screenshot.
struct Visit {
    console: Vec<String>,
    requests: Vec<String>,
    screenshot: (u32, u32, Vec<u8>),
}

fn visit(browser: &Path, page: &Path, dir: &Path) -> Visit {
    // every request goes through this proxy, which records its first line
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let proxy = {
        let (seen, stop) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut c, _)) => {
                        c.set_nonblocking(false).ok();
                        c.set_read_timeout(Some(Duration::from_secs(2))).ok();
                        let mut buf = [0u8; 1024];
                        let n = c.read(&mut buf).unwrap_or(0);
                        let line = String::from_utf8_lossy(&buf[..n])
                            .lines()
                            .next()
                            .unwrap_or("")
                            .to_string();
                        seen.lock().unwrap().push(line);
                        let _ = c.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        })
    };
    let shot = dir.join(format!(
        "{}.png",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--log-level=0",
            "--window-size=1400,1100",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--proxy-server=http://127.0.0.1:{port}"))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = reader.join().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    proxy.join().unwrap();
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    let requests = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| !browser_own(r))
        .cloned()
        .collect();
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot: {e}\n{log}"));
    Visit {
        console,
        requests,
        screenshot: decode_png(&png).unwrap(),
    }
}

fn near(px: &[u8], c: Rgb, tol: i32) -> bool {
    (px[0] as i32 - c.0 as i32).abs() <= tol
        && (px[1] as i32 - c.1 as i32).abs() <= tol
        && (px[2] as i32 - c.2 as i32).abs() <= tol
}

#[test]
fn the_report_loads_in_chromium_with_no_console_message_and_no_request() {
    let Some(browser) = chromium() else {
        let required = std::env::var("SHOAL_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "SHOAL_REQUIRE_BROWSER=1 but no chromium: install Debian's chromium or set SHOAL_CHROMIUM"
        );
        eprintln!("skipped: no chromium (install Debian's chromium, or set SHOAL_CHROMIUM)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The harness sees what it must: a page that fetches an image and
    // writes to the console is caught on both counts.
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><img src=\"http://shoal-control.invalid/x.png\">\
         <script>console.error('control')</script>control</body></html>",
    )
    .unwrap();
    let c = visit(&browser, &control, dir.path());
    assert!(
        c.requests
            .iter()
            .any(|r| r.contains("shoal-control.invalid")),
        "the proxy saw no request from the control page: {:?}",
        c.requests
    );
    assert!(
        c.console.iter().any(|l| l.contains("control")),
        "no console message from the control page: {:?}",
        c.console
    );

    let i = inputs(dir.path());
    let report = dir.path().join("report.html");
    ok(&[
        "report",
        p(&i.x),
        "--labels",
        p(&i.kmeans),
        "--labels",
        p(&i.ward),
        "--truth",
        p(&i.truth),
        "--model",
        p(&i.model),
        "--linkage",
        p(&i.z),
        "--sweep",
        p(&i.sweep),
        "--out",
        p(&report),
        "-q",
    ]);
    // A browser launched for the first time after its install has once
    // taken its screenshot before the page's images were drawn (CI, fresh
    // machine): a nearly blank screenshot is taken again, once. A page that
    // really draws nothing is blank both times and fails below.
    let drawn_of = |v: &Visit| {
        v.screenshot
            .2
            .chunks_exact(4)
            .filter(|q| !near(q, Rgb(255, 255, 255), 8))
            .count()
    };
    let mut v = visit(&browser, &report, dir.path());
    if (drawn_of(&v) as f64) < 0.05 * (1400.0 * 1100.0) {
        eprintln!("the first screenshot was nearly blank; taking it again");
        v = visit(&browser, &report, dir.path());
    }
    assert!(v.console.is_empty(), "console messages: {:?}", v.console);
    assert!(
        v.requests.is_empty(),
        "requests left the file: {:?}",
        v.requests
    );
    let (w, h, px) = &v.screenshot;
    assert_eq!((*w, *h), (1400, 1100));
    let pixels: Vec<&[u8]> = px.chunks_exact(4).collect();
    let drawn = drawn_of(&v);
    assert!(
        drawn as f64 > 0.05 * pixels.len() as f64,
        "the screenshot is nearly blank: {drawn} of {} pixels drawn",
        pixels.len()
    );
    // the scatter plots are on screen: every blob's cluster colour is there
    for c in &TAB10[..4] {
        let n = pixels.iter().filter(|q| near(q, *c, 24)).count();
        assert!(n > 200, "colour {c:?}: {n} pixels");
    }
}
