//! Reading kernel modules from binary sources: a `/lib/modules/<ver>` tree, a .deb, one or several
//! .rpm. Each .ko (plain, .xz or .zst) has its `.modinfo` section read directly: Debian packages
//! ship no modules.alias, depmod runs at install.
//!
//! Packages are streamed: the outer archive is read once, front to back, and only module files
//! and the few text files needed (`modules.builtin*`, `config`) are held in memory. Modules are
//! decompressed and parsed on worker threads while the main thread keeps reading the archive.

mod ar;
mod cpio;
pub(crate) mod decompress;
mod elf;
#[cfg(test)]
mod fuzz;
mod modinfo;
pub(crate) use modinfo::name_from_path;
mod rpm;
mod source;
mod tree;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use decompress::MAX_MODULE_SIZE;

/// One module as its `.modinfo` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Module name as kmod spells it (`-` turned into `_`), e.g. `snd_hda_intel`.
    pub name: String,
    /// Path of the .ko inside the tree or package, e.g. `kernel/drivers/net/wireless/...`.
    pub path: String,
    /// `alias=` values in file order.
    pub aliases: Vec<String>,
    /// `firmware=` values in file order.
    pub firmware: Vec<String>,
    /// Name of the package the module came from (`linux-image-6.1.0-50-amd64`,
    /// `kernel-modules-extra`); `None` for a directory tree.
    pub package: Option<String>,
    /// `depends=`: modules to load first (what depmod writes into modules.dep).
    pub depends: Vec<String>,
    /// `softdep=` `pre:` modules, which modprobe loads first when present.
    pub softdep_pre: Vec<String>,
}

impl ModuleInfo {
    /// True when the module ships in an optional package that a default install lacks (RHEL's
    /// `kernel-modules-extra`, also `-internal` and `-partner`).
    pub fn in_optional_package(&self) -> bool {
        self.package.as_deref().is_some_and(|p| {
            ["-modules-extra", "-modules-internal", "-modules-partner"]
                .iter()
                .any(|s| p.ends_with(s))
        })
    }
}

/// Everything read from the binary sources of one kernel.
#[derive(Debug, Clone, Default)]
pub struct ModuleSet {
    /// Kernel release (`6.1.0-50-amd64`), from the tree's directory name.
    pub kernel_version: String,
    /// Package names and versions the data came from (`linux-image-6.1.0-50-amd64 6.1.176-1`).
    pub packages: Vec<String>,
    /// Loadable modules in depmod's order: that of `modules.order` when the source has it, then
    /// by path.
    pub modules: Vec<ModuleInfo>,
    /// Built-in modules (`modules.builtin`), with the aliases and firmware that
    /// `modules.builtin.modinfo` records for them (empty before about 6.18 for device tables).
    /// Modules that only `modules.builtin.modinfo` names (with an alias or firmware) come after
    /// those of `modules.builtin`, with an empty `path`.
    pub builtin: Vec<ModuleInfo>,
    /// `config-<ver>` text when the source carries it.
    pub config: Option<String>,
    /// Files under /lib/firmware when the sources include firmware packages.
    pub firmware_files: Vec<String>,
    /// Files read, for provenance and error messages.
    pub sources: Vec<PathBuf>,
}

/// Errors of the binary importers; each names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    BadInput { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no source given")]
    NoSources,
    #[error("no kernel modules found in {0}")]
    NoModules(String),
    #[error("the sources hold several kernels ({0}); import one kernel at a time")]
    MixedKernels(String),
}

impl Error {
    fn bad(path: &Path, message: impl std::fmt::Display) -> Self {
        Self::BadInput {
            path: path.to_owned(),
            message: message.to_string(),
        }
    }

    fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Reads every source (a `/lib/modules/<ver>` tree, a root holding one, .deb or .rpm packages)
/// into one [`ModuleSet`]. `progress(done, total)` is called as bytes are read.
pub fn read_sources(paths: &[PathBuf], progress: &dyn Fn(u64, u64)) -> Result<ModuleSet, Error> {
    read(paths, progress, false).map(|(set, _)| set)
}

/// The files of a kernel that a boot medium needs, kept by [`read_sources_with_files`].
#[derive(Debug, Clone, Default)]
pub struct KernelFiles {
    /// The kernel image (`boot/vmlinuz-<ver>`, or `lib/modules/<ver>/vmlinuz` as 7.x's
    /// `linux-binary` has it), when a source holds one.
    pub image: Option<Vec<u8>>,
    /// Module files as shipped (plain or compressed), by path below `lib/modules/<ver>/`.
    pub modules: BTreeMap<String, Vec<u8>>,
    /// Regular files below `lib/firmware/`, by path below it (symbolic links are left out).
    pub firmware: BTreeMap<String, Vec<u8>>,
}

/// [`read_sources`] that also keeps the kernel image, the module files and the firmware files,
/// for building a boot medium from the same packages the profile is read from.
pub fn read_sources_with_files(
    paths: &[PathBuf],
    progress: &dyn Fn(u64, u64),
) -> Result<(ModuleSet, KernelFiles), Error> {
    read(paths, progress, true).map(|(set, files)| (set, files.unwrap_or_default()))
}

/// The readers on bytes in memory, for the fuzz targets (`fuzz/`): the same code the importer
/// runs on files, without a file. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    use std::path::{Path, PathBuf};

    use super::source::Package;
    use super::{Collector, Error, Job, ModuleInfo, ModuleSet, with_pool};

    /// One module file (`.ko`, or `.ko.xz`/`.zst`/`.gz`) as the importer reads each module of
    /// a package or tree: decompressed, its ELF `.modinfo` section found and parsed.
    pub fn read_module(bytes: &[u8]) -> Result<ModuleInfo, Error> {
        Job {
            source: PathBuf::from("fuzz.ko"),
            inner: String::new(),
            rel: "kernel/fuzz.ko".into(),
            package: None,
            bytes: bytes.to_vec(),
        }
        .run()
    }

    /// A .deb or an .rpm, recognised by its first bytes as [`super::read_sources`] recognises
    /// a file, imported as one source.
    pub fn read_package(bytes: &[u8]) -> Result<ModuleSet, Error> {
        let path = Path::new("fuzz.pkg");
        let Some(package) = Package::of(bytes) else {
            return Err(Error::bad(path, "not a .deb or an .rpm"));
        };
        let mut collector = Collector::default();
        let modules = with_pool(|pool| package.import(path, bytes, &mut collector, pool))?;
        collector.finish(modules, &[path.to_owned()])
    }
}

/// One file of a .deb package (a boot loader from Debian's `systemd-boot-efi`, say), at most
/// `limit` bytes; None when the package does not hold it.
pub fn read_deb_file(deb: &Path, wanted: &str, limit: u64) -> Result<Option<Vec<u8>>, Error> {
    source::deb_file(deb, wanted, limit)
}

fn read(
    paths: &[PathBuf],
    progress: &dyn Fn(u64, u64),
    keep: bool,
) -> Result<(ModuleSet, Option<KernelFiles>), Error> {
    if paths.is_empty() {
        return Err(Error::NoSources);
    }
    let sources = paths
        .iter()
        .map(|p| source::Source::locate(p))
        .collect::<Result<Vec<_>, _>>()?;
    let total = sources.iter().map(|s| s.size).sum();
    let progress = Progress::new(progress, total);
    let mut collector = Collector {
        kept: keep.then(KernelFiles::default),
        ..Default::default()
    };
    let modules = with_pool(|pool| {
        for s in &sources {
            s.import(&mut collector, pool, &progress)?;
        }
        Ok(())
    })?;
    progress.finish();
    let kept = collector.kept.take();
    collector.finish(modules, paths).map(|set| (set, kept))
}

/// Progress in bytes over all sources, reported about every MiB.
struct Progress<'a> {
    report: &'a dyn Fn(u64, u64),
    total: u64,
    done: Cell<u64>,
    reported: Cell<u64>,
}

impl<'a> Progress<'a> {
    fn new(report: &'a dyn Fn(u64, u64), total: u64) -> Self {
        report(0, total);
        Self {
            report,
            total,
            done: Cell::new(0),
            reported: Cell::new(0),
        }
    }

