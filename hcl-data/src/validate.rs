//! Reading reports from untrusted bytes, checking them, the content id and the privacy check.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::Error;
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
        if bytes.len() > MAX_INPUT_BYTES {
            return Err(Error::TooLarge {
                size: bytes.len(),
                max: MAX_INPUT_BYTES,
            });
        }
        // Fast path: straight into the types. Only a failure pays for the JSON tree that
        // names the field at fault.
        if let Ok(report) = serde_json::from_slice::<Report>(bytes) {
            report.validate()?;
            return Ok(report);
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| Error::Syntax {
            format: "JSON",
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        Report::from_value(value)
    }

    /// Reads and checks a report written as YAML (the same fields as the JSON form).
    pub fn from_yaml(text: &str) -> Result<Report, Error> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(Error::TooLarge {
                size: text.len(),
                max: MAX_INPUT_BYTES,
            });
        }
        let value: Value = serde_saphyr::from_str_with_options(text, crate::yaml_options())
            .map_err(|e| crate::yaml_error(&e))?;
        Report::from_value(value)
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
        for (name, v) in [
            ("machine_type", &s.machine_type),
            ("brand", &s.brand),
            ("model", &s.model),
            ("bios", &s.bios),
            ("cpu", &s.cpu),
            ("virtualization", &s.virtualization),
            ("tpm", &s.tpm),
            ("boot_mode", &s.boot_mode),
            ("running_kernel", &s.running_kernel),
            ("distro", &s.distro),
        ] {
            opt_line(|| format!("system.{name}"), v, MAX_SHORT)?;
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
    /// JSON was laid out, so the server stores it once. Serialised from the typed report, with
    /// no JSON value tree in between (this runs on every upload).
    pub fn content_id(&self) -> String {
        let bytes = serde_json::to_vec(self)
            // Cannot fail (every map key is a string); hash the Debug form rather than panic.
            .unwrap_or_else(|_| format!("{self:?}").into_bytes());
        hex::encode(Sha256::digest(&bytes))
    }

    /// Everything in the report that looks like a personal identifier: a MAC address, a UUID
    /// (outside device modaliases and sysfs paths, where kernel interface GUIDs are normal), a
    /// field named like a serial number, UUID, MAC, hostname or user name. Empty when clean.
    pub fn privacy_violations(&self) -> Vec<String> {
        match serde_json::to_value(self) {
            Ok(v) => privacy_violations_in_value(&v),
            Err(e) => vec![format!("cannot be checked: {e}")],
        }
    }
}

/// [`Report::privacy_violations`] on any JSON value, e.g. an upload before it is parsed
/// into a [`Report`] (which would drop unknown fields such as `serial`).
pub fn privacy_violations_in_value(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_privacy(&mut Vec::new(), value, &mut out);
    out
}

/// [`privacy_violations_in_value`] on raw JSON bytes; bytes that are not JSON give no
/// violations (the parse error is reported elsewhere).
pub fn privacy_violations_in_json(bytes: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => privacy_violations_in_value(&v),
        Err(_) => Vec::new(),
    }
}

