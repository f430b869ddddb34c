//! Chips a driver recognises at run time rather than by PCI id, read from each kernel's source,
//! and the hardware tables that say which chip a PCI id is (`data/chips/`, `data/kernel-source/`).
//!
//! - amdgpu drives new AMD GPUs through a catch-all by class and IP discovery: it works only
//!   when its discovery code knows the chip's GC (graphics core) version. The GC version of a
//!   PCI id comes from `data/chips/amdgpu-gc.tsv` (the kernel's amdgpu documentation joined
//!   with pci.ids).
//! - nouveau matches every NVIDIA display device and reads the chipset from the card: it works
//!   only when its chipset table has the chip. The chip of a PCI id comes from pci.ids
//!   (`data/chips/nvidia.tsv`).
//! - iwlwifi loads firmware named after the MAC family (`iwlwifi-gl-...`): the family of a PCI
//!   id comes from the newest kernel's `iwl_hw_card_ids` (`iwl_gl_mac_cfg`).

use std::collections::{BTreeMap, BTreeSet};

use super::csrc;

/// A GC IP version.
pub(crate) type IpVersion = (u32, u32, u32);

/// GC versions amdgpu's IP discovery sets up: those both `amdgpu_discovery_set_common_ip_blocks`
/// and `amdgpu_discovery_set_gc_ip_blocks` have a `case` for (either fails the probe with
/// -EINVAL on any other).
pub(crate) fn amdgpu_known_gc(discovery_c: &str) -> Result<BTreeSet<IpVersion>, String> {
    let c = csrc::clean(discovery_c);
    let cases = |func: &str| -> Result<BTreeSet<IpVersion>, String> {
        let body = csrc::block_after(&c, &format!("{func}(struct amdgpu_device"))
            .ok_or_else(|| format!("no {func} in amdgpu_discovery.c"))?;
        let mut out = BTreeSet::new();
        for (i, _) in body.match_indices("case") {
            let rest = body[i + 4..].trim_start();
            let Some(rest) = rest.strip_prefix("IP_VERSION") else {
                continue;
            };
            let Some(open) = rest.find('(') else { continue };
            let Some(args) = csrc::balanced(rest, open) else {
                continue;
            };
            let v: Vec<u32> = csrc::args(args)
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect();
            if let [a, b, c] = v.as_slice() {
                out.insert((*a, *b, *c));
            }
        }
        if out.is_empty() {
            return Err(format!("{func} has no case IP_VERSION"));
        }
        Ok(out)
    };
    let common = cases("amdgpu_discovery_set_common_ip_blocks")?;
    let gc = cases("amdgpu_discovery_set_gc_ip_blocks")?;
    Ok(common.intersection(&gc).copied().collect())
}

/// Chip names (`AD102`) of the chipsets nouveau's `nvkm_device_ctor` sets
/// (`device->chip = &nv192_chipset`); any other chipset fails with "unknown chipset".
pub(crate) fn nouveau_known_chips(base_c: &str) -> Result<BTreeSet<String>, String> {
    let c = csrc::clean(base_c);
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for (at, id) in csrc::idents(&c) {
        if !id.ends_with("_chipset") {
            continue;
        }
        let rest = c[at + id.len()..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let Some(open) = rest.find('{') else { continue };
        let Some(init) = csrc::balanced(rest, open) else {
            continue;
        };
        if let Some(name) = csrc::last_field(init, "name") {
            names.insert(id, name.trim_matches('"'));
        }
    }
    let mut known = BTreeSet::new();
    for (i, _) in c.match_indices("device->chip") {
        let rest = c[i + "device->chip".len()..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('&') else {
            continue;
        };
        let end = rest
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
            .unwrap_or(rest.len());
        if let Some(name) = names.get(&rest[..end]) {
            known.insert((*name).to_owned());
        }
    }
    if known.is_empty() {
        return Err("no `device->chip = &..._chipset` in nouveau's base.c".into());
    }
    Ok(known)
}

/// PCI device id -> iwlwifi firmware name prefix (`iwlwifi-gl-`) for the MAC families whose
/// firmware is named after the MAC (AX200 and later), from `iwl_hw_card_ids` of a pcie/drv.c
/// that names a MAC configuration per id (`iwl_gl_mac_cfg`, linux 6.15 and later).
pub(crate) fn iwlwifi_mac_prefixes(drv_c: &str) -> Result<BTreeMap<u16, String>, String> {
    let c = csrc::clean(drv_c);
    let table = csrc::block_after(&c, "iwl_hw_card_ids[] =").ok_or("no iwl_hw_card_ids[]")?;
    let mut out = BTreeMap::new();
    for (_, args) in csrc::calls(table, |n| n == "IWL_PCI_DEVICE") {
        let a = csrc::args(args);
        let (Some(dev), Some(cfg)) = (a.first().and_then(|d| csrc::hex(d)), a.get(2)) else {
            continue;
        };
        let Ok(dev) = u16::try_from(dev) else {
            continue;
        };
        let Some(family) = cfg
            .strip_prefix("iwl_")
            .and_then(|s| s.strip_suffix("_mac_cfg"))
            .and_then(|s| s.split('_').next())
        else {
            continue;
        };
        let stem = match family {
            "ax200" => "cc",
            "ty" | "so" | "ma" | "bz" | "gl" | "sc" | "dr" => family,
            _ => continue,
        };
        // The first entry of an id decides, as pci_match_id does.
        out.entry(dev).or_insert_with(|| format!("iwlwifi-{stem}-"));
    }
    if out.is_empty() {
        return Err("iwl_hw_card_ids names no MAC family (before linux 6.15?)".into());
    }
    Ok(out)
}

/// One row of `data/chips/amdgpu-gc.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AmdChip {
    pub device: u16,
    pub gc: Vec<IpVersion>,
    pub firmware: Vec<String>,
    pub name: String,
}

/// A tab-separated table: rows of at least `min` fields, `#` lines skipped.
fn rows<'a>(text: &'a str, origin: &str, min: usize) -> Result<Vec<Vec<&'a str>>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < min {
            return Err(format!(
                "{origin}:{}: needs {min} tab-separated fields",
                n + 1
            ));
        }
        out.push(f);
    }
    Ok(out)
}

