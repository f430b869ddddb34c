//! The kernel choice report: for chosen candidate kernels, who keeps a working dom0 and who
//! loses what.

use std::collections::{BTreeMap, BTreeSet};

use hcl_data::{Category, MachineState, Role, Verdict};
use serde::Serialize;

use super::hcl::{Hcl, KernelInfo};
use super::keys::{DeviceKey, MachineKey};
use super::view::{DeviceRow, ReportView};
use super::{AnalysisError, Filter};

/// At most this many machines are named per device; the count is always complete.
pub const MACHINES_LISTED: usize = 100;

/// How the report counts machines, in words (shown with every table of counts).
pub const COUNTING: &str = "Machines are counted as machine models (brand and model), one model \
one vote: a model fails on a kernel when one of its reports fails there, works when one works and \
none fails. Report counts follow in brackets. Reports without a date (Qubes HCL files that carry \
none) are undated: a date filter leaves them out.";

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
    /// Assessed machines (reports) whose answer could change with the unknown fields of their
    /// partial identifiers ([`hcl_data::Coverage::undecided`]); partial ids whose known fields
    /// decide every verdict are not counted.
    pub partial: usize,
    /// The same counts per machine model (one model, one vote; see [`COUNTING`]).
    pub models_assessed: usize,
    pub models_ok: usize,
    pub models_fails: usize,
    pub models_no_data: usize,
    /// `models_ok / models_assessed`, 0 when no model was assessed.
    pub models_share: f64,
}

impl KernelShare {
    pub fn percent(&self) -> String {
        format!("{:.1}", self.share * 100.0)
    }

    /// The share of machine models, one decimal.
    pub fn models_percent(&self) -> String {
        format!("{:.1}", self.models_share * 100.0)
    }
}