    fn advance(&self, n: u64) {
        let done = self.done.get().saturating_add(n);
        self.done.set(done);
        if done - self.reported.get() >= 1 << 20 {
            self.reported.set(done);
            (self.report)(done.min(self.total), self.total);
        }
    }

    fn finish(&self) {
        (self.report)(self.total, self.total);
    }
}

/// A reader that advances the progress by the bytes it reads.
struct Counting<'a, R> {
    inner: R,
    progress: &'a Progress<'a>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// A module file waiting to be decompressed and parsed.
struct Job {
    /// The file named in errors: the package or the .ko itself.
    source: PathBuf,
    /// Where the .ko lies inside `source` (empty for a .ko read from a tree).
    inner: String,
    /// Path below `lib/modules/<ver>/`.
    rel: String,
    package: Option<String>,
    bytes: Vec<u8>,
}

impl Job {
    fn run(self) -> Result<ModuleInfo, Error> {
        let fail = |message: &dyn std::fmt::Display| {
            if self.inner.is_empty() {
                Error::bad(&self.source, message)
            } else {
                Error::bad(&self.source, format!("{}: {message}", self.inner))
            }
        };
        let raw = decompress::decompress_all(&self.bytes, MAX_MODULE_SIZE)
            .map_err(|e| fail(&format_args!("decompressing: {}", decompress::describe(&e))))?;
        let section = elf::modinfo_section(&raw).map_err(|e| fail(&e))?;
        let info = modinfo::parse(section);
        let name = match info.name {
            Some(n) if !n.is_empty() => modinfo::normalize_name(&n),
            _ => modinfo::name_from_path(&self.rel),
        };
        Ok(ModuleInfo {
            name,
            path: self.rel,
            aliases: info.aliases,
            firmware: info.firmware,
            package: self.package,
            depends: info.depends,
            softdep_pre: info.softdep_pre,
        })
    }
}

/// Hands module files to worker threads.
struct Pool<'s> {
    tx: mpsc::SyncSender<Job>,
    failed: &'s AtomicBool,
}

impl Pool<'_> {
    /// Queues a module; an `Err` means a worker already failed and the import should stop (the
    /// worker's error is the one reported).
    fn submit(&self, job: Job) -> Result<(), Error> {
        let source = job.source.clone();
        if self.failed.load(Ordering::Relaxed) || self.tx.send(job).is_err() {
            return Err(Error::bad(&source, "import stopped after an error"));
        }
        Ok(())
    }
}

/// Runs `f` with a pool of module parsers; returns the parsed modules.
///
/// A producer and consumers over `std::thread::scope`, kept by hand on purpose: `f` streams
/// the archives (a .deb's data.tar is read once, in order) and the bounded channel makes it wait
/// when the parsers fall behind, so only a few modules are in memory at once. rayon's `spawn`
/// has no such backpressure: every module read ahead would be held until parsed.
fn with_pool(f: impl FnOnce(&Pool<'_>) -> Result<(), Error>) -> Result<Vec<ModuleInfo>, Error> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let (tx, rx) = mpsc::sync_channel::<Job>(workers * 4);
    let rx = Mutex::new(rx);
    let modules = Mutex::new(Vec::new());
    let first_error = Mutex::new(None);
    let failed = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(job) = job else { break };
                    match job.run() {
                        Ok(m) => modules.lock().unwrap_or_else(|e| e.into_inner()).push(m),
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            first_error
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get_or_insert(e);
                        }
                    }
                }
            });
        }
        let pool = Pool {
            tx,
            failed: &failed,
        };
        f(&pool)
        // `pool` drops here, closing the channel; the scope then joins the workers.
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    outcome?;
    let mut modules = modules.into_inner().unwrap_or_else(|e| e.into_inner());
    modules.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.package.cmp(&b.package)));
    Ok(modules)
}

