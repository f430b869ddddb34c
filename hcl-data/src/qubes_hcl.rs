//! Qubes HCL YAML files: import ([`from_yaml`]) and export ([`to_yaml`]).
//!
//! The Qubes HCL is 1,200 hand-edited YAML files written by `qubes-hcl-report` and then by
//! people: fields go missing, get misspelled (`cpu_short`), turn into maps (`tpm: {status,
//! message}`), lose their quotes. The importer parses into a loose value and maps what it
//! finds; only a file that is not YAML, or not a mapping, is refused.
//!
//! The chipset, GPU and network lines carry PCI ids (`[8086:a7a0]`, or `Intel Corporation
//! Device 51f1`): each becomes a partial [`Device`] whose modalias has `?` for every unknown
//! character, so kernel patterns can still be matched against it.
//!
//! What identifies people is not imported: the `credit` (a name, a nickname or an e-mail
//! address) and the `link` (a personal site, a mailing-list message) of every version are
//! dropped whole; in the text that is kept, mailing-list message links and anything the
//! privacy check refuses are cut out ([`crate::redact_where`]); a hand-named file's name
//! (`Dell-Latitude_E6410-Pablo_Costa.yml`) names its sender, so such a report gets an id made
//! from its content and no `source_file`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::report::{
    Device, HCL_IMPORT_SCHEMA_VERSION, HclStatus, HclText, Origin, QubesInfo, QubesVersion, Report,
    Role, System, Tri,
};
use crate::validate::{MAX_INPUT_BYTES, MAX_VERSIONS};

/// The `generator` of imported reports.
pub const GENERATOR: &str = "qubes-hcl import";

/// The yes/no/partial fields, in file order.
const STATUS_FIELDS: [&str; 5] = ["hvm", "iommu", "slat", "tpm", "remap"];

