//! The HCL Probe report: the one versioned data format that the probe writes, the aggregator
//! stores and the kernel engine fills with coverage verdicts.
//!
//! A [`Report`] describes one machine: the facts the Qubes HCL records ([`System`]), every device
//! with a modalias ([`Device`]) and, per candidate kernel, whether that kernel drives it
//! ([`Coverage`]). Reports carry no personal identifiers by construction: there is no field for
//! a serial number, MAC address, UUID, hostname or user name.

mod report;

pub use report::*;