/// Where a file of a package or tree belongs, from its path.
#[derive(Debug, PartialEq, Eq)]
enum Place<'a> {
    /// A .ko below `lib/modules/<version>/`.
    Module {
        version: &'a str,
        rel: &'a str,
    },
    /// `modules.builtin`, `modules.builtin.modinfo` or `config` in `lib/modules/<version>/`.
    ModulesFile {
        version: &'a str,
        name: &'a str,
    },
    /// `boot/config-<version>`.
    BootConfig {
        version: &'a str,
    },
    /// The kernel image: `boot/vmlinuz-<version>` or `lib/modules/<version>/vmlinuz`.
    Image {
        version: &'a str,
    },
    /// A file below `lib/firmware/`.
    Firmware(&'a str),
    Other,
}

fn is_module_file(name: &str) -> bool {
    [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

impl<'a> Place<'a> {
    fn of(path: &'a str) -> Self {
        let path = path.trim_start_matches("./").trim_start_matches('/');
        if let Some(version) = path.strip_prefix("boot/config-")
            && !version.is_empty()
            && !version.contains('/')
        {
            return Self::BootConfig { version };
        }
        if let Some(version) = path.strip_prefix("boot/vmlinuz-")
            && !version.is_empty()
            && !version.contains('/')
        {
            return Self::Image { version };
        }
        let path = path.strip_prefix("usr/").unwrap_or(path);
        if let Some(rest) = path.strip_prefix("lib/firmware/") {
            return if rest.is_empty() {
                Self::Other
            } else {
                Self::Firmware(rest)
            };
        }
        let Some((version, rel)) = path
            .strip_prefix("lib/modules/")
            .and_then(|rest| rest.split_once('/'))
        else {
            return Self::Other;
        };
        if version.is_empty() || rel.is_empty() {
            Self::Other
        } else if is_module_file(rel) {
            Self::Module { version, rel }
        } else if rel == "vmlinuz" {
            Self::Image { version }
        } else if matches!(
            rel,
            "modules.builtin" | "modules.builtin.modinfo" | "modules.order" | "config"
        ) {
            Self::ModulesFile { version, name: rel }
        } else {
            Self::Other
        }
    }
}

/// What kind of archive entry a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    File,
    /// A symbolic link, or a hard link to a file already seen.
    Link,
    Other,
}

/// Where an archive entry comes from, for errors and attribution.
struct Origin<'a> {
    source: &'a Path,
    /// The archive member (`data.tar.xz`, `payload`).
    member: &'a str,
    package: Option<&'a str>,
}

/// Largest text file (`modules.builtin*`, `config`) accepted.
const MAX_TEXT_FILE: u64 = 64 << 20;
/// Largest kernel image kept (Debian's are 8-15 MB).
const MAX_IMAGE_SIZE: u64 = 256 << 20;
/// Largest firmware file kept (the largest in Debian's firmware packages are tens of MB).
const MAX_FIRMWARE_SIZE: u64 = 256 << 20;

#[derive(Default)]
struct Collector {
    /// Kernel versions seen, with the first file that showed each.
    versions: BTreeMap<String, PathBuf>,
    packages: Vec<String>,
    /// (`modules.builtin` text, its package) per version.
    builtin_list: BTreeMap<String, (String, Option<String>)>,
    builtin_modinfo: BTreeMap<String, Vec<u8>>,
    orders: BTreeMap<String, String>,
    configs: BTreeMap<String, String>,
    firmware: BTreeSet<String>,
    /// Files kept for a boot medium ([`read_sources_with_files`]); None: names only.
    kept: Option<KernelFiles>,
}

impl Collector {
    fn saw_version(&mut self, version: &str, source: &Path) {
        if !self.versions.contains_key(version) {
            self.versions.insert(version.to_owned(), source.to_owned());
        }
    }