/// Imports one Qubes HCL YAML file. `file_name` names the file in errors and is kept in
/// [`QubesInfo::source_file`]; the report id and day come from it (`...-20230728.yml`).
pub fn from_yaml(text: &str, file_name: &str) -> Result<Report, Error> {
    let fail = |reason: String| Error::QubesHcl {
        file: file_name.to_string(),
        reason,
    };
    if text.len() > MAX_INPUT_BYTES {
        return Err(fail(format!(
            "{} bytes, more than the {MAX_INPUT_BYTES} allowed",
            text.len()
        )));
    }
    let mut options = crate::yaml_options();
    // Hand-edited files repeat keys now and then; the last one is what the site shows.
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    let docs: Vec<Value> =
        serde_saphyr::from_str_multiple_with_options::<Value, Vec<Value>>(text, options)
            .map_err(|e| fail(crate::yaml_error(&e).to_string()))?;
    let Some(map) = docs.iter().find_map(Value::as_object) else {
        return Err(fail(
            "no YAML mapping in the file (not an HCL report)".into(),
        ));
    };
    // Keys compare without case and with `_` for `-`: `cpu_short`, `CPU-short`.
    let fields: BTreeMap<String, &Value> = map
        .iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase().replace('_', "-"), v))
        .collect();
    let get = |k: &str| fields.get(k).copied();
    let text_of = |k: &str| get(k).and_then(scalar_text);
    let line_of = |k: &str| text_of(k).map(|t| one_line(&t)).filter(|t| !t.is_empty());

    let mut statuses = BTreeMap::new();
    let mut tri = BTreeMap::new();
    let mut tpm = None;
    for key in STATUS_FIELDS {
        let Some(st) = get(key).and_then(status_of) else {
            continue;
        };
        let lower = st.status.to_ascii_lowercase();
        // Kept as written only when the typed fields cannot say it: `partial`, free text,
        // a display message, a TPM that is not there.
        let plain = match key {
            "tpm" if lower == "no" => false,
            "tpm" => true,
            _ => matches!(lower.as_str(), "yes" | "no" | "unknown" | ""),
        };
        if key == "tpm" && !matches!(lower.as_str(), "" | "no" | "unknown") {
            tpm = Some(st.status.clone());
        }
        tri.insert(key, tri_of(&st.status));
        if !plain || st.message.is_some() {
            statuses.insert(key.to_string(), st);
        }
    }
    let tri = |k: &str| tri.get(k).copied().unwrap_or_default();
    // `certified` (qubes-hcl-report since R4.2) has no typed field: kept as written.
    if let Some(st) = get("certified").and_then(status_of) {
        statuses.insert("certified".to_string(), st);
    }

    let hcl_text = HclText {
        chipset: text_of("chipset"),
        gpu: text_of("gpu"),
        network: text_of("network"),
        cpu_short: line_of("cpu-short"),
        chipset_short: line_of("chipset-short").or_else(|| line_of("chipset-sort")),
        gpu_short: line_of("gpu-short"),
        scsi: text_of("scsi"),
        usb: line_of("usb"),
        statuses,
    };
    let memory_mib = text_of("memory")
        .or_else(|| text_of("ram"))
        .and_then(|m| leading_number(&m));

    let mut devices = Vec::new();
    for (field, text) in [
        ("chipset", &hcl_text.chipset),
        ("gpu", &hcl_text.gpu),
        ("network", &hcl_text.network),
    ] {
        if let Some(text) = text {
            for line in text.lines() {
                if let Some(d) = device_from_line(field, line)
                    && !devices.iter().any(|x: &Device| x.modalias == d.modalias)
                {
                    devices.push(d);
                }
            }
        }
    }

    let versions = match get("versions") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .take(MAX_VERSIONS)
            .map(version_of)
            .collect(),
        Some(Value::Object(one)) => vec![version_of(one)],
        _ => Vec::new(),
    };

    let tool_named = tool_file_name(file_name);
    let mut report = Report {
        schema_version: HCL_IMPORT_SCHEMA_VERSION,
        report_id: if tool_named {
            report_id(file_name)
        } else {
            String::new()
        },
        generated_on: day_from_name(file_name).unwrap_or_default(),
        generator: GENERATOR.to_string(),
        origin: Origin::QubesHcl,
        system: System {
            machine_type: line_of("type").map(|t| t.to_ascii_lowercase()),
            brand: line_of("brand"),
            model: line_of("model"),
            bios: line_of("bios"),
            cpu: line_of("cpu"),
            hvm: tri("hvm"),
            slat: tri("slat"),
            iommu: tri("iommu"),
            interrupt_remapping: tri("remap"),
            tpm: tpm.map(|t| one_line(&t)),
            memory_mib,
            hcl_text: Some(hcl_text),
            ..System::default()
        },
        devices,
        kernels: BTreeMap::new(),
        qubes: Some(QubesInfo {
            versions,
            source_file: tool_named.then(|| file_name.to_string()),
        }),
    };
    if !tool_named {
        report.report_id = content_report_id(&report);
    }
    report.validate().map_err(|e| fail(e.to_string()))?;
    Ok(report)
}

