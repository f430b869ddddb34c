//! A directory: `lib/modules/<version>` itself, or a root holding `lib/modules/<version>` or
//! `usr/lib/modules/<version>` (an extracted package or an installed system).

use std::fs;
use std::path::{Path, PathBuf};

use super::decompress::{self, MAX_MODULE_SIZE};
use super::{Collector, Counting, Error, Job, MAX_TEXT_FILE, Pool, Progress};

/// Directories deeper than this below `lib/modules/<version>` are not searched.
const MAX_DEPTH: usize = 32;

pub(super) struct Tree {
    /// `.../lib/modules/<version>`.
    modules_dir: PathBuf,
    version: String,
    /// The root given, when one was (its `boot/` and `lib/firmware/` are read too).
    root: Option<PathBuf>,
    /// Module files found, relative to `modules_dir`, with their sizes.
    files: Vec<(String, u64)>,
    pub(super) size: u64,
}

/// True when `dir` looks like a `lib/modules/<version>` directory (or a text folder of depmod
/// output, plain or compressed, which `scan` then refuses by name).
fn is_modules_dir(dir: &Path) -> bool {
    dir.join("kernel").exists()
        || ["modules.builtin", "modules.order", "modules.dep"]
            .iter()
            .any(|n| crate::import::data_file(dir, n).is_some())
}

impl Tree {
    pub(super) fn locate(path: &Path) -> Result<Self, Error> {
        if is_modules_dir(path) {
            let version = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| Error::bad(path, "cannot tell the kernel version from the path"))?;
            return Self::scan(path.to_owned(), version, None);
        }
        let mut found: Vec<(PathBuf, String)> = Vec::new();
        let mut seen = Vec::new();
        for sub in ["usr/lib/modules", "lib/modules"] {
            let dir = path.join(sub);
            // With merged /usr, lib/modules and usr/lib/modules are the same directory.
            let Ok(canonical) = dir.canonicalize() else {
                continue;
            };
            if seen.contains(&canonical) {
                continue;
            }
            seen.push(canonical);
            let entries = fs::read_dir(&dir).map_err(Error::io(&dir))?;
            for entry in entries {
                let entry = entry.map_err(Error::io(&dir))?;
                let p = entry.path();
                if p.is_dir() && is_modules_dir(&p) {
                    found.push((p, entry.file_name().to_string_lossy().into_owned()));
                }
            }
        }
        match found.len() {
            0 => Err(Error::bad(
                path,
                "no kernel here: neither a lib/modules/<version> directory nor a root holding one",
            )),
            1 => {
                let (dir, version) = found.remove(0);
                Self::scan(dir, version, Some(path.to_owned()))
            }
            _ => {
                let versions: Vec<&str> = found.iter().map(|(_, v)| v.as_str()).collect();
                Err(Error::bad(
                    path,
                    format!(
                        "holds several kernels ({}): give one lib/modules/<version> directory",
                        versions.join(", ")
                    ),
                ))
            }
        }
    }

    fn scan(modules_dir: PathBuf, version: String, root: Option<PathBuf>) -> Result<Self, Error> {
        let mut files = Vec::new();
        walk(&modules_dir, "", 0, &mut |rel, size| {
            if super::is_module_file(rel) {
                files.push((rel.to_owned(), size));
            }
        })?;
        // Text folders such as data/kernel-data's have depmod output but no modules: they have
        // their own importer, and their folder name is no kernel version.
        if files.is_empty() && crate::import::data_file(&modules_dir, "modules.alias").is_some() {
            return Err(Error::bad(
                &modules_dir,
                "holds depmod output (modules.alias) but no .ko files: an extracted data folder, \
                 not a module tree",
            ));
        }
        files.sort();
        let size = files.iter().map(|(_, s)| s).sum();
        Ok(Self {
            modules_dir,
            version,
            root,
            files,
            size,
        })
    }

    pub(super) fn import(
        &self,
        _given: &Path,
        collector: &mut Collector,
        pool: &Pool<'_>,
        progress: &Progress<'_>,
    ) -> Result<(), Error> {
        let version = self.version.as_str();
        for (rel, _) in &self.files {
            let path = self.modules_dir.join(rel);
            let file = hcl_kernel_engine::fsio::open_regular(&path).map_err(Error::io(&path))?;
            let counting = Counting {
                inner: file,
                progress,
            };
            let bytes =
                decompress::read_limited(counting, MAX_MODULE_SIZE).map_err(Error::io(&path))?;
            collector.saw_version(version, &self.modules_dir);
            collector.keep_module(rel, &bytes);
            pool.submit(Job {
                source: path,
                inner: String::new(),
                rel: rel.clone(),
                package: None,
                bytes,
            })?;
        }
        if let Some(kept) = &mut collector.kept {
            let beside = self.modules_dir.join("vmlinuz");
            let boot = self
                .root
                .as_ref()
                .map(|r| r.join("boot").join(format!("vmlinuz-{version}")));
            for path in std::iter::once(beside).chain(boot) {
                if path.is_file() {
                    let file =
                        hcl_kernel_engine::fsio::open_regular(&path).map_err(Error::io(&path))?;
                    kept.image =
                        Some(decompress::read_limited(file, 256 << 20).map_err(Error::io(&path))?);
                    break;
                }
            }
        }
        for name in [
            "modules.builtin",
            "modules.builtin.modinfo",
            "modules.order",
            "config",
        ] {
            let path = self.modules_dir.join(name);
            if let Some(bytes) = read_text(&path)? {
                collector.saw_version(version, &self.modules_dir);
                collector.modules_file(version, name, bytes, None);
            }
        }
        // The config outside the tree: <root>/boot, or /boot beside a /lib/modules/<version> given
        // directly (lib/modules/<version> or usr/lib/modules/<version> below that root).
        let roots: Vec<PathBuf> = match &self.root {
            Some(root) => vec![root.clone()],
            None => [3, 4]
                .iter()
                .filter_map(|&n| self.modules_dir.ancestors().nth(n).map(Path::to_path_buf))
                .collect(),
        };
        if !collector.configs.contains_key(version) {
            for root in &roots {
                let path = root.join("boot").join(format!("config-{version}"));
                if let Some(bytes) = read_text(&path)? {
                    collector.modules_file(version, "config", bytes, None);
                    break;
                }
            }
        }
        if let Some(root) = &self.root {
            let mut seen = Vec::new();
            for sub in ["usr/lib/firmware", "lib/firmware"] {
                let dir = root.join(sub);
                let Ok(canonical) = dir.canonicalize() else {
                    continue;
                };
                if seen.contains(&canonical) {
                    continue;
                }
                seen.push(canonical);
                walk(&dir, "", 0, &mut |rel, _| {
                    collector.firmware.insert(rel.to_owned());
                })?;
            }
        }
        Ok(())
    }
}

