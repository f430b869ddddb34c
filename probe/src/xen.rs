//! Running under Xen: a Qubes dom0 (or a VM). Xen owns the IOMMU and the interrupts, hides
//! vmx/svm and EPT/NPT from a PV dom0, and gives dom0 only its share of memory: those facts are
//! reported unknown and named as hidden, never "no". What Xen does show is used: its version,
//! and HVM from `/sys/hypervisor/properties/capabilities` (Xen's `xen_caps`, what
//! `qubes-hcl-report` reads through `xl info`).
//!
//! `/sys/hypervisor/uuid` (the domain's UUID) is never opened.

use hcl_data::{HiddenFact, System, Tri, XenGuestType, XenInfo};

use crate::acpi::Acpi;
use crate::root::Root;

/// Xen's facts when the probe runs under Xen, else None.
pub fn detect(root: &Root, acpi: &Acpi) -> Option<XenInfo> {
    let hypervisor = root.read_attr("sys/hypervisor/type");
    let proc_xen = root.exists("proc/xen");
    if hypervisor.as_deref() != Some("xen") && !proc_xen {
        return None;
    }
    let caps = root.read_attr("proc/xen/capabilities");
    let dom0 = match caps.as_deref() {
        Some(c) if c.split(',').any(|w| w.trim() == "control_d") => Tri::Yes,
        Some(_) => Tri::No,
        // Xen renames the DMAR it takes; only dom0 sees the machine's ACPI tables.
        None if acpi.dmar_name.as_deref() == Some("XMAR") => Tri::Yes,
        None => Tri::Unknown,
    };
    let guest_type = root
        .read_attr("sys/hypervisor/guest_type")
        .and_then(|t| match t.as_str() {
            "PV" => Some(XenGuestType::Pv),
            "PVH" => Some(XenGuestType::Pvh),
            "HVM" => Some(XenGuestType::Hvm),
            other => {
                root.warn(
                    "sys/hypervisor/guest_type",
                    format!("unknown guest type {other:?}"),
                );
                None
            }
        });
    let major = root.read_attr("sys/hypervisor/version/major");
    let minor = root.read_attr("sys/hypervisor/version/minor");
    let extra = root.read_attr("sys/hypervisor/version/extra");
    let version = match (major, minor) {
        (Some(a), Some(b)) => Some(format!("{a}.{b}{}", extra.unwrap_or_default())),
        _ => None,
    };
    let qubes_release = root
        .read_attr("etc/qubes-release")
        .and_then(|t| qubes_release(&t));
    let hidden = vec![
        HiddenFact::Slat,
        HiddenFact::IommuEnabled,
        HiddenFact::InterruptRemapping,
        HiddenFact::Memory,
    ];
    Some(XenInfo {
        dom0,
        guest_type,
        version,
        qubes_release,
        hidden,
    })
}

/// `Qubes release 4.2.4 (R4.2)` → `4.2.4`, the word qubes-hcl-report takes.
fn qubes_release(text: &str) -> Option<String> {
    let word = text.lines().next()?.split_whitespace().nth(2)?;
    (word.len() <= 32
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
    .then(|| word.to_owned())
}

/// Replaces what dom0 cannot see with unknown, and takes HVM from Xen's capabilities.
pub fn apply(root: &Root, mut xen: XenInfo, sys: &mut System) {
    if let Some(caps) = root.read_attr("sys/hypervisor/properties/capabilities") {
        let hvm = caps.split_whitespace().any(|c| c.starts_with("hvm-"));
        sys.hvm = if hvm { Tri::Yes } else { Tri::No };
        sys.virtualization = hvm.then(|| cpu_vendor_technology(root)).flatten();
    } else {
        sys.hvm = Tri::Unknown;
        sys.virtualization = None;
        xen.hidden.insert(0, HiddenFact::Hvm);
    }
    if xen.hides(HiddenFact::Slat) {
        sys.slat = Tri::Unknown;
    }
    if xen.hides(HiddenFact::Memory) {
        sys.memory_mib = None;
    }
    sys.xen = Some(xen);
}

/// `vt-x` or `amd-v` from the CPU vendor (the flags that say it are hidden under Xen).
fn cpu_vendor_technology(root: &Root) -> Option<String> {
    let lines = root.read_first_block("proc/cpuinfo", 64)?;
    let vendor = lines
        .iter()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == "vendor_id"))
        .map(|(_, v)| v.trim().to_owned())?;
    match vendor.as_str() {
        "GenuineIntel" => Some("vt-x".into()),
        "AuthenticAMD" | "HygonGenuine" => Some("amd-v".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qubes_release_word() {
        assert_eq!(
            qubes_release("Qubes release 4.2.4 (R4.2)\n").as_deref(),
            Some("4.2.4")
        );
        assert_eq!(qubes_release("Qubes"), None);
        assert_eq!(qubes_release("Qubes release 4.2;rm (R4)"), None);
    }
}
