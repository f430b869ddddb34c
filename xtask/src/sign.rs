//! Signing `SHA256SUMS` with minisign.
//!
//! minisign rather than `ssh-keygen -Y sign`: it is made for exactly this (signing release
//! files; Ed25519, one-line public keys), its verification is one command with the public key
//! on the command line (`minisign -Vm SHA256SUMS -P KEY`) where ssh-keygen needs an
//! allowed-signers file, an identity and a namespace, and its signature carries a signed
//! ("trusted") comment that names the version and commit. It is packaged by Debian, Fedora,
//! Homebrew and others; the secret key never enters the repository: `--sign` takes a path.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd;

/// `SHA256SUMS.minisig`, minisign's default name for the signature of `SHA256SUMS`.
pub fn signature_path(sums: &Path) -> PathBuf {
    let mut name = sums.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

/// Sign `sums` with the secret key at `secret_key`; minisign asks for the key's password on the
/// terminal (or reads it from stdin) when it has one. Returns the signature's path.
pub fn sign(sums: &Path, secret_key: &Path, trusted_comment: &str) -> anyhow::Result<PathBuf> {
    if !secret_key.is_file() {
        bail!("no minisign secret key at {}", secret_key.display());
    }
    let sig = signature_path(sums);
    cmd::run(
        Command::new("minisign")
            .arg("-S")
            .arg("-s")
            .arg(secret_key)
            .arg("-m")
            .arg(sums)
            .arg("-x")
            .arg(&sig)
            .arg("-t")
            .arg(trusted_comment),
    )
    .context("signing with minisign (Debian package `minisign`)")?;
    Ok(sig)
}

/// The public key (base64 line) of a minisign public key file.
pub fn read_public_key(file: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    text.lines()
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
        .map(|l| l.trim().to_owned())
        .with_context(|| format!("{} holds no minisign public key", file.display()))
}

/// The public key of `secret_key`: the `.pub` file beside it (minisign's `NAME.key` /
/// `NAME.pub` pair) when there is one, else recreated with `minisign -R` (which asks for the
/// password of an encrypted key).
pub fn public_key_of(secret_key: &Path) -> anyhow::Result<String> {
    let beside = secret_key.with_extension("pub");
    if beside.is_file() && beside != secret_key {
        return read_public_key(&beside);
    }
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("minisign.pub");
    cmd::run(
        Command::new("minisign")
            .arg("-R")
            .arg("-s")
            .arg(secret_key)
            .arg("-p")
            .arg(&file),
    )?;
    read_public_key(&file)
}

/// Check `file` against its `.minisig` with `public_key`, as the README tells a person to.
pub fn verify(file: &Path, public_key: &str) -> anyhow::Result<()> {
    cmd::output(
        Command::new("minisign")
            .arg("-V")
            .arg("-q")
            .arg("-m")
            .arg(file)
            .arg("-P")
            .arg(public_key),
    )
    .map(drop)
}
