//! Binding conditions: what stands between a matching alias and a working driver, read from
//! each kernel's source (beyond kmod, which answers only whether an alias matches).
//!
//! - i915 and xe list devices they refuse unless `force_probe` names them
//!   (`require_force_probe` in the device info; [`intel`]).
//! - amdgpu, nouveau and iwlwifi match whole families and recognise the chip at run time; a
//!   chip this kernel's driver does not know is not driven, and a known chip needs the firmware
//!   the driver declares for it, not just any of the driver's files ([`chips`]).
//!
//! `build-shipped` derives them per profile ([`derive`]) from `data/kernel-source/` (the few
//! source files, per Debian source package) and `data/chips/` (which chip a PCI id is), and
//! stores them as `B` records of the profile. [`Profile::coverage`] applies them
//! ([`Profile::assess_conditions`]). Profiles without a source (RHEL: no AlmaLinux source is
//! reachable here) have none and say so: unknown, not guessed.

mod chips;
mod csrc;
mod intel;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl_data::{BindingCondition, BindingKind};

use crate::{Error, Profile};

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

/// The Debian source package version whose tree a shipped profile's conditions come from
/// (a folder of `data/kernel-source/`); None for RHEL, whose source is not reachable here.
pub fn source_version(profile_id: &str) -> Option<&'static str> {
    Some(match profile_id {
        "debian-12" => "6.1.176-1",
        // The Qubes profile's pci/usb data was derived from this same tree.
        "debian-13" | "qubes-6.12" => "6.12.117-1",
        "debian-13-backports" => "7.3.4-1~bpo13+1",
        "debian-sid" => "7.2.13-1",
        _ => return None,
    })
}

/// The newest tree: its iwlwifi names each PCI id's MAC family.
const NEWEST_TREE: &str = "7.3.4-1~bpo13+1";

/// What every profile's derivation shares: the chip tables and the config defaults.
#[derive(Debug, Clone, Default)]
pub struct ConditionInputs {
    root: PathBuf,
    amd: Vec<chips::AmdChip>,
    nvidia: BTreeMap<u16, String>,
    iwlwifi: BTreeMap<u16, String>,
    /// (profile, option) -> the config's value.
    force_probe: BTreeMap<(String, String), String>,
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::bad(path.display(), message)
}

/// A file of a kernel tree under `data/kernel-source/<version>/`, stored xz-compressed.
fn tree_file(root: &Path, version: &str, rel: &str) -> Result<Option<String>, Error> {
    let path = root.join(version).join(format!("{rel}.xz"));
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let text = crate::binary::decompress::decompress_all(&bytes, 64 << 20)
        .map_err(|e| bad(&path, crate::binary::decompress::describe(&e)))?;
    String::from_utf8(text.into_owned())
        .map(Some)
        .map_err(|_| bad(&path, "not UTF-8"))
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

impl ConditionInputs {
    /// From the repository's `data/`: `chips/`, `kernel-source/`.
    pub fn load(repo_data: &Path) -> Result<Self, Error> {
        let root = repo_data.join("kernel-source");
        let amd_path = repo_data.join("chips/amdgpu-gc.tsv");
        let nv_path = repo_data.join("chips/nvidia.tsv");
        let amd = chips::parse_amdgpu_gc(&read(&amd_path)?, &amd_path.display().to_string())
            .map_err(|e| bad(&amd_path, e))?;
        let nvidia = chips::parse_nvidia(&read(&nv_path)?, &nv_path.display().to_string())
            .map_err(|e| bad(&nv_path, e))?;
        let drv = "drivers/net/wireless/intel/iwlwifi/pcie/drv.c";
        let iwl_text = tree_file(&root, NEWEST_TREE, drv)?
            .ok_or_else(|| bad(&root.join(NEWEST_TREE), format!("no {drv}.xz")))?;
        let iwlwifi =
            chips::iwlwifi_mac_prefixes(&iwl_text).map_err(|e| bad(&root.join(drv), e))?;
        let fp_path = root.join("force-probe.tsv");
        let mut force_probe = BTreeMap::new();
        for (n, line) in read(&fp_path)?.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let [profile, option, value, _from] = f.as_slice() else {
                return Err(bad(&fp_path, format!("line {}: needs 4 fields", n + 1)));
            };
            let value = if *value == "(not set)" { "" } else { value };
            force_probe.insert(
                ((*profile).to_owned(), (*option).to_owned()),
                value.to_owned(),
            );
        }
        Ok(ConditionInputs {
            root,
            amd,
            nvidia,
            iwlwifi,
            force_probe,
        })
    }

    fn config(&self, profile: &str, option: &str) -> Result<&str, Error> {
        self.force_probe
            .get(&(profile.to_owned(), option.to_owned()))
            .map(String::as_str)
            .ok_or_else(|| {
                bad(
                    &self.root.join("force-probe.tsv"),
                    format!("no {option} for {profile}"),
                )
            })
    }
}

/// Files of `module` in `profile` whose name starts with one of `prefixes`.
fn declared<'a>(profile: &'a Profile, module: &str, prefixes: &[String]) -> Vec<&'a str> {
    profile
        .module(module)
        .map(|m| {
            m.firmware
                .iter()
                .filter(|f| prefixes.iter().any(|p| f.starts_with(p.as_str())))
                .map(String::as_str)
                .collect()
        })
        .unwrap_or_default()
}

