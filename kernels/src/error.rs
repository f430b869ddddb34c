//! Errors of the importers and the builder: the engine's ([`hcl_kernel_engine::Error`]: ids,
//! profile and data files) and those of reading kernels in binary form ([`crate::binary`]).

use std::path::Path;

use crate::binary;

/// Errors of the importers and the builder.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Engine(#[from] hcl_kernel_engine::Error),
    #[error(transparent)]
    Binary(#[from] binary::Error),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Engine(hcl_kernel_engine::Error::io(path, source))
    }
    pub(crate) fn bad(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Error::Engine(hcl_kernel_engine::Error::bad(path, message))
    }
}
