#![no_main]
//! `dns`: see `hcl_fuzz_targets::dns`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::dns::dns(data));
