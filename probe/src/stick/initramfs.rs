//! One kernel's initramfs: a newc cpio archive (the `cpio` crate) holding the static
//! `hcl-probe` as `/init`, the plan, the kernel's own profile, its device modules and the
//! firmware given, compressed with what that kernel's config says it can unpack.

use std::io::Write;

use cpio::newc::{Builder, trailer};

/// Which compression the kernel unpacks (`CONFIG_RD_ZSTD`, `CONFIG_RD_GZIP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Zstd,
    Gzip,
    None,
}

impl Compression {
    /// The best one `config` (the kernel's `.config` text) enables; zstd when unknown, as every
    /// Debian and RHEL kernel since 5.x has it.
    pub fn for_config(config: Option<&str>) -> Self {
        let Some(config) = config else {
            return Compression::Zstd;
        };
        let set = |key: &str| config.lines().any(|l| l.trim() == format!("{key}=y"));
        if set("CONFIG_RD_ZSTD") {
            Compression::Zstd
        } else if set("CONFIG_RD_GZIP") {
            Compression::Gzip
        } else {
            Compression::None
        }
    }
}

/// An archive being written in memory.
pub struct Archive {
    out: Vec<u8>,
    ino: u32,
    dirs: std::collections::BTreeSet<String>,
}

const DIR: u32 = 0o040_755;
const FILE: u32 = 0o100_644;
const EXEC: u32 = 0o100_755;
const CHAR: u32 = 0o020_600;

impl Archive {
    pub fn new() -> Self {
        let mut a = Archive {
            out: Vec::new(),
            ino: 1,
            dirs: Default::default(),
        };
        for d in ["dev", "proc", "sys", "hcl"] {
            a.dir(d);
        }
        // The kernel opens /dev/console for the init's output before devtmpfs is mounted.
        a.entry("dev/console", CHAR, &[], (5, 1));
        a
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        self.ino += 1;
        let mut w = Builder::new(name)
            .ino(self.ino)
            .mode(mode)
            .nlink(if mode == DIR { 2 } else { 1 })
            .rdev_major(rdev.0)
            .rdev_minor(rdev.1)
            .write(&mut self.out, u32::try_from(data.len()).unwrap_or(u32::MAX));
        // Writing into a Vec cannot fail.
        let _ = w.write_all(data);
        let _ = w.finish();
    }

    /// A folder and its parents, each once.
    pub fn dir(&mut self, path: &str) {
        let mut at = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(part);
            if self.dirs.insert(at.clone()) {
                let name = at.clone();
                self.entry(&name, DIR, &[], (0, 0));
            }
        }
    }

    /// A file (its folders made first).
    pub fn file(&mut self, path: &str, data: &[u8], executable: bool) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.entry(path, if executable { EXEC } else { FILE }, data, (0, 0));
    }

    /// The finished archive, compressed.
    pub fn finish(mut self, compression: Compression) -> std::io::Result<Vec<u8>> {
        let out = trailer(std::mem::take(&mut self.out))?;
        match compression {
            Compression::None => Ok(out),
            Compression::Zstd => {
                let mut enc = zstd::Encoder::new(Vec::new(), 6)?;
                // The kernel's zstd unpacker needs the content size or a bounded window.
                enc.include_checksum(true)?;
                enc.write_all(&out)?;
                enc.finish()
            }
            Compression::Gzip => {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(&out)?;
                enc.finish()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_reads_back_with_dirs_before_files() {
        let mut a = Archive::new();
        a.file("lib/modules/6.1/kernel/x.ko", b"abc", false);
        a.file("init", b"\x7fELF", true);
        let bytes = a.finish(Compression::None).unwrap();
        let mut names = Vec::new();
        let mut r = std::io::Cursor::new(bytes);
        loop {
            let entry = cpio::NewcReader::new(r).unwrap();
            if entry.entry().is_trailer() {
                break;
            }
            names.push((entry.entry().name().to_owned(), entry.entry().mode()));
            r = entry.finish().unwrap();
        }
        let pos = |n: &str| names.iter().position(|(x, _)| x == n).unwrap();
        assert!(pos("lib/modules/6.1") < pos("lib/modules/6.1/kernel/x.ko"));
        assert_eq!(names[pos("init")].1, EXEC);
        assert_eq!(names[pos("dev/console")].1, CHAR);
    }

    #[test]
    fn compression_follows_the_kernel_config() {
        assert_eq!(
            Compression::for_config(Some("CONFIG_RD_GZIP=y\n# CONFIG_RD_ZSTD is not set\n")),
            Compression::Gzip
        );
        assert_eq!(
            Compression::for_config(Some("CONFIG_RD_ZSTD=y\n")),
            Compression::Zstd
        );
    }
}
