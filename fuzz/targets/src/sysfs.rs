//! `sysfs`: the probe's scan (`hcl-probe scan --root DIR`: sysfs walk, DMI, ACPI tables, PCI
//! config space, IOMMU groups, hypervisor facts, coverage by every shipped profile) on a small
//! machine tree that the input describes, written to a temporary folder.
//!
//! The input is a list of entries, each `kind:u8 path_len:u8 path content_len:u16le content`
//! (the rest of a cut entry is dropped). `kind & 3`: a file with the content, a directory, a
//! symbolic link to the content, a FIFO. Path bytes 0x01..=0x1f stand for common sysfs names
//! ([`WORDS`]) so that the fuzzer reaches deep paths in a few bytes; `..`, `.` and empty
//! components are dropped, and nothing is written through a link. A hand format rather than
//! `arbitrary`'s: real captured trees (`tests/fixtures/sysfs`) are written in it as seeds.
//!
//! Links that leave the tree (absolute, or climbing above it) are pointed at canary files
//! beside the tree, so whatever the probe reads through them is recognisable in the report.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use hcl_aggregator::api::validate::{self, Format};
use hcl_data::Report;
use hcl_probe::output::{self, TableOptions};
use hcl_probe::root::Root;

/// What the canary files outside the tree hold: a valid modalias and DMI string.
pub const CANARY: &str = "acpi:CANARYOUTSIDEROOT:";

/// Whether content from outside the root in a report fails the target: yes, since the probe
/// resolves every path inside `--root` as a chroot would (commit 7e0c80f, issue 8 item 3).
pub const CHECK_CONFINEMENT: bool = true;

/// Path words: byte `i` (1..=31) in a path stands for `WORDS[i - 1]`.
pub const WORDS: [&str; 31] = [
    "sys/devices/",
    "pci0000:00/",
    "0000:00:02.0/",
    "0000:00:1f.3/",
    "usb1/1-1/",
    "1-1:1.0/",
    "modalias",
    "vendor",
    "device",
    "class",
    "subsystem_vendor",
    "subsystem_device",
    "revision",
    "config",
    "driver",
    "iommu_group",
    "sys/class/dmi/id/",
    "product_name",
    "sys_vendor",
    "sys/firmware/acpi/tables/",
    "DMAR",
    "IVRS",
    "sys/kernel/iommu_groups/",
    "proc/",
    "cpuinfo",
    "sys/hypervisor/",
    "sys/power/",
    "etc/os-release",
    "idVendor",
    "bDeviceClass",
    "../",
];

/// Limits that keep one input to a few milliseconds.
const MAX_ENTRIES: usize = 96;
const MAX_DEPTH: usize = 24;
const MAX_CONTENT: usize = 256 * 1024;

/// One entry of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
}

/// An entry as the input describes it: raw path (words not yet expanded) and content.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub kind: Kind,
    pub path: &'a [u8],
    pub content: &'a [u8],
}

/// The entries of an input, in order.
pub fn entries(mut data: &[u8]) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    while out.len() < MAX_ENTRIES {
        let [kind, plen, rest @ ..] = data else {
            break;
        };
        let Some((path, rest)) = rest.split_at_checked(usize::from(*plen)) else {
            break;
        };
        let [l0, l1, rest @ ..] = rest else {
            break;
        };
        let clen = usize::from(u16::from_le_bytes([*l0, *l1]));
        let Some((content, rest)) = rest.split_at_checked(clen) else {
            break;
        };
        let kind = match kind & 3 {
            0 => Kind::File,
            1 => Kind::Dir,
            2 => Kind::Symlink,
            _ => Kind::Fifo,
        };
        out.push(Entry {
            kind,
            path,
            content,
        });
        data = rest;
    }
    out
}

/// Writes one entry in the input format (for seeds made from real trees).
pub fn encode(out: &mut Vec<u8>, kind: Kind, path: &[u8], content: &[u8]) {
    let path = &path[..path.len().min(255)];
    let content = &content[..content.len().min(usize::from(u16::MAX))];
    out.push(kind as u8);
    out.push(path.len() as u8);
    out.extend_from_slice(path);
    out.extend_from_slice(&(content.len() as u16).to_le_bytes());
    out.extend_from_slice(content);
}

/// Word bytes expanded, NULs dropped.
fn expand(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for &b in raw {
        match b {
            0 => {}
            1..=31 => out.extend_from_slice(WORDS[usize::from(b) - 1].as_bytes()),
            b => out.push(b),
        }
    }
    out
}

/// The components of a path inside the tree: no `.`, `..` or empty ones, each at most 255
/// bytes, at most [`MAX_DEPTH`] of them.
fn components(raw: &[u8]) -> Vec<Vec<u8>> {
    expand(raw)
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b"." && *c != b"..")
        .map(|c| c[..c.len().min(255)].to_vec())
        .take(MAX_DEPTH)
        .collect()
}

