//! The kernel configuration of a derivation: a ready `.config`, or Qubes' `config-base` +
//! `config-qubes` (+ `config-rust`) merged as Qubes' `kernel.spec.in` does; see the module
//! documentation of [`super`] for the steps. Either way the tree's own Kconfig has the last
//! word (`make olddefconfig`), and the switches that only concern debug info, signing keys
//! and symbol versions are turned off first, as in the hand-made derivations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Error;
use super::kbuild::{Make, run_logged};
use super::source::sha256_file;

/// Where the configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSpec {
    /// A complete `.config` (a distribution's `config-<release>`).
    Plain(PathBuf),
    /// Qubes' files from `QubesOS/qubes-linux-kernel`.
    Qubes {
        base: PathBuf,
        qubes: PathBuf,
        rust: Option<PathBuf>,
    },
}

impl ConfigSpec {
    /// Qubes' three files from one directory (`config-rust` only when present; each may be
    /// xz, zstd or gzip compressed, as in the repository's `data/kernel-data/qubes-linux-kernel/`).
    pub fn qubes_dir(dir: &Path) -> Result<Self, Error> {
        let find = |name: &str| {
            ["", ".xz", ".zst", ".gz"]
                .iter()
                .map(|ext| dir.join(format!("{name}{ext}")))
                .find(|p| p.is_file())
        };
        let missing = |name: &str| {
            Error::bad(
                dir.join(name),
                "missing: a Qubes config directory holds config-base and config-qubes",
            )
        };
        Ok(ConfigSpec::Qubes {
            base: find("config-base").ok_or_else(|| missing("config-base"))?,
            qubes: find("config-qubes").ok_or_else(|| missing("config-qubes"))?,
            rust: find("config-rust"),
        })
    }

    /// The input files, in merge order.
    pub fn files(&self) -> Vec<&Path> {
        match self {
            ConfigSpec::Plain(p) => vec![p],
            ConfigSpec::Qubes { base, qubes, rust } => {
                let mut v: Vec<&Path> = vec![base, qubes];
                if let Some(r) = rust {
                    v.push(r);
                }
                v
            }
        }
    }
}

/// Switches that change nothing in a device table but would need tools or keys we lack
/// (pahole for BTF, Debian's or Fedora's signing certificates, genksyms runs) or fail the
/// build on a newer compiler's warnings.
const NEUTRAL_SWITCHES: &[&str] = &[
    "--disable",
    "DEBUG_INFO_BTF",
    "--disable",
    "DEBUG_INFO_BTF_MODULES",
    "--disable",
    "MODULE_SIG_ALL",
    "--set-str",
    "SYSTEM_TRUSTED_KEYS",
    "",
    "--set-str",
    "SYSTEM_REVOCATION_KEYS",
    "",
    "--disable",
    "MODVERSIONS",
    "--disable",
    "DEBUG_INFO",
    "--disable",
    "DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT",
    "--disable",
    "DEBUG_INFO_DWARF4",
    "--disable",
    "DEBUG_INFO_DWARF5",
    "--enable",
    "DEBUG_INFO_NONE",
    "--disable",
    "WERROR",
    "--disable",
    "OBJTOOL_WERROR",
];

/// What configuring did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ConfigReport {
    /// The input files (name, SHA-256), in merge order.
    pub inputs: Vec<(String, String)>,
    /// How they were merged, step by step.
    pub steps: Vec<String>,
    /// Requested settings that did not make it into the final `.config` (Qubes' gen-config
    /// prints the same check), and for a plain config the options Kconfig changed.
    pub not_applied: Vec<String>,
    /// SHA-256 of the final `.config`.
    pub final_sha256: String,
}

