//! The HCL snapshot: every visible report with its coverage recomputed, grouped by machine and
//! by device.

use std::collections::{BTreeMap, HashMap};
#[cfg(test)]
use std::sync::Arc;

use hcl_data::{Origin, Role, System, Verdict};
use serde::Serialize;

use super::coverage::{CoverageCache, Coverages};
use super::filter::report_day;
use crate::store::StoredReport;

/// One catalog kernel, as the pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct KernelInfo {
    pub id: String,
    pub distro: String,
    pub release: String,
    pub kernel_version: String,
    pub package_version: String,
    pub end_of_support: Option<String>,
    pub provenance: String,
}

/// A machine model: brand and model slugs, the URL `/machines/{brand}/{model}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MachineKey {
    pub brand: String,
    pub model: String,
}

impl MachineKey {
    pub fn url(&self) -> String {
        format!("/machines/{}/{}", self.brand, self.model)
    }
}

/// A device kind: bus plus `vendor:device` when the modalias has them, else the modalias.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DeviceKey {
    pub bus: String,
    pub id: String,
}

impl DeviceKey {
    /// True when `id` is `vendor:device` (and so has a device page).
    pub fn has_page(&self) -> bool {
        is_vendor_device(&self.id)
    }

    pub fn url(&self) -> Option<String> {
        self.has_page().then(|| format!("/devices/{}", self.id))
    }
}

fn is_vendor_device(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 9
        && b[4] == b':'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_hexdigit())
}

/// One device of one report, with its recomputed coverage.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub key: DeviceKey,
    pub modalias: String,
    pub partial: bool,
    pub category: String,
    pub role: Role,
    pub name: String,
    pub driver: Option<String>,
    pub out_of_tree_driver: bool,
    /// False for a USB device row: its interfaces carry the drivers, and counting both would
    /// count the device twice (the probe's summaries skip it the same way).
    pub counts: bool,
    /// `device` or `interface` for USB rows.
    pub usb_kind: Option<String>,
    /// Topology path under /sys/devices, to tie USB interfaces to their device.
    pub sysfs_path: Option<String>,
    /// Per catalog kernel, in catalog order.
    pub coverage: Coverages,
    /// PCI class code (`0c0330`), for the readiness figures.
    pub class: Option<String>,
    /// PCI devices of probe reports: whether it can be handed to a VM (see `readiness`).
    pub passthrough: Option<hcl_data::Passthrough>,
}

/// How one machine fares on one kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineState {
    /// Every dom0-critical device the kernel has data for is driven.
    Ok,
    /// At least one dom0-critical device has no driver (or is refused).
    Fails,
    /// No dom0-critical device the kernel can judge (none known, or only buses it has no data
    /// for): left out of the share.
    NoData,
}

/// One machine on one kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MachineStatus {
    pub state: MachineState,
    pub dom0_total: u32,
    pub dom0_driven: u32,
    /// Dom0 devices on a bus the profile has no data for (verdict `unknown`): not counted.
    pub dom0_unknown: u32,
    pub assignable_total: u32,
    pub assignable_driven: u32,
    /// The answer rests on partial identifiers (Qubes HCL imports).
    pub partial: bool,
}

/// One visible report, ready to show.
#[derive(Debug, Clone)]
pub struct ReportView {
    pub id: String,
    pub received_at: String,
    pub hidden: bool,
    /// `YYYY-MM-DD` the report describes.
    pub day: String,
    pub origin: Origin,
    pub generator: String,
    pub brand: String,
    pub model: String,
    pub machine_type: String,
    pub machine: MachineKey,
    pub system: System,
    pub qubes_versions: Vec<hcl_data::QubesVersion>,
    pub devices: Vec<DeviceRow>,
    /// Per catalog kernel.
    pub status: Vec<MachineStatus>,
}

