//! Reading reports from untrusted bytes, checking them, and the content id.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::day::Day;
use crate::error::Error;
use crate::modalias::Modalias;
use crate::report::{Device, Report, SCHEMA_VERSION};

/// Largest report accepted, JSON or YAML (a real one is well under 1 MiB).
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Most devices in one report (a big server has a few hundred).
pub const MAX_DEVICES: usize = 4096;
/// Most kernels in [`Report::kernels`] and in one [`Device::coverage`].
pub const MAX_KERNELS: usize = 64;
/// Longest identifier-like string (ids, names, bus, category, driver).
pub const MAX_SHORT: usize = 512;
/// Longest free text (HCL chipset/GPU/network lines, remarks).
pub const MAX_TEXT: usize = 16 * 1024;
/// Longest modalias (DMI modaliases are the long ones, about 300 bytes).
pub const MAX_MODALIAS: usize = 1024;
/// Most entries in one list inside a device (modules, firmware files).
pub const MAX_LIST: usize = 512;
/// Most `versions:` entries of a Qubes HCL report.
pub const MAX_VERSIONS: usize = 64;

impl Report {
    /// Reads and checks a report sent as JSON. Errors name the field and the reason.
    pub fn from_json(bytes: &[u8]) -> Result<Report, Error> {
        check_size(bytes.len())?;
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let (line, column) = position(bytes, e.valid_up_to());
            Error::Syntax {
                format: "JSON",
                line,
                column,
                message: format!("not UTF-8: {e}"),
            }
        })?;
        Report::from_json_str(text)
    }

    /// [`Report::from_json`] on text already known to be UTF-8.
    pub fn from_json_str(text: &str) -> Result<Report, Error> {
        check_size(text.len())?;
        // Fast path: straight into the types. Only a failure pays for the JSON tree that
        // names the field at fault.
        if let Ok(report) = serde_json::from_str::<Report>(text) {
            report.validate()?;
            return Ok(report);
        }
        let value: Value = serde_json::from_str(text).map_err(|e| Error::Syntax {
            format: "JSON",
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        Report::from_value(value)
    }

    /// Reads and checks a report written as YAML (the same fields as the JSON form).
    pub fn from_yaml(text: &str) -> Result<Report, Error> {
        check_size(text.len())?;
        Report::from_value(yaml_value(text.as_bytes())?)
    }

    /// Reads and checks a report already parsed into a JSON value.
    pub fn from_value(value: Value) -> Result<Report, Error> {
        let Some(obj) = value.as_object() else {
            return Err(Error::Type {
                path: "$".into(),
                message: format!("expected a report object, found {}", kind(&value)),
            });
        };
        match obj.get("schema_version") {
            None => {
                return Err(Error::Missing {
                    path: "schema_version".into(),
                });
            }
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 && n <= u64::from(SCHEMA_VERSION) => {}
                _ => {
                    return Err(Error::SchemaVersion {
                        found: v.to_string(),
                        supported: SCHEMA_VERSION,
                    });
                }
            },
        }
        for field in ["report_id", "generated_on", "generator", "system"] {
            if !obj.contains_key(field) {
                return Err(Error::Missing { path: field.into() });
            }
        }
        let report: Report = match Report::deserialize(&value) {
            Ok(r) => r,
            Err(e) => return Err(locate(&value, e)),
        };
        report.validate()?;
        Ok(report)
    }

    /// Checks every rule of the schema that types cannot express: versions, lengths, counts,
    /// control characters, modaliases.
    pub fn validate(&self) -> Result<(), Error> {
        if self.schema_version == 0 || self.schema_version > SCHEMA_VERSION {
            return Err(Error::SchemaVersion {
                found: self.schema_version.to_string(),
                supported: SCHEMA_VERSION,
            });
        }
        check_report_id(&self.report_id)?;
        check_date("generated_on", &self.generated_on)?;
        line("generator", &self.generator, MAX_SHORT)?;
        if self.generator.trim().is_empty() {
            return Err(Error::invalid("generator", "empty"));
        }
        let s = &self.system;
        for (name, v) in s.short_fields() {
            opt_line(|| format!("system.{name}"), v, MAX_SHORT)?;
        }
        if let Some(b) = &s.boot_mode {
            line("system.boot_mode", b.as_str(), MAX_SHORT)?;
        }
        if let Some(t) = &s.hcl_text {
            for (name, v) in [
                ("chipset", &t.chipset),
                ("gpu", &t.gpu),
                ("network", &t.network),
                ("cpu_short", &t.cpu_short),
                ("chipset_short", &t.chipset_short),
                ("gpu_short", &t.gpu_short),
            ] {
                opt_text(|| format!("system.hcl_text.{name}"), v)?;
            }
            opt_text("system.hcl_text.scsi", &t.scsi)?;
            opt_line("system.hcl_text.usb", &t.usb, MAX_SHORT)?;
            count("system.hcl_text.statuses", t.statuses.len(), 16)?;
            for (k, st) in &t.statuses {
                let p = format!("system.hcl_text.statuses.{k}");
                line(p.as_str(), k, 64)?;
                line(|| format!("{p}.status"), &st.status, MAX_SHORT)?;
                opt_text(|| format!("{p}.message"), &st.message)?;
            }
        }
        if let Some(sp) = &s.suspend {
            count("system.suspend.mem_sleep", sp.mem_sleep.len(), 16)?;
            for (i, m) in sp.mem_sleep.iter().enumerate() {
                line(|| format!("system.suspend.mem_sleep[{i}]"), m, 64)?;
            }
            opt_line(
                "system.suspend.mem_sleep_current",
                &sp.mem_sleep_current,
                64,
            )?;
        }
        if let Some(x) = &s.xen {
            opt_line("system.xen.version", &x.version, 64)?;
            opt_line("system.xen.qubes_release", &x.qubes_release, 64)?;
            count("system.xen.hidden", x.hidden.len(), 16)?;
        }
        count("devices", self.devices.len(), MAX_DEVICES)?;
        for (i, d) in self.devices.iter().enumerate() {
            check_device(&format!("devices[{i}]"), d)?;
        }
        count("kernels", self.kernels.len(), MAX_KERNELS)?;
        for (k, sum) in &self.kernels {
            check_kernel_id("kernels", k)?;
            if sum.dom0_covered > sum.dom0_total || sum.assignable_covered > sum.assignable_total {
                return Err(Error::invalid(
                    format!("kernels.{k}"),
                    "more devices covered than there are",
                ));
            }
        }
        if let Some(q) = &self.qubes {
            count("qubes.versions", q.versions.len(), MAX_VERSIONS)?;
            opt_line("qubes.source_file", &q.source_file, MAX_SHORT)?;
            for (i, v) in q.versions.iter().enumerate() {
                for (name, f) in [
                    ("qubes", &v.qubes),
                    ("works", &v.works),
                    ("xen", &v.xen),
                    ("kernel", &v.kernel),
                    ("remark", &v.remark),
                ] {
                    opt_text(|| format!("qubes.versions[{i}].{name}"), f)?;
                }
            }
        }
        Ok(())
    }

    /// A hash of the report as the schema serialises it (fields in schema order, maps sorted
    /// by key, no spaces), hex SHA-256. The same report sent twice has the same id however its
    /// JSON was laid out, so the server stores it once.
    pub fn content_id(&self) -> String {
        match self.canonical() {
            Ok(c) => c.id,
            // Cannot happen (every map key is a string); hash the Debug form rather than panic.
            Err(_) => hex::encode(Sha256::digest(format!("{self:?}").as_bytes())),
        }
    }

    /// The report in its canonical JSON form with its content id ([`Report::content_id`]),
    /// from one serialisation: what the aggregator stores.
    pub fn canonical(&self) -> Result<CanonicalReport, Error> {
        let json = serde_json::to_string(self).map_err(|e| Error::Write(e.to_string()))?;
        let id = hex::encode(Sha256::digest(json.as_bytes()));
        let legacy_content_key = self.legacy_content_key(&json)?;
        Ok(CanonicalReport {
            id,
            json,
            content_key: self.content_key()?,
            legacy_content_key,
        })
    }

    /// [`CanonicalReport::content_key`]: the report as JSON without its per-run fields
    /// (`report_id`, `generated_on`) and without what says which writer made it
    /// (`schema_version`, `generator`), every string trimmed, the devices in a fixed order,
    /// hashed. Attack D13: the devices reversed, a trailing space, another schema version or
    /// generator made a deleted report new again.
    fn content_key(&self) -> Result<String, Error> {
        let mut v = serde_json::to_value(self).map_err(|e| Error::Write(e.to_string()))?;
        if let Value::Object(m) = &mut v {
            for per_run in ["schema_version", "report_id", "generated_on", "generator"] {
                m.remove(per_run);
            }
        }
        trim_strings(&mut v);
        if let Some(Value::Array(devices)) = v.get_mut("devices") {
            // By each device's own JSON: a total order that depends on nothing else.
            let mut keyed: Vec<(String, Value)> =
                devices.drain(..).map(|d| (d.to_string(), d)).collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            devices.extend(keyed.into_iter().map(|(_, d)| d));
        }
        let mut h = Sha256::new();
        h.update(b"content-key v2\n");
        h.update(v.to_string().as_bytes());
        Ok(hex::encode(h.finalize()))
    }

    /// [`CanonicalReport::legacy_content_key`] from the canonical JSON of `self`. The per-run
    /// fields are the first ones the schema writes, so the key hashes what follows them: no
    /// second serialisation of the report.
    fn legacy_content_key(&self, json: &str) -> Result<String, Error> {
        #[derive(serde::Serialize)]
        struct PerRun<'a> {
            schema_version: u32,
            report_id: &'a str,
            generated_on: &'a Day,
        }
        let head = serde_json::to_string(&PerRun {
            schema_version: self.schema_version,
            report_id: &self.report_id,
            generated_on: &self.generated_on,
        })
        .map_err(|e| Error::Write(e.to_string()))?;
        let prefix = head.strip_suffix('}').unwrap_or(&head);
        // The schema writes these three first (a test holds it to that).
        let rest = json.strip_prefix(prefix).ok_or_else(|| {
            Error::Write("canonical JSON does not start with the per-run fields".into())
        })?;
        let mut h = Sha256::new();
        h.update(format!("content-key v{}\n", self.schema_version).as_bytes());
        h.update(rest.as_bytes());
        Ok(hex::encode(h.finalize()))
    }
}

