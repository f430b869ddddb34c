//! Issue 11: passthrough and suspend readiness, the IOMMU facts apart, a Xen dom0, on the QEMU
//! fixtures (a real kernel's reset_method files, IOMMU groups and interrupt chips) and the
//! hand-made ones (what QEMU cannot show); bad input gives unknown with a reason, and garbage a
//! warning.

use std::fs;
use std::path::Path;

use hcl_data::{
    Device, HiddenFact, PassthroughVerdict as V, Report, ResetSource, Tri, XenGuestType,
};
use hcl_probe::output::{Format, TableOptions, render};
use hcl_probe::root::Root;
use hcl_probe::scan::scan;

use crate::common::{catalog, copy_tree, fixture, run_probe, scan_tree};

fn at<'a>(r: &'a Report, address: &str) -> &'a Device {
    r.devices
        .iter()
        .find(|d| {
            d.bus == "pci"
                && d.sysfs_path
                    .as_deref()
                    .is_some_and(|p| p.ends_with(&format!("/{address}")))
        })
        .unwrap_or_else(|| panic!("no PCI device {address}"))
}

fn verdict(r: &Report, address: &str) -> V {
    at(r, address).passthrough.as_ref().unwrap().verdict
}

fn table(r: &Report) -> String {
    render(r, Format::Table, TableOptions::default()).unwrap()
}

