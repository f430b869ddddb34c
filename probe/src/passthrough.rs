//! Passthrough readiness of every PCI device: its reset methods, the other devices of its
//! IOMMU group, whether it is conventional PCI behind a PCIe-to-PCI bridge, and whether a
//! firmware RMRR ties it to other devices. The verdict is [`hcl_data::PassthroughFacts::judge`].
//!
//! Reset methods come from the kernel's `reset_method` files when the running kernel shows one
//! for any device (Linux 5.15+ and backports: a device without the file then has none);
//! otherwise from the configuration space when it is readable (root): FLR in the PCIe device
//! capabilities, Advanced Features FLR, a PM reset (NoSoftRst clear), or a bus reset when the
//! device is alone behind its bridge; otherwise they are unknown.

use std::collections::BTreeMap;

use hcl_data::{GroupMember, HiddenFact, PassthroughFacts, ResetSource, System, Tri};

use crate::acpi::{Acpi, Dmar, Table};
use crate::pci_config::{self, Caps, PCIE_TO_PCI_BRIDGE, Unreadable};
use crate::root::{EntryKind, Root};
use crate::sysfs::Found;

/// One PCI device as this module sees it.
struct Pci {
    /// Index into the found devices.
    index: usize,
    /// `sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0`
    rel: String,
    /// `0000:02:00.0`
    address: String,
    /// Address of the PCI device above it (its bridge), if any.
    parent: Option<String>,
    class: String,
    group: Option<u32>,
    caps: Result<Caps, Unreadable>,
    /// The `reset_method` file: None when absent, Some(None) when present but unreadable.
    reset_file: Option<Option<String>>,
}

