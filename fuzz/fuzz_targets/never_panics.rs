//! Any bytes: parsing, rendering errors, printing, encoding and matching
//! never panic, and error spans lie inside the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nxlog_filter::__fuzz::never_panics(data));
