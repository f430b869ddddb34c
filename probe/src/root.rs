//! Reading a machine root (`/` or a captured tree) with warnings instead of failures, and
//! optionally recording every file read so that `capture` copies exactly what the probe uses.
//!
//! Every path is resolved inside the root as a chroot would ([`crate::chroot`]): a link that
//! points out of a captured tree is a warning, never the content of a file of the machine the
//! probe runs on.

use std::cell::RefCell;
use std::fs;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, OFlags};

use crate::chroot::{Chroot, Resolver};
use crate::error::Warning;

/// Sysfs attributes are at most a page; anything far bigger is not an attribute.
const ATTR_LIMIT: u64 = 64 * 1024;

/// What a read left behind, for `capture`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    File {
        rel: String,
        data: Vec<u8>,
    },
    Link {
        rel: String,
        target: String,
    },
    /// A file whose presence (not content) was used, e.g. an ACPI table name.
    Marker {
        rel: String,
    },
    Dir {
        rel: String,
    },
}

/// Kind of a directory entry, without following symlinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    Symlink,
    Other,
}

/// A machine root: every path the probe reads is relative to it (`sys/...`, `proc/...`).
#[derive(Debug)]
pub struct Root {
    base: PathBuf,
    /// The open root, or why it could not be opened (every read then finds nothing).
    tree: Result<Chroot, ErrorKind>,
    warnings: RefCell<Vec<Warning>>,
    record: Option<RefCell<Vec<Recorded>>>,
}

impl Root {
    pub fn new(base: impl Into<PathBuf>) -> Self {
        let base = base.into();
        Root {
            tree: Chroot::open(&base).map_err(|e| e.kind()),
            base,
            warnings: RefCell::new(Vec::new()),
            record: None,
        }
    }

    /// [`Root::new`] resolving paths with a chosen [`Resolver`] (tests of the user-space walk).
    pub fn with_resolver(base: impl Into<PathBuf>, how: Resolver) -> Self {
        let base = base.into();
        Root {
            tree: Chroot::open_with(&base, how).map_err(|e| e.kind()),
            ..Root::new(base)
        }
    }

    /// How paths are resolved here; None when the root cannot be opened.
    pub fn resolver(&self) -> Option<Resolver> {
        self.tree.as_ref().ok().map(Chroot::resolver)
    }

    fn tree(&self) -> std::io::Result<&Chroot> {
        self.tree.as_ref().map_err(|k| std::io::Error::from(*k))
    }

    /// Opens `rel` inside the root with `flags` (plus close-on-exec).
    fn open(&self, rel: &str, flags: OFlags) -> std::io::Result<fs::File> {
        Ok(fs::File::from(self.tree()?.open_at(rel, flags)?))
    }

    /// Opens a regular file inside the root without blocking: a FIFO planted in a tree must
    /// not hang the probe. The type is checked first on an `O_PATH` handle, which opens
    /// nothing: opening a device node has effects of its own (found from outside: a planted
    /// FIFO's writer was released, and a planted `/dev/watchdog` node would arm the watchdog of
    /// the machine running the scan). It is checked again on what was opened, in case the name
    /// changed in between.
    fn open_regular(&self, rel: &str) -> std::io::Result<fs::File> {
        if !self.open(rel, OFlags::PATH)?.metadata()?.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        let file = self.open(rel, OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY)?;
        if !file.metadata()?.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        Ok(file)
    }