/// `0000:00:14.0`: domain, bus, device, function.
fn pci_address(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 12
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b':',
            10 => *c == b'.',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Fills `passthrough` on every PCI device.
pub fn apply(root: &Root, acpi: &Acpi, system: &System, found: &mut [Found]) {
    let mut devices: Vec<Pci> = Vec::new();
    for (index, f) in found.iter().enumerate() {
        let d = &f.device;
        if d.bus != "pci" {
            continue;
        }
        let Some(rel) = d.sysfs_path.as_deref().map(|p| p.trim_start_matches('/')) else {
            continue;
        };
        let (up, address) = rel.rsplit_once('/').unwrap_or(("", rel));
        let parent = up
            .rsplit('/')
            .next()
            .filter(|p| pci_address(p))
            .map(str::to_owned);
        let listed = root.list_dir(rel).unwrap_or_default();
        let reset_file = listed
            .iter()
            .any(|(n, k)| n == "reset_method" && *k != EntryKind::Dir)
            .then(|| root.read_attr(&format!("{rel}/reset_method")));
        devices.push(Pci {
            index,
            rel: rel.to_owned(),
            address: address.to_owned(),
            parent,
            class: d.class.clone().unwrap_or_default(),
            group: d.iommu_group,
            caps: read_config(root, rel),
            reset_file,
        });
    }
    let kernel_lists = devices.iter().any(|p| p.reset_file.is_some());
    let any_group = devices.iter().any(|p| p.group.is_some());
    let by_address: BTreeMap<&str, &Pci> =
        devices.iter().map(|p| (p.address.as_str(), p)).collect();
    let no_group_note = no_group_note(system, any_group);
    let rmrr = rmrr_bindings(acpi, &devices);
    let rmrr_note = rmrr_unchecked(acpi);

    let mut out = Vec::new();
    for p in &devices {
        let mut facts = PassthroughFacts::default();
        reset_facts(root, p, &devices, kernel_lists, &mut facts);
        match p.group {
            Some(n) => {
                let members = devices
                    .iter()
                    .filter(|o| o.group == Some(n) && o.address != p.address)
                    .map(|o| GroupMember {
                        address: o.address.clone(),
                        endpoint: !is_bridge_class(&o.class),
                    })
                    .collect();
                facts.group = Some((n, members));
            }
            None => {
                facts.group_note = if any_group {
                    "the IOMMU does not cover it (no iommu_group)".into()
                } else {
                    no_group_note.clone()
                };
            }
        }
        // Other functions of the same device that the IOMMU keeps apart (ACS): worth knowing
        // when they go to different VMs.
        let siblings: Vec<&str> = devices
            .iter()
            .filter(|o| {
                o.address != p.address
                    && o.parent == p.parent
                    && o.address.get(..10) == p.address.get(..10)
                    && !is_bridge_class(&o.class)
                    && p.group.is_some()
                    && o.group != p.group
            })
            .map(|o| o.address.as_str())
            .collect();
        if !siblings.is_empty() {
            facts.notes.push(format!(
                "other functions of the same device, in IOMMU groups of their own: {}",
                siblings.join(", ")
            ));
        }
        match conventional_behind(p, &by_address) {
            Ok(bridge) => facts.behind_pci_bridge = bridge,
            Err(why) if facts.reset_source == ResetSource::Kernel => facts
                .notes
                .push(format!("not checked for a PCIe-to-PCI bridge: {why}")),
            Err(_) => {}
        }
        match rmrr.get(p.address.as_str()) {
            Some(others) if !others.is_empty() => facts.shared_rmrr_with = others.clone(),
            Some(_) => facts.notes.push(
                "a firmware RMRR reserves memory for it alone (Xen maps it into the VM)".into(),
            ),
            None => {}
        }
        if let Some(note) = &rmrr_note
            && !is_bridge_class(&p.class)
        {
            facts.notes.push(note.clone());
        }
        out.push((p.index, facts.judge()));
    }
    for (index, pt) in out {
        if let Some(f) = found.get_mut(index) {
            f.device.passthrough = Some(pt);
        }
    }
}

/// The configuration space's capabilities; captures keep only what is parsed here.
fn read_config(root: &Root, rel: &str) -> Result<Caps, Unreadable> {
    let path = format!("{rel}/config");
    let Some(bytes) = root.read_prefix(&path, pci_config::LOOKED_AT) else {
        return Err(Unreadable::Short(0));
    };
    root.record_filtered(&path, pci_config::captured_form(&bytes));
    let caps = pci_config::parse(&bytes);
    if let Err(Unreadable::Garbage(why)) = &caps {
        root.warn(&path, format!("not a PCI configuration space: {why}"));
    }
    caps
}

/// Host bridges and PCI-to-PCI bridges are never handed to a VM.
fn is_bridge_class(class: &str) -> bool {
    matches!(class.get(..4), Some("0600" | "0604" | "0609"))
}

fn reset_facts(
    root: &Root,
    p: &Pci,
    all: &[Pci],
    kernel_lists: bool,
    facts: &mut PassthroughFacts,
) {
    let file = format!("{}/reset_method", p.rel);
    if kernel_lists {
        facts.reset_source = ResetSource::Kernel;
        match &p.reset_file {
            None => {
                facts.reset_methods = Some(Vec::new());
                facts.reset_note = "the kernel lists none".into();
            }
            Some(None) => facts.reset_note = "its reset_method file is not readable".into(),
            Some(Some(text)) => match reset_names(text) {
                Some(names) => {
                    facts.reset_methods = Some(names);
                    facts.reset_note = "as the kernel lists them".into();
                }
                None => {
                    root.warn(&file, "not a list of reset method names; methods unknown");
                    facts.reset_note = "its reset_method file is not a list of methods".into();
                }
            },
        }
        return;
    }
    match &p.caps {
        Ok(caps) => {
            let mut methods = Vec::new();
            if caps.pcie.is_some_and(|e| e.flr) {
                methods.push("flr".to_owned());
            }
            if caps.af_flr {
                methods.push("af".to_owned());
            }
            if caps.pm_reset == Some(true) {
                methods.push("pm".to_owned());
            }
            if alone_behind_bridge(p, all) {
                methods.push("bus".to_owned());
            }
            facts.reset_source = ResetSource::ConfigSpace;
            facts.reset_methods = Some(methods);
            facts.reset_note = "read from the configuration space, as no device shows a \
                                reset_method file; the kernel may also know a device-specific \
                                or ACPI reset"
                .into();
        }
        Err(why) => {
            facts.reset_note = format!(
                "no device shows a reset_method file and {}",
                match why {
                    Unreadable::Short(0) => "its configuration space is not readable".to_owned(),
                    other => other.describe(),
                }
            );
        }
    }
}

/// `flr bus` → [`flr`, `bus`]; None when it is not such a list.
fn reset_names(text: &str) -> Option<Vec<String>> {
    let names: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    let ok = names.iter().all(|n| {
        n.len() <= 32
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    ok.then_some(names)
}

/// The kernel's bus reset: not on a root bus, not a bridge itself, the only device on its bus.
fn alone_behind_bridge(p: &Pci, all: &[Pci]) -> bool {
    let Some(parent) = &p.parent else {
        return false;
    };
    let bridge = p.caps.as_ref().is_ok_and(|c| c.bridge);
    !bridge
        && all
            .iter()
            .filter(|o| o.parent.as_ref() == Some(parent))
            .count()
            == 1
}

/// The PCIe-to-PCI bridge a conventional PCI device sits behind; an error when its
/// configuration space (or a bridge's) cannot say.
fn conventional_behind(
    p: &Pci,
    by_address: &BTreeMap<&str, &Pci>,
) -> Result<Option<String>, String> {
    let caps = p.caps.as_ref().map_err(|e| match e {
        Unreadable::Short(0) => "its configuration space is not readable".to_owned(),
        other => other.describe(),
    })?;
    if caps.pcie.is_some() {
        return Ok(None);
    }
    let mut up = p.parent.as_deref();
    while let Some(addr) = up {
        let Some(bridge) = by_address.get(addr) else {
            return Ok(None);
        };
        match &bridge.caps {
            Ok(c) => match c.pcie {
                Some(e) if e.port_type == PCIE_TO_PCI_BRIDGE => return Ok(Some(addr.to_owned())),
                Some(_) => return Ok(None),
                None => up = bridge.parent.as_deref(),
            },
            Err(_) => {
                return Err(format!(
                    "the configuration space of its bridge {addr} is not readable"
                ));
            }
        }
    }
    Ok(None)
}

/// For every device an RMRR names: the other devices that RMRR names.
fn rmrr_bindings(acpi: &Acpi, devices: &[Pci]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Some(dmar) = acpi.dmar.read() else {
        return out;
    };
    for rmrr in &dmar.rmrrs {
        let named: Vec<String> = rmrr
            .scopes
            .iter()
            .map(|s| resolve_scope(rmrr.segment, s, devices))
            .collect();
        for (i, a) in named.iter().enumerate() {
            let others: Vec<String> = named
                .iter()
                .enumerate()
                .filter(|(j, o)| *j != i && *o != a)
                .map(|(_, o)| o.clone())
                .collect();
            let entry = out.entry(a.clone()).or_default();
            for o in others {
                if !entry.contains(&o) {
                    entry.push(o);
                }
            }
        }
    }
    out
}

/// The PCI address a device scope names: each step below the first goes through the bridge
/// found at the step before, to the bus its children sit on.
fn resolve_scope(segment: u16, scope: &crate::acpi::Scope, devices: &[Pci]) -> String {
    let mut bus = scope.start_bus;
    let mut address = String::new();
    for (i, &(dev, func)) in scope.path.iter().enumerate() {
        address = format!("{segment:04x}:{bus:02x}:{dev:02x}.{func:x}");
        if i + 1 == scope.path.len() {
            break;
        }
        let child_bus = devices
            .iter()
            .find(|d| d.parent.as_deref() == Some(address.as_str()))
            .and_then(|d| u8::from_str_radix(d.address.get(5..7)?, 16).ok());
        match child_bus {
            Some(b) => bus = b,
            // Nothing behind that bridge now: the scope names no present device.
            None => return format!("{address} (behind it)"),
        }
    }
    address
}

/// A note for every device when RMRRs could matter but could not be read.
fn rmrr_unchecked(acpi: &Acpi) -> Option<String> {
    let name = acpi.dmar_name.as_deref().unwrap_or("DMAR");
    match &acpi.dmar {
        Table::Read(Dmar { .. }) | Table::Absent => None,
        // AMD machines have no DMAR; the IVRS's unity-mapped ranges are not checked.
        Table::Unlisted => None,
        other => Some(format!("RMRRs not checked: {}", other.why_not(name))),
    }
}

fn no_group_note(system: &System, any_group: bool) -> String {
    if any_group {
        return String::new();
    }
    if system
        .xen
        .as_ref()
        .is_some_and(|x| x.hides(HiddenFact::IommuEnabled))
    {
        return "Xen owns the IOMMU, so Linux under Xen shows no IOMMU groups".into();
    }
    match (system.iommu_present, system.iommu_enabled) {
        (Some(Tri::No), _) => "the firmware describes no IOMMU (no DMAR or IVRS table)".into(),
        (Some(Tri::Yes), Some(Tri::No)) => "the running kernel does not use the IOMMU, so it \
             made no groups (boot it with intel_iommu=on, or amd_iommu=on, to see them)"
            .into(),
        _ => "no IOMMU groups in sysfs".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_reset_names() {
        assert!(pci_address("0000:00:14.0"));
        assert!(!pci_address("pci0000:00"));
        assert!(!pci_address("0000:00:14"));
        assert_eq!(
            reset_names("flr bus\n"),
            Some(vec!["flr".to_owned(), "bus".to_owned()])
        );
        assert_eq!(reset_names(""), Some(vec![]));
        assert_eq!(reset_names("flr \\x01"), None);
        assert_eq!(reset_names("FLR"), None);
    }
}
