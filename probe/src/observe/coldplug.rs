//! Coldplug, as udev does it at boot: every device's modalias is resolved with the booted
//! kernel's own profile (kmod's rules) and the modules are loaded, dependencies first, with
//! `finit_module`; new devices appear as drivers bind (a USB controller brings its devices, a
//! USB disk its SCSI disk), so this repeats until no new modalias shows for a while.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hcl_data::{ObservedError, ObservedErrorKind};
use hcl_kernel_engine::Profile;
use nix::kmod::{ModuleInitFlags, finit_module};

use crate::stick::layout::ModuleIndex;

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

/// Loads modules from `lib/modules/<release>/` by name, each once, dependencies first.
pub struct Loader<'a> {
    index: &'a ModuleIndex,
    dir: PathBuf,
    /// Module name -> result of its load (0 or the negative errno).
    done: BTreeMap<String, i32>,
}

impl<'a> Loader<'a> {
    pub fn new(index: &'a ModuleIndex, root: &Path) -> Self {
        Loader {
            index,
            dir: root.join("lib/modules").join(&index.release),
            done: BTreeMap::new(),
        }
    }

    /// How many modules were loaded successfully.
    pub fn loaded(&self) -> usize {
        self.done.values().filter(|r| **r == 0).count()
    }

    /// Loads `name` and what it needs; Ok also when it was loaded or built in already.
    pub fn load(&mut self, name: &str) -> Result<(), i32> {
        self.load_depth(name, 0)
    }

    fn load_depth(&mut self, name: &str, depth: usize) -> Result<(), i32> {
        if let Some(&r) = self.done.get(name) {
            return if r == 0 { Ok(()) } else { Err(r) };
        }
        // A dependency cycle cannot load anyway; kmod refuses it too.
        if depth > 64 {
            return Err(-libc::ELOOP);
        }
        let Some(module) = self.index.modules.get(name) else {
            // Not a loadable module of this kernel: built in, or not on the stick.
            return Err(-libc::ENOENT);
        };
        // Mark first: a cycle through this module ends at the mark.
        self.done.insert(name.to_owned(), -libc::EBUSY);
        for pre in module.softdep_pre.clone() {
            if self.index.modules.contains_key(&pre) {
                let _ = self.load_depth(&pre, depth + 1);
            }
        }
        for dep in module.depends.clone() {
            if let Err(e) = self.load_depth(&dep, depth + 1) {
                self.done.insert(name.to_owned(), e);
                return Err(e);
            }
        }
        let result = self.insert(&module.path.clone());
        self.done.insert(name.to_owned(), result.err().unwrap_or(0));
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
        match finit_module(&file, c"", flags) {
            Ok(()) => Ok(()),
            Err(nix::errno::Errno::EEXIST) => Ok(()),
            Err(e) => Err(-(e as i32)),
        }
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
    /// Done after this long without a new modalias.
    pub quiet: Duration,
    /// Done after this long in any case.
    pub max: Duration,
}

/// Runs coldplug to the end: returns what was done per device.
pub fn coldplug(
    sys: &Path,
    profile: &Profile,
    loader: &mut Loader<'_>,
    settle: Settle,
    say: &dyn Fn(&str),
) -> BTreeMap<String, DeviceLoad> {
    let start = Instant::now();
    let mut devices: BTreeMap<String, DeviceLoad> = BTreeMap::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut last_new = Instant::now();
    loop {
        let mut new = 0;
        for (path, alias) in modaliases(sys) {
            if !seen.insert((path.clone(), alias.clone())) {
                continue;
            }
            new += 1;
            let resolution = profile.resolve(&alias);
            let entry = devices.entry(path).or_default();
            entry.modalias = alias;
            for module in &resolution.modules {
                match loader.load(module) {
                    Ok(()) => {
                        if !entry.modules.contains(module) {
                            entry.modules.push(module.clone());
                        }
                    }
                    Err(errno) => {
                        // One failure per module and device is enough.
                        let e = ObservedError {
                            kind: ObservedErrorKind::ModuleLoad,
                            driver: module.clone(),
                            errno,
                        };
                        if !entry.errors.contains(&e) {
                            entry.errors.push(e);
                        }
                    }
                }
            }
        }
        if new > 0 {
            last_new = Instant::now();
            say(&format!(
                "{} devices seen, {} modules loaded",
                seen.len(),
                loader.loaded()
            ));
        }
        if last_new.elapsed() >= settle.quiet || start.elapsed() >= settle.max {
            break;
        }
        std::thread::sleep(settle.tick);
    }
    devices
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
        assert_eq!(loader.load("nope"), Err(-libc::ENOENT));
        assert_eq!(loader.loaded(), 0);
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