/// A checked report as stored: its canonical JSON and the content id that JSON hashes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalReport {
    /// Hex SHA-256 of `json`.
    pub id: String,
    /// The report serialised by the schema: fields in schema order, maps sorted, no spaces.
    pub json: String,
    /// Hex SHA-256 of the same report without its per-run fields, `report_id` (random per
    /// run) and `generated_on` (the day of the run): the same machine scanned again, or the
    /// same file sent again under a fresh id, has the same key. The aggregator's tombstones
    /// hold it, so a deleted report does not come back under another `report_id`. Also
    /// without `schema_version` and `generator`, with text trimmed and devices sorted
    /// ("content-key v2"), so a reordered or respaced copy is the same content.
    pub content_key: String,
    /// The content key as made before v2: the canonical JSON after the per-run fields, with
    /// the schema version hashed in. Tombstones written before v2 hold it; a store refuses a
    /// report when either key is a tombstone's, so those keep working.
    pub legacy_content_key: String,
}

/// Every string (values and keys) of `v` without white space at its ends.
fn trim_strings(v: &mut Value) {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if t.len() != s.len() {
                *s = t.to_owned();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(trim_strings),
        Value::Object(m) => {
            if m.keys().any(|k| k.trim().len() != k.len()) {
                let old = std::mem::take(m);
                for (k, x) in old {
                    m.insert(k.trim().to_owned(), x);
                }
            }
            m.values_mut().for_each(trim_strings);
        }
        _ => {}
    }
}

