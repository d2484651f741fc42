#![no_main]
//! See `finbox_fuzz::profile` for the input and the invariants checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| finbox_fuzz::profile(data));
