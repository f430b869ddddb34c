//! Why an upload or a save failed.

use std::path::{Path, PathBuf};

/// Why an upload or a save failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("invalid upload URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot read CA file {}: {source}", path.display())]
    CaFileRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("CA file {}: {reason}", path.display())]
    CaFileInvalid { path: PathBuf, reason: String },
    #[error("invalid proxy URL {0:?}")]
    InvalidProxy(String),
    #[error("the report is not valid and was not sent: {0}")]
    InvalidReport(#[from] hcl_data::Error),
    #[error("the report looks like it holds personal identifiers and was not sent: {0}")]
    Privacy(String),
    #[error("cannot reach {url} after {}: {reason}", tries(*attempts))]
    Unreachable {
        url: String,
        attempts: u32,
        reason: String,
    },
    #[error("TLS with {url} failed (is the server's CA the pinned one?): {reason}")]
    Tls { url: String, reason: String },
    #[error("server {url} failed with HTTP {status} after {}: {body}", tries(*attempts))]
    ServerError {
        url: String,
        status: u16,
        attempts: u32,
        body: String,
    },
    #[error("server {url} refused the report with HTTP {status}: {body}")]
    Rejected {
        url: String,
        status: u16,
        body: String,
    },
    #[error("unexpected answer from {url} (HTTP {status}): {reason}")]
    BadResponse {
        url: String,
        status: u16,
        reason: String,
    },
    #[error("saved report {} is not valid and was left unsent: {source}", path.display())]
    BadSavedReport {
        path: PathBuf,
        #[source]
        source: hcl_data::Error,
    },
    #[error("report id {0:?} cannot be used in a file name (letters, digits, '-' and '_' only)")]
    BadReportId(String),
    #[error("cannot serialise the report: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `1 try`, `3 tries`.
fn tries(n: u32) -> String {
    if n == 1 {
        "1 try".into()
    } else {
        format!("{n} tries")
    }
}

impl UploadError {
    pub(super) fn io(path: &Path, source: std::io::Error) -> Self {
        UploadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// True when trying again later may succeed (network or server trouble), false when the
    /// report or the settings must change first.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            UploadError::Unreachable { .. } | UploadError::ServerError { .. }
        )
    }
}
