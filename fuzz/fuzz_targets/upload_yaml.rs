#![no_main]
//! `upload_yaml`: see `hcl_fuzz_targets::upload`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::upload::yaml(data));
