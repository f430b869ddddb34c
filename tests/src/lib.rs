//! Helpers for the end-to-end tests: where the workspace, the shared data and the built
//! binaries are.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `../shared` beside the project root (read-only reference data).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("HCL_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("..").join("shared"))
}