/// Whether the file has the name the HCL gives a report made by `qubes-hcl-report`:
/// `Brand-Model-YYYYMMDD-HHMMSS.yml`. Other names were chosen by hand and most end with the
/// sender's name or nickname (`Asus-UX305CA-Petter_Reinholdtsen.yml`,
/// `Asus-Vivobook_X1503ZA-20230821-gandalfen.yml`).
fn tool_file_name(file_name: &str) -> bool {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    let Some(stem) = base.strip_suffix(".yml") else {
        return false;
    };
    let b = stem.as_bytes();
    let Some(tail) = b.len().checked_sub(16).and_then(|at| b.get(at..)) else {
        return false;
    };
    b.len() > 16
        && tail.iter().enumerate().all(|(i, c)| match i {
            0 | 9 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
        && day_from_name(file_name).is_some()
}

/// `hcl-<brand>-<model>-<16 hex>`, the hex from the imported report itself (with an empty
/// id): stable across imports of the same file, and made of nothing personal.
fn content_report_id(report: &Report) -> String {
    let hash = serde_json::to_vec(report)
        .map(|json| hex::encode(Sha256::digest(&json)))
        .unwrap_or_default();
    let words = |v: &Option<String>| v.as_deref().map(slug).unwrap_or_default();
    let mut name = [words(&report.system.brand), words(&report.system.model)]
        .into_iter()
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    name.truncate(60);
    let short = hash.get(..16).unwrap_or(&hash);
    if name.is_empty() {
        format!("hcl-{short}")
    } else {
        format!("hcl-{name}-{short}")
    }
}

/// Letters and digits kept, every other run of characters one `_`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// A web link to one mailing-list message: its id is the sender's (Google Groups ids hold
/// the sender's address), and the import keeps no sender.
fn message_link(url: &str) -> bool {
    let u = url.to_ascii_lowercase();
    (u.contains("groups.google.com")
        && ["/msg/", "/msgid/", "#!msg/", "/m/"]
            .iter()
            .any(|m| u.contains(m)))
        || (u.contains("mail-archive.com") && u.contains("/msg"))
}

/// A scalar as trimmed text: strings, numbers and booleans (an unquoted `yes` may arrive as
/// a boolean). Empty text and other shapes give None.
fn scalar_text(v: &Value) -> Option<String> {
    let t = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        // A list of lines where a block was meant.
        Value::Array(items) => items
            .iter()
            .filter_map(scalar_text)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return None,
    };
    let t = t
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    // Control characters other than newlines have no place in the HCL's text.
    let t: String = t
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    // Nothing the privacy check refuses is imported (mailing-list links in remarks carry the
    // sender's address), nor a link to one person's message.
    let t = crate::redact_where(&t, message_link).into_owned();
    (!t.trim().is_empty()).then_some(t)
}

fn one_line(t: &str) -> String {
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `'yes'`, or `{status: 'yes', message: '...'}`.
fn status_of(v: &Value) -> Option<HclStatus> {
    match v {
        Value::Object(m) => {
            let status = m.get("status").and_then(scalar_text).map(|s| one_line(&s));
            let message = m.get("message").and_then(scalar_text);
            (status.is_some() || message.is_some()).then(|| HclStatus {
                status: status.unwrap_or_default(),
                message,
            })
        }
        other => scalar_text(other).map(|s| HclStatus {
            status: one_line(&s),
            message: None,
        }),
    }
}

fn tri_of(status: &str) -> Tri {
    match status.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "y" => Tri::Yes,
        "no" | "false" | "n" => Tri::No,
        // `partial` and anything else: the HCL text is kept in `statuses`.
        _ => Tri::Unknown,
    }
}

fn version_of(m: &Map<String, Value>) -> QubesVersion {
    let field = |names: &[&str]| {
        names.iter().find_map(|n| {
            m.iter()
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(n))
                .and_then(|(_, v)| match v {
                    Value::Object(_) => status_of(v).map(|s| s.status),
                    v => scalar_text(v),
                })
        })
    };
    QubesVersion {
        qubes: field(&["qubes"]),
        works: field(&["works"]).map(|w| one_line(&w)),
        xen: field(&["xen"]),
        kernel: field(&["kernel"]),
        remark: field(&["remark", "remarks"]),
    }
}

