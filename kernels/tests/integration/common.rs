//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The shared reference data: `$HCL_SHARED_DIR`, else `../shared` beside the repository root.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HCL_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

pub use hcl_kernels::sample::Rng;

/// The embedded catalog, decoded once for the whole test binary (decoding is slow unoptimised).
pub fn embedded() -> &'static hcl_kernels::Catalog {
    static CATALOG: std::sync::OnceLock<hcl_kernels::Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| hcl_kernels::Catalog::embedded().expect("embedded profiles decode"))
}