    /// Takes one entry of a package's file archive.
    fn archive_entry(
        &mut self,
        origin: &Origin<'_>,
        path: &str,
        kind: EntryKind,
        data: &mut dyn Read,
        pool: &Pool<'_>,
    ) -> Result<(), Error> {
        let place = Place::of(path);
        let fail = |e: &dyn std::fmt::Display| {
            Error::bad(origin.source, format!("{}: {path}: {e}", origin.member))
        };
        if let Place::Firmware(name) = place {
            if kind != EntryKind::Other {
                self.firmware.insert(name.to_owned());
            }
            if kind == EntryKind::File
                && let Some(kept) = &mut self.kept
            {
                let bytes = decompress::read_limited(data, MAX_FIRMWARE_SIZE)
                    .map_err(|e| fail(&decompress::describe(&e)))?;
                kept.firmware.insert(name.to_owned(), bytes);
            }
            return Ok(());
        }
        // Links to modules and config files name data that is read through its target.
        if kind != EntryKind::File {
            return Ok(());
        }
        match place {
            Place::Module { version, rel } => {
                let bytes = decompress::read_limited(data, MAX_MODULE_SIZE)
                    .map_err(|e| fail(&decompress::describe(&e)))?;
                self.saw_version(version, origin.source);
                self.keep_module(rel, &bytes);
                pool.submit(Job {
                    source: origin.source.to_owned(),
                    inner: format!("{}: {path}", origin.member),
                    rel: rel.to_owned(),
                    package: origin.package.map(str::to_owned),
                    bytes,
                })
            }
            Place::ModulesFile { version, name } => {
                let bytes = decompress::read_limited(data, MAX_TEXT_FILE)
                    .map_err(|e| fail(&decompress::describe(&e)))?;
                self.saw_version(version, origin.source);
                self.modules_file(version, name, bytes, origin.package);
                Ok(())
            }
            Place::BootConfig { version } => {
                let bytes = decompress::read_limited(data, MAX_TEXT_FILE)
                    .map_err(|e| fail(&decompress::describe(&e)))?;
                self.modules_file(version, "config", bytes, origin.package);
                Ok(())
            }
            Place::Image { .. } => {
                if let Some(kept) = &mut self.kept {
                    let bytes = decompress::read_limited(data, MAX_IMAGE_SIZE)
                        .map_err(|e| fail(&decompress::describe(&e)))?;
                    kept.image = Some(bytes);
                }
                Ok(())
            }
            Place::Firmware(_) | Place::Other => Ok(()),
        }
    }

    /// Keeps a module file's bytes when files are kept.
    fn keep_module(&mut self, rel: &str, bytes: &[u8]) {
        if let Some(kept) = &mut self.kept {
            kept.modules.insert(rel.to_owned(), bytes.to_vec());
        }
    }

    fn modules_file(&mut self, version: &str, name: &str, bytes: Vec<u8>, package: Option<&str>) {
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name {
            "modules.builtin" => {
                let entry = (text(), package.map(str::to_owned));
                self.builtin_list.insert(version.to_owned(), entry);
            }
            "modules.order" => {
                self.orders.insert(version.to_owned(), text());
            }
            "modules.builtin.modinfo" => {
                self.builtin_modinfo.insert(version.to_owned(), bytes);
            }
            _ => {
                self.configs.insert(version.to_owned(), text());
            }
        }
    }

    fn finish(mut self, modules: Vec<ModuleInfo>, paths: &[PathBuf]) -> Result<ModuleSet, Error> {
        let mut versions = std::mem::take(&mut self.versions).into_iter();
        let Some((version, _)) = versions.next() else {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            return Err(Error::NoModules(names.join(", ")));
        };
        if versions.len() > 0 {
            let all: Vec<String> = std::iter::once((version.clone(), PathBuf::new()))
                .chain(versions)
                .map(|(v, _)| v)
                .collect();
            return Err(Error::MixedKernels(all.join(", ")));
        }
        let mut modules = modules;
        if let Some(order) = self.orders.remove(&version) {
            sort_by_order(&mut modules, &order);
        }
        let mut info = self
            .builtin_modinfo
            .remove(&version)
            .map(|b| modinfo::parse_builtin(&b))
            .unwrap_or_default();
        let mut builtin = Vec::new();
        if let Some((list, package)) = self.builtin_list.remove(&version) {
            for line in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let name = modinfo::name_from_path(line);
                let found = info.remove(&name).unwrap_or_default();
                builtin.push(ModuleInfo {
                    name,
                    path: line.to_owned(),
                    aliases: found.aliases,
                    firmware: found.firmware,
                    package: package.clone(),
                    ..Default::default()
                });
            }
        }
        // Names with aliases or firmware but no modules.builtin line (core code such as
        // `kernel` or `printk` only has parameters and is skipped).
        for (name, found) in info {
            if !found.aliases.is_empty() || !found.firmware.is_empty() {
                builtin.push(ModuleInfo {
                    name,
                    path: String::new(),
                    aliases: found.aliases,
                    firmware: found.firmware,
                    ..Default::default()
                });
            }
        }
        Ok(ModuleSet {
            config: self.configs.remove(&version),
            kernel_version: version,
            packages: self.packages,
            modules,
            builtin,
            firmware_files: self.firmware.into_iter().collect(),
            sources: paths.to_vec(),
        })
    }
}

