//! Device names from the PCI id database (pci.ids), embedded: the Qubes HCL import classes a
//! line that says only `Intel Corporation Device [8086:a2a4]` by what pci.ids calls it (an SPI
//! flash controller, not the GPU its `gpu:` field claims). The probe embeds the same bytes.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

/// pci.ids, zstd-compressed (`data/SOURCE.txt`).
pub const EMBEDDED: &[u8] = include_bytes!("../data/pci.ids.zst");
/// Its `# Version:` header (checked by a unit test).
pub const PCI_IDS_VERSION: &str = "2025.06.09";

/// pci.ids is 1.4 MB of text: more would be a broken build, not the database.
const MAX_TEXT: u64 = 16 << 20;

/// The name pci.ids gives device `device` of vendor `vendor` (lower- or upper-case hex).
pub fn device_name(vendor: &str, device: &str) -> Option<&'static str> {
    let key = (
        u16::from_str_radix(vendor, 16).ok()?,
        u16::from_str_radix(device, 16).ok()?,
    );
    names().get(&key).map(String::as_str)
}

fn names() -> &'static HashMap<(u16, u16), String> {
    static NAMES: OnceLock<HashMap<(u16, u16), String>> = OnceLock::new();
    NAMES.get_or_init(|| parse(&decompress()))
}

fn decompress() -> String {
    let mut text = String::new();
    // The bytes are part of the build: a failure here is a broken build, and an empty table
    // only loses names.
    if let Ok(d) = zstd::Decoder::new(EMBEDDED) {
        let _ = d.take(MAX_TEXT).read_to_string(&mut text);
    }
    text
}

/// Vendor lines (`8086  Intel Corporation`) and their device lines (`\ta2a4  ...`); the class
/// section (`C 03 ...`) ends the vendors.
fn parse(text: &str) -> HashMap<(u16, u16), String> {
    let mut out = HashMap::new();
    let mut vendor: Option<u16> = None;
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('\t') {
            if rest.starts_with('\t') {
                continue; // a subsystem line
            }
            let (Some(v), Some(id), Some(name)) = (vendor, rest.get(..4), rest.get(4..)) else {
                continue;
            };
            if let Ok(d) = u16::from_str_radix(id, 16) {
                out.insert((v, d), name.trim().to_owned());
            }
        } else if line.starts_with("C ") {
            break;
        } else {
            vendor = line.get(..4).and_then(|h| u16::from_str_radix(h, 16).ok());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_the_hcl_lines_that_say_only_device() {
        assert_eq!(
            device_name("8086", "a2a4"),
            Some("200 Series/Z370 Chipset Family SPI Controller")
        );
        assert_eq!(
            device_name("8086", "9D35"),
            Some("Sunrise Point-LP Integrated Sensor Hub")
        );
        assert!(device_name("1022", "15e6").is_some_and(|n| n.contains("Sensor Fusion Hub")));
        assert_eq!(device_name("8086", "zzzz"), None);
        assert!(decompress().contains(&format!("Version: {PCI_IDS_VERSION}")));
    }
}
