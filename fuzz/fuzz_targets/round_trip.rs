//! Any filter that parses prints to text that parses to the same filter,
//! prints the same again, and survives query encoding.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nxlog_filter::__fuzz::round_trip(data));
