//! Qubes readiness over the fleet: for each network, Wi-Fi and USB controller model, whether
//! the machines that have one can hand it to sys-net or sys-usb (the probe's passthrough
//! verdict, `hcl_data::PassthroughFacts::judge`), and whether the machines can suspend the way
//! Qubes needs (S3, `hcl_data::Suspend::support`).
//!
//! Machines are counted as machine models, one model one vote: of a model's reports that have
//! the controller, the newest that says something decides (a known verdict before `unknown`,
//! `unknown` before no data at all), so a model scanned ten times weighs what a model scanned
//! once does. Report counts stand beside. Reports without readiness facts (Qubes HCL imports,
//! probes before them) count as "no data", apart from the probe's "unknown".

use std::collections::BTreeMap;

use hcl_data::{ControllerKind, Day, PassthroughVerdict, ServiceVm, SuspendSupport};
use serde::Serialize;

use super::hcl::Hcl;
use super::keys::{DeviceKey, MachineKey};
use super::view::{DeviceRow, ReportView};

/// The controller kind of a device row ([`ControllerKind::of`], hcl-data's rule).
pub fn controller_kind(d: &DeviceRow) -> Option<ControllerKind> {
    ControllerKind::of_parts(&d.key.bus, d.class.as_deref(), &d.category, &d.modalias)
}

/// What one report, or one machine model, says of a device: its passthrough verdict, or
/// nothing (no readiness facts in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Vote {
    Verdict(PassthroughVerdict),
    NoData,
}

impl Vote {
    /// A report's vote for the instances of one device kind it has: the worst known verdict
    /// (two of the same controller, one grouped: the machine must group one), `unknown` when
    /// the probe judged them but could not tell, no data when it did not judge them.
    pub fn of_instances<'a>(rows: impl IntoIterator<Item = &'a DeviceRow>) -> Vote {
        let verdicts: Vec<PassthroughVerdict> = rows
            .into_iter()
            .filter_map(|d| d.passthrough.as_ref().map(|p| p.verdict))
            .collect();
        let known = verdicts
            .iter()
            .copied()
            .filter(|v| *v != PassthroughVerdict::Unknown)
            .min();
        match (known, verdicts.is_empty()) {
            (Some(v), _) => Vote::Verdict(v),
            (None, false) => Vote::Verdict(PassthroughVerdict::Unknown),
            (None, true) => Vote::NoData,
        }
    }

    /// How much it says: a known verdict, then `unknown`, then nothing.
    fn weight(self) -> u8 {
        match self {
            Vote::Verdict(PassthroughVerdict::Unknown) => 1,
            Vote::Verdict(_) => 2,
            Vote::NoData => 0,
        }
    }
}

/// Machine models and reports behind one figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub machines: usize,
    pub reports: usize,
}

/// Machines and reports by passthrough verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PassthroughCounts {
    pub ready: Tally,
    pub no_strict_reset: Tally,
    pub assign_with_group: Tally,
    pub not_isolated: Tally,
    pub unknown: Tally,
    /// No readiness facts in the report (Qubes HCL import, a probe before them).
    pub no_data: Tally,
}

impl PassthroughCounts {
    pub fn add_report(&mut self, v: Vote) {
        self.slot(v).reports += 1;
    }

    pub fn add_machine(&mut self, v: Vote) {
        self.slot(v).machines += 1;
    }

    fn slot(&mut self, v: Vote) -> &mut Tally {
        match v {
            Vote::Verdict(PassthroughVerdict::Ready) => &mut self.ready,
            Vote::Verdict(PassthroughVerdict::NoStrictReset) => &mut self.no_strict_reset,
            Vote::Verdict(PassthroughVerdict::AssignWithGroup) => &mut self.assign_with_group,
            Vote::Verdict(PassthroughVerdict::NotIsolated) => &mut self.not_isolated,
            Vote::Verdict(PassthroughVerdict::Unknown) => &mut self.unknown,
            Vote::NoData => &mut self.no_data,
        }
    }

