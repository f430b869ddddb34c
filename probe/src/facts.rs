//! The facts the Qubes HCL records: DMI, CPU features, TPM, memory, firmware boot mode,
//! running kernel and distro. The IOMMU facts are [`crate::iommu`]'s; what Xen hides from dom0
//! is [`crate::xen`]'s.
//!
//! Identifier files (`product_serial`, `board_serial`, `chassis_serial`, `product_uuid`, hostnames)
//! are never opened: privacy by construction, not by filtering.

use hcl_data::{BootMode, System, Tri};

use crate::root::{Root, printable_line};

const DMI: &str = "sys/class/dmi/id";
/// EFI global variable GUID (SecureBoot lives under it).
const EFI_GLOBAL: &str = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
/// /proc/cpuinfo keys the probe uses; capture keeps only these.
const CPUINFO_KEYS: &[&str] = &[
    "processor",
    "vendor_id",
    "cpu family",
    "model",
    "model name",
    "flags",
    "vmx flags",
];
/// os-release keys the probe uses; capture keeps only these.
const OS_RELEASE_KEYS: &[&str] = &["NAME", "VERSION", "ID", "VERSION_ID", "PRETTY_NAME"];

/// Read every fact; what cannot be read stays None/unknown with a warning where it matters.
pub fn read_system(root: &Root) -> System {
    let mut sys = System::default();
    read_dmi(root, &mut sys);
    read_cpu(root, &mut sys);
    sys.tpm = read_tpm(root);
    sys.memory_mib = read_memory(root);
    read_firmware(root, &mut sys);
    sys.running_kernel = root.read_attr("proc/sys/kernel/osrelease");
    sys.distro = read_distro(root);
    fit_short_fields(root, &mut sys);
    sys
}

/// Cut a one-line fact longer than a report takes (a broken DMI string or TPM attribute of a
/// page) to fit, with a warning: found by the `sysfs` fuzz target, a 3,588-byte
/// `tpm_version_major` made a report the probe's own check refused.
fn fit_short_fields(root: &Root, sys: &mut System) {
    const MARK: &str = "...";
    for (name, value) in sys.short_fields_mut() {
        let Some(v) = value else { continue };
        if v.len() <= hcl_data::MAX_SHORT {
            continue;
        }
        let mut end = hcl_data::MAX_SHORT - MARK.len();
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        root.warn(
            format!("system.{name}"),
            format!(
                "{} bytes, more than a report takes ({}); cut",
                v.len(),
                hcl_data::MAX_SHORT
            ),
        );
        v.truncate(end);
        v.push_str(MARK);
    }
}

/// A DMI string, None when absent or a vendor placeholder.
fn dmi(root: &Root, name: &str) -> Option<String> {
    let v = root.read_attr(&format!("{DMI}/{name}"))?;
    let placeholder = [
        "",
        "To be filled by O.E.M.",
        "To Be Filled By O.E.M.",
        "Default string",
        "System Product Name",
        "System manufacturer",
        "Not Applicable",
        "Not Specified",
        "None",
        "0123456789",
    ];
    (!placeholder.contains(&v.trim())).then(|| v.trim().to_owned())
}

fn read_dmi(root: &Root, sys: &mut System) {
    let vendor = dmi(root, "sys_vendor").or_else(|| dmi(root, "board_vendor"));
    let product = dmi(root, "product_name");
    let version = dmi(root, "product_version");
    // Lenovo keeps the marketing name (ThinkPad T480) in product_version and a type number in
    // product_name; qubes-hcl-report makes the same choice.
    let model = match (&vendor, &product, &version) {
        (Some(v), _, Some(ver)) if v.eq_ignore_ascii_case("lenovo") => Some(ver.clone()),
        (_, Some(p), _) => Some(p.clone()),
        _ => dmi(root, "board_name"),
    };
    sys.brand = vendor;
    sys.model = model;
    let bios: Vec<String> = ["bios_vendor", "bios_version", "bios_date"]
        .iter()
        .filter_map(|n| dmi(root, n))
        .collect();
    sys.bios = (!bios.is_empty()).then(|| bios.join(" "));
    sys.bios_version = dmi(root, "bios_version");
    sys.machine_type = dmi(root, "chassis_type")
        .and_then(|t| t.parse::<u32>().ok())
        .and_then(chassis_name)
        .map(str::to_owned);
}

/// SMBIOS chassis types (DMTF DSP0134 7.4.1), folded to the Qubes HCL's types.
fn chassis_name(t: u32) -> Option<&'static str> {
    Some(match t {
        3..=7 | 13 | 15 | 16 | 24 | 35 | 36 => "desktop",
        8..=12 | 14 | 30..=32 => "laptop",
        17 | 23 | 25 | 28 | 29 => "server",
        _ => return None,
    })
}

