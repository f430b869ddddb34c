//! i915 and xe: the PCI ids whose device info says `require_force_probe`. Their probe returns
//! -ENODEV for such a device unless its id is in the `force_probe` parameter, whose default is
//! the kernel config's `CONFIG_DRM_{I915,XE}_FORCE_PROBE`.

use std::collections::BTreeMap;

use super::csrc::{self, Define};

/// One device id of a driver's `pciidlist` that needs `force_probe`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ForceProbe {
    pub device: u16,
    /// The device info (`mtl_info`) and its platform (`METEORLAKE`).
    pub info: String,
}

/// Reads `pciidlist` of `driver_c` (i915_pci.c, xe_pci.c), its device infos and the id macros
/// of `pciids_h` (one or more headers, concatenated); returns the ids whose info requires
/// force_probe and that `config_default` (the config's force_probe string) does not force.
/// Errors name what was not found: a layout this reader does not know must not pass silently.
pub(crate) fn force_probe_ids(
    driver_c: &str,
    pciids_h: &str,
    config_default: &str,
) -> Result<Vec<ForceProbe>, String> {
    let c = csrc::clean(driver_c);
    let h = csrc::clean(pciids_h);
    let local = csrc::defines(&c);
    let header = csrc::defines(&h);
    let table = csrc::block_after(&c, "pciidlist[] =").ok_or("no pciidlist[] in the driver")?;
    let forced = parse_force_probe_default(config_default)?;

    let mut out: BTreeMap<u16, ForceProbe> = BTreeMap::new();
    let mut seen: std::collections::BTreeSet<u16> = Default::default();
    let mut infos_read = 0;
    for (name, args) in csrc::calls(table, |n| n.ends_with("_IDS") || n == "INTEL_VGA_DEVICE") {
        let args = csrc::args(args);
        let Some(info) = args.iter().find_map(|a| a.strip_prefix('&')).map(str::trim) else {
            continue;
        };
        let ids = if name == "INTEL_VGA_DEVICE" {
            args.first()
                .and_then(|a| csrc::hex(a))
                .into_iter()
                .collect()
        } else {
            expand_ids(name, &header, 0)?
        };
        let init = device_info(&c, info).ok_or_else(|| format!("no device info {info}"))?;
        infos_read += 1;
        let expanded = csrc::expand_objects(init, &local);
        let required = match csrc::last_field(&expanded, "require_force_probe") {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(v) => return Err(format!("{info}: require_force_probe = {v}?")),
        };
        let platform = csrc::calls(&expanded, |n| n == "PLATFORM")
            .last()
            .map(|(_, a)| a.trim().trim_start_matches("INTEL_").to_owned());
        for id in ids {
            let Ok(id) = u16::try_from(id) else { continue };
            // The PCI core takes the first matching entry of the table.
            if !seen.insert(id) || !required || forced.iter().any(|f| f.is_none_or(|f| f == id)) {
                continue;
            }
            let label = match &platform {
                Some(p) => format!("{info} ({p})"),
                None => info.to_owned(),
            };
            out.insert(
                id,
                ForceProbe {
                    device: id,
                    info: label,
                },
            );
        }
    }
    if infos_read == 0 {
        return Err("pciidlist names no device info".into());
    }
    Ok(out.into_values().collect())
}

/// The initialiser of `static const struct intel_device_info <name> = { ... }` (or
/// `struct xe_device_desc`).
fn device_info<'a>(c: &'a str, name: &str) -> Option<&'a str> {
    for (at, id) in csrc::idents(c) {
        if id != name {
            continue;
        }
        let before = c.get(..at)?.trim_end();
        let rest = c.get(at + name.len()..)?;
        if (before.ends_with("struct intel_device_info")
            || before.ends_with("struct xe_device_desc"))
            && rest.trim_start().starts_with('=')
        {
            return csrc::balanced(c, at + name.len() + rest.find('{')?);
        }
    }
    None
}