    /// Why `rel` was not found, when a link on the way points out of the root.
    fn warn_missing(&self, rel: &str) {
        let Ok(tree) = self.tree() else { return };
        if let Some(out) = tree.out_link(rel) {
            self.warn(
                rel,
                format!(
                    "symlink {} -> {} points outside the root: not followed (links are \
                     resolved inside the root, as in a chroot, where this one leads nowhere)",
                    out.rel, out.target
                ),
            );
        } else if let Ok((dir, name)) = tree.parent_of(rel)
            && rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW).is_ok()
        {
            self.warn(rel, "dangling symlink; ignored");
        }
    }

    /// A root that remembers every file it reads (for `capture`).
    pub fn recording(base: impl Into<PathBuf>) -> Self {
        Root {
            record: Some(RefCell::new(Vec::new())),
            ..Root::new(base)
        }
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    pub fn warn(&self, subject: impl Into<String>, message: impl Into<String>) {
        self.warnings.borrow_mut().push(Warning {
            subject: subject.into(),
            message: message.into(),
        });
    }

    pub fn take_warnings(&self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings.borrow_mut())
    }

    pub fn take_recorded(&self) -> Vec<Recorded> {
        self.record
            .as_ref()
            .map(|r| std::mem::take(&mut *r.borrow_mut()))
            .unwrap_or_default()
    }

    fn push(&self, rec: Recorded) {
        if let Some(r) = &self.record {
            r.borrow_mut().push(rec);
        }
    }

    /// Raw bytes of a small file; None when it does not exist (silently) or cannot be read
    /// (with a warning).
    pub fn read_bytes(&self, rel: &str) -> Option<Vec<u8>> {
        self.read_bytes_limited(rel, ATTR_LIMIT)
    }

    /// The first `n` bytes of a file (fewer when it is shorter), without a warning for the
    /// rest, which is never read: PCI configuration space, whose bytes past 256 are each a
    /// slow hardware access and hold the Device Serial Number capability.
    pub fn read_prefix(&self, rel: &str, n: usize) -> Option<Vec<u8>> {
        let result = self.open_regular(rel).and_then(|f| {
            let mut buf = Vec::with_capacity(n);
            f.take(n as u64).read_to_end(&mut buf)?;
            Ok(buf)
        });
        match result {
            Ok(buf) => {
                self.push(Recorded::File {
                    rel: rel.to_owned(),
                    data: buf.clone(),
                });
                Some(buf)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => {
                self.warn(rel, format!("cannot read: {e}"));
                None
            }
        }
    }

    fn read_bytes_limited(&self, rel: &str, limit: u64) -> Option<Vec<u8>> {
        let result = self.open_regular(rel).and_then(|f| {
            let mut buf = Vec::new();
            f.take(limit + 1).read_to_end(&mut buf)?;
            Ok(buf)
        });
        match result {
            Ok(mut buf) => {
                if buf.len() as u64 > limit {
                    self.warn(
                        rel,
                        format!("larger than {limit} bytes; only the start is used"),
                    );
                    buf.truncate(limit as usize);
                }
                self.push(Recorded::File {
                    rel: rel.to_owned(),
                    data: buf.clone(),
                });
                Some(buf)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.warn_missing(rel);
                None
            }
            // A directory, FIFO or device where a file should be, or no permission.
            Err(e) => {
                self.warn(rel, format!("cannot read: {e}"));
                None
            }
        }
    }

    /// Up to `limit` bytes of a file that is not part of the machine's state and so is not
    /// recorded for `capture` (the hwdata id databases). None, silently, when missing.
    pub fn read_file(&self, rel: &str, limit: u64) -> Option<Vec<u8>> {
        let file = self.open_regular(rel).ok()?;
        let mut buf = Vec::new();
        file.take(limit).read_to_end(&mut buf).ok()?;
        Some(buf)
    }

    /// A sysfs attribute as trimmed text. Bytes that are not printable text are written as
    /// `\xNN` (with a warning) so nothing is silently lost or mangled.
    pub fn read_attr(&self, rel: &str) -> Option<String> {
        let bytes = self.read_bytes(rel)?;
        let (text, clean) = printable_line(&bytes);
        if !clean {
            self.warn(
                rel,
                "contains bytes that are not printable text; shown escaped",
            );
        }
        Some(text)
    }

    /// Lines of a text file up to (not including) the first empty line after some content:
    /// the first processor of /proc/cpuinfo without reading all of them.
    pub fn read_first_block(&self, rel: &str, limit_lines: usize) -> Option<Vec<String>> {
        let file = match self.open_regular(rel) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.warn_missing(rel);
                return None;
            }
            Err(e) => {
                self.warn(rel, format!("cannot read: {e}"));
                return None;
            }
        };
        let mut lines = Vec::new();
        for line in BufReader::new(file.take(4 * 1024 * 1024)).split(b'\n') {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    self.warn(rel, format!("cannot read: {e}"));
                    break;
                }
            };
            let (text, _) = printable(&line);
            if text.trim().is_empty() {
                if lines.is_empty() {
                    continue;
                }
                break;
            }
            lines.push(text);
            if lines.len() >= limit_lines {
                break;
            }
        }
        Some(lines)
    }

    /// Record a derived, filtered form of a file for capture (cpuinfo, meminfo, os-release).
    pub fn record_filtered(&self, rel: &str, data: Vec<u8>) {
        self.push(Recorded::File {
            rel: rel.to_owned(),
            data,
        });
    }

    /// Last path component of a symlink's target (`driver` → `ahci`), and the whole target.
    /// Only the link's text is read, not what it points to.
    pub fn read_link(&self, rel: &str) -> Option<String> {
        match self.tree().and_then(|t| t.read_link(rel)) {
            Ok(target) => {
                self.push(Recorded::Link {
                    rel: rel.to_owned(),
                    target: target.clone(),
                });
                Some(target)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                self.warn(rel, "expected a symlink, found a file");
                None
            }
            Err(e) => {
                self.warn(rel, format!("cannot read link: {e}"));
                None
            }
        }
    }

    /// True when the path exists (following symlinks inside the root); recorded as a marker
    /// or directory.
    pub fn exists(&self, rel: &str) -> bool {
        match self.open(rel, OFlags::PATH).and_then(|f| f.metadata()) {
            Ok(meta) => {
                self.push(if meta.is_dir() {
                    Recorded::Dir {
                        rel: rel.to_owned(),
                    }
                } else {
                    Recorded::Marker {
                        rel: rel.to_owned(),
                    }
                });
                true
            }
            Err(_) => false,
        }
    }

    /// Entries of a directory, sorted by name, without following symlinks. None when the
    /// directory does not exist; a warning when it cannot be read.
    pub fn list_dir(&self, rel: &str) -> Option<Vec<(String, EntryKind)>> {
        let dir = self
            .tree()
            .and_then(|t| t.open_at(rel, OFlags::RDONLY | OFlags::DIRECTORY));
        let dir = match dir {
            Ok(d) => d,
            Err(e) if e.kind() == ErrorKind::NotFound => return None,
            Err(e) => {
                self.warn(rel, format!("cannot list directory: {e}"));
                return None;
            }
        };
        let mut entries = match rustix::fs::Dir::new(dir) {
            Ok(d) => d,
            Err(e) => {
                self.warn(rel, format!("cannot list directory: {e}"));
                return None;
            }
        };
        let mut out = Vec::new();
        while let Some(entry) = entries.read() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.warn(rel, format!("cannot list directory: {e}"));
                    break;
                }
            };
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = String::from_utf8_lossy(name).into_owned();
            let mut ty = entry.file_type();
            if ty == FileType::Unknown {
                // Some file systems do not say the type in the listing.
                ty = entries
                    .fd()
                    .and_then(|fd| rustix::fs::statat(fd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW))
                    .map_or(FileType::Unknown, |st| FileType::from_raw_mode(st.st_mode));
            }
            let kind = match ty {
                FileType::Symlink => EntryKind::Symlink,
                FileType::Directory => EntryKind::Dir,
                FileType::RegularFile => EntryKind::File,
                _ => EntryKind::Other,
            };
            out.push((name, kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Some(out)
    }
}

/// Text with non-printable bytes escaped as `\xNN`; the flag says whether the input was clean.
pub fn printable(bytes: &[u8]) -> (String, bool) {
    let trimmed = trim_ascii(bytes);
    match std::str::from_utf8(trimmed) {
        Ok(s) if !s.chars().any(|c| c.is_control() && c != '\t') => (s.to_owned(), true),
        _ => {
            let mut out = String::with_capacity(trimmed.len() * 2);
            for &b in trimmed {
                if (0x20..0x7f).contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            (out, false)
        }
    }
}

/// [`printable`] for a one-line value (an attribute, a modalias, a field of a text file): a
/// tab is escaped as well, since the report's one-line fields refuse every control character
/// (a tab in `/etc/os-release` made an invalid report).
pub fn printable_line(bytes: &[u8]) -> (String, bool) {
    let (text, clean) = printable(bytes);
    if text.contains('\t') {
        (text.replace('\t', "\\x09"), false)
    } else {
        (text, clean)
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    bytes.get(start..end).unwrap_or_default()
}
