//! Errors of the kernel engine: a kernel id or profile file that is not right, or cannot be
//! read.

use std::path::{Path, PathBuf};

/// Errors of the kernel engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown kernel id {0:?}")]
    UnknownKernel(String),
    #[error("kernel id {id:?}: {reason}")]
    BadId { id: String, reason: &'static str },
    #[error("{path}: {message}")]
    BadFile { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A whole-profile operation on a profile decoded for a few modaliases only.
    #[error(
        "profile {0} was decoded for one machine's modaliases only; this needs the whole profile"
    )]
    Filtered(String),
}

/// Checks a profile id: a plain name ([`hcl_data::kernel_id_problem`], the rule reports
/// follow too), since it names the profile's file.
pub fn check_id(id: &str) -> Result<(), Error> {
    match hcl_data::kernel_id_problem(id) {
        Some(reason) => Err(Error::BadId {
            id: id.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }
    /// A file (or other named input) whose content is wrong.
    pub fn bad(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.to_string(),
            message: message.into(),
        }
    }
}
