//! Writing a report as a Qubes HCL YAML file.

use std::fmt::Write as _;

use super::fields::{STATUS_FIELDS, one_line};
use crate::classify::Category;
use crate::error::Error;
use crate::report::{HclText, QubesVersion, Report};
use crate::verdict::Tri;

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
    block(&mut out, "bios", s.bios.as_deref().unwrap_or(""));
    block(&mut out, "cpu", s.cpu.as_deref().unwrap_or(""));
    block(&mut out, "cpu-short", t.cpu_short.as_deref().unwrap_or(""));
    let lines = |wanted: fn(&Category) -> bool| device_lines(report, wanted);
    let chipset = t
        .chipset
        .clone()
        .unwrap_or_else(|| lines(|c| *c == Category::Chipset));
    block(&mut out, "chipset", &chipset);
    block(
        &mut out,
        "chipset-short",
        t.chipset_short.as_deref().unwrap_or(""),
    );
    let gpu = t
        .gpu
        .clone()
        .unwrap_or_else(|| lines(|c| *c == Category::Gpu));
    block(&mut out, "gpu", &gpu);
    block(&mut out, "gpu-short", t.gpu_short.as_deref().unwrap_or(""));
    let network = t
        .network
        .clone()
        .unwrap_or_else(|| lines(Category::is_network));
    block(&mut out, "network", &network);
    let memory = s.memory_mib.map(|m| m.to_string()).unwrap_or_default();
    block(&mut out, "memory", &memory);
    block(&mut out, "scsi", t.scsi.as_deref().unwrap_or(""));
    let usb = t.usb.clone().unwrap_or_else(|| {
        let n = report
            .devices
            .iter()
            .filter(|d| d.category == Category::UsbController)
            .count();
        if n == 0 { String::new() } else { n.to_string() }
    });
    block(&mut out, "usb", &usb);

    out.push_str("versions:\n\n");
    let versions = report
        .qubes
        .as_ref()
        .map(|q| q.versions.clone())
        .unwrap_or_default();
    let template = [QubesVersion {
        qubes: None,
        works: None,
        xen: None,
        kernel: s.running_kernel.clone(),
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

/// lspci-style lines for the devices of some categories: `Vendor Name [vvvv:dddd] (rev rr)`.
fn device_lines(report: &Report, wanted: fn(&Category) -> bool) -> String {
    report
        .devices
        .iter()
        .filter(|d| wanted(&d.category) && d.bus == "pci")
        .filter_map(|d| {
            let (v, id) = (d.vendor.as_deref()?, d.device.as_deref()?);
            let mut l = String::new();
            if let Some(n) = &d.vendor_name {
                l.push_str(n);
                l.push(' ');
            }
            l.push_str(d.device_name.as_deref().unwrap_or("Device"));
            let _ = write!(l, " [{v}:{id}]");
            if let Some(r) = &d.revision {
                let _ = write!(l, " (rev {r})");
            }
            if d.class.as_deref() == Some("030000") {
                l.push_str(" (prog-if 00 [VGA controller])");
            }
            Some(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
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
