//! The IOMMU facts apart: present (the firmware describes one), enabled (the running kernel
//! uses it), interrupt remapping supported (hardware and firmware) and in use (its state).
//!
//! Interrupt remapping's state comes from the names of the interrupt chips in
//! `/proc/interrupts`: the kernel calls them `IR-IO-APIC` and `IR-PCI-MSI...` when interrupts
//! are remapped, for Intel and AMD alike. The VT-d ECAP.IR bit and the DMAR's opt-in flag only
//! say that remapping could be used (a kernel booted with `intremap=off` still shows them); the
//! kernel log would say more but is not readable as a file, and the command line does not say
//! what the kernel decided. Under Xen, Xen owns the IOMMU and the interrupts: all but the
//! tables are hidden from dom0 and reported unknown.

use hcl_data::{HiddenFact, System, Tri, XenInfo, hcl_iommu};

use crate::acpi::Acpi;
use crate::capture::KEEP;
use crate::root::{EntryKind, Root};

/// Sets `iommu_present`, `iommu_enabled`, `interrupt_remapping_supported`, and the HCL's
/// `iommu` and `interrupt_remapping` from them.
pub fn apply(root: &Root, acpi: &Acpi, xen: Option<&XenInfo>, sys: &mut System) {
    // Directories are recorded so that a capture keeps them, empty or not (a capture marks an
    // empty directory with a file that is no entry here).
    let real = |entries: Vec<(String, EntryKind)>| -> Vec<(String, EntryKind)> {
        entries.into_iter().filter(|(n, _)| n != KEEP).collect()
    };
    let units = root.list_dir("sys/class/iommu").map(real);
    if units.is_some() {
        root.exists("sys/class/iommu");
    }
    let units = units.unwrap_or_default();
    let groups = root.list_dir("sys/kernel/iommu_groups").map(real);
    if let Some(groups) = &groups {
        root.exists("sys/kernel/iommu_groups");
        for (g, _) in groups {
            root.exists(&format!("sys/kernel/iommu_groups/{g}"));
        }
    }
    let any_group = groups.as_ref().is_some_and(|g| !g.is_empty());

    let present = match &acpi.listed {
        Some(_) if acpi.dmar_name.is_some() || acpi.ivrs => Tri::Yes,
        Some(_) => Tri::No,
        None if !units.is_empty() => Tri::Yes,
        None => Tri::Unknown,
    };
    let hidden = |f| xen.is_some_and(|x| x.hides(f));
    let enabled = if hidden(HiddenFact::IommuEnabled) {
        Tri::Unknown
    } else if !units.is_empty() || any_group {
        Tri::Yes
    } else if present == Tri::No || groups.is_some() {
        Tri::No
    } else {
        Tri::Unknown
    };

    // Supported: every Intel unit's ECAP.IR and the DMAR's opt-in; AMD-Vi always remaps.
    let mut intel_ir: Option<bool> = None;
    let mut amd = false;
    for (unit, _) in &units {
        let base = format!("sys/class/iommu/{unit}");
        if let Some(ecap) = root.read_attr(&format!("{base}/intel-iommu/ecap")) {
            match u64::from_str_radix(ecap.trim_start_matches("0x"), 16) {
                // VT-d extended capability bit 3: interrupt remapping.
                Ok(v) => intel_ir = Some(intel_ir.unwrap_or(true) && v & (1 << 3) != 0),
                Err(_) => root.warn(
                    format!("{base}/intel-iommu/ecap"),
                    format!("not a hex number: {ecap:?}"),
                ),
            }
        } else if root.exists(&format!("{base}/amd-iommu")) {
            amd = true;
        }
    }
    let opt_in = acpi.dmar.read().map(|d| d.intr_remap);
    let supported = match (intel_ir, opt_in, amd) {
        (_, _, true) => Tri::Yes,
        (Some(false), _, _) | (_, Some(false), _) => Tri::No,
        (Some(true), _, _) | (None, Some(true), _) => Tri::Yes,
        (None, None, false) if present == Tri::No => Tri::No,
        _ => Tri::Unknown,
    };
    let in_use = if hidden(HiddenFact::InterruptRemapping) {
        Tri::Unknown
    } else {
        match remapped_interrupts(root) {
            Some(true) => Tri::Yes,
            Some(false) => Tri::No,
            None if present == Tri::No => Tri::No,
            None => Tri::Unknown,
        }
    };
    sys.iommu_present = Some(present);
    sys.iommu_enabled = Some(enabled);
    sys.interrupt_remapping_supported = Some(supported);
    sys.iommu = hcl_iommu(present, enabled);
    sys.interrupt_remapping = in_use;
}

