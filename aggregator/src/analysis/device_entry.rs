//! A device kind over every report that has it: its machines and, per kernel, the worst known
//! verdict of its variants.

use hcl_data::{Category, Role, Verdict};
use serde::Serialize;

use super::keys::DeviceKey;
use super::view::{DeviceRow, ReportView};

/// What one kernel does for one device kind, over all its variants (subsystem ids etc.).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceKernelCell {
    /// Worst known verdict over the variants seen ([`Verdict::worst_known`]).
    pub verdict: Verdict,
    pub drivers: Vec<String>,
    pub partial: bool,
    pub reason: String,
}

/// One device kind with the machines that have it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceEntry {
    pub key: DeviceKey,
    pub name: String,
    pub category: Category,
    pub role: Role,
    /// Distinct reports that have it, indices into [`super::Hcl::reports`].
    pub reports: Vec<usize>,
    /// Distinct modaliases seen.
    pub modaliases: Vec<String>,
    /// Per catalog kernel.
    pub per_kernel: Vec<DeviceKernelCell>,
}

impl DeviceEntry {
    /// The entry of `key` from its instances (report index, device index), `nk` kernels.
    pub(crate) fn new(
        key: DeviceKey,
        inst: &[(usize, usize)],
        reports: &[ReportView],
        nk: usize,
    ) -> DeviceEntry {
        let rows: Vec<&DeviceRow> = inst.iter().map(|(r, d)| &reports[*r].devices[*d]).collect();
        let mut report_ids: Vec<usize> = inst.iter().map(|(r, _)| *r).collect();
        report_ids.dedup();
        // One representative row per distinct (modalias, partial): variants share coverage.
        let mut variants: Vec<&DeviceRow> = Vec::new();
        for r in &rows {
            if !variants
                .iter()
                .any(|v| v.modalias == r.modalias && v.partial == r.partial)
            {
                variants.push(r);
            }
        }
        let per_kernel = (0..nk).map(|k| cell(&variants, k)).collect();
        // Prefer a name that says more than the modalias.
        let name = rows
            .iter()
            .map(|r| r.name.as_str())
            .find(|n| !n.starts_with(&format!("{}:", key.bus)))
            .or(rows.first().map(|r| r.name.as_str()))
            .unwrap_or("")
            .to_owned();
        DeviceEntry {
            name,
            category: rows.first().map(|r| r.category.clone()).unwrap_or_default(),
            role: rows.iter().map(|r| r.role).min().unwrap_or_default(),
            reports: report_ids,
            modaliases: variants.iter().map(|v| v.modalias.clone()).collect(),
            per_kernel,
            key,
        }
    }
}

/// Kernel `k`'s cell: the worst known verdict of the variants with its reason, every driver.
fn cell(variants: &[&DeviceRow], k: usize) -> DeviceKernelCell {
    let covs: Vec<_> = variants.iter().filter_map(|v| v.coverage.get(k)).collect();
    let verdict = Verdict::worst_known(covs.iter().map(|c| c.verdict));
    let mut drivers: Vec<String> = Vec::new();
    for m in covs.iter().flat_map(|c| {
        c.modules
            .iter()
            .chain(&c.builtin)
            .chain(&c.inferred_builtin)
    }) {
        if !drivers.contains(m) {
            drivers.push(m.clone());
        }
    }
    DeviceKernelCell {
        verdict,
        reason: covs
            .iter()
            .find(|c| c.verdict == verdict)
            .map(|c| c.reason.clone())
            .unwrap_or_default(),
        partial: covs.iter().any(|c| c.partial),
        drivers,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::analysis::keys::MachineKey;
    use crate::analysis::view::tests::row;
    use hcl_data::{Coverage, Day, Origin, System};

    fn view_with(devices: Vec<DeviceRow>) -> ReportView {
        ReportView {
            id: "r".into(),
            received_at: String::new(),
            hidden: false,
            day: Day::Unknown,
            origin: Origin::Probe,
            generator: String::new(),
            brand: "b".into(),
            model: "m".into(),
            machine_type: "laptop".into(),
            machine: MachineKey {
                brand: "b".into(),
                model: "m".into(),
            },
            system: System::default(),
            qubes_versions: Vec::new(),
            status: Vec::new(),
            devices,
        }
    }

    #[test]
    fn unknown_variant_does_not_hide_a_driven_one() {
        // Regression: a GeForce 210 seen once with its class and once without showed "no
        // data" on its device page, because "unknown" sorted as the worst verdict.
        let mut a = row(Role::Dom0, None, &[Verdict::Supported]);
        let mut b = row(Role::Dom0, None, &[Verdict::Unknown]);
        b.modalias.push('x');
        a.coverage = Arc::from(vec![Coverage {
            verdict: Verdict::Supported,
            modules: vec!["nouveau".into()],
            ..Default::default()
        }]);
        let reports = vec![view_with(vec![b]), view_with(vec![a])];
        let e = DeviceEntry::new(
            DeviceKey {
                bus: "pci".into(),
                id: "8086:1234".into(),
            },
            &[(0, 0), (1, 0)],
            &reports,
            1,
        );
        assert_eq!(e.per_kernel[0].verdict, Verdict::Supported);
        assert_eq!(e.per_kernel[0].drivers, ["nouveau"]);
        assert_eq!(e.reports, [0, 1]);
    }
}
