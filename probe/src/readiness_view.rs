//! The readiness parts of the table: IOMMU and interrupt remapping as seen (or not seen from a
//! Xen dom0), suspend, and the passthrough of every device Qubes hands to sys-net or sys-usb.

use std::fmt::Write as _;

use hcl_data::{Device, HiddenFact, PassthroughVerdict, Report, ServiceVm, System, Tri};

const HIDDEN: &str = "not visible from dom0";

fn tri(t: Tri) -> &'static str {
    t.as_str()
}

fn hidden(s: &System, f: HiddenFact) -> bool {
    s.xen.as_ref().is_some_and(|x| x.hides(f))
}

pub fn hvm(s: &System) -> String {
    if hidden(s, HiddenFact::Hvm) {
        return HIDDEN.into();
    }
    tri(s.hvm).into()
}

pub fn slat(s: &System) -> String {
    if hidden(s, HiddenFact::Slat) {
        return HIDDEN.into();
    }
    tri(s.slat).into()
}

/// `yes`, or present and enabled apart when they differ.
pub fn iommu(s: &System) -> String {
    let (Some(present), Some(enabled)) = (s.iommu_present, s.iommu_enabled) else {
        return tri(s.iommu).into();
    };
    match (present, enabled) {
        (Tri::Yes, Tri::Yes) => "yes".into(),
        (Tri::No, _) => "no (no DMAR/IVRS table)".into(),
        (Tri::Yes, Tri::Unknown) if hidden(s, HiddenFact::IommuEnabled) => {
            format!("table present, enabled {HIDDEN}")
        }
        (p, Tri::Unknown) if hidden(s, HiddenFact::IommuEnabled) => {
            format!("table {}, enabled {HIDDEN}", tri(p))
        }
        (Tri::Yes, Tri::No) => "table present, off in the running kernel".into(),
        (p, e) => format!("table {}, enabled {}", tri(p), tri(e)),
    }
}

/// The state, with the capability when it says more.
pub fn interrupt_remapping(s: &System) -> String {
    if hidden(s, HiddenFact::InterruptRemapping) {
        return HIDDEN.into();
    }
    match (s.interrupt_remapping, s.interrupt_remapping_supported) {
        (Tri::No, Some(Tri::Yes)) => "no (supported, not enabled by the running kernel)".into(),
        (Tri::Unknown, Some(Tri::Yes)) => "unknown (supported)".into(),
        (t, _) => tri(t).into(),
    }
}

pub fn memory(s: &System) -> String {
    if hidden(s, HiddenFact::Memory) {
        return format!("{HIDDEN} (dom0 has its share only)");
    }
    s.memory_mib
        .map_or("unknown".to_owned(), |m| format!("{m} MiB"))
}

/// The Xen and suspend lines under the machine facts.
pub fn system_lines(o: &mut String, s: &System) {
    if let Some(x) = &s.xen {
        let role = match x.dom0 {
            Tri::Yes => "dom0",
            Tri::No => "a VM (domU): the facts are the VM's",
            Tri::Unknown => "dom0 or a VM",
        };
        let kind = x
            .guest_type
            .map(|t| format!(" {}", t.name()))
            .unwrap_or_default();
        let qubes = x
            .qubes_release
            .as_ref()
            .map(|r| format!(", Qubes {r}"))
            .unwrap_or_default();
        let names: Vec<&str> = x.hidden.iter().map(|f| f.label()).collect();
        let _ = writeln!(
            o,
            "Xen      {}{kind} {role}{qubes} · {} cannot be seen from here (xl info and xl \
             dmesg in dom0 show them)",
            x.version.as_deref().unwrap_or("(version unknown)"),
            names.join(", ")
        );
    }
    if let Some(sp) = &s.suspend {
        let offered = sp.mem_sleep_text();
        let _ = writeln!(
            o,
            "Suspend  S3 (deep) {} · mem_sleep {offered} · FADT low-power S0 idle {}{}",
            tri(sp.deep),
            tri(sp.low_power_s0),
            if sp.deep == Tri::No {
                " · Qubes suspend needs S3; s2idle alone often fails"
            } else {
                ""
            }
        );
    }
}

/// One line per device Qubes hands to sys-net or sys-usb: ready, needs no-strict-reset, must
/// go with which others, or why not / not known.
pub fn passthrough_section(o: &mut String, r: &Report, label: impl Fn(&Device) -> String) {
    let wanted: Vec<(&Device, ServiceVm)> = r
        .devices
        .iter()
        .filter(|d| d.bus == "pci")
        .filter_map(|d| Some((d, ServiceVm::for_pci_class(d.class.as_deref()?)?)))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Qubes passthrough (network controllers go to sys-net; USB controllers to sys-usb, \
         assumed to exist as the installer creates it)"
    );
    let address_of = |d: &Device| {
        d.sysfs_path
            .as_deref()
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or("")
            .to_owned()
    };
    for (d, vm) in wanted {
        let Some(p) = &d.passthrough else {
            let _ = writeln!(o, "{:<44} {:<8} not assessed", label(d), vm.name());
            continue;
        };
        let summary = match p.verdict {
            PassthroughVerdict::AssignWithGroup => {
                let with: Vec<String> = p
                    .group
                    .iter()
                    .flatten()
                    .filter(|a| {
                        r.devices.iter().any(|x| {
                            address_of(x) == **a
                                && !x.class.as_deref().is_some_and(hcl_data::is_bridge_class)
                        })
                    })
                    .map(|a| a.strip_prefix("0000:").unwrap_or(a).to_owned())
                    .collect();
                format!("must go with {}", with.join(", "))
            }
            v => v.label().to_owned(),
        };
        let _ = writeln!(o, "{:<44} {:<8} {summary}", label(d), vm.name());
        if p.verdict != PassthroughVerdict::Ready {
            let _ = writeln!(o, "{:<44}   {}", "", p.reason);
        }
    }
}