    /// The tallies in column order, with their names (the CSV's and the page's).
    pub fn columns(&self) -> [(&'static str, Tally); 6] {
        [
            ("ready", self.ready),
            ("no_strict_reset", self.no_strict_reset),
            ("assign_with_group", self.assign_with_group),
            ("not_isolated", self.not_isolated),
            ("unknown", self.unknown),
            ("no_data", self.no_data),
        ]
    }
}

/// A device model that shared an IOMMU group with a controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupMate {
    pub id: String,
    pub name: String,
    /// Machine models where it did.
    pub machines: usize,
}

/// One controller model (`vendor:device`) over the fleet.
#[derive(Debug, Clone, Serialize)]
pub struct ControllerFigures {
    pub kind: ControllerKind,
    pub service_vm: ServiceVm,
    pub id: String,
    pub url: Option<String>,
    pub name: String,
    /// Machine models seen with it, and their reports.
    pub machines: usize,
    pub reports: usize,
    pub counts: PassthroughCounts,
    /// The other endpoint devices its IOMMU group held where it must be assigned with its
    /// group, most machines first.
    pub grouped_with: Vec<GroupMate>,
}

/// Machines and reports by what suspend to RAM offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SuspendFigures {
    pub machines: usize,
    pub reports: usize,
    pub deep: Tally,
    pub s2idle_only: Tally,
    pub no_suspend: Tally,
    pub unknown: Tally,
    /// No suspend facts in the report.
    pub no_data: Tally,
}

impl SuspendFigures {
    fn slot(&mut self, s: Option<SuspendSupport>) -> &mut Tally {
        match s {
            Some(SuspendSupport::Deep) => &mut self.deep,
            Some(SuspendSupport::S2idleOnly) => &mut self.s2idle_only,
            Some(SuspendSupport::NoSuspend) => &mut self.no_suspend,
            Some(SuspendSupport::Unknown) => &mut self.unknown,
            None => &mut self.no_data,
        }
    }

    /// The tallies in column order, with their names (the JSON's and the CSV's).
    pub fn columns(&self) -> [(&'static str, Tally); 5] {
        [
            ("deep", self.deep),
            ("s2idle_only", self.s2idle_only),
            ("no_suspend", self.no_suspend),
            ("unknown", self.unknown),
            ("no_data", self.no_data),
        ]
    }

    /// The tallies in column order, by what they count (None: no suspend facts).
    pub fn by_support(&self) -> [(Option<SuspendSupport>, Tally); 5] {
        let mut me = *self;
        SUSPEND_COLUMNS.map(|s| (s, *me.slot(s)))
    }
}

/// What each suspend column counts, in [`SuspendFigures::columns`] order.
pub const SUSPEND_COLUMNS: [Option<SuspendSupport>; 5] = [
    Some(SuspendSupport::Deep),
    Some(SuspendSupport::S2idleOnly),
    Some(SuspendSupport::NoSuspend),
    Some(SuspendSupport::Unknown),
    None,
];

/// The fleet's readiness figures.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessFigures {
    /// Machine models and reports in the snapshot.
    pub machines: usize,
    pub reports: usize,
    /// How machines are counted, in words (the page says it too).
    pub counting: &'static str,
    /// Sorted by kind, then most machines first.
    pub controllers: Vec<ControllerFigures>,
    pub suspend: SuspendFigures,
    /// Machine models with a report made in a Xen dom0, which hides some facts from the probe.
    pub xen_dom0_machines: usize,
}

/// How machines are counted: one sentence for the page, the JSON and the docs.
pub const COUNTING: &str = "Machines are machine models, one model one vote: of a model's \
     reports, the newest that says something decides (a known verdict before unknown, unknown \
     before no data). Reports are counted beside.";

/// The PCI address a device row sits at (`0000:00:14.0`, the last part of its sysfs path).
pub fn address(d: &DeviceRow) -> Option<&str> {
    d.sysfs_path.as_deref()?.rsplit('/').next()
}

/// The endpoint devices of `r` at the addresses of `group` (bridges left out).
pub fn group_mates<'a>(r: &'a ReportView, group: &[String]) -> Vec<&'a DeviceRow> {
    r.devices
        .iter()
        .filter(|d| d.key.bus == "pci")
        .filter(|d| address(d).is_some_and(|a| group.iter().any(|g| g == a)))
        .filter(|d| !d.class.as_deref().is_some_and(hcl_data::is_bridge_class))
        .collect()
}