fn leading_number(t: &str) -> Option<u64> {
    let digits: String = t
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// `hcl-` and the file stem with anything but letters, digits, `-` and `_` made `_`.
fn report_id(file_name: &str) -> String {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    let stem = base
        .strip_suffix(".yml")
        .or_else(|| base.strip_suffix(".yaml"))
        .unwrap_or(base);
    let clean: String = stem
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("hcl-{clean}")
}

/// The first `-YYYYMMDD` in the file name as `YYYY-MM-DD`.
fn day_from_name(file_name: &str) -> Option<String> {
    let b = file_name.as_bytes();
    (0..b.len()).find_map(|i| {
        let w = b.get(i..i + 9)?;
        let (dash, digits) = w.split_first()?;
        if *dash != b'-' || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Not part of a longer number.
        if b.get(i + 9).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let d = std::str::from_utf8(digits).ok()?;
        let (y, rest) = d.split_at(4);
        let (m, day) = rest.split_at(2);
        let (yn, mn, dn) = (
            y.parse::<u32>().ok()?,
            m.parse::<u32>().ok()?,
            day.parse::<u32>().ok()?,
        );
        ((2010..=2100).contains(&yn) && (1..=12).contains(&mn) && (1..=31).contains(&dn))
            .then(|| format!("{y}-{m}-{day}"))
    })
}

/// PCI vendors named in HCL lines without ids, where the name says the id. AMD has two ids;
/// lspci tells them apart by the bracketed suffix.
const VENDORS: &[(&str, &str)] = &[
    ("Advanced Micro Devices, Inc. [AMD/ATI]", "1002"),
    ("Advanced Micro Devices, Inc. [AMD]", "1022"),
    ("Intel Corporation", "8086"),
    ("NVIDIA Corporation", "10de"),
    ("Realtek Semiconductor Co., Ltd.", "10ec"),
    ("Qualcomm Atheros", "168c"),
    ("MEDIATEK Corp.", "14c3"),
    ("Broadcom Inc. and subsidiaries", "14e4"),
    ("Broadcom Limited", "14e4"),
    ("Broadcom Corporation", "14e4"),
    ("Marvell Technology Group Ltd.", "11ab"),
    ("Qualcomm Technologies, Inc", "17cb"),
    ("Aquantia Corp.", "1d6a"),
    ("Samsung Electronics Co Ltd", "144d"),
    ("Matrox Electronics Systems Ltd.", "102b"),
    ("ASPEED Technology, Inc.", "1a03"),
];

/// The PCI device one HCL line names, if its ids can be read without guessing.
fn device_from_line(field: &str, line: &str) -> Option<Device> {
    let line = line.trim();
    // Pasted `lspci -v` detail: a subsystem's ids are not a device of their own.
    if line
        .get(..9)
        .is_some_and(|w| w.eq_ignore_ascii_case("subsystem"))
    {
        return None;
    }
    let (vendor, device, vendor_name) = if let Some((v, d, at)) = bracket_ids(line) {
        let name = line.get(..at).map(|s| s.trim().to_string());
        (v, d, name)
    } else {
        let (name, id) = VENDORS.iter().find(|(name, _)| line.starts_with(name))?;
        // Only `Vendor Device 51f1`: a named device needs pci.ids to find its id.
        let rest = line.get(name.len()..)?.trim_start();
        let hex = rest.strip_prefix("Device ")?.get(..4)?;
        let after = rest.get("Device ".len() + 4..)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit())
            || after
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            return None;
        }
        (
            id.to_string(),
            hex.to_ascii_lowercase(),
            Some(name.to_string()),
        )
    };
    let (mut class, subclass, prog_if) = class_of(line);
    // A line of the `gpu:` field is a display controller (base class 03) even when it does not
    // say which kind: without that, drivers that match GPUs by vendor and class (nouveau,
    // amdgpu's older ids) could not be told apart from "unknown". HDMI audio functions pasted
    // there are class 04, so they keep an unknown class.
    if field == "gpu" && class.is_none() && !line.to_ascii_lowercase().contains("audio") {
        class = Some("03".to_owned());
    }
    let hx = |v: Option<String>, w: usize| v.unwrap_or_else(|| "?".repeat(w));
    let modalias = format!(
        "pci:v0000{}d0000{}sv????????sd????????bc{}sc{}i{}",
        vendor.to_ascii_uppercase(),
        device.to_ascii_uppercase(),
        hx(class.clone(), 2),
        hx(subclass.clone(), 2),
        hx(prog_if.clone(), 2),
    );
    let full_class = match (&class, &subclass, &prog_if) {
        (Some(c), Some(s), Some(p)) => Some(format!("{c}{s}{p}").to_ascii_lowercase()),
        _ => None,
    };
    let (category, role) = match field {
        "gpu" => ("gpu", Role::Dom0),
        "network" => ("network", Role::Assignable),
        _ => ("chipset", Role::Other),
    };
    Some(Device {
        bus: "pci".into(),
        modalias,
        partial: true,
        category: category.into(),
        role,
        vendor: Some(vendor),
        device: Some(device),
        class: full_class,
        revision: revision_of(line),
        vendor_name: vendor_name.filter(|n| !n.is_empty()),
        device_name: Some(one_line(line)),
        ..Device::default()
    })
}

