//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The repository's reference data (`data/`; provenance in each SOURCE.txt).
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data")
}

/// Something fetched is missing (real packages, kmod trees): fails when `CI` is set, else says
/// so loudly; the caller then skips.
pub fn missing(what: &str) {
    assert!(std::env::var_os("CI").is_none(), "{what}");
    eprintln!("\n*** SKIPPED: {what} ***\n");
}

/// The kmod trees of every Debian kernel (`hcl_kernels::sample::kmod_root`), or `None` after
/// [`missing`] when one is not made yet.
pub fn kmod_roots() -> Option<Vec<(&'static str, &'static str, PathBuf)>> {
    use hcl_kernels::sample::{KMOD_TREES, kmod_root, missing_kmod_roots};
    if let Some(what) = missing_kmod_roots() {
        missing(&what);
        return None;
    }
    Some(
        KMOD_TREES
            .iter()
            .map(|(id, ver)| (*id, *ver, kmod_root(ver)))
            .collect(),
    )
}

pub use hcl_kernels::sample::Rng;

/// The embedded catalog, decoded once for the whole test binary (decoding is slow unoptimised).
pub fn embedded() -> &'static hcl_kernels::Catalog {
    static CATALOG: std::sync::OnceLock<hcl_kernels::Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| hcl_kernels::Catalog::embedded().expect("embedded profiles decode"))
}
