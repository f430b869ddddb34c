//! The lspci lines of a Qubes HCL file's chipset, GPU and network fields: the PCI device each
//! names, as a partial [`Device`] whose modalias has `?` for what the line does not say.

use super::fields::one_line;
use crate::classify::hcl_field;
use crate::report::Device;

/// PCI vendors named in HCL lines without ids, where the name says the id. AMD has two ids;
/// lspci tells them apart by the bracketed suffix.
const VENDORS: &[(&str, &str)] = &[
    ("Advanced Micro Devices, Inc. [AMD/ATI]", "1002"),
    ("Advanced Micro Devices, Inc. [AMD]", "1022"),
    ("Intel Corporation", "8086"),
    ("NVIDIA Corporation", "10de"),
    ("Realtek Semiconductor Co., Ltd.", "10ec"),
    ("Qualcomm Atheros", "168c"),
    ("MEDIATEK Corp.", "14c3"),
    ("Broadcom Inc. and subsidiaries", "14e4"),
    ("Broadcom Limited", "14e4"),
    ("Broadcom Corporation", "14e4"),
    ("Marvell Technology Group Ltd.", "11ab"),
    ("Qualcomm Technologies, Inc", "17cb"),
    ("Aquantia Corp.", "1d6a"),
    ("Samsung Electronics Co Ltd", "144d"),
    ("Matrox Electronics Systems Ltd.", "102b"),
    ("ASPEED Technology, Inc.", "1a03"),
];

/// The PCI device one HCL line names, if its ids can be read without guessing.
pub(super) fn device_from_line(field: &str, line: &str) -> Option<Device> {
    let line = line.trim();
    // Pasted `lspci -v` detail: a subsystem's ids are not a device of their own.
    if line
        .get(..9)
        .is_some_and(|w| w.eq_ignore_ascii_case("subsystem"))
    {
        return None;
    }
    let (vendor, device, vendor_name) = if let Some((v, d, at)) = bracket_ids(line) {
        let name = line.get(..at).map(|s| s.trim().to_string());
        (v, d, name)
    } else {
        let (name, id) = VENDORS.iter().find(|(name, _)| line.starts_with(name))?;
        // Only `Vendor Device 51f1`: a named device needs pci.ids to find its id.
        let rest = line.get(name.len()..)?.trim_start();
        let hex = rest.strip_prefix("Device ")?.get(..4)?;
        let after = rest.get("Device ".len() + 4..)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit())
            || after
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            return None;
        }
        (
            id.to_string(),
            hex.to_ascii_lowercase(),
            Some(name.to_string()),
        )
    };
    let (mut class, subclass, prog_if) = class_of(line);
    // A line of the `gpu:` field is a display controller (base class 03) even when it does not
    // say which kind: without that, drivers that match GPUs by vendor and class (nouveau,
    // amdgpu's older ids) could not be told apart from "unknown". HDMI audio functions pasted
    // there are class 04, so they keep an unknown class.
    if field == "gpu" && class.is_none() && !line.to_ascii_lowercase().contains("audio") {
        class = Some("03".to_owned());
    }
    let hx = |v: Option<String>, w: usize| v.unwrap_or_else(|| "?".repeat(w));
    let modalias = format!(
        "pci:v0000{}d0000{}sv????????sd????????bc{}sc{}i{}",
        vendor.to_ascii_uppercase(),
        device.to_ascii_uppercase(),
        hx(class.clone(), 2),
        hx(subclass.clone(), 2),
        hx(prog_if.clone(), 2),
    );
    let full_class = match (&class, &subclass, &prog_if) {
        (Some(c), Some(s), Some(p)) => Some(format!("{c}{s}{p}").to_ascii_lowercase()),
        _ => None,
    };
    let (category, role) = hcl_field(field);
    Some(Device {
        bus: "pci".into(),
        modalias,
        partial: true,
        category,
        role,
        vendor: Some(vendor),
        device: Some(device),
        class: full_class,
        revision: revision_of(line),
        vendor_name: vendor_name.filter(|n| !n.is_empty()),
        device_name: Some(one_line(line)),
        ..Device::default()
    })
}

/// The first `[vvvv:dddd]` (lower-case) and where it starts.
fn bracket_ids(line: &str) -> Option<(String, String, usize)> {
    let b = line.as_bytes();
    (0..b.len()).find_map(|i| {
        let w = b.get(i..i + 11)?;
        let ok = w.first() == Some(&b'[')
            && w.get(5) == Some(&b':')
            && w.get(10) == Some(&b']')
            && w.get(1..5)?.iter().all(u8::is_ascii_hexdigit)
            && w.get(6..10)?.iter().all(u8::is_ascii_hexdigit);
        if !ok {
            return None;
        }
        let v = line.get(i + 1..i + 5)?.to_ascii_lowercase();
        let d = line.get(i + 6..i + 10)?.to_ascii_lowercase();
        Some((v, d, i))
    })
}

