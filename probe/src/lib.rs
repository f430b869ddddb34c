//! The HCL Probe: enumerates the devices of a machine (or a captured sysfs tree), records the
//! facts the Qubes HCL keeps, and says for every candidate kernel whether it drives each device.
//!
//! Everything is read under a root directory ([`root::Root`]): `/` on a live machine, or a tree
//! written by [`capture::capture`]. [`scan::scan`] makes the [`hcl_data::Report`];
//! [`output::render`] prints it; [`upload`] sends or saves it.

pub mod capture;
pub mod chroot;
pub mod classify;
pub mod coverage;
pub mod error;
pub mod facts;
pub mod ids;
pub mod output;
pub mod root;
pub mod scan;
pub mod sysfs;
pub mod upload;

pub use error::{Error, Warning};
