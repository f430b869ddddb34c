//! What a built binary says about itself: `file`'s description (static or not), its
//! `--version`, and the dependency list cargo-auditable embedded in it.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use crate::cmd;

/// `file -b`: e.g. `ELF 64-bit LSB pie executable, ..., static-pie linked, stripped`.
pub fn file_description(path: &Path) -> anyhow::Result<String> {
    cmd::output(Command::new("file").arg("-b").arg(path))
        .context("describing a binary with `file` (Debian package `file`)")
}

/// True when `file` says the binary needs no dynamic loader.
pub fn is_static(description: &str) -> bool {
    description.contains("statically linked") || description.contains("static-pie linked")
}

/// The binary's `--version` output.
pub fn version_text(path: &Path) -> anyhow::Result<String> {
    cmd::output(Command::new(path).arg("--version"))
}

/// (name, version) of every package in the dependency list cargo-auditable embedded.
pub fn embedded_dependencies(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let info = auditable_info::audit_info_from_file(path, Default::default())
        .with_context(|| format!("no dependency list embedded in {}", path.display()))?;
    Ok(info
        .packages
        .into_iter()
        .map(|p| (p.name, p.version.to_string()))
        .collect())
}
