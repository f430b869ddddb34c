//! The observation stick: a UEFI-bootable disk image that boots every candidate kernel on the
//! machine in turn and records what really binds.
//!
//! - [`build`] (feature `stick-builder`, on by default) writes the image from the kernels'
//!   distribution packages, read with the importers of `hcl-kernels`.
//! - the init of every kernel is this very binary ([`crate::observe`]).
//! - [`results`] reads the runs back.
//!
//! Layout: GPT with an EFI system partition (systemd-boot, each kernel's image and initramfs,
//! one loader entry per kernel with a boot counter) and a results partition (FAT). How the tour
//! moves on: systemd-boot's boot counting renames `hcl-NN+1.conf` to `hcl-NN+0-1.conf` before it
//! starts that kernel and prefers entries with tries left, so a kernel that panics (`panic=10`)
//! or hangs (power-cycled by hand) is skipped at the next boot; each init reboots when it is
//! done and the last one powers off. Nothing is written to the machine's NVRAM.

#[cfg(feature = "stick-builder")]
pub mod build;
pub mod disk;
#[cfg(feature = "stick-builder")]
mod initramfs;
pub mod layout;
pub mod results;

use std::path::{Path, PathBuf};

/// Errors of the stick commands.
#[derive(Debug, thiserror::Error)]
pub enum StickError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an observation stick: {why}")]
    NotAStick { path: PathBuf, why: String },
    #[error("{0}")]
    Kernel(String),
    #[error("{0}")]
    Build(String),
}

impl StickError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StickError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
