//! Release tooling for HCL Probe, run as `cargo xtask` (the usual Rust pattern: the build
//! tooling is a workspace crate, so it needs nothing but cargo).
//!
//! `dist` builds the three binaries reproducibly (commit time as `SOURCE_DATE_EPOCH`, every
//! machine-specific path remapped, `--locked`), with their dependency list embedded by
//! cargo-auditable, writes them with `SHA256SUMS` and optionally a minisign signature of it.
//! `check-reproducible` builds one commit twice from two clones that share nothing but the cargo
//! registry and compares the results byte for byte.

mod cmd;

pub mod checkout;
pub mod dist;
pub mod env;
pub mod inspect;
pub mod repro;
pub mod sign;
pub mod sums;
