//! Qubes HCL YAML files: import ([`from_yaml`], `import.rs`), the lspci lines that name the
//! devices (`lspci.rs`) and export ([`to_yaml`], `export.rs`).
//!
//! The Qubes HCL is 1,200 hand-edited YAML files written by `qubes-hcl-report` and then by
//! people: fields go missing, get misspelled (`cpu_short`), turn into maps (`tpm: {status,
//! message}`), lose their quotes. The importer parses into a loose value and maps what it
//! finds; only a file that is not YAML, or not a mapping, is refused.
//!
//! The chipset, GPU and network lines carry PCI ids (`[8086:a7a0]`, or `Intel Corporation
//! Device 51f1`): each becomes a partial [`Device`] whose modalias has `?` for every unknown
//! character, so kernel patterns can still be matched against it.

mod export;
mod fields;
mod import;
mod lspci;

pub use export::to_yaml;
pub use import::{GENERATOR, from_yaml};