/// One vote per machine model: the deciding report's vote (see the module doc).
#[derive(Debug, Default)]
pub struct ModelVotes(BTreeMap<MachineKey, (u8, Day, usize, Vote)>);

impl ModelVotes {
    /// Report `r` (index `ri` in the snapshot) votes `vote`: it decides for its model when it
    /// says more than the model's vote so far, or as much and is newer.
    pub fn vote(&mut self, r: &ReportView, ri: usize, vote: Vote) {
        let cand = (vote.weight(), r.day.clone(), ri, vote);
        match self.0.get_mut(&r.machine) {
            Some(slot) if cand > *slot => *slot = cand,
            Some(_) => {}
            None => {
                self.0.insert(r.machine.clone(), cand);
            }
        }
    }

    pub fn machines(&self) -> usize {
        self.0.len()
    }

    /// The deciding vote of each model.
    pub fn votes(&self) -> impl Iterator<Item = Vote> + '_ {
        self.0.values().map(|(_, _, _, v)| *v)
    }
}

#[derive(Default)]
struct ControllerAcc {
    kind: Option<ControllerKind>,
    models: ModelVotes,
    counts: PassthroughCounts,
    reports: usize,
    mates: BTreeMap<DeviceKey, (String, Vec<MachineKey>)>,
}

