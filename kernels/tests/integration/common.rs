//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The shared reference data: `$HCL_SHARED_DIR`, else `../shared` beside the repository root.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HCL_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The embedded catalog, decoded once for the whole test binary (decoding is slow unoptimised).
pub fn embedded() -> &'static hcl_kernels::Catalog {
    static CATALOG: std::sync::OnceLock<hcl_kernels::Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| hcl_kernels::Catalog::embedded().expect("embedded profiles decode"))
}
