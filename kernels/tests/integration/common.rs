//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The shared reference data: `$HCL_SHARED_DIR`, else `../shared` beside the repository root.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HCL_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}
