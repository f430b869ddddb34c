#![no_main]
//! `query`: see `hcl_fuzz_targets::query`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::query::query(data));
