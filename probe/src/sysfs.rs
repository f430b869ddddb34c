//! Enumeration of every device with a modalias under `ROOT/sys/devices`, plus USB devices
//! (which carry no modalias of their own: drivers bind to their interfaces).
//!
//! The walk visits real directories only and never follows symlinks, so sysfs's many links
//! (`subsystem`, `driver`, `device`, `port`) cannot make it loop or visit a device twice.

use hcl_data::modalias::{Modalias, hex4};
use hcl_data::{Device, UsbInfo, UsbKind};

use crate::root::{EntryKind, Root};

/// Deeper than any real sysfs path (real trees stay under about 20 levels).
const MAX_DEPTH: usize = 48;

/// Directory names that never hold devices with modaliases but can be large.
const SKIP_DIRS: &[&str] = &["power", "msi_irqs", "wakeup", "statistics", "queues"];

/// A device found in sysfs, with what the probe needs beyond the report fields.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub device: Device,
    /// Kernel module behind the bound driver (`driver/module` link), when it is a module.
    pub module: Option<String>,
    /// The module taints the kernel as out-of-tree (`O` in /sys/module/NAME/taint).
    pub tainted_out_of_tree: bool,
    /// False when the modalias held bytes that are not printable text.
    pub modalias_valid: bool,
}

impl AsRef<Device> for Found {
    fn as_ref(&self) -> &Device {
        &self.device
    }
}

impl AsMut<Device> for Found {
    fn as_mut(&mut self) -> &mut Device {
        &mut self.device
    }
}

/// Walk `sys/devices` and return the devices in path order.
pub fn enumerate(root: &Root) -> Vec<Found> {
    let mut out = Vec::new();
    if root.list_dir("sys/devices").is_none() {
        root.warn(
            "sys/devices",
            "missing or unreadable: no devices can be listed (is this a sysfs root?)",
        );
        return out;
    }
    walk(root, "sys/devices", 0, &mut out);
    if !out.iter().any(|f| f.device.bus == "pci") {
        root.warn(
            "sys/devices",
            "no PCI device found: the report lists other buses only",
        );
    }
    out
}

fn walk(root: &Root, rel: &str, depth: usize, out: &mut Vec<Found>) {
    if depth > MAX_DEPTH {
        root.warn(
            rel,
            "directory tree deeper than any real sysfs; not descending",
        );
        return;
    }
    let Some(entries) = root.list_dir(rel) else {
        return;
    };
    let has_file = |name: &str| {
        entries
            .iter()
            .any(|(n, k)| n == name && matches!(k, EntryKind::File | EntryKind::Symlink))
    };
    if has_file("modalias") {
        if let Some(found) = read_device(root, rel) {
            out.push(found);
        }
    } else if has_file("idVendor") && has_file("bDeviceClass") {
        out.push(read_usb_device(root, rel));
    }
    for (name, kind) in &entries {
        if *kind != EntryKind::Dir || SKIP_DIRS.contains(&name.as_str()) {
            continue;
        }
        // Sysfs names are ASCII without control characters. Another name (a newline, an
        // escape, bytes that are not UTF-8) made a `sysfs_path` that the probe's own check and
        // the server refuse (found from outside): such a folder is no device, said once.
        if name.chars().any(|c| c.is_control() || !c.is_ascii()) {
            root.warn(
                format!("{rel}/{name}"),
                "not a sysfs name (control or non-ASCII characters); not descended into",
            );
            continue;
        }
        walk(root, &format!("{rel}/{name}"), depth + 1, out);
    }
}

fn dir_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(rel, |(p, _)| p)
}

/// `0x8086` → `8086`, lower case.
fn hex_attr(root: &Root, rel: &str) -> Option<String> {
    let v = root.read_attr(rel)?;
    let v = v.trim_start_matches("0x").to_ascii_lowercase();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        root.warn(rel, format!("expected a hex number, found {v:?}"));
        return None;
    }
    Some(v)
}

