//! Integration tests of hcl-kernels: one test binary, one module per area.

mod cli_input;
mod common;
mod derive;
mod engine;
mod hcl_questions;
mod import_binary;
mod kmod_differential;
mod props;
mod verdicts;
