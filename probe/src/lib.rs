//! The HCL Probe: enumerates the devices of a machine (or a captured sysfs tree), records the
//! facts the Qubes HCL keeps, and says for every candidate kernel whether it drives each device.
//!
//! Everything is read under a root directory ([`root::Root`]): `/` on a live machine, or a tree
//! written by [`capture::capture`]. [`scan::scan`] makes the [`hcl_data::Report`];
//! [`output::render`] prints it; [`upload`] sends or saves it. Qubes readiness (passthrough
//! per PCI device, suspend, the facts a Xen dom0 cannot see) is read by [`passthrough`],
//! [`suspend`], [`iommu`] and [`xen`] from the files [`acpi`] and [`pci_config`] parse.

pub mod acpi;
pub mod capture;
pub mod chroot;
pub mod coverage;
pub mod error;
pub mod facts;
pub mod ids;
pub mod iommu;
pub mod observe;
pub mod output;
pub mod passthrough;
pub mod pci_config;
pub mod readiness_view;
pub mod root;
pub mod scan;
pub mod scsi;
pub mod stick;
pub mod suspend;
pub mod sysfs;
pub mod upload;
pub mod xen;

pub use error::{Error, Warning};