/// True when every directory from `root` down to `path`'s parent is a real directory (no link,
/// no file): then creating `path` writes inside the tree, whatever links the tree holds.
fn parents_are_dirs(root: &Path, parts: &[Vec<u8>]) -> bool {
    let mut dir = root.to_path_buf();
    for part in &parts[..parts.len().saturating_sub(1)] {
        dir.push(OsStr::from_bytes(part));
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return false,
            Err(_) => {
                if std::fs::create_dir(&dir).is_err() {
                    return false;
                }
            }
        }
    }
    true
}

/// Where a link may point: inside the tree as written, or, when it leaves the tree, at a canary
/// file in `outside` (absolute targets, and relative ones that climb above the tree).
fn link_target(outside: &Path, depth: usize, raw: &[u8]) -> PathBuf {
    let target = expand(raw);
    let last = target
        .split(|&b| b == b'/')
        .rfind(|c| !c.is_empty() && *c != b"." && *c != b"..")
        .map(|c| c[..c.len().min(255)].to_vec());
    let leaves = target.starts_with(b"/") || {
        // The link's folder is `depth` levels below the tree's top.
        let mut level = depth as isize;
        let mut left = false;
        for c in target.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => level -= 1,
                _ => level += 1,
            }
            left |= level < 0;
        }
        left
    };
    if !leaves {
        return PathBuf::from(OsStr::from_bytes(&target));
    }
    let canary = match last {
        Some(name) => outside.join(OsStr::from_bytes(&name)),
        None => outside.to_path_buf(),
    };
    if !canary.exists() {
        let _ = std::fs::write(&canary, CANARY);
    }
    canary
}

/// Writes the tree an input describes under `case/root`, canaries under `case/outside`.
pub fn build(case: &Path, data: &[u8]) -> PathBuf {
    let root = case.join("root");
    let outside = case.join("outside");
    std::fs::create_dir_all(&root).expect("tree folder");
    std::fs::create_dir_all(&outside).expect("canary folder");
    for name in [
        "product_name",
        "modalias",
        "cpuinfo",
        "os-release",
        "config",
    ] {
        std::fs::write(outside.join(name), CANARY).expect("canary");
    }
    let mut written = 0usize;
    for e in entries(data) {
        let parts = components(e.path);
        if parts.is_empty() || !parents_are_dirs(&root, &parts) {
            continue;
        }
        let path = parts
            .iter()
            .fold(root.clone(), |p, c| p.join(OsStr::from_bytes(c)));
        if std::fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        let _ = match e.kind {
            Kind::File => {
                written += e.content.len();
                if written > MAX_CONTENT {
                    break;
                }
                std::fs::write(&path, e.content)
            }
            Kind::Dir => std::fs::create_dir(&path),
            Kind::Symlink => {
                std::os::unix::fs::symlink(link_target(&outside, parts.len() - 1, e.content), &path)
            }
            Kind::Fifo => {
                nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644))
                    .map_err(std::io::Error::from)
            }
        };
    }
    root
}

pub fn sysfs(data: &[u8]) {
    let case = tempfile::tempdir().expect("temporary folder");
    let root = build(case.path(), data);
    let catalog = crate::modalias::catalog();
    let scan = hcl_probe::scan::scan(&Root::new(&root), catalog)
        .unwrap_or_else(|e| panic!("scan of a folder failed: {e}"));
    let report = scan.report;
    report
        .validate()
        .unwrap_or_else(|e| panic!("the probe made an invalid report: {e}"));
    let canonical = report.canonical().expect("canonical form");
    assert_eq!(
        Report::from_json(canonical.json.as_bytes()).expect("reads back"),
        report
    );
    if CHECK_CONFINEMENT {
        assert!(
            !canonical.json.contains("CANARYOUTSIDEROOT"),
            "the report holds a file from outside --root: {}",
            canonical.json
        );
    }
    // What the person sees: no control character but line ends.
    let table =
        output::render(&report, output::Format::Table, TableOptions::default()).expect("table");
    if let Some(c) = table.chars().find(|&c| c.is_control() && c != '\n') {
        panic!("control character {c:?} in the probe's table:\n{table}");
    }
    // What the probe makes, the server takes, unless it carries an identifier.
    let json =
        output::render(&report, output::Format::Json, TableOptions::default()).expect("json");
    let limit = hcl_aggregator::Config::default().max_body_bytes;
    if let Err(e) = validate::check(json.as_bytes(), None, Format::Json, limit) {
        assert!(
            matches!(e, hcl_aggregator::AppError::Unprocessable(_))
                && !report.privacy_violations().is_empty(),
            "the server refuses the probe's report: {e}"
        );
    }
}
