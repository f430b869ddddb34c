//! What the machine, report and device pages show of Qubes readiness: per PCI device its
//! passthrough verdict, reason, IOMMU group and reset methods; suspend; what a Xen dom0 could
//! not see. The fleet page is `readiness.rs`.

use hcl_data::{HiddenFact, PassthroughVerdict, ResetSource, SuspendSupport, System, Tri};
use serde::Serialize;

use super::parts::Css;
use crate::analysis::readiness::{
    COUNTING, ModelVotes, PassthroughCounts, Tally, Vote, address, controller_kind,
};
use crate::analysis::{DeviceEntry, DeviceRow, Hcl, ReportView};

/// The column heads of the passthrough counts, in [`PassthroughCounts::columns`] order: the
/// verdicts' own labels, then reports without readiness facts.
pub const PASSTHROUGH_HEADS: [&str; 6] = [
    PassthroughVerdict::Ready.label(),
    PassthroughVerdict::NoStrictReset.label(),
    PassthroughVerdict::AssignWithGroup.label(),
    PassthroughVerdict::NotIsolated.label(),
    PassthroughVerdict::Unknown.label(),
    "no data",
];

/// The counts with the page's column heads.
pub fn with_heads(counts: &PassthroughCounts) -> Vec<(&'static str, Tally)> {
    PASSTHROUGH_HEADS
        .iter()
        .zip(counts.columns())
        .map(|(h, (_, t))| (*h, t))
        .collect()
}

/// One PCI device's passthrough, as a row.
#[derive(Debug, Clone, Serialize)]
pub struct PassthroughRow {
    pub id: String,
    pub url: Option<String>,
    pub name: String,
    pub address: String,
    /// `sys-net` or `sys-usb` when the installer hands it there.
    pub service_vm: Option<&'static str>,
    pub verdict: PassthroughVerdict,
    pub reason: String,
    pub reset_methods: Vec<String>,
    pub reset_source: ResetSource,
    /// The other devices of its IOMMU group (address, and the model when the report has it);
    /// None without IOMMU information.
    pub group: Option<Vec<String>>,
}

impl PassthroughRow {
    fn of(r: &ReportView, d: &DeviceRow) -> Option<Self> {
        let p = d.passthrough.as_ref()?;
        let group = p.group.as_ref().map(|addrs| {
            addrs
                .iter()
                .map(|a| {
                    let short = a.strip_prefix("0000:").unwrap_or(a);
                    match r
                        .devices
                        .iter()
                        .find(|x| x.key.bus == "pci" && address(x) == Some(a.as_str()))
                    {
                        Some(x) => format!("{short} {} {}", x.key.id, x.name),
                        None => short.to_owned(),
                    }
                })
                .collect()
        });
        Some(PassthroughRow {
            id: d.key.id.clone(),
            url: d.key.url(),
            name: d.name.clone(),
            address: address(d).unwrap_or("").to_owned(),
            service_vm: controller_kind(d).map(|k| k.service_vm().name()),
            verdict: p.verdict,
            reason: p.reason.clone(),
            reset_methods: p.reset_methods.clone(),
            reset_source: p.reset_source,
            group,
        })
    }

    pub fn label(&self) -> &'static str {
        self.verdict.label()
    }

    pub fn class(&self) -> &'static str {
        self.verdict.css()
    }

    pub fn resets(&self) -> String {
        match (self.reset_source, self.reset_methods.is_empty()) {
            (ResetSource::Unknown, _) => "unknown".to_owned(),
            (_, true) => "none".to_owned(),
            (s, false) => format!(
                "{} ({})",
                self.reset_methods.join(", "),
                match s {
                    ResetSource::Kernel => "kernel",
                    _ => "config space",
                }
            ),
        }
    }

    pub fn group_text(&self) -> String {
        match &self.group {
            None => "no IOMMU group information".to_owned(),
            Some(g) if g.is_empty() => "alone".to_owned(),
            Some(g) => g.join("; "),
        }
    }
}

/// The readiness facts of one report, for the machine and report pages.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessSection {
    pub report_id: String,
    pub report_url: String,
    pub day: String,
    /// S3 and what mem_sleep offers, in words; None without suspend facts.
    pub suspend: Option<String>,
    pub suspend_support: Option<SuspendSupport>,
    /// IOMMU present (firmware table) and enabled (in use), in words.
    pub iommu: String,
    /// Run under Xen: what and which facts it could not see; None otherwise.
    pub xen: Option<String>,
    pub hidden: Vec<HiddenFact>,
    /// Every PCI device the probe judged; service-VM devices first.
    pub devices: Vec<PassthroughRow>,
}

