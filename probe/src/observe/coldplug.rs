//! Coldplug, as udev does it at boot: every device's modalias is resolved with the booted
//! kernel's own profile (kmod's rules) and the modules are loaded, dependencies first, with
//! `finit_module`; new devices appear as drivers bind (a USB controller brings its devices, a
//! USB disk its SCSI disk), so this repeats until no new modalias shows for a while.
//!
//! Most modules are not in the initramfs but on the stick's modules partition: their loads
//! wait until the modules in the initramfs (USB host controllers, USB storage, SCSI disks) have
//! brought the stick up, then run from there.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hcl_data::{ObservedError, ObservedErrorKind};
use hcl_kernel_engine::Profile;
use nix::kmod::{ModuleInitFlags, finit_module};

use crate::stick::disk::StickDisk;
use crate::stick::layout::{Encoding, ModuleIndex, StoredModule};

/// `MODULE_INIT_COMPRESSED_FILE` (Linux 6.4+): the kernel decompresses the module itself. Not
/// in nix's flag list yet.
const MODULE_INIT_COMPRESSED_FILE: u32 = 4;
/// Deepest sysfs folder searched for `modalias` files.
const MAX_DEPTH: usize = 48;

/// What coldplug did for one device (keyed by its `/sys/devices/...` path).
#[derive(Debug, Clone, Default)]
pub struct DeviceLoad {
    pub modalias: String,
    /// Modules the modalias resolved to that are loaded now (kmod's order).
    pub modules: Vec<String>,
    pub errors: Vec<ObservedError>,
}

/// Why a module is not loaded (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadError {
    /// The kernel's (or the stick's) error, negative as the kernel prints it.
    Failed(i32),
    /// It lies on the stick's modules partition, and the stick is not up yet.
    Waiting,
}

/// Loads modules by name, each once, dependencies first: from `lib/modules/<release>/` of the
/// initramfs, or from the stick's modules partition once the stick is [attached](Self::attach).
pub struct Loader<'a> {
    index: &'a ModuleIndex,
    dir: PathBuf,
    /// Module name -> result of its load (0 or the negative errno).
    done: BTreeMap<String, i32>,
    stick: Option<StickDisk>,
    sys: PathBuf,
    /// Module name -> the drivers (`bus/driver`) that appeared while it loaded. Read around
    /// each load because a driver registered without an owner (many ACPI drivers: `button`)
    /// has no `/sys/module/M/drivers` link, so sysfs alone cannot say which module has none.
    registered: BTreeMap<String, BTreeSet<String>>,
}

impl<'a> Loader<'a> {
    pub fn new(index: &'a ModuleIndex, root: &Path) -> Self {
        Loader {
            index,
            dir: root.join("lib/modules").join(&index.release),
            done: BTreeMap::new(),
            stick: None,
            sys: root.join("sys"),
            registered: BTreeMap::new(),
        }
    }

    /// Loaded modules that registered no driver on any bus while they loaded (efi_pstore: a
    /// pstore back end its alias loads for `platform:efivars`).
    pub fn without_driver(&self) -> BTreeSet<String> {
        self.registered
            .iter()
            .filter(|(_, drivers)| drivers.is_empty())
            .map(|(m, _)| m.clone())
            .collect()
    }

    /// The stick the stored modules are read from.
    pub fn attach(&mut self, stick: StickDisk) {
        self.stick = Some(stick);
    }

    pub fn stick(&self) -> Option<&StickDisk> {
        self.stick.as_ref()
    }

    pub fn into_stick(self) -> Option<StickDisk> {
        self.stick
    }

    /// How many modules were loaded successfully.
    pub fn loaded(&self) -> usize {
        self.done.values().filter(|r| **r == 0).count()
    }

    /// Loads `name` and what it needs; Ok also when it was loaded or built in already.
    pub fn load(&mut self, name: &str) -> Result<(), LoadError> {
        self.load_depth(name, 0)
    }

    fn load_depth(&mut self, name: &str, depth: usize) -> Result<(), LoadError> {
        if let Some(&r) = self.done.get(name) {
            return if r == 0 {
                Ok(())
            } else {
                Err(LoadError::Failed(r))
            };
        }
        // A dependency cycle cannot load anyway; kmod refuses it too.
        if depth > 64 {
            return Err(LoadError::Failed(-libc::ELOOP));
        }
        let Some(module) = self.index.modules.get(name) else {
            // Not a loadable module of this kernel: built in, or not on the stick.
            return Err(LoadError::Failed(-libc::ENOENT));
        };
        // Mark first: a cycle through this module ends at the mark.
        self.done.insert(name.to_owned(), -libc::EBUSY);
        let result = self.load_marked(name, module, depth);
        match result {
            // Tried again once the stick is up.
            Err(LoadError::Waiting) => self.done.remove(name),
            Err(LoadError::Failed(e)) => self.done.insert(name.to_owned(), e),
            Ok(()) => self.done.insert(name.to_owned(), 0),
        };
        result
    }