/// The first `[vvvv:dddd]` (lower-case) and where it starts.
fn bracket_ids(line: &str) -> Option<(String, String, usize)> {
    let b = line.as_bytes();
    (0..b.len()).find_map(|i| {
        let w = b.get(i..i + 11)?;
        let ok = w.first() == Some(&b'[')
            && w.get(5) == Some(&b':')
            && w.get(10) == Some(&b']')
            && w.get(1..5)?.iter().all(u8::is_ascii_hexdigit)
            && w.get(6..10)?.iter().all(u8::is_ascii_hexdigit);
        if !ok {
            return None;
        }
        let v = line.get(i + 1..i + 5)?.to_ascii_lowercase();
        let d = line.get(i + 6..i + 10)?.to_ascii_lowercase();
        Some((v, d, i))
    })
}

/// Class, subclass and programming interface (upper-case hex) when the line says them:
/// `[0300]` after the class name, lspci's class names, `(prog-if 00 [VGA controller])`.
fn class_of(line: &str) -> (Option<String>, Option<String>, Option<String>) {
    let lower = line.to_ascii_lowercase();
    let mut class = None;
    // `VGA compatible controller [0300]: ...`: a 4-digit bracket followed by a colon.
    let b = line.as_bytes();
    for i in 0..b.len() {
        if let Some(w) = b.get(i..i + 7)
            && w.first() == Some(&b'[')
            && w.get(5) == Some(&b']')
            && w.get(6) == Some(&b':')
            && w.get(1..5)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        {
            class = line.get(i + 1..i + 5).and_then(|c| {
                Some((
                    c.get(..2)?.to_ascii_uppercase(),
                    c.get(2..)?.to_ascii_uppercase(),
                ))
            });
            break;
        }
    }
    if class.is_none() {
        class = [
            ("vga compatible controller", "03", "00"),
            ("[vga controller]", "03", "00"),
            ("3d controller", "03", "02"),
            ("display controller", "03", "80"),
            ("ethernet controller:", "02", "00"),
            ("network controller:", "02", "80"),
            ("host bridge", "06", "00"),
        ]
        .iter()
        .find(|(name, _, _)| lower.contains(name))
        .map(|(_, c, s)| (c.to_string(), s.to_string()));
    }
    let prog_if = lower.find("(prog-if ").and_then(|at| {
        let h = line.get(at + 9..at + 11)?;
        h.bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then(|| h.to_ascii_uppercase())
    });
    match class {
        Some((c, s)) => (Some(c), Some(s), prog_if),
        None => (None, None, prog_if),
    }
}

