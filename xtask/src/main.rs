//! `cargo xtask`: release tooling (see the README, "Release").

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use xtask::dist::{self, Binary};
use xtask::repro;

#[derive(Parser)]
#[command(about = "HCL Probe release tooling")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The workspace this xtask belongs to.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

#[derive(Subcommand)]
enum Command {
    /// Build the release binaries reproducibly, with SHA256SUMS (and a signature) in OUT.
    Dist {
        /// Folder to write the binaries, SHA256SUMS and SHA256SUMS.minisig into.
        #[arg(long)]
        out: PathBuf,
        /// minisign secret key: sign SHA256SUMS (never keep it in the repository).
        #[arg(long, value_name = "KEY")]
        sign: Option<PathBuf>,
        /// Cargo target directory for the release builds (default: target/dist).
        #[arg(long)]
        target_dir: Option<PathBuf>,
        /// Build with local changes (the result cannot be reproduced from the commit).
        #[arg(long)]
        allow_dirty: bool,
        /// Build only these binaries (repeatable; default all three).
        #[arg(long = "binary", value_enum)]
        binaries: Vec<Binary>,
        /// Workspace root (default: the one this xtask is part of).
        #[arg(long, default_value_os_t = workspace_root())]
        root: PathBuf,
    },
    /// Build HEAD twice from two fresh clones at different paths and require identical bytes.
    CheckReproducible {
        /// Folder for the clones and builds (default: a temporary folder, removed afterwards).
        #[arg(long)]
        work: Option<PathBuf>,
        /// Check only these binaries (repeatable; default all three).
        #[arg(long = "binary", value_enum)]
        binaries: Vec<Binary>,
        #[arg(long, default_value_os_t = workspace_root())]
        root: PathBuf,
    },
}

fn all_if_none(binaries: Vec<Binary>) -> Vec<Binary> {
    if binaries.is_empty() {
        Binary::ALL.to_vec()
    } else {
        binaries
    }
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Dist {
            out,
            sign,
            target_dir,
            allow_dirty,
            binaries,
            root,
        } => dist::run(&dist::Options {
            root,
            out,
            target_dir,
            sign,
            allow_dirty,
            binaries: all_if_none(binaries),
            toolchain_bin: None,
            cargo_home: None,
            extra_env: Vec::new(),
        })
        .map(drop),
        Command::CheckReproducible {
            work,
            binaries,
            root,
        } => repro::run(&repro::Options {
            root,
            work,
            binaries: all_if_none(binaries),
        })
        .map(drop),
    }
}
