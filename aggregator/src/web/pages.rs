//! One struct per page: the same struct renders the HTML (askama template) and the JSON
//! (serde), so both always say the same thing. Built from an [`Hcl`] by pure functions, which
//! the server and the static site share.

pub mod readiness;

use askama::Template;
use hcl_data::{Coverage, Origin, QubesVersion, Role, System, Verdict};
use serde::Serialize;

use super::svg::{Bar, bar_chart};
use crate::analysis::{
    self, DeviceKernelCell, Filter, Hcl, KernelChoiceReport, KernelInfo, KernelShare, MachineRef,
    MachineState, MachineStatus,
};

/// What every page needs for its frame.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Frame {
    /// Static site: no forms (nothing answers them), links to the exported files instead.
    #[serde(skip)]
    pub static_site: bool,
}

/// One kernel's answer for one device, as a table cell.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictCell {
    pub kernel: String,
    pub verdict: Verdict,
    pub drivers: Vec<String>,
    pub reason: String,
    pub partial: bool,
}

impl VerdictCell {
    fn of(kernel: &str, c: &Coverage) -> Self {
        let mut drivers = c.modules.clone();
        drivers.extend(c.builtin.iter().map(|b| format!("{b} (built-in)")));
        drivers.extend(
            c.inferred_builtin
                .iter()
                .map(|b| format!("{b} (built-in, inferred)")),
        );
        VerdictCell {
            kernel: kernel.to_owned(),
            verdict: c.verdict,
            drivers,
            reason: c.reason.clone(),
            partial: c.partial,
        }
    }

    fn of_cell(kernel: &str, c: &DeviceKernelCell) -> Self {
        VerdictCell {
            kernel: kernel.to_owned(),
            verdict: c.verdict,
            drivers: c.drivers.clone(),
            reason: c.reason.clone(),
            partial: c.partial,
        }
    }

    pub fn class(&self) -> &'static str {
        verdict_class(self.verdict)
    }

    pub fn label(&self) -> String {
        let base = verdict_label(self.verdict);
        if self.partial {
            format!("{base}*")
        } else {
            base.to_owned()
        }
    }

    /// Tooltip: drivers and the reason.
    pub fn title(&self) -> String {
        let mut t = self.reason.clone();
        if !self.drivers.is_empty() {
            if !t.is_empty() {
                t.push_str(" — ");
            }
            t.push_str(&self.drivers.join(", "));
        }
        if self.partial {
            t.push_str(" (partial ids: a match for some value of the unknown fields)");
        }
        t
    }

    pub fn drivers_text(&self) -> String {
        self.drivers.join(", ")
    }
}

pub fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Supported => "v-ok",
        Verdict::Deprecated | Verdict::ExtraPackage | Verdict::FirmwareMissing => "v-warn",
        Verdict::Disabled | Verdict::NoDriver => "v-bad",
        Verdict::Unknown => "v-unknown",
    }
}

pub fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Supported => "driven",
        Verdict::Deprecated => "deprecated",
        Verdict::ExtraPackage => "extra pkg",
        Verdict::FirmwareMissing => "no firmware",
        Verdict::Disabled => "disabled",
        Verdict::NoDriver => "no driver",
        Verdict::Unknown => "no data",
    }
}

/// A machine on one kernel, as a table cell.
#[derive(Debug, Clone, Serialize)]
pub struct StateCell {
    pub kernel: String,
    pub state: MachineState,
    pub dom0_total: u32,
    pub dom0_driven: u32,
    pub partial: bool,
}

impl StateCell {
    fn of(kernel: &str, s: &MachineStatus) -> Self {
        StateCell {
            kernel: kernel.to_owned(),
            state: s.state,
            dom0_total: s.dom0_total,
            dom0_driven: s.dom0_driven,
            partial: s.partial,
        }
    }

