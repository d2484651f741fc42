#![no_main]
//! See `finbox_fuzz::amount` for the input and the invariants checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| finbox_fuzz::amount(data));