/// Whether interrupts are remapped: any `IR-` chip in /proc/interrupts. None when the file is
/// missing or holds no interrupt line the probe understands (a warning then).
fn remapped_interrupts(root: &Root) -> Option<bool> {
    const REL: &str = "proc/interrupts";
    let lines = root.read_first_block(REL, 65_536)?;
    let chips = interrupt_chips(&lines);
    if chips.is_empty() {
        root.warn(
            REL,
            "no interrupt line understood; interrupt remapping unknown",
        );
        return None;
    }
    // Captures keep the chip of each interrupt only: device names can be interface names.
    let mut kept = String::from("CPU0\n");
    for (irq, chip) in &chips {
        kept.push_str(&format!("{irq}: 0 {chip}\n"));
    }
    root.record_filtered(REL, kept.into_bytes());
    Some(chips.iter().any(|(_, c)| c.starts_with("IR-")))
}

/// (irq number, chip name) of each numbered interrupt line.
fn interrupt_chips(lines: &[String]) -> Vec<(String, String)> {
    let Some((header, rest)) = lines.split_first() else {
        return Vec::new();
    };
    let cpus = header
        .split_whitespace()
        .filter(|w| w.starts_with("CPU"))
        .count();
    if cpus == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for line in rest {
        let Some((irq, tail)) = line.split_once(':') else {
            continue;
        };
        let irq = irq.trim();
        if irq.is_empty() || !irq.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let mut words = tail.split_whitespace();
        let counts = words
            .by_ref()
            .take(cpus)
            .take_while(|w| w.bytes().all(|b| b.is_ascii_digit()))
            .count();
        let chip = if counts == cpus {
            words.next()
        } else {
            tail.split_whitespace().nth(counts)
        };
        if let Some(chip) = chip
            && chip.bytes().all(|b| b.is_ascii_graphic())
            && !chip.bytes().all(|b| b.is_ascii_digit())
        {
            out.push((irq.to_owned(), chip.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(t: &str) -> Vec<String> {
        t.lines().map(str::to_owned).collect()
    }

    #[test]
    fn chips_of_a_remapped_machine() {
        let t = "           CPU0       CPU1       \n  0:        103          0  IR-IO-APIC   2-edge      timer\n 24:          0          0  DMAR-MSI   0-edge      dmar0\n 25:          0          0  IR-PCI-MSI 32768-edge      xhci_hcd\nNMI:          0          0   Non-maskable interrupts\nERR:          0\n";
        let c = interrupt_chips(&lines(t));
        assert_eq!(
            c,
            vec![
                ("0".into(), "IR-IO-APIC".into()),
                ("24".into(), "DMAR-MSI".into()),
                ("25".into(), "IR-PCI-MSI".into())
            ]
        );
        // The captured form reads the same.
        let kept: String = std::iter::once("CPU0\n".to_string())
            .chain(c.iter().map(|(i, ch)| format!("{i}: 0 {ch}\n")))
            .collect();
        assert_eq!(interrupt_chips(&lines(&kept)), c);
    }

    #[test]
    fn chips_without_remapping_and_garbage() {
        let t = "  CPU0\n  0:  5  IO-APIC  2-edge  timer\n 11:  0  PCI-MSI 512000-edge ahci\n";
        let c = interrupt_chips(&lines(t));
        assert!(c.iter().all(|(_, ch)| !ch.starts_with("IR-")));
        assert_eq!(c.len(), 2);
        assert!(interrupt_chips(&lines("garbage\n\u{1}\u{2}")).is_empty());
        assert!(interrupt_chips(&[]).is_empty());
    }
}