/// Class, subclass and programming interface (upper-case hex) when the line says them:
/// `[0300]` after the class name, lspci's class names, `(prog-if 00 [VGA controller])`.
fn class_of(line: &str) -> (Option<String>, Option<String>, Option<String>) {
    let lower = line.to_ascii_lowercase();
    let mut class = None;
    // `VGA compatible controller [0300]: ...`: a 4-digit bracket followed by a colon.
    let b = line.as_bytes();
    for i in 0..b.len() {
        if let Some(w) = b.get(i..i + 7)
            && w.first() == Some(&b'[')
            && w.get(5) == Some(&b']')
            && w.get(6) == Some(&b':')
            && w.get(1..5)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        {
            class = line.get(i + 1..i + 5).and_then(|c| {
                Some((
                    c.get(..2)?.to_ascii_uppercase(),
                    c.get(2..)?.to_ascii_uppercase(),
                ))
            });
            break;
        }
    }
    if class.is_none() {
        class = [
            ("vga compatible controller", "03", "00"),
            ("[vga controller]", "03", "00"),
            ("3d controller", "03", "02"),
            ("display controller", "03", "80"),
            ("ethernet controller:", "02", "00"),
            ("network controller:", "02", "80"),
            ("host bridge", "06", "00"),
        ]
        .iter()
        .find(|(name, _, _)| lower.contains(name))
        .map(|(_, c, s)| (c.to_string(), s.to_string()));
    }
    let prog_if = lower.find("(prog-if ").and_then(|at| {
        let h = line.get(at + 9..at + 11)?;
        h.bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then(|| h.to_ascii_uppercase())
    });
    match class {
        Some((c, s)) => (Some(c), Some(s), prog_if),
        None => (None, None, prog_if),
    }
}

/// `(rev 04)` → `04`.
fn revision_of(line: &str) -> Option<String> {
    let at = line.find("(rev ")?;
    let h = line.get(at + 5..at + 7)?;
    h.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| h.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Role;

    #[test]
    fn ids_from_brackets_and_names() {
        let d = device_from_line(
            "gpu",
            "Intel Corporation Device [8086:a7a0] (rev 04) (prog-if 00 [VGA controller])",
        )
        .unwrap();
        assert_eq!(
            d.modalias,
            "pci:v00008086d0000A7A0sv????????sd????????bc03sc00i00"
        );
        assert_eq!(d.revision.as_deref(), Some("04"));
        assert_eq!(d.class.as_deref(), Some("030000"));
        assert_eq!(d.role, Role::Dom0);

        let n = device_from_line("network", "Intel Corporation Device 51f1 (rev 01)").unwrap();
        assert_eq!(
            n.modalias,
            "pci:v00008086d000051F1sv????????sd????????bc??sc??i??"
        );
        assert_eq!(n.role, Role::Assignable);
        // A named device needs pci.ids: no guess.
        assert!(device_from_line("network", "Intel Corporation Wireless 8265 / 8275").is_none());
        assert!(device_from_line("network", "Intel Corporation Device 51f1x").is_none());
        assert!(device_from_line("gpu", "\tSubsystem: Lenovo Device [17aa:22e4]").is_none());
        let amd = device_from_line("gpu", "Advanced Micro Devices, Inc. [AMD/ATI] Device 1638");
        assert_eq!(amd.unwrap().vendor.as_deref(), Some("1002"));
    }

    /// Regression: `gpu: NVIDIA ... [10de:0a65]` without a class matched nouveau (vendor +
    /// class 03 alias) only as "unknown", moving 110 HCL machines to "no data".
    #[test]
    fn gpu_field_lines_are_display_class() {
        let d =
            device_from_line("gpu", "NVIDIA Corporation GT218 [GeForce 210] [10de:0a65]").unwrap();
        assert!(d.modalias.ends_with("bc03sc??i??"), "{}", d.modalias);
        assert_eq!(d.class, None, "the full class stays unknown");
        let audio = device_from_line(
            "gpu",
            "NVIDIA Corporation High Definition Audio [10de:0be3]",
        )
        .unwrap();
        assert!(
            audio.modalias.ends_with("bc??sc??i??"),
            "{}",
            audio.modalias
        );
        let net = device_from_line("network", "Intel Corporation Device [8086:24fd]").unwrap();
        assert!(net.modalias.ends_with("bc??sc??i??"), "{}", net.modalias);
    }

    #[test]
    fn class_from_lspci_class_bracket() {
        let d = device_from_line(
            "gpu",
            "VGA compatible controller [0300]: NVIDIA Corporation GT218M [NVS 3100M] [10de:0a6c] (rev a2) (prog-if 00 [VGA controller])",
        )
        .unwrap();
        assert_eq!(d.vendor.as_deref(), Some("10de"));
        assert!(d.modalias.ends_with("bc03sc00i00"), "{}", d.modalias);
        let d = device_from_line("gpu", "NVIDIA Corporation 3D controller [10de:1c8d]").unwrap();
        assert!(d.modalias.ends_with("bc03sc02i??"), "{}", d.modalias);
    }
}
