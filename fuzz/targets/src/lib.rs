//! The bodies of HCL Probe's fuzz targets: one function per target, taking the fuzzer's bytes,
//! feeding them to the project's own entry point for that input and checking what must hold
//! beyond "no panic" (round trips, agreement between two readers, what the server may store).
//!
//! `fuzz/` (cargo-fuzz, nightly) wraps each in a libFuzzer target of the same name;
//! `tests/corpus.rs` runs every committed corpus file of every target through the same
//! function on the stable toolchain, as a regression test. See `fuzz/README.md`.

pub mod dns;
pub mod escape;
pub mod modalias;
pub mod packages;
pub mod profile;
pub mod qubes_hcl;
pub mod query;
pub mod sysfs;
pub mod upload;

use std::path::PathBuf;

/// A target's body: the fuzzer's bytes in, a panic when an invariant fails.
pub type Body = fn(&[u8]);

/// Every target: its name (the folder of its corpus, the name of its libFuzzer binary) and its
/// body.
pub const TARGETS: &[(&str, Body)] = &[
    ("upload_json", upload::json),
    ("upload_yaml", upload::yaml),
    ("upload_gzip", upload::gzip),
    ("qubes_hcl", qubes_hcl::qubes_hcl),
    ("modalias", modalias::modalias),
    ("profile", profile::profile),
    ("ko", packages::ko),
    ("deb", packages::deb),
    ("rpm", packages::rpm),
    ("sysfs", sysfs::sysfs),
    ("query", query::query),
    ("escape", escape::escape),
    ("dns", dns::dns),
];

/// A path in this repository (the fuzz targets read data the repository carries).
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// The committed corpus of a target.
pub fn corpus_dir(target: &str) -> PathBuf {
    repo_path("fuzz/corpus").join(target)
}
