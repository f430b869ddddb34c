//! System facts and driver details from synthetic trees: UEFI with Secure Boot, TPM 2.0, an
//! AMD IOMMU, DMI placeholders, an out-of-tree driver (nvidia).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use hcl_data::Tri;
use hcl_probe::output::{Format, TableOptions, render};

use crate::common::scan_tree;

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

const GPU: &str = "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";

fn amd_uefi_tree(root: &Path) {
    write(root, "proc/cpuinfo", b"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD Ryzen 7 5800U\nflags\t\t: fpu svm npt\n\nprocessor\t: 1\nmodel name\t: second\n");
    write(
        root,
        "proc/meminfo",
        b"MemTotal:       16318464 kB\nMemFree: 1 kB\n",
    );
    write(root, "proc/sys/kernel/osrelease", b"6.12.48+deb13-amd64\n");
    write(
        root,
        "etc/os-release",
        b"NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n",
    );
    write(root, "sys/class/dmi/id/sys_vendor", b"LENOVO\n");
    write(root, "sys/class/dmi/id/product_name", b"20XF004WUS\n");
    write(
        root,
        "sys/class/dmi/id/product_version",
        b"ThinkPad T14 Gen 2a\n",
    );
    write(root, "sys/class/dmi/id/bios_vendor", b"LENOVO\n");
    write(root, "sys/class/dmi/id/bios_version", b"R1NET59W (1.29 )\n");
    write(root, "sys/class/dmi/id/bios_date", b"03/14/2024\n");
    write(root, "sys/class/dmi/id/chassis_type", b"10\n");
    write(root, "sys/firmware/acpi/tables/IVRS", b"");
    write(root, "sys/class/iommu/ivhd0/amd-iommu/cap", b"0x00190040\n");
    write(
        root,
        "proc/interrupts",
        b"           CPU0       CPU1\n  0:         44          0   IR-IO-APIC    2-edge      timer\n 29:          0        211  IR-PCI-MSIX-0000:03:00.0    0-edge      nvme0q0\nNMI:          0          0   Non-maskable interrupts\n",
    );
    write(root, "sys/class/tpm/tpm0/tpm_version_major", b"2\n");
    // 4 bytes of EFI variable attributes, then 1 = Secure Boot on.
    write(
        root,
        "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c",
        &[6, 0, 0, 0, 1],
    );
    write(
        root,
        &format!("{GPU}/modalias"),
        b"pci:v000010DEd00002520sv000017AAsd000022D8bc03sc00i00\n",
    );
    write(root, &format!("{GPU}/vendor"), b"0x10de\n");
    write(root, &format!("{GPU}/device"), b"0x2520\n");
    write(root, &format!("{GPU}/class"), b"0x030000\n");
    write(root, &format!("{GPU}/revision"), b"0xa1\n");
    symlink(
        "../../../../bus/pci/drivers/nvidia",
        root.join(format!("{GPU}/driver")),
    )
    .unwrap();
    symlink(
        "../../../../kernel/iommu_groups/12",
        root.join(format!("{GPU}/iommu_group")),
    )
    .unwrap();
    fs::create_dir_all(root.join("sys/bus/pci/drivers/nvidia")).unwrap();
    symlink(
        "../../../../module/nvidia",
        root.join("sys/bus/pci/drivers/nvidia/module"),
    )
    .unwrap();
    write(root, "sys/module/nvidia/taint", b"POE\n");
}

#[test]
fn facts_of_an_amd_uefi_laptop() {
    let tmp = tempfile::tempdir().unwrap();
    amd_uefi_tree(tmp.path());
    let scan = scan_tree(tmp.path());
    let s = &scan.report.system;
    assert_eq!(s.brand.as_deref(), Some("LENOVO"));
    assert_eq!(s.model.as_deref(), Some("ThinkPad T14 Gen 2a"));
    assert_eq!(s.machine_type.as_deref(), Some("laptop"));
    assert_eq!(
        s.bios.as_deref(),
        Some("LENOVO R1NET59W (1.29 ) 03/14/2024")
    );
    assert_eq!(s.cpu.as_deref(), Some("AMD Ryzen 7 5800U"));
    assert_eq!(s.virtualization.as_deref(), Some("amd-v"));
    assert_eq!((s.hvm, s.slat), (Tri::Yes, Tri::Yes));
    assert_eq!((s.iommu, s.interrupt_remapping), (Tri::Yes, Tri::Yes));
    assert_eq!(
        (
            s.iommu_present,
            s.iommu_enabled,
            s.interrupt_remapping_supported
        ),
        (Some(Tri::Yes), Some(Tri::Yes), Some(Tri::Yes))
    );
    assert_eq!(s.tpm.as_deref(), Some("2.0"));
    assert_eq!(s.memory_mib, Some(15936));
    assert_eq!(s.boot_mode, Some(hcl_data::BootMode::Uefi));
    assert_eq!(s.secure_boot, Tri::Yes);
    assert_eq!(s.running_kernel.as_deref(), Some("6.12.48+deb13-amd64"));
    assert_eq!(s.distro.as_deref(), Some("Debian GNU/Linux 13 (trixie)"));
}

#[test]
fn a_gpu_bound_to_nvidia_is_out_of_tree() {
    let tmp = tempfile::tempdir().unwrap();
    amd_uefi_tree(tmp.path());
    let scan = scan_tree(tmp.path());
    let gpu = scan.report.devices.iter().find(|d| d.bus == "pci").unwrap();
    assert_eq!(gpu.driver.as_deref(), Some("nvidia"));
    assert!(gpu.out_of_tree_driver);
    assert_eq!(gpu.iommu_group, Some(12));
    assert_eq!(gpu.category, "gpu");
    assert_eq!(gpu.role, hcl_data::Role::Dom0);
    assert_eq!(gpu.revision.as_deref(), Some("a1"));
    assert_eq!(gpu.vendor_name.as_deref(), Some("NVIDIA Corporation"));
    // nouveau matches the device in the Debian kernels although nvidia is bound now.
    let cov = &gpu.coverage["debian-13"];
    assert!(cov.modules.iter().any(|m| m == "nouveau"), "{cov:?}");
    let table = render(&scan.report, Format::Table, TableOptions::default()).unwrap();
    assert!(table.contains("nvidia*"), "{table}");
    assert!(
        table.contains("no candidate kernel ships (out of tree)"),
        "{table}"
    );
}

#[test]
fn legacy_boot_and_no_iommu() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "proc/cpuinfo",
        b"model name\t: Old CPU\nflags\t\t: fpu vmx\n",
    );
    fs::create_dir_all(tmp.path().join("sys/firmware/acpi/tables")).unwrap();
    write(tmp.path(), "sys/firmware/acpi/tables/DSDT", b"");
    write(
        tmp.path(),
        "sys/class/dmi/id/product_name",
        b"To be filled by O.E.M.\n",
    );
    write(tmp.path(), "sys/class/dmi/id/board_name", b"X99-WS\n");
    fs::create_dir_all(tmp.path().join("sys/devices")).unwrap();
    let s = scan_tree(tmp.path()).report.system;
    assert_eq!(s.boot_mode, Some(hcl_data::BootMode::Legacy));
    assert_eq!(s.secure_boot, Tri::No);
    assert_eq!((s.iommu, s.interrupt_remapping), (Tri::No, Tri::No));
    assert_eq!((s.hvm, s.slat), (Tri::Yes, Tri::No));
    assert_eq!(
        s.model.as_deref(),
        Some("X99-WS"),
        "placeholder product name skipped"
    );
    assert_eq!(s.tpm, None);
}
