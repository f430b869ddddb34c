//! Writing a report as a Qubes HCL YAML file.

use std::fmt::Write as _;

use super::fields::{STATUS_FIELDS, one_line};
use crate::classify::Category;
use crate::error::Error;
use crate::report::{Device, HclText, Origin, QubesVersion, Report};
use crate::verdict::Tri;

/// What a round trip through the HCL's format keeps of a report ([`to_yaml`], then
/// [`super::from_yaml`]): the system, the devices and the Qubes versions. The id, the day, the
/// generator and the kernels' coverage are not in the format. The export tests and the
/// `qubes_hcl` fuzz target hold the round trip to this.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundTripFacts {
    pub system: crate::report::System,
    pub devices: Vec<Device>,
    pub versions: Vec<QubesVersion>,
}

impl RoundTripFacts {
    pub fn of(r: &Report) -> Self {
        RoundTripFacts {
            system: r.system.clone(),
            devices: r.devices.clone(),
            versions: r
                .qubes
                .as_ref()
                .map(|q| q.versions.clone())
                .unwrap_or_default(),
        }
    }
}

/// Writes a Qubes HCL report in the layout of `qubes-hcl-report`: every value on its own
/// line, statuses single-quoted (so `yes` stays a string), text as `|` blocks, one
/// `versions:` entry with the fields the person fills in (`FIXME`, `FIXAUTHOR`, `FIXLINK`).
/// An imported report keeps its own text and versions.
pub fn to_yaml(report: &Report) -> Result<String, Error> {
    report.validate()?;
    let s = &report.system;
    let empty = HclText::default();
    let t = s.hcl_text.as_ref().unwrap_or(&empty);
    let mut out = String::from("---\nlayout:\n  'hcl'\n");

    quoted(&mut out, "type", s.machine_type.as_deref().unwrap_or(""));
    let status = |key: &str, fallback: String| -> (String, Option<String>) {
        match t.statuses.get(key) {
            Some(st) => (st.status.clone(), st.message.clone()),
            None => (fallback, None),
        }
    };
    let tri = |v: Tri| v.as_str().to_owned();
    for key in STATUS_FIELDS {
        let fallback = match key {
            "hvm" => tri(s.hvm),
            "iommu" => tri(s.iommu),
            "slat" => tri(s.slat),
            "remap" => tri(s.interrupt_remapping),
            _ => s.tpm.clone().unwrap_or_else(|| "unknown".into()),
        };
        match status(key, fallback) {
            (st, Some(message)) => {
                let _ = writeln!(out, "{key}:\n  status: {}", quote(&st));
                block_at(&mut out, "  message", &message, 4);
            }
            (st, None) => quoted(&mut out, key, &st),
        }
    }
    block(&mut out, "brand", s.brand.as_deref().unwrap_or(""));
    block(&mut out, "model", s.model.as_deref().unwrap_or(""));
    // qubes-hcl-report writes the BIOS version alone.
    let bios = s.bios_version.as_deref().or(s.bios.as_deref());
    block(&mut out, "bios", bios.unwrap_or(""));
    block(&mut out, "cpu", s.cpu.as_deref().unwrap_or(""));
    block(&mut out, "cpu-short", t.cpu_short.as_deref().unwrap_or(""));
    let lines = |wanted: fn(&Category) -> bool| device_lines(report, wanted);
    // A report imported from the HCL writes the file's own text back, field by field, and a
    // field the file lacked stays empty: lines made from its devices would repeat the ones
    // the import found in another field (regression: network lines under `chipset:` came back
    // a second time under `network:`, with their names doubled).
    let own = |field: &Option<String>, made: &dyn Fn() -> String| match (&s.hcl_text, field) {
        (_, Some(text)) => text.clone(),
        (Some(_), None) => String::new(),
        (None, None) => made(),
    };
    // qubes-hcl-report: the `00:00.0` host bridge only.
    let chipset = own(&t.chipset, &|| host_bridge_line(report));
    block(&mut out, "chipset", &chipset);
    block(
        &mut out,
        "chipset-short",
        t.chipset_short.as_deref().unwrap_or(""),
    );
    let gpu = own(&t.gpu, &|| lines(|c| *c == Category::Gpu));
    block(&mut out, "gpu", &gpu);
    block(&mut out, "gpu-short", t.gpu_short.as_deref().unwrap_or(""));
    let network = own(&t.network, &|| lines(Category::is_network));
    block(&mut out, "network", &network);
    let memory = s.memory_mib.map(|m| m.to_string()).unwrap_or_default();
    block(&mut out, "memory", &memory);
    let scsi = own(&t.scsi, &|| scsi_lines(report));
    block(&mut out, "scsi", &scsi);
    // Also `own`: an imported file without `usb:` whose line was classed a USB controller got a
    // count it never had (found by the qubes_hcl fuzz target).
    let usb = own(&t.usb, &|| {
        let n = report
            .devices
            .iter()
            .filter(|d| d.category == Category::UsbController)
            .count();
        if n == 0 { String::new() } else { n.to_string() }
    });
    block(&mut out, "usb", &usb);
    // Written by qubes-hcl-report since R4.2; an imported file keeps what it had.
    match t.statuses.get("certified") {
        Some(st) => quoted(&mut out, "certified", &st.status),
        None if report.origin == Origin::Probe => quoted(&mut out, "certified", "no"),
        None => {}
    }

    out.push_str("versions:\n\n");
    let versions = report
        .qubes
        .as_ref()
        .map(|q| q.versions.clone())
        .unwrap_or_default();
    // The versions are the Qubes dom0's: known only when the probe ran there. A live system's
    // kernel is not the one Qubes would run, so it is left for the person to fill in.
    let qubes_dom0 = s
        .xen
        .as_ref()
        .filter(|x| x.dom0 == Tri::Yes && x.qubes_release.is_some());
    let template = [QubesVersion {
        qubes: qubes_dom0.and_then(|x| x.qubes_release.clone()),
        works: None,
        xen: qubes_dom0.and_then(|x| x.version.clone()),
        kernel: qubes_dom0
            .and(s.running_kernel.as_deref())
            .map(short_kernel_release),
        remark: None,
    }];
    // A new report leaves FIXME for the person; an imported one keeps its blanks.
    let (versions, blank) = if versions.is_empty() {
        (&template[..], "FIXME")
    } else {
        (&versions[..], "")
    };
    let works_blank = if blank.is_empty() {
        ""
    } else {
        "FIXME:yes|no|partial"
    };
    for v in versions {
        let _ = writeln!(
            out,
            "  - works:\n      {}",
            quote(v.works.as_deref().unwrap_or(works_blank))
        );
        block_at(
            &mut out,
            "    qubes",
            v.qubes.as_deref().unwrap_or(blank),
            6,
        );
        block_at(&mut out, "    xen", v.xen.as_deref().unwrap_or(blank), 6);
        block_at(
            &mut out,
            "    kernel",
            v.kernel.as_deref().unwrap_or(blank),
            6,
        );
        block_at(
            &mut out,
            "    remark",
            v.remark.as_deref().unwrap_or(blank),
            6,
        );
        block_at(&mut out, "    credit", "FIXAUTHOR", 6);
        block_at(&mut out, "    link", "FIXLINK", 6);
        out.push('\n');
    }
    out.push_str("---\n");
    Ok(out)
}

