//! Importing one Qubes HCL YAML file as a report.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::fields::{STATUS_FIELDS, one_line};
use super::lspci::device_from_line;
use crate::day::Day;
use crate::error::Error;
use crate::report::{
    Device, HCL_IMPORT_SCHEMA_VERSION, HclStatus, HclText, Origin, QubesInfo, QubesVersion, Report,
    System,
};
use crate::validate::{MAX_INPUT_BYTES, MAX_VERSIONS};
use crate::verdict::Tri;

/// The `generator` of imported reports.
pub const GENERATOR: &str = "qubes-hcl import";

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
    let line_of = |k: &str| text_of(k).map(|t| text_line(&t)).filter(|t| !t.is_empty());

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
        .and_then(|m| leading_number(&m))
        .filter(|&m| m <= MAX_MEMORY_MIB);

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
            .filter(|v| *v != QubesVersion::default())
            .collect(),
        Some(Value::Object(one)) => Some(version_of(one))
            .filter(|v| *v != QubesVersion::default())
            .into_iter()
            .collect(),
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
            tpm: tpm.map(|t| text_line(&t)),
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

/// Free text as one line, with what the privacy check refuses cut out of that line. The
/// check runs again on the joined line: joining can make an identifier of parts that were on
/// separate lines, and the export writes the line as it is, so a second import found what the
/// first had not (found by the `qubes_hcl` fuzz target: the round trip lost part of a brand).
fn text_line(t: &str) -> String {
    crate::redact_where(&one_line(t), message_link).into_owned()
}

/// `'yes'`, or `{status: 'yes', message: '...'}`.
fn status_of(v: &Value) -> Option<HclStatus> {
    match v {
        Value::Object(m) => {
            let status = m.get("status").and_then(scalar_text).map(|s| text_line(&s));
            let message = m.get("message").and_then(scalar_text);
            (status.is_some() || message.is_some()).then(|| HclStatus {
                status: status.unwrap_or_default(),
                message,
            })
        }
        other => scalar_text(other).map(|s| HclStatus {
            status: text_line(&s),
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
                .filter(|t| !is_placeholder(t))
        })
    };
    QubesVersion {
        qubes: field(&["qubes"]),
        works: field(&["works"]).map(|w| text_line(&w)),
        xen: field(&["xen"]),
        kernel: field(&["kernel"]),
        remark: field(&["remark", "remarks"]),
    }
}

/// What `qubes-hcl-report` (and our export) writes for the person to fill in: not data, so the
/// field is unknown, and a version of nothing else is none (regression: a report without
/// versions exported with the template and imported back with a version of `FIXME`s).
fn is_placeholder(t: &str) -> bool {
    matches!(t.trim(), "FIXME" | "FIXME:yes|no|partial")
}

/// The most memory an HCL file is believed to state, in MiB (64 TiB; the real HCL's largest is
/// 262,039). A bigger number is a typo or garbage. Kept, it also broke the round trip (found
/// by the `qubes_hcl` fuzz target): exported alone, a 12-digit number reads back as a MAC
/// address and is redacted.
const MAX_MEMORY_MIB: u64 = 64 << 20;

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

/// The first `-YYYYMMDD` in the file name that is a real day.
fn day_from_name(file_name: &str) -> Option<Day> {
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
        if !(2010..=2100).contains(&yn) || !(1..=12).contains(&mn) || !(1..=31).contains(&dn) {
            return None;
        }
        Day::parse(&format!("{y}-{m}-{day}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_ids_from_file_names() {
        let day = |name: &str| day_from_name(name).map(|d| d.to_string());
        assert_eq!(
            day("Intel-NUC13ANHi5-20230728.yml").as_deref(),
            Some("2023-07-28")
        );
        assert_eq!(
            day("ASRock-B450M_Pro4-20210809-120230.yml").as_deref(),
            Some("2021-08-09")
        );
        assert_eq!(day("X-20230230.yml"), None);
        assert_eq!(day_from_name("ACEMAGIC-AX16PRO-KingofMidnight.yml"), None);
        assert_eq!(day_from_name("X-99999999.yml"), None);
        assert_eq!(
            report_id("ASRock-970_Pro3_R2.0-20160220-204104.yml"),
            "hcl-ASRock-970_Pro3_R2_0-20160220-204104"
        );
    }
}