fn read_device(root: &Root, rel: &str) -> Option<Found> {
    let modalias_rel = format!("{rel}/modalias");
    let bytes = root.read_bytes(&modalias_rel)?;
    let (text, printable) = crate::root::printable_line(&bytes);
    if text.is_empty() {
        root.warn(&modalias_rel, "empty modalias; device skipped");
        return None;
    }
    let bus = Modalias::parse(&text).ok().map(|m| m.bus().to_owned());
    let valid = printable && bus.is_some() && text.len() <= hcl_data::MAX_MODALIAS;
    let (bus, modalias) = match bus {
        Some(b) if valid => (b, text),
        _ => {
            root.warn(
                &modalias_rel,
                "not a modalias (binary garbage, no bus prefix or too long); device kept as \
                 bus \"unknown\", not matched",
            );
            // Kept (escaped, bounded) so nothing is silently lost, under a bus that validates.
            let kept: String = text.chars().take(hcl_data::MAX_MODALIAS / 2).collect();
            ("unknown".to_owned(), format!("unknown:{kept}"))
        }
    };
    let mut found = Found {
        modalias_valid: valid,
        device: Device {
            bus: bus.clone(),
            modalias,
            sysfs_path: Some(format!("/{rel}")),
            ..Default::default()
        },
        ..Default::default()
    };
    read_driver(root, rel, &mut found);
    match bus.as_str() {
        "pci" => read_pci(root, rel, &mut found.device),
        "usb" => read_usb_interface(root, rel, &mut found),
        "hid" => read_hid(&mut found.device),
        _ => {}
    }
    Some(found)
}

/// Bound driver, its module and whether that module is out-of-tree.
fn read_driver(root: &Root, rel: &str, found: &mut Found) {
    let Some(target) = root.read_link(&format!("{rel}/driver")) else {
        return;
    };
    let driver = dir_name(&target).to_owned();
    if driver.is_empty() {
        return;
    }
    // The link points at ../../bus/<bus>/drivers/<driver>: read the module link there.
    let parts: Vec<&str> = target.split('/').collect();
    let bus_dir = parts
        .windows(4)
        .find(|w| w.first() == Some(&"bus") && w.get(2) == Some(&"drivers"))
        .and_then(|w| w.get(1).copied());
    if let Some(bus_dir) = bus_dir {
        let module_link = format!("sys/bus/{bus_dir}/drivers/{driver}/module");
        if let Some(m) = root.read_link(&module_link) {
            let module = dir_name(&m).replace('-', "_");
            if let Some(taint) = root.read_attr(&format!("sys/module/{module}/taint")) {
                found.tainted_out_of_tree = taint.contains('O');
            }
            found.module = Some(module);
        }
    }
    found.device.driver = Some(driver);
}

fn read_pci(root: &Root, rel: &str, dev: &mut Device) {
    dev.vendor = hex_attr(root, &format!("{rel}/vendor"));
    dev.device = hex_attr(root, &format!("{rel}/device"));
    dev.subvendor = hex_attr(root, &format!("{rel}/subsystem_vendor"));
    dev.subdevice = hex_attr(root, &format!("{rel}/subsystem_device"));
    dev.class = hex_attr(root, &format!("{rel}/class"));
    dev.revision = hex_attr(root, &format!("{rel}/revision"));
    if let Some(target) = root.read_link(&format!("{rel}/iommu_group")) {
        match dir_name(&target).parse() {
            Ok(n) => dev.iommu_group = Some(n),
            Err(_) => root.warn(
                format!("{rel}/iommu_group"),
                format!("link target {target:?} is not a group number"),
            ),
        }
    }
    // Older or hand-made trees: fall back to the modalias for the ids.
    if dev.vendor.is_none() || dev.device.is_none() {
        let (v, d) = modalias_ids(&dev.modalias);
        if let Some(v) = v {
            dev.vendor.get_or_insert(v);
        }
        if let Some(d) = d {
            dev.device.get_or_insert(d);
        }
    }
}

/// Vendor and device ids a modalias names (PCI, USB, HID), as reports write them (`8086`).
fn modalias_ids(m: &str) -> (Option<String>, Option<String>) {
    let Ok(m) = Modalias::parse(m) else {
        return (None, None);
    };
    let (v, d) = match (m.pci(), m.usb(), m.hid()) {
        (Some(p), _, _) => (p.vendor, p.device),
        (_, Some(u), _) => (u.vendor, u.product),
        (_, _, Some(h)) => (h.vendor, h.product),
        _ => (None, None),
    };
    (v.and_then(hex4), d.and_then(hex4))
}

