//! The kernel engine of HCL Probe: does kernel K have a driver for the device with modalias M,
//! will the distro refuse it, does its firmware exist, and does the driver bind it?
//!
//! A [`Profile`] holds everything needed offline for one candidate kernel; a [`Catalog`] holds
//! the shipped profiles (embedded in the binary). Matching follows kmod's rules exactly; where
//! kmod is blind (built-in drivers on kernels before about 6.18) the engine goes beyond it and
//! labels the answer `inferred_builtin`. Beyond aliases, [`conditions`] holds what each
//! kernel's source says stands between a match and a working driver (force_probe, chips the
//! driver does not know, the chip's own firmware), and [`cost`] the drivers whose loss weighs
//! zero.
//!
//! This crate is what the probe and the aggregator link. Making profiles (importers of kernel
//! trees and packages, built-in inference, `build-shipped`) is the `hcl-kernels` crate, which
//! depends on this one.
//!
//! Decoding the profiles is most of a probe scan's time. [`Catalog::start_embedded`] starts
//! decompressing them on background threads; [`PendingCatalog::finish`] then parses them,
//! keeping with an [`AliasFilter`] only the aliases the machine's modaliases match.
//!
//! Files: `lookup.rs` ([`Profile`], kmod's lookup), `verdict.rs` (what a kernel does for a
//! device: firmware, RHEL status, optional packages), [`conditions`], [`cost`], [`diff`] (what
//! one kernel loses against another), `catalog.rs`
//! and `pending.rs` (loading), `shipped.rs` (the shipped kernels, declared once, and their
//! embedded profiles), [`profile`] (data model, on-disk codec, alias index), `filter.rs`,
//! [`fnmatch`], [`fsio`] (reading files that must be regular), [`sample`] (modaliases for
//! tests and benchmarks).

mod bytes;
mod catalog;
pub mod conditions;
pub mod cost;
pub mod diff;
mod error;
mod filter;
pub mod fnmatch;
pub mod fsio;
mod lookup;
mod meta;
mod pending;
pub mod profile;
pub mod sample;
mod shipped;
mod verdict;

pub use catalog::{Catalog, CatalogEntry};
pub use error::{Error, check_id};
pub use filter::AliasFilter;
pub use lookup::{Profile, Resolution};
pub use meta::{ProfileCounts, ProfileMeta};
pub use pending::PendingCatalog;
pub use profile::model::pattern_bus;
pub use profile::{AliasKind, FirmwareList, ModuleEntry, ProfileData, RhelRule};
pub use shipped::{SHIPPED, SHIPPED_IDS, Shipped, short_label};
