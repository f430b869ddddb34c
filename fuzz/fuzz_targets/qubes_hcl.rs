#![no_main]
//! `qubes_hcl`: see `hcl_fuzz_targets::qubes_hcl`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::qubes_hcl::qubes_hcl(data));
