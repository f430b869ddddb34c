//! `hcl-kernels derive`: the driver aliases of a kernel built from source with a given config,
//! without building the kernel. Only the objects that hold device tables of the wanted buses
//! are compiled, with the commands the tree's own Kbuild would run, and the tree's own
//! `scripts/mod/modpost` (file2alias) turns them into aliases, so the lines are the ones a
//! real build prints: loadable modules as `modules.alias` has them, built-in drivers as the
//! `modules.builtin.modinfo` of 6.18+ records them.
//!
//! # Steps
//! 1. **Source** ([`source`]): a tree, Debian's orig + debian tarballs (patch series applied as
//!    dpkg-source does) or a `linux-source-*` .deb, unpacked once into the cache.
//! 2. **Config** ([`config`]): a `.config`, or Qubes' files merged as Qubes' spec does (below);
//!    the build goes to a separate directory (`make O=`), the source tree is not written.
//! 3. `make modules_prepare` builds modpost and the generated headers.
//! 4. `make -n -k vmlinux_o modules` prints every command of a full build without running
//!    one: each C object's compile command with its `-DKBUILD_MODNAME`, `-DMODULE` for module
//!    code, and the `modules.order` lists.
//! 5. The sources of those objects (and the files they `#include "..."`) are scanned for
//!    `MODULE_DEVICE_TABLE` of the wanted types and hand-written `MODULE_ALIAS("bus:...")`.
//! 6. Those objects are compiled with Kbuild's exact commands. Before 6.18 a built-in
//!    driver's table is dropped by the preprocessor (`MODULE_DEVICE_TABLE` is empty without
//!    `MODULE`), so built-in objects are compiled once more with `-DMODULE` into a side file.
//! 7. modpost ([`modpost`]) on the module objects linked per module, and on a `vmlinux.o` of
//!    the built-in objects (6.18+), gives the alias lines.
//!
//! # Qubes' config merge
//! As `kernel.spec.in` of QubesOS/qubes-linux-kernel (stable-6.18 and main, which build on
//! Fedora 41+) and its `gen-config` do:
//! 1. In `config-qubes`, delete the line `CONFIG_GCC_PLUGIN_STRUCTLEAK_BYREF_ALL=y` and turn
//!    `CONFIG_GCC_PLUGIN_STRUCTLEAK=y` into `CONFIG_INIT_STACK_ALL_ZERO=y` (spec, Fedora >= 37).
//! 2. Append `config-rust` to `config-qubes` (spec, Fedora >= 41).
//! 3. gen-config: drop `##` lines; `scripts/kconfig/merge_config.sh -m config-base
//!    config-qubes.gen`; `make KCONFIG_ALLCONFIG=.config alldefconfig`; every setting of
//!    config-qubes.gen that is not in the result is reported (gen-config fails the build on
//!    those; here they are listed in the provenance: with no Rust toolchain for the kernel,
//!    `CONFIG_RUST=y` is one, and the Rust drivers are not derived).
//! 4. `scripts/config --enable DEBUG_INFO_NONE --disable DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT
//!    --disable DEBUG_INFO` (the spec, without debuginfo).
//!
//! The data written by [`Derived::write_dir`] (compressed alias lists, the final config and
//! `provenance.json`) is what `build-shipped` turns into profiles without network or compiler.

pub mod config;
mod kbuild;
mod modpost;
mod shell;
pub mod source;
mod tables;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use config::{ConfigReport, ConfigSpec};
pub use source::{SourceSpec, Tree};
pub use tables::Buses;

use crate::ProfileBuilder;
use crate::ProfileMeta;
use crate::profile::AliasKind;

/// Errors of a derivation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The I/O error is part of the message (not a `source`, which would print it twice).
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{path}: {message}")]
    Bad { path: String, message: String },
    #[error(
        "cannot run {what}: {err} (derive needs make, gcc, binutils, patch, flex, bison, bc, \
         libelf-dev and libssl-dev)"
    )]
    Tool { what: String, err: std::io::Error },
    #[error("{what} failed (log: {}):\n{tail}", log.display())]
    Failed {
        what: String,
        log: PathBuf,
        tail: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("no {0}")]
    Missing(String),
}

