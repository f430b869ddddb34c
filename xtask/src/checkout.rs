//! The git checkout a release is built from: its commit, the commit's time (the build's
//! `SOURCE_DATE_EPOCH`), whether it has local changes, and fresh clones of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd;

/// A git checkout at one commit.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The top folder of the checkout (the workspace root).
    pub root: PathBuf,
    /// Full commit id of HEAD.
    pub commit: String,
    /// Committer time of HEAD, seconds since 1970 (UTC).
    pub epoch: u64,
    /// `git status --porcelain` lines: modified, staged or untracked (not ignored) files.
    pub changes: Vec<String>,
}

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C").arg(dir);
    c
}

impl Checkout {
    /// The checkout whose top folder is `root`.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        let root = root
            .canonicalize()
            .with_context(|| format!("no checkout at {}", root.display()))?;
        let top = cmd::output(git(&root).args(["rev-parse", "--show-toplevel"]))
            .with_context(|| format!("{} is not a git checkout", root.display()))?;
        if Path::new(&top).canonicalize().ok().as_deref() != Some(root.as_path()) {
            bail!(
                "{} is not the top of its git checkout ({top})",
                root.display()
            );
        }
        let commit = cmd::output(git(&root).args(["rev-parse", "--verify", "HEAD"]))?;
        let epoch = cmd::output(git(&root).args(["log", "-1", "--format=%ct", "HEAD"]))?;
        let epoch = epoch
            .parse()
            .with_context(|| format!("commit time {epoch:?} is not a number"))?;
        let status = cmd::output(git(&root).args(["status", "--porcelain"]))?;
        Ok(Checkout {
            root,
            commit,
            epoch,
            changes: status.lines().map(str::to_owned).collect(),
        })
    }

    /// An error naming the local changes, if any: a release is built from a commit, and
    /// anything not committed would make it a binary that no one can rebuild.
    pub fn require_clean(&self) -> anyhow::Result<()> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let shown: Vec<&str> = self.changes.iter().take(10).map(String::as_str).collect();
        bail!(
            "{} has local changes (commit them, or pass --allow-dirty for a build no one can reproduce):\n  {}{}",
            self.root.display(),
            shown.join("\n  "),
            if self.changes.len() > shown.len() {
                format!("\n  ... and {} more", self.changes.len() - shown.len())
            } else {
                String::new()
            }
        )
    }

    /// A fresh clone of this checkout's commit at `dest` (a new folder), with nothing of the
    /// original's working tree: no local changes, no build output.
    pub fn clone_at(&self, dest: &Path) -> anyhow::Result<Checkout> {
        if dest.exists() {
            bail!("{} exists already", dest.display());
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        cmd::output(
            Command::new("git")
                .args(["clone", "--quiet", "--no-checkout", "--no-hardlinks"])
                .arg(&self.root)
                .arg(dest),
        )?;
        cmd::output(git(dest).args(["checkout", "--quiet", "--detach", &self.commit]))?;
        let clone = Checkout::open(dest)?;
        if clone.commit != self.commit {
            bail!("the clone at {} is not at {}", dest.display(), self.commit);
        }
        Ok(clone)
    }
}