/// Writes the final `.config` into the build directory.
pub(crate) fn configure(make: &Make, spec: &ConfigSpec) -> Result<ConfigReport, Error> {
    let mut report = ConfigReport::default();
    // Hashes of the plain text, comparable with the files in Qubes' repository.
    for f in spec.files() {
        report.inputs.push((plain_name(f), sha256_text(&read(f)?)));
    }
    let objtree = &make.objtree;
    std::fs::create_dir_all(objtree).map_err(|e| Error::io(objtree, e))?;
    let dot_config = objtree.join(".config");
    let requested: BTreeMap<String, String>;
    let merged: BTreeMap<String, String>;
    match spec {
        ConfigSpec::Plain(p) => {
            let text = read(p)?;
            std::fs::write(&dot_config, &text).map_err(|e| Error::io(&dot_config, e))?;
            requested = settings(&text);
            report
                .steps
                .push(format!("copy {} to .config", p.display()));
            make.run(&["olddefconfig"], "olddefconfig-input")?;
            report.steps.push("make olddefconfig".into());
            merged = settings(&read(&dot_config)?);
        }
        ConfigSpec::Qubes { base, qubes, rust } => {
            let local = qubes_local_config(
                &read(qubes)?,
                rust.as_deref().map(read).transpose()?.as_deref(),
            );
            let gen_path = objtree.join("config-qubes.gen");
            std::fs::write(&gen_path, &local).map_err(|e| Error::io(&gen_path, e))?;
            let base_path = objtree.join("config-base");
            std::fs::write(&base_path, read(base)?).map_err(|e| Error::io(&base_path, e))?;
            report.steps.push(
                "config-qubes: drop CONFIG_GCC_PLUGIN_STRUCTLEAK_BYREF_ALL=y, \
                 CONFIG_GCC_PLUGIN_STRUCTLEAK=y -> CONFIG_INIT_STACK_ALL_ZERO=y (spec, fedora >= 37)"
                    .into(),
            );
            if rust.is_some() {
                report
                    .steps
                    .push("append config-rust to config-qubes (spec, fedora >= 41)".into());
            }
            report.steps.push("gen-config: drop `##` lines".into());
            let mut c = Command::new("bash");
            c.arg(make.srctree.join("scripts/kconfig/merge_config.sh"))
                .args(["-m", "-O"])
                .arg(objtree)
                .arg(&base_path)
                .arg(&gen_path)
                .current_dir(objtree);
            run_logged(
                c,
                &make.logs.join("merge_config.log"),
                "scripts/kconfig/merge_config.sh",
            )?;
            report
                .steps
                .push("scripts/kconfig/merge_config.sh -m config-base config-qubes.gen".into());
            let allconfig = format!("KCONFIG_ALLCONFIG={}", dot_config.display());
            make.run(&[&allconfig, "alldefconfig"], "alldefconfig")?;
            report
                .steps
                .push("make KCONFIG_ALLCONFIG=.config alldefconfig".into());
            requested = settings(&local);
            merged = settings(&read(&dot_config)?);
            // The spec's own switches after gen-config: debug info off.
            scripts_config(
                make,
                &[
                    "--enable",
                    "DEBUG_INFO_NONE",
                    "--disable",
                    "DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT",
                    "--disable",
                    "DEBUG_INFO",
                ],
            )?;
            report.steps.push(
                "scripts/config --enable DEBUG_INFO_NONE --disable DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT \
                 --disable DEBUG_INFO (spec)"
                    .into(),
            );
        }
    }
    // gen-config's check (for a plain config: what this tree's Kconfig and compiler changed),
    // before the neutral switches.
    scripts_config(make, NEUTRAL_SWITCHES)?;
    report.steps.push(format!(
        "scripts/config {} (no device table depends on these)",
        NEUTRAL_SWITCHES
            .iter()
            .map(|s| if s.is_empty() { "\"\"" } else { s })
            .collect::<Vec<_>>()
            .join(" ")
    ));
    make.run(&["olddefconfig"], "olddefconfig")?;
    report.steps.push("make olddefconfig".into());
    for (sym, want) in &requested {
        let got = merged.get(sym).map(String::as_str).unwrap_or("is not set");
        if got != want {
            report
                .not_applied
                .push(format!("{sym}: requested {want}, got {got}"));
        }
    }
    report.final_sha256 = sha256_file(&dot_config)?;
    Ok(report)
}

