//! The rules that turn per-device verdicts into per-machine answers, used alike by the probe
//! (its table and its JSON) and by the server (every HCL page, CSV and kernel report):
//!
//! - a USB device row takes the best verdict of its interfaces ([`Coverage::of_usb_device`],
//!   [`usb_interfaces`]), since drivers bind to interfaces;
//! - a USB device row is not counted next to its interfaces ([`Device::counts`]);
//! - per kernel, a machine's dom0-critical and assignable devices are tallied into a
//!   [`KernelSummary`], whose [`MachineState`] says whether dom0 keeps working there. Unknown
//!   verdicts (no evidence, see [`Verdict`]) are tallied apart and never decide the state.

use std::collections::BTreeMap;

pub use crate::kernel_summary::{KernelSummary, MachineState};
use crate::report::{Coverage, Device, UsbKind};
use crate::verdict::{Role, Verdict};

/// One device row as the summary sees it on one kernel.
#[derive(Debug, Clone, Copy)]
pub struct SummaryRow<'a> {
    pub usb_kind: Option<&'a UsbKind>,
    pub role: Role,
    /// The device's identifiers are partial.
    pub partial: bool,
    /// Its coverage on the kernel; None when the kernel was not asked.
    pub coverage: Option<&'a Coverage>,
}

impl<'a> SummaryRow<'a> {
    pub fn of(d: &'a Device, kernel: &str) -> Self {
        SummaryRow {
            usb_kind: d.usb.as_ref().map(|u| &u.kind),
            role: d.role,
            partial: d.partial,
            coverage: d.coverage.get(kernel),
        }
    }
}

impl KernelSummary {
    /// The summary of one machine on one kernel.
    pub fn tally<'a>(rows: impl IntoIterator<Item = SummaryRow<'a>>) -> KernelSummary {
        let mut s = KernelSummary::default();
        for row in rows {
            if row.usb_kind.is_some_and(UsbKind::is_device) {
                continue;
            }
            let Some(c) = row.coverage else { continue };
            let (total, covered, unknown) = match row.role {
                Role::Dom0 => {
                    s.partial |= c.partial || row.partial;
                    (&mut s.dom0_total, &mut s.dom0_covered, &mut s.dom0_unknown)
                }
                Role::Assignable => (
                    &mut s.assignable_total,
                    &mut s.assignable_covered,
                    &mut s.assignable_unknown,
                ),
                Role::Other => continue,
            };
            if c.verdict == Verdict::Unknown {
                *unknown += 1;
            } else {
                *total += 1;
                *covered += u32::from(c.verdict.is_driven());
            }
        }
        s.dom0_ok = s.state() == MachineState::Ok;
        s
    }

    /// One summary per kernel id, for a probe report.
    pub fn per_kernel(devices: &[Device], kernel_ids: &[String]) -> BTreeMap<String, Self> {
        kernel_ids
            .iter()
            .map(|k| {
                let rows = devices.iter().map(|d| SummaryRow::of(d, k));
                (k.clone(), KernelSummary::tally(rows))
            })
            .collect()
    }
}

impl Device {
    /// False for a USB device row: it summarises its interfaces, and counting both would count
    /// the device twice.
    pub fn counts(&self) -> bool {
        !self.usb.as_ref().is_some_and(|u| u.kind.is_device())
    }
}

/// The sysfs path of the USB device an interface belongs to (`.../1-1` for `.../1-1/1-1:1.0`).
fn usb_parent(interface_path: &str) -> Option<&str> {
    interface_path.rsplit_once('/').map(|(parent, _)| parent)
}

/// For each USB device row, its interface rows: (device index, interface indices), in row
/// order. Rows are given as (USB kind, sysfs path).
pub fn usb_interfaces<'a>(
    rows: impl IntoIterator<Item = (Option<&'a UsbKind>, Option<&'a str>)>,
) -> Vec<(usize, Vec<usize>)> {
    let rows: Vec<_> = rows.into_iter().collect();
    let mut out = Vec::new();
    for (i, (kind, path)) in rows.iter().enumerate() {
        if !kind.is_some_and(UsbKind::is_device) {
            continue;
        }
        let mine = rows
            .iter()
            .enumerate()
            .filter(|(_, (k, p))| {
                k.is_some_and(UsbKind::is_interface)
                    && path.is_some()
                    && p.and_then(usb_parent) == *path
            })
            .map(|(j, _)| j)
            .collect();
        out.push((i, mine));
    }
    out
}

impl Coverage {
    /// A USB device row's coverage on one kernel: the best verdict of its interfaces, with
    /// their drivers. Unknown, and says so, when no interface was found.
    pub fn of_usb_device<'a>(
        interfaces: impl IntoIterator<Item = &'a Coverage>,
        partial: bool,
    ) -> Coverage {
        let covs: Vec<&Coverage> = interfaces.into_iter().collect();
        let mut cov = Coverage {
            partial,
            ..Default::default()
        };
        if covs.is_empty() {
            cov.reason = "no interface of this USB device was found".to_owned();
            return cov;
        }
        for c in &covs {
            for (from, to) in [
                (&c.modules, &mut cov.modules),
                (&c.builtin, &mut cov.builtin),
                (&c.inferred_builtin, &mut cov.inferred_builtin),
            ] {
                for m in from {
                    if !to.contains(m) {
                        to.push(m.clone());
                    }
                }
            }
        }
        cov.verdict = covs
            .iter()
            .map(|c| c.verdict)
            .min()
            .unwrap_or(Verdict::Unknown);
        let driven = covs.iter().filter(|c| c.verdict.is_driven()).count();
        cov.reason = format!(
            "{driven} of {} interfaces have a driver (best verdict of its interfaces)",
            covs.len()
        );
        cov
    }
}

