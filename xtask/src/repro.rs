//! `cargo xtask check-reproducible`: build one commit twice, from two fresh clones at different
//! paths, and require byte-identical binaries.
//!
//! The two builds share nothing but the downloaded crates: build A has its target directory
//! inside its clone and uses cargo's home as it is; build B, started later, has its target
//! directory outside its clone, a cargo home at another path (whose `registry` is a link to the
//! real one, so no download is needed), another `HOME`, and the same toolchain at another path
//! (a hard-linked copy of its sysroot). Anything machine-specific
//! that leaks into a binary (a path, a time) makes their hashes differ.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::checkout::Checkout;
use crate::dist::{self, Binary};
use crate::env::{Toolchain, cargo_home};
use crate::{cmd, sums};

/// What to check.
#[derive(Debug, Clone)]
pub struct Options {
    pub root: PathBuf,
    /// Folder for the two clones; default a temporary one, removed afterwards.
    pub work: Option<PathBuf>,
    pub binaries: Vec<Binary>,
}

/// What the check found.
#[derive(Debug, Clone)]
pub struct Report {
    pub commit: String,
    pub a: dist::Dist,
    pub b: dist::Dist,
    pub secs_a: f64,
    pub secs_b: f64,
    /// The toolchain `bin` folder build B used, when the toolchain could be linked elsewhere.
    pub other_toolchain: Option<PathBuf>,
}

fn progress(msg: impl std::fmt::Display) {
    eprintln!("check-reproducible: {msg}");
}

/// The toolchain in force again at another path: a copy of its sysroot made of hard links
/// (no data copied; `rustc` finds its sysroot from its own path). None where hard links cannot
/// be made (another file system): build B then uses the same toolchain path.
fn toolchain_elsewhere(current: &Toolchain, dest: &Path) -> Option<PathBuf> {
    let made = cmd::output(
        Command::new("cp")
            .arg("-al")
            .arg(&current.sysroot)
            .arg(dest),
    );
    if let Err(e) = made {
        progress(format!(
            "cannot hard-link the toolchain to {}: {e:#}",
            dest.display()
        ));
        return None;
    }
    let bin = dest.join("bin");
    match Toolchain::detect(Some(&bin)) {
        Ok(t) if t.verbose_version == current.verbose_version && t.sysroot != current.sysroot => {
            Some(bin)
        }
        Ok(t) => {
            progress(format!(
                "the linked toolchain reports sysroot {}",
                t.sysroot.display()
            ));
            None
        }
        Err(e) => {
            progress(format!("the linked toolchain does not run: {e:#}"));
            None
        }
    }
}