    pub fn class(&self) -> &'static str {
        match self.state {
            MachineState::Ok => "v-ok",
            MachineState::Fails => "v-bad",
            MachineState::NoData => "v-unknown",
        }
    }

    pub fn label(&self) -> String {
        let base = match self.state {
            MachineState::Ok => "works",
            MachineState::Fails => "fails",
            MachineState::NoData => "no data",
        };
        if self.partial {
            format!("{base}*")
        } else {
            base.to_owned()
        }
    }

    pub fn title(&self) -> String {
        format!(
            "{}: {} of {} dom0-critical devices driven{}",
            self.kernel,
            self.dom0_driven,
            self.dom0_total,
            if self.partial { " (partial ids)" } else { "" }
        )
    }
}

fn kernel_ids(hcl: &Hcl) -> Vec<String> {
    hcl.kernels.iter().map(|k| k.id.clone()).collect()
}

fn role_label(r: Role) -> &'static str {
    analysis::csv::role_name(r)
}

fn share_chart(title: &str, shares: &[KernelShare]) -> String {
    let bars: Vec<Bar> = shares
        .iter()
        .map(|s| Bar {
            label: s.kernel.clone(),
            value: s.share,
            note: format!("{}% ({} / {})", s.percent(), s.ok, s.assessed),
        })
        .collect();
    bar_chart(title, &bars)
}

// ---------------------------------------------------------------------------------------------

/// `/`: what the HCL holds and how every kernel does.
#[derive(Template, Serialize)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    #[serde(skip)]
    pub frame: Frame,
    pub reports: usize,
    pub machines: usize,
    pub devices: usize,
    pub imported: usize,
    pub kernels: Vec<KernelInfo>,
    pub shares: Vec<KernelShare>,
    #[serde(skip)]
    pub chart: String,
}

pub fn overview(hcl: &Hcl, frame: Frame) -> OverviewPage {
    let shares = analysis::kernel_report::shares(hcl);
    OverviewPage {
        frame,
        reports: hcl.reports.len(),
        machines: hcl.machines.len(),
        devices: hcl.devices.len(),
        imported: hcl
            .reports
            .iter()
            .filter(|r| r.origin == Origin::QubesHcl)
            .count(),
        kernels: hcl.kernels.clone(),
        chart: share_chart(
            "Machines whose dom0-critical devices are all driven",
            &shares,
        ),
        shares,
    }
}

/// A machine model in the list.
#[derive(Debug, Clone, Serialize)]
pub struct MachineRow {
    pub brand: String,
    pub model: String,
    pub machine_type: String,
    pub reports: usize,
    pub latest: String,
    pub url: String,
    /// Per kernel, of the newest report.
    pub states: Vec<StateCell>,
}

/// Where a long list stands: the server shows it a page at a time.
#[derive(Debug, Clone, Serialize)]
pub struct Paging {
    /// Rows in the whole list.
    pub total: usize,
    /// 1-based.
    pub page: usize,
    pub pages: usize,
    /// Query string of the list's filter, for the page links.
    #[serde(skip)]
    pub query: String,
}

impl Paging {
    fn all(total: usize) -> Self {
        Paging {
            total,
            page: 1,
            pages: 1,
            query: String::new(),
        }
    }

    /// The whole list (`window` None) or one page of it (`Some((page, per))`), cut before any
    /// row is built: a list page builds its 500 rows, not one per machine or device.
    fn window<T>(rows: &mut Vec<T>, window: Option<(usize, usize)>, filter: &Filter) -> Self {
        match window {
            Some((page, per)) => Paging::cut(rows, page, per, filter.query()),
            None => Paging::all(rows.len()),
        }
    }

    /// Keep page `page` (clamped) of `rows`, `per` rows a page.
    fn cut<T>(rows: &mut Vec<T>, page: usize, per: usize, query: String) -> Self {
        let total = rows.len();
        let per = per.max(1);
        let pages = total.div_ceil(per).max(1);
        let page = page.clamp(1, pages);
        let start = (page - 1) * per;
        rows.truncate((start + per).min(total));
        rows.drain(..start.min(rows.len()));
        Paging {
            total,
            page,
            pages,
            query,
        }
    }

