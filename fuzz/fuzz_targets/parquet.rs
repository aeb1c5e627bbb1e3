#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shoal_fuzz::Scratch;

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let scratch = SCRATCH.get_or_init(|| {
        // The reader turns a panic inside the parquet crate into its own
        // error (catch_unwind); libfuzzer-sys's hook would abort on the
        // panic before that. A panic that escapes shoal still aborts: the
        // fuzz target's own catch_unwind reports it as a crash.
        std::panic::set_hook(Box::new(|_| {}));
        Scratch::new()
    });
    shoal_fuzz::parquet(scratch, data);
});