/// A config file's text; xz, zstd and gzip files are decompressed.
fn read(p: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
    let plain = crate::binary::decompress::decompress_all(&bytes, 64 << 20)
        .map_err(|e| Error::bad(p, format!("cannot decompress: {e}")))?;
    String::from_utf8(plain.into_owned()).map_err(|_| Error::bad(p, "not a text config"))
}

/// File name without a compression suffix.
fn plain_name(p: &Path) -> String {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for ext in [".xz", ".zst", ".gz"] {
        if let Some(s) = n.strip_suffix(ext) {
            return s.to_owned();
        }
    }
    n
}

fn sha256_text(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

fn scripts_config(make: &Make, args: &[&str]) -> Result<(), Error> {
    let mut c = Command::new("bash");
    c.arg(make.srctree.join("scripts/config"))
        .arg("--file")
        .arg(make.objtree.join(".config"))
        .args(args);
    run_logged(c, &make.logs.join("scripts-config.log"), "scripts/config")
}

/// The local config as Qubes' spec and gen-config hand it to merge_config.sh: the spec's two
/// edits for Fedora >= 37, config-rust appended (Fedora >= 41), `##` lines dropped.
pub(crate) fn qubes_local_config(qubes: &str, rust: Option<&str>) -> String {
    let mut text = String::new();
    for line in qubes.lines() {
        // sed -i '/CONFIG_GCC_PLUGIN_STRUCTLEAK_BYREF_ALL=y/d'
        if line.contains("CONFIG_GCC_PLUGIN_STRUCTLEAK_BYREF_ALL=y") {
            continue;
        }
        // sed -i 's/CONFIG_GCC_PLUGIN_STRUCTLEAK=y/CONFIG_INIT_STACK_ALL_ZERO=y/'
        text.push_str(&line.replacen(
            "CONFIG_GCC_PLUGIN_STRUCTLEAK=y",
            "CONFIG_INIT_STACK_ALL_ZERO=y",
            1,
        ));
        text.push('\n');
    }
    if let Some(r) = rust {
        // cat config-rust >> config-qubes
        text.push_str(r);
        if !r.ends_with('\n') {
            text.push('\n');
        }
    }
    // grep -v '^##'
    text.lines()
        .filter(|l| !l.starts_with("##"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `CONFIG_X=v` and `# CONFIG_X is not set` lines as symbol -> value (`is not set`).
pub(crate) fn settings(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# ")
            && let Some(sym) = rest.strip_suffix(" is not set")
            && sym.starts_with("CONFIG_")
        {
            out.insert(sym.to_owned(), "is not set".to_owned());
        } else if let Some((sym, v)) = line.split_once('=')
            && sym.starts_with("CONFIG_")
        {
            out.insert(sym.to_owned(), v.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qubes_local_config_follows_the_spec() {
        let qubes = "## comment\nCONFIG_GCC_PLUGIN_STRUCTLEAK_BYREF_ALL=y\nCONFIG_GCC_PLUGIN_STRUCTLEAK=y\n# CONFIG_HOTPLUG_PCI is not set\nCONFIG_XEN_PCIDEV_BACKEND=m\n";
        let rust = "## Rust\nCONFIG_RUST=y";
        let local = qubes_local_config(qubes, Some(rust));
        assert_eq!(
            local,
            "CONFIG_INIT_STACK_ALL_ZERO=y\n# CONFIG_HOTPLUG_PCI is not set\nCONFIG_XEN_PCIDEV_BACKEND=m\nCONFIG_RUST=y\n"
        );
        let s = settings(&local);
        assert_eq!(
            s.get("CONFIG_HOTPLUG_PCI").map(String::as_str),
            Some("is not set")
        );
        assert_eq!(s.get("CONFIG_RUST").map(String::as_str), Some("y"));
        assert_eq!(s.len(), 4);
    }
}
