//! Coverage of every device by every candidate kernel, the comparison across kernels and the
//! per-kernel summary.

use std::collections::BTreeMap;

use hcl_data::{Coverage, Device, KernelSummary, Role, Verdict};
use hcl_kernels::Catalog;

use crate::sysfs::Found;

/// The (modalias, partial) a device is looked up with in every profile; None when it is not
/// looked up (an unreadable modalias, or a USB device row, which summarises its interfaces).
/// [`apply`] and the alias filter the profiles are decoded with both use it.
pub fn lookup_key(f: &Found) -> Option<(&str, bool)> {
    let is_usb_device = f.device.usb.as_ref().is_some_and(|u| u.kind == "device");
    (f.modalias_valid && !is_usb_device).then_some((f.device.modalias.as_str(), f.device.partial))
}

/// Fill `coverage` and `out_of_tree_driver` of every device.
pub fn apply(catalog: &Catalog, found: &mut [Found]) {
    let profiles = catalog.profiles();
    for f in found.iter_mut() {
        let key = lookup_key(f);
        let covs: Vec<Coverage> = profiles
            .iter()
            .map(|p| match key {
                Some((modalias, partial)) => {
                    let mut c = p.coverage(modalias, partial);
                    c.compact_firmware();
                    c
                }
                None if !f.modalias_valid => Coverage {
                    verdict: Verdict::Unknown,
                    reason: "the modalias is not readable text, so it was not matched".to_owned(),
                    ..Default::default()
                },
                // A USB device row: filled from its interfaces below.
                None => Coverage::default(),
            })
            .collect();
        for (p, cov) in profiles.iter().zip(covs) {
            f.device.coverage.insert(p.meta.id.clone(), cov);
        }
        // Out of tree: the module says so itself (taint `O`), or no candidate knows it. Drivers
        // built into the running kernel have no module and are in-tree by construction.
        f.device.out_of_tree_driver = f.tainted_out_of_tree
            || f.module
                .as_deref()
                .is_some_and(|m| !profiles.is_empty() && !profiles.iter().any(|p| p.has_module(m)));
    }
    summarise_usb_devices(found);
    for f in found.iter_mut() {
        compare_across_kernels(&mut f.device);
    }
}

/// A USB device row takes the best verdict of its interfaces, per kernel.
fn summarise_usb_devices(found: &mut [Found]) {
    let interfaces: Vec<(String, BTreeMap<String, Coverage>)> = found
        .iter()
        .filter(|f| f.device.usb.as_ref().is_some_and(|u| u.kind == "interface"))
        .filter_map(|f| {
            let path = f.device.sysfs_path.as_deref()?;
            let (parent, _) = path.rsplit_once('/')?;
            Some((parent.to_owned(), f.device.coverage.clone()))
        })
        .collect();
    for f in found.iter_mut() {
        if f.device.usb.as_ref().is_none_or(|u| u.kind != "device") {
            continue;
        }
        let Some(path) = f.device.sysfs_path.clone() else {
            continue;
        };
        let mine: Vec<&BTreeMap<String, Coverage>> = interfaces
            .iter()
            .filter(|(p, _)| *p == path)
            .map(|(_, c)| c)
            .collect();
        for (kernel, cov) in f.device.coverage.iter_mut() {
            let covs: Vec<&Coverage> = mine.iter().filter_map(|m| m.get(kernel)).collect();
            if covs.is_empty() {
                cov.reason = "no interface of this USB device was found".to_owned();
                continue;
            }
            for c in &covs {
                for m in &c.modules {
                    push_unique(&mut cov.modules, m);
                }
                for m in &c.builtin {
                    push_unique(&mut cov.builtin, m);
                }
                for m in &c.inferred_builtin {
                    push_unique(&mut cov.inferred_builtin, m);
                }
            }
            let best = covs
                .iter()
                .map(|c| c.verdict)
                .min()
                .unwrap_or(Verdict::Unknown);
            cov.verdict = best;
            let driven = covs.iter().filter(|c| c.verdict.is_driven()).count();
            cov.reason = format!(
                "{driven} of {} interfaces have a driver (best verdict of its interfaces)",
                covs.len()
            );
        }
    }
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

/// Say in each reason what the other candidates do: a kernel that lacks a driver another one
/// has "loses" the device; a device no candidate drives usually needs no driver at all.
fn compare_across_kernels(dev: &mut Device) {
    let drivers: Vec<String> = dev
        .coverage
        .iter()
        .filter(|(_, c)| c.verdict.is_driven())
        .map(|(k, _)| k.clone())
        .collect();
    let needs_no_driver = matches!(
        dev.category.as_str(),
        "chipset" | "bridge" | "system" | "platform" | "cpu"
    );
    for cov in dev.coverage.values_mut() {
        // A driver that matches but does not bind (force_probe, unknown chip) loses the device
        // as much as no driver does.
        if matches!(cov.verdict, Verdict::NeedsParameter | Verdict::UnknownChip)
            && !drivers.is_empty()
        {
            cov.reason = format!("{}; lost: {} drive it", cov.reason, drivers.join(", "));
        }
        if cov.verdict != Verdict::NoDriver {
            continue;
        }
        let note = if drivers.is_empty() {
            if needs_no_driver {
                "no candidate has a driver; devices of this kind usually need none".to_owned()
            } else {
                "no candidate kernel has a driver for it".to_owned()
            }
        } else {
            format!("lost: {} drive it", drivers.join(", "))
        };
        cov.reason = if cov.reason.is_empty() {
            note
        } else {
            format!("{}; {note}", cov.reason)
        };
    }
}

/// Devices a kernel loses that another candidate drives.
pub fn lost_devices<'a>(devices: &'a [Device], kernel: &str) -> Vec<&'a Device> {
    devices
        .iter()
        .filter(|d| counts(d))
        .filter(|d| {
            // A kernel without data for the bus (Unknown) has not lost anything we know of.
            let Some(here) = d
                .coverage
                .get(kernel)
                .filter(|c| c.verdict != Verdict::Unknown)
            else {
                return false;
            };
            let here = here.verdict.is_driven();
            let elsewhere = d
                .coverage
                .iter()
                .any(|(k, c)| k != kernel && c.verdict.is_driven());
            !here && elsewhere
        })
        .collect()
}

