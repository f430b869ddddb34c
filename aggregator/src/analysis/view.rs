//! One stored report ready to show: its devices with coverage recomputed by the server's
//! catalog, and how the machine fares on every kernel.

use hcl_data::{
    Category, Coverage, Day, KernelSummary, Origin, Role, SummaryRow, System, UsbKind,
    usb_interfaces,
};

use super::coverage::{CoverageCache, Coverages};
use super::filter::report_day;
use super::keys::{DeviceKey, MachineKey, slug};
use crate::store::StoredReport;

/// One device of one report, with its recomputed coverage.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub key: DeviceKey,
    pub modalias: String,
    pub partial: bool,
    pub category: Category,
    pub role: Role,
    pub name: String,
    pub driver: Option<String>,
    pub out_of_tree_driver: bool,
    /// `device` or `interface` for USB rows.
    pub usb_kind: Option<UsbKind>,
    /// Topology path under /sys/devices, to tie USB interfaces to their device.
    pub sysfs_path: Option<String>,
    /// Per catalog kernel, in catalog order.
    pub coverage: Coverages,
}

impl DeviceRow {
    /// False for a USB device row: it summarises its interfaces ([`hcl_data::Device::counts`]).
    pub fn counts(&self) -> bool {
        !self.usb_kind.as_ref().is_some_and(UsbKind::is_device)
    }

    /// The row as the per-kernel summary sees it on kernel `k`.
    fn summary_row(&self, k: usize) -> SummaryRow<'_> {
        SummaryRow {
            usb_kind: self.usb_kind.as_ref(),
            role: self.role,
            partial: self.partial,
            coverage: self.coverage.get(k),
        }
    }
}

/// One visible report, ready to show.
#[derive(Debug, Clone)]
pub struct ReportView {
    pub id: String,
    pub received_at: String,
    pub hidden: bool,
    /// The day the report describes.
    pub day: Day,
    pub origin: Origin,
    pub generator: String,
    pub brand: String,
    pub model: String,
    pub machine_type: String,
    pub machine: MachineKey,
    pub system: System,
    pub qubes_versions: Vec<hcl_data::QubesVersion>,
    pub devices: Vec<DeviceRow>,
    /// Per catalog kernel: how the machine fares there ([`KernelSummary::state`]).
    pub status: Vec<KernelSummary>,
}

impl ReportView {
    /// The report with every device's coverage from `cache` (`nk` catalog kernels).
    pub fn new(s: StoredReport, cache: &CoverageCache, nk: usize) -> ReportView {
        let day = report_day(&s);
        let StoredReport {
            id,
            received_at,
            hidden,
            report,
        } = s;
        let system = report.system;
        let brand = display(system.brand.as_deref());
        let model = display(system.model.as_deref());
        let machine = MachineKey {
            brand: slug(&brand),
            model: slug(&model),
        };
        let mut devices: Vec<DeviceRow> = report
            .devices
            .into_iter()
            .map(|d| DeviceRow {
                coverage: cache.get(&d.modalias, d.partial),
                key: DeviceKey::of(&d),
                name: device_name(&d),
                usb_kind: d.usb.map(|u| u.kind),
                sysfs_path: d.sysfs_path,
                partial: d.partial,
                category: d.category,
                role: d.role,
                driver: d.driver,
                out_of_tree_driver: d.out_of_tree_driver,
                modalias: d.modalias,
            })
            .collect();
        summarise_usb_devices(&mut devices, nk);
        let status = (0..nk)
            .map(|k| KernelSummary::tally(devices.iter().map(|d| d.summary_row(k))))
            .collect();
        ReportView {
            id,
            received_at,
            hidden,
            day,
            origin: report.origin,
            generator: report.generator,
            machine_type: system
                .machine_type
                .as_deref()
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "unknown".to_owned()),
            brand,
            model,
            machine,
            system,
            qubes_versions: report.qubes.map(|q| q.versions).unwrap_or_default(),
            devices,
            status,
        }
    }

    pub fn url(&self) -> String {
        format!("/reports/{}", self.id)
    }

    /// Whether any device has only partial identifiers.
    pub fn partial(&self) -> bool {
        self.devices.iter().any(|d| d.partial)
    }

    /// Qubes releases named by the report, `R4.2, R4.1`.
    pub fn qubes_releases(&self) -> String {
        let mut v: Vec<&str> = self
            .qubes_versions
            .iter()
            .filter_map(|q| q.qubes.as_deref().map(str::trim))
            .filter(|s| !s.is_empty())
            .collect();
        v.dedup();
        v.join(", ")
    }
}