impl ReportView {
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

/// All reports of one machine model.
#[derive(Debug, Clone, Serialize)]
pub struct MachineEntry {
    pub key: MachineKey,
    pub brand: String,
    pub model: String,
    pub machine_type: String,
    /// Indices into [`Hcl::reports`], oldest first.
    pub reports: Vec<usize>,
    pub latest_day: String,
}

/// What one kernel does for one device kind, over all its variants (subsystem ids etc.).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceKernelCell {
    /// Worst verdict over the variants seen.
    pub verdict: Verdict,
    pub drivers: Vec<String>,
    pub partial: bool,
    pub reason: String,
}

/// One device kind with the machines that have it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceEntry {
    pub key: DeviceKey,
    pub name: String,
    pub category: String,
    pub role: Role,
    /// Distinct reports that have it, indices into [`Hcl::reports`].
    pub reports: Vec<usize>,
    /// Distinct modaliases seen.
    pub modaliases: Vec<String>,
    /// Per catalog kernel.
    pub per_kernel: Vec<DeviceKernelCell>,
}

/// The whole HCL over a set of reports.
#[derive(Debug, Clone, Default)]
pub struct Hcl {
    pub kernels: Vec<KernelInfo>,
    pub reports: Vec<ReportView>,
    /// Sorted by brand and model.
    pub machines: Vec<MachineEntry>,
    /// Sorted by bus and id.
    pub devices: Vec<DeviceEntry>,
    report_index: HashMap<String, usize>,
    machine_index: HashMap<MachineKey, usize>,
}

impl Hcl {
    /// Build the snapshot. Hidden reports are skipped; pass only what should be shown.
    pub fn build(stored: Vec<StoredReport>, cache: &CoverageCache) -> Hcl {
        let stored: Vec<StoredReport> = stored.into_iter().filter(|r| !r.hidden).collect();
        cache.prefill(
            stored
                .iter()
                .flat_map(|r| r.report.devices.iter())
                .map(|d| (d.modalias.as_str(), d.partial)),
        );
        let kernels: Vec<KernelInfo> = cache
            .catalog()
            .profiles()
            .iter()
            .map(|p| KernelInfo {
                id: p.meta.id.clone(),
                distro: p.meta.distro.clone(),
                release: p.meta.release.clone(),
                kernel_version: p.meta.kernel_version.clone(),
                package_version: p.meta.package_version.clone(),
                end_of_support: p.meta.end_of_support.clone(),
                provenance: p.meta.provenance.clone(),
            })
            .collect();
        let nk = kernels.len();
        let reports: Vec<ReportView> = stored.into_iter().map(|s| view(s, cache, nk)).collect();

        let mut by_machine: BTreeMap<MachineKey, Vec<usize>> = BTreeMap::new();
        let mut by_device: BTreeMap<DeviceKey, Vec<(usize, usize)>> = BTreeMap::new();
        for (ri, r) in reports.iter().enumerate() {
            by_machine.entry(r.machine.clone()).or_default().push(ri);
            for (di, d) in r.devices.iter().enumerate() {
                by_device.entry(d.key.clone()).or_default().push((ri, di));
            }
        }
        let machines: Vec<MachineEntry> = by_machine
            .into_iter()
            .map(|(key, mut idx)| {
                idx.sort_by(|a, b| reports[*a].day.cmp(&reports[*b].day));
                // Show the names of the newest report: later uploads spell them best.
                let newest = idx.last().map(|i| &reports[*i]);
                MachineEntry {
                    brand: newest.map(|r| r.brand.clone()).unwrap_or_default(),
                    model: newest.map(|r| r.model.clone()).unwrap_or_default(),
                    machine_type: newest.map(|r| r.machine_type.clone()).unwrap_or_default(),
                    latest_day: newest.map(|r| r.day.clone()).unwrap_or_default(),
                    key,
                    reports: idx,
                }
            })
            .collect();
        let devices: Vec<DeviceEntry> = by_device
            .into_iter()
            .map(|(key, inst)| device_entry(key, &inst, &reports, nk))
            .collect();
        let report_index = reports
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        let machine_index = machines
            .iter()
            .enumerate()
            .map(|(i, m)| (m.key.clone(), i))
            .collect();
        Hcl {
            kernels,
            reports,
            machines,
            devices,
            report_index,
            machine_index,
        }
    }

