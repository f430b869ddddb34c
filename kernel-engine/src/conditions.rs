//! Binding conditions as a profile stores and applies them: what stands between a matching
//! alias and a working driver (beyond kmod, which answers only whether an alias matches).
//!
//! A profile holds them as `B` records ([`ConditionRecord`]): i915/xe devices that bind only
//! with `force_probe`, chips amdgpu, nouveau or iwlwifi do not know in this kernel, and the
//! firmware a known chip needs. `hcl-kernels build-shipped` derives them from each kernel's
//! source (`hcl_kernels::conditions`); [`Profile::coverage`] applies them
//! ([`Profile::assess_conditions`]). Profiles without a source (RHEL: no AlmaLinux source is
//! reachable here) have none and say so: unknown, not guessed.

use hcl_data::{BindingCondition, BindingKind, Modalias};

use crate::lookup::Profile;

/// Drivers whose binding this module checks; on a profile without source they are "not
/// checked".
pub const CHECKED_DRIVERS: [&str; 5] = ["i915", "xe", "amdgpu", "nouveau", "iwlwifi"];

/// What a condition record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    /// The driver binds the device only with `force_probe`.
    ForceProbe,
    /// The driver does not know the device's chip.
    UnknownChip,
    /// The driver knows the chip; its firmware is the module's files with these prefixes.
    ChipFirmware,
}

impl RecordKind {
    fn code(self) -> &'static str {
        match self {
            RecordKind::ForceProbe => "force_probe",
            RecordKind::UnknownChip => "unknown_chip",
            RecordKind::ChipFirmware => "chip_firmware",
        }
    }
    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "force_probe" => RecordKind::ForceProbe,
            "unknown_chip" => RecordKind::UnknownChip,
            "chip_firmware" => RecordKind::ChipFirmware,
            _ => return None,
        })
    }
}

/// One condition of one driver on one PCI device id (profile record `B`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConditionRecord {
    pub vendor: u16,
    pub device: u16,
    pub module: String,
    pub kind: RecordKind,
    /// What the source names: `mtl_info (METEORLAKE)`, `GC 11.5.0 (Strix ...)`, `AD102`.
    pub chip: String,
    /// [`RecordKind::ChipFirmware`]: prefixes of the chip's files among the module's.
    pub firmware: Vec<String>,
}

impl ConditionRecord {
    /// The profile line, without its newline.
    pub(crate) fn to_line(&self) -> String {
        format!(
            "B\t{:04x}\t{:04x}\t{}\t{}\t{}\t{}",
            self.vendor,
            self.device,
            self.module,
            self.kind.code(),
            self.chip,
            if self.firmware.is_empty() {
                "-".to_owned()
            } else {
                self.firmware.join(" ")
            }
        )
    }

    /// The fields after `B` of a profile line.
    pub(crate) fn parse<'a>(mut f: impl Iterator<Item = &'a str>) -> Result<Self, &'static str> {
        const SHAPE: &str =
            "condition record needs vendor, device, module, kind, chip, firmware prefixes";
        let mut next = || f.next().filter(|s| !s.is_empty()).ok_or(SHAPE);
        let hex = |s: &str| u16::from_str_radix(s, 16).map_err(|_| SHAPE);
        let vendor = hex(next()?)?;
        let device = hex(next()?)?;
        let module = next()?.to_owned();
        let kind = RecordKind::from_code(next()?).ok_or("unknown condition kind")?;
        let chip = next()?.to_owned();
        let firmware = match next()? {
            "-" => Vec::new(),
            p => p.split(' ').map(str::to_owned).collect(),
        };
        if f.next().is_some() {
            return Err(SHAPE);
        }
        Ok(ConditionRecord {
            vendor,
            device,
            module,
            kind,
            chip,
            firmware,
        })
    }
}

/// What the conditions of a profile say about one device's matching drivers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Assessment {
    /// Drivers whose alias matches but that do not bind the device.
    pub blocked: Vec<String>,
    /// Some blocked driver binds with a module parameter.
    pub needs_parameter: bool,
    /// Drivers none of whose firmware for this chip ships.
    pub chip_firmware_missing: Vec<String>,
    pub notes: Vec<String>,
    pub conditions: Vec<BindingCondition>,
    /// (module, prefixes) of the chip's own firmware, where the profile knows the chip.
    pub chip_prefixes: Vec<(String, Vec<String>)>,
}

impl Assessment {
    /// True when `file` of `module` concerns this device: any file when the chip is not known,
    /// else only the chip's own files.
    pub(crate) fn concerns(&self, module: &str, file: &str) -> bool {
        self.chip_prefixes
            .iter()
            .filter(|(m, _)| m == module)
            .all(|(_, ps)| ps.iter().any(|p| file.starts_with(p.as_str())))
    }
}

/// The vendor and device of a PCI modalias, both known ([`Modalias`] reads it).
fn pci_vendor_device(modalias: &str) -> Option<(u16, u16)> {
    let parsed = Modalias::parse(modalias).ok()?;
    let pci = parsed.pci()?;
    Some((
        u16::try_from(pci.vendor?).ok()?,
        u16::try_from(pci.device?).ok()?,
    ))
}

