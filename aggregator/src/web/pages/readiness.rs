//! Qubes readiness: the fleet page `/readiness` (JSON `/api/v1/readiness`, CSV
//! `/readiness.csv` and `/readiness-suspend.csv`) with its handlers, and the readiness parts of
//! the machine, report and device pages (passthrough verdict, reason, group and reset methods
//! per PCI device; suspend; what a Xen dom0 could not see).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use hcl_data::{HiddenFact, PassthroughVerdict, ResetSource, SuspendSupport, System, Tri};
use serde::Serialize;

use super::Frame;
use crate::analysis::csv::record;
use crate::analysis::readiness::{
    self, ControllerFigures, ModelVotes, PassthroughCounts, ReadinessFigures, SuspendFigures,
    Tally, Vote, address,
};
use crate::analysis::{DeviceEntry, DeviceRow, Filter, Hcl, ReportView};
use crate::app::AppState;
use crate::error::AppError;
use crate::web::{Format, PageQuery, csv_response, respond, snapshot};

/// `/readiness`: the fleet figures.
#[derive(Template, Serialize)]
#[template(path = "readiness.html")]
pub struct ReadinessPage {
    #[serde(skip)]
    pub frame: Frame,
    pub filter: Filter,
    #[serde(flatten)]
    pub figures: ReadinessFigures,
}

impl ReadinessPage {
    /// The controllers of one kind, for one table each.
    pub fn of_kind(&self, kind: &str) -> Vec<&ControllerFigures> {
        self.figures
            .controllers
            .iter()
            .filter(|c| c.kind.label() == kind)
            .collect()
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<&'static str> = self
            .figures
            .controllers
            .iter()
            .map(|c| c.kind.label())
            .collect();
        k.dedup();
        k
    }

    pub fn suspend_rows(&self) -> Vec<(&'static str, Tally)> {
        suspend_labels(&self.figures.suspend)
    }

    pub fn heads(&self) -> [&'static str; 6] {
        PASSTHROUGH_HEADS
    }

    pub fn columns(&self, c: &ControllerFigures) -> Vec<(&'static str, Tally)> {
        controller_columns(c)
    }

    pub fn grouped(&self, c: &ControllerFigures) -> String {
        grouped_text(c)
    }
}

fn suspend_labels(s: &SuspendFigures) -> Vec<(&'static str, Tally)> {
    let label = |name: &str| match name {
        "deep" => SuspendSupport::Deep.label(),
        "s2idle_only" => SuspendSupport::S2idleOnly.label(),
        "no_suspend" => SuspendSupport::NoSuspend.label(),
        "unknown" => "unknown (the probe could not tell)",
        _ => "no data (HCL import or older probe)",
    };
    s.columns()
        .into_iter()
        .map(|(n, t)| (label(n), t))
        .collect()
}

/// The column heads of the passthrough counts, in [`PassthroughCounts::columns`] order.
pub const PASSTHROUGH_HEADS: [&str; 6] = [
    "ready",
    "needs no-strict-reset",
    "assign with its group",
    "not isolated",
    "unknown",
    "no data",
];

pub fn page(hcl: &Hcl, filter: &Filter, frame: Frame) -> ReadinessPage {
    ReadinessPage {
        frame,
        filter: filter.clone(),
        figures: readiness::figures(hcl),
    }
}

pub(in crate::web) async fn handler(
    State(st): State<AppState>,
    q: PageQuery,
) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    if q.format == Format::Csv {
        return Ok(csv_response(
            "readiness.csv",
            controllers_csv(&readiness::figures(&hcl)),
        ));
    }
    respond(&page(&hcl, &q.filter, Frame::default()), q.format)
}

pub(in crate::web) async fn csv_handler(
    State(st): State<AppState>,
    q: PageQuery,
) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    Ok(csv_response(
        "readiness.csv",
        controllers_csv(&readiness::figures(&hcl)),
    ))
}

pub(in crate::web) async fn suspend_csv_handler(
    State(st): State<AppState>,
    q: PageQuery,
) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    Ok(csv_response(
        "readiness-suspend.csv",
        suspend_csv(&readiness::figures(&hcl)),
    ))
}

