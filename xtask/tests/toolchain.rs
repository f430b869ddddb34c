//! The toolchain at another path, as the reproducibility check's second build uses it: a
//! hard-linked copy of the sysroot must report itself as the sysroot, even when rustup has put
//! the original toolchain's `lib` on `LD_LIBRARY_PATH` (as it does for `cargo xtask`).

use std::process::Command;

use xtask::env::Toolchain;

#[test]
fn a_hard_linked_toolchain_reports_its_own_sysroot() {
    let current = Toolchain::detect(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("toolchain");
    let linked = Command::new("cp")
        .arg("-al")
        .arg(&current.sysroot)
        .arg(&copy)
        .status()
        .unwrap();
    if !linked.success() {
        // Another file system than the toolchain's: check-reproducible says so and goes on.
        eprintln!("skipped: cannot hard-link {}", current.sysroot.display());
        return;
    }
    let other = Toolchain::detect(Some(&copy.join("bin"))).unwrap();
    assert_eq!(other.verbose_version, current.verbose_version);
    assert_eq!(
        other.sysroot.canonicalize().unwrap(),
        copy.canonicalize().unwrap()
    );
}
