#![no_main]
//! `ko`: see `hcl_fuzz_targets::packages`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::packages::ko(data));
