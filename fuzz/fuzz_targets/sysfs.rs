#![no_main]
//! `sysfs`: see `hcl_fuzz_targets::sysfs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hcl_fuzz_targets::sysfs::sysfs(data));