    pub fn link(&self, page: usize) -> String {
        if self.query.is_empty() {
            format!("?page={page}")
        } else {
            format!("?{}&page={page}", self.query)
        }
    }

    pub fn prev(&self) -> Option<String> {
        (self.page > 1).then(|| self.link(self.page - 1))
    }

    pub fn next(&self) -> Option<String> {
        (self.page < self.pages).then(|| self.link(self.page + 1))
    }
}

/// `/machines`.
#[derive(Template, Serialize)]
#[template(path = "machines.html")]
pub struct MachinesPage {
    #[serde(skip)]
    pub frame: Frame,
    pub filter: Filter,
    pub kernels: Vec<String>,
    pub paging: Paging,
    pub machines: Vec<MachineRow>,
}

/// The machines list; `window` is `Some((page, per))` for one page of it.
pub fn machines(
    hcl: &Hcl,
    filter: &Filter,
    frame: Frame,
    window: Option<(usize, usize)>,
) -> MachinesPage {
    let kernels = kernel_ids(hcl);
    let mut list: Vec<_> = hcl.machines.iter().collect();
    let paging = Paging::window(&mut list, window, filter);
    let machines: Vec<MachineRow> = list
        .into_iter()
        .map(|m| {
            let newest = m.reports.last().map(|i| &hcl.reports[*i]);
            MachineRow {
                brand: m.brand.clone(),
                model: m.model.clone(),
                machine_type: m.machine_type.clone(),
                reports: m.reports.len(),
                latest: m.latest_day.clone(),
                url: m.key.url(),
                states: newest
                    .map(|r| {
                        r.status
                            .iter()
                            .zip(&kernels)
                            .map(|(s, k)| StateCell::of(k, s))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    MachinesPage {
        frame,
        filter: filter.clone(),
        kernels,
        paging,
        machines,
    }
}

/// A report in a machine's list.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub id: String,
    pub url: String,
    pub day: String,
    pub origin: Origin,
    pub generator: String,
    pub qubes: String,
    pub partial: bool,
    pub states: Vec<StateCell>,
}

impl ReportRow {
    pub fn origin_label(&self) -> &'static str {
        origin_label(&self.origin)
    }
}

fn origin_label(o: &Origin) -> &'static str {
    match o {
        Origin::Probe => "hcl-probe",
        Origin::QubesHcl => "Qubes HCL import",
    }
}

/// `/machines/{brand}/{model}`: every report of one machine model.
#[derive(Template, Serialize)]
#[template(path = "machine.html")]
pub struct MachinePage {
    #[serde(skip)]
    pub frame: Frame,
    pub brand: String,
    pub model: String,
    pub machine_type: String,
    pub kernels: Vec<String>,
    pub reports: Vec<ReportRow>,
    /// From the newest report with readiness facts.
    pub readiness: Option<readiness::ReadinessSection>,
}

pub fn machine(hcl: &Hcl, brand: &str, model: &str, frame: Frame) -> Option<MachinePage> {
    let m = hcl.machine(brand, model)?;
    let kernels = kernel_ids(hcl);
    let reports = m
        .reports
        .iter()
        .rev()
        .map(|i| {
            let r = &hcl.reports[*i];
            ReportRow {
                id: r.id.clone(),
                url: r.url(),
                day: r.day.clone(),
                origin: r.origin.clone(),
                generator: r.generator.clone(),
                qubes: r.qubes_releases(),
                partial: r.partial(),
                states: r
                    .status
                    .iter()
                    .zip(&kernels)
                    .map(|(s, k)| StateCell::of(k, s))
                    .collect(),
            }
        })
        .collect();
    Some(MachinePage {
        readiness: readiness::ReadinessSection::newest(hcl, &m.reports),
        frame,
        brand: m.brand.clone(),
        model: m.model.clone(),
        machine_type: m.machine_type.clone(),
        kernels,
        reports,
    })
}

/// One device of a report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDevice {
    pub bus: String,
    pub id: String,
    pub url: Option<String>,
    pub name: String,
    pub modalias: String,
    pub category: String,
    pub role: Role,
    pub partial: bool,
    pub driver: Option<String>,
    pub out_of_tree_driver: bool,
    pub coverage: Vec<VerdictCell>,
}

impl ReportDevice {
    pub fn role_label(&self) -> &'static str {
        role_label(self.role)
    }
}

