//! The real Qubes HCL (data/qubes-hcl) through the shipped profiles: each device answers the
//! question of its role (issue 10 items 1-3), regressions named after the cases of the issue.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use hcl_data::{Device, KernelSummary, MachineState, Report, Role, Verdict, qubes_hcl};

use crate::common::{data_dir, embedded};

/// Every real HCL report, imported, with coverage on every shipped kernel.
fn reports() -> &'static [(String, Report)] {
    static REPORTS: OnceLock<Vec<(String, Report)>> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let files = hcl_data::hcl_files::read(&data_dir().join("qubes-hcl/qubes-hcl.tar.zst"))
            .expect("the HCL archive reads");
        let catalog = embedded();
        let mut cache: BTreeMap<String, BTreeMap<String, hcl_data::Coverage>> = BTreeMap::new();
        let mut out = Vec::new();
        for f in files {
            let Ok(bytes) = f.bytes else { continue };
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            let Ok(mut r) = qubes_hcl::from_yaml(&text, &f.name) else {
                continue;
            };
            for d in &mut r.devices {
                d.coverage = cache
                    .entry(d.modalias.clone())
                    .or_insert_with(|| {
                        catalog
                            .profiles()
                            .iter()
                            .map(|p| (p.meta.id.clone(), p.coverage(&d.modalias, d.partial)))
                            .collect()
                    })
                    .clone();
            }
            let ids: Vec<String> = catalog
                .profiles()
                .iter()
                .map(|p| p.meta.id.clone())
                .collect();
            r.kernels = KernelSummary::per_kernel(&r.devices, &ids);
            out.push((f.name, r));
        }
        out
    })
}

fn with_id<'a>(vendor: &str, id: &str) -> Vec<(&'a str, &'a Report, &'a Device)> {
    reports()
        .iter()
        .flat_map(|(n, r)| r.devices.iter().map(move |d| (n.as_str(), r, d)))
        .filter(|(_, _, d)| d.vendor.as_deref() == Some(vendor) && d.device.as_deref() == Some(id))
        .collect()
}

/// Regression: RTL8852BE, RTL8821CE, MT7925 and WCN7850 were "supported" on debian-13, the
/// RHEL 9/10 and Qubes kernels and only "unknown" on rhel-8.10 (class-wide drivers of other
/// types "could match"), so rhel-8.10 hid its Wi-Fi loss. Network lines are class 02 and
/// sys-net's question: rhel-8.10 now says no driver for every one.
#[test]
fn regression_wifi_lost_on_rhel_8_10_is_shown() {
    for (vendor, id) in [
        ("10ec", "b852"),
        ("10ec", "c821"),
        ("14c3", "7925"),
        ("17cb", "1107"),
    ] {
        let found = with_id(vendor, id);
        assert!(!found.is_empty(), "{vendor}:{id}");
        for (name, _, d) in found {
            assert_eq!(d.role, Role::Assignable, "{name}");
            for k in ["debian-13", "rhel-9.6", "rhel-10.0", "qubes-6.12"] {
                assert!(
                    d.coverage[k].verdict.is_driven(),
                    "{name} {k}: {:?}",
                    d.coverage[k]
                );
            }
            let el8 = &d.coverage["rhel-8.10"];
            assert_eq!(el8.verdict, Verdict::NoDriver, "{name}: {el8:?}");
        }
    }
}

/// Regression: GM45/Q35 secondary display functions (`8086:2a43`, `8086:29b3`) and Arrow Lake's
/// `8086:7f2f`, which no candidate drives, made their machines "fail" on every kernel,
/// debian-sid included. They are tallied apart and make no machine fail.
#[test]
fn regression_devices_no_candidate_drives_fail_no_machine() {
    let mut machines = 0;
    for id in ["2a43", "29b3", "7f2f"] {
        for (name, r, d) in with_id("8086", id) {
            assert!(
                hcl_data::undriven(d.coverage.values().map(|c| &c.verdict)),
                "{name}"
            );
            let sid = &r.kernels["debian-sid"];
            assert!(sid.dom0_undriven >= 1, "{name}: {sid:?}");
            assert_ne!(sid.state(), MachineState::Fails, "{name}: {sid:?}");
            machines += 1;
        }
    }
    assert_eq!(machines, 11);
}

/// Regression: the HP Z4 G4 "failed" on seven kernels because its SPI flash controller
/// (`8086:a2a4`, under `gpu:`) is driven only by qubes-6.12's spi_intel_pci; the Quiet PC
/// failed every RHEL kernel for its AMD sensor fusion hub. Neither is dom0's question.
#[test]
fn regression_spi_flash_and_sensor_hubs_fail_no_machine() {
    for (vendor, id) in [("8086", "a2a4"), ("1022", "15e6"), ("8086", "9d35")] {
        for (name, r, d) in with_id(vendor, id) {
            assert_eq!(d.role, Role::Other, "{name}");
            for (k, s) in &r.kernels {
                let lost_dom0: Vec<&str> = r
                    .devices
                    .iter()
                    .filter(|x| x.role == Role::Dom0 && x.coverage[k].verdict.is_failure())
                    .map(|x| x.modalias.as_str())
                    .collect();
                assert_eq!(
                    s.state() == MachineState::Fails,
                    !lost_dom0.is_empty() && s.dom0_covered < s.dom0_total,
                    "{name} {k}"
                );
                assert!(!lost_dom0.contains(&d.modalias.as_str()), "{name} {k}");
            }
        }
    }
}

/// Regression (item 3): NVIDIA GPU lines of known class matched nouveau only as "unknown"; now
/// the machines whose only GPU is NVIDIA have data on every kernel, labelled partial.
#[test]
fn regression_nvidia_gpu_lines_have_data() {
    let mut n = 0;
    for (name, _, d) in reports()
        .iter()
        .flat_map(|(n, r)| r.devices.iter().map(move |d| (n, r, d)))
        .filter(|(_, _, d)| d.vendor.as_deref() == Some("10de") && d.category == "gpu")
    {
        n += 1;
        for (k, c) in &d.coverage {
            assert!(c.partial, "{name} {k}");
            if c.verdict == Verdict::Unknown {
                assert!(c.reason.contains("unknown"), "{name} {k}: {}", c.reason);
            }
        }
        // A driver matches on every kernel (whether it then binds is the binding conditions'
        // question: debian-12's nouveau does not know Ada's AD104, `unknown_chip`).
        let matched = d
            .coverage
            .values()
            .filter(|c| {
                !(c.modules.is_empty() && c.builtin.is_empty() && c.inferred_builtin.is_empty())
            })
            .count();
        assert!(
            matched == d.coverage.len() || d.modalias.contains("bc??"),
            "{name} {}: {:?}",
            d.modalias,
            d.coverage
        );
    }
    assert!(n >= 200, "NVIDIA GPU lines: {n}");
}
