//! Progress bars on stderr, drawn only when stderr is a terminal and
//! `--quiet` is not given.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shoal_engine::Observer;

/// A row-count progress bar (hidden when not wanted).
#[derive(Debug, Clone)]
pub struct Bar(ProgressBar);

impl Bar {
    pub fn rows(total: u64, msg: &str, quiet: bool) -> Bar {
        let pb = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
        } else {
            ProgressBar::new(total)
        };
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
    fn rows_done(&self, rows: u64) {
        self.0.inc(rows);
    }
}
