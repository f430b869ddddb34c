//! The verdict engine: what one kernel does for one device, from its drivers, the distro's
//! firmware list, RHEL's hardware status and its optional packages.

use hcl_data::modalias::hex4;
use hcl_data::{Coverage, FirmwareNeed, Modalias, RhelBy, RhelStatus, Verdict};

use crate::lookup::Profile;
use crate::profile::model::pattern_bus;

impl Profile {
    /// RHEL hardware status for a device (PCI id tables) or one of its drivers: the most severe
    /// row that applies.
    pub fn rhel_status(&self, modalias: &str, drivers: &[&str]) -> Option<RhelStatus> {
        let modalias = Modalias::parse(modalias).ok();
        self.rhel_status_of(modalias.as_ref(), drivers)
    }

    fn rhel_status_of(
        &self,
        modalias: Option<&Modalias<'_>>,
        drivers: &[&str],
    ) -> Option<RhelStatus> {
        // Rows name PCI ids as lower-case 4-digit hex, `*` (or `-`) for any.
        let ids = modalias
            .and_then(|m| m.pci())
            .map(|p| [p.vendor, p.device, p.subvendor, p.subdevice].map(|v| v.and_then(hex4)));
        let mut best: Option<RhelStatus> = None;
        for rule in &self.data.rhel {
            let Some((status, by)) = rule.table.meaning() else {
                continue;
            };
            let hit = if by == RhelBy::Device {
                ids.as_ref().is_some_and(|ids| {
                    [&rule.vendor, &rule.device, &rule.subvendor, &rule.subdevice]
                        .iter()
                        .zip(ids)
                        .all(|(want, have)| {
                            want.as_str() == "*"
                                || want.as_str() == "-"
                                || have.as_deref() == Some(want.as_str())
                        })
                })
            } else {
                let name = rule.name.replace('-', "_");
                drivers.iter().any(|d| d.replace('-', "_") == name)
            };
            if !hit
                || best
                    .as_ref()
                    .is_some_and(|b| b.status.severity() >= status.severity())
            {
                continue;
            }
            let name = if by == RhelBy::Driver {
                rule.name.clone()
            } else {
                format!(
                    "{}:{} {}:{}",
                    rule.vendor, rule.device, rule.subvendor, rule.subdevice
                )
            };
            best = Some(RhelStatus { status, by, name });
        }
        best
    }

