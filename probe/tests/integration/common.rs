//! Shared helpers: fixture paths, scanning, normalising reports.

use std::path::{Path, PathBuf};

use hcl_data::Report;
use hcl_kernel_engine::Catalog;
use hcl_probe::root::Root;
use hcl_probe::scan::{Scan, scan};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("probe/ has a parent")
        .to_path_buf()
}

pub fn fixtures_dir() -> PathBuf {
    repo_root().join("tests/fixtures/sysfs")
}

/// Every captured tree (a directory with `sys/`), sorted by name.
pub fn fixtures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/sysfs exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("sys").is_dir())
        .collect();
    out.sort();
    assert!(
        !out.is_empty(),
        "no captured trees under tests/fixtures/sysfs"
    );
    out
}

pub fn fixture(name: &str) -> PathBuf {
    let p = fixtures_dir().join(name);
    assert!(p.join("sys").is_dir(), "fixture {name} missing");
    p
}

/// The embedded profiles, loaded once per test binary (decoding them is the slow part of a
/// debug-build scan).
pub fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().expect("embedded profiles load"))
}

pub fn scan_tree(dir: &Path) -> Scan {
    scan(&Root::new(dir), catalog()).expect("scan succeeds")
}

/// The report with the fields that change on every run fixed.
pub fn normalized(report: &Report) -> Report {
    let mut r = report.clone();
    r.report_id = "REPORT-ID".to_owned();
    r.generated_on = "2000-01-01".into();
    r.generator = "hcl-probe".to_owned();
    r
}

/// Copy a directory tree, keeping symlinks as symlinks.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let ty = entry.file_type().unwrap();
        let dest = to.join(entry.file_name());
        if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &dest).unwrap();
        } else if ty.is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Run the hcl-probe binary; returns (status ok, stdout, stderr).
pub fn run_probe(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hcl-probe"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("hcl-probe runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