impl Error {
    pub(crate) fn io(path: &Path, err: std::io::Error) -> Self {
        Error::Io {
            path: path.to_owned(),
            err,
        }
    }
    pub(crate) fn bad(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Bad {
            path: path.as_ref().display().to_string(),
            message: message.into(),
        }
    }
    pub(crate) fn tool(what: &str, err: std::io::Error) -> Self {
        Error::Tool {
            what: what.to_owned(),
            err,
        }
    }
}

impl From<crate::binary::ar::ArError> for Error {
    fn from(e: crate::binary::ar::ArError) -> Self {
        Error::Bad {
            path: "archive".into(),
            message: e.to_string(),
        }
    }
}

/// Progress of a long derivation: stages, each with a count when known.
pub trait Progress: Sync {
    /// A stage starts; `total` steps, 0 when unknown.
    fn stage(&self, name: &str, total: u64);
    /// Steps done in the current stage.
    fn set(&self, done: u64);
    /// A line worth keeping on screen (warnings).
    fn note(&self, line: &str);
}

/// No progress output (tests, libraries).
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&self, _: &str, _: u64) {}
    fn set(&self, _: u64) {}
    fn note(&self, _: &str) {}
}

/// What to derive.
#[derive(Debug, Clone)]
pub struct Request {
    pub source: SourceSpec,
    pub config: ConfigSpec,
    pub buses: Buses,
    /// Unpacked trees and build directories (`~/.cache/hcl-probe/derive`).
    pub cache: PathBuf,
    pub jobs: usize,
    /// The command line, recorded in the provenance.
    pub command: String,
}

/// Where it came from, recorded next to the data and in the profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// The tree's version (top Makefile).
    pub tree_version: String,
    /// The source: package file names or the directory.
    pub source: String,
    /// Input files with their SHA-256.
    pub source_files: Vec<(String, String)>,
    /// Debian patches applied (orig + debian tarballs).
    pub debian_patches_applied: usize,
    pub config: ConfigReport,
    /// Device table types derived (`all` or e.g. `pci,usb`).
    pub buses: String,
    /// `CONFIG_CC_VERSION_TEXT` of the final config.
    pub compiler: String,
    /// The command that made it.
    pub command: String,
    /// True when the kernel records built-in device-table aliases (6.18+).
    pub records_builtin_aliases: bool,
    /// Objects in the full build; compiled here (the table objects); failed.
    pub objects_total: usize,
    pub objects_compiled: usize,
    pub objects_failed: Vec<String>,
    /// Rust objects a full build would compile (their tables are not derived).
    pub rust_objects: Vec<String>,
    /// Day of the derivation (UTC, `YYYY-MM-DD`).
    pub date: String,
}

/// The result: alias lines per module, as the kernel build would make them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derived {
    /// `(pattern, module)` of loadable modules, in `modules.order` order.
    pub aliases: Vec<(String, String)>,
    /// `(pattern, module)` of built-in drivers that the kernel records.
    pub builtin_aliases: Vec<(String, String)>,
    /// `(pattern, module)` of built-in drivers that 6.18+ would record but this (older)
    /// kernel does not: the engine serves them as inferred.
    pub builtin_unrecorded: Vec<(String, String)>,
    /// The final `.config`.
    pub config: String,
    pub provenance: Provenance,
}

fn module_name(object: &str) -> String {
    let file = object.rsplit('/').next().unwrap_or(object);
    file.strip_suffix(".o").unwrap_or(file).replace('-', "_")
}

fn key(parts: &[&str]) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())[..16].to_owned()
}

/// Series number on one line of releases (6.18 -> 618, 7.1 -> 621).
fn series(version: &str) -> Option<u32> {
    let mut it = version.split(['.', '-', '+']);
    let major: u32 = it.next()?.parse().ok()?;
    let minor: u32 = it.next()?.parse().ok()?;
    Some(if major >= 7 {
        620 + (major - 7) * 20 + minor
    } else {
        major * 100 + minor
    })
}

/// Today's date, UTC.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{:02}-{:02}", if m <= 2 { y + 1 } else { y }, m, d)
}

