//! The library behind the `shoal` binary: the command line's parsers and
//! commands. Its public modules are what the fuzz targets (`fuzz/`) reach;
//! they are not a stable API. Programs use the `shoal` command, or the
//! engine crates and the Python package.

mod assign;
mod bench;
mod checkpoint;
pub mod cli;
pub mod dbscan;
mod demo;
mod eval;
pub mod exit;
mod fit;
mod gen;
pub mod hier;
mod info;
mod labels_dir;
pub mod model;
mod output;
mod plot;
mod progress;
mod report;
mod scaling;
mod sweep;
mod whiten;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;

/// Set by Ctrl-C; long work polls it and stops, removing partial outputs.
pub static CANCEL: AtomicBool = AtomicBool::new(false);

/// A write past the file-size limit (`ulimit -f`, RLIMIT_FSIZE) must fail
/// with EFBIG, so the writer reports it and removes its temporary file,
/// rather than the process being killed by SIGXFSZ with the file left.
#[allow(unsafe_code)]
fn ignore_sigxfsz() {
    // SAFETY: sets SIGXFSZ's disposition to "ignore" at start-up, before any
    // other thread exists; no handler function is installed.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// One malloc arena for the whole process. glibc gives threads arenas of
/// their own, each reserving 64 MiB of address space; under an address-space
/// limit (`ulimit -v`, RLIMIT_AS) a reservation that fails can make an
/// allocation fail although memory is free, and the process abort. shoal's
/// workers reuse their buffers, so they do not contend for the one arena
/// (measured: the same time on a 16M-row fit).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn one_malloc_arena() {
    // SAFETY: sets a glibc malloc tunable at start-up, before any other
    // thread exists; no memory is touched.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}

/// The `shoal` command: parses the process's arguments, runs the command
/// and maps its error to the exit code (0, 1 bad data, 2 bad usage, 130).
pub fn main() -> ExitCode {
    // `shoal info big.parquet | head` must end quietly, as other Unix tools
    // do, not panic on a closed stdout.
    sigpipe::reset();
    ignore_sigxfsz();
    one_malloc_arena();
    let args = cli::Cli::parse();
    if let Err(e) = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            // A second Ctrl-C: stop at once (temporary files are cleaned by the OS only).
            std::process::exit(130);
        }
    }) {
        eprintln!("shoal: warning: cannot install the Ctrl-C handler: {e}");
    }
    let scaling = matches!(
        args.command,
        cli::Command::Bench(cli::BenchCommand::Scaling(_))
    );
    // `bench scaling` takes a list of thread counts for its children; every
    // other command runs on one count.
    shoal_reader::remote::set_options(args.global.storage_option.clone());
    shoal_reader::remote::set_cancel(&CANCEL);
    if let Some(cli::Counts(ts)) = args.global.threads.as_ref().filter(|_| !scaling) {
        let &[t] = ts.as_slice() else {
            eprintln!("shoal: error: --threads takes one count (a list only for `bench scaling`)");
            return ExitCode::from(2);
        };
        let t = t as usize;
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
        {
            eprintln!("shoal: error: cannot start {t} threads: {e}");
            return ExitCode::from(1);
        }
    }
    let result = match &args.command {
        cli::Command::Gen(g) => gen::run(&args.global, g),
        cli::Command::Info(i) => info::run(&args.global, i),
        cli::Command::Demo(d) => demo::run(&args.global, d),
        cli::Command::Bench(b) => bench::run(&args.global, b),
        cli::Command::Fit(f) => fit::run(&args.global, f).map(|_| ()),
        cli::Command::Assign(a) => assign::run(&args.global, a),
        cli::Command::Whiten(w) => whiten::run(&args.global, w),
        cli::Command::Linkage(l) => hier::linkage(&args.global, l),
        cli::Command::Fcluster(f) => hier::fcluster(&args.global, f),
        cli::Command::Dendrogram(d) => hier::dendrogram(&args.global, d),
        cli::Command::Cophenet(c) => hier::cophenet(&args.global, c),
        cli::Command::Dbscan(d) => dbscan::run(&args.global, d),
        cli::Command::Eval(e) => eval::run(&args.global, e),
        cli::Command::Plot(p) => plot::run(&args.global, p),
        cli::Command::Sweep(s) => sweep::run(&args.global, s),
        cli::Command::Report(r) => report::run(&args.global, r),
    };
    let (requests, bytes) = shoal_reader::remote::traffic();
    if args.global.verbose && requests > 0 {
        eprintln!(
            "object storage: {requests} requests, {} received",
            output::bytes(bytes)
        );
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit::code_for(&e);
            if code == exit::INTERRUPTED && scaling {
                eprintln!("shoal: interrupted; the finished runs and a partial summary are kept");
            } else if code == exit::INTERRUPTED {
                eprintln!("shoal: interrupted; no output was written");
            } else {
                eprintln!("shoal: error: {}", exit::render(&e));
            }
            ExitCode::from(code)
        }
    }
}
