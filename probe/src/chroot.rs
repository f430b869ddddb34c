//! Paths resolved inside a root directory as a chroot would resolve them: an absolute symlink
//! target starts again at the root, `..` never climbs above it, so nothing outside the root
//! is ever opened, whatever links a captured tree holds.
//!
//! The kernel does it in one system call with `openat2(RESOLVE_IN_ROOT)` (Linux 5.6 and
//! later), through rustix. Where that call is missing or filtered (older kernels, some seccomp
//! profiles), paths are resolved here component by component, each step opened without
//! following links and every link read and resolved by hand against the root. When the root
//! is `/` itself nothing can be outside it, and plain opens are exact.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// How paths under the root are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// `openat2(RESOLVE_IN_ROOT)`: the kernel keeps every step inside the root.
    Kernel,
    /// Component by component in user space (no `openat2`).
    Walk,
    /// The root is `/`: plain opens (no `openat2`, nothing to keep inside).
    Plain,
}

/// Most symlinks followed for one path, as the kernel's limit (`ELOOP` beyond).
const MAX_LINKS: usize = 40;

/// A symlink met while resolving a path that, taken literally, leads out of the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutLink {
    /// The link, relative to the root.
    pub rel: String,
    pub target: String,
}

/// An open root directory and the way paths under it are resolved.
#[derive(Debug)]
pub struct Chroot {
    dir: OwnedFd,
    how: Resolver,
}

fn path_flags() -> OFlags {
    OFlags::PATH | OFlags::CLOEXEC
}

impl Chroot {
    /// Opens `base`, choosing the kernel's resolution when it has it.
    pub fn open(base: &Path) -> io::Result<Chroot> {
        let dir = rustix::fs::open(base, path_flags() | OFlags::DIRECTORY, Mode::empty())?;
        let kernel = rustix::fs::openat2(
            &dir,
            ".",
            path_flags(),
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )
        .is_ok();
        let how = if kernel {
            Resolver::Kernel
        } else if std::fs::canonicalize(base).is_ok_and(|p| p == Path::new("/")) {
            Resolver::Plain
        } else {
            Resolver::Walk
        };
        Ok(Chroot { dir, how })
    }

    /// [`Chroot::open`] with a chosen resolver (tests run the user-space walk on kernels that
    /// have `openat2`).
    pub fn open_with(base: &Path, how: Resolver) -> io::Result<Chroot> {
        let dir = rustix::fs::open(base, path_flags() | OFlags::DIRECTORY, Mode::empty())?;
        Ok(Chroot { dir, how })
    }

    pub fn resolver(&self) -> Resolver {
        self.how
    }

    /// Opens `rel` (following links inside the root) with `flags`.
    pub fn open_at(&self, rel: &str, flags: OFlags) -> io::Result<OwnedFd> {
        let flags = flags | OFlags::CLOEXEC;
        match self.how {
            Resolver::Plain => Ok(rustix::fs::openat(
                &self.dir,
                rel_or_dot(rel),
                flags,
                Mode::empty(),
            )?),
            Resolver::Kernel => {
                for _ in 0..3 {
                    match rustix::fs::openat2(
                        &self.dir,
                        rel_or_dot(rel),
                        flags,
                        Mode::empty(),
                        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
                    ) {
                        // A rename raced the lookup: the kernel asks to try again.
                        Err(Errno::AGAIN) => continue,
                        other => return Ok(other?),
                    }
                }
                self.walk_open(rel, flags)
            }
            Resolver::Walk => self.walk_open(rel, flags),
        }
    }

    /// The directory holding `rel`'s last component (links before it followed inside the
    /// root) and that component's name, not followed: for `readlink` and `lstat`.
    pub fn parent_of(&self, rel: &str) -> io::Result<(OwnedFd, String)> {
        let trimmed = rel.trim_end_matches('/');
        let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
        if name.is_empty() || name == "." || name == ".." {
            // No last name to keep unfollowed: the whole path is the directory.
            let dir = self.open_at(rel, path_flags() | OFlags::DIRECTORY)?;
            return Ok((dir, ".".to_owned()));
        }
        let dir = self.open_at(parent, path_flags() | OFlags::DIRECTORY)?;
        Ok((dir, name.to_owned()))
    }

    /// The target of the symlink `rel`.
    pub fn read_link(&self, rel: &str) -> io::Result<String> {
        let (dir, name) = self.parent_of(rel)?;
        let target = rustix::fs::readlinkat(&dir, name.as_str(), Vec::new())?;
        Ok(String::from_utf8_lossy(target.as_bytes()).into_owned())
    }