/// Runs a derivation (minutes to hours: it compiles about a thousand kernel objects).
pub fn derive(req: &Request, progress: &dyn Progress) -> Result<Derived, Error> {
    let tree = source::prepare(&req.source, &req.cache, progress)?;
    let version = kbuild::tree_version(&tree.path)?;
    let config_key: Vec<String> = req
        .config
        .files()
        .iter()
        .map(|f| source::sha256_file(f))
        .collect::<Result<_, _>>()?;
    let mut key_parts: Vec<&str> = vec![tree.path.to_str().unwrap_or_default()];
    key_parts.extend(config_key.iter().map(String::as_str));
    key_parts.push(match req.config {
        ConfigSpec::Plain(_) => "plain",
        ConfigSpec::Qubes { .. } => "qubes",
    });
    let objtree = req
        .cache
        .join("builds")
        .join(format!("{version}-{}", key(&key_parts)));
    let make = kbuild::Make {
        srctree: tree.path.clone(),
        objtree: objtree.clone(),
        logs: objtree.join(".hcl-derive/logs"),
    };

    progress.stage("configuring", 0);
    let report_path = objtree.join(".hcl-derive/config.json");
    let config_report = match std::fs::read(&report_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<ConfigReport>(&b).ok())
    {
        Some(r)
            if objtree.join(".config").is_file()
                && source::sha256_file(&objtree.join(".config"))? == r.final_sha256 =>
        {
            r
        }
        _ => {
            let r = config::configure(&make, &req.config)?;
            let json = serde_json::to_vec_pretty(&r)
                .map_err(|e| Error::bad(&report_path, e.to_string()))?;
            std::fs::write(&report_path, json).map_err(|e| Error::io(&report_path, e))?;
            r
        }
    };
    for line in &config_report.not_applied {
        if line.starts_with("CONFIG_RUST:") {
            progress.note(&format!(
                "config: {line} (no Rust toolchain for this kernel here)"
            ));
        }
    }

    progress.stage("make modules_prepare", 0);
    let jobs = format!("-j{}", req.jobs.max(1));
    make.run(&[&jobs, "modules_prepare"], "modules_prepare")?;

    progress.stage("listing the full build (make -n)", 0);
    let listing = make.listing(progress)?;

    let mut derived = compile_and_collect(
        &tree.path, &objtree, &version, &listing, &req.buses, req.jobs, progress,
    )?;
    let final_config = std::fs::read_to_string(objtree.join(".config")).unwrap_or_default();
    let compiler = config::settings(&final_config)
        .get("CONFIG_CC_VERSION_TEXT")
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_default();
    let p = &mut derived.provenance;
    p.source = tree.description.clone();
    p.source_files = tree.inputs.clone();
    p.debian_patches_applied = tree.patches_applied;
    p.config = config_report;
    p.compiler = compiler;
    p.command = req.command.clone();
    derived.config = final_config;
    Ok(derived)
}