/// `/reports/{id}`: one report with its coverage recomputed by the server.
#[derive(Template, Serialize)]
#[template(path = "report.html")]
pub struct ReportPage {
    #[serde(skip)]
    pub frame: Frame,
    pub id: String,
    pub day: String,
    pub received_at: String,
    pub origin: Origin,
    pub generator: String,
    pub brand: String,
    pub model: String,
    pub machine_url: String,
    pub system: System,
    pub qubes_versions: Vec<QubesVersion>,
    pub kernels: Vec<String>,
    pub states: Vec<StateCell>,
    pub devices: Vec<ReportDevice>,
    pub readiness: Option<readiness::ReadinessSection>,
}

impl ReportPage {
    pub fn origin_label(&self) -> &'static str {
        origin_label(&self.origin)
    }

    /// The facts a person compares with the Qubes HCL, as label and value.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let s = &self.system;
        let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
        let t = |v: hcl_data::Tri| {
            match v {
                hcl_data::Tri::Yes => "yes",
                hcl_data::Tri::No => "no",
                hcl_data::Tri::Unknown => "unknown",
            }
            .to_owned()
        };
        vec![
            ("Type", o(&s.machine_type)),
            ("BIOS", o(&s.bios)),
            ("CPU", o(&s.cpu)),
            ("Virtualization", o(&s.virtualization)),
            ("HVM", t(s.hvm)),
            ("SLAT (EPT/NPT)", t(s.slat)),
            ("IOMMU", t(s.iommu)),
            ("Interrupt remapping", t(s.interrupt_remapping)),
            ("TPM", o(&s.tpm)),
            (
                "Memory",
                s.memory_mib
                    .map(|m| format!("{m} MiB"))
                    .unwrap_or_else(|| "—".to_owned()),
            ),
            ("Boot mode", o(&s.boot_mode)),
            ("Secure Boot", t(s.secure_boot)),
            ("Running kernel", o(&s.running_kernel)),
            ("Distribution", o(&s.distro)),
        ]
    }

    /// The free-text HCL lines of an imported report.
    pub fn hcl_lines(&self) -> Vec<(&'static str, String)> {
        let Some(h) = &self.system.hcl_text else {
            return Vec::new();
        };
        [
            ("Chipset", &h.chipset),
            ("GPU", &h.gpu),
            ("Network", &h.network),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
    }
}

pub fn report(hcl: &Hcl, id: &str, frame: Frame) -> Option<ReportPage> {
    let r = hcl.report(id)?;
    let kernels = kernel_ids(hcl);
    Some(ReportPage {
        readiness: readiness::ReadinessSection::of(r),
        frame,
        id: r.id.clone(),
        day: r.day.clone(),
        received_at: r.received_at.clone(),
        origin: r.origin.clone(),
        generator: r.generator.clone(),
        brand: r.brand.clone(),
        model: r.model.clone(),
        machine_url: r.machine.url(),
        system: r.system.clone(),
        qubes_versions: r.qubes_versions.clone(),
        states: r
            .status
            .iter()
            .zip(&kernels)
            .map(|(s, k)| StateCell::of(k, s))
            .collect(),
        devices: r
            .devices
            .iter()
            .map(|d| ReportDevice {
                bus: d.key.bus.clone(),
                id: d.key.id.clone(),
                url: d.key.url(),
                name: d.name.clone(),
                modalias: d.modalias.clone(),
                category: d.category.clone(),
                role: d.role,
                partial: d.partial,
                driver: d.driver.clone(),
                out_of_tree_driver: d.out_of_tree_driver,
                coverage: d
                    .coverage
                    .iter()
                    .zip(&kernels)
                    .map(|(c, k)| VerdictCell::of(k, c))
                    .collect(),
            })
            .collect(),
        kernels,
    })
}