    fn load_marked(
        &mut self,
        name: &str,
        module: &crate::stick::layout::IndexedModule,
        depth: usize,
    ) -> Result<(), LoadError> {
        for pre in &module.softdep_pre {
            if self.index.modules.contains_key(pre)
                && self.load_depth(pre, depth + 1) == Err(LoadError::Waiting)
            {
                return Err(LoadError::Waiting);
            }
        }
        for dep in &module.depends {
            self.load_depth(dep, depth + 1)?;
        }
        let before = super::registered_drivers(&self.sys);
        let result = match module.stored {
            None => self.insert(&module.path).map_err(LoadError::Failed),
            Some(at) => match &self.stick {
                None => Err(LoadError::Waiting),
                Some(stick) => insert_stored(stick, at).map_err(LoadError::Failed),
            },
        };
        if result.is_ok() {
            let after = super::registered_drivers(&self.sys);
            let new = after.difference(&before).cloned().collect();
            self.registered.insert(name.to_owned(), new);
        }
        result
    }

    fn insert(&self, rel: &str) -> Result<(), i32> {
        let path = self.dir.join(rel);
        let file = File::open(&path).map_err(|e| -e.raw_os_error().unwrap_or(libc::EIO))?;
        let compressed = [".xz", ".zst", ".gz"].iter().any(|s| rel.ends_with(s));
        let flags = if compressed && self.index.kernel_decompresses {
            ModuleInitFlags::from_bits_retain(MODULE_INIT_COMPRESSED_FILE)
        } else {
            ModuleInitFlags::empty()
        };
        errno(finit_module(&file, c"", flags))
    }
}

/// Where a stored module the kernel unpacks itself is put for `finit_module` (it wants a file).
const STAGED_MODULE: &str = "/hcl/module.staged";

/// Loads a module from the stick's modules partition.
fn insert_stored(stick: &StickDisk, at: StoredModule) -> Result<(), i32> {
    let io = |e: std::io::Error| -e.raw_os_error().unwrap_or(libc::EIO);
    let bytes = stick.read_modules(at.offset, at.len).map_err(io)?;
    match at.encoding {
        Encoding::Zstd => {
            let plain = zstd::decode_all(&bytes[..]).map_err(|_| -libc::EBADMSG)?;
            errno(nix::kmod::init_module(&plain, c""))
        }
        Encoding::Kernel => {
            std::fs::write(STAGED_MODULE, &bytes).map_err(io)?;
            let file = File::open(STAGED_MODULE).map_err(io);
            let result = file.and_then(|f| {
                errno(finit_module(
                    &f,
                    c"",
                    ModuleInitFlags::from_bits_retain(MODULE_INIT_COMPRESSED_FILE),
                ))
            });
            let _ = std::fs::remove_file(STAGED_MODULE);
            result
        }
    }
}

/// A module syscall's result: loaded already counts as loaded.
fn errno(r: nix::Result<()>) -> Result<(), i32> {
    match r {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => Ok(()),
        Err(e) => Err(-(e as i32)),
    }
}

/// Every `modalias` under `/sys/devices` (`sys` = the sysfs mount): path of the device folder
/// (`/sys/devices/...`) and the alias.
pub fn modaliases(sys: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(&sys.join("devices"), 0, &mut out);
    out
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<(String, String)>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&entry.path(), depth + 1, out);
        } else if kind.is_file()
            && entry.file_name() == "modalias"
            && let Ok(text) = std::fs::read_to_string(entry.path())
        {
            let alias = text.trim();
            if !alias.is_empty() {
                out.push((dir.to_string_lossy().into_owned(), alias.to_owned()));
            }
        }
    }
}

/// How long coldplug waits.
#[derive(Debug, Clone, Copy)]
pub struct Settle {
    /// A round every `tick`.
    pub tick: Duration,
    /// Done after this long without a new modalias (and no load waiting for the stick).
    pub quiet: Duration,
    /// Loads waiting for the stick are given up after this long.
    pub stick_wait: Duration,
    /// Done after this long in any case.
    pub max: Duration,
}

