//! Verdicts a kernel expert would sign (issue 10): built-ins kmod cannot see, complete Debian
//! firmware lists, each regression named after the bug it guards.

use hcl_data::Verdict;

fn catalog() -> &'static hcl_kernels::Catalog {
    crate::common::embedded()
}

const DEBIAN: [&str; 4] = [
    "debian-12",
    "debian-13",
    "debian-13-backports",
    "debian-sid",
];

/// Inference skipped built-ins that record any alias with a `:` (`platform:rtc_cmos`), so the
/// RTC of every PC (`acpi:PNP0B00:`, rtc_cmos =y in Debian) was "no_driver" on debian-12/13.
#[test]
fn acpi_pnp0b00_resolves_to_builtin_rtc_cmos_on_debian_12_and_13_regression() {
    for kernel in ["debian-12", "debian-13"] {
        let p = catalog().get(kernel).expect("profile");
        let res = p.resolve("acpi:PNP0B00:");
        assert!(res.kmod_answer().is_empty(), "{kernel}: kmod is blind here");
        assert_eq!(res.inferred_builtin, ["rtc_cmos"], "{kernel}");
        let cov = p.coverage("acpi:PNP0B00:", false);
        assert_eq!(cov.verdict, Verdict::Supported, "{kernel}: {}", cov.reason);
        assert!(
            cov.reason.contains("inferred from debian-"),
            "{kernel}: labelled beyond kmod: {}",
            cov.reason
        );
        // 8250_dw records only `platform:dw-apb-uart`; its ACPI ids (Bay Trail HSUART) are
        // inferred the same way.
        let uart = p.resolve("acpi:80860F0A:");
        assert_eq!(uart.inferred_builtin, ["8250_dw"], "{kernel}");
    }
    // Kernels that record built-in device tables answer through kmod.
    for kernel in ["debian-13-backports", "debian-sid"] {
        let res = catalog()
            .get(kernel)
            .expect("profile")
            .resolve("acpi:PNP0B00:");
        assert_eq!(res.builtin, ["rtc_cmos"], "{kernel}");
        assert!(res.inferred_builtin.is_empty(), "{kernel}");
    }
}

/// Only debian-13 was checked against a full file list; the others against AppStream data,
/// which leaves out firmware-ast, amd64-microcode, firmware-linux-free...: ast (BMC display) and
/// ccp (every Ryzen/EPYC) were "firmware_missing" on debian-12, backports and sid.
#[test]
fn ast_and_ccp_firmware_found_on_every_debian_kernel_regression() {
    let ast = "pci:v00001A03d00002000sv00001A03sd00002000bc03sc00i00";
    let ccp = "pci:v00001022d00001649sv00001022sd00001649bc10sc80i00";
    for kernel in DEBIAN {
        let p = catalog().get(kernel).expect("profile");
        assert!(
            p.meta.firmware_source.contains("debian-contents/"),
            "{kernel}: {}",
            p.meta.firmware_source
        );
        for (device, module) in [(ast, "ast"), (ccp, "ccp")] {
            let cov = p.coverage(device, false);
            assert_eq!(cov.modules, [module], "{kernel}");
            assert_eq!(cov.verdict, Verdict::Supported, "{kernel}: {}", cov.reason);
            assert!(
                cov.firmware.iter().any(|f| f.shipped == Some(true)),
                "{kernel} {module}: {:?}",
                cov.firmware
            );
        }
    }
    // The backports kernel takes firmware from trixie and trixie-backports.
    let bpo = catalog().get("debian-13-backports").expect("backports");
    assert!(bpo.meta.firmware_source.contains("trixie.tsv.zst"));
    assert!(
        bpo.meta
            .firmware_source
            .contains("trixie-backports.tsv.zst")
    );
    // RHEL and Qubes kernels stay "firmware unknown": no list, no claim either way.
    for kernel in ["rhel-8.10", "rhel-9.6", "rhel-10.0", "qubes-6.12"] {
        let cov = catalog().get(kernel).expect("profile").coverage(ast, false);
        assert!(cov.firmware.iter().all(|f| f.shipped.is_none()), "{kernel}");
        assert_ne!(cov.verdict, Verdict::FirmwareMissing, "{kernel}");
    }
}

/// `hcl-kernels diff debian-13 debian-sid` said ast's and ccp's firmware was "no longer shipped"
/// because sid's list came from AppStream metadata only.
#[test]
fn diff_debian_13_sid_keeps_ast_and_ccp_firmware_regression() {
    let c = catalog();
    for (a, b) in [
        ("debian-13", "debian-sid"),
        ("debian-13", "debian-13-backports"),
        ("debian-13", "debian-12"),
    ] {
        let d = hcl_kernels::diff::diff(c.get(a).expect("a"), c.get(b).expect("b"))
            .expect("whole profiles");
        for m in ["ast", "ccp", "zd1211rw", "bcm203x"] {
            assert!(
                !d.firmware_unmet.iter().any(|u| u == m),
                "{a} -> {b}: {m} in {:?}",
                d.firmware_unmet
            );
        }
    }
}

/// Contents indices list symlinks, folders included: Ada's GSP folders are symlinks to ad102's
/// (trixie: `nvidia/ad103/gsp -> ../ad102/gsp`; sid links `nvidia/ad103` itself), and the
/// files below them ship.
#[test]
fn firmware_behind_folder_symlinks_counts_as_shipped() {
    for kernel in ["debian-13", "debian-sid"] {
        let p = catalog().get(kernel).expect("profile");
        let list = p.data().firmware.as_ref().expect("Debian list");
        assert!(
            list.lookup("nvidia/ad103/gsp").is_some() || list.lookup("nvidia/ad103").is_some(),
            "{kernel}"
        );
        assert!(
            list.satisfies("nvidia/ad103/gsp/gsp-535.113.01.bin")
                .is_some(),
            "{kernel}"
        );
    }
}
