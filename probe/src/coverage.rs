//! Coverage of every device by every candidate kernel and the comparison across kernels. The
//! rules that combine verdicts (USB devices, per-kernel summaries, what counts as a loss) are
//! hcl-data's, shared with the server.

use hcl_data::{Coverage, Device, Verdict, summarise_usb_devices};
use hcl_kernel_engine::Catalog;

use crate::sysfs::Found;

/// The (modalias, partial) a device is looked up with in every profile; None when it is not
/// looked up (an unreadable modalias, or a USB device row, which summarises its interfaces).
/// [`apply`] and the alias filter the profiles are decoded with both use it.
pub fn lookup_key(f: &Found) -> Option<(&str, bool)> {
    (f.modalias_valid && f.device.counts())
        .then_some((f.device.modalias.as_str(), f.device.partial))
}

/// Fill `coverage` and `out_of_tree_driver` of every device, then the USB device rows from
/// their interfaces, and note in each reason what the other candidates do.
pub fn apply(catalog: &Catalog, found: Vec<Found>) -> Vec<Device> {
    let profiles = catalog.profiles();
    let mut devices: Vec<Device> = found
        .into_iter()
        .map(|mut f| {
            let key = lookup_key(&f).map(|(m, partial)| (m.to_owned(), partial));
            for p in profiles {
                let cov = match &key {
                    Some((modalias, partial)) => {
                        let mut c = p.coverage(modalias, *partial);
                        c.compact_firmware();
                        c
                    }
                    None if !f.modalias_valid => Coverage {
                        verdict: Verdict::Unknown,
                        reason: "the modalias is not readable text, so it was not matched"
                            .to_owned(),
                        ..Default::default()
                    },
                    // A USB device row: filled from its interfaces below.
                    None => Coverage::default(),
                };
                f.device.coverage.insert(p.meta.id.clone(), cov);
            }
            // Out of tree: the module says so itself (taint `O`), or no candidate knows it.
            // Drivers built into the running kernel have no module and are in-tree by
            // construction.
            f.device.out_of_tree_driver = f.tainted_out_of_tree
                || f.module.as_deref().is_some_and(|m| {
                    !profiles.is_empty() && !profiles.iter().any(|p| p.has_module(m))
                });
            f.device
        })
        .collect();
    summarise_usb_devices(&mut devices);
    for d in &mut devices {
        compare_across_kernels(d);
    }
    devices
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
    let needs_no_driver = dev.category.needs_no_driver();
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

/// Devices a kernel loses that another candidate drives ([`Verdict::lost_against`]).
pub fn lost_devices<'a>(devices: &'a [Device], kernel: &str) -> Vec<&'a Device> {
    devices
        .iter()
        .filter(|d| d.counts())
        .filter(|d| {
            let Some(here) = d.coverage.get(kernel) else {
                return false;
            };
            d.coverage
                .iter()
                .any(|(k, c)| k != kernel && here.verdict.lost_against(c.verdict))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl_data::Role;

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
    fn unknown_is_not_lost() {
        let devices = vec![dev(
            Role::Dom0,
            &[
                ("debian-13", Verdict::Supported),
                ("rhel-9.6", Verdict::Unknown),
            ],
        )];
        assert!(lost_devices(&devices, "rhel-9.6").is_empty());
    }
}