/// Fills the coverage of every USB device row of a report from its interfaces' rows, per
/// kernel (the probe's form of the rule; the server applies [`usb_interfaces`] and
/// [`Coverage::of_usb_device`] to its own rows).
pub fn summarise_usb_devices(devices: &mut [Device]) {
    let groups = usb_interfaces(
        devices
            .iter()
            .map(|d| (d.usb.as_ref().map(|u| &u.kind), d.sysfs_path.as_deref())),
    );
    for (dev, interfaces) in groups {
        let kernels: Vec<String> = devices[dev].coverage.keys().cloned().collect();
        for k in kernels {
            let cov = Coverage::of_usb_device(
                interfaces
                    .iter()
                    .filter_map(|&i| devices.get(i)?.coverage.get(&k)),
                devices[dev].partial,
            );
            devices[dev].coverage.insert(k, cov);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::UsbInfo;

    fn dev(role: Role, verdicts: &[(&str, Verdict)]) -> Device {
        Device {
            role,
            coverage: verdicts
                .iter()
                .map(|(k, v)| {
                    let c = Coverage {
                        verdict: *v,
                        ..Default::default()
                    };
                    ((*k).to_owned(), c)
                })
                .collect(),
            ..Default::default()
        }
    }

    fn usb(mut d: Device, kind: &str, path: &str) -> Device {
        d.usb = Some(UsbInfo {
            kind: kind.into(),
            ..Default::default()
        });
        d.sysfs_path = Some(path.into());
        d
    }

    fn summary(devices: &[Device], k: &str) -> KernelSummary {
        KernelSummary::tally(devices.iter().map(|d| SummaryRow::of(d, k)))
    }

    #[test]
    fn roles_are_counted_apart() {
        let devices = [
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
        let a = summary(&devices, "a");
        assert_eq!(
            (
                a.dom0_total,
                a.dom0_covered,
                a.assignable_total,
                a.assignable_covered
            ),
            (1, 1, 1, 1)
        );
        assert_eq!((a.state(), a.dom0_ok), (MachineState::Ok, true));
        let b = summary(&devices, "b");
        assert_eq!(
            (b.state(), b.dom0_ok, b.assignable_covered),
            (MachineState::Fails, false, 0)
        );
    }

    /// Regression: the probe's summary skipped unknown verdicts and called a machine whose
    /// dom0 devices were all unknown "dom0 OK", while the HCL pages called it "no data".
    #[test]
    fn all_unknown_dom0_is_no_data_not_ok() {
        let devices = [
            dev(
                Role::Dom0,
                &[("a", Verdict::Supported), ("b", Verdict::Unknown)],
            ),
            dev(
                Role::Dom0,
                &[("a", Verdict::Unknown), ("b", Verdict::Unknown)],
            ),
            dev(
                Role::Assignable,
                &[("a", Verdict::NoDriver), ("b", Verdict::Unknown)],
            ),
        ];
        let a = summary(&devices, "a");
        assert_eq!(
            (a.state(), a.dom0_total, a.dom0_unknown),
            (MachineState::Ok, 1, 1)
        );
        let b = summary(&devices, "b");
        assert_eq!((b.state(), b.dom0_ok), (MachineState::NoData, false));
        assert_eq!(
            (b.dom0_total, b.dom0_unknown, b.assignable_unknown),
            (0, 2, 1)
        );
    }

    #[test]
    fn usb_device_rows_take_the_best_verdict_and_do_not_count() {
        let root = "/devices/pci0000:00/0000:00:14.0/usb1";
        let mut devices = vec![
            usb(
                dev(
                    Role::Dom0,
                    &[("a", Verdict::NoDriver), ("b", Verdict::NoDriver)],
                ),
                "device",
                &format!("{root}/1-1"),
            ),
            usb(
                dev(
                    Role::Dom0,
                    &[("a", Verdict::Supported), ("b", Verdict::NoDriver)],
                ),
                "interface",
                &format!("{root}/1-1/1-1:1.0"),
            ),
            usb(
                dev(
                    Role::Dom0,
                    &[("a", Verdict::NoDriver), ("b", Verdict::Deprecated)],
                ),
                "interface",
                &format!("{root}/1-1/1-1:1.1"),
            ),
            usb(
                dev(Role::Dom0, &[("a", Verdict::Supported)]),
                "device",
                &format!("{root}/1-2"),
            ),
        ];
        summarise_usb_devices(&mut devices);
        assert_eq!(devices[0].coverage["a"].verdict, Verdict::Supported);
        assert_eq!(devices[0].coverage["b"].verdict, Verdict::Deprecated);
        assert!(
            devices[0].coverage["a"]
                .reason
                .starts_with("1 of 2 interfaces")
        );
        assert_eq!(devices[3].coverage["a"].verdict, Verdict::Unknown);
        assert!(!devices[0].counts() && devices[1].counts());
        let a = summary(&devices, "a");
        assert_eq!((a.dom0_total, a.dom0_covered), (2, 1));
    }
}
