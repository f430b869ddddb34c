//! The report as a human table (colour on a terminal unless NO_COLOR), JSON or YAML.
//!
//! The text a report holds came from the machine (DMI strings, sysfs names, the machine's own
//! pci.ids): everything rendered goes through [`hcl_data::terminal_safe`], so a device named
//! with escape sequences cannot drive the person's terminal.

use std::fmt::Write as _;

use hcl_data::{Device, MachineState, Report, Role, Verdict};
use hcl_kernel_engine::short_label;

use crate::coverage::lost_devices;
use crate::error::Error;
use crate::readiness_view;

/// Output formats of `scan` (also its `--format` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

/// Table options.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    pub color: bool,
    /// Show devices on every bus, not only the ones a driver choice hinges on.
    pub all: bool,
}

/// True when colour should be used on stdout: a terminal, and NO_COLOR unset or empty.
pub fn color_wanted() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

/// The report as text that is safe to print: JSON stays the same JSON (a character that
/// could drive a terminal is written as its `\uXXXX` escape), the table shows such characters
/// escaped while keeping its own colours.
pub fn render(report: &Report, format: Format, table: TableOptions) -> Result<String, Error> {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report)?;
            s.push('\n');
            Ok(hcl_data::terminal_safe(&s).into_owned())
        }
        Format::Yaml => serde_saphyr::to_string(report)
            .map(|s| hcl_data::terminal_safe(&s).into_owned())
            .map_err(|e| Error::Yaml(e.to_string())),
        Format::Table => Ok(render_table(&for_terminal(report)?, table)),
    }
}

