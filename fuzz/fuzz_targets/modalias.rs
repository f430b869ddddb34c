#![no_main]
//! `modalias`: see `hcl_fuzz_targets::modalias`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::modalias::modalias(data));
