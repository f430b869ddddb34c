//! The privacy check: anything in a report that looks like a personal identifier (a MAC
//! address, a UUID, a serial number, an e-mail address, a MAC-derived IPv6 address, a host or
//! user name found by its position, a field named for one of them), in every value and every
//! key, in every common spelling ([`text`]).
//!
//! Uploads are checked on the raw document, before parsing into a [`Report`] drops fields the
//! schema does not know (a `serial` someone added). [`privacy_scan_json`] does that in one
//! streaming pass over the bytes, with no value tree: it runs on every upload.

pub(crate) mod text;

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::report::Report;
use text::Place;

impl Report {
    /// Everything in the report that looks like a personal identifier ([`text::IdentifierKind`]),
    /// in values and keys, and every field named like a serial number, UUID, MAC, host name,
    /// user name or e-mail address. Empty when clean.
    pub fn privacy_violations(&self) -> Vec<String> {
        let scanned = serde_json::to_string(self).map(|text| privacy_scan_json(&text, usize::MAX));
        match scanned {
            Ok(Ok(found)) => found.shown,
            Ok(Err(e)) | Err(e) => vec![format!("cannot be checked: {e}")],
        }
    }
}

/// What a privacy check found: every finding counted, the first few spelt out. Untrusted input
/// can hold millions of findings, each with a long path: spelling them all out could take more
/// memory than the input by far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// The first findings, in document order, at most the `keep` asked for.
    pub shown: Vec<String>,
    /// All findings, shown or not.
    pub total: usize,
    keep: usize,
}

impl Findings {
    fn new(keep: usize) -> Self {
        Findings {
            keep,
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn push(&mut self, make: impl FnOnce() -> String) {
        self.total += 1;
        if self.shown.len() < self.keep {
            self.shown.push(make());
        }
    }

    /// A finding that belongs before those at `at` and after (a key before its value's).
    fn insert(&mut self, at: usize, make: impl FnOnce() -> String) {
        self.total += 1;
        if at < self.keep {
            self.shown.insert(at.min(self.shown.len()), make());
            self.shown.truncate(self.keep);
        }
    }
}

/// [`Report::privacy_violations`] on any JSON value, e.g. a YAML upload before it is parsed
/// into a [`Report`] (which would drop unknown fields such as `serial`).
pub fn privacy_violations_in_value(value: &Value) -> Vec<String> {
    privacy_scan_value(value, usize::MAX).shown
}

/// [`privacy_violations_in_value`] spelling out only the first `keep` findings.
pub fn privacy_scan_value(value: &Value, keep: usize) -> Findings {
    let mut out = Findings::new(keep);
    walk_value(&mut Vec::new(), value, &mut out);
    out
}

/// [`privacy_scan_json`] for callers that report bad JSON elsewhere: bytes that are not JSON
/// (or not UTF-8) give no violations.
pub fn privacy_violations_in_json(bytes: &[u8]) -> Vec<String> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| privacy_scan_json(text, usize::MAX).ok())
        .map(|f| f.shown)
        .unwrap_or_default()
}