/// The figures over every report of `hcl` (filter the reports before building it).
pub fn figures(hcl: &Hcl) -> ReadinessFigures {
    let mut controllers: BTreeMap<DeviceKey, ControllerAcc> = BTreeMap::new();
    for (ri, r) in hcl.reports.iter().enumerate() {
        let mut mine: BTreeMap<&DeviceKey, Vec<&DeviceRow>> = BTreeMap::new();
        for d in &r.devices {
            if controller_kind(d).is_some() && d.key.has_page() {
                mine.entry(&d.key).or_default().push(d);
            }
        }
        for (key, rows) in mine {
            let acc = controllers.entry(key.clone()).or_default();
            // A kind read from a class beats one guessed from an HCL field.
            for kind in rows.iter().filter_map(|d| controller_kind(d)) {
                if acc.kind.is_none_or(|k| !k.certain() && kind.certain()) {
                    acc.kind = Some(kind);
                }
            }
            let vote = Vote::of_instances(rows.iter().copied());
            acc.reports += 1;
            acc.counts.add_report(vote);
            acc.models.vote(r, ri, vote);
            for d in &rows {
                let Some(p) = &d.passthrough else { continue };
                if p.verdict != PassthroughVerdict::AssignWithGroup {
                    continue;
                }
                for m in group_mates(r, p.group.as_deref().unwrap_or_default()) {
                    let e = acc
                        .mates
                        .entry(m.key.clone())
                        .or_insert_with(|| (m.name.clone(), Vec::new()));
                    if !e.1.contains(&r.machine) {
                        e.1.push(r.machine.clone());
                    }
                }
            }
        }
    }
    let mut list: Vec<ControllerFigures> = controllers
        .into_iter()
        .filter_map(|(key, acc)| {
            let kind = acc.kind?;
            let mut counts = acc.counts;
            for vote in acc.models.votes() {
                counts.add_machine(vote);
            }
            let name = hcl
                .devices
                .iter()
                .find(|d| d.key == key)
                .map(|d| d.name.clone())
                .unwrap_or_else(|| key.id.clone());
            let mut grouped_with: Vec<GroupMate> = acc
                .mates
                .into_iter()
                .map(|(k, (name, machines))| GroupMate {
                    id: k.id,
                    name,
                    machines: machines.len(),
                })
                .collect();
            grouped_with.sort_by(|a, b| b.machines.cmp(&a.machines).then(a.id.cmp(&b.id)));
            Some(ControllerFigures {
                kind,
                service_vm: kind.service_vm(),
                url: key.url(),
                name,
                machines: acc.models.machines(),
                reports: acc.reports,
                counts,
                grouped_with,
                id: key.id,
            })
        })
        .collect();
    list.sort_by(|a, b| {
        (a.kind, std::cmp::Reverse(a.machines), &a.id).cmp(&(
            b.kind,
            std::cmp::Reverse(b.machines),
            &b.id,
        ))
    });

    let mut suspend = SuspendFigures {
        reports: hcl.reports.len(),
        machines: hcl.machines.len(),
        ..Default::default()
    };
    let mut xen_dom0_machines = 0;
    for m in &hcl.machines {
        let support = |i: &usize| {
            hcl.reports[*i]
                .system
                .suspend
                .as_ref()
                .map(hcl_data::Suspend::support)
        };
        for i in &m.reports {
            suspend.slot(support(i)).reports += 1;
        }
        let weight = |s: Option<SuspendSupport>| match s {
            None => 0,
            Some(SuspendSupport::Unknown) => 1,
            Some(_) => 2,
        };
        // Oldest first, and max_by_key keeps the last of equals: the newest with the most to
        // say decides.
        let decider = m.reports.iter().max_by_key(|i| weight(support(i)));
        suspend.slot(decider.and_then(support)).machines += 1;
        if m.reports.iter().any(|i| {
            hcl.reports[*i]
                .system
                .xen
                .as_ref()
                .is_some_and(|x| x.dom0 == hcl_data::Tri::Yes)
        }) {
            xen_dom0_machines += 1;
        }
    }
    ReadinessFigures {
        machines: hcl.machines.len(),
        reports: hcl.reports.len(),
        counting: COUNTING,
        controllers: list,
        suspend,
        xen_dom0_machines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl_data::{Category, Passthrough, Role};

    fn row(class: &str, category: Category, verdict: Option<PassthroughVerdict>) -> DeviceRow {
        DeviceRow {
            key: DeviceKey {
                bus: "pci".into(),
                id: "8086:1234".into(),
            },
            modalias: String::new(),
            partial: false,
            category,
            role: Role::Assignable,
            name: String::new(),
            driver: None,
            out_of_tree_driver: false,
            usb_kind: None,
            sysfs_path: Some("/sys/devices/pci0000:00/0000:00:14.0".into()),
            coverage: Vec::new().into(),
            observed: None,
            class: Some(class.into()),
            passthrough: verdict.map(|verdict| Passthrough {
                verdict,
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_report_votes_its_worst_known_verdict() {
        use PassthroughVerdict::*;
        let vote = |v: &[Option<PassthroughVerdict>]| {
            let rows: Vec<DeviceRow> = v
                .iter()
                .map(|v| row("0c0330", Category::UsbController, *v))
                .collect();
            Vote::of_instances(&rows)
        };
        assert_eq!(
            vote(&[Some(Ready), Some(AssignWithGroup)]),
            Vote::Verdict(AssignWithGroup)
        );
        assert_eq!(vote(&[Some(Unknown), Some(Ready)]), Vote::Verdict(Ready));
        assert_eq!(vote(&[Some(Unknown)]), Vote::Verdict(Unknown));
        assert_eq!(vote(&[None, Some(Unknown)]), Vote::Verdict(Unknown));
        assert_eq!(vote(&[None]), Vote::NoData);
        // A known verdict says more than unknown, which says more than nothing.
        assert!(Vote::Verdict(NotIsolated).weight() > Vote::Verdict(Unknown).weight());
        assert!(Vote::Verdict(Unknown).weight() > Vote::NoData.weight());
    }

    #[test]
    fn rows_take_the_shared_controller_rule() {
        let kind = |class: &str, cat: Category| controller_kind(&row(class, cat, None));
        assert_eq!(kind("020000", Category::Network), Some(ControllerKind::Nic));
        assert_eq!(kind("028000", Category::Wifi), Some(ControllerKind::Wifi));
        assert_eq!(kind("030000", Category::Gpu), None);
        let mut hcl_line = row("", Category::Network, None);
        hcl_line.class = None;
        assert_eq!(controller_kind(&hcl_line), Some(ControllerKind::Network));
        hcl_line.modalias = "pci:v00008086d000051F0sv????????sd????????bc02sc80i??".into();
        assert_eq!(controller_kind(&hcl_line), Some(ControllerKind::Wifi));
        let mut usb_bus = row("0c0330", Category::UsbController, None);
        usb_bus.key.bus = "usb".into();
        assert_eq!(controller_kind(&usb_bus), None);
        assert_eq!(address(&usb_bus), Some("0000:00:14.0"));
    }
}
