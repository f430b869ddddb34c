#![no_main]
//! `upload_gzip`: see `hcl_fuzz_targets::upload`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::upload::gzip(data));
