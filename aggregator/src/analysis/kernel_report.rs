//! The kernel choice report: for chosen candidate kernels, who keeps a working dom0 and who
//! loses what.

use std::collections::BTreeMap;

use hcl_data::{Category, MachineState, Role, Verdict};
use serde::Serialize;

use super::hcl::{Hcl, KernelInfo};
use super::keys::DeviceKey;
use super::view::{DeviceRow, ReportView};
use super::{AnalysisError, Filter};

/// At most this many machines are named per device; the count is always complete.
pub const MACHINES_LISTED: usize = 100;

/// A machine named in the report.
#[derive(Debug, Clone, Serialize)]
pub struct MachineRef {
    pub report_id: String,
    pub brand: String,
    pub model: String,
    pub url: String,
    pub machine_url: String,
}

impl MachineRef {
    fn of(r: &ReportView) -> Self {
        MachineRef {
            report_id: r.id.clone(),
            brand: r.brand.clone(),
            model: r.model.clone(),
            url: r.url(),
            machine_url: r.machine.url(),
        }
    }
}

/// One kernel's result over all machines.
#[derive(Debug, Clone, Serialize)]
pub struct KernelShare {
    pub kernel: String,
    /// Machines with at least one dom0-critical device this kernel can judge.
    pub assessed: usize,
    /// Of those, machines whose dom0-critical devices are all driven.
    pub ok: usize,
    pub fails: usize,
    /// Machines left out: no dom0-critical device known, or only on buses without data.
    pub no_data: usize,
    /// `ok / assessed`, 0 when nothing was assessed.
    pub share: f64,
    /// Assessed machines whose answer rests on partial identifiers (Qubes HCL imports).
    pub partial: usize,
}

impl KernelShare {
    pub fn percent(&self) -> String {
        format!("{:.1}", self.share * 100.0)
    }
}

/// A device kind driven by kernel `from` and not by kernel `to`.
#[derive(Debug, Clone, Serialize)]
pub struct Loss {
    pub from: String,
    pub to: String,
    pub device: DeviceKey,
    pub device_url: Option<String>,
    pub name: String,
    pub category: Category,
    pub role: Role,
    /// Verdict of `to` (worst over the variants seen).
    pub verdict: Verdict,
    pub reason: String,
    /// Drivers `from` uses for it.
    pub from_drivers: Vec<String>,
    pub partial: bool,
    pub machine_count: usize,
    /// The first [`MACHINES_LISTED`] machines affected.
    pub machines: Vec<MachineRef>,
    #[serde(skip)]
    pub(super) last: usize,
}

/// A firmware gap or a RHEL hardware-status entry of one kernel for one device kind.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceIssue {
    pub kernel: String,
    pub device: DeviceKey,
    pub device_url: Option<String>,
    pub name: String,
    pub role: Role,
    pub verdict: Verdict,
    /// Missing firmware files, or the RHEL status (`disabled (device table)`).
    pub detail: String,
    pub partial: bool,
    pub machine_count: usize,
    pub machines: Vec<MachineRef>,
    #[serde(skip)]
    pub(super) last: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct KernelChoiceReport {
    pub candidates: Vec<KernelInfo>,
    /// Losses are counted from this kernel to each other candidate.
    pub baseline: String,
    pub filter: Filter,
    pub machines_total: usize,
    pub shares: Vec<KernelShare>,
    pub losses: Vec<Loss>,
    pub firmware_gaps: Vec<DeviceIssue>,
    pub rhel: Vec<DeviceIssue>,
}