/// Sorts modules as depmod does: by their line in `modules.order` (which names `.ko` files
/// without compression suffix), unlisted ones after, each group by path.
fn sort_by_order(modules: &mut [ModuleInfo], order: &str) {
    let index: std::collections::HashMap<&str, usize> = order
        .lines()
        .map(str::trim)
        .enumerate()
        .map(|(i, l)| (l, i))
        .collect();
    let key = |m: &ModuleInfo| {
        let plain = [".xz", ".zst", ".gz"]
            .iter()
            .find_map(|ext| m.path.strip_suffix(ext))
            .unwrap_or(&m.path);
        index.get(plain).copied().unwrap_or(usize::MAX)
    };
    modules.sort_by_cached_key(|m| (key(m), m.path.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depmod_order() {
        let m = |p: &str| ModuleInfo {
            path: p.into(),
            ..Default::default()
        };
        let mut list = [
            m("kernel/z.ko.xz"),
            m("extra/x.ko"),
            m("kernel/b.ko.zst"),
            m("kernel/a.ko"),
        ];
        sort_by_order(&mut list, "kernel/z.ko\nkernel/b.ko\n");
        let paths: Vec<&str> = list.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "kernel/z.ko.xz",
                "kernel/b.ko.zst",
                "extra/x.ko",
                "kernel/a.ko"
            ]
        );
    }

    #[test]
    fn places() {
        assert_eq!(
            Place::of("./lib/modules/6.1.0-50-amd64/kernel/fs/ext4/ext4.ko"),
            Place::Module {
                version: "6.1.0-50-amd64",
                rel: "kernel/fs/ext4/ext4.ko"
            }
        );
        assert_eq!(
            Place::of("./usr/lib/modules/7.3.4+deb13-amd64/modules.builtin.modinfo"),
            Place::ModulesFile {
                version: "7.3.4+deb13-amd64",
                name: "modules.builtin.modinfo"
            }
        );
        assert_eq!(
            Place::of("/boot/config-6.1.0-50-amd64"),
            Place::BootConfig {
                version: "6.1.0-50-amd64"
            }
        );
        assert_eq!(
            Place::of("boot/vmlinuz-6.1.0-50-amd64"),
            Place::Image {
                version: "6.1.0-50-amd64"
            }
        );
        assert_eq!(
            Place::of("./usr/lib/modules/7.3.4+deb13-amd64/vmlinuz"),
            Place::Image {
                version: "7.3.4+deb13-amd64"
            }
        );
        assert_eq!(
            Place::of("usr/lib/firmware/iwlwifi-cc-a0-77.ucode"),
            Place::Firmware("iwlwifi-cc-a0-77.ucode")
        );
        for other in [
            "lib/modules/",
            "lib/modules/6.1/",
            "lib/modules/6.1/modules.dep",
            "lib/modules/6.1/build",
            "boot/config-",
            "lib/firmware/",
            "",
        ] {
            assert_eq!(Place::of(other), Place::Other, "{other}");
        }
    }

    #[test]
    fn optional_packages() {
        let m = |p: &str| ModuleInfo {
            package: Some(p.into()),
            ..Default::default()
        };
        assert!(m("kernel-modules-extra").in_optional_package());
        assert!(!m("kernel-modules").in_optional_package());
        assert!(!ModuleInfo::default().in_optional_package());
    }
}
