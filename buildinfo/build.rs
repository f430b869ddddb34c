//! Records what this build is made from, reproducibly: the commit comes from `HCL_BUILD_COMMIT`
//! (set by `cargo xtask dist` after checking the tree is clean), else from the checkout's git
//! HEAD, else "unknown"; the toolchain from `$RUSTC -V`. Nothing here reads the clock, the host
//! name or a path into the output.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for var in ["HCL_BUILD_COMMIT", "HCL_BUILD_AUDITABLE"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());

    let (commit, source) = match std::env::var("HCL_BUILD_COMMIT") {
        Ok(given) if !given.is_empty() => {
            if !is_object_id(&given) {
                panic!("HCL_BUILD_COMMIT must be a full git commit id (hex), not {given:?}");
            }
            (given, "release build of a clean checkout")
        }
        _ => match git_head(&manifest_dir) {
            Some(head) => (
                head,
                "git HEAD of the build checkout; local changes are not recorded",
            ),
            None => ("unknown".to_owned(), "not built from a git checkout"),
        },
    };
    println!("cargo::rustc-env=HCL_COMMIT={commit}");
    println!("cargo::rustc-env=HCL_COMMIT_SOURCE={source}");

    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let rustc = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown rustc".to_owned());
    println!("cargo::rustc-env=HCL_RUSTC={rustc}");

    let target = std::env::var("TARGET").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let linkage = if features.split(',').any(|f| f == "crt-static") {
        "static"
    } else {
        "dynamic"
    };
    println!("cargo::rustc-env=HCL_TARGET={target}, {linkage}");

    // Set by `cargo xtask dist`, which builds with `cargo auditable`.
    let auditable = std::env::var("HCL_BUILD_AUDITABLE").unwrap_or_default();
    println!("cargo::rustc-env=HCL_AUDITABLE={auditable}");
}

fn is_object_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// HEAD of the git checkout this crate is tracked in; None outside one (a source tarball, or
/// an unrelated repository the sources were copied into).
fn git_head(dir: &Path) -> Option<String> {
    git(dir, &["ls-files", "--error-unmatch", "build.rs"])?;
    let head = git(dir, &["rev-parse", "--verify", "HEAD"]).filter(|h| is_object_id(h))?;
    // Rebuild when HEAD moves: HEAD itself (checkout), its reflog (every commit, reset,
    // checkout), the branch's loose ref and packed-refs. Only existing files: cargo reruns a
    // script on every build while a watched path is missing. No refs/ directory: in a shared
    // repository every other branch's commit would rebuild this one.
    let mut watch = vec!["HEAD".to_owned(), "logs/HEAD".into(), "packed-refs".into()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch.push(branch);
    }
    for name in watch {
        let path = git(
            dir,
            &["rev-parse", "--path-format=absolute", "--git-path", &name],
        );
        if let Some(path) = path.filter(|p| Path::new(p).exists()) {
            println!("cargo::rerun-if-changed={path}");
        }
    }
    Some(head)
}
