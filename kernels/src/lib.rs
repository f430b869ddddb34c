//! Making kernel profiles for HCL Probe: importers of kernels in binary form (`.ko` trees,
//! `.deb`, `.rpm`), of depmod output and of derived alias data, built-in alias inference,
//! binding conditions from kernel source, and `build-shipped`, which regenerates the shipped
//! profiles; the `hcl-kernels` command line is this crate's binary.
//!
//! The engine that answers for a device (profiles, kmod-exact matching, verdicts, the shipped
//! catalog) is [`hcl_kernel_engine`], what the probe and the aggregator link; it is re-exported
//! here whole, so `hcl_kernels::Catalog` is the engine's. This crate's [`Error`] wraps the
//! engine's and the binary readers'.
//!
//! Files: [`binary`] (reading modules out of trees and packages), [`import`] (depmod output,
//! derived aliases, distro metadata), `builder.rs` ([`ProfileBuilder`], built-in inference),
//! [`conditions`] (binding conditions from kernel source), [`firmware`] (Debian's firmware
//! lists), [`build`] (`build-shipped`).

pub use hcl_kernel_engine::*;

pub mod binary;
pub mod build;
mod builder;
pub mod conditions;
mod error;
pub mod firmware;
pub mod import;

pub use build::build_shipped;
pub use builder::ProfileBuilder;
pub use error::Error;