/// The conditions of `profile` from the tree `version` of `inputs`, and a one-line account of
/// the source for [`crate::ProfileMeta::conditions_source`].
pub fn derive(
    profile: &Profile,
    version: &str,
    inputs: &ConditionInputs,
) -> Result<(Vec<ConditionRecord>, String), Error> {
    let id = profile.meta.id.as_str();
    let tree = inputs.root.join(version);
    let file = |rel: &str| tree_file(&inputs.root, version, rel);
    let need = |rel: &str| -> Result<String, Error> {
        file(rel)?.ok_or_else(|| bad(&tree, format!("no {rel}.xz")))
    };
    let in_tree = |e: String| bad(&tree, e);
    let mut out: Vec<ConditionRecord> = Vec::new();
    let mut read: Vec<&str> = Vec::new();

    let mut headers = String::new();
    for h in [
        "include/drm/i915_pciids.h",
        "include/drm/intel/i915_pciids.h",
        "include/drm/intel/xe_pciids.h",
        "include/drm/intel/pciids.h",
    ] {
        if let Some(t) = file(h)? {
            headers.push_str(&t);
            headers.push('\n');
        }
    }
    for (module, driver_c, option) in [
        (
            "i915",
            "drivers/gpu/drm/i915/i915_pci.c",
            "CONFIG_DRM_I915_FORCE_PROBE",
        ),
        (
            "xe",
            "drivers/gpu/drm/xe/xe_pci.c",
            "CONFIG_DRM_XE_FORCE_PROBE",
        ),
    ] {
        if !profile.has_module(module) {
            continue;
        }
        let text = need(driver_c)?;
        let ids = intel::force_probe_ids(&text, &headers, inputs.config(id, option)?)
            .map_err(|e| bad(&tree.join(driver_c), e))?;
        read.push(driver_c);
        out.extend(ids.into_iter().map(|fp| ConditionRecord {
            vendor: 0x8086,
            device: fp.device,
            module: module.to_owned(),
            kind: RecordKind::ForceProbe,
            chip: fp.info,
            firmware: Vec::new(),
        }));
    }

    if profile.has_module("amdgpu") {
        let rel = "drivers/gpu/drm/amd/amdgpu/amdgpu_discovery.c";
        let known = chips::amdgpu_known_gc(&need(rel)?).map_err(in_tree)?;
        read.push(rel);
        for chip in &inputs.amd {
            let gc = chip
                .gc
                .iter()
                .map(|(a, b, c)| format!("{a}.{b}.{c}"))
                .collect::<Vec<_>>()
                .join(" or ");
            let label = format!("GC {gc} ({})", chip.name);
            let kind = if chip.gc.iter().any(|v| known.contains(v)) {
                if declared(profile, "amdgpu", &chip.firmware).is_empty() {
                    continue;
                }
                RecordKind::ChipFirmware
            } else {
                RecordKind::UnknownChip
            };
            out.push(ConditionRecord {
                vendor: 0x1002,
                device: chip.device,
                module: "amdgpu".into(),
                kind,
                chip: label,
                firmware: chip.firmware.clone(),
            });
        }
    }

    if profile.has_module("nouveau") {
        let rel = "drivers/gpu/drm/nouveau/nvkm/engine/device/base.c";
        let known = chips::nouveau_known_chips(&need(rel)?).map_err(in_tree)?;
        read.push(rel);
        for (device, chip) in &inputs.nvidia {
            let prefixes = vec![format!("nvidia/{}/", chip.to_ascii_lowercase())];
            let kind = if known.contains(chip) {
                if declared(profile, "nouveau", &prefixes).is_empty() {
                    continue;
                }
                RecordKind::ChipFirmware
            } else {
                RecordKind::UnknownChip
            };
            out.push(ConditionRecord {
                vendor: 0x10de,
                device: *device,
                module: "nouveau".into(),
                kind,
                chip: format!("chipset {chip}"),
                firmware: prefixes,
            });
        }
    }

    // The MAC families iwlwifi knows show in the firmware it declares; derived profiles
    // (Qubes) carry no firmware= data, so there is nothing to read them from.
    let iwlwifi_declares = profile
        .module("iwlwifi")
        .is_some_and(|m| !m.firmware.is_empty());
    let mut skipped = "";
    if profile.has_module("iwlwifi") && !iwlwifi_declares {
        skipped = "; iwlwifi not checked (no firmware= data in this profile)";
    }
    if iwlwifi_declares {
        read.push("iwlwifi firmware= names");
        for (device, prefix) in &inputs.iwlwifi {
            let prefixes = vec![prefix.clone()];
            let kind = if declared(profile, "iwlwifi", &prefixes).is_empty() {
                RecordKind::UnknownChip
            } else {
                RecordKind::ChipFirmware
            };
            let family = prefix.trim_start_matches("iwlwifi-").trim_end_matches('-');
            out.push(ConditionRecord {
                vendor: 0x8086,
                device: *device,
                module: "iwlwifi".into(),
                kind,
                chip: format!("MAC family {family} ({prefix}*.ucode)"),
                firmware: prefixes,
            });
        }
    }
    out.sort();
    out.dedup();
    let source = format!(
        "linux {version} source (data/kernel-source/{version}: {}); chips: data/chips \
         (amdgpu-gc.tsv, nvidia.tsv), iwlwifi MAC families from linux {NEWEST_TREE}{skipped}",
        read.iter()
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok((out, source))
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

/// The vendor and device of a PCI modalias, both known.
fn pci_vendor_device(modalias: &str) -> Option<(u16, u16)> {
    // pci:v0000VVVVd0000DDDD...
    let rest = modalias.strip_prefix("pci:v")?;
    let vendor = rest.get(4..8)?;
    let device = rest.get(8..)?.strip_prefix('d')?.get(4..8)?;
    Some((
        u16::from_str_radix(vendor, 16).ok()?,
        u16::from_str_radix(device, 16).ok()?,
    ))
}

impl Profile {
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
                    let files = declared(self, m, &r.firmware);
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
