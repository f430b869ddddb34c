//! `capture`: copy the sysfs and procfs files the probe reads into a directory, so any machine
//! becomes a test fixture that scans exactly like the live machine.
//!
//! Only what a scan actually reads is copied (a recording [`Root`]), and the scan never opens
//! identifier files; a deny list of identifier file names guards that once more. What is read
//! stays inside the source root (links resolved as in a chroot), and what is written stays
//! inside the output folder: no write follows a link ([`OutDir`]).

use std::fs;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Warning};
use crate::root::{Recorded, Root};

/// File names that hold personal identifiers: never written to a capture.
const DENY: &[&str] = &[
    "serial",
    "product_serial",
    "board_serial",
    "chassis_serial",
    "product_uuid",
    "uuid",
    "address",
    "perm_addr",
    "hostname",
    "uevent",
];

/// Marker file kept in directories that would otherwise be empty.
pub const KEEP: &str = ".hcl-probe-keep";

/// What a capture wrote.
#[derive(Debug)]
pub struct Captured {
    pub files: usize,
    pub links: usize,
    pub warnings: Vec<Warning>,
}

/// Read `source` as a scan does while recording, then write what was read under `out` (new or
/// empty). No kernel profile is needed: matching reads no file.
pub fn capture(source: &Path, out: &Path) -> Result<Captured, Error> {
    if let Ok(mut entries) = fs::read_dir(out)
        && entries.next().is_some()
    {
        return Err(Error::CaptureTargetNotEmpty {
            path: out.to_path_buf(),
        });
    }
    let root = Root::recording(source);
    crate::scan::read_machine(&root)?;
    let recorded = root.take_recorded();
    let mut captured = Captured {
        files: 0,
        links: 0,
        warnings: root.take_warnings(),
    };
    // Later records of a path win (filtered forms of cpuinfo and os-release come last).
    let mut last: std::collections::BTreeMap<String, Recorded> = Default::default();
    for rec in recorded {
        let rel = match &rec {
            Recorded::File { rel, .. }
            | Recorded::Link { rel, .. }
            | Recorded::Marker { rel }
            | Recorded::Dir { rel } => rel.clone(),
        };
        last.insert(rel, rec);
    }
    fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let dest = OutDir::open(out).map_err(|e| Error::io(out, e))?;
    for (rel, rec) in &last {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if DENY.contains(&name)
            || rel
                .split('/')
                .any(|c| c == ".." || c == "." || c.is_empty())
        {
            continue;
        }
        let written = match rec {
            Recorded::File { data, .. } => dest.file(rel, data).map(|()| captured.files += 1),
            Recorded::Marker { .. } => dest
                .marker(rel)
                .map(|new| captured.files += usize::from(new)),
            Recorded::Dir { .. } => dest.dir(rel),
            Recorded::Link { target, .. } => dest.link(rel, target).map(|()| captured.links += 1),
        };
        match written {
            Ok(()) => {}
            // Only a hostile tree records a file below one of its links.
            Err(e)
                if e.raw_os_error() == Some(Errno::LOOP.raw_os_error())
                    || e.raw_os_error() == Some(Errno::NOTDIR.raw_os_error()) =>
            {
                captured.warnings.push(Warning {
                    subject: rel.clone(),
                    message: "not captured: a link or file stands where its folder would be \
                              (nothing is written through a link)"
                        .into(),
                });
            }
            Err(e) => return Err(Error::io(out.join(rel), e)),
        }
    }
    // Git keeps no empty directory, and an empty one still says something (an ACPI table
    // directory without DMAR/IVRS means "no IOMMU", not "unknown"): leave a marker in it.
    for (rel, rec) in &last {
        if let Recorded::Dir { .. } = rec {
            let empty = dest.is_empty_dir(rel).unwrap_or(false);
            if empty {
                let keep = format!("{rel}/{KEEP}");
                dest.file(&keep, b"")
                    .map_err(|e| Error::io(out.join(&keep), e))?;
            }
        }
    }
    Ok(captured)
}

/// The output folder of a capture. Every write is made relative to it, one folder at a time,
/// none following a link: a link the capture wrote (or a hostile tree's) cannot carry a later
/// file out of the folder.
struct OutDir {
    fd: OwnedFd,
}

impl OutDir {
    fn open(out: &Path) -> std::io::Result<OutDir> {
        let fd = rustix::fs::open(
            out,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(OutDir { fd })
    }

    /// The folder that holds `rel` (created as needed, links refused) and `rel`'s last name.
    fn parent<'r>(&self, rel: &'r str) -> std::io::Result<(OwnedFd, &'r str)> {
        let (dirs, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut dir = rustix::fs::openat(&self.fd, ".", flags, Mode::empty())?;
        for part in dirs.split('/').filter(|p| !p.is_empty()) {
            match rustix::fs::mkdirat(&dir, part, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            }
            dir = rustix::fs::openat(&dir, part, flags, Mode::empty())?;
        }
        Ok((dir, name))
    }

    fn file(&self, rel: &str, data: &[u8]) -> std::io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        let fd = rustix::fs::openat(
            &dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )?;
        fs::File::from(fd).write_all(data)
    }

    /// An empty file, unless something is there already; true when it was made.
    fn marker(&self, rel: &str) -> std::io::Result<bool> {
        let (dir, name) = self.parent(rel)?;
        match rustix::fs::openat(
            &dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        ) {
            Ok(_) => Ok(true),
            Err(Errno::EXIST) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn dir(&self, rel: &str) -> std::io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn link(&self, rel: &str, target: &str) -> std::io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        Ok(rustix::fs::symlinkat(target, &dir, name)?)
    }

    fn is_empty_dir(&self, rel: &str) -> std::io::Result<bool> {
        let (dir, name) = self.parent(rel)?;
        let fd = rustix::fs::openat(
            &dir,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mut entries = rustix::fs::Dir::new(fd)?;
        while let Some(e) = entries.read() {
            let name = e?.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capture writes links it read (sysfs is full of them); a file recorded below one of
    /// them must not be written through it, out of the folder.
    #[test]
    fn regression_capture_never_writes_through_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir_all(&out).unwrap();
        fs::create_dir_all(&elsewhere).unwrap();
        let dest = OutDir::open(&out).unwrap();
        dest.link("sys/a", elsewhere.to_str().unwrap()).unwrap();
        dest.link("sys/b", "../../elsewhere").unwrap();
        for rel in ["sys/a/x", "sys/b/x", "sys/a/deeper/x"] {
            let e = dest.file(rel, b"data").unwrap_err();
            assert!(
                matches!(e.raw_os_error(), Some(n) if n == Errno::NOTDIR.raw_os_error()
                    || n == Errno::LOOP.raw_os_error()),
                "{rel}: {e}"
            );
        }
        assert!(dest.marker("sys/a/m").is_err());
        assert!(dest.dir("sys/a/d").is_err());
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
        // Ordinary writes work.
        dest.file("sys/c/x", b"data").unwrap();
        assert_eq!(fs::read(out.join("sys/c/x")).unwrap(), b"data");
        assert!(dest.marker("sys/c/m").unwrap());
        assert!(!dest.marker("sys/c/m").unwrap());
    }
}