/// A report sent as YAML, as a JSON value: parsed under the limits for untrusted input, not yet
/// checked (callers that must see fields the schema does not know, such as the privacy check,
/// look at it before [`Report::from_value`]).
pub fn yaml_value(bytes: &[u8]) -> Result<Value, Error> {
    check_size(bytes.len())?;
    serde_saphyr::from_slice_with_options(bytes, crate::yaml_options())
        .map_err(|e| crate::yaml_error(&e))
}

fn check_size(size: usize) -> Result<(), Error> {
    if size > MAX_INPUT_BYTES {
        return Err(Error::TooLarge {
            size,
            max: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

/// 1-based line and column of byte `at`.
fn position(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = bytes.get(..at).unwrap_or(bytes);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + before.iter().rev().take_while(|&&b| b != b'\n').count();
    (line, column)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Finds the part of the report that did not deserialise, for a precise path.
fn locate(value: &Value, e: serde_json::Error) -> Error {
    use crate::report::{QubesInfo, System};
    use crate::summary::KernelSummary;
    let here = |path: String, e: serde_json::Error| Error::Type {
        path,
        message: e.to_string(),
    };
    if let Some(sys) = value.get("system")
        && let Err(e) = System::deserialize(sys)
    {
        return here("system".into(), e);
    }
    if let Some(devices) = value.get("devices") {
        let Some(list) = devices.as_array() else {
            return Error::Type {
                path: "devices".into(),
                message: format!("expected a list, found {}", kind(devices)),
            };
        };
        for (i, d) in list.iter().enumerate() {
            if let Err(e) = Device::deserialize(d) {
                if d.get("modalias").is_none() && d.is_object() {
                    return Error::NoModalias {
                        path: format!("devices[{i}]"),
                    };
                }
                return here(format!("devices[{i}]"), e);
            }
        }
    }
    if let Some(Value::Object(kernels)) = value.get("kernels") {
        for (k, v) in kernels {
            if let Err(e) = KernelSummary::deserialize(v) {
                return here(format!("kernels.{k}"), e);
            }
        }
    }
    if let Some(q) = value.get("qubes")
        && let Err(e) = <Option<QubesInfo>>::deserialize(q)
    {
        return here("qubes".into(), e);
    }
    here("$".into(), e)
}

/// Where a value sits in the report. Paths are only spelt out when a check fails: building
/// them for every field made checking several times slower than parsing.
trait Where {
    fn path(self) -> String;
}

impl Where for &str {
    fn path(self) -> String {
        self.to_string()
    }
}

impl<F: FnOnce() -> String> Where for F {
    fn path(self) -> String {
        self()
    }
}

fn count(at: impl Where, n: usize, max: usize) -> Result<(), Error> {
    if n > max {
        return Err(Error::TooMany {
            path: at.path(),
            count: n,
            max,
        });
    }
    Ok(())
}

/// One line: no control characters at all.
fn line(at: impl Where, v: &str, max: usize) -> Result<(), Error> {
    if v.len() > max {
        return Err(Error::TooLong {
            path: at.path(),
            len: v.len(),
            max,
        });
    }
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Err(Error::ControlCharacter {
            path: at.path(),
            code: u32::from(c),
        });
    }
    Ok(())
}

fn opt_line(at: impl Where, v: &Option<String>, max: usize) -> Result<(), Error> {
    v.as_deref().map_or(Ok(()), |v| line(at, v, max))
}

/// Free text: newlines and tabs allowed, other control characters not.
fn text(at: impl Where, v: &str) -> Result<(), Error> {
    if v.len() > MAX_TEXT {
        return Err(Error::TooLong {
            path: at.path(),
            len: v.len(),
            max: MAX_TEXT,
        });
    }
    if let Some(c) = v
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(Error::ControlCharacter {
            path: at.path(),
            code: u32::from(c),
        });
    }
    Ok(())
}

fn opt_text(at: impl Where, v: &Option<String>) -> Result<(), Error> {
    v.as_deref().map_or(Ok(()), |v| text(at, v))
}

fn check_report_id(id: &str) -> Result<(), Error> {
    line("report_id", id, 128)?;
    if id.is_empty() {
        return Err(Error::invalid("report_id", "empty"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::invalid(
            "report_id",
            "only letters, digits, '-' and '_' are allowed",
        ));
    }
    Ok(())
}

/// `YYYY-MM-DD`, or empty when the day is not known (old HCL files).
fn check_date(path: &str, v: &Day) -> Result<(), Error> {
    match v {
        Day::Unreadable(v) => Err(Error::invalid(
            path,
            format!("{v:?} is not a YYYY-MM-DD day"),
        )),
        Day::Unknown | Day::On(_) => Ok(()),
    }
}

fn check_kernel_id(path: &str, k: &str) -> Result<(), Error> {
    let at = || format!("{path}.{k}");
    line(at, k, 64)?;
    if let Some(reason) = kernel_id_problem(k) {
        return Err(Error::invalid(at(), reason));
    }
    Ok(())
}

/// Longest kernel id.
pub const MAX_KERNEL_ID: usize = 64;

/// Why `id` is not a kernel id, or None when it is one: a plain name of lower-case letters,
/// digits, `.`, `_`, `-` and `+` (`debian-13`, `rhel-9.6`, the stick's
/// `stick-6.12.117+deb13-amd64`: kernel releases hold `+`), not starting with `.`, at most
/// [`MAX_KERNEL_ID`] long. The one rule for report keys and for profile ids, which name files
/// (`<id>.profile.zst`): an id cannot be `..`, hold a `/`, or hide a file.
pub fn kernel_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("empty; a kernel id is a plain name like debian-13 or rhel-9.6")
    } else if id.len() > MAX_KERNEL_ID {
        Some("longer than 64 characters")
    } else if id.starts_with('.') {
        Some("starts with '.'; a kernel id is a plain name like debian-13 or rhel-9.6")
    } else if !id.bytes().all(|b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'+')
    }) {
        Some(
            "only lower-case letters, digits, '.', '_', '-' and '+' (a plain name like debian-13 \
             or rhel-9.6, no '/')",
        )
    } else {
        None
    }
}