    /// The first symlink on the way to `rel` whose target, taken literally, leaves the root
    /// (absolute, or more `..` than it is deep). Only asked when `rel` was not found, to say
    /// why: a chroot resolves such a link inside the root, where it led nowhere.
    pub fn out_link(&self, rel: &str) -> Option<OutLink> {
        let mut found = None;
        let _ = self.walk(rel, &mut |link, target, out| {
            if out && found.is_none() {
                found = Some(OutLink {
                    rel: link.to_owned(),
                    target: target.to_owned(),
                });
            }
        });
        found
    }

    fn walk_open(&self, rel: &str, flags: OFlags) -> io::Result<OwnedFd> {
        let (stack, name) = self.walk(rel, &mut |_, _, _| {})?;
        let dir = stack.last().map_or(self.dir.as_fd(), |d| d.as_fd());
        Ok(match name {
            Some(name) => {
                rustix::fs::openat(dir, name.as_str(), flags | OFlags::NOFOLLOW, Mode::empty())?
            }
            None => rustix::fs::openat(dir, ".", flags, Mode::empty())?,
        })
    }

    /// Resolves `rel` step by step. Returns the directories opened on the way (the last one
    /// holds the result; empty means the root) and the last name, not yet opened (None when
    /// the path ends at a directory). `note` hears of every symlink followed: its path, its
    /// target, and whether the target taken literally leaves the root.
    fn walk(
        &self,
        rel: &str,
        note: &mut dyn FnMut(&str, &str, bool),
    ) -> io::Result<(Vec<OwnedFd>, Option<String>)> {
        let mut stack: Vec<OwnedFd> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut todo: VecDeque<String> = rel.split('/').map(str::to_owned).collect();
        let mut links = 0;
        while let Some(c) = todo.pop_front() {
            if c.is_empty() || c == "." {
                continue;
            }
            if c == ".." {
                // Lexically, as a chroot: `..` of the root is the root.
                stack.pop();
                names.pop();
                continue;
            }
            let last = todo.iter().all(|t| t.is_empty() || t == ".");
            let dir: BorrowedFd<'_> = stack.last().map_or(self.dir.as_fd(), |d| d.as_fd());
            let st = match rustix::fs::statat(dir, c.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) if last => return Ok((stack, Some(c))),
                Err(e) => return Err(e.into()),
            };
            let kind = FileType::from_raw_mode(st.st_mode);
            if kind == FileType::Symlink {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Errno::LOOP.into());
                }
                let target = rustix::fs::readlinkat(dir, c.as_str(), Vec::new())?;
                let target = OsStr::from_bytes(target.as_bytes())
                    .to_string_lossy()
                    .into_owned();
                let here = names.join("/");
                let link_rel = if here.is_empty() {
                    c.clone()
                } else {
                    format!("{here}/{c}")
                };
                note(&link_rel, &target, leaves(names.len(), &target));
                if target.starts_with('/') {
                    stack.clear();
                    names.clear();
                }
                for part in target.split('/').rev() {
                    todo.push_front(part.to_owned());
                }
                continue;
            }
            if last {
                return Ok((stack, Some(c)));
            }
            if kind != FileType::Directory {
                return Err(Errno::NOTDIR.into());
            }
            let next = rustix::fs::openat(
                dir,
                c.as_str(),
                path_flags() | OFlags::DIRECTORY | OFlags::NOFOLLOW,
                Mode::empty(),
            )?;
            stack.push(next);
            names.push(c);
        }
        Ok((stack, None))
    }
}

/// `rel`, or `.` for the root itself (an empty path is `ENOENT` to the kernel).
fn rel_or_dot(rel: &str) -> &str {
    if rel.is_empty() { "." } else { rel }
}

/// Whether a link `depth` directories below the root, with this target, leaves the root when
/// taken literally.
fn leaves(depth: usize, target: &str) -> bool {
    if target.starts_with('/') {
        return true;
    }
    let mut d = depth as isize;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                d -= 1;
                if d < 0 {
                    return true;
                }
            }
            _ => d += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_escape() {
        assert!(leaves(0, "/etc"));
        assert!(leaves(2, "../../.."));
        assert!(!leaves(2, "../../x"));
        assert!(!leaves(3, "../../../devices/pci0000:00"));
        assert!(leaves(1, "a/../../.."));
    }
}