/// The report with every string (and map key) made one safe line, for the table, which adds
/// colour escapes of its own and so cannot be escaped as a whole.
fn for_terminal(report: &Report) -> Result<Report, Error> {
    fn clean(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => Value::String(hcl_data::terminal_line(&s).into_owned()),
            Value::Array(items) => Value::Array(items.into_iter().map(clean).collect()),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| (hcl_data::terminal_line(&k).into_owned(), clean(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    Ok(serde_json::from_value(clean(serde_json::to_value(
        report,
    )?))?)
}

struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Cell text ([`Verdict::cell`]) and colour for one verdict; `lost` when another candidate
/// drives the device.
fn cell(v: Verdict, lost: bool) -> (&'static str, &'static str) {
    let colour = match v {
        Verdict::Supported => "32",
        Verdict::Deprecated | Verdict::ExtraPackage | Verdict::FirmwareMissing => "33",
        Verdict::NeedsParameter | Verdict::Disabled => "31;1",
        Verdict::UnknownChip | Verdict::NoDriver if lost => "31;1",
        Verdict::UnknownChip => "31",
        Verdict::NoDriver | Verdict::Unknown => "2",
    };
    (v.cell(lost), colour)
}

fn shown(d: &Device, all: bool) -> bool {
    all || d.role != Role::Other
        || matches!(d.bus.as_str(), "pci" | "usb" | "virtio")
        || d.out_of_tree_driver
}

/// Label of a device: address or path tail, then names or ids.
fn label(d: &Device) -> String {
    let tail = d
        .sysfs_path
        .as_deref()
        .and_then(|p| p.rsplit('/').next())
        .unwrap_or("");
    let place = match d.bus.as_str() {
        "pci" => tail.strip_prefix("0000:").unwrap_or(tail).to_owned(),
        _ => tail.to_owned(),
    };
    let name = match (&d.vendor_name, &d.device_name) {
        (Some(v), Some(p)) => format!("{} {p}", short_vendor(v)),
        (Some(v), None) => short_vendor(v).to_owned(),
        _ => String::new(),
    };
    let ids = match (&d.vendor, &d.device) {
        (Some(v), Some(p)) => format!("[{v}:{p}]"),
        _ => String::new(),
    };
    let mut s = place;
    if d.usb.as_ref().is_some_and(|u| u.kind.is_interface()) {
        s = format!("  {s}");
    }
    for part in [name, ids] {
        if !part.is_empty() {
            s.push(' ');
            s.push_str(&part);
        }
    }
    if d.bus != "pci" && d.bus != "usb" && d.vendor.is_none() {
        s.push(' ');
        s.push_str(&d.modalias);
    }
    s
}

fn short_vendor(v: &str) -> &str {
    for (long, short) in [
        ("Intel Corporation", "Intel"),
        ("Advanced Micro Devices, Inc. [AMD/ATI]", "AMD/ATI"),
        ("Advanced Micro Devices, Inc. [AMD]", "AMD"),
        ("NVIDIA Corporation", "NVIDIA"),
        ("Realtek Semiconductor Co., Ltd.", "Realtek"),
        ("Red Hat, Inc.", "Red Hat"),
    ] {
        if v == long {
            return short;
        }
    }
    v
}

fn fit(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        format!("{s:<width$}")
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn render_table(r: &Report, opts: TableOptions) -> String {
    let p = Paint { on: opts.color };
    let mut o = String::new();
    let s = &r.system;
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".to_owned());
    let _ = writeln!(
        o,
        "{}",
        p.paint(
            "1",
            &format!(
                "{} · report {} · {}",
                r.generator, r.report_id, r.generated_on
            )
        )
    );
    let _ = writeln!(
        o,
        "Machine  {} {}{} · BIOS {}",
        or_unknown(&s.brand),
        or_unknown(&s.model),
        s.machine_type
            .as_ref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default(),
        or_unknown(&s.bios)
    );
    let _ = writeln!(
        o,
        "CPU      {} · HVM {} ({}) · SLAT {} · IOMMU {} · interrupt remapping {}",
        or_unknown(&s.cpu),
        readiness_view::hvm(s),
        s.virtualization.as_deref().unwrap_or("none"),
        readiness_view::slat(s),
        readiness_view::iommu(s),
        readiness_view::interrupt_remapping(s)
    );
    let _ = writeln!(
        o,
        "Platform TPM {} · memory {} · boot {} · Secure Boot {}",
        s.tpm.as_deref().unwrap_or("none found"),
        readiness_view::memory(s),
        s.boot_mode.as_ref().map_or("unknown", |b| b.as_str()),
        s.secure_boot
    );
    let _ = writeln!(
        o,
        "Running  {} on {}",
        or_unknown(&s.running_kernel),
        or_unknown(&s.distro)
    );
    readiness_view::system_lines(&mut o, s);
    let _ = writeln!(o);

    let kernels: Vec<&String> = r.kernels.keys().collect();
    let devices: Vec<&Device> = r.devices.iter().filter(|d| shown(d, opts.all)).collect();
    let hidden = r.devices.len() - devices.len();
    const DEV_W: usize = 56;
    const ROLE_W: usize = 11;
    const DRV_W: usize = 14;
    const K_W: usize = 6;
    let mut header = format!(
        "{} {} {}",
        fit("DEVICE", DEV_W),
        fit("ROLE", ROLE_W),
        fit("DRIVER NOW", DRV_W)
    );
    for k in &kernels {
        header.push(' ');
        header.push_str(&fit(&short_label(k), K_W));
    }
    let _ = writeln!(o, "{}", p.paint("1", header.trim_end()));
    for d in &devices {
        let role = format!("{} {}", d.role.short(), d.category);
        let driver = match (&d.driver, d.out_of_tree_driver) {
            (Some(drv), true) => format!("{drv}*"),
            (Some(drv), false) => drv.clone(),
            (None, _) => "-".to_owned(),
        };
        let any_driven = d.coverage.values().any(|c| c.verdict.is_driven());
        let mut line = format!(
            "{} {} {}",
            fit(&label(d), DEV_W),
            fit(&role, ROLE_W),
            fit(&driver, DRV_W)
        );
        for k in &kernels {
            let (text, code) = d
                .coverage
                .get(*k)
                .map_or(("?", "2"), |c| cell(c.verdict, any_driven));
            line.push(' ');
            line.push_str(&p.paint(code, &fit(text, K_W)));
        }
        let _ = writeln!(o, "{}", line.trim_end());
    }
    if hidden > 0 {
        let _ = writeln!(
            o,
            "({hidden} more devices on platform buses (acpi, platform, input, cpu ...): --all shows them)"
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", p.paint("1", "Per kernel"));
    for (k, sum) in &r.kernels {
        let status = match sum.state() {
            MachineState::Ok => p.paint("32", "dom0 OK "),
            MachineState::Fails => p.paint("31;1", "dom0 LOSS"),
            MachineState::NoData => p.paint("2", "dom0 ?  "),
        };
        let no_data = |n: u32| {
            if n == 0 {
                String::new()
            } else {
                format!(" ({n} without data)")
            }
        };
        let (lost, lost_other): (Vec<&Device>, Vec<&Device>) = lost_devices(&r.devices, k)
            .into_iter()
            .partition(|d| d.role != Role::Other);
        let other_text = if lost_other.is_empty() {
            String::new()
        } else {
            format!(
                " · no driver for {} platform devices others drive",
                lost_other.len()
            )
        };
        let lost_text = if lost.is_empty() {
            other_text
        } else {
            let names: Vec<String> = lost
                .iter()
                .take(4)
                .map(|d| label(d).trim().to_owned())
                .collect();
            let more = lost.len().saturating_sub(4);
            format!(
                " · LOSES {}{}{other_text}",
                names.join("; "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        };
        let _ = writeln!(
            o,
            "{:<20} {status} dom0-critical {}/{}{} · assignable {}/{}{}{lost_text}",
            k,
            sum.dom0_covered,
            sum.dom0_total,
            no_data(sum.dom0_unknown),
            sum.assignable_covered,
            sum.assignable_total,
            no_data(sum.assignable_unknown),
        );
    }
    if r.kernels.is_empty() {
        let _ = writeln!(o, "(no kernel profiles: nothing to compare)");
    }
    details(&mut o, &devices, &p);
    readiness_view::passthrough_section(&mut o, r, |d| fit(label(d).trim(), 44));
    let oot: Vec<&Device> = r.devices.iter().filter(|d| d.out_of_tree_driver).collect();
    if !oot.is_empty() {
        let _ = writeln!(o);
        for d in oot {
            let _ = writeln!(
                o,
                "* {} is bound now to {}, a driver no candidate kernel ships (out of tree)",
                label(d).trim(),
                d.driver.as_deref().unwrap_or("?")
            );
        }
    }
    let _ = writeln!(o);
    let legend: Vec<String> = kernels
        .iter()
        .map(|k| format!("{}={k}", short_label(k)))
        .collect();
    let _ = writeln!(o, "Kernels: {}", legend.join(" "));
    let _ = writeln!(
        o,
        "Cells: ok driver · fw firmware missing · depr deprecated/unmaintained · extra optional \
         package · param binds only with a module parameter (force_probe) · OFF disabled by the \
         distro · chip the driver does not know this chip · LOST not driven, another candidate \
         drives it · - no candidate has a driver · ? unknown"
    );
    o
}

/// The Qubes HCL YAML report (the fields qubes-hcl-report writes), by the schema crate.
pub fn qubes_hcl(report: &Report) -> Result<String, Error> {
    Ok(hcl_data::qubes_hcl::to_yaml(report)?)
}

/// Why a kernel falls short for a device that matters (dom0 or assignable): missing firmware,
/// a distro refusal, a lost driver. One line per kernel, the engine's reason.
fn details(o: &mut String, devices: &[&Device], p: &Paint) {
    let mut header = false;
    for d in devices.iter().filter(|d| d.role != Role::Other) {
        let any_driven = d.coverage.values().any(|c| c.verdict.is_driven());
        let notes: Vec<(&String, &hcl_data::Coverage)> = d
            .coverage
            .iter()
            .filter(|(_, c)| {
                !matches!(c.verdict, Verdict::Supported | Verdict::Unknown)
                    && (c.verdict != Verdict::NoDriver || any_driven)
            })
            .collect();
        if notes.is_empty() {
            continue;
        }
        if !header {
            let _ = writeln!(o);
            let _ = writeln!(o, "{}", p.paint("1", "Details"));
            header = true;
        }
        let _ = writeln!(o, "{}", label(d).trim());
        for (k, c) in notes {
            let missing: Vec<&str> = c.missing_firmware().collect();
            let fw = if missing.is_empty() {
                String::new()
            } else {
                format!(" (missing: {})", missing.join(", "))
            };
            let _ = writeln!(o, "  {k:<20} {}{fw}", c.reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device named with escape sequences by the machine (a hostile USB stick's product
    /// string, a DMI field): no format lets them reach the terminal.
    #[test]
    fn machine_text_with_escapes_is_rendered_escaped() {
        let evil = "Evil\u{1b}[2J\u{1b}]8;;https://x/\u{7}stick\u{9b}31m\u{202e}";
        let report = Report {
            schema_version: 1,
            report_id: "r".into(),
            generated_on: "2026-01-01".into(),
            generator: "hcl-probe".into(),
            origin: Default::default(),
            system: hcl_data::System {
                model: Some(evil.into()),
                ..Default::default()
            },
            devices: vec![Device {
                bus: "usb".into(),
                modalias: "usb:v1234p5678d0100dc00dsc00dp00".into(),
                role: Role::Dom0,
                vendor_name: Some(evil.into()),
                device_name: Some(evil.into()),
                driver: Some(evil.into()),
                ..Default::default()
            }],
            kernels: Default::default(),
            qubes: None,
        };
        for format in [Format::Table, Format::Json, Format::Yaml] {
            for color in [false, true] {
                let text =
                    render(&report, format, TableOptions { color, all: true }).unwrap_or_default();
                for bad in ['\u{7}', '\u{9b}', '\u{202e}'] {
                    assert!(!text.contains(bad), "{format:?}: {text}");
                }
                // Only the table's own colours are escape sequences.
                let escapes = text.matches('\u{1b}').count();
                let own = text.matches("\u{1b}[").count();
                assert_eq!(escapes, own, "{format:?}");
                assert!(!text.contains("\u{1b}[2J") && !text.contains("\u{1b}]"));
                // Shown escaped (YAML has its own escape for ESC).
                assert!(
                    text.contains("\\u001b[2J") || text.contains("\\e[2J"),
                    "{format:?}: {text}"
                );
            }
        }
        // The JSON is still the same report.
        let json = render(&report, Format::Json, TableOptions::default()).unwrap_or_default();
        let back: Report = serde_json::from_str(&json).unwrap_or(report.clone());
        assert_eq!(back.system.model.as_deref(), Some(evil));
    }

    #[test]
    fn long_labels_are_cut() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
    }

    #[test]
    fn details_name_missing_firmware_and_lost_drivers() {
        use hcl_data::{Coverage, FirmwareNeed};
        let cov = |v: Verdict, reason: &str, fw: Vec<FirmwareNeed>| Coverage {
            verdict: v,
            reason: reason.to_owned(),
            firmware: fw,
            ..Default::default()
        };
        let d = Device {
            bus: "pci".into(),
            role: Role::Assignable,
            vendor: Some("8086".into()),
            device: Some("24fd".into()),
            coverage: [
                (
                    "debian-13".to_owned(),
                    cov(Verdict::Supported, "ok", vec![]),
                ),
                (
                    "debian-12".to_owned(),
                    cov(
                        Verdict::FirmwareMissing,
                        "firmware missing",
                        vec![FirmwareNeed {
                            module: "iwlwifi".into(),
                            file: "iwlwifi-8265-36.ucode".into(),
                            shipped: Some(false),
                            package: None,
                        }],
                    ),
                ),
                (
                    "rhel-9.6".to_owned(),
                    cov(Verdict::NoDriver, "lost: debian-13 drive it", vec![]),
                ),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let mut o = String::new();
        details(&mut o, &[&d], &Paint { on: false });
        assert!(
            o.contains("debian-12            firmware missing (missing: iwlwifi-8265-36.ucode)"),
            "{o}"
        );
        assert!(
            o.contains("rhel-9.6             lost: debian-13 drive it"),
            "{o}"
        );
        assert!(!o.contains("debian-13  "), "{o}");
    }
}