/// A device kind in the list.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceRowOut {
    pub bus: String,
    pub id: String,
    pub url: Option<String>,
    pub name: String,
    pub category: String,
    pub role: Role,
    pub machines: usize,
    pub coverage: Vec<VerdictCell>,
}

impl DeviceRowOut {
    pub fn role_label(&self) -> &'static str {
        role_label(self.role)
    }
}

/// `/devices`.
#[derive(Template, Serialize)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    #[serde(skip)]
    pub frame: Frame,
    pub filter: Filter,
    pub kernels: Vec<String>,
    pub paging: Paging,
    pub devices: Vec<DeviceRowOut>,
}

fn device_row(hcl: &Hcl, d: &analysis::DeviceEntry) -> DeviceRowOut {
    DeviceRowOut {
        bus: d.key.bus.clone(),
        id: d.key.id.clone(),
        url: d.key.url(),
        name: d.name.clone(),
        category: d.category.clone(),
        role: d.role,
        machines: d.reports.len(),
        coverage: d
            .per_kernel
            .iter()
            .zip(&hcl.kernels)
            .map(|(c, k)| VerdictCell::of_cell(&k.id, c))
            .collect(),
    }
}

/// The devices list; `window` is `Some((page, per))` for one page of it.
pub fn devices(
    hcl: &Hcl,
    filter: &Filter,
    frame: Frame,
    window: Option<(usize, usize)>,
) -> DevicesPage {
    // Devices with vendor:device ids first (they have pages), most common first.
    let mut list: Vec<&analysis::DeviceEntry> = hcl.devices.iter().collect();
    list.sort_by(|a, b| {
        (
            !a.key.has_page(),
            a.role,
            std::cmp::Reverse(a.reports.len()),
            &a.key,
        )
            .cmp(&(
                !b.key.has_page(),
                b.role,
                std::cmp::Reverse(b.reports.len()),
                &b.key,
            ))
    });
    let paging = Paging::window(&mut list, window, filter);
    let devices: Vec<DeviceRowOut> = list.into_iter().map(|d| device_row(hcl, d)).collect();
    DevicesPage {
        frame,
        filter: filter.clone(),
        kernels: kernel_ids(hcl),
        paging,
        devices,
    }
}

/// One bus's view of a `vendor:device`.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceDetail {
    pub device: DeviceRowOut,
    pub modaliases: Vec<String>,
    pub machines: Vec<MachineRef>,
    /// PCI devices: passthrough over the machines and per report.
    pub readiness: Option<readiness::DeviceReadiness>,
}

/// `/devices/{vendor}:{device}`: the machines that have it and its coverage per kernel.
#[derive(Template, Serialize)]
#[template(path = "device.html")]
pub struct DevicePage {
    #[serde(skip)]
    pub frame: Frame,
    pub id: String,
    pub name: String,
    pub entries: Vec<DeviceDetail>,
}

pub fn device(hcl: &Hcl, id: &str, frame: Frame) -> Option<DevicePage> {
    let entries: Vec<DeviceDetail> = hcl
        .device(id)
        .into_iter()
        .map(|d| DeviceDetail {
            readiness: readiness::DeviceReadiness::of(hcl, d),
            device: device_row(hcl, d),
            modaliases: d.modaliases.clone(),
            machines: d
                .reports
                .iter()
                .map(|i| analysis::kernel_report::machine_ref(&hcl.reports[*i]))
                .collect(),
        })
        .collect();
    let first = entries.first()?;
    Some(DevicePage {
        frame,
        id: first.device.id.clone(),
        name: first.device.name.clone(),
        entries,
    })
}

