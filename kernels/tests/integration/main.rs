//! Integration tests of hcl-kernels: one test binary, one module per area.

mod cli_input;
mod common;
mod engine;
mod import_binary;
mod kmod_differential;
mod props;
mod verdicts;
