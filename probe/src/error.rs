//! Errors and warnings of the probe.

use std::fmt;
use std::path::PathBuf;

/// Errors that stop a command. Anything that only loses one fact is a [`Warning`] instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: not a directory (expected a machine root holding sys/ and proc/)")]
    NotARoot(PathBuf),
    #[error("kernel profiles: {0}")]
    Kernels(#[from] hcl_kernel_engine::Error),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("report: {0}")]
    Report(#[from] hcl_data::Error),
    #[error("cannot write YAML: {0}")]
    Yaml(String),
    #[error("{path}: capture target is not empty; choose a new directory")]
    CaptureTargetNotEmpty { path: PathBuf },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Something the probe could not read or understand; the report is still produced without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Path relative to the root (`sys/devices/...`), or a short subject.
    pub subject: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}
