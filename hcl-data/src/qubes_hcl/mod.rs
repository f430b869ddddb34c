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
//!
//! What identifies people is not imported: the `credit` (a name, a nickname or an e-mail
//! address) and the `link` (a personal site, a mailing-list message) of every version are
//! dropped whole; in the text that is kept, mailing-list message links and anything the
//! privacy check refuses are cut out ([`crate::redact_where`]); a hand-named file's name
//! (`Dell-Latitude_E6410-Pablo_Costa.yml`) names its sender, so such a report gets an id made
//! from its content and no `source_file`.

mod export;
mod fields;
mod import;
mod lspci;

pub use export::{RoundTripFacts, to_yaml};
pub use import::{GENERATOR, from_yaml};