/// Build the report over every report of `hcl` (filter the reports before building `hcl`;
/// `filter` is only recorded).
pub fn kernel_report(
    hcl: &Hcl,
    candidates: &[String],
    baseline: Option<&str>,
    filter: &Filter,
) -> Result<KernelChoiceReport, AnalysisError> {
    let known = || {
        hcl.kernels
            .iter()
            .map(|k| k.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut idx: Vec<usize> = Vec::new();
    for c in candidates
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    {
        let i = hcl
            .kernel_index(c)
            .ok_or_else(|| AnalysisError::UnknownKernel(c.to_owned(), known()))?;
        if !idx.contains(&i) {
            idx.push(i);
        }
    }
    let Some(&first) = idx.first() else {
        return Err(AnalysisError::NoCandidates);
    };
    let base = match baseline.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => match hcl.kernel_index(b) {
            Some(i) if idx.contains(&i) => i,
            _ => return Err(AnalysisError::BadBaseline(b.to_owned())),
        },
        None => first,
    };

    let shares = idx.iter().map(|&k| share(hcl, k)).collect();

    // Losses: grouped by (target kernel, device kind).
    let mut losses: BTreeMap<(usize, DeviceKey), Loss> = BTreeMap::new();
    let mut fw: BTreeMap<(usize, DeviceKey), DeviceIssue> = BTreeMap::new();
    let mut rhel: BTreeMap<(usize, DeviceKey, String), DeviceIssue> = BTreeMap::new();
    for (ri, r) in hcl.reports.iter().enumerate() {
        for d in &r.devices {
            for &to in idx.iter().filter(|&&k| k != base) {
                let (Some(a), Some(b)) = (d.coverage.get(base), d.coverage.get(to)) else {
                    continue;
                };
                if b.verdict.lost_against(a.verdict) {
                    let e = losses.entry((to, d.key.clone())).or_insert_with(|| Loss {
                        from: hcl.kernels[base].id.clone(),
                        to: hcl.kernels[to].id.clone(),
                        device_url: d.key.url(),
                        device: d.key.clone(),
                        name: d.name.clone(),
                        category: d.category.clone(),
                        role: d.role,
                        verdict: b.verdict,
                        reason: b.reason.clone(),
                        from_drivers: Vec::new(),
                        partial: false,
                        machine_count: 0,
                        machines: Vec::new(),
                        last: usize::MAX,
                    });
                    e.role = e.role.min(d.role);
                    e.partial |= b.partial || d.partial;
                    if b.verdict > e.verdict {
                        e.verdict = b.verdict;
                        e.reason = b.reason.clone();
                    }
                    for m in a
                        .modules
                        .iter()
                        .chain(&a.builtin)
                        .chain(&a.inferred_builtin)
                    {
                        if !e.from_drivers.contains(m) {
                            e.from_drivers.push(m.clone());
                        }
                    }
                    add_machine(&mut e.machine_count, &mut e.machines, &mut e.last, ri, r);
                }
            }
            for &k in &idx {
                let Some(c) = d.coverage.get(k) else { continue };
                if c.verdict == Verdict::FirmwareMissing {
                    let missing: Vec<&str> = c.missing_firmware().collect();
                    let e = fw
                        .entry((k, d.key.clone()))
                        .or_insert_with(|| issue(hcl, k, d, c.verdict, String::new()));
                    for f in missing {
                        if !e.detail.split(", ").any(|x| x == f) {
                            if !e.detail.is_empty() {
                                e.detail.push_str(", ");
                            }
                            e.detail.push_str(f);
                        }
                    }
                    e.partial |= c.partial;
                    add_machine(&mut e.machine_count, &mut e.machines, &mut e.last, ri, r);
                }
                if let Some(s) = &c.rhel_status {
                    let detail = s.detail();
                    let e = rhel
                        .entry((k, d.key.clone(), detail.clone()))
                        .or_insert_with(|| issue(hcl, k, d, c.verdict, detail));
                    e.partial |= c.partial;
                    add_machine(&mut e.machine_count, &mut e.machines, &mut e.last, ri, r);
                } else if c.verdict == Verdict::Disabled {
                    let detail = Verdict::Disabled.as_str().to_owned();
                    let e = rhel
                        .entry((k, d.key.clone(), detail.clone()))
                        .or_insert_with(|| issue(hcl, k, d, c.verdict, detail));
                    add_machine(&mut e.machine_count, &mut e.machines, &mut e.last, ri, r);
                }
            }
        }
    }

    let mut losses: Vec<Loss> = losses.into_values().collect();
    // Per kernel: dom0-critical first, then what hurts the most machines.
    losses.sort_by(|a, b| {
        severity(&a.to, a.role, a.machine_count, &a.device).cmp(&severity(
            &b.to,
            b.role,
            b.machine_count,
            &b.device,
        ))
    });
    let order = |v: &mut Vec<DeviceIssue>| {
        v.sort_by(|a, b| {
            severity(&a.kernel, a.role, a.machine_count, &a.device).cmp(&severity(
                &b.kernel,
                b.role,
                b.machine_count,
                &b.device,
            ))
        })
    };
    let mut firmware_gaps: Vec<DeviceIssue> = fw.into_values().collect();
    order(&mut firmware_gaps);
    let mut rhel: Vec<DeviceIssue> = rhel.into_values().collect();
    order(&mut rhel);

    Ok(KernelChoiceReport {
        candidates: idx.iter().map(|&k| hcl.kernels[k].clone()).collect(),
        baseline: hcl.kernels[base].id.clone(),
        filter: filter.clone(),
        machines_total: hcl.reports.len(),
        shares,
        losses,
        firmware_gaps,
        rhel,
    })
}

/// The share of every catalog kernel, in catalog order.
pub fn shares(hcl: &Hcl) -> Vec<KernelShare> {
    (0..hcl.kernels.len()).map(|k| share(hcl, k)).collect()
}

/// How a report is named in lists.
pub fn machine_ref(r: &ReportView) -> MachineRef {
    MachineRef::of(r)
}

fn share(hcl: &Hcl, k: usize) -> KernelShare {
    let mut s = KernelShare {
        kernel: hcl.kernels[k].id.clone(),
        assessed: 0,
        ok: 0,
        fails: 0,
        no_data: 0,
        share: 0.0,
        partial: 0,
    };
    for r in &hcl.reports {
        let Some(st) = r.status.get(k) else { continue };
        match st.state() {
            MachineState::Ok => s.ok += 1,
            MachineState::Fails => s.fails += 1,
            MachineState::NoData => {
                s.no_data += 1;
                continue;
            }
        }
        s.assessed += 1;
        if st.partial {
            s.partial += 1;
        }
    }
    if s.assessed > 0 {
        s.share = s.ok as f64 / s.assessed as f64;
    }
    s
}

fn issue(hcl: &Hcl, k: usize, d: &DeviceRow, verdict: Verdict, detail: String) -> DeviceIssue {
    DeviceIssue {
        kernel: hcl.kernels[k].id.clone(),
        device: d.key.clone(),
        device_url: d.key.url(),
        name: d.name.clone(),
        role: d.role,
        verdict,
        detail,
        partial: d.partial,
        machine_count: 0,
        machines: Vec::new(),
        last: usize::MAX,
    }
}

/// Count a machine once per device kind even when it has the device twice (reports are
/// visited in order, so a repeat is always the last one counted).
fn add_machine(
    count: &mut usize,
    list: &mut Vec<MachineRef>,
    last: &mut usize,
    ri: usize,
    r: &ReportView,
) {
    if *last == ri {
        return;
    }
    *last = ri;
    *count += 1;
    if list.len() < MACHINES_LISTED {
        list.push(MachineRef::of(r));
    }
}

/// Sort key of a loss or an issue: kernel, role (dom0 first), most machines, device.
fn severity<'a>(
    kernel: &'a str,
    role: Role,
    machines: usize,
    device: &'a DeviceKey,
) -> (&'a str, Role, std::cmp::Reverse<usize>, &'a DeviceKey) {
    (kernel, role, std::cmp::Reverse(machines), device)
}
