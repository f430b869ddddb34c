//! The HCL snapshot: every visible report with its coverage recomputed, grouped by machine and
//! by device.

use std::collections::{BTreeMap, HashMap};

use hcl_data::Day;
use serde::Serialize;

use super::coverage::CoverageCache;
use super::device_entry::DeviceEntry;
use super::keys::{DeviceKey, MachineKey};
use super::view::ReportView;
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

/// All reports of one machine model.
#[derive(Debug, Clone, Serialize)]
pub struct MachineEntry {
    pub key: MachineKey,
    pub brand: String,
    pub model: String,
    pub machine_type: String,
    /// Indices into [`Hcl::reports`], oldest first.
    pub reports: Vec<usize>,
    pub latest_day: Day,
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
        let reports: Vec<ReportView> = stored
            .into_iter()
            .map(|s| ReportView::new(s, cache, nk))
            .collect();

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
            .map(|(key, inst)| DeviceEntry::new(key, &inst, &reports, nk))
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