/// `(rev 04)` → `04`.
fn revision_of(line: &str) -> Option<String> {
    let at = line.find("(rev ")?;
    let h = line.get(at + 5..at + 7)?;
    h.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| h.to_ascii_lowercase())
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
    let tri = |v: Tri| match v {
        Tri::Yes => "yes".to_string(),
        Tri::No => "no".to_string(),
        Tri::Unknown => "unknown".to_string(),
    };
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
    let lines = |category: &[&str]| device_lines(report, category);
    // qubes-hcl-report: the `00:00.0` host bridge only.
    let chipset = t
        .chipset
        .clone()
        .unwrap_or_else(|| host_bridge_line(report));
    block(&mut out, "chipset", &chipset);
    block(
        &mut out,
        "chipset-short",
        t.chipset_short.as_deref().unwrap_or(""),
    );
    let gpu = t.gpu.clone().unwrap_or_else(|| lines(&["gpu"]));
    block(&mut out, "gpu", &gpu);
    block(&mut out, "gpu-short", t.gpu_short.as_deref().unwrap_or(""));
    let network = t
        .network
        .clone()
        .unwrap_or_else(|| lines(&["network", "wifi", "ethernet"]));
    block(&mut out, "network", &network);
    let memory = s.memory_mib.map(|m| m.to_string()).unwrap_or_default();
    block(&mut out, "memory", &memory);
    let scsi = t.scsi.clone().unwrap_or_else(|| scsi_lines(report));
    block(&mut out, "scsi", &scsi);
    let usb = t.usb.clone().unwrap_or_else(|| {
        let n = report
            .devices
            .iter()
            .filter(|d| d.category == "usb-controller")
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
            d.category == "chipset"
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
fn device_lines(report: &Report, categories: &[&str]) -> String {
    report
        .devices
        .iter()
        .filter(|d| categories.contains(&d.category.as_str()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_brackets_and_names() {
        let d = device_from_line(
            "gpu",
            "Intel Corporation Device [8086:a7a0] (rev 04) (prog-if 00 [VGA controller])",
        )
        .unwrap();
        assert_eq!(
            d.modalias,
            "pci:v00008086d0000A7A0sv????????sd????????bc03sc00i00"
        );
        assert_eq!(d.revision.as_deref(), Some("04"));
        assert_eq!(d.class.as_deref(), Some("030000"));
        assert_eq!(d.role, Role::Dom0);

        let n = device_from_line("network", "Intel Corporation Device 51f1 (rev 01)").unwrap();
        assert_eq!(
            n.modalias,
            "pci:v00008086d000051F1sv????????sd????????bc??sc??i??"
        );
        assert_eq!(n.role, Role::Assignable);
        // A named device needs pci.ids: no guess.
        assert!(device_from_line("network", "Intel Corporation Wireless 8265 / 8275").is_none());
        assert!(device_from_line("network", "Intel Corporation Device 51f1x").is_none());
        assert!(device_from_line("gpu", "\tSubsystem: Lenovo Device [17aa:22e4]").is_none());
        let amd = device_from_line("gpu", "Advanced Micro Devices, Inc. [AMD/ATI] Device 1638");
        assert_eq!(amd.unwrap().vendor.as_deref(), Some("1002"));
    }

    /// Regression: `gpu: NVIDIA ... [10de:0a65]` without a class matched nouveau (vendor +
    /// class 03 alias) only as "unknown", moving 110 HCL machines to "no data".
    #[test]
    fn gpu_field_lines_are_display_class() {
        let d =
            device_from_line("gpu", "NVIDIA Corporation GT218 [GeForce 210] [10de:0a65]").unwrap();
        assert!(d.modalias.ends_with("bc03sc??i??"), "{}", d.modalias);
        assert_eq!(d.class, None, "the full class stays unknown");
        let audio = device_from_line(
            "gpu",
            "NVIDIA Corporation High Definition Audio [10de:0be3]",
        )
        .unwrap();
        assert!(
            audio.modalias.ends_with("bc??sc??i??"),
            "{}",
            audio.modalias
        );
        let net = device_from_line("network", "Intel Corporation Device [8086:24fd]").unwrap();
        assert!(net.modalias.ends_with("bc??sc??i??"), "{}", net.modalias);
    }

    #[test]
    fn class_from_lspci_class_bracket() {
        let d = device_from_line(
            "gpu",
            "VGA compatible controller [0300]: NVIDIA Corporation GT218M [NVS 3100M] [10de:0a6c] (rev a2) (prog-if 00 [VGA controller])",
        )
        .unwrap();
        assert_eq!(d.vendor.as_deref(), Some("10de"));
        assert!(d.modalias.ends_with("bc03sc00i00"), "{}", d.modalias);
        let d = device_from_line("gpu", "NVIDIA Corporation 3D controller [10de:1c8d]").unwrap();
        assert!(d.modalias.ends_with("bc03sc02i??"), "{}", d.modalias);
    }

    #[test]
    fn days_and_ids_from_file_names() {
        assert_eq!(
            day_from_name("Intel-NUC13ANHi5-20230728.yml").as_deref(),
            Some("2023-07-28")
        );
        assert_eq!(
            day_from_name("ASRock-B450M_Pro4-20210809-120230.yml").as_deref(),
            Some("2021-08-09")
        );
        assert_eq!(day_from_name("ACEMAGIC-AX16PRO-KingofMidnight.yml"), None);
        assert_eq!(day_from_name("X-99999999.yml"), None);
        assert_eq!(
            report_id("ASRock-970_Pro3_R2.0-20160220-204104.yml"),
            "hcl-ASRock-970_Pro3_R2_0-20160220-204104"
        );
    }
}