fn read_usb_interface(root: &Root, rel: &str, found: &mut Found) {
    let dev = &mut found.device;
    let up = parent(rel);
    dev.vendor = hex_attr(root, &format!("{up}/idVendor"));
    dev.device = hex_attr(root, &format!("{up}/idProduct"));
    let class = hex_attr(root, &format!("{rel}/bInterfaceClass"));
    let subclass = hex_attr(root, &format!("{rel}/bInterfaceSubClass"));
    let protocol = hex_attr(root, &format!("{rel}/bInterfaceProtocol"));
    dev.class = class.as_ref().map(|c| {
        format!(
            "{c}{}{}",
            subclass.as_deref().unwrap_or("??"),
            protocol.as_deref().unwrap_or("??")
        )
    });
    dev.usb = Some(UsbInfo {
        kind: UsbKind::Interface,
        bcd_device: hex_attr(root, &format!("{up}/bcdDevice")),
        speed: root.read_attr(&format!("{up}/speed")),
        interface_number: hex_attr(root, &format!("{rel}/bInterfaceNumber")),
        interface_class: class,
    });
}

fn read_usb_device(root: &Root, rel: &str) -> Found {
    let vendor = hex_attr(root, &format!("{rel}/idVendor"));
    let product = hex_attr(root, &format!("{rel}/idProduct"));
    let bcd = hex_attr(root, &format!("{rel}/bcdDevice"));
    let class = hex_attr(root, &format!("{rel}/bDeviceClass"));
    let subclass = hex_attr(root, &format!("{rel}/bDeviceSubClass"));
    let protocol = hex_attr(root, &format!("{rel}/bDeviceProtocol"));
    // USB devices have no modalias file: write the device part of their interfaces' one.
    let modalias = format!(
        "usb:v{}p{}d{}dc{}dsc{}dp{}",
        up4(vendor.as_deref()),
        up4(product.as_deref()),
        up4(bcd.as_deref()),
        up2(class.as_deref()),
        up2(subclass.as_deref()),
        up2(protocol.as_deref()),
    );
    let mut found = Found {
        modalias_valid: true,
        device: Device {
            bus: "usb".to_owned(),
            modalias,
            sysfs_path: Some(format!("/{rel}")),
            vendor,
            device: product,
            class: class.clone().map(|c| {
                format!(
                    "{c}{}{}",
                    subclass.as_deref().unwrap_or("??"),
                    protocol.as_deref().unwrap_or("??")
                )
            }),
            usb: Some(UsbInfo {
                kind: UsbKind::Device,
                bcd_device: bcd,
                speed: root.read_attr(&format!("{rel}/speed")),
                interface_number: None,
                interface_class: None,
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    read_driver(root, rel, &mut found);
    found
}

fn up4(v: Option<&str>) -> String {
    format!("{:0>4}", v.unwrap_or("????")).to_ascii_uppercase()
}

fn up2(v: Option<&str>) -> String {
    format!("{:0>2}", v.unwrap_or("??")).to_ascii_uppercase()
}

/// `hid:b0003g0001v0000046Dp0000C52B` → vendor `046d`, product `c52b`.
fn read_hid(dev: &mut Device) {
    (dev.vendor, dev.device) = modalias_ids(&dev.modalias);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_ids_come_from_modalias() {
        assert_eq!(
            modalias_ids("pci:v00008086d000024FDsv00008086sd00000010bc02sc80i00"),
            (Some("8086".into()), Some("24fd".into()))
        );
        assert_eq!(modalias_ids("pci:v0000"), (None, None));
    }

    #[test]
    fn hid_ids_come_from_modalias() {
        let mut d = Device {
            modalias: "hid:b0003g0001v0000046Dp0000C52B".into(),
            ..Default::default()
        };
        read_hid(&mut d);
        assert_eq!(d.vendor.as_deref(), Some("046d"));
        assert_eq!(d.device.as_deref(), Some("c52b"));
        let mut short = Device {
            modalias: "hid:v".into(),
            ..Default::default()
        };
        read_hid(&mut short);
        assert_eq!(short.vendor, None);
    }
}
