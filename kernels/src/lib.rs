//! Kernel profiles for HCL Probe: does kernel K have a driver for the device with modalias M,
//! will the distro refuse it, and does its firmware exist?
//!
//! A [`Profile`] holds everything needed offline for one candidate kernel; a [`Catalog`] holds
//! the shipped profiles (embedded in the binary). Matching follows kmod's rules exactly; where
//! kmod is blind (built-in drivers on kernels before about 6.18) the engine goes beyond it and
//! labels the answer `inferred_builtin`.

pub mod binary;

use std::path::Path;

/// Errors of the kernel engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown kernel id {0:?}")]
    UnknownKernel(String),
    #[error("{path}: {message}")]
    BadFile { path: String, message: String },
}

/// Descriptive data of a profile.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ProfileMeta {
    pub id: String,
    pub distro: String,
    pub release: String,
    pub kernel_version: String,
    pub package_version: String,
    pub end_of_support: Option<String>,
    pub provenance: String,
}

/// The drivers one kernel has for one modalias, as kmod would answer (plus inference).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    pub modules: Vec<String>,
    pub builtin: Vec<String>,
    pub inferred_builtin: Vec<String>,
}

/// One candidate kernel.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub meta: ProfileMeta,
}

impl Profile {
    /// Drivers for a concrete modalias.
    pub fn resolve(&self, _modalias: &str) -> Resolution {
        Resolution::default()
    }

    /// Drivers for a modalias with unknown characters written `?`: a pattern matches when some
    /// value of the unknown characters would.
    pub fn resolve_partial(&self, _modalias: &str) -> Resolution {
        Resolution::default()
    }

    /// The full verdict for a device on this kernel.
    pub fn coverage(&self, _modalias: &str, partial: bool) -> hcl_data::Coverage {
        hcl_data::Coverage {
            partial,
            ..Default::default()
        }
    }

    /// True when the kernel has a module or built-in driver with this name.
    pub fn has_module(&self, _name: &str) -> bool {
        false
    }
}

/// The shipped candidate profiles.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    profiles: Vec<Profile>,
}

impl Catalog {
    /// The profiles embedded in this binary.
    pub fn embedded() -> Result<Self, Error> {
        Ok(Self::default())
    }

    /// Profiles from a directory of compact profile files.
    pub fn load_dir(_dir: &Path) -> Result<Self, Error> {
        Ok(Self::default())
    }

    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    pub fn get(&self, id: &str) -> Result<&Profile, Error> {
        self.profiles
            .iter()
            .find(|p| p.meta.id == id)
            .ok_or_else(|| Error::UnknownKernel(id.to_owned()))
    }
}