/// USB device rows summarise their interfaces; counting both would count twice.
fn counts(d: &Device) -> bool {
    d.usb.as_ref().is_none_or(|u| u.kind != "device")
}

/// One summary per kernel id present in the devices' coverage.
pub fn summaries(devices: &[Device], kernel_ids: &[String]) -> BTreeMap<String, KernelSummary> {
    let mut out = BTreeMap::new();
    for k in kernel_ids {
        let mut s = KernelSummary::default();
        for d in devices.iter().filter(|d| counts(d)) {
            // Unknown (no data for this bus in this profile) counts neither way: the table
            // shows it as `?`.
            let Some(c) = d.coverage.get(k).filter(|c| c.verdict != Verdict::Unknown) else {
                continue;
            };
            let driven = c.verdict.is_driven();
            match d.role {
                Role::Dom0 => {
                    s.dom0_total += 1;
                    s.dom0_covered += u32::from(driven);
                }
                Role::Assignable => {
                    s.assignable_total += 1;
                    s.assignable_covered += u32::from(driven);
                }
                Role::Other => {}
            }
        }
        s.dom0_ok = s.dom0_covered == s.dom0_total;
        out.insert(k.clone(), s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(role: Role, verdicts: &[(&str, Verdict)]) -> Device {
        Device {
            role,
            category: "network".into(),
            coverage: verdicts
                .iter()
                .map(|(k, v)| {
                    (
                        (*k).to_owned(),
                        Coverage {
                            verdict: *v,
                            ..Default::default()
                        },
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn lost_against_another_candidate_is_named() {
        let mut d = dev(
            Role::Assignable,
            &[
                ("debian-13", Verdict::Supported),
                ("rhel-9.6", Verdict::NoDriver),
            ],
        );
        compare_across_kernels(&mut d);
        assert_eq!(d.coverage["rhel-9.6"].reason, "lost: debian-13 drive it");
        assert_eq!(d.coverage["debian-13"].reason, "");
        let devices = vec![d];
        assert_eq!(lost_devices(&devices, "rhel-9.6").len(), 1);
        assert!(lost_devices(&devices, "debian-13").is_empty());
    }

    #[test]
    fn bridges_without_driver_do_not_alarm() {
        let mut d = dev(Role::Other, &[("debian-13", Verdict::NoDriver)]);
        d.category = "bridge".into();
        compare_across_kernels(&mut d);
        assert!(d.coverage["debian-13"].reason.contains("usually need none"));
    }

    #[test]
    fn unknown_is_neither_covered_nor_lost() {
        let devices = vec![dev(
            Role::Dom0,
            &[
                ("debian-13", Verdict::Supported),
                ("rhel-9.6", Verdict::Unknown),
            ],
        )];
        let s = summaries(&devices, &["rhel-9.6".into()]);
        assert_eq!(s["rhel-9.6"].dom0_total, 0);
        assert!(s["rhel-9.6"].dom0_ok);
        assert!(lost_devices(&devices, "rhel-9.6").is_empty());
    }

    #[test]
    fn summary_counts_roles() {
        let devices = vec![
            dev(
                Role::Dom0,
                &[("a", Verdict::Supported), ("b", Verdict::NoDriver)],
            ),
            dev(
                Role::Assignable,
                &[("a", Verdict::FirmwareMissing), ("b", Verdict::Disabled)],
            ),
            dev(
                Role::Other,
                &[("a", Verdict::NoDriver), ("b", Verdict::NoDriver)],
            ),
        ];
        let s = summaries(&devices, &["a".into(), "b".into()]);
        assert_eq!(
            s["a"],
            KernelSummary {
                dom0_total: 1,
                dom0_covered: 1,
                assignable_total: 1,
                assignable_covered: 1,
                dom0_ok: true
            }
        );
        assert!(!s["b"].dom0_ok);
        assert_eq!(s["b"].assignable_covered, 0);
    }
}
