//! Fuzz target `h5_open`: see `fuzz/harness.rs` for what the bytes are fed to.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::h5_open(data));
