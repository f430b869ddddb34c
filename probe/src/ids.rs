//! Vendor and product names from pci.ids and usb.ids: a compressed snapshot embedded in the
//! binary, replaced by the machine's own hwdata file when that one is newer.

use crate::root::Root;

const PCI_IDS: &[u8] = include_bytes!("../data/pci.ids.zst");
const USB_IDS: &[u8] = include_bytes!("../data/usb.ids.zst");
/// `# Version:` headers of the embedded snapshots (checked by a unit test).
const PCI_IDS_VERSION: &str = "2025.06.09";
const USB_IDS_VERSION: &str = "2025.07.26";
/// Largest hwdata file read (pci.ids is about 1.5 MB).
const MAX_IDS_FILE: u64 = 32 << 20;

/// The embedded snapshots for `--version` (sources in `probe/data/PROVENANCE.md`).
pub fn embedded_summary() -> String {
    format!(
        "id databases: pci.ids {PCI_IDS_VERSION}, usb.ids {USB_IDS_VERSION} (embedded; a newer copy on the machine is preferred)"
    )
}

/// Which id database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pci,
    Usb,
}

impl Kind {
    fn file_name(self) -> &'static str {
        match self {
            Kind::Pci => "pci.ids",
            Kind::Usb => "usb.ids",
        }
    }

    fn embedded(self) -> (&'static [u8], &'static str) {
        match self {
            Kind::Pci => (PCI_IDS, PCI_IDS_VERSION),
            Kind::Usb => (USB_IDS, USB_IDS_VERSION),
        }
    }
}

/// One loaded id database with an index of its vendor lines.
#[derive(Debug)]
pub struct IdDb {
    text: String,
    /// Where the data came from: `embedded 2025.07.26` or a path and version.
    pub source: String,
    /// (vendor id, byte range of the vendor's block: its line and its tab-indented lines)
    vendors: Vec<(u16, usize, usize)>,
}

impl IdDb {
    /// The newest of the embedded snapshot and the root's hwdata file.
    pub fn load(root: &Root, kind: Kind) -> IdDb {
        let (blob, embedded_version) = kind.embedded();
        for dir in ["usr/share/hwdata", "usr/share/misc"] {
            let rel = format!("{dir}/{}", kind.file_name());
            // The version is in the first lines: read the whole file only when it is newer
            // (the usual case on a live system is an older one, not worth 1 MB of reading).
            let head = root
                .read_file(&rel, 4096)
                .map(|h| String::from_utf8_lossy(&h).into_owned());
            let Some(version) = head.as_deref().and_then(header_version) else {
                continue;
            };
            if version.as_str() <= embedded_version {
                continue;
            }
            let Some(text) = root.read_file(&rel, MAX_IDS_FILE) else {
                continue;
            };
            let text = String::from_utf8_lossy(&text).into_owned();
            return IdDb::from_text(text, format!("/{rel} {version}"));
        }
        let text = match decompress(blob) {
            Ok(text) => text,
            Err(e) => {
                // Cannot happen with the shipped snapshot; names are optional anyway.
                root.warn(
                    kind.file_name(),
                    format!("embedded snapshot unreadable: {e}"),
                );
                String::new()
            }
        };
        IdDb::from_text(text, format!("embedded {embedded_version}"))
    }

    pub fn from_text(text: String, source: String) -> IdDb {
        let mut vendors = Vec::new();
        let mut current: Option<(u16, usize)> = None;
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            if line.starts_with('\t') || line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some((id, s)) = current.take() {
                vendors.push((id, s, start));
            }
            let bytes = line.as_bytes();
            if bytes.get(4..6) == Some(b"  ".as_slice())
                && let Some(id) = line.get(..4).and_then(|h| u16::from_str_radix(h, 16).ok())
            {
                current = Some((id, start));
            }
        }
        if let Some((id, s)) = current {
            vendors.push((id, s, offset));
        }
        vendors.sort_by_key(|v| v.0);
        IdDb {
            text,
            source,
            vendors,
        }
    }

    fn block(&self, vendor: u16) -> Option<&str> {
        let i = self.vendors.binary_search_by_key(&vendor, |v| v.0).ok()?;
        let (_, s, e) = self.vendors.get(i)?;
        self.text.get(*s..*e)
    }

    /// Vendor name for a hex id (`8086`).
    pub fn vendor(&self, vendor: &str) -> Option<String> {
        let block = self.block(u16::from_str_radix(vendor, 16).ok()?)?;
        let first = block.lines().next()?;
        Some(first.get(6..)?.trim().to_owned())
    }

    /// Device (PCI) or product (USB) name.
    pub fn device(&self, vendor: &str, device: &str) -> Option<String> {
        let block = self.block(u16::from_str_radix(vendor, 16).ok()?)?;
        let want = u16::from_str_radix(device, 16).ok()?;
        block.lines().skip(1).find_map(|line| {
            let rest = line.strip_prefix('\t')?;
            if rest.starts_with('\t') {
                return None;
            }
            let id = u16::from_str_radix(rest.get(..4)?, 16).ok()?;
            (id == want).then(|| rest.get(4..).unwrap_or_default().trim().to_owned())
        })
    }
}

/// The embedded snapshot in one call: its frame records the size, so no streaming is needed.
fn decompress(blob: &[u8]) -> std::io::Result<String> {
    let size = zstd::zstd_safe::get_frame_content_size(blob)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(8 << 20);
    let bytes = zstd::bulk::decompress(blob, size)?;
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn header_version(text: &str) -> Option<String> {
    text.lines().take(40).find_map(|l| {
        let l = l.trim_start_matches('#').trim();
        l.strip_prefix("Version:").map(|v| v.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_versions_match_headers() {
        for kind in [Kind::Pci, Kind::Usb] {
            let (blob, version) = kind.embedded();
            let text = String::from_utf8(zstd::decode_all(blob).unwrap()).unwrap();
            assert_eq!(header_version(&text).as_deref(), Some(version));
        }
    }

    #[test]
    fn embedded_names_resolve() {
        let root = Root::new("/nonexistent-root");
        let pci = IdDb::load(&root, Kind::Pci);
        assert_eq!(pci.vendor("8086").as_deref(), Some("Intel Corporation"));
        assert_eq!(
            pci.device("8086", "24fd").as_deref(),
            Some("Wireless 8265 / 8275")
        );
        let usb = IdDb::load(&root, Kind::Usb);
        assert_eq!(usb.vendor("1d6b").as_deref(), Some("Linux Foundation"));
        assert_eq!(usb.device("1d6b", "0003").as_deref(), Some("3.0 root hub"));
        assert_eq!(pci.device("8086", "zzzz"), None);
        assert_eq!(pci.vendor(""), None);
    }

    #[test]
    fn newer_system_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("usr/share/hwdata")).unwrap();
        std::fs::write(
            dir.path().join("usr/share/hwdata/pci.ids"),
            "# Version: 2999.01.01\n8086  Newer Intel\n\t1234  Thing\n",
        )
        .unwrap();
        let db = IdDb::load(&Root::new(dir.path()), Kind::Pci);
        assert_eq!(db.vendor("8086").as_deref(), Some("Newer Intel"));
        assert_eq!(db.device("8086", "1234").as_deref(), Some("Thing"));
        // An older file loses against the snapshot.
        std::fs::write(
            dir.path().join("usr/share/hwdata/pci.ids"),
            "# Version: 2001.01.01\n8086  Old Intel\n",
        )
        .unwrap();
        let db = IdDb::load(&Root::new(dir.path()), Kind::Pci);
        assert_eq!(db.vendor("8086").as_deref(), Some("Intel Corporation"));
    }
}
