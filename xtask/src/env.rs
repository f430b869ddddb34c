//! The build environment that makes a release reproducible: what cargo, rustc and the C
//! compilers see, with nothing of this machine (paths, time, locale) left in their output.
//!
//! Every path that differs between machines is remapped, for rustc (`--remap-path-prefix`) and
//! for the C code of `-sys` crates built with `cc` (`-ffile-prefix-map`): the checkout, the
//! target directory (inside the checkout or not), cargo's home (registry sources) and the
//! toolchain's sysroot. `SOURCE_DATE_EPOCH` is the commit's time, for any tool that stamps one.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::checkout::Checkout;
use crate::cmd;

/// The one target every release binary is built for.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// The toolchain a build uses: `rustc -vV` and where its sysroot is.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// The `bin` folder of a toolchain to use directly (its `cargo` and `rustc`, not rustup's
    /// proxies); None: `cargo` and `rustc` as found on `PATH`.
    pub bin: Option<PathBuf>,
    /// `rustc -vV`, which a rebuild must match.
    pub verbose_version: String,
    pub sysroot: PathBuf,
    /// rustc's commit, the `/rustc/<hash>` prefix of the standard library's paths.
    pub commit_hash: String,
}

impl Toolchain {
    /// Ask rustc: the one in `bin`, else the one on `PATH`.
    pub fn detect(bin: Option<&Path>) -> anyhow::Result<Self> {
        let rustc = |args: &[&str]| {
            let mut c = match bin {
                Some(bin) => use_bin(Command::new(bin.join("rustc")), bin),
                None => Command::new("rustc"),
            };
            c.args(args);
            cmd::output(&mut c)
        };
        let verbose_version = rustc(&["-vV"])?;
        let sysroot = PathBuf::from(rustc(&["--print", "sysroot"])?);
        let commit_hash = verbose_version
            .lines()
            .find_map(|l| l.strip_prefix("commit-hash: "))
            .unwrap_or("unknown")
            .to_owned();
        Ok(Toolchain {
            bin: bin.map(Path::to_owned),
            verbose_version,
            sysroot,
            commit_hash,
        })
    }

    /// The first line of `rustc -vV` (`rustc 1.95.0 (59807616e 2026-04-14)`).
    pub fn version_line(&self) -> &str {
        self.verbose_version.lines().next().unwrap_or("")
    }
}