/// Every USB device row takes its interfaces' coverage, per kernel, by the rule the probe uses
/// ([`Coverage::of_usb_device`]): drivers bind to interfaces.
fn summarise_usb_devices(devices: &mut [DeviceRow], nk: usize) {
    let groups = usb_interfaces(
        devices
            .iter()
            .map(|d| (d.usb_kind.as_ref(), d.sysfs_path.as_deref())),
    );
    for (dev, interfaces) in groups {
        let partial = devices[dev].partial;
        let summary: Coverages = (0..nk)
            .map(|k| {
                Coverage::of_usb_device(
                    interfaces
                        .iter()
                        .filter_map(|&i| devices.get(i)?.coverage.get(k)),
                    partial,
                )
            })
            .collect();
        devices[dev].coverage = summary;
    }
}

fn display(s: Option<&str>) -> String {
    let s = s.map(str::trim).unwrap_or("");
    if s.is_empty() {
        "unknown".to_owned()
    } else {
        s.to_owned()
    }
}

fn device_name(d: &hcl_data::Device) -> String {
    fn clean(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    match (
        clean(d.vendor_name.as_deref()),
        clean(d.device_name.as_deref()),
    ) {
        // Qubes HCL imports carry the whole lspci line in both: say it once.
        (Some(v), Some(n)) if n.contains(v) => n.to_owned(),
        (Some(v), Some(n)) => format!("{v} {n}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => d.modalias.clone(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hcl_data::{MachineState, Verdict};

    pub(crate) fn row(role: Role, usb: Option<&str>, verdicts: &[Verdict]) -> DeviceRow {
        DeviceRow {
            key: DeviceKey {
                bus: "pci".into(),
                id: "8086:1234".into(),
            },
            modalias: "pci:v00008086d00001234sv????????sd????????bc??sc??i??".into(),
            partial: false,
            category: "gpu".into(),
            role,
            name: String::new(),
            driver: None,
            out_of_tree_driver: false,
            usb_kind: usb.map(UsbKind::from),
            sysfs_path: None,
            coverage: verdicts
                .iter()
                .map(|v| Coverage {
                    verdict: *v,
                    ..Default::default()
                })
                .collect(),
        }
    }

    fn state(devices: &[DeviceRow], k: usize) -> KernelSummary {
        KernelSummary::tally(devices.iter().map(|d| d.summary_row(k)))
    }

    #[test]
    fn usb_device_rows_do_not_count_twice() {
        // The USB device row has no driver of its own; its interface row has.
        let devices = [
            row(Role::Dom0, Some("device"), &[Verdict::NoDriver]),
            row(Role::Dom0, Some("interface"), &[Verdict::Supported]),
        ];
        let st = state(&devices, 0);
        assert_eq!(st.state(), MachineState::Ok);
        assert_eq!((st.dom0_total, st.dom0_covered), (1, 1));
    }

    #[test]
    fn usb_device_rows_take_the_best_verdict_of_their_interfaces() {
        let root = "/devices/pci0000:00/0000:00:14.0/usb1";
        let mut dev = row(
            Role::Dom0,
            Some("device"),
            &[Verdict::NoDriver, Verdict::NoDriver],
        );
        dev.sysfs_path = Some(format!("{root}/1-1"));
        let mut hid = row(
            Role::Dom0,
            Some("interface"),
            &[Verdict::Supported, Verdict::NoDriver],
        );
        hid.sysfs_path = Some(format!("{root}/1-1/1-1:1.0"));
        let mut other = row(
            Role::Dom0,
            Some("interface"),
            &[Verdict::NoDriver, Verdict::Deprecated],
        );
        other.sysfs_path = Some(format!("{root}/1-1/1-1:1.1"));
        let mut lonely = row(
            Role::Dom0,
            Some("device"),
            &[Verdict::Supported, Verdict::Supported],
        );
        lonely.sysfs_path = Some(format!("{root}/1-2"));
        let mut rows = vec![dev, hid, other, lonely];
        summarise_usb_devices(&mut rows, 2);
        assert_eq!(rows[0].coverage[0].verdict, Verdict::Supported);
        assert_eq!(rows[0].coverage[1].verdict, Verdict::Deprecated);
        assert!(rows[0].coverage[0].reason.starts_with("1 of 2 interfaces"));
        assert_eq!(rows[3].coverage[0].verdict, Verdict::Unknown);
    }

    #[test]
    fn dom0_devices_without_data_are_left_out_not_failed() {
        let devices = [
            row(Role::Dom0, None, &[Verdict::Supported, Verdict::Unknown]),
            row(Role::Dom0, None, &[Verdict::Unknown, Verdict::Unknown]),
            row(
                Role::Assignable,
                None,
                &[Verdict::NoDriver, Verdict::NoDriver],
            ),
        ];
        let st = state(&devices, 0);
        assert_eq!((st.state(), st.dom0_unknown), (MachineState::Ok, 1));
        assert_eq!(state(&devices, 1).state(), MachineState::NoData);
        let failing = [row(Role::Dom0, None, &[Verdict::Disabled])];
        assert_eq!(state(&failing, 0).state(), MachineState::Fails);
    }
}
