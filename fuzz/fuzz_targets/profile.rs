#![no_main]
//! `profile`: see `hcl_fuzz_targets::profile`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::profile::profile(data));