/// Runs coldplug to the end: returns what was done per device. `find_stick` looks once for
/// the stick (the modules partition) while loads wait for it.
pub fn coldplug(
    sys: &Path,
    profile: &Profile,
    loader: &mut Loader<'_>,
    settle: Settle,
    find_stick: &dyn Fn() -> Option<StickDisk>,
    say: &dyn Fn(&str),
) -> BTreeMap<String, DeviceLoad> {
    let start = Instant::now();
    let mut devices: BTreeMap<String, DeviceLoad> = BTreeMap::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    // (device path, module) loads that wait for the stick.
    let mut waiting: Vec<(String, String)> = Vec::new();
    let mut last_new = Instant::now();
    loop {
        let mut new = 0;
        for (path, alias) in modaliases(sys) {
            if !seen.insert((path.clone(), alias.clone())) {
                continue;
            }
            new += 1;
            let resolution = profile.resolve(&alias);
            let entry = devices.entry(path.clone()).or_default();
            entry.modalias = alias;
            for module in &resolution.modules {
                if let Err(LoadError::Waiting) = load_for(entry, loader, module) {
                    waiting.push((path.clone(), module.clone()));
                }
            }
        }
        if !waiting.is_empty()
            && loader.stick().is_none()
            && let Some(stick) = find_stick()
        {
            say(&format!(
                "stick up after {:.1} s: loading {} module(s) from it",
                start.elapsed().as_secs_f64(),
                waiting.len()
            ));
            loader.attach(stick);
        }
        if loader.stick().is_some() && !waiting.is_empty() {
            for (path, module) in std::mem::take(&mut waiting) {
                let entry = devices.entry(path.clone()).or_default();
                if let Err(LoadError::Waiting) = load_for(entry, loader, &module) {
                    waiting.push((path, module));
                }
            }
            // Each load can bring devices: count it as news.
            new += 1;
        }
        if new > 0 {
            last_new = Instant::now();
            say(&format!(
                "{} devices seen, {} modules loaded",
                seen.len(),
                loader.loaded()
            ));
        }
        let stick_given_up = loader.stick().is_none() && start.elapsed() >= settle.stick_wait;
        if (last_new.elapsed() >= settle.quiet && (waiting.is_empty() || stick_given_up))
            || start.elapsed() >= settle.max
        {
            if !waiting.is_empty() {
                say(&format!(
                    "{} module load(s) still wait for the stick: not loaded",
                    waiting.len()
                ));
            }
            break;
        }
        std::thread::sleep(settle.tick);
    }
    devices
}

/// Loads `module` for the device `entry`, noting the module or the failure on it.
fn load_for(
    entry: &mut DeviceLoad,
    loader: &mut Loader<'_>,
    module: &str,
) -> Result<(), LoadError> {
    let result = loader.load(module);
    match result {
        Ok(()) => {
            if !entry.modules.iter().any(|m| m == module) {
                entry.modules.push(module.to_owned());
            }
        }
        Err(LoadError::Failed(errno)) => {
            // One failure per module and device is enough.
            let e = ObservedError {
                kind: ObservedErrorKind::ModuleLoad,
                driver: module.to_owned(),
                errno,
            };
            if !entry.errors.contains(&e) {
                entry.errors.push(e);
            }
        }
        Err(LoadError::Waiting) => {}
    }
    result
}

/// The module behind a device's bound driver: `DEV/driver` -> `.../drivers/NAME/module`.
pub fn driver_module(device_dir: &Path) -> Option<String> {
    let module = std::fs::read_link(device_dir.join("driver/module")).ok()?;
    Some(module.file_name()?.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stick::layout::IndexedModule;

    fn index() -> ModuleIndex {
        let m = |deps: &[&str]| IndexedModule {
            path: "x.ko".into(),
            stored: None,
            depends: deps.iter().map(|s| s.to_string()).collect(),
            softdep_pre: vec![],
        };
        let mut index = ModuleIndex::default();
        index.modules.insert("a".into(), m(&["b"]));
        index.modules.insert("b".into(), m(&["a"]));
        index
    }

    #[test]
    fn dependency_cycles_and_unknown_modules_end() {
        let index = index();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut loader = Loader::new(&index, dir.path());
        // a -> b -> a: the mark stops the cycle; nothing is inserted (no file).
        assert!(loader.load("a").is_err());
        assert_eq!(loader.load("nope"), Err(LoadError::Failed(-libc::ENOENT)));
        assert_eq!(loader.loaded(), 0);
    }

    #[test]
    fn modules_on_the_stick_wait_for_it_and_so_do_their_users() {
        let mut index = ModuleIndex::default();
        index.modules.insert(
            "on_stick".into(),
            IndexedModule {
                path: "kernel/x.ko".into(),
                stored: Some(StoredModule {
                    offset: 0,
                    len: 10,
                    encoding: Encoding::Zstd,
                }),
                ..Default::default()
            },
        );
        index.modules.insert(
            "user".into(),
            IndexedModule {
                path: "kernel/y.ko".into(),
                depends: vec!["on_stick".into()],
                ..Default::default()
            },
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut loader = Loader::new(&index, dir.path());
        assert_eq!(loader.load("on_stick"), Err(LoadError::Waiting));
        assert_eq!(loader.load("user"), Err(LoadError::Waiting));
        // Nothing is remembered as failed: both are tried again once the stick is up.
        assert_eq!(loader.load("user"), Err(LoadError::Waiting));
        assert_eq!(loader.loaded(), 0);
        let mut entry = DeviceLoad::default();
        assert_eq!(
            load_for(&mut entry, &mut loader, "user"),
            Err(LoadError::Waiting)
        );
        assert!(entry.errors.is_empty() && entry.modules.is_empty());
    }

    #[test]
    fn modaliases_are_found_below_devices() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dev = dir.path().join("devices/pci0000:00/0000:00:02.0");
        std::fs::create_dir_all(&dev).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dev.join("modalias"), "pci:v00008086d000010D3sv*\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let found = modaliases(dir.path());
        assert_eq!(found.len(), 1);
        assert!(found[0].0.ends_with("0000:00:02.0"));
        assert_eq!(found[0].1, "pci:v00008086d000010D3sv*");
    }
}
