//! `hcl-probe stick results`: the runs the init wrote, read back from an image or a stick.

use std::fmt::Write as _;
use std::path::Path;

use hcl_data::{Agreement, Report};

use super::StickError;
use super::disk::{Part, StickDisk, read_file};
use super::layout::{COMPLETE_MARKER, FORMAT, Outcome, PLAN_FILE, Plan, RUNS_DIR, RunRecord};

/// Largest run record read (a report is tens of KB).
const MAX_RECORD: u64 = 16 << 20;

/// Everything on a stick's results partition.
#[derive(Debug, Clone, Default)]
pub struct StickResults {
    pub plan: Option<Plan>,
    pub sessions: Vec<Session>,
    /// Files that could not be read or parsed (named, never silently dropped).
    pub unreadable: Vec<String>,
}

/// One power-on's tour of the kernels.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub id: u32,
    /// Every kernel of the plan was tried.
    pub complete: bool,
    /// By entry.
    pub records: Vec<RunRecord>,
}

impl StickResults {
    /// The reports, one per kernel that booted and observed, in session and boot order.
    pub fn reports(&self) -> Vec<&Report> {
        self.sessions
            .iter()
            .flat_map(|s| &s.records)
            .filter_map(|r| r.report.as_ref())
            .collect()
    }

    /// Kernels that were started and left no report, as sentences.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.sessions {
            for r in &s.records {
                if r.outcome == Outcome::NoResult {
                    out.push(format!(
                        "session {}: kernel {} ({}): {}",
                        s.id,
                        r.entry,
                        r.release,
                        r.message.as_deref().unwrap_or("no result")
                    ));
                }
            }
        }
        out
    }
}

/// Reads the results partition of the stick or image at `path` (read only).
pub fn read(path: &Path) -> Result<StickResults, StickError> {
    let disk = StickDisk::open(path, false)?;
    let fs = disk.fs(Part::Results)?;
    let io = |e: std::io::Error| StickError::io(path, e);
    let root = fs.root_dir();
    let mut out = StickResults::default();
    match read_file(&root, PLAN_FILE, MAX_RECORD) {
        Ok(bytes) => match serde_json::from_slice::<Plan>(&bytes) {
            Ok(plan) => out.plan = Some(plan),
            Err(e) => out.unreadable.push(format!("{PLAN_FILE}: {e}")),
        },
        Err(e) => out.unreadable.push(format!("{PLAN_FILE}: {e}")),
    }
    let runs = match root.open_dir(RUNS_DIR) {
        Ok(d) => d,
        // No run yet: the stick was never booted.
        Err(_) => return Ok(out),
    };
    let mut dirs: Vec<(u32, String)> = Vec::new();
    for entry in runs.iter() {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if entry.is_dir()
            && let Some(id) = name.strip_prefix('s').and_then(|n| n.parse().ok())
        {
            dirs.push((id, name));
        }
    }
    dirs.sort();
    for (id, name) in dirs {
        let dir = runs.open_dir(&name).map_err(io)?;
        let mut session = Session {
            id,
            ..Default::default()
        };
        let mut files = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(io)?;
            let file = entry.file_name();
            if file == COMPLETE_MARKER {
                session.complete = true;
            } else if file.starts_with("entry-") && file.ends_with(".json") {
                files.push(file);
            }
        }
        files.sort();
        for file in files {
            let shown = format!("{RUNS_DIR}/{name}/{file}");
            let record = read_file(&dir, &file, MAX_RECORD)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<RunRecord>(&b).map_err(|e| e.to_string()));
            match record {
                Ok(r) if r.format > FORMAT => out.unreadable.push(format!(
                    "{shown}: format {} is newer than this hcl-probe reads ({FORMAT})",
                    r.format
                )),
                Ok(r) => session.records.push(r),
                Err(e) => out.unreadable.push(format!("{shown}: {e}")),
            }
        }
        out.sessions.push(session);
    }
    Ok(out)
}