fn device_id(s: &str, origin: &str) -> Result<u16, String> {
    u16::from_str_radix(s, 16).map_err(|_| format!("{origin}: {s:?} is no PCI device id"))
}

pub(crate) fn parse_amdgpu_gc(text: &str, origin: &str) -> Result<Vec<AmdChip>, String> {
    rows(text, origin, 4)?
        .into_iter()
        .map(|f| {
            let gc = f[1]
                .split(',')
                .map(|v| {
                    let n: Vec<u32> = v.split('.').filter_map(|x| x.parse().ok()).collect();
                    match n.as_slice() {
                        [a, b, c] => Ok((*a, *b, *c)),
                        _ => Err(format!("{origin}: {v:?} is no GC version")),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(AmdChip {
                device: device_id(f[0], origin)?,
                gc,
                firmware: f[2].split(',').map(str::to_owned).collect(),
                name: f[3].to_owned(),
            })
        })
        .collect()
}

/// `data/chips/nvidia.tsv`: device id -> chip name.
pub(crate) fn parse_nvidia(text: &str, origin: &str) -> Result<BTreeMap<u16, String>, String> {
    rows(text, origin, 2)?
        .into_iter()
        .map(|f| Ok((device_id(f[0], origin)?, f[1].to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gc_versions_need_both_switches() {
        let c = "static int amdgpu_discovery_set_common_ip_blocks(struct amdgpu_device *adev)\n\
            { switch (x) { case IP_VERSION(11, 0, 0): case IP_VERSION(11, 5, 0): break; \
            default: return -EINVAL; } }\n\
            static int amdgpu_discovery_set_gc_ip_blocks(struct amdgpu_device *adev)\n\
            { switch (x) { case IP_VERSION(11, 0, 0): /* case IP_VERSION(12, 0, 0): */ break; } \
            if (y == IP_VERSION(11, 5, 0)) z(); }";
        let known = amdgpu_known_gc(c).unwrap();
        assert_eq!(known.into_iter().collect::<Vec<_>>(), [(11, 0, 0)]);
        assert!(amdgpu_known_gc("int x;").is_err());
    }

    #[test]
    fn nouveau_chips_are_those_the_switch_sets() {
        let c = "static const struct nvkm_device_chip\nnv192_chipset = {\n\t.name = \"AD102\",\n\
            \t.bar = { 0x1, f },\n};\nstatic const struct nvkm_device_chip\nnv1a2_chipset = {\n\
            \t.name = \"GB202\",\n};\nint f() { switch (c) { case 0x192: device->chip = \
            &nv192_chipset; break; } }";
        let known = nouveau_known_chips(c).unwrap();
        assert_eq!(known.into_iter().collect::<Vec<_>>(), ["AD102"]);
    }

    #[test]
    fn iwlwifi_families_from_mac_cfg_names() {
        let c = "static const struct pci_device_id iwl_hw_card_ids[] = {\n\
            {IWL_PCI_DEVICE(0x2723, PCI_ANY_ID, iwl_ax200_mac_cfg)},\n\
            {IWL_PCI_DEVICE(0x7A70, PCI_ANY_ID, iwl_so_long_latency_imr_mac_cfg)},\n\
            {IWL_PCI_DEVICE(0x272b, PCI_ANY_ID, iwl_gl_mac_cfg)},\n\
            {IWL_PCI_DEVICE(0x4232, 0x1201, iwl5000_mac_cfg)},\n{0}\n};";
        let m = iwlwifi_mac_prefixes(c).unwrap();
        assert_eq!(m[&0x2723], "iwlwifi-cc-");
        assert_eq!(m[&0x7a70], "iwlwifi-so-");
        assert_eq!(m[&0x272b], "iwlwifi-gl-");
        assert!(!m.contains_key(&0x4232));
    }

    #[test]
    fn chip_tables_parse_and_reject_bad_rows() {
        let a = parse_amdgpu_gc("#c\n150e\t11.5.0\tamdgpu/gc_11_5_0_\tStrix\tdoc\n", "t").unwrap();
        assert_eq!(a[0].gc, [(11, 5, 0)]);
        assert!(parse_amdgpu_gc("150e\t11.5\tx\ty\n", "t").is_err());
        assert!(parse_amdgpu_gc("zzzz\t11.5.0\tx\ty\n", "t").is_err());
        let n = parse_nvidia("2684\tAD102\tAD102 [GeForce RTX 4090]\n", "t").unwrap();
        assert_eq!(n[&0x2684], "AD102");
    }
}