/// Build twice and compare; an error when the binaries differ.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let source = Checkout::open(&opts.root)?;
    if !source.changes.is_empty() {
        progress(format!(
            "note: {} local changes in {} are not part of commit {} and are not checked",
            source.changes.len(),
            source.root.display(),
            source.commit
        ));
    }
    let temp;
    let work = match &opts.work {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.canonicalize()?
        }
        None => {
            temp = tempfile::Builder::new().prefix("hcl-repro-").tempdir()?;
            temp.path().to_owned()
        }
    };
    let current = Toolchain::detect(None)?;
    let real_home = cargo_home()?;

    // Build A: clone at work/a/x, target directory inside it, cargo home as it is.
    let a_root = work.join("a/x");
    let a = source.clone_at(&a_root)?;
    progress(format!("build A: {} at {}", a.commit, a_root.display()));
    let t = Instant::now();
    let cpu_start = dist::children_cpu_secs();
    let dist_a = dist::run(&dist::Options {
        root: a.root.clone(),
        out: work.join("a/out"),
        target_dir: Some(a.root.join("target")),
        sign: None,
        allow_dirty: false,
        binaries: opts.binaries.clone(),
        toolchain_bin: None,
        cargo_home: Some(real_home.clone()),
        extra_env: Vec::new(),
    })?;
    let secs_a = t.elapsed().as_secs_f64();
    let cpu_a = dist::children_cpu_secs()
        .zip(cpu_start)
        .map_or(String::new(), |(after, before)| {
            format!(" ({:.0} s CPU)", after - before)
        });

    // Build B: clone at work/b/y, target directory beside it, a cargo home elsewhere.
    let b_root = work.join("b/y");
    let b = source.clone_at(&b_root)?;
    let b_home = work.join("b/cargo-home");
    std::fs::create_dir_all(&b_home)?;
    link(&real_home.join("registry"), &b_home.join("registry"))?;
    // Installed subcommands (cargo-auditable) and the machine's cargo settings (a registry
    // mirror, say) are not build output: the second home sees them too.
    for name in ["bin", "config.toml", "config"] {
        if real_home.join(name).exists() {
            link(&real_home.join(name), &b_home.join(name))?;
        }
    }
    let other_toolchain = toolchain_elsewhere(&current, &work.join("b/toolchain"));
    match &other_toolchain {
        Some(bin) => progress(format!(
            "build B uses the toolchain linked at {} (same rustc, other path)",
            bin.display()
        )),
        None => progress("build B uses the same toolchain path"),
    }
    progress(format!("build B: {} at {}", b.commit, b_root.display()));
    let t = Instant::now();
    let cpu_start = dist::children_cpu_secs();
    // Another HOME; rustup keeps finding its toolchains through RUSTUP_HOME.
    let b_user_home = work.join("b/home");
    std::fs::create_dir_all(&b_user_home)?;
    let rustup_home = match std::env::var_os("RUSTUP_HOME") {
        Some(h) => PathBuf::from(h),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".rustup"),
    };
    let dist_b = dist::run(&dist::Options {
        root: b.root.clone(),
        out: work.join("b/out"),
        target_dir: Some(work.join("b/target-outside")),
        sign: None,
        allow_dirty: false,
        binaries: opts.binaries.clone(),
        toolchain_bin: other_toolchain.clone(),
        cargo_home: Some(b_home.clone()),
        extra_env: vec![
            ("HOME".into(), b_user_home.into_os_string()),
            ("RUSTUP_HOME".into(), rustup_home.into_os_string()),
        ],
    })?;
    let secs_b = t.elapsed().as_secs_f64();
    let cpu_b = dist::children_cpu_secs()
        .zip(cpu_start)
        .map_or(String::new(), |(after, before)| {
            format!(" ({:.0} s CPU)", after - before)
        });

    let sums_a = std::fs::read_to_string(&dist_a.sums)?;
    let sums_b = std::fs::read_to_string(&dist_b.sums)?;
    progress(format!(
        "build A took {secs_a:.0} s{cpu_a}, build B {secs_b:.0} s{cpu_b}"
    ));
    for line in sums_a.lines() {
        progress(format!("A {line}"));
    }
    for line in sums_b.lines() {
        progress(format!("B {line}"));
    }
    if sums_a != sums_b {
        let a_list = sums::parse(&sums_a)?;
        let b_list = sums::parse(&sums_b)?;
        let differ: Vec<&str> = a_list
            .iter()
            .filter(|x| !b_list.contains(x))
            .map(|(_, name)| name.as_str())
            .collect();
        bail!(
            "not reproducible: {} differ between {} and {} (compare with `diffoscope A B`; the folders are kept)",
            differ.join(", "),
            work.join("a/out").display(),
            work.join("b/out").display()
        );
    }
    progress(format!(
        "reproducible: {} binaries of commit {} are byte-identical",
        dist_a.artifacts.len(),
        source.commit
    ));
    Ok(Report {
        commit: source.commit,
        a: dist_a,
        b: dist_b,
        secs_a,
        secs_b,
        other_toolchain,
    })
}

fn link(target: &Path, link: &Path) -> anyhow::Result<()> {
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("linking {} to {}", link.display(), target.display()))
}
