//! Progress bars on stderr, drawn only when stderr is a terminal and
//! `--quiet` is not given.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use shoal_engine::{Observer, PassStart};

/// A row-count progress bar (hidden when not wanted).
#[derive(Debug, Clone)]
pub struct Bar(ProgressBar);

/// A bar drawn only on a terminal and without `--quiet` (hidden otherwise).
pub fn target(quiet: bool, total: u64) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
    } else {
        ProgressBar::new(total)
    }
}

impl Bar {
    /// A bar that restarts at every pass of a multi-pass run, showing the
    /// pass number, rows/s, MB/s of the file, the ETA of the pass and the
    /// latest inertia.
    pub fn passes(rows: u64, file_bytes: u64, quiet: bool) -> Bar {
        let pb = target(quiet, rows);
        let bytes_per_row = file_bytes as f64 / rows.max(1) as f64;
        pb.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:24.cyan/blue}] {human_pos}/{human_len} rows  {per_sec}  {mbps}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("mbps", move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} MB/s", s.per_sec() * bytes_per_row / 1e6);
            })
            .progress_chars("=> "),
        );
        Bar(pb)
    }

    pub fn rows(total: u64, msg: &str, quiet: bool) -> Bar {
        let pb = target(quiet, total);
        pb.set_style(
            ProgressStyle::with_template(
                "{msg:>10} [{bar:30.cyan/blue}] {human_pos}/{human_len} rows  {per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_message(msg.to_string());
        Bar(pb)
    }

    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Observer for Bar {
    fn pass_started(&self, p: &PassStart) {
        let of = p.max_passes.map(|m| format!("/{m}")).unwrap_or_default();
        let inertia = p
            .inertia
            .map(|v| format!(" inertia {v:.4e}"))
            .unwrap_or_default();
        self.0.reset();
        self.0.set_length(p.rows);
        self.0
            .set_message(format!("pass {}{of} {}{inertia}", p.index, p.name));
    }

    fn rows_done(&self, rows: u64) {
        self.0.inc(rows);
    }
}
