//! `shoal whiten`: scipy's whiten (divide each column by its population
//! standard deviation; zero-std columns unchanged), streamed.

use anyhow::Result;
use shoal_engine::kmeans::{Scaling, ScalingKind};
use shoal_engine::{column_stats, PassConfig};
use shoal_reader::{MatrixWriter, StoreType};

use crate::cli::{Global, WhitenArgs};
use crate::exit::Interrupted;
use crate::output::thousands;
use crate::progress::Bar;
use crate::CANCEL;

pub fn run(global: &Global, args: &WhitenArgs) -> Result<()> {
    let (_ds, src) = args.input.open(&args.files)?;
    let info = src.info().clone();
    let bar = Bar::rows(info.rows, "stats", global.quiet);
    let (stats, _) = column_stats(src.as_ref(), &PassConfig::default(), &CANCEL, &bar)?;
    bar.finish();
    let scaling = Scaling::from_stats(ScalingKind::Whiten, &stats, info.dim);
    let mut w = MatrixWriter::create(&args.out, info.dim, &info.columns, StoreType::F32, 1 << 20)?;
    let bar = Bar::rows(info.rows, "whiten", global.quiet);
    let mut r = src.reader(0..info.rows, 1 << 16)?;
    let mut buf = Vec::new();
    let mut rows = 0u64;
    while let Some(b) = r.next_block()? {
        if CANCEL.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Interrupted.into());
        }
        scaling.apply(b.data, &mut buf);
        w.write(&buf)?;
        rows += b.rows() as u64;
        bar.inc(b.rows() as u64);
    }
    bar.finish();
    w.finish()?;
    println!(
        "whitened {} rows x {} into {} (std per column: {})",
        thousands(rows),
        info.dim,
        args.out.display(),
        scaling
            .scale
            .iter()
            .map(|v| format!("{v:.6}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