/// The privacy check on raw JSON text in one streaming pass: every key and every string is
/// looked at, known to the schema or not, without building a value tree. Findings come in
/// document order; the first `keep` are spelt out, all are counted. Fails only when the text
/// is not one JSON document. Takes `&str` so UTF-8 is checked once for the whole upload, not
/// again for every string.
pub fn privacy_scan_json(text: &str, keep: usize) -> Result<Findings, serde_json::Error> {
    let mut out = Findings::new(keep);
    let mut path = Vec::new();
    let mut clean = Clean::for_len(text.len());
    let mut de = serde_json::Deserializer::from_str(text);
    Node {
        path: &mut path,
        out: &mut out,
        clean: &mut clean,
        tail: None,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

/// One step of a JSON path.
enum Seg<'a> {
    Key(Cow<'a, str>),
    Index(usize),
}

/// Longest key spelt out in a finding's path; a hostile key can be megabytes.
const MAX_KEY_SHOWN: usize = 64;

/// `$.devices[3].modalias`; only built for a finding.
fn render(path: &[Seg<'_>]) -> String {
    let mut s = String::from("$");
    for seg in path {
        match seg {
            Seg::Key(k) => {
                s.push('.');
                match k.char_indices().nth(MAX_KEY_SHOWN) {
                    Some((cut, _)) => {
                        s.push_str(k.get(..cut).unwrap_or_default());
                        s.push('…');
                    }
                    None => s.push_str(k),
                }
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Where a string `s` at `path` sits, for the exemptions the schema makes by position, and only
/// for text of the form the schema gives that place: a `report_id` as the probe makes it (32
/// hex digits) or the Qubes HCL importer does (`hcl-...`); a `sysfs_path` under `/sys/` whose
/// UUID-like names are the kernel's own; a `modalias` of a bus. Anything else there is text.
fn place_of(path: &[Seg<'_>], s: &str) -> Place {
    match path {
        [Seg::Key(k)] if k == "report_id" && generated_report_id(s) => Place::ReportId,
        [Seg::Key(d), Seg::Index(_), Seg::Key(k)]
            if d == "devices"
                && ((k == "modalias" && text::modalias_form(s))
                    || (k == "sysfs_path" && text::sysfs_form(s))) =>
        {
            Place::KernelName
        }
        _ => Place::Text,
    }
}

/// The `report_id`s the schema's own writers make: the probe's 32 random hex digits, and the
/// Qubes HCL importer's `hcl-` ids (from a file stem or a content hash).
fn generated_report_id(s: &str) -> bool {
    let hex32 = s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    hex32 || s.starts_with("hcl-")
}

/// Longest part of a finding's text spelt out.
const MAX_SHOWN: usize = 64;

fn shown(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => Cow::Owned(format!("{}…", s.get(..cut).unwrap_or_default())),
        None => Cow::Borrowed(s),
    }
}

/// The checks on one string at `path`: a value, or (with [`Place::Key`]) the last key of the
/// path itself.
fn check_string(path: &[Seg<'_>], s: &str, place: Place, out: &mut Findings) {
    // One counting pass decides: nearly every string of a report ends here.
    let st = text::Stats::of(s.as_bytes());
    let (norm, st) = if st.odd() {
        let norm = text::normalize(s);
        let st = text::Stats::of(norm.as_bytes());
        (norm, st)
    } else {
        (Cow::Borrowed(s), st)
    };
    let what = if place == Place::Key { "the key" } else { "" };
    text::scan_with(norm.as_bytes(), &st, place, &mut |kind, range| {
        out.push(|| {
            let found = norm.get(range).unwrap_or_default();
            let sep = if what.is_empty() { "" } else { " " };
            format!(
                "{}: {what}{sep}looks like {} ({})",
                render(path),
                kind.describe(),
                shown(found)
            )
        });
    });
}

/// An identifier split between a free-form key and its text value (`{"00:1b:21": "3a:4f:5c"}`):
/// the two read as one, joined by `:`. Only looked at when neither held one alone.
fn split_across(path: &[Seg<'_>], key: &str, value: &str, out: &mut Findings) {
    check_string(path, &format!("{key}:{value}"), Place::Text, out);
}

fn key_finding(path: &[Seg<'_>]) -> String {
    format!("{}: a field for a personal identifier", render(path))
}

fn walk_value<'a>(path: &mut Vec<Seg<'a>>, value: &'a Value, out: &mut Findings) {
    match value {
        Value::String(s) => check_string(path, s, place_of(path, s), out),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk_value(path, v, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                path.push(Seg::Key(Cow::Borrowed(k)));
                let at = out.shown.len();
                let before = out.total;
                if check_key(path, k, out) && !matches!(v, Value::Null) {
                    out.insert(at, || key_finding(path));
                }
                walk_value(path, v, out);
                if let Value::String(s) = v
                    && !schema_key(k)
                    && out.total == before
                {
                    split_across(path, k, s, out);
                }
                path.pop();
            }
        }
        _ => {}
    }
}

/// The streaming walk: a seed that checks one JSON node and says whether it was `null`.
struct Node<'p, 'de> {
    path: &'p mut Vec<Seg<'de>>,
    out: &'p mut Findings,
    clean: &'p mut Clean<'de>,
    /// Where to keep the node's text when it is a string, for [`split_across`].
    tail: Option<&'p mut Option<String>>,
}

/// Strings of the document already found clean, with the place they were found at: a probe
/// report repeats the same kernel ids, module names, verdicts and reasons for every device, and
/// a string at a place always gets the same answer. Direct-mapped, so a lookup is one compare.
struct Clean<'de> {
    slots: Vec<(&'de str, Place)>,
}

impl<'de> Clean<'de> {
    /// About one slot per 128 bytes of document (a probe report of 70 devices, 220 KB, has
    /// about 460 distinct strings), 64 to 4096.
    fn for_len(len: usize) -> Self {
        let n = (len / 128).clamp(64, 4096).next_power_of_two();
        Clean {
            slots: vec![("", Place::Text); n],
        }
    }

    fn slot(&self, s: &str, place: Place) -> usize {
        // FxHash over eight bytes at a time: strings that differ only in their middle
        // (`no driver in debian-12 ...`, `... debian-13 ...`) are common here.
        let mut h = (s.len() as u64) ^ ((place as u64) << 56);
        for chunk in s.as_bytes().chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        (h >> 40) as usize & (self.slots.len() - 1)
    }

    fn has(&self, s: &str, place: Place) -> bool {
        self.slots
            .get(self.slot(s, place))
            .is_some_and(|&(text, at)| at == place && text == s && !s.is_empty())
    }

    fn put(&mut self, s: &'de str, place: Place) {
        let i = self.slot(s, place);
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = (s, place);
        }
    }
}

impl<'de> Node<'_, 'de> {
    /// [`check_key`] on a key borrowed from the document, remembered when clean.
    fn check_key_borrowed(&mut self, k: &'de str) -> bool {
        if schema_key(k) || self.clean.has(k, Place::Key) {
            return false;
        }
        let before = self.out.total;
        let personal = check_key(self.path, k, self.out);
        if !personal && self.out.total == before {
            self.clean.put(k, Place::Key);
        }
        personal
    }

    /// [`check_string`] on a string borrowed from the document, remembered when clean.
    fn check_borrowed(&mut self, s: &'de str, place: Place) {
        if self.clean.has(s, place) {
            return;
        }
        let before = self.out.total;
        check_string(self.path, s, place, self.out);
        if self.out.total == before {
            self.clean.put(s, place);
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_, 'de> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, 'de> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_none<E>(self) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, s: &str) -> Result<bool, E> {
        check_string(self.path, s, place_of(self.path, s), self.out);
        if let Some(t) = self.tail {
            *t = Some(s.to_owned());
        }
        Ok(false)
    }
    fn visit_borrowed_str<E>(mut self, s: &'de str) -> Result<bool, E> {
        let place = place_of(self.path, s);
        self.check_borrowed(s, place);
        if let Some(t) = self.tail.take() {
            *t = Some(s.to_owned());
        }
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut i = 0;
        loop {
            self.path.push(Seg::Index(i));
            let more = seq.next_element_seed(Node {
                path: &mut *self.path,
                out: &mut *self.out,
                clean: &mut *self.clean,
                tail: None,
            });
            self.path.pop();
            if more?.is_none() {
                return Ok(false);
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<bool, A::Error> {
        while let Some(key) = map.next_key_seed(Key)? {
            let borrowed = match &key {
                Cow::Borrowed(k) => Some(*k),
                Cow::Owned(_) => None,
            };
            self.path.push(Seg::Key(key));
            // The key's findings go before those inside its value, as a tree walk has them.
            let at = self.out.shown.len();
            let before = self.out.total;
            let personal = match (borrowed, self.path.last()) {
                (Some(k), _) => self.check_key_borrowed(k),
                (None, Some(Seg::Key(k))) => check_key(self.path, k, self.out),
                _ => false,
            };
            let free_key = matches!(self.path.last(), Some(Seg::Key(k)) if !schema_key(k));
            let mut tail = None;
            let value = map.next_value_seed(Node {
                path: &mut *self.path,
                out: &mut *self.out,
                clean: &mut *self.clean,
                tail: free_key.then_some(&mut tail),
            });
            if let (Some(v), Some(Seg::Key(k))) = (&tail, self.path.last())
                && self.out.total == before
                && !personal
            {
                split_across(self.path, k, v, self.out);
            }
            if matches!(value, Ok(false)) && personal {
                let path = &*self.path;
                self.out.insert(at, || key_finding(path));
            }
            self.path.pop();
            value?;
        }
        Ok(false)
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
}

fn starts_ignore_case(hay: &[u8], prefix: &[u8]) -> bool {
    hay.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// The first two letters of every needle in [`NEEDLES`].
const NEEDLE_STARTS: [[u8; 2]; 15] = [
    *b"se", *b"uu", *b"gu", *b"ma", *b"hw", *b"ho", *b"us", *b"no", *b"fq", *b"em", *b"e-", *b"e_",
    *b"as", *b"nu", *b"ex",
];

/// Key names that hold a personal identifier, matched anywhere in a key, any case. None is
/// part of a schema field name.
const NEEDLES: [&str; 32] = [
    "serial",
    "seriennummer",
    "serienummer",
    "serno",
    "ser.no",
    "numero_de_serie",
    "numero de serie",
    "express_service_code",
    "service_tag",
    "servicetag",
    "service-tag",
    "uuid",
    "guid",
    "mac_addr",
    "mac-addr",
    "macaddr",
    "hwaddr",
    "hostname",
    "host_name",
    "host-name",
    "nodename",
    "node_name",
    "node-name",
    "fqdn",
    "username",
    "user_name",
    "user-name",
    "email",
    "e-mail",
    "e_mail",
    "asset_tag",
    "assettag",
];

/// Whole keys that name a personal identifier.
const WHOLE_KEYS: [&str; 11] = [
    "mac", "sn", "s/n", "s.n.", "s.n", "psn", "user", "login", "bssid", "lladdr", "host",
];

/// Whether `key` is a field name of the report schema: such a key names nothing personal and
/// holds no identifier, so the checks on keys skip it (nearly every key of a report is one).
fn schema_key(key: &str) -> bool {
    matches!(
        key,
        "assignable_covered"
            | "assignable_total"
            | "bcd_device"
            | "bios"
            | "boot_mode"
            | "brand"
            | "builtin"
            | "bus"
            | "by"
            | "category"
            | "chipset"
            | "chipset_short"
            | "class"
            | "coverage"
            | "cpu"
            | "cpu_short"
            | "device"
            | "device_name"
            | "devices"
            | "distro"
            | "dom0_covered"
            | "dom0_ok"
            | "dom0_total"
            | "driver"
            | "extra_package"
            | "file"
            | "firmware"
            | "firmware_declared"
            | "firmware_shipped"
            | "generated_on"
            | "generator"
            | "gpu"
            | "gpu_short"
            | "hcl_text"
            | "hvm"
            | "inferred_builtin"
            | "interface_class"
            | "interface_number"
            | "interrupt_remapping"
            | "iommu"
            | "iommu_group"
            | "kernel"
            | "kernels"
            | "kind"
            | "machine_type"
            | "memory_mib"
            | "message"
            | "modalias"
            | "model"
            | "module"
            | "modules"
            | "name"
            | "network"
            | "origin"
            | "out_of_tree_driver"
            | "package"
            | "partial"
            | "qubes"
            | "reason"
            | "remark"
            | "report_id"
            | "revision"
            | "rhel_status"
            | "role"
            | "running_kernel"
            | "schema_version"
            | "scsi"
            | "secure_boot"
            | "shipped"
            | "slat"
            | "source_file"
            | "speed"
            | "status"
            | "statuses"
            | "subdevice"
            | "subvendor"
            | "sysfs_path"
            | "system"
            | "tpm"
            | "usb"
            | "vendor"
            | "vendor_name"
            | "verdict"
            | "versions"
            | "virtualization"
            | "works"
            | "xen"
    )
}

/// The checks on one key at `path` (whose last step is the key): its name, and what it holds.
/// True when its name is for a personal identifier (a finding once its value is not null).
fn check_key(path: &[Seg<'_>], key: &str, out: &mut Findings) -> bool {
    if schema_key(key) {
        return false;
    }
    check_string(path, key, Place::Key, out);
    // The name is judged as the value is: `ｓｅｒｉａｌ`, `ser\u{200b}ial`, `Seri\u{ad}al`
    // are `serial`.
    personal_key(&text::normalize(key))
}

fn personal_key(key: &str) -> bool {
    // Every key of every upload is looked at: one pass, comparing only where the next two
    // letters begin a needle.
    let b = key.as_bytes();
    WHOLE_KEYS.iter().any(|w| key.eq_ignore_ascii_case(w))
        || b.windows(2).enumerate().any(|(i, pair)| {
            let &[a, c] = pair else { return false };
            let a = a.to_ascii_lowercase();
            // Most letters begin no needle: one compare, then the pair.
            if !matches!(
                a,
                b's' | b'u' | b'g' | b'm' | b'h' | b'n' | b'f' | b'e' | b'a'
            ) {
                return false;
            }
            let pair = [a, c.to_ascii_lowercase()];
            NEEDLE_STARTS.contains(&pair)
                && NEEDLES.iter().any(|n| {
                    n.as_bytes().starts_with(&pair)
                        && starts_ignore_case(b.get(i..).unwrap_or_default(), n.as_bytes())
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needle_starts_cover_every_needle() {
        for n in NEEDLES {
            let b = n.as_bytes();
            assert!(NEEDLE_STARTS.contains(&[b[0], b[1]]), "{n}");
            assert!(
                matches!(
                    b[0],
                    b's' | b'u' | b'g' | b'm' | b'h' | b'n' | b'f' | b'e' | b'a'
                ),
                "{n}"
            );
            assert!(personal_key(&format!("x{}", n.to_uppercase())), "{n}");
        }
        for w in WHOLE_KEYS {
            assert!(personal_key(&w.to_uppercase()), "{w}");
        }
        assert!(!personal_key("machine_type") && !personal_key("modalias"));
    }

    /// Every field name the schema writes is known to [`schema_key`] (keys the check skips)
    /// and names nothing personal.
    #[test]
    fn schema_keys_are_all_the_field_names() {
        use crate::report::*;
        use crate::{Day, KernelSummary, RhelStatus};
        let some = || Some("x".to_owned());
        let coverage = Coverage {
            firmware: vec![FirmwareNeed {
                module: "m".into(),
                file: "f".into(),
                shipped: Some(false),
                package: some(),
            }],
            firmware_declared: 1,
            firmware_shipped: Some(0),
            rhel_status: Some(RhelStatus {
                status: "disabled".into(),
                by: "device".into(),
                name: "n".into(),
            }),
            extra_package: vec!["m".into()],
            ..Coverage::default()
        };
        let report = Report {
            schema_version: 1,
            report_id: "r".into(),
            generated_on: Day::default(),
            generator: "g".into(),
            origin: Origin::Probe,
            system: System {
                machine_type: some(),
                brand: some(),
                model: some(),
                bios: some(),
                cpu: some(),
                virtualization: some(),
                tpm: some(),
                memory_mib: Some(1),
                boot_mode: Some("x".into()),
                running_kernel: some(),
                distro: some(),
                hcl_text: Some(HclText {
                    chipset: some(),
                    gpu: some(),
                    network: some(),
                    cpu_short: some(),
                    chipset_short: some(),
                    gpu_short: some(),
                    scsi: some(),
                    usb: some(),
                    statuses: [(
                        "hvm".to_owned(),
                        HclStatus {
                            status: "yes".into(),
                            message: some(),
                        },
                    )]
                    .into(),
                }),
                ..System::default()
            },
            devices: vec![Device {
                sysfs_path: some(),
                vendor: some(),
                device: some(),
                subvendor: some(),
                subdevice: some(),
                class: some(),
                revision: some(),
                vendor_name: some(),
                device_name: some(),
                driver: some(),
                iommu_group: Some(1),
                usb: Some(UsbInfo {
                    kind: "device".into(),
                    bcd_device: some(),
                    speed: some(),
                    interface_number: some(),
                    interface_class: some(),
                }),
                coverage: [("k1".to_owned(), coverage)].into(),
                ..Device::default()
            }],
            kernels: [("k1".to_owned(), KernelSummary::default())].into(),
            qubes: Some(QubesInfo {
                versions: vec![QubesVersion {
                    qubes: some(),
                    works: some(),
                    xen: some(),
                    kernel: some(),
                    remark: some(),
                }],
                source_file: some(),
            }),
        };
        fn keys(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, x) in m {
                        out.push(k.clone());
                        keys(x, out);
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        keys(&serde_json::to_value(&report).unwrap_or_default(), &mut all);
        all.retain(|k| k != "k1");
        assert!(all.len() > 80, "{}", all.len());
        for k in all {
            assert!(schema_key(&k), "{k} is missing from schema_key");
            assert!(!personal_key(&k), "{k}");
        }
    }

    fn scan(doc: &str) -> Vec<String> {
        privacy_scan_json(doc, 100).unwrap_or_default().shown
    }

    /// Bug: identifiers were only looked for in values; as map keys they were stored.
    #[test]
    fn regression_identifiers_as_map_keys_are_found() {
        let found = scan(
            r#"{"kernels": {"4c4c4544-0042-3510-8052-b4c04f4e3332": {"dom0_total": 1}},
                "devices": [{"coverage": {"00:1b:21:3a:4f:5c": {}}}],
                "system": {"hcl_text": {"statuses": {"001b213a4f5c": {"status": "yes"}}}}}"#,
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("$.kernels.4c4c4544"), "{found:?}");
        assert!(found[0].contains("the key looks like a UUID"), "{found:?}");
        assert!(found[1].contains("MAC"), "{found:?}");
        assert!(found[2].contains("MAC"), "{found:?}");
    }

    #[test]
    fn exemptions_are_by_position_only() {
        let bare = "0123456789abcdef0123456789abcdef";
        assert!(scan(&format!(r#"{{"report_id": "{bare}"}}"#)).is_empty());
        assert_eq!(
            scan(&format!(r#"{{"x": {{"report_id": "{bare}"}}}}"#)).len(),
            1
        );
        assert_eq!(scan(&format!(r#"{{"remark": "{bare}"}}"#)).len(), 1);
        let guid = "wmi:05901221-D566-11D1-B2F0-00A0C9062910";
        assert!(scan(&format!(r#"{{"devices": [{{"modalias": "{guid}"}}]}}"#)).is_empty());
        assert_eq!(scan(&format!(r#"{{"modalias": "{guid}"}}"#)).len(), 1);
        assert_eq!(
            scan(&format!(
                r#"{{"devices": [{{"x": {{"modalias": "{guid}"}}}}]}}"#
            ))
            .len(),
            1
        );
        // A MAC is refused even in a modalias.
        assert_eq!(
            scan(r#"{"devices": [{"modalias": "x:00:1b:21:3a:4f:5c"}]}"#).len(),
            1
        );
    }

    /// Regression (attack D3): key names were matched as sent, not normalised.
    #[test]
    fn regression_d3_personal_keys_are_normalised() {
        for key in [
            "ser\u{200b}ial",
            "ｓｅｒｉａｌ",
            "Seri\u{ad}al",
            "ＭＡＣ",
            "e\u{200b}mail",
            "uu\u{200b}id",
            "host\u{200b}name",
            "Seriennummer",
            "SerNo",
            "S.N.",
        ] {
            let doc = serde_json::json!({"system": {"hcl_text": {"statuses": {key: {"status": "PF2ABCDE"}}}}});
            let found = scan(&doc.to_string());
            assert!(
                found
                    .iter()
                    .any(|f| f.contains("a field for a personal identifier")),
                "{key}: {found:?}"
            );
        }
    }

    /// Regression (attack D4): the exempt places take only what the schema puts there.
    #[test]
    fn regression_d4_exempt_places_check_their_form() {
        for doc in [
            r#"{"report_id": "001b213a4f5c"}"#,
            r#"{"devices": [{"sysfs_path": "/sys/devices/pci0000:00/4c4c4544-0042-3510-8052-b4c04f4e3332"}]}"#,
            r#"{"devices": [{"modalias": "my uuid 4c4c4544-0042-3510-8052-b4c04f4e3332"}]}"#,
        ] {
            assert_eq!(scan(doc).len(), 1, "{doc}");
        }
        for doc in [
            r#"{"report_id": "0123456789abcdef0123456789abcdef"}"#,
            r#"{"report_id": "hcl-Lenovo-T14-0123456789abcdef"}"#,
            r#"{"devices": [{"modalias": "wmi:4C4C4544-0042-3510-8052-B4C04F4E3332"}]}"#,
            r#"{"devices": [{"sysfs_path": "/sys/devices/platform/PNP0C14:00/wmi_bus/wmi_bus-PNP0C14:00/05901221-D566-11D1-B2F0-00A0C9062910"}]}"#,
        ] {
            assert_eq!(scan(doc), Vec::<String>::new(), "{doc}");
        }
    }

    /// Regression (attack D3): a MAC split between a key and its value.
    #[test]
    fn regression_d3_identifier_split_across_key_and_value() {
        let doc = r#"{"system": {"hcl_text": {"statuses": {"00:1b:21": "3a:4f:5c"}}}}"#;
        assert_eq!(scan(doc).len(), 1, "{:?}", scan(doc));
        let value: Value = serde_json::from_str(doc).unwrap_or_default();
        assert_eq!(privacy_violations_in_value(&value).len(), 1);
        assert!(scan(r#"{"statuses": {"hvm": "yes"}, "kernels": {"debian-13": {}}}"#).is_empty());
    }

    #[test]
    fn streaming_scan_agrees_with_the_tree_walk() {
        let doc = br#"{"system":{"serial":"X1","Hostname":null,"model":"T14 s/n: 42",
            "nic":"eth0 00:1b:21:3a:4f:5c"},"devices":[{"modalias":
            "wmi:4c4c4544-0042-3510-8052-b4c04f4e3332","note":
            "id 4c4c4544-0042-3510-8052-b4c04f4e3332","x\u0073erial":{"a":1}}],"n":[1,2.5,true]}"#;
        let value: Value = serde_json::from_slice(doc).unwrap_or_default();
        let mut tree = privacy_violations_in_value(&value);
        let mut streamed = privacy_scan_json(std::str::from_utf8(doc).unwrap_or_default(), 100)
            .unwrap_or_default()
            .shown;
        assert_eq!(streamed.len(), 5, "{streamed:?}");
        tree.sort();
        streamed.sort();
        assert_eq!(tree, streamed);
    }

    #[test]
    fn streaming_scan_refuses_what_is_not_json() {
        assert!(privacy_scan_json("{\"a\": ", 10).is_err());
        assert!(privacy_scan_json("{} {}", 10).is_err());
        assert!(privacy_scan_json(&"[".repeat(100_000), 10).is_err());
    }

    /// Regression: a hostile upload with a long key and thousands of MAC addresses made the
    /// check spell out every finding with the whole key (hundreds of MB for a 400 KB body).
    #[test]
    fn hostile_findings_are_counted_not_all_spelt_out() {
        let key = "k".repeat(16 * 1024);
        let macs = vec!["00:11:22:33:44:55"; 20_000];
        let doc = serde_json::json!({ &key: macs, "mac": 1, "x": {"mac": 2} }).to_string();
        let found = privacy_scan_json(&doc, 10).unwrap_or_default();
        assert_eq!(found.total, 20_002);
        assert_eq!(found.shown.len(), 10);
        assert!(
            found.shown.iter().all(|f| f.len() < 200),
            "{:?}",
            found.shown[0]
        );
        let value: Value = serde_json::from_str(&doc).unwrap_or_default();
        let walked = privacy_scan_value(&value, 10);
        assert_eq!((walked.total, walked.shown.len()), (20_002, 10));
        // A key's finding still comes before its value's, also at the cut.
        let nested = r#"{"serial": {"a": "00:11:22:33:44:55"}, "b": "s/n: 1"}"#;
        let f = privacy_scan_json(nested, 1).unwrap_or_default();
        assert_eq!(f.total, 3);
        assert!(
            f.shown[0].contains("a field for a personal identifier"),
            "{f:?}"
        );
    }
}