/// Stages 5 to 7 on a configured and prepared build directory (`scripts/mod/modpost` built,
/// generated headers there) and the `make -n` listing of its full build: scan, compile the
/// table objects, run modpost. [`derive`] calls it; tests call it on a small real tree.
pub fn derive_prepared(
    srctree: &Path,
    objtree: &Path,
    listing: impl std::io::BufRead,
    buses: &Buses,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<Derived, Error> {
    let version = kbuild::tree_version(srctree)?;
    let mut parser = kbuild::ListingParser::new(srctree, objtree);
    for line in listing.split(b'\n') {
        let line = line.map_err(|e| Error::io(Path::new("listing"), e))?;
        parser.line(&String::from_utf8_lossy(&line));
    }
    let listing = parser.finish();
    let mut d = compile_and_collect(srctree, objtree, &version, &listing, buses, jobs, progress)?;
    d.config = std::fs::read_to_string(objtree.join(".config")).unwrap_or_default();
    Ok(d)
}

fn compile_and_collect(
    srctree: &Path,
    objtree: &Path,
    version: &str,
    listing: &kbuild::Listing,
    buses: &Buses,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<Derived, Error> {
    let in_vmlinux = series(version).is_some_and(|s| s >= 618);
    let make = kbuild::Make {
        srctree: srctree.to_owned(),
        objtree: objtree.to_owned(),
        logs: objtree.join(".hcl-derive/logs"),
    };
    let jobs_arg = format!("-j{}", jobs.max(1));
    progress.stage(
        "scanning sources for device tables",
        listing.units.len() as u64,
    );
    let mut scanner = tables::Scanner::new(srctree, buses.clone());
    let mut chosen: Vec<&kbuild::Unit> = Vec::new();
    for (i, u) in listing.units.iter().enumerate() {
        if scanner.has_tables(&u.source) {
            chosen.push(u);
        }
        if i % 256 == 0 {
            progress.set(i as u64);
        }
    }
    let jobs_list: Vec<kbuild::Job> = chosen
        .iter()
        .filter_map(|u| {
            if u.module || in_vmlinux {
                Some(kbuild::Job::exact(u))
            } else {
                kbuild::Job::as_module(u)
            }
        })
        .collect();

    progress.stage(
        "compiling the objects with device tables",
        jobs_list.len() as u64,
    );
    let mut report = kbuild::compile(objtree, &jobs_list, jobs, progress);
    if !report.failed.is_empty() {
        // A missing generated header is made by Kbuild itself; then try once more.
        progress.stage("making prerequisites of failed objects (make -k)", 0);
        let failed_objects: Vec<String> = chosen
            .iter()
            .filter(|u| {
                report.failed.contains_key(&u.object)
                    || report
                        .failed
                        .contains_key(&format!("{}.modular.o", u.object.trim_end_matches(".o")))
            })
            .map(|u| u.object.clone())
            .collect();
        let mut args: Vec<&str> = vec!["-k", &jobs_arg];
        args.extend(failed_objects.iter().map(String::as_str));
        let _ = make.run(&args, "retry");
        for o in &failed_objects {
            kbuild::forget_kbuild_record(objtree, o);
        }
        let retry: Vec<kbuild::Job> = jobs_list
            .iter()
            .filter(|j| report.failed.contains_key(&j.output))
            .cloned()
            .collect();
        progress.stage("compiling the failed objects again", retry.len() as u64);
        let again = kbuild::compile(objtree, &retry, jobs, progress);
        for o in again.compiled {
            report.failed.remove(&o);
            report.compiled.insert(o);
        }
    }
    for (o, why) in &report.failed {
        progress.note(&format!("did not compile: {o}: {why}"));
    }

    // Group the compiled objects by module, modules in modules.order order.
    let position: BTreeMap<String, usize> = listing
        .modules_order
        .iter()
        .enumerate()
        .map(|(i, m)| (module_name(m), i))
        .collect();
    let mut modules: BTreeMap<String, modpost::Group> = BTreeMap::new();
    let mut builtin: BTreeMap<String, modpost::Group> = BTreeMap::new();
    for (u, job) in chosen.iter().zip(&jobs_list) {
        if !report.compiled.contains(&job.output) {
            continue;
        }
        for name in u.modname.split(':') {
            let map = if u.module { &mut modules } else { &mut builtin };
            let g = map
                .entry(name.to_owned())
                .or_insert_with(|| modpost::Group {
                    name: name.to_owned(),
                    objects: Vec::new(),
                });
            g.objects.push(job.output.clone());
        }
    }
    let mut module_groups: Vec<modpost::Group> = modules.into_values().collect();
    module_groups.sort_by_key(|g| {
        (
            position.get(&g.name).copied().unwrap_or(usize::MAX),
            g.name.clone(),
        )
    });
    let builtin_groups: Vec<modpost::Group> = builtin.into_values().collect();

    progress.stage("modpost", 0);
    let out = modpost::run(
        objtree,
        &objtree.join(".hcl-derive/modpost"),
        &module_groups,
        &builtin_groups,
        in_vmlinux,
    )?;

    // depmod (kmod) writes a module's aliases last-first: `.modinfo` order reversed.
    // modules.builtin.modinfo keeps modpost's order.
    let keep = |m: &BTreeMap<String, Vec<String>>, order: &[String], reverse: bool| {
        let mut v: Vec<(String, String)> = Vec::new();
        for name in order {
            let list = m.get(name).map(Vec::as_slice).unwrap_or_default();
            let mut push = |a: &String| {
                if buses.wants_alias(a) {
                    v.push((a.clone(), name.clone()));
                }
            };
            if reverse {
                list.iter().rev().for_each(&mut push);
            } else {
                list.iter().for_each(&mut push);
            }
        }
        v
    };
    let module_order: Vec<String> = module_groups.iter().map(|g| g.name.clone()).collect();
    let builtin_order: Vec<String> = {
        let mut names: BTreeSet<String> = out.builtin_recorded.keys().cloned().collect();
        names.extend(out.builtin_unrecorded.keys().cloned());
        names.into_iter().collect()
    };
    Ok(Derived {
        aliases: keep(&out.modules, &module_order, true),
        builtin_aliases: keep(&out.builtin_recorded, &builtin_order, false),
        builtin_unrecorded: keep(&out.builtin_unrecorded, &builtin_order, false),
        config: String::new(),
        provenance: Provenance {
            tree_version: version.to_owned(),
            buses: buses.to_string(),
            records_builtin_aliases: in_vmlinux,
            objects_total: listing.units.len(),
            objects_compiled: report.compiled.len(),
            objects_failed: report.failed.keys().cloned().collect(),
            rust_objects: listing.rust_objects.clone(),
            date: today(),
            ..Default::default()
        },
    })
}

const ALIASES: &str = "modules.alias.zst";
const BUILTIN: &str = "modules.builtin.alias.zst";
const UNRECORDED: &str = "modules.builtin.alias.unrecorded.zst";
const PROVENANCE: &str = "provenance.json";
const CONFIG: &str = "config.zst";

fn alias_text(lines: &[(String, String)]) -> String {
    lines
        .iter()
        .map(|(p, m)| format!("alias {p} {m}\n"))
        .collect()
}

fn write_zst(path: &Path, text: &str) -> Result<(), Error> {
    let bytes = zstd::encode_all(text.as_bytes(), 19).map_err(|e| Error::io(path, e))?;
    crate::fsio::write_replacing(path, &bytes).map_err(|e| Error::io(path, e))
}

fn read_zst(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = zstd::decode_all(&bytes[..])
        .map_err(|e| Error::bad(path, format!("bad zstd data: {e}")))?;
    String::from_utf8(text).map_err(|_| Error::bad(path, "not UTF-8 text"))
}

fn parse_aliases(text: &str, path: &Path) -> Result<Vec<(String, String)>, Error> {
    crate::import::parse_alias_lines(text, &path.display().to_string())
        .map_err(|e| Error::bad(path, e.to_string()))
}

impl Derived {
    /// Writes the compact data: alias lists (zstd), the final config (zstd), provenance.json.
    pub fn write_dir(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        write_zst(&dir.join(ALIASES), &alias_text(&self.aliases))?;
        write_zst(&dir.join(BUILTIN), &alias_text(&self.builtin_aliases))?;
        let unrecorded = dir.join(UNRECORDED);
        if self.builtin_unrecorded.is_empty() {
            if unrecorded.exists() {
                std::fs::remove_file(&unrecorded).map_err(|e| Error::io(&unrecorded, e))?;
            }
        } else {
            write_zst(&unrecorded, &alias_text(&self.builtin_unrecorded))?;
        }
        write_zst(&dir.join(CONFIG), &self.config)?;
        let p = dir.join(PROVENANCE);
        let mut json = serde_json::to_string_pretty(&self.provenance)
            .map_err(|e| Error::bad(&p, e.to_string()))?;
        json.push('\n');
        crate::fsio::write_replacing(&p, json.as_bytes()).map_err(|e| Error::io(&p, e))
    }

    /// Reads what [`Derived::write_dir`] wrote.
    pub fn read_dir(dir: &Path) -> Result<Self, Error> {
        let p = dir.join(PROVENANCE);
        let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        let provenance: Provenance =
            serde_json::from_slice(&bytes).map_err(|e| Error::bad(&p, e.to_string()))?;
        let read = |name: &str| -> Result<Vec<(String, String)>, Error> {
            let path = dir.join(name);
            if name == UNRECORDED && !path.exists() {
                return Ok(Vec::new());
            }
            parse_aliases(&read_zst(&path)?, &path)
        };
        Ok(Derived {
            aliases: read(ALIASES)?,
            builtin_aliases: read(BUILTIN)?,
            builtin_unrecorded: read(UNRECORDED)?,
            config: read_zst(&dir.join(CONFIG))?,
            provenance,
        })
    }

    /// A profile builder: module aliases as `Module`, recorded built-in ones as `Builtin`,
    /// the ones only 6.18+ would record as `Inferred` (labelled).
    pub fn builder(&self, mut meta: ProfileMeta) -> ProfileBuilder {
        if meta.kernel_version.is_empty() {
            meta.kernel_version = self.provenance.tree_version.clone();
        }
        meta.real_data = false;
        meta.records_builtin_aliases = self.provenance.records_builtin_aliases;
        meta.covered_buses = match Buses::parse(&self.provenance.buses) {
            Ok(b) => b.covered(),
            Err(_) => Vec::new(),
        };
        let mut b = ProfileBuilder::new(meta);
        for (p, m) in &self.aliases {
            b.module(m).loadable = true;
            b.add_alias(AliasKind::Module, p, m);
        }
        for (p, m) in &self.builtin_aliases {
            b.module(m).builtin = true;
            b.add_alias(AliasKind::Builtin, p, m);
        }
        let label = format!(
            "derived from {} (device tables of built-in code, which this kernel does not record)",
            self.provenance.source
        );
        for (p, m) in &self.builtin_unrecorded {
            let e = b.module(m);
            e.builtin = true;
            e.inferred_from = Some(label.clone());
            b.add_alias(AliasKind::Inferred, p, m);
        }
        b
    }

    /// A one-paragraph provenance for the profile metadata.
    pub fn provenance_line(&self, data_dir: &str) -> String {
        let p = &self.provenance;
        let files = |v: &[(String, String)]| {
            v.iter()
                .map(|(n, s)| format!("{n} (sha256 {})", &s[..s.len().min(16)]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "{data_dir}: {} aliases derived by `hcl-kernels derive` from {} (Linux {}; {}) with {}; \
             {} of {} objects compiled by {}; command: {}",
            p.buses,
            p.source,
            p.tree_version,
            files(&p.source_files),
            files(&p.config.inputs),
            p.objects_compiled,
            p.objects_total,
            p.compiler,
            p.command
        )
    }
}

/// How derived alias lines compare with a real kernel's, for the wanted buses: unique lines
/// in both, only in the real data, only in the derived data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub same: usize,
    pub only_real: Vec<String>,
    pub only_derived: Vec<String>,
    pub real_total: usize,
}

/// Compares `alias <pattern> <module>` lines (unique, both files filtered to `buses`).
pub fn compare(
    derived: &[(String, String)],
    real: &[(String, String)],
    buses: &Buses,
) -> Comparison {
    let set = |v: &[(String, String)]| -> BTreeSet<String> {
        v.iter()
            .filter(|(p, _)| buses.wants_alias(p))
            .map(|(p, m)| format!("alias {p} {}", m.replace('-', "_")))
            .collect()
    };
    let d = set(derived);
    let r = set(real);
    Comparison {
        same: d.intersection(&r).count(),
        only_real: r.difference(&d).cloned().collect(),
        only_derived: d.difference(&r).cloned().collect(),
        real_total: r.len(),
    }
}

/// Writes `alias` lines as text (for `--aliases-out`).
pub fn write_alias_file(path: &Path, lines: &[(String, String)]) -> Result<(), Error> {
    let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(alias_text(lines).as_bytes())
        .map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_and_names() {
        assert_eq!(series("6.12.117"), Some(612));
        assert_eq!(series("6.18.15"), Some(618));
        assert!(series("7.1.8").is_some_and(|s| s > 618));
        assert_eq!(
            module_name("drivers/net/ethernet/intel/e1000e/e1000e.o"),
            "e1000e"
        );
        assert_eq!(module_name("drivers/usb/class/cdc-acm.o"), "cdc_acm");
        assert_eq!(today().len(), 10);
    }

    #[test]
    fn comparison_counts_unique_lines_of_wanted_buses() {
        let l = |p: &str, m: &str| (p.to_owned(), m.to_owned());
        let derived = vec![
            l("pci:v1*", "a"),
            l("pci:v1*", "a"),
            l("usb:v2*", "b-c"),
            l("acpi*:X:*", "d"),
        ];
        let real = vec![l("pci:v1*", "a"), l("usb:v2*", "b_c"), l("usb:v3*", "e")];
        let c = compare(&derived, &real, &Buses::parse("pci,usb").expect("buses"));
        assert_eq!(c.same, 2);
        assert_eq!(c.real_total, 3);
        assert_eq!(c.only_real, ["alias usb:v3* e"]);
        assert!(c.only_derived.is_empty());
    }
}