    /// The full verdict for a device on this kernel.
    ///
    /// With `partial`, only drivers whose pattern names the known id count (see
    /// [`Profile::resolve_partial_split`]); when only class-style wildcards match, the verdict is
    /// Unknown: whether they apply depends on the unknown fields.
    pub fn coverage(&self, modalias: &str, partial: bool) -> Coverage {
        let parsed = Modalias::parse(modalias).ok();
        let bus = parsed
            .as_ref()
            .map_or_else(|| pattern_bus(modalias), |m| m.bus());
        let mut cov = Coverage {
            partial,
            ..Default::default()
        };
        let res = if partial {
            let (specific, generic) = self.resolve_partial_split(modalias);
            if specific.is_empty() && !generic.is_empty() {
                cov.verdict = Verdict::Unknown;
                cov.reason = format!(
                    "no {} driver names this device's id; {} would match depending on the \
                     unknown fields (class)",
                    self.meta.id,
                    generic.all().cloned().collect::<Vec<_>>().join(", ")
                );
                return cov;
            }
            specific
        } else {
            self.resolve(modalias)
        };
        if res.is_empty() {
            if self.covers_bus(bus) {
                cov.verdict = Verdict::NoDriver;
                cov.reason = format!("no driver in {} matches this device", self.meta.id);
            } else {
                cov.verdict = Verdict::Unknown;
                cov.reason = format!(
                    "the {} data covers only {} devices, not {bus}",
                    self.meta.id,
                    self.meta.covered_buses.join(" and ")
                );
            }
            return cov;
        }
        let drivers: Vec<&str> = res.all().map(String::as_str).collect();
        let mut notes: Vec<String> = Vec::new();
        let mut verdict = Verdict::Supported;
        // Beyond aliases: force_probe, chips the driver does not know, the chip's firmware.
        let assessed = self.assess_conditions(modalias, &drivers);
        let binding: Vec<&str> = drivers
            .iter()
            .copied()
            .filter(|d| !assessed.blocked.iter().any(|b| b == d))
            .collect();

        // Firmware: modinfo does not say which file which device needs, so a driver counts as
        // lacking firmware only when none of the files it asks for ships.
        let mut fw_missing_drivers = Vec::new();
        for d in &drivers {
            let Some(m) = self.module(d) else { continue };
            let mut any_shipped = false;
            for file in &m.firmware {
                let (shipped, package) = match &self.data.firmware {
                    None => (None, None),
                    Some(list) => match list.satisfies(file) {
                        Some((pkg, alt)) => {
                            if let Some(alt) = alt
                                && !alt.starts_with(file.as_str())
                                && assessed.concerns(&m.name, file)
                            {
                                notes.push(format!(
                                    "{file} is met by the older API file {alt} the driver falls back to"
                                ));
                            }
                            (Some(true), Some(pkg))
                        }
                        None => (Some(false), None),
                    },
                };
                any_shipped |= shipped == Some(true);
                cov.firmware.push(FirmwareNeed {
                    module: m.name.clone(),
                    file: file.clone(),
                    shipped,
                    package,
                });
            }
            if self.data.firmware.is_some() && !m.firmware.is_empty() && !any_shipped {
                fw_missing_drivers.push(m.name.clone());
            }
        }

        cov.extra_package = drivers
            .iter()
            .filter_map(|d| self.module(d))
            .filter(|m| m.extra)
            .map(|m| m.name.clone())
            .collect();
        cov.rhel_status = self.rhel_status_of(parsed.as_ref(), &drivers);

        let all_extra = cov.extra_package.len() == drivers.len();
        if let Some(st) = &cov.rhel_status {
            verdict = verdict.max(st.status.verdict());
            notes.push(format!("RHEL marks {} {} as {}", st.by, st.name, st.status));
        }
        if all_extra {
            verdict = verdict.max(Verdict::ExtraPackage);
            notes.push(format!(
                "{} ships only in kernel-modules-extra",
                cov.extra_package.join(", ")
            ));
        }
        let lacks_firmware = |d: &&str| {
            fw_missing_drivers.iter().any(|m| m == d)
                || assessed.chip_firmware_missing.iter().any(|m| m == d)
        };
        if binding.is_empty() {
            verdict = verdict.max(if assessed.needs_parameter {
                Verdict::NeedsParameter
            } else {
                Verdict::UnknownChip
            });
        } else if binding.iter().all(lacks_firmware) {
            verdict = verdict.max(Verdict::FirmwareMissing);
            let whole: Vec<&str> = binding
                .iter()
                .copied()
                .filter(|d| fw_missing_drivers.iter().any(|m| m == d))
                .collect();
            if !whole.is_empty() {
                notes.push(format!(
                    "no firmware file {} asks for is in the distro's firmware packages",
                    whole.join(", ")
                ));
            }
        }
        for d in &res.inferred_builtin {
            if let Some(src) = self.inferred_source(d) {
                notes.push(format!(
                    "{d} is built in; its aliases are inferred from {src} (kmod cannot see them)"
                ));
            }
        }
        let how = if !res.modules.is_empty() {
            format!("module {}", res.modules.join(", "))
        } else if !res.builtin.is_empty() {
            format!("built-in {}", res.builtin.join(", "))
        } else {
            format!("built-in {} (inferred)", res.inferred_builtin.join(", "))
        };
        let drives = if binding.is_empty() {
            "matches it with"
        } else {
            "drives it with"
        };
        cov.reason = std::iter::once(format!("{} {drives} {how}", self.meta.id))
            .chain(notes)
            .chain(assessed.notes)
            .collect::<Vec<_>>()
            .join("; ");
        cov.verdict = verdict;
        cov.conditions = assessed.conditions;
        cov.zero_weight = crate::cost::zero_weight_of(drivers.iter().copied());
        cov.modules = res.modules;
        cov.builtin = res.builtin;
        cov.inferred_builtin = res.inferred_builtin;
        cov
    }
}
