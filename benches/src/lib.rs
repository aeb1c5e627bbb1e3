//! Benchmarks live in `benches/benches/`; the figures and the commands that
//! measured them are in `benches/README.md`.