/// What one candidate loses against the baseline for one question (dom0's kernel, or the
/// kernel and firmware of sys-net / sys-usb): the report's lead.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionLoss {
    pub kernel: String,
    pub role: Role,
    /// [`Role::question`].
    pub question: String,
    /// Machine models with at least one device of this question lost.
    pub models: usize,
    /// Reports with at least one such device lost.
    pub reports: usize,
    /// Device kinds lost.
    pub device_kinds: usize,
    /// The device kinds hurting the most models first, `vendor:device name` (at most 5).
    pub worst: Vec<String>,
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
    /// Every driver the baseline uses for it is one whose loss a user does not see (EDAC,
    /// AGP bridges: [`hcl_data::Coverage::zero_weight`]): listed, weighs nothing.
    pub zero_weight: bool,
    /// Reports that lose the device.
    pub machine_count: usize,
    /// Machine models that lose it (one model, one vote).
    pub models: usize,
    /// Reports that list this device kind at all.
    pub listed: usize,
    /// Of those, reports where the baseline or this kernel has no data for it: neither lost
    /// nor kept.
    pub no_data: usize,
    /// The first [`MACHINES_LISTED`] machines affected.
    pub machines: Vec<MachineRef>,
    #[serde(skip)]
    pub(super) last: usize,
    #[serde(skip)]
    pub(super) model_keys: BTreeSet<MachineKey>,
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
    /// Reports.
    pub machines_total: usize,
    /// Machine models (brand and model) among them.
    pub machine_models_total: usize,
    /// Reports without a date.
    pub undated: usize,
    /// Which kernel the verdicts assume for which devices ([`hcl_data::KERNEL_ASSUMPTION`]).
    pub kernel_assumption: String,
    /// How machines are counted ([`COUNTING`]).
    pub counting: String,
    /// Real losses per candidate and question, weighted by machine models: the lead.
    pub question_losses: Vec<QuestionLoss>,
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
    // Per device kind: reports listing it; per (kernel, kind): reports without data for it.
    let mut listed: BTreeMap<DeviceKey, (usize, usize)> = BTreeMap::new();
    let mut no_data: BTreeMap<(usize, DeviceKey), (usize, usize)> = BTreeMap::new();
    for (ri, r) in hcl.reports.iter().enumerate() {
        for d in &r.devices {
            if d.counts() {
                count_once(&mut listed, d.key.clone(), ri);
            }
            for &to in idx.iter().filter(|&&k| k != base) {
                let (Some(a), Some(b)) = (d.coverage.get(base), d.coverage.get(to)) else {
                    continue;
                };
                if d.counts() && (a.verdict == Verdict::Unknown || b.verdict == Verdict::Unknown) {
                    count_once(&mut no_data, (to, d.key.clone()), ri);
                }
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
                        zero_weight: a.loss_weight() == 0,
                        machine_count: 0,
                        models: 0,
                        listed: 0,
                        no_data: 0,
                        machines: Vec::new(),
                        last: usize::MAX,
                        model_keys: BTreeSet::new(),
                    });
                    e.role = e.role.min(d.role);
                    e.partial |= b.partial || d.partial;
                    e.model_keys.insert(r.machine.clone());
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

    let mut losses: Vec<Loss> = losses
        .into_iter()
        .map(|((to, key), mut l)| {
            l.models = l.model_keys.len();
            l.listed = listed.get(&key).map_or(0, |e| e.0);
            l.no_data = no_data.get(&(to, key)).map_or(0, |e| e.0);
            l
        })
        .collect();
    // Per kernel: dom0-critical first, then what hurts the most machine models.
    losses.sort_by(|a, b| {
        severity(&a.to, a.role, a.models, &a.device)
            .cmp(&severity(&b.to, b.role, b.models, &b.device))
    });
    let question_losses = question_losses(hcl, &idx, base, &losses);
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
        machine_models_total: hcl.machines.len(),
        undated: hcl.reports.iter().filter(|r| r.day.is_unknown()).count(),
        kernel_assumption: hcl_data::KERNEL_ASSUMPTION.to_owned(),
        counting: COUNTING.to_owned(),
        question_losses,
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

/// Count `ri` once under `key` (reports are visited in order: a repeat is the last one).
fn count_once<K: Ord>(m: &mut BTreeMap<K, (usize, usize)>, key: K, ri: usize) {
    let e = m.entry(key).or_insert((0, usize::MAX));
    if e.1 != ri {
        *e = (e.0 + 1, ri);
    }
}

/// Per candidate other than the baseline and per question, the machine models and reports
/// that lose at least one device of it.
fn question_losses(hcl: &Hcl, idx: &[usize], base: usize, losses: &[Loss]) -> Vec<QuestionLoss> {
    let mut out = Vec::new();
    for &to in idx.iter().filter(|&&k| k != base) {
        let id = &hcl.kernels[to].id;
        for role in [Role::Dom0, Role::Assignable] {
            let mine: Vec<&Loss> = losses
                .iter()
                .filter(|l| &l.to == id && l.role == role && !l.zero_weight)
                .collect();
            let (mut models, mut reports) = (BTreeSet::new(), 0);
            for r in &hcl.reports {
                let hit = r.devices.iter().any(|d| {
                    d.role == role
                        && match (d.coverage.get(base), d.coverage.get(to)) {
                            (Some(a), Some(b)) => {
                                b.verdict.lost_against(a.verdict) && a.loss_weight() > 0
                            }
                            _ => false,
                        }
                });
                if hit {
                    reports += 1;
                    models.insert(&r.machine);
                }
            }
            out.push(QuestionLoss {
                kernel: id.clone(),
                role,
                question: role.question().to_owned(),
                models: models.len(),
                reports,
                device_kinds: mine.len(),
                worst: mine
                    .iter()
                    .take(5)
                    .map(|l| format!("{} {}", l.device.id, l.name))
                    .collect(),
            });
        }
    }
    out
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
        models_assessed: 0,
        models_ok: 0,
        models_fails: 0,
        models_no_data: 0,
        models_share: 0.0,
    };
    for m in &hcl.machines {
        let states: Vec<MachineState> = m
            .reports
            .iter()
            .filter_map(|&i| hcl.reports.get(i)?.status.get(k).map(|st| st.state()))
            .collect();
        if states.contains(&MachineState::Fails) {
            s.models_fails += 1;
        } else if states.contains(&MachineState::Ok) {
            s.models_ok += 1;
        } else {
            s.models_no_data += 1;
            continue;
        }
        s.models_assessed += 1;
    }
    if s.models_assessed > 0 {
        s.models_share = s.models_ok as f64 / s.models_assessed as f64;
    }
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
