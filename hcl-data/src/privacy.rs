//! The privacy check: anything in a report that looks like a personal identifier (a MAC
//! address, a UUID, a serial number, a field named for a hostname or user name).
//!
//! Uploads are checked on the raw document, before parsing into a [`Report`] drops fields the
//! schema does not know (a `serial` someone added). [`privacy_scan_json`] does that in one
//! streaming pass over the bytes, with no value tree: it runs on every upload.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::report::Report;

impl Report {
    /// Everything in the report that looks like a personal identifier: a MAC address, a UUID
    /// (outside device modaliases and sysfs paths, where kernel interface GUIDs are normal), a
    /// field named like a serial number, UUID, MAC, hostname or user name. Empty when clean.
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
    let mut de = serde_json::Deserializer::from_str(text);
    Node {
        path: &mut path,
        out: &mut out,
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

/// The checks on one string value at `path`. One pass over the bytes first: a MAC needs five
/// equal separators, a UUID four dashes, a serial number an `s`; most strings have none.
fn check_string(path: &[Seg<'_>], s: &str, out: &mut Findings) {
    let b = s.as_bytes();
    let (mut colons, mut dashes, mut serial) = (0usize, 0usize, false);
    for (i, &c) in b.iter().enumerate() {
        match c {
            b':' => colons += 1,
            b'-' => dashes += 1,
            b's' | b'S' if !serial => {
                let rest = b.get(i..).unwrap_or_default();
                serial = starts_ignore_case(rest, b"serial") || starts_ignore_case(rest, b"s/n");
            }
            _ => {}
        }
    }
    if colons.max(dashes) < 4 && !serial {
        return;
    }
    if let Some(mac) = (colons >= 5 || dashes >= 5).then(|| find_mac(s)).flatten() {
        out.push(|| format!("{}: looks like a MAC address ({mac})", render(path)));
    }
    // Kernel interface GUIDs (WMI, MEI) are part of modaliases and sysfs paths.
    let guid_ok = matches!(path.last(), Some(Seg::Key(k)) if k == "modalias" || k == "sysfs_path");
    // A UUID inside a web link is a message or page id, not a machine's.
    let uuid = (!guid_ok && dashes >= 4)
        .then(|| {
            s.split_whitespace()
                .filter(|token| !token.contains("://"))
                .find_map(find_uuid)
        })
        .flatten();
    if let Some(uuid) = uuid {
        out.push(|| format!("{}: looks like a UUID ({uuid})", render(path)));
    }
    if serial && mentions_serial(s) {
        out.push(|| format!("{}: mentions a serial number", render(path)));
    }
}

fn key_finding(path: &[Seg<'_>]) -> String {
    format!("{}: a field for a personal identifier", render(path))
}

fn walk_value<'a>(path: &mut Vec<Seg<'a>>, value: &'a Value, out: &mut Findings) {
    match value {
        Value::String(s) => check_string(path, s, out),
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
                if personal_key(k) && !matches!(v, Value::Null) {
                    out.push(|| key_finding(path));
                }
                walk_value(path, v, out);
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
        check_string(self.path, s, self.out);
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut i = 0;
        loop {
            self.path.push(Seg::Index(i));
            let more = seq.next_element_seed(Node {
                path: &mut *self.path,
                out: &mut *self.out,
            });
            self.path.pop();
            if more?.is_none() {
                return Ok(false);
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while let Some(key) = map.next_key_seed(Key)? {
            let personal = personal_key(&key);
            self.path.push(Seg::Key(key));
            // The key's finding goes before those inside its value, as a tree walk has it.
            let at = self.out.shown.len();
            let value = map.next_value_seed(Node {
                path: &mut *self.path,
                out: &mut *self.out,
            });
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
const NEEDLE_STARTS: [[u8; 2]; 7] = [*b"se", *b"uu", *b"gu", *b"ma", *b"hw", *b"ho", *b"us"];

/// Key names that hold a personal identifier, matched anywhere in a key, any case.
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

fn personal_key(key: &str) -> bool {
    // Every key of every upload is looked at: one pass, comparing only where the next two
    // letters begin a needle.
    let b = key.as_bytes();
    key.eq_ignore_ascii_case("mac")
        || b.windows(2).enumerate().any(|(i, pair)| {
            let &[a, c] = pair else { return false };
            let a = a.to_ascii_lowercase();
            // Most letters begin no needle: one compare, then the pair.
            if !matches!(a, b's' | b'u' | b'g' | b'm' | b'h') {
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

/// What names a serial number in free text (lowercase).
const SERIAL_MARKERS: [&str; 6] = [
    "serial number",
    "serial no",
    "serial:",
    "serial=",
    "s/n:",
    "s/n ",
];

/// Whether a string that has `serial` or `s/n` in it names a serial number.
fn mentions_serial(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    SERIAL_MARKERS.iter().any(|m| l.contains(m))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needle_starts_cover_every_needle() {
        for n in NEEDLES {
            let b = n.as_bytes();
            assert!(NEEDLE_STARTS.contains(&[b[0], b[1]]), "{n}");
            assert!(matches!(b[0], b's' | b'u' | b'g' | b'm' | b'h'), "{n}");
            assert!(personal_key(&format!("x{}", n.to_uppercase())), "{n}");
        }
        assert!(personal_key("MAC"));
        assert!(!personal_key("machine_type") && !personal_key("modalias"));
    }

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

    /// The checks as written before the one-pass filter: the filter must not change a finding.
    fn reference(s: &str) -> (Option<&str>, Option<&str>, bool) {
        let l = s.to_ascii_lowercase();
        let serial = SERIAL_MARKERS.iter().any(|m| l.contains(m));
        let uuid = s
            .split_whitespace()
            .filter(|t| !t.contains("://"))
            .find_map(find_uuid);
        (find_mac(s), uuid, serial)
    }

    proptest::proptest! {
        #[test]
        fn one_pass_filter_keeps_every_finding(
            pre in "[0-9a-fA-F:/ sSnN=-]{0,30}|[ -~]{0,20}",
            mid in proptest::sample::select(vec![
                "", "00:1b:21:3a:4f:5c", "AA-BB-CC-DD-EE-FF", "4c4c4544-0042-3510-8052-b4c04f4e3332",
                "SERIAL no", "s/N:", "x://4c4c4544-0042-3510-8052-b4c04f4e3332",
            ]),
            post in "[0-9a-fA-F:/ sSnN=-]{0,30}",
        ) {
            let s = format!("{pre}{mid}{post}");
            let mut out = Findings::new(10);
            check_string(&[Seg::Key(Cow::Borrowed("x"))], &s, &mut out);
            let (mac, uuid, serial) = reference(&s);
            let expected = usize::from(mac.is_some()) + usize::from(uuid.is_some()) + usize::from(serial);
            proptest::prop_assert_eq!(out.total, expected, "{:?} {:?}", s, out);
        }
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
