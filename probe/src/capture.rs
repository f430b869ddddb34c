//! `capture`: copy the sysfs and procfs files the probe reads into a directory, so any machine
//! becomes a test fixture that scans exactly like the live machine.
//!
//! Only what a scan actually reads is copied (a recording [`Root`]), and the scan never opens
//! identifier files; a deny list of identifier file names guards that once more.

use std::fs;
use std::path::{Path, PathBuf};

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
    for (rel, rec) in &last {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if DENY.contains(&name) || rel.split('/').any(|c| c == ".." || c.is_empty()) {
            continue;
        }
        let dest: PathBuf = out.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        match rec {
            Recorded::File { data, .. } => {
                fs::write(&dest, data).map_err(|e| Error::io(&dest, e))?;
                captured.files += 1;
            }
            Recorded::Marker { .. } => {
                if !dest.exists() {
                    fs::write(&dest, b"").map_err(|e| Error::io(&dest, e))?;
                    captured.files += 1;
                }
            }
            Recorded::Dir { .. } => {
                fs::create_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
            }
            Recorded::Link { target, .. } => {
                std::os::unix::fs::symlink(target, &dest).map_err(|e| Error::io(&dest, e))?;
                captured.links += 1;
            }
        }
    }
    // Git keeps no empty directory, and an empty one still says something (an ACPI table
    // directory without DMAR/IVRS means "no IOMMU", not "unknown"): leave a marker in it.
    for (rel, rec) in &last {
        if let Recorded::Dir { .. } = rec {
            let dir = out.join(rel);
            let empty = fs::read_dir(&dir).is_ok_and(|mut e| e.next().is_none());
            if empty {
                let keep = dir.join(KEEP);
                fs::write(&keep, b"").map_err(|e| Error::io(&keep, e))?;
            }
        }
    }
    Ok(captured)
}
