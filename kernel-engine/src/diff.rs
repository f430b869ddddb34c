//! What kernel B loses and gains against kernel A: drivers, device-id patterns, firmware.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::Error;
use crate::lookup::Profile;
use crate::profile::model::pattern_bus;

/// Lost and gained items of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Change<T> {
    pub lost: Vec<T>,
    pub gained: Vec<T>,
}

/// A device-id pattern and the drivers that carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DeviceId {
    pub pattern: String,
    pub drivers: Vec<String>,
}

/// The difference between two kernel profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub from: String,
    pub to: String,
    /// Module or built-in driver names.
    pub drivers: Change<String>,
    /// Alias patterns (any kind) present in one kernel and in no form in the other.
    pub device_ids: Change<DeviceId>,
    /// Lost/gained device-id patterns per bus (`pci`, `usb`...).
    pub device_ids_by_bus: BTreeMap<String, (usize, usize)>,
    /// Firmware files of the distro's firmware packages.
    pub firmware_files: Change<String>,
    /// Drivers present in both whose firmware was found in A but none is in B.
    pub firmware_unmet: Vec<String>,
    /// True when either side's data covers only some buses (derived data).
    pub partial_coverage: bool,
}

fn drivers(p: &Profile) -> BTreeSet<String> {
    p.data()
        .modules
        .iter()
        .filter(|m| m.loadable || m.builtin)
        .map(|m| m.name.clone())
        .collect()
}

fn patterns(p: &Profile) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let d = p.data();
    for a in &d.aliases {
        if let Some(m) = d.modules.get(a.module as usize) {
            out.entry(a.pattern.clone())
                .or_default()
                .insert(m.name.clone());
        }
    }
    out
}

fn firmware_met(p: &Profile, module: &str) -> Option<bool> {
    let list = p.data().firmware.as_ref()?;
    let m = p.module(module)?;
    if m.firmware.is_empty() {
        return None;
    }
    Some(m.firmware.iter().any(|f| list.satisfies(f).is_some()))
}

/// Compare kernel `b` against kernel `a`. Both must be whole profiles, not ones decoded for
/// one machine (their alias lists would make kernels look alike that are not).
pub fn diff(a: &Profile, b: &Profile) -> Result<Diff, Error> {
    let (a, b) = (a.require_whole()?, b.require_whole()?);
    let (da, db) = (drivers(a), drivers(b));
    let (pa, pb) = (patterns(a), patterns(b));
    let ids = |from: &BTreeMap<String, BTreeSet<String>>,
               other: &BTreeMap<String, BTreeSet<String>>| {
        from.iter()
            .filter(|(p, _)| !other.contains_key(*p))
            .map(|(p, ms)| DeviceId {
                pattern: p.clone(),
                drivers: ms.iter().cloned().collect(),
            })
            .collect::<Vec<_>>()
    };
    let lost_ids = ids(&pa, &pb);
    let gained_ids = ids(&pb, &pa);
    let mut by_bus: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for id in &lost_ids {
        by_bus.entry(bus(&id.pattern)).or_default().0 += 1;
    }
    for id in &gained_ids {
        by_bus.entry(bus(&id.pattern)).or_default().1 += 1;
    }
    let files = |p: &Profile| -> BTreeSet<String> {
        p.data()
            .firmware
            .as_ref()
            .map(|f| f.files.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default()
    };
    let (fa, fb) = (files(a), files(b));
    let both_have_lists = a.data().firmware.is_some() && b.data().firmware.is_some();
    Ok(Diff {
        from: a.meta.id.clone(),
        to: b.meta.id.clone(),
        drivers: Change {
            lost: da.difference(&db).cloned().collect(),
            gained: db.difference(&da).cloned().collect(),
        },
        device_ids: Change {
            lost: lost_ids,
            gained: gained_ids,
        },
        device_ids_by_bus: by_bus,
        firmware_files: if both_have_lists {
            Change {
                lost: fa.difference(&fb).cloned().collect(),
                gained: fb.difference(&fa).cloned().collect(),
            }
        } else {
            Change::default()
        },
        firmware_unmet: da
            .intersection(&db)
            .filter(|m| firmware_met(a, m) == Some(true) && firmware_met(b, m) == Some(false))
            .cloned()
            .collect(),
        partial_coverage: !a.meta.covered_buses.is_empty() || !b.meta.covered_buses.is_empty(),
    })
}

fn bus(pattern: &str) -> String {
    pattern_bus(pattern).to_owned()
}
