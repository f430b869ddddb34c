//! Reading a machine root (`/` or a captured tree) with warnings instead of failures, and
//! optionally recording every file read so that `capture` copies exactly what the probe uses.

use std::cell::RefCell;
use std::fs;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

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
    warnings: RefCell<Vec<Warning>>,
    record: Option<RefCell<Vec<Recorded>>>,
}

impl Root {
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Root {
            base: base.into(),
            warnings: RefCell::new(Vec::new()),
            record: None,
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

    pub fn path(&self, rel: &str) -> PathBuf {
        self.base.join(rel)
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
        let path = self.path(rel);
        let result = open_regular(&path).and_then(|f| {
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
        let path = self.path(rel);
        let result = open_regular(&path).and_then(|f| {
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
                if fs::symlink_metadata(&path).is_ok() {
                    self.warn(rel, "dangling symlink; ignored");
                }
                None
            }
            // A directory, FIFO or device where a file should be, or no permission.
            Err(e) => {
                self.warn(rel, format!("cannot read: {e}"));
                None
            }
        }
    }

    /// A sysfs attribute as trimmed text. Bytes that are not printable text are written as
    /// `\xNN` (with a warning) so nothing is silently lost or mangled.
    pub fn read_attr(&self, rel: &str) -> Option<String> {
        let bytes = self.read_bytes(rel)?;
        let (text, clean) = printable(&bytes);
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
        let path = self.path(rel);
        let file = match open_regular(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return None,
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
    pub fn read_link(&self, rel: &str) -> Option<String> {
        let path = self.path(rel);
        match fs::read_link(&path) {
            Ok(target) => {
                let target = target.to_string_lossy().into_owned();
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

    /// True when the path exists (following symlinks); recorded as a marker or directory.
    pub fn exists(&self, rel: &str) -> bool {
        match fs::metadata(self.path(rel)) {
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
        let path = self.path(rel);
        let iter = match fs::read_dir(&path) {
            Ok(i) => i,
            Err(e) if e.kind() == ErrorKind::NotFound => return None,
            Err(e) => {
                self.warn(rel, format!("cannot list directory: {e}"));
                return None;
            }
        };
        let mut out = Vec::new();
        for entry in iter {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.warn(rel, format!("cannot list directory: {e}"));
                    continue;
                }
            };
            let kind = match entry.file_type() {
                Ok(t) if t.is_symlink() => EntryKind::Symlink,
                Ok(t) if t.is_dir() => EntryKind::Dir,
                Ok(t) if t.is_file() => EntryKind::File,
                _ => EntryKind::Other,
            };
            out.push((entry.file_name().to_string_lossy().into_owned(), kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Some(out)
    }
}

/// Open a regular file without blocking: a FIFO planted in a tree must not hang the probe.
fn open_regular(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
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