fn read_cpu(root: &Root, sys: &mut System) {
    let Some(lines) = root.read_first_block("proc/cpuinfo", 64) else {
        root.warn("proc/cpuinfo", "missing: CPU facts unknown");
        return;
    };
    let mut kept = String::new();
    let mut flags: Vec<String> = Vec::new();
    let mut vmx_flags: Vec<String> = Vec::new();
    for line in &lines {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        if !CPUINFO_KEYS.contains(&key) {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
        let value = value.trim();
        match key {
            "model name" => sys.cpu = Some(printable_line(value.as_bytes()).0),
            "flags" => flags = value.split_whitespace().map(str::to_owned).collect(),
            "vmx flags" => vmx_flags = value.split_whitespace().map(str::to_owned).collect(),
            _ => {}
        }
    }
    root.record_filtered("proc/cpuinfo", kept.into_bytes());
    let has = |f: &str| flags.iter().any(|x| x == f) || vmx_flags.iter().any(|x| x == f);
    if has("vmx") {
        sys.virtualization = Some("vt-x".to_owned());
    } else if has("svm") {
        sys.virtualization = Some("amd-v".to_owned());
    }
    if flags.is_empty() {
        return;
    }
    sys.hvm = tri(sys.virtualization.is_some());
    sys.slat = tri(has("ept") || has("npt"));
}

fn tri(b: bool) -> Tri {
    if b { Tri::Yes } else { Tri::No }
}

fn read_tpm(root: &Root) -> Option<String> {
    let devices = root.list_dir("sys/class/tpm")?;
    let (name, _) = devices.iter().find(|(n, _)| n.starts_with("tpm"))?;
    let base = format!("sys/class/tpm/{name}");
    if let Some(major) = root.read_attr(&format!("{base}/tpm_version_major")) {
        return Some(match major.as_str() {
            "2" => "2.0".to_owned(),
            "1" => "1.2".to_owned(),
            other => other.to_owned(),
        });
    }
    // TPM 1.2 drivers expose `caps` with "TCG version: 1.2".
    if let Some(caps) = root.read_attr(&format!("{base}/device/caps"))
        && let Some(v) = caps.lines().find_map(|l| l.strip_prefix("TCG version:"))
    {
        return Some(v.trim().to_owned());
    }
    Some("unknown".to_owned())
}

fn read_memory(root: &Root) -> Option<u64> {
    let lines = root.read_first_block("proc/meminfo", 4)?;
    let line = lines.iter().find(|l| l.starts_with("MemTotal:"))?;
    root.record_filtered("proc/meminfo", format!("{line}\n").into_bytes());
    let kb: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024)
}

fn read_firmware(root: &Root, sys: &mut System) {
    if !root.exists("sys/firmware/efi") {
        sys.boot_mode = Some(BootMode::Legacy);
        sys.secure_boot = Tri::No;
        return;
    }
    sys.boot_mode = Some(BootMode::Uefi);
    let var = format!("sys/firmware/efi/efivars/SecureBoot-{EFI_GLOBAL}");
    sys.secure_boot = match root.read_bytes(&var) {
        // 4 bytes of attributes, then the value.
        Some(bytes) => match bytes.get(4) {
            Some(1) => Tri::Yes,
            Some(0) => Tri::No,
            _ => {
                root.warn(&var, "unexpected contents; Secure Boot state unknown");
                Tri::Unknown
            }
        },
        None if root.exists("sys/firmware/efi/efivars") => Tri::No,
        None => Tri::Unknown,
    };
}

fn read_distro(root: &Root) -> Option<String> {
    let lines = root.read_first_block("etc/os-release", 64)?;
    let mut kept = String::new();
    let mut pretty = None;
    let mut name = None;
    for line in &lines {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if !OS_RELEASE_KEYS.contains(&k) {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
        let v = printable_line(v.trim().trim_matches('"').as_bytes()).0;
        match k {
            "PRETTY_NAME" => pretty = Some(v),
            "NAME" => name = Some(v),
            _ => {}
        }
    }
    root.record_filtered("etc/os-release", kept.into_bytes());
    pretty.or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chassis_types() {
        assert_eq!(chassis_name(10), Some("laptop"));
        assert_eq!(chassis_name(3), Some("desktop"));
        assert_eq!(chassis_name(23), Some("server"));
        assert_eq!(chassis_name(2), None);
    }
}
