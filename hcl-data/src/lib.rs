//! The HCL Probe report: the one versioned data format that the probe writes, the aggregator
//! stores and the kernel engine fills with coverage verdicts.
//!
//! A [`Report`] describes one machine: the facts the Qubes HCL records ([`System`]), every device
//! with a modalias ([`Device`]) and, per candidate kernel, whether that kernel drives it
//! ([`Coverage`]). Reports carry no personal identifiers by construction: there is no field for
//! a serial number, MAC address, UUID, hostname or user name.
//!
//! Untrusted input goes through [`Report::from_json`] or [`Report::from_yaml`], which check
//! every rule ([`Report::validate`]) and name the field at fault ([`Error`]).
//! [`Report::privacy_violations`] flags anything that looks like a personal identifier, and
//! [`Report::content_id`] is the hash the aggregator stores a report under. [`qubes_hcl`]
//! imports and writes the Qubes HCL YAML files; [`hcl_files`] reads them from a folder or a
//! `.tar.zst` archive. The readiness types (passthrough per PCI
//! device, suspend, what a Xen dom0 cannot see) and the rules that decide them are shared by
//! the probe and the aggregator ([`PassthroughFacts::judge`], [`ServiceVm`], [`ControllerKind`],
//! [`Suspend::support`]).
//! [`terminal_safe`] is how every binary prints text that came from a machine, a file or a
//! server.
//!
//! It also holds the domain rules the probe and the aggregator share, so that they cannot
//! drift apart: reading a modalias ([`Modalias`]), what a device is and who needs it
//! ([`classify`]), what a verdict means and how it is named ([`Verdict`], [`Role`]), and how
//! verdicts add up per machine and kernel ([`KernelSummary`], [`MachineState`],
//! [`Coverage::of_usb_device`]).
//!
//! **Unknown is no evidence.** A [`Verdict::Unknown`] (the profile has no data for the device)
//! counts neither as driven nor as failed: it is tallied apart (`dom0_unknown`), a known verdict
//! wins over it wherever verdicts are combined, and a machine whose dom0-critical devices are
//! all unknown on a kernel has [`MachineState::NoData`] there, never a working dom0.

mod category;
pub mod classify;
mod closed;
mod day;
mod error;
pub mod hcl_files;
mod kernel_summary;
pub mod modalias;
mod observed;
pub mod pci_names;
mod privacy;
pub mod qubes_hcl;
mod readiness;
mod report;
mod rhel;
mod summary;
mod terminal;
mod validate;
mod verdict;

pub use classify::Category;
pub use day::Day;
pub use error::Error;
pub use modalias::{Modalias, NotAModalias};
pub use observed::{Agreement, Tally, disagrees, own_profile_id};
pub use privacy::text::{
    Identifier, IdentifierKind, Place, find_identifiers, normalize, redact_identifiers,
    redact_where,
};
pub use privacy::{
    Findings, privacy_scan_json, privacy_scan_value, privacy_violations_in_json,
    privacy_violations_in_value,
};
pub use readiness::*;
pub use report::*;
pub use rhel::{RhelBy, RhelState, RhelStatus, RhelTable};
pub use summary::{
    KernelSummary, MachineState, SummaryRow, summarise_usb_devices, undriven, usb_interfaces,
};
pub use terminal::{bidi_control, terminal_line, terminal_safe};
pub use validate::{
    CanonicalReport, MAX_DEVICES, MAX_INPUT_BYTES, MAX_KERNEL_ID, MAX_KERNELS, MAX_LIST,
    MAX_MODALIAS, MAX_SHORT, MAX_TEXT, MAX_VERSIONS, kernel_id_problem, yaml_value,
};
pub use verdict::{KERNEL_ASSUMPTION, Role, Tri, Verdict};

/// YAML parser limits for untrusted input: shallow nesting, few aliases, bounded size.
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 32,
            max_aliases: 64,
            max_anchors: 64,
            max_events: 200_000,
            max_nodes: 100_000,
            max_total_scalar_bytes: MAX_INPUT_BYTES,
            max_documents: 4,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 10_000,
            max_replay_stack_depth: 8,
            max_alias_expansions_per_anchor: 16,
        },
        with_snippet: false,
    }
}

/// A serde-saphyr error as an [`Error::Syntax`] with its position.
pub(crate) fn yaml_error(e: &serde_saphyr::Error) -> Error {
    let (line, column) = e
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .unwrap_or((0, 0));
    Error::Syntax {
        format: "YAML",
        line,
        column,
        message: e.to_string(),
    }
}
