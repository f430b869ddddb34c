//! Observed beside predicted: what the observation stick's reports (`hcl-probe stick`) say a
//! kernel really did on a machine, against what that kernel's own profile predicted, and the
//! prediction accuracy per kernel over every such report. The judgement is hcl-data's one rule
//! ([`hcl_data::Device::agreement`], [`hcl_data::Tally`]); this module only gathers it.
//!
//! The prediction compared is the one the report carries under the booted kernel's own profile
//! (`stick-<release>`, imported from the very packages that booted): the server's catalog
//! rarely has that exact kernel build.

use std::collections::BTreeMap;

use hcl_data::{Agreement, Tally};
use serde::Serialize;

use super::csv::record;
use super::kernel_report::machine_ref;
use super::{DeviceEntry, Hcl, MachineRef, ReportView};

/// What the booted kernel did with one device of a stick report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceObservation {
    /// Release of the kernel that booted (`6.1.0-50-amd64`).
    pub kernel: String,
    /// The driver that bound: the device's own, or for an ACPI node its companion's.
    pub bound: Option<String>,
    /// Drivers the kernel's own profile predicted.
    pub predicted: Vec<String>,
    /// None where no driver binds to such a device (input handlers, the CPU, USB devices as a
    /// whole).
    pub agreement: Option<Agreement>,
    pub firmware_failed: Vec<String>,
    /// The device's own failures, `probe e1000e: -110`.
    pub errors: Vec<String>,
    /// Modules that declined at load with -ENODEV (no hardware of theirs): not errors.
    pub declined: Vec<String>,
    /// Belongs on the list of disagreements ([`hcl_data::disagrees`]).
    pub disagrees: bool,
}

impl DeviceObservation {
    /// The observation of `d` in a report of kernel `release` whose own profile is `own`.
    pub fn of(d: &hcl_data::Device, release: &str, own: &str) -> Option<Self> {
        let o = d.observed.as_ref()?;
        let error = |e: &hcl_data::ObservedError| {
            let kind = match e.kind {
                hcl_data::ObservedErrorKind::Probe => "probe",
                hcl_data::ObservedErrorKind::ModuleLoad => "load",
            };
            format!("{kind} {}: {}", e.driver, e.errno)
        };
        Some(DeviceObservation {
            kernel: release.to_owned(),
            bound: d.bound_driver().map(str::to_owned),
            predicted: d
                .coverage
                .get(own)
                .map(|c| c.predicted().map(str::to_owned).collect())
                .unwrap_or_default(),
            agreement: d.agreement(own),
            firmware_failed: o.firmware_failed.clone(),
            errors: o.device_errors().map(error).collect(),
            declined: o.declined().map(|e| e.driver.clone()).collect(),
            disagrees: hcl_data::disagrees(d, own),
        })
    }

    /// The agreement in words; "—" where nothing can be compared.
    pub fn label(&self) -> &'static str {
        self.agreement.map_or("not comparable", Agreement::label)
    }

    /// CSS class: a held prediction, a missed one, or neither.
    pub fn class(&self) -> &'static str {
        match self.agreement {
            Some(a) if a.is_right() => "ok",
            Some(a) if a.is_miss() => "fail",
            _ => "unknown",
        }
    }

    pub fn bound_text(&self) -> &str {
        self.bound.as_deref().unwrap_or("none")
    }

    pub fn predicted_text(&self) -> String {
        if self.predicted.is_empty() {
            "none".to_owned()
        } else {
            self.predicted.join(", ")
        }
    }

    /// Firmware failures and errors, one line.
    pub fn problems(&self) -> String {
        let mut parts: Vec<String> = self
            .firmware_failed
            .iter()
            .map(|f| format!("firmware {f} failed"))
            .collect();
        parts.extend(self.errors.iter().cloned());
        parts.join("; ")
    }
}

/// A stick report as a whole: the kernel that booted and its tally.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportObservation {
    pub kernel: String,
    /// The booted kernel's own profile, whose prediction is compared.
    pub profile: String,
    pub tally: Tally,
}

impl ReportObservation {
    pub fn of(report: &hcl_data::Report) -> Option<Self> {
        let (release, own) = report.observed_kernel()?;
        let mut tally = Tally::default();
        for d in &report.devices {
            tally.add(d, &own);
        }
        Some(ReportObservation {
            kernel: release.to_owned(),
            profile: own,
            tally,
        })
    }

    /// `56 of 58 predicted right`, for a table cell.
    pub fn summary(&self) -> String {
        let t = &self.tally;
        format!(
            "{} of {} predicted right",
            t.right,
            t.devices - t.builtin_without_alias
        )
    }
}

/// One device whose observation disagrees with the prediction (or failed), with where it was
/// seen.
#[derive(Debug, Clone, Serialize)]
pub struct Disagreement {
    pub machine: MachineRef,
    pub bus: String,
    pub id: String,
    pub url: Option<String>,
    pub name: String,
    pub modalias: String,
    pub observation: DeviceObservation,
}

/// Prediction accuracy of one booted kernel over every stick report of it.
#[derive(Debug, Clone, Serialize)]
pub struct KernelAccuracy {
    pub kernel: String,
    /// Stick reports of this kernel (one per machine and power-on).
    pub reports: usize,
    pub tally: Tally,
    /// Predicted right among the devices whose prediction could hold or fail.
    pub accuracy: Option<f64>,
    pub disagreements: Vec<Disagreement>,
}