/// One step of a JSON path.
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// `$.devices[3].modalias`; only built for a finding.
fn render(path: &[Seg<'_>]) -> String {
    let mut s = String::from("$");
    for seg in path {
        match seg {
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn walk_privacy<'a>(path: &mut Vec<Seg<'a>>, value: &'a Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some(mac) = find_mac(s) {
                out.push(format!(
                    "{}: looks like a MAC address ({mac})",
                    render(path)
                ));
            }
            // Kernel interface GUIDs (WMI, MEI) are part of modaliases and sysfs paths.
            let guid_ok = matches!(path.last(), Some(Seg::Key("modalias" | "sysfs_path")));
            // A UUID inside a web link is a message or page id, not a machine's.
            let uuid = (!guid_ok)
                .then(|| {
                    s.split_whitespace()
                        .filter(|token| !token.contains("://"))
                        .find_map(find_uuid)
                })
                .flatten();
            if let Some(uuid) = uuid {
                out.push(format!("{}: looks like a UUID ({uuid})", render(path)));
            }
            if mentions_serial(s) {
                out.push(format!("{}: mentions a serial number", render(path)));
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk_privacy(path, v, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                path.push(Seg::Key(k));
                if personal_key(k) && !matches!(v, Value::Null) {
                    out.push(format!(
                        "{}: a field for a personal identifier",
                        render(path)
                    ));
                }
                walk_privacy(path, v, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn personal_key(key: &str) -> bool {
    const NEEDLES: [&str; 13] = [
        "serial",
        "uuid",
        "guid",
        "mac_addr",
        "mac-addr",
        "macaddr",
        "hwaddr",
        "hostname",
        "host_name",
        "host-name",
        "username",
        "user_name",
        "user-name",
    ];
    key.eq_ignore_ascii_case("mac") || NEEDLES.iter().any(|n| contains_ignore_case(key, n))
}

fn mentions_serial(s: &str) -> bool {
    // Cheap first look: most strings have neither word.
    if !(contains_ignore_case(s, "serial") || contains_ignore_case(s, "s/n")) {
        return false;
    }
    let l = s.to_ascii_lowercase();
    [
        "serial number",
        "serial no",
        "serial:",
        "serial=",
        "s/n:",
        "s/n ",
    ]
    .iter()
    .any(|m| l.contains(m))
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Six two-digit hex groups joined by one `:` or `-` separator, not part of a longer run.
fn find_mac(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if b.len() < 17 || !b.iter().any(|&c| c == b':' || c == b'-') {
        return None;
    }
    let joined = |c: &u8| is_hex(*c) || *c == b':' || *c == b'-';
    for i in 0..b.len() {
        let Some(w) = b.get(i..i + 17) else { break };
        let before = i.checked_sub(1).and_then(|j| b.get(j));
        if before.is_some_and(joined) || b.get(i + 17).is_some_and(joined) {
            continue;
        }
        let sep = w.get(2).copied().filter(|c| *c == b':' || *c == b'-');
        let ok = sep.is_some()
            && w.iter().enumerate().all(|(j, &c)| {
                if j % 3 == 2 {
                    Some(c) == sep
                } else {
                    is_hex(c)
                }
            });
        if ok {
            return s.get(i..i + 17);
        }
    }
    None
}

/// 8-4-4-4-12 hex digits, not part of a longer hex run.
fn find_uuid(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if b.len() < 36 || !b.contains(&b'-') {
        return None;
    }
    let hex = |c: &u8| is_hex(*c);
    for i in 0..b.len() {
        let Some(w) = b.get(i..i + 36) else { break };
        let before = i.checked_sub(1).and_then(|j| b.get(j));
        if before.is_some_and(hex) || b.get(i + 36).is_some_and(hex) {
            continue;
        }
        let ok = w.iter().enumerate().all(|(j, &c)| {
            if matches!(j, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                is_hex(c)
            }
        });
        if ok {
            return s.get(i..i + 36);
        }
    }
    None
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
    use crate::report::{KernelSummary, QubesInfo, System};
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
fn check_date(path: &str, v: &str) -> Result<(), Error> {
    if v.is_empty() {
        return Ok(());
    }
    let b = v.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, &c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    let month = v.get(5..7).and_then(|m| m.parse::<u8>().ok());
    let day = v.get(8..10).and_then(|d| d.parse::<u8>().ok());
    if shape && matches!(month, Some(1..=12)) && matches!(day, Some(1..=31)) {
        Ok(())
    } else {
        Err(Error::invalid(
            path,
            format!("{v:?} is not a YYYY-MM-DD day"),
        ))
    }
}

fn check_kernel_id(path: &str, k: &str) -> Result<(), Error> {
    let at = || format!("{path}.{k}");
    line(at, k, 64)?;
    if k.is_empty()
        || !k
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+'))
    {
        return Err(Error::invalid(
            at(),
            "not a kernel id (like debian-13, rhel-9.6)",
        ));
    }
    Ok(())
}

/// The modalias: `bus:rest`, the bus in lower-case letters, digits, `_` and `-`
/// (`xen-backend:vbd`, `fsl-mc:`).
fn check_modalias(path: &str, m: &str) -> Result<(), Error> {
    let at = || format!("{path}.modalias");
    if m.is_empty() {
        return Err(Error::NoModalias { path: path.into() });
    }
    line(at, m, MAX_MODALIAS)?;
    match m.split_once(':') {
        Some((bus, _))
            if !bus.is_empty()
                && bus.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                }) => {}
        _ => {
            return Err(Error::invalid(
                at(),
                "a modalias starts with its bus and a colon, like `pci:` or `usb:`",
            ));
        }
    }
    Ok(())
}

fn check_device(path: &str, d: &Device) -> Result<(), Error> {
    check_modalias(path, &d.modalias)?;
    line(|| format!("{path}.bus"), &d.bus, 64)?;
    line(|| format!("{path}.category"), &d.category, MAX_SHORT)?;
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
        line(|| format!("{path}.usb.kind"), &u.kind, 64)?;
        for (name, v) in [
            ("bcd_device", &u.bcd_device),
            ("speed", &u.speed),
            ("interface_number", &u.interface_number),
            ("interface_class", &u.interface_class),
        ] {
            opt_line(|| format!("{path}.usb.{name}"), v, 64)?;
        }
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
            line(|| rp("status"), &r.status, 64)?;
            line(|| rp("by"), &r.by, 64)?;
            line(|| rp("name"), &r.name, MAX_SHORT)?;
        }
        text(|| format!("{}.reason", cp()), &c.reason)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_detection() {
        assert_eq!(
            find_mac("eth0 00:1b:21:3a:4f:5c up"),
            Some("00:1b:21:3a:4f:5c")
        );
        assert_eq!(find_mac("AA-BB-CC-DD-EE-FF"), Some("AA-BB-CC-DD-EE-FF"));
        assert_eq!(find_mac("00:1b:21:3a:4f"), None);
        assert_eq!(find_mac("00:1b-21:3a:4f:5c"), None);
        // PCI addresses and longer colon runs are not MACs.
        assert_eq!(find_mac("/sys/devices/pci0000:00/0000:00:1f.6"), None);
        assert_eq!(find_mac("00:11:22:33:44:55:66"), None);
    }

    #[test]
    fn uuid_detection() {
        let u = "4c4c4544-0042-3510-8052-b4c04f4e3332";
        assert_eq!(find_uuid(&format!("uuid={u};")), Some(u));
        assert_eq!(find_uuid("4c4c4544-0042-3510-8052-b4c04f4e333"), None);
        assert_eq!(find_uuid("x4c4c4544-0042-3510-8052-b4c04f4e33321"), None);
    }

    #[test]
    fn dates() {
        assert!(check_date("d", "2023-07-28").is_ok());
        assert!(check_date("d", "").is_ok());
        assert!(check_date("d", "2023-13-01").is_err());
        assert!(check_date("d", "2023-07-28T10:00").is_err());
    }
}