/// `uname -r | cut -d. -f-3`, as qubes-hcl-report writes it: `6.6.21-1.qubes.fc37.x86_64`
/// becomes `6.6.21-1`.
fn short_kernel_release(release: &str) -> String {
    release.split('.').take(3).collect::<Vec<_>>().join(".")
}

/// The host bridge at `00:00.0` as an lspci line.
fn host_bridge_line(report: &Report) -> String {
    report
        .devices
        .iter()
        .filter(|d| {
            d.category == Category::Chipset
                && d.sysfs_path
                    .as_deref()
                    .is_some_and(|p| p.ends_with("/0000:00:00.0"))
        })
        .filter_map(lspci_line)
        .next()
        .unwrap_or_default()
}

/// The SCSI devices (disks, optical drives, USB storage) as `/proc/scsi/scsi` shows their
/// model and revision: the model padded to its 16 characters, then ` Rev: `.
fn scsi_lines(report: &Report) -> String {
    report
        .devices
        .iter()
        .filter(|d| d.bus == "scsi")
        .filter_map(|d| {
            let model = d.device_name.as_deref()?;
            Some(format!(
                "{model:<16} Rev: {}",
                d.revision.as_deref().unwrap_or("")
            ))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// lspci-style lines for the devices of some categories: `Vendor Name [vvvv:dddd] (rev rr)`.
fn device_lines(report: &Report, wanted: fn(&Category) -> bool) -> String {
    report
        .devices
        .iter()
        .filter(|d| wanted(&d.category))
        .filter_map(lspci_line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One PCI device as `lspci -nn` names it; lspci leaves out a zero revision.
fn lspci_line(d: &Device) -> Option<String> {
    if d.bus != "pci" {
        return None;
    }
    let (v, id) = (d.vendor.as_deref()?, d.device.as_deref()?);
    let mut l = String::new();
    if let Some(n) = &d.vendor_name {
        l.push_str(n);
        l.push(' ');
    }
    l.push_str(d.device_name.as_deref().unwrap_or("Device"));
    let _ = write!(l, " [{v}:{id}]");
    if let Some(r) = d
        .revision
        .as_deref()
        .filter(|r| !r.trim_start_matches('0').is_empty())
    {
        let _ = write!(l, " (rev {r})");
    }
    if d.class.as_deref() == Some("030000") {
        l.push_str(" (prog-if 00 [VGA controller])");
    }
    Some(l)
}

/// YAML single-quoted scalar: only `'` needs escaping (doubled).
fn quote(v: &str) -> String {
    format!("'{}'", one_line(v).replace('\'', "''"))
}

fn quoted(out: &mut String, key: &str, v: &str) {
    let _ = writeln!(out, "{key}:\n  {}", quote(v));
}

fn block(out: &mut String, key: &str, v: &str) {
    block_at(out, key, v, 2);
}

/// `key: |` then each line indented; an empty value leaves one empty line, like the tool.
fn block_at(out: &mut String, key: &str, v: &str, indent: usize) {
    let _ = writeln!(out, "{key}: |");
    let mut any = false;
    for line in v.lines() {
        let line = line.trim().replace('\t', " ");
        if line.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(out, "{:indent$}{line}", "");
    }
    if !any {
        out.push('\n');
    }
}