impl KernelAccuracy {
    pub fn accuracy_text(&self) -> String {
        self.accuracy
            .map_or_else(|| "—".to_owned(), |a| format!("{:.1}%", a * 100.0))
    }
}

/// Accuracy per booted kernel, by release, over the reports of `hcl` that observed.
pub fn accuracy(hcl: &Hcl) -> Vec<KernelAccuracy> {
    let mut by_kernel: BTreeMap<&str, KernelAccuracy> = BTreeMap::new();
    for r in &hcl.reports {
        let Some(obs) = &r.observed else { continue };
        let k = by_kernel
            .entry(obs.kernel.as_str())
            .or_insert_with(|| KernelAccuracy {
                kernel: obs.kernel.clone(),
                reports: 0,
                tally: Tally::default(),
                accuracy: None,
                disagreements: Vec::new(),
            });
        k.reports += 1;
        k.tally.merge(&obs.tally);
        k.disagreements.extend(disagreements(r));
    }
    by_kernel
        .into_values()
        .map(|mut k| {
            k.accuracy = k.tally.accuracy();
            k
        })
        .collect()
}

fn disagreements(r: &ReportView) -> impl Iterator<Item = Disagreement> + '_ {
    r.devices.iter().filter_map(move |d| {
        let o = d.observed.as_ref().filter(|o| o.disagrees)?;
        Some(Disagreement {
            machine: machine_ref(r),
            bus: d.key.bus.clone(),
            id: d.key.id.clone(),
            url: d.key.url(),
            name: d.name.clone(),
            modalias: d.modalias.clone(),
            observation: o.clone(),
        })
    })
}

/// `/accuracy.csv`: one line per disagreement, after one summary line per kernel.
pub fn accuracy_csv(kernels: &[KernelAccuracy]) -> String {
    let mut out = String::new();
    record(
        &mut out,
        &[
            "kind",
            "kernel",
            "reports",
            "devices",
            "predicted_right",
            "predicted_not_bound",
            "bound_not_predicted",
            "builtin_without_alias",
            "firmware_failures",
            "errors",
            "accuracy",
            "machine",
            "report_url",
            "bus",
            "device",
            "modalias",
            "bound",
            "predicted",
            "agreement",
            "problems",
        ],
    );
    for k in kernels {
        let t = &k.tally;
        let n = |v: u32| v.to_string();
        let accuracy = k.accuracy.map(|a| format!("{a:.4}")).unwrap_or_default();
        record(
            &mut out,
            &[
                "kernel",
                &k.kernel,
                &k.reports.to_string(),
                &n(t.devices),
                &n(t.right),
                &n(t.predicted_not_bound),
                &n(t.bound_not_predicted),
                &n(t.builtin_without_alias),
                &n(t.firmware_failures),
                &n(t.errors),
                &accuracy,
            ],
        );
        for d in &k.disagreements {
            let o = &d.observation;
            let machine = format!("{} {}", d.machine.brand, d.machine.model);
            record(
                &mut out,
                &[
                    "disagreement",
                    &k.kernel,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    &machine,
                    &d.machine.url,
                    &d.bus,
                    &d.id,
                    &d.modalias,
                    o.bound_text(),
                    &o.predicted_text(),
                    o.label(),
                    &o.problems(),
                ],
            );
        }
    }
    out
}

/// What the stick reports say about one device kind, per booted kernel: for its page.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceKernelObservation {
    pub kernel: String,
    /// Observations of it (one per report).
    pub seen: usize,
    /// Drivers that bound, each once.
    pub bound: Vec<String>,
    /// Drivers predicted, each once.
    pub predicted: Vec<String>,
    /// How often each agreement came out.
    pub agreements: Vec<(Agreement, usize)>,
    /// Firmware failures and errors, each once.
    pub problems: Vec<String>,
}

impl DeviceKernelObservation {
    pub fn agreements_text(&self) -> String {
        self.agreements
            .iter()
            .map(|(a, n)| format!("{}: {n}", a.label()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The observations of one device kind over the reports that have it, per booted kernel.
pub fn device_observations(hcl: &Hcl, entry: &DeviceEntry) -> Vec<DeviceKernelObservation> {
    let mut by_kernel: BTreeMap<&str, DeviceKernelObservation> = BTreeMap::new();
    let rows = entry.reports.iter().flat_map(|&ri| {
        hcl.reports[ri]
            .devices
            .iter()
            .filter(|d| d.key == entry.key)
    });
    for d in rows {
        let Some(o) = d.observed.as_ref() else {
            continue;
        };
        let k = by_kernel
            .entry(o.kernel.as_str())
            .or_insert_with(|| DeviceKernelObservation {
                kernel: o.kernel.clone(),
                seen: 0,
                bound: Vec::new(),
                predicted: Vec::new(),
                agreements: Vec::new(),
                problems: Vec::new(),
            });
        k.seen += 1;
        let add = |list: &mut Vec<String>, v: &str| {
            if !list.iter().any(|x| x == v) {
                list.push(v.to_owned());
            }
        };
        add(&mut k.bound, o.bound_text());
        for p in &o.predicted {
            add(&mut k.predicted, p);
        }
        let problems = o.problems();
        if !problems.is_empty() {
            add(&mut k.problems, &problems);
        }
        if let Some(a) = o.agreement {
            match k.agreements.iter_mut().find(|(x, _)| *x == a) {
                Some((_, n)) => *n += 1,
                None => k.agreements.push((a, 1)),
            }
        }
    }
    by_kernel.into_values().collect()
}