/// `cmd` running with the toolchain of `bin` first: on `PATH`, and its `lib` first on
/// `LD_LIBRARY_PATH` (rustup puts its own toolchain's `lib` there, and rustc finds its sysroot
/// from the `librustc_driver` it loaded).
fn use_bin(mut cmd: Command, bin: &Path) -> Command {
    let prepend = |var: &str, dir: PathBuf| {
        let old = std::env::var_os(var).unwrap_or_default();
        let dirs = std::iter::once(dir).chain(std::env::split_paths(&old));
        std::env::join_paths(dirs).unwrap_or_default()
    };
    let lib = bin
        .parent()
        .map_or_else(|| bin.join("../lib"), |t| t.join("lib"));
    cmd.env("PATH", prepend("PATH", bin.to_owned()))
        .env("LD_LIBRARY_PATH", prepend("LD_LIBRARY_PATH", lib))
        .env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

/// Cargo's home: `CARGO_HOME`, else `~/.cargo`.
pub fn cargo_home() -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

/// Everything a reproducible build sets.
#[derive(Debug, Clone)]
pub struct BuildEnv {
    /// (machine path, fixed path) in the order rustc and gcc are given them: shortest first,
    /// since the last matching remap wins (a target dir inside the checkout then maps to
    /// `/target`, not `/hcl-probe/target`).
    pub remaps: Vec<(PathBuf, String)>,
    pub target_dir: PathBuf,
    pub cargo_home: PathBuf,
    pub toolchain: Toolchain,
    pub commit: String,
    pub epoch: u64,
    /// cargo-auditable's version, recorded in the binaries' `--version`.
    pub auditable_version: String,
}

impl BuildEnv {
    pub fn new(
        checkout: &Checkout,
        target_dir: &Path,
        cargo_home: &Path,
        toolchain: Toolchain,
        auditable_version: &str,
    ) -> anyhow::Result<Self> {
        let src = toolchain.sysroot.join("lib/rustlib/src/rust");
        let pairs = [
            (checkout.root.clone(), "/hcl-probe".to_owned()),
            (target_dir.to_owned(), "/target".to_owned()),
            (cargo_home.to_owned(), "/cargo".to_owned()),
            (toolchain.sysroot.clone(), "/rustc/sysroot".to_owned()),
            // With the rust-src component, rustc may name the standard library's sources by
            // their local path; without it they are `/rustc/<hash>/library/...`.
            (src, format!("/rustc/{}", toolchain.commit_hash)),
        ];
        let mut remaps = Vec::new();
        for (from, to) in pairs {
            // Both spellings when a path goes through a symlink: tools see either.
            let canonical = from.canonicalize().ok();
            for path in std::iter::once(from).chain(canonical) {
                let text = path
                    .to_str()
                    .with_context(|| format!("{} is not UTF-8: cannot remap it", path.display()))?;
                if text.contains(['=', '\x1f', ' ', '\n']) {
                    bail!(
                        "{text} contains '=', a space or a control character: it cannot be remapped reliably; build from another folder"
                    );
                }
                if !remaps.iter().any(|(p, _)| *p == path) {
                    remaps.push((path, to.clone()));
                }
            }
        }
        remaps.sort_by_key(|(p, _)| p.as_os_str().len());
        Ok(BuildEnv {
            remaps,
            target_dir: target_dir.to_owned(),
            cargo_home: cargo_home.to_owned(),
            toolchain,
            commit: checkout.commit.clone(),
            epoch: checkout.epoch,
            auditable_version: auditable_version.to_owned(),
        })
    }

    /// Where cargo builds with or without `crt-static`: apart, since cargo names the artifacts
    /// of both alike and each build would overwrite the other's dependencies.
    pub fn target_dir_for(&self, static_crt: bool) -> PathBuf {
        self.target_dir
            .join(if static_crt { "static" } else { "dynamic" })
    }

    /// rustc's flags, as `CARGO_ENCODED_RUSTFLAGS` wants them (0x1f between flags).
    pub fn rustflags(&self, static_crt: bool) -> String {
        let mut flags: Vec<String> = Vec::new();
        if static_crt {
            flags.push("-Ctarget-feature=+crt-static".into());
        }
        for (from, to) in &self.remaps {
            flags.push(format!("--remap-path-prefix={}={to}", from.display()));
        }
        flags.join("\x1f")
    }

    /// Flags for gcc via the `cc` crate (which appends `CFLAGS`).
    pub fn cflags(&self) -> String {
        self.remaps
            .iter()
            .map(|(from, to)| format!("-ffile-prefix-map={}={to}", from.display()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A `cargo` command of the chosen toolchain in `dir` with this environment; settings from
    /// the caller's environment that would change the output are removed.
    pub fn cargo(&self, dir: &Path, static_crt: bool) -> Command {
        let mut c = match &self.toolchain.bin {
            Some(bin) => {
                let mut c = use_bin(Command::new(bin.join("cargo")), bin);
                c.env("RUSTC", bin.join("rustc"));
                c
            }
            None => Command::new("cargo"),
        };
        c.current_dir(dir);
        let drop: Vec<OsString> = std::env::vars_os()
            .map(|(k, _)| k)
            .filter(|k| {
                let k = k.to_string_lossy();
                k.starts_with("CARGO_PROFILE_")
                    || k.starts_with("CARGO_BUILD_")
                    || k.starts_with("CARGO_TARGET_")
                    || k.starts_with("CFLAGS")
                    || k.starts_with("TARGET_CFLAGS")
                    || k.starts_with("HOST_CFLAGS")
                    || k == "RUSTFLAGS"
                    || k == "RUSTDOCFLAGS"
                    || k == "CARGO_INCREMENTAL"
            })
            .collect();
        for k in drop {
            c.env_remove(k);
        }
        c.env("CARGO_HOME", &self.cargo_home)
            .env("CARGO_TARGET_DIR", self.target_dir_for(static_crt))
            .env("CARGO_ENCODED_RUSTFLAGS", self.rustflags(static_crt))
            .env("CFLAGS", self.cflags())
            .env("CARGO_INCREMENTAL", "0")
            .env("SOURCE_DATE_EPOCH", self.epoch.to_string())
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .env("HCL_BUILD_COMMIT", &self.commit)
            .env("HCL_BUILD_AUDITABLE", &self.auditable_version);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_for(root: &Path, target: &Path) -> BuildEnv {
        let checkout = Checkout {
            root: root.to_owned(),
            commit: "0".repeat(40),
            epoch: 1,
            changes: vec![],
        };
        let toolchain = Toolchain {
            bin: None,
            verbose_version: "rustc 1.0.0\ncommit-hash: abc".into(),
            sysroot: "/opt/rust".into(),
            commit_hash: "abc".into(),
        };
        BuildEnv::new(
            &checkout,
            target,
            Path::new("/home/u/.cargo"),
            toolchain,
            "0.7.7",
        )
        .unwrap()
    }

    #[test]
    fn target_dir_inside_checkout_maps_to_target_not_into_the_checkout() {
        let env = env_for(
            Path::new("/nonexistent/co"),
            Path::new("/nonexistent/co/target/dist"),
        );
        let flags = env.rustflags(true);
        let flags: Vec<&str> = flags.split('\x1f').collect();
        assert_eq!(flags[0], "-Ctarget-feature=+crt-static");
        let co = flags
            .iter()
            .position(|f| f.ends_with("/nonexistent/co=/hcl-probe"));
        let target = flags
            .iter()
            .position(|f| f.ends_with("/co/target/dist=/target"));
        // rustc applies the last matching remap: the target dir must come after the checkout.
        assert!(co.unwrap() < target.unwrap(), "{flags:?}");
        let src = flags
            .iter()
            .position(|f| f.ends_with("/opt/rust/lib/rustlib/src/rust=/rustc/abc"));
        let sysroot = flags
            .iter()
            .position(|f| f.ends_with("/opt/rust=/rustc/sysroot"));
        assert!(sysroot.unwrap() < src.unwrap(), "{flags:?}");
        assert!(flags.contains(&"--remap-path-prefix=/home/u/.cargo=/cargo"));
        assert!(
            env.cflags()
                .contains("-ffile-prefix-map=/nonexistent/co=/hcl-probe")
        );
        assert!(!env.rustflags(false).contains("crt-static"));
    }

    #[test]
    fn a_path_with_equals_sign_is_refused() {
        let checkout = Checkout {
            root: "/tmp/a=b".into(),
            commit: "0".repeat(40),
            epoch: 1,
            changes: vec![],
        };
        let toolchain = Toolchain {
            bin: None,
            verbose_version: String::new(),
            sysroot: "/opt/rust".into(),
            commit_hash: "abc".into(),
        };
        let err =
            BuildEnv::new(&checkout, Path::new("/t"), Path::new("/c"), toolchain, "").unwrap_err();
        assert!(err.to_string().contains("cannot be remapped"), "{err}");
    }
}