#[test]
fn every_pci_device_has_the_passthrough_contract_in_json() {
    let (ok, json, err) = run_probe(&[
        "scan",
        "--root",
        fixture("qemu-q35-usb-laptopish").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut pci = 0;
    for d in v["devices"].as_array().unwrap() {
        let p = &d["passthrough"];
        if d["bus"] != "pci" {
            assert!(p.is_null(), "{d}");
            continue;
        }
        pci += 1;
        assert!(p["reset_methods"].is_array(), "{p}");
        assert!(p["group"].is_array() || p["group"].is_null(), "{p}");
        assert!(p["reason"].as_str().is_some_and(|r| !r.is_empty()), "{p}");
        let verdicts = [
            "unknown",
            "not_isolated",
            "assign_with_group",
            "no_strict_reset",
            "ready",
        ];
        assert!(verdicts.contains(&p["verdict"].as_str().unwrap()), "{p}");
        let me = d["sysfs_path"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        if let Some(g) = p["group"].as_array() {
            assert!(g.iter().all(|a| a != me), "itself excluded: {p}");
        }
    }
    assert!(pci >= 10, "{pci}");
    let s = &v["system"]["suspend"];
    assert_eq!(s["mem_sleep"], serde_json::json!(["s2idle", "deep"]));
    assert_eq!(
        (&s["deep"], &s["low_power_s0"]),
        (&"yes".into(), &"no".into())
    );
}

#[test]
fn qemu_shows_ready_no_strict_reset_grouped_and_not_isolated() {
    let r = scan_tree(&fixture("qemu-q35-usb-laptopish")).report;
    // The root-bus qemu-xhci has no reset method: the kernel shows no reset_method for it.
    let xhci = at(&r, "0000:00:02.0").passthrough.clone().unwrap();
    assert_eq!(xhci.verdict, V::NoStrictReset);
    assert_eq!(xhci.reset_source, ResetSource::Kernel);
    assert!(xhci.reset_methods.is_empty());
    assert_eq!(xhci.group, Some(vec![]));
    // e1000e on the root bus: PM reset, alone in its group.
    let nic = at(&r, "0000:00:03.0").passthrough.clone().unwrap();
    assert_eq!(
        (nic.verdict, nic.reset_methods),
        (V::Ready, vec!["pm".into()])
    );
    // The NEC xHCI alone behind its root port: a bus reset; the root port is not an endpoint.
    let nec = at(&r, "0000:01:00.0").passthrough.clone().unwrap();
    assert_eq!(nec.verdict, V::Ready);
    assert_eq!(nec.reset_methods, vec!["bus".to_owned()]);
    // The conventional e1000 behind the PCIe-to-PCI bridge.
    let old = at(&r, "0000:02:01.0").passthrough.clone().unwrap();
    assert_eq!(old.verdict, V::NotIsolated);
    assert!(old.reason.contains("0000:00:06.0"), "{}", old.reason);
    assert_eq!(old.group, Some(vec!["0000:00:06.0".to_owned()]));
    // The ICH9 functions share a group.
    assert_eq!(verdict(&r, "0000:00:1f.2"), V::AssignWithGroup);
    let t = table(&r);
    assert!(t.contains("sys-usb  needs no-strict-reset"), "{t}");
    assert!(t.contains("sys-net  not isolated"), "{t}");
    assert!(
        t.contains("assumed to exist as the installer creates it"),
        "{t}"
    );
    assert!(t.contains("Suspend  S3 (deep) yes"), "{t}");
}

/// Regression (issue 11): the QEMU fixture booted with intremap=off reported interrupt
/// remapping "yes" from the VT-d capability bit.
#[test]
fn regression_intremap_off_reports_the_state_not_the_capability() {
    let on = scan_tree(&fixture("qemu-q35-usb-laptopish")).report.system;
    let off = scan_tree(&fixture("qemu-q35-intremap-off")).report.system;
    assert_eq!(on.interrupt_remapping, Tri::Yes);
    assert_eq!(off.interrupt_remapping, Tri::No);
    for s in [&on, &off] {
        assert_eq!(s.interrupt_remapping_supported, Some(Tri::Yes));
        assert_eq!(
            (s.iommu_present, s.iommu_enabled),
            (Some(Tri::Yes), Some(Tri::Yes))
        );
        assert_eq!(s.iommu, Tri::Yes);
    }
}

#[test]
fn a_qubes_dom0_says_what_it_cannot_see() {
    let r = scan_tree(&fixture("handmade-xen-qubes-dom0")).report;
    let s = &r.system;
    let x = s.xen.as_ref().expect("Xen detected");
    assert_eq!(x.dom0, Tri::Yes);
    assert_eq!(x.guest_type, Some(XenGuestType::Pv));
    assert_eq!(x.version.as_deref(), Some("4.17.5"));
    assert_eq!(x.qubes_release.as_deref(), Some("4.2.4"));
    assert_eq!(
        x.hidden,
        vec![
            HiddenFact::Slat,
            HiddenFact::IommuEnabled,
            HiddenFact::InterruptRemapping,
            HiddenFact::Memory
        ]
    );
    // HVM from Xen's capabilities although vmx is hidden from the PV dom0's cpuinfo.
    assert_eq!(
        (s.hvm, s.virtualization.as_deref()),
        (Tri::Yes, Some("vt-x"))
    );
    assert_eq!(
        (s.slat, s.interrupt_remapping, s.iommu),
        (Tri::Unknown, Tri::Unknown, Tri::Unknown)
    );
    assert_eq!(
        (s.iommu_present, s.iommu_enabled),
        (Some(Tri::Yes), Some(Tri::Unknown))
    );
    assert_eq!(s.memory_mib, None, "MemTotal is dom0's share");
    let susp = s.suspend.as_ref().unwrap();
    assert_eq!((susp.deep, susp.low_power_s0), (Tri::No, Tri::Yes));
    let wifi = at(&r, "0000:00:14.3").passthrough.clone().unwrap();
    assert_eq!((wifi.verdict, wifi.group), (V::Unknown, None));
    assert_eq!(wifi.reset_methods, vec!["flr".to_owned()]);
    assert!(
        wifi.reason.contains("Xen owns the IOMMU"),
        "{}",
        wifi.reason
    );
    let t = table(&r);
    assert!(
        !t.contains("SLAT no ") && !t.contains("remapping no\n"),
        "{t}"
    );
    assert!(t.contains("SLAT not visible from dom0"), "{t}");
    assert!(t.contains("Xen      4.17.5 PV dom0, Qubes 4.2.4"), "{t}");
    assert!(t.contains("Qubes suspend needs S3"), "{t}");

    let tmp = tempfile::tempdir().unwrap();
    let hcl = tmp.path().join("hcl.yml");
    let (ok, _, err) = run_probe(&[
        "scan",
        "--root",
        fixture("handmade-xen-qubes-dom0").to_str().unwrap(),
        "--qubes-hcl",
        hcl.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let yaml = fs::read_to_string(&hcl).unwrap();
    for want in [
        "bios: |\n  N34ET59W (1.59 )\n",
        "hvm:\n  'yes'\n",
        "slat:\n  'unknown'\n",
        "certified:\n  'no'\n",
        "    qubes: |\n      4.2.4\n",
        "    xen: |\n      4.17.5\n",
        "    kernel: |\n      6.6.63-1\n",
    ] {
        assert!(yaml.contains(want), "{want:?} missing in\n{yaml}");
    }
    // The 00:00.0 host bridge only.
    assert!(
        yaml.contains("chipset: |\n  Intel Corporation Tiger Lake-UP3/H35 4 cores Host Bridge/DRAM Registers [8086:9a14] (rev 01)\nchipset-short"),
        "{yaml}"
    );
}

#[test]
fn a_live_system_leaves_the_dom0_kernel_to_fill_in() {
    let tmp = tempfile::tempdir().unwrap();
    let hcl = tmp.path().join("hcl.yml");
    let (ok, _, err) = run_probe(&[
        "scan",
        "--root",
        fixture("qemu-q35-usb-laptopish").to_str().unwrap(),
        "--qubes-hcl",
        hcl.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let yaml = fs::read_to_string(&hcl).unwrap();
    assert!(yaml.contains("    kernel: |\n      FIXME\n"), "{yaml}");
    assert!(
        !yaml.contains("6.1.0-50"),
        "the live kernel is not Qubes' dom0 kernel: {yaml}"
    );
    assert!(yaml.contains("bios: |\n  1.2.3\n"), "{yaml}");
    // lspci leaves out a zero revision.
    assert!(
        yaml.contains("chipset: |\n  Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller [8086:29c0]\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("scsi: |\n  QEMU HARDDISK    Rev: 2.5+\n"),
        "{yaml}"
    );
}

#[test]
fn shared_rmrr_usb_controllers_are_not_isolated() {
    let r = scan_tree(&fixture("handmade-rmrr-shared-ehci")).report;
    for usb in ["0000:00:1a.0", "0000:00:1d.0", "0000:00:14.0"] {
        let p = at(&r, usb).passthrough.clone().unwrap();
        assert_eq!(p.verdict, V::NotIsolated, "{usb}: {}", p.reason);
        assert!(p.reason.contains("shared RMRR"), "{}", p.reason);
    }
    let gpu = at(&r, "0000:00:02.0").passthrough.clone().unwrap();
    assert_eq!(gpu.verdict, V::Ready);
    assert!(
        gpu.reason.contains("RMRR reserves memory for it alone"),
        "{}",
        gpu.reason
    );
    // Alone behind its root port: the root port in its group is a bridge, not an endpoint.
    assert_eq!(verdict(&r, "0000:03:00.0"), V::Ready);
    assert_eq!(verdict(&r, "0000:00:19.0"), V::Ready);
    assert_eq!(verdict(&r, "0000:00:1f.2"), V::AssignWithGroup);
}

#[test]
fn without_reset_method_files_the_config_space_decides() {
    let r = scan_tree(&fixture("handmade-amd-kernel-4.19-config-space")).report;
    let nic = at(&r, "0000:01:00.0").passthrough.clone().unwrap();
    assert_eq!(nic.reset_source, ResetSource::ConfigSpace);
    assert_eq!(
        (nic.verdict, nic.reset_methods),
        (V::Ready, vec!["bus".into()])
    );
    let xhci = at(&r, "0000:05:00.3").passthrough.clone().unwrap();
    assert_eq!(xhci.verdict, V::AssignWithGroup);
    assert!(xhci.reset_methods.is_empty());
    assert_eq!(verdict(&r, "0000:03:04.0"), V::NotIsolated);
    let s = &r.system;
    assert_eq!(
        (s.interrupt_remapping, s.interrupt_remapping_supported),
        (Tri::Yes, Some(Tri::Yes))
    );
}

// --- bad input -----------------------------------------------------------------------------

fn scan_with_warnings(root: &Path) -> (Report, Vec<String>) {
    let s = scan(&Root::new(root), catalog()).expect("a report is produced");
    s.report.validate().expect("still a valid report");
    (
        s.report,
        s.warnings.iter().map(ToString::to_string).collect(),
    )
}

fn copy_of(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture(name), tmp.path());
    tmp
}

const AMD_NIC: &str = "sys/devices/pci0000:00/0000:00:01.2/0000:01:00.0";
const QEMU_NIC: &str = "sys/devices/pci0000:00/0000:00:03.0";

#[test]
fn garbage_reset_method_is_a_warning_and_unknown() {
    let tmp = copy_of("qemu-q35-usb-laptopish");
    fs::write(
        tmp.path().join(QEMU_NIC).join("reset_method"),
        b"pm \x01\x02\n",
    )
    .unwrap();
    let (r, w) = scan_with_warnings(tmp.path());
    let p = at(&r, "0000:00:03.0").passthrough.clone().unwrap();
    assert_eq!(
        (p.verdict, p.reset_source),
        (V::Unknown, ResetSource::Unknown)
    );
    assert!(p.reason.contains("not a list of methods"), "{}", p.reason);
    assert!(w.iter().any(|w| w.contains("reset_method")), "{w:?}");
}

#[test]
fn an_unreadable_reset_method_is_unknown_not_none() {
    let tmp = copy_of("qemu-q35-usb-laptopish");
    let file = tmp.path().join(QEMU_NIC).join("reset_method");
    fs::remove_file(&file).unwrap();
    // A FIFO: there, but not readable as a file (permissions do not stop root).
    let made = std::process::Command::new("mkfifo")
        .arg(&file)
        .status()
        .unwrap();
    assert!(made.success());
    let (r, w) = scan_with_warnings(tmp.path());
    let p = at(&r, "0000:00:03.0").passthrough.clone().unwrap();
    assert_eq!(p.verdict, V::Unknown, "{}", p.reason);
    assert!(p.reason.contains("not readable"), "{}", p.reason);
    assert!(w.iter().any(|w| w.contains("reset_method")), "{w:?}");
}

#[test]
fn missing_or_short_config_space_is_unknown_with_the_reason() {
    let tmp = copy_of("handmade-amd-kernel-4.19-config-space");
    let cfg = tmp.path().join(AMD_NIC).join("config");
    let full = fs::read(&cfg).unwrap();
    // What a scan without root sees: the 64-byte header.
    fs::write(&cfg, &full[..64]).unwrap();
    let (r, w) = scan_with_warnings(tmp.path());
    let p = at(&r, "0000:01:00.0").passthrough.clone().unwrap();
    assert_eq!(p.verdict, V::Unknown);
    assert!(p.reason.contains("need root"), "{}", p.reason);
    assert!(
        !w.iter().any(|w| w.contains("config")),
        "not garbage: {w:?}"
    );
    fs::remove_file(&cfg).unwrap();
    let (r, _) = scan_with_warnings(tmp.path());
    let p = at(&r, "0000:01:00.0").passthrough.clone().unwrap();
    assert_eq!(p.verdict, V::Unknown);
    assert!(p.reason.contains("not readable"), "{}", p.reason);
}

#[test]
fn garbage_config_space_and_acpi_tables_are_warnings() {
    let tmp = copy_of("handmade-amd-kernel-4.19-config-space");
    fs::write(tmp.path().join(AMD_NIC).join("config"), [0xffu8; 256]).unwrap();
    let tables = tmp.path().join("sys/firmware/acpi/tables");
    fs::write(tables.join("FACP"), b"FACPgarbage").unwrap();
    let (r, w) = scan_with_warnings(tmp.path());
    assert_eq!(verdict(&r, "0000:01:00.0"), V::Unknown);
    assert!(w.iter().any(|w| w.contains("0000:01:00.0/config")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("FACP")), "{w:?}");
    assert_eq!(
        r.system.suspend.as_ref().unwrap().low_power_s0,
        Tri::Unknown
    );

    let tmp = copy_of("handmade-rmrr-shared-ehci");
    let dmar = tmp.path().join("sys/firmware/acpi/tables/DMAR");
    let mut bytes = fs::read(&dmar).unwrap();
    bytes[4] = 0xff; // longer than the file
    fs::write(&dmar, &bytes).unwrap();
    let (r, w) = scan_with_warnings(tmp.path());
    assert!(w.iter().any(|w| w.contains("DMAR")), "{w:?}");
    let p = at(&r, "0000:00:1a.0").passthrough.clone().unwrap();
    assert_ne!(p.verdict, V::NotIsolated, "no RMRR is guessed");
    assert!(p.reason.contains("RMRRs not checked"), "{}", p.reason);
}

#[test]
fn garbage_in_sys_power_is_a_warning() {
    let tmp = copy_of("qemu-q35-usb-laptopish");
    fs::write(
        tmp.path().join("sys/power/mem_sleep"),
        b"s2idle [de\xffep]\n",
    )
    .unwrap();
    let (r, w) = scan_with_warnings(tmp.path());
    assert!(w.iter().any(|w| w.contains("mem_sleep")), "{w:?}");
    assert_eq!(r.system.suspend.as_ref().unwrap().deep, Tri::Unknown);
}

/// Captures keep 256 bytes of configuration space at most, and no VPD or vendor-specific
/// capability: the Device Serial Number (extended space) and VPD data never reach a capture.
#[test]
fn capture_keeps_no_config_space_beyond_what_is_read() {
    let tmp = copy_of("handmade-amd-kernel-4.19-config-space");
    let cfg = tmp.path().join(AMD_NIC).join("config");
    let mut bytes = fs::read(&cfg).unwrap();
    // A VPD capability holding part of a serial number, chained after the existing ones.
    let last = 0x80;
    assert_eq!(bytes[last + 1], 0);
    bytes[last + 1] = 0xc0;
    bytes[0xc0] = 0x03;
    bytes[0xc4..0xc8].copy_from_slice(b"SN42");
    // Extended space with a Device Serial Number capability (id 0x0003).
    bytes.resize(4096, 0);
    bytes[0x100..0x104].copy_from_slice(&[0x03, 0x00, 0x01, 0x00]);
    bytes[0x104..0x10c].copy_from_slice(b"DSNDSN42");
    fs::write(&cfg, &bytes).unwrap();
    let out = tempfile::tempdir().unwrap();
    let cap = out.path().join("cap");
    let (ok, _, err) = run_probe(&[
        "capture",
        "--root",
        tmp.path().to_str().unwrap(),
        "-o",
        cap.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let kept = fs::read(cap.join(AMD_NIC).join("config")).unwrap();
    assert_eq!(kept.len(), 256);
    assert!(!kept.windows(4).any(|w| w == b"SN42"), "VPD data captured");
    let a = scan_tree(tmp.path()).report;
    let b = scan_tree(&cap).report;
    assert_eq!(
        at(&a, "0000:01:00.0").passthrough,
        at(&b, "0000:01:00.0").passthrough
    );
    // /proc/interrupts keeps chips only, the DMAR its RMRRs, the FADT its flags.
    let interrupts = fs::read_to_string(cap.join("proc/interrupts")).unwrap();
    assert!(!interrupts.contains("enp1s0"), "{interrupts}");
    assert_eq!(
        fs::read(cap.join("sys/firmware/acpi/tables/FACP"))
            .unwrap()
            .len(),
        116
    );
}

#[test]
fn old_captures_read_as_unknown_not_as_guesses() {
    // dev-vm-firecracker was captured before reset_method, config space and sys/power were.
    let r = scan_tree(&fixture("dev-vm-firecracker")).report;
    for d in r.devices.iter().filter(|d| d.bus == "pci") {
        let p = d.passthrough.as_ref().unwrap();
        assert_eq!(p.verdict, V::Unknown, "{}", p.reason);
    }
    let s = r.system.suspend.unwrap();
    assert_eq!((s.deep, s.low_power_s0), (Tri::Unknown, Tri::Unknown));
}