/// A small text file's bytes, or `None` when it does not exist.
fn read_text(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match hcl_kernel_engine::fsio::open_regular(path) {
        Ok(f) => decompress::read_limited(f, MAX_TEXT_FILE)
            .map(Some)
            .map_err(Error::io(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path)(e)),
    }
}

/// Calls `f(relative path, size)` for every file and symlink below `dir`, without following
/// symlinks (`build` and `source` point into kernel headers).
fn walk(dir: &Path, rel: &str, depth: usize, f: &mut dyn FnMut(&str, u64)) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let entries = fs::read_dir(dir).map_err(Error::io(dir))?;
    let mut list = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io(dir))?;
        let kind = entry.file_type().map_err(Error::io(&entry.path()))?;
        list.push((
            entry.file_name().to_string_lossy().into_owned(),
            kind,
            entry,
        ));
    }
    list.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, kind, entry) in list {
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if kind.is_dir() {
            walk(&entry.path(), &child, depth + 1, f)?;
        } else if kind.is_symlink() {
            // Symlinked modules are read through their target; firmware names count as files.
            if !super::is_module_file(&child) {
                f(&child, 0);
            }
        } else if kind.is_file() {
            let size = entry.metadata().map_err(Error::io(&entry.path()))?.len();
            f(&child, size);
        }
    }
    Ok(())
}
