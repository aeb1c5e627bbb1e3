//! shoal's fuzz targets; the bodies are in `targets.rs`, shared with the
//! corpus replay in `cargo test`.

#[path = "targets.rs"]
mod targets;
pub use targets::*;
