#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shoal_fuzz::Scratch;

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    shoal_fuzz::raw_f32(SCRATCH.get_or_init(Scratch::new), data);
});
