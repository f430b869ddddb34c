//! The checkout a release is built from, on a real git repository made here.

use std::path::Path;
use std::process::Command;

use xtask::checkout::Checkout;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_DATE", "1700000000 +0100")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

fn repo(dir: &Path) {
    git(dir, &["init", "--quiet"]);
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\n").unwrap();
    git(dir, &["add", "Cargo.toml"]);
    git(dir, &["commit", "--quiet", "-m", "one"]);
}

#[test]
fn commit_time_is_the_epoch_and_local_changes_refuse_a_release() {
    let dir = tempfile::tempdir().unwrap();
    repo(dir.path());
    let co = Checkout::open(dir.path()).unwrap();
    assert_eq!(co.commit.len(), 40);
    // The committer time, whatever the time zone it was written in.
    assert_eq!(co.epoch, 1_700_000_000);
    co.require_clean().unwrap();

    std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\n# edit\n").unwrap();
    std::fs::write(dir.path().join("new.rs"), "").unwrap();
    let co = Checkout::open(dir.path()).unwrap();
    let err = co.require_clean().unwrap_err().to_string();
    assert!(
        err.contains("Cargo.toml") && err.contains("new.rs"),
        "{err}"
    );
    assert!(err.contains("--allow-dirty"), "{err}");
}

#[test]
fn a_clone_has_the_commit_and_none_of_the_changes() {
    let dir = tempfile::tempdir().unwrap();
    repo(dir.path());
    std::fs::write(dir.path().join("uncommitted"), "x").unwrap();
    let co = Checkout::open(dir.path()).unwrap();
    let dest = dir.path().join("clones/a/x");
    let clone = co.clone_at(&dest).unwrap();
    assert_eq!(clone.commit, co.commit);
    assert_eq!(clone.epoch, co.epoch);
    assert!(clone.changes.is_empty(), "{:?}", clone.changes);
    assert!(!dest.join("uncommitted").exists());
    // A clone never lands on an existing folder.
    assert!(co.clone_at(&dest).is_err());
}

#[test]
fn a_subfolder_is_not_a_checkout_root() {
    let dir = tempfile::tempdir().unwrap();
    repo(dir.path());
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let err = Checkout::open(&dir.path().join("sub"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not the top"), "{err}");
}