/// A kernel in the list, with its share.
#[derive(Debug, Clone, Serialize)]
pub struct KernelRow {
    pub info: KernelInfo,
    pub share: KernelShare,
    pub url: String,
}

/// `/kernels`.
#[derive(Template, Serialize)]
#[template(path = "kernels.html")]
pub struct KernelsPage {
    #[serde(skip)]
    pub frame: Frame,
    pub kernels: Vec<KernelRow>,
    #[serde(skip)]
    pub chart: String,
}

pub fn kernels(hcl: &Hcl, frame: Frame) -> KernelsPage {
    let shares = analysis::kernel_report::shares(hcl);
    KernelsPage {
        frame,
        chart: share_chart(
            "Machines whose dom0-critical devices are all driven",
            &shares,
        ),
        kernels: hcl
            .kernels
            .iter()
            .zip(shares)
            .map(|(k, s)| KernelRow {
                url: format!("/kernels/{}", k.id),
                info: k.clone(),
                share: s,
            })
            .collect(),
    }
}

/// A device kind the kernel does not drive.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub device: DeviceRowOut,
    pub cell: VerdictCell,
}

/// `/kernels/{id}`: profile summary and the devices this kernel leaves undriven.
#[derive(Template, Serialize)]
#[template(path = "kernel.html")]
pub struct KernelPage {
    #[serde(skip)]
    pub frame: Frame,
    pub info: KernelInfo,
    pub share: KernelShare,
    /// Device kinds seen in reports that this kernel does not drive (or drives with caveats),
    /// dom0-critical first.
    pub gaps: Vec<Gap>,
}

pub fn kernel(hcl: &Hcl, id: &str, frame: Frame) -> Option<KernelPage> {
    let k = hcl.kernel_index(id)?;
    let share = analysis::kernel_report::shares(hcl).into_iter().nth(k)?;
    let mut list: Vec<&analysis::DeviceEntry> = hcl
        .devices
        .iter()
        .filter(|d| {
            d.per_kernel
                .get(k)
                .is_some_and(|c| c.verdict != Verdict::Supported)
        })
        .collect();
    list.sort_by(|a, b| {
        (a.role, std::cmp::Reverse(a.reports.len()), &a.key).cmp(&(
            b.role,
            std::cmp::Reverse(b.reports.len()),
            &b.key,
        ))
    });
    let gaps = list
        .into_iter()
        .filter_map(|d| {
            let cell = VerdictCell::of_cell(id, d.per_kernel.get(k)?);
            Some(Gap {
                device: device_row(hcl, d),
                cell,
            })
        })
        .collect();
    Some(KernelPage {
        frame,
        info: hcl.kernels[k].clone(),
        share,
        gaps,
    })
}

/// A kernel offered in the report form.
#[derive(Debug, Clone, Serialize)]
pub struct KernelChoice {
    pub id: String,
    pub checked: bool,
    pub baseline: bool,
}

/// `/kernel-report`: the kernel choice report.
#[derive(Template, Serialize)]
#[template(path = "kernel_report.html")]
pub struct KernelReportPage {
    #[serde(skip)]
    pub frame: Frame,
    #[serde(flatten)]
    pub report: KernelChoiceReport,
    #[serde(skip)]
    pub choices: Vec<KernelChoice>,
    #[serde(skip)]
    pub chart: String,
    /// Query string that reproduces this report (for the CSV and Markdown links).
    #[serde(skip)]
    pub query: String,
}

impl KernelReportPage {
    /// Candidates other than the baseline, with their losses.
    pub fn targets(&self) -> Vec<(String, Vec<&analysis::Loss>)> {
        self.report
            .candidates
            .iter()
            .filter(|k| k.id != self.report.baseline)
            .map(|k| {
                (
                    k.id.clone(),
                    self.report.losses.iter().filter(|l| l.to == k.id).collect(),
                )
            })
            .collect()
    }
}