/// The modalias: `bus:rest`, the bus in lower-case letters, digits, `_` and `-`
/// (`xen-backend:vbd`, `fsl-mc:`).
fn check_modalias(path: &str, m: &str) -> Result<(), Error> {
    let at = || format!("{path}.modalias");
    if m.is_empty() {
        return Err(Error::NoModalias { path: path.into() });
    }
    line(at, m, MAX_MODALIAS)?;
    if Modalias::parse(m).is_err() {
        return Err(Error::invalid(
            at(),
            "a modalias starts with its bus and a colon, like `pci:` or `usb:`",
        ));
    }
    Ok(())
}

fn check_device(path: &str, d: &Device) -> Result<(), Error> {
    check_modalias(path, &d.modalias)?;
    line(|| format!("{path}.bus"), &d.bus, 64)?;
    line(
        || format!("{path}.category"),
        d.category.as_str(),
        MAX_SHORT,
    )?;
    opt_line(|| format!("{path}.sysfs_path"), &d.sysfs_path, 4096)?;
    for (name, v) in [
        ("vendor", &d.vendor),
        ("device", &d.device),
        ("subvendor", &d.subvendor),
        ("subdevice", &d.subdevice),
        ("class", &d.class),
        ("revision", &d.revision),
        ("vendor_name", &d.vendor_name),
        ("device_name", &d.device_name),
        ("driver", &d.driver),
    ] {
        opt_line(|| format!("{path}.{name}"), v, MAX_SHORT)?;
    }
    if let Some(u) = &d.usb {
        line(|| format!("{path}.usb.kind"), u.kind.as_str(), 64)?;
        for (name, v) in [
            ("bcd_device", &u.bcd_device),
            ("speed", &u.speed),
            ("interface_number", &u.interface_number),
            ("interface_class", &u.interface_class),
        ] {
            opt_line(|| format!("{path}.usb.{name}"), v, 64)?;
        }
    }
    if let Some(p) = &d.passthrough {
        let pp = |field: &str| format!("{path}.passthrough.{field}");
        count(|| pp("reset_methods"), p.reset_methods.len(), 16)?;
        for (i, m) in p.reset_methods.iter().enumerate() {
            line(|| format!("{}[{i}]", pp("reset_methods")), m, 64)?;
        }
        if let Some(group) = &p.group {
            count(|| pp("group"), group.len(), MAX_LIST)?;
            for (i, a) in group.iter().enumerate() {
                line(|| format!("{}[{i}]", pp("group")), a, 64)?;
            }
        }
        text(|| pp("reason"), &p.reason)?;
    }
    count(|| format!("{path}.coverage"), d.coverage.len(), MAX_KERNELS)?;
    for (k, c) in &d.coverage {
        check_kernel_id(&format!("{path}.coverage"), k)?;
        let cp = || format!("{path}.coverage.{k}");
        for (name, list) in [
            ("modules", &c.modules),
            ("builtin", &c.builtin),
            ("inferred_builtin", &c.inferred_builtin),
            ("extra_package", &c.extra_package),
        ] {
            count(|| format!("{}.{name}", cp()), list.len(), MAX_LIST)?;
            for (i, m) in list.iter().enumerate() {
                line(|| format!("{}.{name}[{i}]", cp()), m, MAX_SHORT)?;
            }
        }
        count(|| format!("{}.firmware", cp()), c.firmware.len(), MAX_LIST)?;
        for (i, f) in c.firmware.iter().enumerate() {
            let fp = |field: &str| format!("{}.firmware[{i}].{field}", cp());
            line(|| fp("module"), &f.module, MAX_SHORT)?;
            line(|| fp("file"), &f.file, MAX_SHORT)?;
            opt_line(|| fp("package"), &f.package, MAX_SHORT)?;
        }
        if let Some(r) = &c.rhel_status {
            let rp = |field: &str| format!("{}.rhel_status.{field}", cp());
            line(|| rp("status"), r.status.as_str(), 64)?;
            line(|| rp("by"), r.by.as_str(), 64)?;
            line(|| rp("name"), &r.name, MAX_SHORT)?;
        }
        count(
            || format!("{}.conditions", cp()),
            c.conditions.len(),
            MAX_LIST,
        )?;
        for (i, b) in c.conditions.iter().enumerate() {
            let bp = |field: &str| format!("{}.conditions[{i}].{field}", cp());
            line(|| bp("module"), &b.module, MAX_SHORT)?;
            line(|| bp("chip"), &b.chip, MAX_SHORT)?;
            count(|| bp("firmware"), b.firmware.len(), MAX_LIST)?;
            for (j, f) in b.firmware.iter().enumerate() {
                line(|| format!("{}[{j}]", bp("firmware")), f, MAX_SHORT)?;
            }
        }
        text(|| format!("{}.reason", cp()), &c.reason)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let check = |v: &str| check_date("d", &Day::from(v));
        assert!(check("2023-07-28").is_ok());
        assert!(check("").is_ok());
        assert!(check("2023-13-01").is_err());
        assert!(check("2023-07-28T10:00").is_err());
        // Regression: any day 1 to 31 passed, so the 30th of February was a day.
        assert!(check("2026-02-30").is_err());
    }

    fn report(report_id: &str, generated_on: &str, model: &str) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            report_id: report_id.into(),
            generated_on: generated_on.into(),
            generator: "hcl-probe 0.1.0".into(),
            origin: Default::default(),
            system: crate::System {
                model: Some(model.into()),
                ..Default::default()
            },
            devices: Vec::new(),
            kernels: Default::default(),
            qubes: None,
        }
    }

    /// Regression (issue 8): a deleted report came back under a new report_id. The content
    /// key ignores the per-run fields.
    #[test]
    fn content_key_ignores_report_id_and_day() {
        let key = |r: &Report| r.canonical().expect("canonical").content_key;
        let a = report("0123456789abcdef0123456789abcdef", "2026-11-20", "T14");
        let b = report("ffffffffffffffffffffffffffffffff", "2026-12-01", "T14");
        assert_ne!(a.content_id(), b.content_id());
        assert_eq!(key(&a), key(&b));
        assert_eq!(key(&a), key(&report("a\"},\"x", "\u{1}", "T14")));
        assert_ne!(key(&a), key(&report("0", "2026-11-20", "T15")));
    }

    /// Regression (attack D13): a deleted report came back with its devices in another order,
    /// a trailing space, another `schema_version` or `generator`.
    #[test]
    fn regression_d13_content_key_ignores_order_spaces_and_writer() {
        let key = |r: &Report| r.canonical().expect("canonical").content_key;
        let mut a = report("0123456789abcdef0123456789abcdef", "2026-11-20", "T14");
        for (path, name) in [("/sys/devices/a", "A"), ("/sys/devices/b", "B")] {
            a.devices.push(crate::Device {
                sysfs_path: Some(path.into()),
                device_name: Some(name.into()),
                ..Default::default()
            });
        }
        let base = key(&a);
        let mut reversed = a.clone();
        reversed.devices.reverse();
        assert_eq!(key(&reversed), base);
        let mut spaced = a.clone();
        spaced.system.model = Some("T14 ".into());
        assert_eq!(key(&spaced), base);
        let mut versioned = a.clone();
        versioned.schema_version += 1;
        assert_eq!(key(&versioned), base);
        let mut generated = a.clone();
        generated.generator = "hcl-probe 0.1.1".into();
        assert_eq!(key(&generated), base);
        // Content still counts.
        let mut other = a.clone();
        other.devices[1].device_name = Some("C".into());
        assert_ne!(key(&other), base);
    }

    /// The key tombstones made before v2 hold, unchanged: the canonical JSON after the
    /// per-run fields, with the schema version hashed in.
    #[test]
    fn legacy_content_key_is_unchanged() {
        let legacy = |r: &Report| r.canonical().expect("canonical").legacy_content_key;
        let a = report("0123456789abcdef0123456789abcdef", "2026-11-20", "T14");
        let mut g = a.clone();
        g.generator = "hcl-probe 0.2.0".into();
        assert_ne!(legacy(&a), legacy(&g));
        // The same as hashing the report with both fields emptied, written out in full.
        let mut blank = a.clone();
        blank.report_id.clear();
        blank.generated_on = Day::Unknown;
        let json = serde_json::to_string(&blank).expect("json");
        let head = format!(
            "{{\"schema_version\":{SCHEMA_VERSION},\"report_id\":\"\",\"generated_on\":\"\""
        );
        let rest = json.strip_prefix(&head).expect("schema order");
        let mut h = Sha256::new();
        h.update(format!("content-key v{SCHEMA_VERSION}\n").as_bytes());
        h.update(rest.as_bytes());
        assert_eq!(legacy(&a), hex::encode(h.finalize()));
    }
}