/// The table: per session and kernel, what bound against what the kernel's own profile
/// predicted, every disagreement and failure spelt out.
pub fn table(results: &StickResults) -> String {
    let mut out = String::new();
    if let Some(plan) = &results.plan {
        let _ = writeln!(out, "kernels on the stick:");
        for k in &plan.kernels {
            let _ = writeln!(
                out,
                "  {:02} {} ({})",
                k.entry,
                k.release,
                k.packages.join(", ")
            );
        }
    }
    if results.sessions.is_empty() {
        let _ = writeln!(out, "no runs yet: the stick has not been booted");
    }
    for s in &results.sessions {
        let state = if s.complete {
            "every kernel tried"
        } else {
            "not finished"
        };
        let _ = writeln!(out, "\nsession {} ({state}):", s.id);
        for r in &s.records {
            let _ = write!(out, "  {:02} {:<28} ", r.entry, r.release);
            let Some(report) = &r.report else {
                let _ = writeln!(
                    out,
                    "NO RESULT: {}",
                    r.message.as_deref().unwrap_or("no report")
                );
                continue;
            };
            let profile = results
                .plan
                .as_ref()
                .and_then(|p| p.kernel(r.entry))
                .map(|k| k.profile_id.clone())
                .unwrap_or_default();
            let mut counts = [0usize; 4];
            let mut lines = Vec::new();
            let (mut fw, mut errors) = (0, 0);
            for d in &report.devices {
                let Some(obs) = &d.observed else { continue };
                fw += obs.firmware_failed.len();
                errors += obs.errors.len();
                let agreement = d.agreement(&profile);
                if let Some(a) = agreement {
                    counts[a as usize] += 1;
                }
                let wrong = agreement.is_some_and(|a| !a.is_right());
                if wrong || !obs.firmware_failed.is_empty() || !obs.errors.is_empty() {
                    lines.push(device_line(d, &profile, agreement));
                }
            }
            let observed = counts.iter().sum::<usize>();
            let _ = writeln!(
                out,
                "{observed} devices: {} predicted right, {} predicted a driver that did not \
                 bind, {} bound a driver not predicted; {fw} firmware failures, {errors} errors{}",
                counts[Agreement::Right as usize] + counts[Agreement::RightNone as usize],
                counts[Agreement::PredictedNotBound as usize],
                counts[Agreement::BoundNotPredicted as usize],
                r.timings
                    .as_ref()
                    .map(|t| format!(" (report {:.1} s after kernel start)", t.report_ready_s))
                    .unwrap_or_default()
            );
            for l in lines {
                let _ = writeln!(out, "      {l}");
            }
            if let Some(m) = &r.message {
                let _ = writeln!(out, "      note: {m}");
            }
        }
    }
    for u in &results.unreadable {
        let _ = writeln!(out, "unreadable: {u}");
    }
    out
}

fn device_line(d: &hcl_data::Device, profile: &str, agreement: Option<Agreement>) -> String {
    let name = d
        .sysfs_path
        .as_deref()
        .and_then(|p| p.rsplit('/').next())
        .unwrap_or(&d.modalias);
    let predicted = d
        .coverage
        .get(profile)
        .map(|c| {
            c.modules
                .iter()
                .chain(&c.builtin)
                .chain(&c.inferred_builtin)
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let mut s = format!(
        "{} {name} [{}]: bound {}, predicted {}",
        d.bus,
        d.device_name.as_deref().unwrap_or(d.category.as_str()),
        d.driver
            .as_deref()
            .or(d
                .observed
                .as_ref()
                .and_then(|o| o.companion_driver.as_deref()))
            .unwrap_or("none"),
        if predicted.is_empty() {
            "none"
        } else {
            &predicted
        }
    );
    if let Some(a) = agreement.filter(|a| !a.is_right()) {
        let _ = write!(s, " ({a:?})");
    }
    if let Some(obs) = &d.observed {
        if !obs.firmware_failed.is_empty() {
            let _ = write!(s, "; firmware failed: {}", obs.firmware_failed.join(", "));
        }
        for e in &obs.errors {
            let _ = write!(s, "; {:?} {} error {}", e.kind, e.driver, e.errno);
        }
    }
    s
}
