#![no_main]
//! `rpm`: see `hcl_fuzz_targets::packages`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::packages::rpm(data));