pub fn kernel_report_page(
    hcl: &Hcl,
    candidates: &[String],
    baseline: Option<&str>,
    filter: &Filter,
    frame: Frame,
) -> Result<KernelReportPage, analysis::AnalysisError> {
    let all: Vec<String>;
    let candidates = if candidates.is_empty() {
        all = kernel_ids(hcl);
        &all
    } else {
        candidates
    };
    let report = analysis::kernel_report(hcl, candidates, baseline, filter)?;
    let choices = hcl
        .kernels
        .iter()
        .map(|k| KernelChoice {
            id: k.id.clone(),
            checked: report.candidates.iter().any(|c| c.id == k.id),
            baseline: report.baseline == k.id,
        })
        .collect();
    let mut query = format!(
        "candidates={}&baseline={}",
        report
            .candidates
            .iter()
            .map(|k| k.id.as_str())
            .collect::<Vec<_>>()
            .join(","),
        report.baseline
    );
    let fq = filter.query();
    if !fq.is_empty() {
        query.push('&');
        query.push_str(&fq);
    }
    Ok(KernelReportPage {
        frame,
        chart: share_chart(
            "Machines whose dom0-critical devices are all driven, per candidate kernel",
            &report.shares,
        ),
        report,
        choices,
        query,
    })
}

/// Helpers the templates call on shared analysis types.
pub trait Labels {
    fn role_label(&self) -> &'static str;
    fn verdict_class(&self) -> &'static str;
    fn verdict_label(&self) -> &'static str;
}

impl Labels for analysis::Loss {
    fn role_label(&self) -> &'static str {
        role_label(self.role)
    }
    fn verdict_class(&self) -> &'static str {
        verdict_class(self.verdict)
    }
    fn verdict_label(&self) -> &'static str {
        verdict_label(self.verdict)
    }
}

impl Labels for analysis::DeviceIssue {
    fn role_label(&self) -> &'static str {
        role_label(self.role)
    }
    fn verdict_class(&self) -> &'static str {
        verdict_class(self.verdict)
    }
    fn verdict_label(&self) -> &'static str {
        verdict_label(self.verdict)
    }
}

/// The version string of a kernel id, for tables keyed by id.
fn version_of(kernels: &[KernelInfo], id: &str) -> String {
    kernels
        .iter()
        .find(|k| k.id == id)
        .map(|k| k.kernel_version.clone())
        .unwrap_or_default()
}

fn distro_of(kernels: &[KernelInfo], id: &str) -> String {
    kernels
        .iter()
        .find(|k| k.id == id)
        .map(|k| format!("{} {}", k.distro, k.release))
        .unwrap_or_default()
}

impl OverviewPage {
    pub fn version_of(&self, id: &str) -> String {
        version_of(&self.kernels, id)
    }
    pub fn distro_of(&self, id: &str) -> String {
        distro_of(&self.kernels, id)
    }
}

impl KernelReportPage {
    pub fn version_of(&self, id: &str) -> String {
        version_of(&self.report.candidates, id)
    }
}

#[cfg(test)]
mod tests {
    use super::Paging;

    #[test]
    fn pages_are_clamped_and_cut() {
        let mut rows: Vec<u32> = (0..25).collect();
        let p = Paging::cut(&mut rows, 3, 10, "type=laptop".into());
        assert_eq!(rows, (20..25).collect::<Vec<_>>());
        assert_eq!((p.total, p.page, p.pages), (25, 3, 3));
        assert_eq!(p.prev().as_deref(), Some("?type=laptop&page=2"));
        assert_eq!(p.next(), None);
        let mut rows: Vec<u32> = (0..5).collect();
        let p = Paging::cut(&mut rows, 99, 10, String::new());
        assert_eq!((rows.len(), p.page), (5, 1));
        let mut empty: Vec<u32> = Vec::new();
        let p = Paging::cut(&mut empty, 0, 10, String::new());
        assert_eq!((p.page, p.pages, p.next()), (1, 1, None));
    }
}
