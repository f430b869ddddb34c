//! kmod as the oracle: for every device of every captured tree, the drivers the probe reports
//! for a Debian kernel are exactly what `modprobe -R` answers on that kernel's real module
//! index (made by `depmod -b` from the real packages: `kernels/tests/make-kmod-roots.sh`,
//! `hcl_kernel_engine::sample::kmod_root`): the loadable modules, or the built-in drivers when no
//! module matches (kmod's lookup order). Without the trees the test fails when `CI` is set and
//! is skipped loudly otherwise.

use std::collections::BTreeSet;
use std::process::Command;

use hcl_kernel_engine::sample::{kmod_root, missing_kmod_roots};

use crate::common::{fixtures, scan_tree};

/// The Debian kernels with a kmod tree, as the kernels crate lists them.
const DEBIAN: &[(&str, &str)] = &hcl_kernel_engine::sample::KMOD_TREES;

fn kmod_resolve(root: &std::path::Path, ver: &str, modalias: &str) -> BTreeSet<String> {
    let out = Command::new("modprobe")
        .arg("-d")
        .arg(root)
        .args(["-S", ver, "-R", modalias])
        .output()
        .expect("modprobe (Debian package kmod) is installed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().replace('-', "_"))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn debian_modules_match_modprobe() {
    if let Some(what) = missing_kmod_roots() {
        assert!(std::env::var_os("CI").is_none(), "{what}");
        eprintln!("\n*** SKIPPED: {what} ***\n");
        return;
    }
    let catalog = crate::common::catalog();
    let scans: Vec<_> = fixtures().iter().map(|d| scan_tree(d)).collect();
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for (id, ver) in DEBIAN {
        assert!(
            catalog.get(id).is_ok(),
            "embedded catalog lacks {id}: the kernel engine has not shipped it"
        );
        let root = kmod_root(ver);
        for scan in &scans {
            for d in &scan.report.devices {
                // A USB device row summarises its interfaces: it is not looked up.
                if !d.counts() || d.bus == "unknown" {
                    continue;
                }
                let cov = &d.coverage[*id];
                // kmod stops at the first index that answers: loadable modules
                // (modules.alias) first, built-in aliases only when none matched.
                let answer = if cov.modules.is_empty() {
                    &cov.builtin
                } else {
                    &cov.modules
                };
                let ours: BTreeSet<String> = answer.iter().map(|m| m.replace('-', "_")).collect();
                let kmod = kmod_resolve(&root, ver, &d.modalias);
                checked += 1;
                if ours != kmod {
                    mismatches.push(format!(
                        "{id} {}: probe {ours:?}, modprobe {kmod:?}",
                        d.modalias
                    ));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} devices checked");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn a_driven_device_is_named_in_the_table_and_counted() {
    // The QEMU tree's e1000e NIC (8086:10d3) has a driver in every Debian kernel.
    let dir = crate::common::fixture("qemu-q35-usb-laptopish");
    let scan = scan_tree(&dir);
    let nic = scan
        .report
        .devices
        .iter()
        .find(|d| d.vendor.as_deref() == Some("8086") && d.device.as_deref() == Some("10d3"))
        .expect("e1000e NIC present");
    assert_eq!(nic.driver.as_deref(), Some("e1000e"));
    assert_eq!(nic.category, "network");
    for (id, _) in DEBIAN {
        let c = &nic.coverage[*id];
        assert!(c.verdict.is_driven(), "{id}: {c:?}");
        assert!(c.modules.iter().any(|m| m == "e1000e"), "{id}: {c:?}");
    }
}
