//! Binding conditions read from each kernel's source: what stands between a matching alias and
//! a working driver (beyond kmod, which answers only whether an alias matches).
//!
//! - i915 and xe list devices they refuse unless `force_probe` names them
//!   (`require_force_probe` in the device info; [`intel`]).
//! - amdgpu, nouveau and iwlwifi match whole families and recognise the chip at run time; a
//!   chip this kernel's driver does not know is not driven, and a known chip needs the firmware
//!   the driver declares for it, not just any of the driver's files ([`chips`]).
//!
//! `build-shipped` derives them per profile ([`derive`]) from `data/kernel-source/` (the few
//! source files, per Debian source package) and `data/chips/` (which chip a PCI id is), and
//! stores them as `B` records of the profile ([`ConditionRecord`]); the engine applies them
//! ([`hcl_kernel_engine::conditions`]). Profiles without a source (RHEL: no AlmaLinux source is
//! reachable here) have none and say so: unknown, not guessed.

mod chips;
mod csrc;
mod intel;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use hcl_kernel_engine::conditions::{CHECKED_DRIVERS, ConditionRecord, RecordKind};

use crate::error::Error;
use hcl_kernel_engine::Profile;

/// The Debian source package version whose tree a shipped profile's conditions come from
/// (a folder of `data/kernel-source/`); None for RHEL, whose source is not reachable here.
pub fn source_version(profile_id: &str) -> Option<&'static str> {
    Some(match profile_id {
        "debian-12" => "6.1.176-1",
        // The Qubes profile's pci/usb data was derived from this same tree.
        "debian-13" | "qubes-6.12" => "6.12.117-1",
        "debian-13-backports" => "7.3.4-1~bpo13+1",
        "debian-sid" => "7.2.13-1",
        // The trees their pci/usb data was derived from (data/kernel-data/qubes-derived/).
        "qubes-6.18" => "6.18.15-1~bpo13+1",
        "qubes-7.1" => "7.1.8-2",
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
                if profile
                    .declared_firmware("amdgpu", &chip.firmware)
                    .is_empty()
                {
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
                if profile.declared_firmware("nouveau", &prefixes).is_empty() {
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
            let kind = if profile.declared_firmware("iwlwifi", &prefixes).is_empty() {
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