impl ReadinessSection {
    /// None when the report holds no readiness facts (an HCL import, an older probe).
    pub fn of(r: &ReportView) -> Option<Self> {
        let s: &System = &r.system;
        let mut devices: Vec<PassthroughRow> = r
            .devices
            .iter()
            .filter_map(|d| PassthroughRow::of(r, d))
            .collect();
        if devices.is_empty() && s.suspend.is_none() && s.xen.is_none() {
            return None;
        }
        devices.sort_by_key(|d| d.service_vm.is_none());
        let suspend = s.suspend.as_ref().map(|sp| {
            let offered = sp.mem_sleep_text();
            format!(
                "{} · mem_sleep {offered} · FADT low-power S0 idle {}{}",
                sp.support().label(),
                sp.low_power_s0,
                if sp.support() == SuspendSupport::S2idleOnly {
                    " · Qubes suspend needs S3; s2idle alone often fails"
                } else {
                    ""
                }
            )
        });
        let hidden = s.xen.as_ref().map(|x| x.hidden.clone()).unwrap_or_default();
        let xen = s.xen.as_ref().map(|x| {
            let role = match x.dom0 {
                Tri::Yes => "dom0",
                Tri::No => "a VM (domU): the facts are the VM's",
                Tri::Unknown => "dom0 or a VM",
            };
            let names: Vec<&str> = x.hidden.iter().map(|f| f.label()).collect();
            format!(
                "Xen {}{} {role}{} · could not see: {}",
                x.version.as_deref().unwrap_or("(version unknown)"),
                x.guest_type
                    .map(|t| format!(" {}", t.name()))
                    .unwrap_or_default(),
                x.qubes_release
                    .as_ref()
                    .map(|q| format!(", Qubes {q}"))
                    .unwrap_or_default(),
                if names.is_empty() {
                    "nothing".to_owned()
                } else {
                    names.join(", ")
                }
            )
        });
        let iommu = match (s.iommu_present, s.iommu_enabled) {
            (Some(p), Some(e)) => {
                let enabled = if hidden.contains(&HiddenFact::IommuEnabled) {
                    "not visible from dom0"
                } else {
                    e.as_str()
                };
                format!("table present {p} · enabled {enabled}")
            }
            _ => s.iommu.to_string(),
        };
        Some(ReadinessSection {
            report_id: r.id.clone(),
            report_url: r.url(),
            day: r.day.to_string(),
            suspend_support: s.suspend.as_ref().map(hcl_data::Suspend::support),
            suspend,
            iommu,
            xen,
            hidden,
            devices,
        })
    }

    /// The newest report of `reports` (indices into `hcl.reports`, oldest first) that holds
    /// readiness facts.
    pub fn newest(hcl: &Hcl, reports: &[usize]) -> Option<Self> {
        reports
            .iter()
            .rev()
            .find_map(|i| ReadinessSection::of(&hcl.reports[*i]))
    }
}

/// One report's passthrough of a device kind, for the device page.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceReportRow {
    pub brand: String,
    pub model: String,
    pub machine_url: String,
    pub report_url: String,
    pub day: String,
    #[serde(flatten)]
    pub row: PassthroughRow,
}

/// The device page's readiness part for one bus entry: counts over the machines and one row
/// per report instance the probe judged.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceReadiness {
    /// `sys-net` or `sys-usb` when the installer hands such a device there.
    pub service_vm: Option<&'static str>,
    pub machines: usize,
    pub reports: usize,
    pub counts: PassthroughCounts,
    pub rows: Vec<DeviceReportRow>,
}

impl DeviceReadiness {
    /// None for a device that is not PCI.
    pub fn of(hcl: &Hcl, e: &DeviceEntry) -> Option<Self> {
        if e.key.bus != "pci" {
            return None;
        }
        let mut counts = PassthroughCounts::default();
        let mut models = ModelVotes::default();
        let mut rows = Vec::new();
        let mut service_vm = None;
        for ri in &e.reports {
            let r = &hcl.reports[*ri];
            let mine: Vec<&DeviceRow> = r.devices.iter().filter(|d| d.key == e.key).collect();
            let vote = Vote::of_instances(mine.iter().copied());
            counts.add_report(vote);
            models.vote(r, *ri, vote);
            for d in mine {
                service_vm = service_vm.or(controller_kind(d).map(|k| k.service_vm().name()));
                if let Some(row) = PassthroughRow::of(r, d) {
                    rows.push(DeviceReportRow {
                        brand: r.brand.clone(),
                        model: r.model.clone(),
                        machine_url: r.machine.url(),
                        report_url: r.url(),
                        day: r.day.to_string(),
                        row,
                    });
                }
            }
        }
        for vote in models.votes() {
            counts.add_machine(vote);
        }
        Some(DeviceReadiness {
            service_vm,
            machines: models.machines(),
            reports: e.reports.len(),
            counts,
            rows,
        })
    }

    pub fn counting(&self) -> &'static str {
        COUNTING
    }

    /// The counts with the page's column heads.
    pub fn columns(&self) -> Vec<(&'static str, Tally)> {
        with_heads(&self.counts)
    }
}
