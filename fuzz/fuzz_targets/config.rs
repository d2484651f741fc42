#![no_main]
//! See `finbox_fuzz::config` for the input and the invariants checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| finbox_fuzz::config(data));
