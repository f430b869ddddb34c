#![no_main]
//! `escape`: see `hcl_fuzz_targets::escape`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::escape::escape(data));