/// `/readiness.csv`: one line per controller model, machine models and reports per verdict.
pub fn controllers_csv(f: &ReadinessFigures) -> String {
    let mut out = String::new();
    let mut head: Vec<String> = [
        "kind",
        "service_vm",
        "vendor_device",
        "name",
        "machines",
        "reports",
    ]
    .map(str::to_owned)
    .to_vec();
    for (name, _) in PassthroughCounts::default().columns() {
        head.push(format!("{name}_machines"));
        head.push(format!("{name}_reports"));
    }
    head.push("grouped_with".into());
    record(
        &mut out,
        &head.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for c in &f.controllers {
        let mut row: Vec<String> = vec![
            c.kind.label().to_owned(),
            c.service_vm.name().to_owned(),
            c.id.clone(),
            c.name.clone(),
            c.machines.to_string(),
            c.reports.to_string(),
        ];
        for (_, t) in c.counts.columns() {
            row.push(t.machines.to_string());
            row.push(t.reports.to_string());
        }
        row.push(
            c.grouped_with
                .iter()
                .map(|m| format!("{} ({} machines)", m.id, m.machines))
                .collect::<Vec<_>>()
                .join("; "),
        );
        record(
            &mut out,
            &row.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    out
}

/// `/readiness-suspend.csv`: one line per kind of suspend support.
pub fn suspend_csv(f: &ReadinessFigures) -> String {
    let mut out = String::new();
    record(&mut out, &["suspend", "machines", "reports"]);
    for (name, t) in f.suspend.columns() {
        record(
            &mut out,
            &[name, &t.machines.to_string(), &t.reports.to_string()],
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The readiness parts of the machine, report and device pages.

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
            service_vm: readiness::ControllerKind::of(d).map(|k| k.service_vm().name()),
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
        verdict_class(self.verdict)
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

fn verdict_class(v: PassthroughVerdict) -> &'static str {
    match v {
        PassthroughVerdict::Ready => "v-ok",
        PassthroughVerdict::NoStrictReset | PassthroughVerdict::AssignWithGroup => "v-warn",
        PassthroughVerdict::NotIsolated => "v-bad",
        PassthroughVerdict::Unknown => "v-unknown",
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

fn tri(t: Tri) -> &'static str {
    match t {
        Tri::Yes => "yes",
        Tri::No => "no",
        Tri::Unknown => "unknown",
    }
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
            let offered = if sp.mem_sleep.is_empty() {
                "unknown".to_owned()
            } else {
                sp.mem_sleep
                    .iter()
                    .map(|m| {
                        if sp.mem_sleep_current.as_deref() == Some(m.as_str()) {
                            format!("[{m}]")
                        } else {
                            m.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            format!(
                "{} · mem_sleep {offered} · FADT low-power S0 idle {}{}",
                sp.support().label(),
                tri(sp.low_power_s0),
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
                    tri(e)
                };
                format!("table present {} · enabled {enabled}", tri(p))
            }
            _ => tri(s.iommu).to_owned(),
        };
        Some(ReadinessSection {
            report_id: r.id.clone(),
            report_url: r.url(),
            day: r.day.clone(),
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
                service_vm =
                    service_vm.or(readiness::ControllerKind::of(d).map(|k| k.service_vm().name()));
                if let Some(row) = PassthroughRow::of(r, d) {
                    rows.push(DeviceReportRow {
                        brand: r.brand.clone(),
                        model: r.model.clone(),
                        machine_url: r.machine.url(),
                        report_url: r.url(),
                        day: r.day.clone(),
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
        readiness::COUNTING
    }

    /// The counts with the page's column heads.
    pub fn columns(&self) -> Vec<(&'static str, Tally)> {
        PASSTHROUGH_HEADS
            .iter()
            .zip(self.counts.columns())
            .map(|(h, (_, t))| (*h, t))
            .collect()
    }
}

/// The `grouped_with` of a controller, as text.
pub fn grouped_text(c: &ControllerFigures) -> String {
    c.grouped_with
        .iter()
        .map(|m| format!("{} {} ({})", m.id, m.name, m.machines))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The counts of a controller with the page's column heads.
pub fn controller_columns(c: &ControllerFigures) -> Vec<(&'static str, Tally)> {
    PASSTHROUGH_HEADS
        .iter()
        .zip(c.counts.columns())
        .map(|(h, (_, t))| (*h, t))
        .collect()
}