/// The device ids an id macro (`INTEL_MTL_IDS`) lists, through the macros it calls.
fn expand_ids(name: &str, defs: &BTreeMap<String, Define>, depth: u32) -> Result<Vec<u32>, String> {
    if depth > 16 {
        return Err(format!("{name}: id macros nest too deep"));
    }
    let d = defs
        .get(name)
        .ok_or_else(|| format!("no id macro {name} in the pciids header"))?;
    let mut out = Vec::new();
    for (callee, args) in csrc::calls(&d.body, |_| true) {
        if callee.ends_with("_IDS") {
            out.extend(expand_ids(callee, defs, depth + 1)?);
        } else if let Some(id) = csrc::args(args).first().and_then(|a| csrc::hex(a)) {
            // INTEL_VGA_DEVICE(0x7D55, info) or MACRO__(0x7D55, ## __VA_ARGS__).
            out.push(id);
        }
    }
    Ok(out)
}

/// The config's force_probe string: `None` entries force every id (`*`). Entries with `!`
/// block ids; no candidate kernel sets one, and this reader refuses them rather than guess.
fn parse_force_probe_default(value: &str) -> Result<Vec<Option<u16>>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s == "*" {
                Ok(None)
            } else if s.starts_with('!') {
                Err(format!(
                    "force_probe default {value:?} blocks ids: not read"
                ))
            } else {
                u16::from_str_radix(s, 16)
                    .map(Some)
                    .map_err(|_| format!("force_probe default {value:?}: {s} is no id"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "#define INTEL_VGA_DEVICE(id, info) { 0x8086, id }\n\
        #define INTEL_A_IDS(info) \\\n INTEL_VGA_DEVICE(0x1111, info), \\\n INTEL_VGA_DEVICE(0x2222, info)\n\
        #define INTEL_B_IDS(MACRO__, ...) MACRO__(0x3333, ## __VA_ARGS__), INTEL_C_IDS(MACRO__, ## __VA_ARGS__)\n\
        #define INTEL_C_IDS(MACRO__, ...) MACRO__(0x4444, ## __VA_ARGS__)\n";
    const DRIVER: &str = "#define NEW_FEATURES \\\n .x = 1, \\\n .require_force_probe = 1\n\
        static const struct intel_device_info a_info = { .x = 2, PLATFORM(INTEL_ALPHA) };\n\
        static const struct intel_device_info b_info = { NEW_FEATURES, PLATFORM(INTEL_BETA) };\n\
        static const struct intel_device_info c_info = { NEW_FEATURES, .require_force_probe = 0 };\n\
        static const struct pci_device_id pciidlist[] = {\n INTEL_A_IDS(&a_info),\n\
        INTEL_B_IDS(INTEL_VGA_DEVICE, &b_info), /* INTEL_A_IDS(&b_info) */\n\
        INTEL_VGA_DEVICE(0x5555, &c_info),\n {}\n};";

    #[test]
    fn ids_of_infos_requiring_force_probe() {
        let got = force_probe_ids(DRIVER, HEADER, "").unwrap();
        assert_eq!(
            got,
            [
                ForceProbe {
                    device: 0x3333,
                    info: "b_info (BETA)".into()
                },
                ForceProbe {
                    device: 0x4444,
                    info: "b_info (BETA)".into()
                },
            ]
        );
        // The config default forces ids: they need no parameter.
        let got = force_probe_ids(DRIVER, HEADER, "4444").unwrap();
        assert_eq!(got.len(), 1);
        assert!(force_probe_ids(DRIVER, HEADER, "*").unwrap().is_empty());
        assert!(force_probe_ids(DRIVER, HEADER, "!3333").is_err());
    }

    #[test]
    fn unknown_layouts_are_errors() {
        assert!(force_probe_ids("int x;", HEADER, "").is_err());
        let missing_macro = DRIVER.replace("INTEL_A_IDS(&a_info)", "INTEL_Z_IDS(&a_info)");
        assert!(force_probe_ids(&missing_macro, HEADER, "").is_err());
    }
}