impl Profile {
    /// Files of `module` whose name starts with one of `prefixes` (the files a driver declares
    /// for one chip).
    pub fn declared_firmware(&self, module: &str, prefixes: &[String]) -> Vec<&str> {
        self.module(module)
            .map(|m| {
                m.firmware
                    .iter()
                    .filter(|f| prefixes.iter().any(|p| f.starts_with(p.as_str())))
                    .map(String::as_str)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// This profile with `records` as its binding conditions, read from `source`.
    pub fn with_conditions(mut self, mut records: Vec<ConditionRecord>, source: String) -> Self {
        records.sort();
        records.dedup();
        self.meta.counts.conditions = records.len();
        self.meta.conditions_source = source;
        self.data.meta = self.meta.clone();
        self.data.conditions = records;
        self
    }

    /// The condition records of one PCI device id.
    pub fn conditions(&self, vendor: u16, device: u16) -> &[ConditionRecord] {
        let all = &self.data.conditions;
        let key = |r: &ConditionRecord| (r.vendor, r.device);
        let lo = all.partition_point(|r| key(r) < (vendor, device));
        let hi = all.partition_point(|r| key(r) <= (vendor, device));
        all.get(lo..hi).unwrap_or_default()
    }

    /// Apply this kernel's conditions to the drivers that match `modalias`.
    pub(crate) fn assess_conditions(&self, modalias: &str, drivers: &[&str]) -> Assessment {
        let mut a = Assessment::default();
        if self.meta.conditions_source.is_empty() {
            let unchecked: Vec<&str> = drivers
                .iter()
                .copied()
                .filter(|d| CHECKED_DRIVERS.contains(d))
                .collect();
            if !unchecked.is_empty() {
                a.notes.push(format!(
                    "whether {} {} it (force_probe, chip support, the chip's firmware) is \
                     unknown: no {} kernel source here",
                    unchecked.join(", "),
                    if unchecked.len() == 1 {
                        "binds"
                    } else {
                        "bind"
                    },
                    self.meta.id
                ));
            }
            return a;
        }
        let Some((vendor, device)) = pci_vendor_device(modalias) else {
            return a;
        };
        for r in self.conditions(vendor, device) {
            if !drivers.contains(&r.module.as_str()) {
                continue;
            }
            let m = &r.module;
            match r.kind {
                RecordKind::ForceProbe => {
                    a.blocked.push(m.clone());
                    a.needs_parameter = true;
                    a.notes.push(format!(
                        "{m} lists {vendor:04x}:{device:04x} but binds it only with \
                         {m}.force_probe={device:04x} ({}: require_force_probe in this kernel)",
                        r.chip
                    ));
                    a.conditions
                        .push(condition(r, BindingKind::ForceProbe, Vec::new()));
                }
                RecordKind::UnknownChip => {
                    a.blocked.push(m.clone());
                    a.notes.push(format!(
                        "{m} matches it but does not know its chip, {}: firmware for this chip \
                         unknown to this kernel",
                        r.chip
                    ));
                    a.conditions
                        .push(condition(r, BindingKind::UnknownChip, Vec::new()));
                }
                RecordKind::ChipFirmware => {
                    a.chip_prefixes.push((m.clone(), r.firmware.clone()));
                    let Some(list) = &self.data.firmware else {
                        continue;
                    };
                    let files = self.declared_firmware(m, &r.firmware);
                    if files.is_empty() || files.iter().any(|f| list.satisfies(f).is_some()) {
                        continue;
                    }
                    a.chip_firmware_missing.push(m.clone());
                    let shown: Vec<&str> = files.iter().take(3).copied().collect();
                    a.notes.push(format!(
                        "none of the {} files {m} declares for {} ({}{}) is in the distro's \
                         firmware packages",
                        files.len(),
                        r.chip,
                        shown.join(", "),
                        if files.len() > shown.len() {
                            ", ..."
                        } else {
                            ""
                        }
                    ));
                    let files = files.into_iter().map(str::to_owned).collect();
                    a.conditions
                        .push(condition(r, BindingKind::ChipFirmwareMissing, files));
                }
            }
        }
        a
    }
}

fn condition(r: &ConditionRecord, kind: BindingKind, firmware: Vec<String>) -> BindingCondition {
    BindingCondition {
        module: r.module.clone(),
        kind,
        chip: r.chip.clone(),
        firmware,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_ones_are_refused() {
        let r = ConditionRecord {
            vendor: 0x1002,
            device: 0x150e,
            module: "amdgpu".into(),
            kind: RecordKind::ChipFirmware,
            chip: "GC 11.5.0 (Strix [Radeon 880M / 890M])".into(),
            firmware: vec!["amdgpu/gc_11_5_0_".into(), "amdgpu/x_".into()],
        };
        let line = r.to_line();
        let back = ConditionRecord::parse(line.split('\t').skip(1)).unwrap();
        assert_eq!(back, r);
        for bad in [
            "zz\t150e\tamdgpu\tunknown_chip\tc\t-",
            "1002\t150e\tamdgpu\tmaybe\tc\t-",
            "1002\t150e\tamdgpu\tunknown_chip\tc",
            "1002\t150e\tamdgpu\tunknown_chip\tc\t-\textra",
        ] {
            assert!(ConditionRecord::parse(bad.split('\t')).is_err(), "{bad}");
        }
    }

    #[test]
    fn pci_ids_of_modaliases() {
        assert_eq!(
            pci_vendor_device("pci:v00008086d00007D55sv000017AAsd00002233bc03sc00i00"),
            Some((0x8086, 0x7d55))
        );
        assert_eq!(
            pci_vendor_device("pci:v00008086d00007D55sv????????sd????????bc??sc??i??"),
            Some((0x8086, 0x7d55))
        );
        assert_eq!(pci_vendor_device("pci:v0000808?d00007D55sv"), None);
        assert_eq!(pci_vendor_device("usb:v8086p0001"), None);
    }
}