    pub fn kernel_index(&self, id: &str) -> Option<usize> {
        self.kernels.iter().position(|k| k.id == id)
    }

    pub fn report(&self, id: &str) -> Option<&ReportView> {
        self.report_index.get(id).map(|i| &self.reports[*i])
    }

    pub fn machine(&self, brand: &str, model: &str) -> Option<&MachineEntry> {
        let key = MachineKey {
            brand: brand.to_owned(),
            model: model.to_owned(),
        };
        self.machine_index.get(&key).map(|i| &self.machines[*i])
    }

    /// Every bus's entry for `vendor:device` (normally one).
    pub fn device(&self, id: &str) -> Vec<&DeviceEntry> {
        let id = id.to_ascii_lowercase();
        self.devices.iter().filter(|d| d.key.id == id).collect()
    }
}

fn view(s: StoredReport, cache: &CoverageCache, nk: usize) -> ReportView {
    let day = report_day(&s).to_owned();
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
    let devices: Vec<DeviceRow> = report
        .devices
        .into_iter()
        .map(|d| {
            let coverage = cache.get(&d.modalias, d.partial);
            let key = device_key(&d);
            let name = device_name(&d);
            let usb_kind = d.usb.as_ref().map(|u| u.kind.clone());
            let counts = usb_kind.as_deref() != Some("device");
            DeviceRow {
                counts,
                usb_kind,
                sysfs_path: d.sysfs_path,
                key,
                partial: d.partial,
                category: d.category,
                role: d.role,
                name,
                driver: d.driver,
                out_of_tree_driver: d.out_of_tree_driver,
                coverage,
                modalias: d.modalias,
                class: d.class,
                passthrough: d.passthrough,
            }
        })
        .collect();
    let mut devices = devices;
    summarise_usb_devices(&mut devices, nk);
    let status = (0..nk).map(|k| machine_status(&devices, k)).collect();
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

/// A USB device row takes the best verdict of its interfaces, per kernel, as the probe does:
/// drivers bind to interfaces, so the device's own modalias rarely matches anything.
fn summarise_usb_devices(devices: &mut [DeviceRow], nk: usize) {
    let parent = |p: &str| p.rsplit_once('/').map(|(a, _)| a.to_owned());
    let interfaces: Vec<(String, Coverages)> = devices
        .iter()
        .filter(|d| d.usb_kind.as_deref() == Some("interface"))
        .filter_map(|d| Some((parent(d.sysfs_path.as_deref()?)?, d.coverage.clone())))
        .collect();
    for d in devices.iter_mut() {
        if d.usb_kind.as_deref() != Some("device") {
            continue;
        }
        let Some(path) = d.sysfs_path.as_deref() else {
            continue;
        };
        let mine: Vec<&Coverages> = interfaces
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, c)| c)
            .collect();
        let summary: Coverages = (0..nk)
            .map(|k| {
                let covs: Vec<&hcl_data::Coverage> = mine.iter().filter_map(|c| c.get(k)).collect();
                let mut cov = hcl_data::Coverage {
                    partial: d.partial,
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
            })
            .collect();
        d.coverage = summary;
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

/// The status of a machine on kernel `k`.
pub(crate) fn machine_status(devices: &[DeviceRow], k: usize) -> MachineStatus {
    let mut st = MachineStatus {
        state: MachineState::NoData,
        dom0_total: 0,
        dom0_driven: 0,
        dom0_unknown: 0,
        assignable_total: 0,
        assignable_driven: 0,
        partial: false,
    };
    let mut fails = false;
    for d in devices.iter().filter(|d| d.counts) {
        let Some(c) = d.coverage.get(k) else { continue };
        match d.role {
            Role::Dom0 => {
                st.dom0_total += 1;
                st.partial |= c.partial || d.partial;
                if c.verdict.is_driven() {
                    st.dom0_driven += 1;
                } else if c.verdict == Verdict::Unknown {
                    st.dom0_unknown += 1;
                } else {
                    fails = true;
                }
            }
            Role::Assignable => {
                st.assignable_total += 1;
                if c.verdict.is_driven() {
                    st.assignable_driven += 1;
                }
            }
            Role::Other => {}
        }
    }
    st.state = if fails {
        MachineState::Fails
    } else if st.dom0_driven > 0 {
        MachineState::Ok
    } else {
        MachineState::NoData
    };
    st
}

fn device_entry(
    key: DeviceKey,
    inst: &[(usize, usize)],
    reports: &[ReportView],
    nk: usize,
) -> DeviceEntry {
    let rows: Vec<&DeviceRow> = inst.iter().map(|(r, d)| &reports[*r].devices[*d]).collect();
    let mut report_ids: Vec<usize> = inst.iter().map(|(r, _)| *r).collect();
    report_ids.dedup();
    // One representative row per distinct (modalias, partial): variants share coverage.
    let mut variants: Vec<&DeviceRow> = Vec::new();
    for r in &rows {
        if !variants
            .iter()
            .any(|v| v.modalias == r.modalias && v.partial == r.partial)
        {
            variants.push(r);
        }
    }
    let per_kernel = (0..nk)
        .map(|k| {
            let mut cell = DeviceKernelCell {
                verdict: Verdict::Supported,
                drivers: Vec::new(),
                partial: false,
                reason: String::new(),
            };
            // "No data" is no evidence: it only shows when no variant has a known verdict.
            let mut first = true;
            for v in &variants {
                let Some(c) = v.coverage.get(k) else { continue };
                let worse = match (cell.verdict, c.verdict) {
                    (_, Verdict::Unknown) => false,
                    (Verdict::Unknown, _) => true,
                    (have, new) => new > have,
                };
                if first || worse {
                    cell.verdict = c.verdict;
                    cell.reason = c.reason.clone();
                }
                first = false;
                cell.partial |= c.partial;
                for m in c
                    .modules
                    .iter()
                    .chain(&c.builtin)
                    .chain(&c.inferred_builtin)
                {
                    if !cell.drivers.contains(m) {
                        cell.drivers.push(m.clone());
                    }
                }
            }
            if first {
                cell.verdict = Verdict::Unknown;
            }
            cell
        })
        .collect();
    // Prefer a name that says more than the modalias.
    let name = rows
        .iter()
        .map(|r| r.name.as_str())
        .find(|n| !n.starts_with(&format!("{}:", key.bus)))
        .or(rows.first().map(|r| r.name.as_str()))
        .unwrap_or("")
        .to_owned();
    DeviceEntry {
        name,
        category: rows.first().map(|r| r.category.clone()).unwrap_or_default(),
        role: rows.iter().map(|r| r.role).min().unwrap_or_default(),
        reports: report_ids,
        modaliases: variants.iter().map(|v| v.modalias.clone()).collect(),
        per_kernel,
        key,
    }
}

fn device_key(d: &hcl_data::Device) -> DeviceKey {
    let bus = if d.bus.is_empty() {
        d.modalias.split(':').next().unwrap_or("").to_owned()
    } else {
        d.bus.clone()
    };
    let norm = |s: &str| -> Option<String> {
        let s = s.trim().trim_start_matches("0x").to_ascii_lowercase();
        // Modalias fields are 8 wide for PCI (0000abcd): keep the meaningful last four.
        // `get`, not slicing: an uploaded id may hold multibyte characters.
        let cut = s.len().saturating_sub(4);
        let s = match (s.get(..cut), s.get(cut..)) {
            (Some(head), Some(tail)) if !head.is_empty() && head.bytes().all(|c| c == b'0') => {
                tail.to_owned()
            }
            _ => s,
        };
        (s.len() == 4 && s.bytes().all(|c| c.is_ascii_hexdigit())).then_some(s)
    };
    let ids = match (d.vendor.as_deref(), d.device.as_deref()) {
        (Some(v), Some(p)) => norm(v).zip(norm(p)),
        _ => None,
    }
    .or_else(|| ids_from_modalias(&d.modalias).and_then(|(v, p)| norm(v).zip(norm(p))));
    match ids {
        Some((v, p)) => DeviceKey {
            bus,
            id: format!("{v}:{p}"),
        },
        None => DeviceKey {
            bus,
            id: d.modalias.clone(),
        },
    }
}

/// Vendor and device/product fields of a PCI or USB modalias, when fully known.
fn ids_from_modalias(m: &str) -> Option<(&str, &str)> {
    if let Some(rest) = m.strip_prefix("pci:v") {
        let v = rest.get(..8)?;
        let p = rest.get(8..)?.strip_prefix('d')?.get(..8)?;
        return Some((v, p));
    }
    if let Some(rest) = m.strip_prefix("usb:v") {
        let v = rest.get(..4)?;
        let p = rest.get(4..)?.strip_prefix('p')?.get(..4)?;
        return Some((v, p));
    }
    None
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

/// URL-safe lowercase slug: ASCII letters and digits, other runs become one `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 80 {
            break;
        }
    }
    let t = out.trim_matches('-');
    if t.is_empty() {
        "unknown".to_owned()
    } else {
        t.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl_data::Coverage;

    fn row(role: Role, counts: bool, verdicts: &[Verdict]) -> DeviceRow {
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
            counts,
            usb_kind: None,
            sysfs_path: None,
            class: None,
            passthrough: None,
            coverage: verdicts
                .iter()
                .map(|v| Coverage {
                    verdict: *v,
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn usb_device_rows_do_not_count_twice() {
        // The USB device row has no driver of its own; its interface row has.
        let devices = [
            row(Role::Dom0, false, &[Verdict::NoDriver]),
            row(Role::Dom0, true, &[Verdict::Supported]),
        ];
        let st = machine_status(&devices, 0);
        assert_eq!(st.state, MachineState::Ok);
        assert_eq!((st.dom0_total, st.dom0_driven), (1, 1));
    }

    #[test]
    fn usb_device_rows_take_the_best_verdict_of_their_interfaces() {
        let mut dev = row(Role::Dom0, false, &[Verdict::NoDriver, Verdict::NoDriver]);
        dev.usb_kind = Some("device".into());
        dev.sysfs_path = Some("/devices/pci0000:00/0000:00:14.0/usb1/1-1".into());
        let mut hid = row(Role::Dom0, true, &[Verdict::Supported, Verdict::NoDriver]);
        hid.usb_kind = Some("interface".into());
        hid.sysfs_path = Some("/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0".into());
        let mut other = row(Role::Dom0, true, &[Verdict::NoDriver, Verdict::Deprecated]);
        other.usb_kind = Some("interface".into());
        other.sysfs_path = Some("/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.1".into());
        let mut lonely = row(Role::Dom0, false, &[Verdict::Supported, Verdict::Supported]);
        lonely.usb_kind = Some("device".into());
        lonely.sysfs_path = Some("/devices/pci0000:00/0000:00:14.0/usb1/1-2".into());
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
            row(Role::Dom0, true, &[Verdict::Supported, Verdict::Unknown]),
            row(Role::Dom0, true, &[Verdict::Unknown, Verdict::Unknown]),
            row(
                Role::Assignable,
                true,
                &[Verdict::NoDriver, Verdict::NoDriver],
            ),
        ];
        let st = machine_status(&devices, 0);
        assert_eq!((st.state, st.dom0_unknown), (MachineState::Ok, 1));
        assert_eq!(machine_status(&devices, 1).state, MachineState::NoData);
        let failing = [row(Role::Dom0, true, &[Verdict::Disabled])];
        assert_eq!(machine_status(&failing, 0).state, MachineState::Fails);
    }

    #[test]
    fn unknown_variant_does_not_hide_a_driven_one() {
        // Regression: a GeForce 210 seen once with its class and once without showed "no
        // data" on its device page, because "unknown" sorted as the worst verdict.
        let mut a = row(Role::Dom0, true, &[Verdict::Supported]);
        let mut b = row(Role::Dom0, true, &[Verdict::Unknown]);
        b.modalias.push('x');
        a.coverage = Arc::from(vec![Coverage {
            verdict: Verdict::Supported,
            modules: vec!["nouveau".into()],
            ..Default::default()
        }]);
        let reports = vec![view_with(vec![b]), view_with(vec![a])];
        let e = device_entry(
            DeviceKey {
                bus: "pci".into(),
                id: "8086:1234".into(),
            },
            &[(0, 0), (1, 0)],
            &reports,
            1,
        );
        assert_eq!(e.per_kernel[0].verdict, Verdict::Supported);
        assert_eq!(e.per_kernel[0].drivers, ["nouveau"]);
        assert_eq!(e.reports, [0, 1]);
    }

    fn view_with(devices: Vec<DeviceRow>) -> ReportView {
        ReportView {
            id: "r".into(),
            received_at: String::new(),
            hidden: false,
            day: String::new(),
            origin: Origin::Probe,
            generator: String::new(),
            brand: "b".into(),
            model: "m".into(),
            machine_type: "laptop".into(),
            machine: MachineKey {
                brand: "b".into(),
                model: "m".into(),
            },
            system: System::default(),
            qubes_versions: Vec::new(),
            status: Vec::new(),
            devices,
        }
    }

    #[test]
    fn slugs_are_url_safe_and_never_empty() {
        assert_eq!(slug("Lenovo"), "lenovo");
        assert_eq!(
            slug(" ThinkPad X1 Carbon (Gen 9) "),
            "thinkpad-x1-carbon-gen-9"
        );
        assert_eq!(slug("<script>x</script>"), "script-x-script");
        assert_eq!(slug("日本"), "unknown");
        assert!(slug(&"a".repeat(500)).len() <= 80);
    }

    #[test]
    fn multibyte_vendor_ids_do_not_panic() {
        // Regression: the id normaliser sliced at a byte offset inside a character.
        for v in ["ü123", "0000€", "€€€€€", "00008086", "0x8086", ""] {
            let d = hcl_data::Device {
                bus: "pci".into(),
                modalias: "pci:v€".into(),
                vendor: Some(v.into()),
                device: Some("ä0000".into()),
                ..Default::default()
            };
            let k = device_key(&d);
            assert!(!k.has_page(), "{v}: {k:?}");
        }
        let d = hcl_data::Device {
            bus: "pci".into(),
            modalias: "x".into(),
            vendor: Some("00008086".into()),
            device: Some("0x0166".into()),
            ..Default::default()
        };
        assert_eq!(device_key(&d).id, "8086:0166");
    }

    #[test]
    fn device_keys_come_from_ids_or_modalias() {
        let d = hcl_data::Device {
            bus: "pci".into(),
            modalias: "pci:v00008086d0000A7A0sv????????sd????????bc??sc??i??".into(),
            partial: true,
            ..Default::default()
        };
        assert_eq!(device_key(&d).id, "8086:a7a0");
        let d = hcl_data::Device {
            bus: "usb".into(),
            modalias: "usb:v046DpC52Bd1211dc00dsc00dp00ic03isc01ip01in00".into(),
            ..Default::default()
        };
        assert_eq!(device_key(&d).id, "046d:c52b");
        let d = hcl_data::Device {
            bus: "acpi".into(),
            modalias: "acpi:PNP0C0A:".into(),
            ..Default::default()
        };
        assert_eq!(device_key(&d).id, "acpi:PNP0C0A:");
        assert!(!device_key(&d).has_page());
    }
}
