//! Generated personal identifiers of every kind the privacy check knows, in every spelling,
//! planted at a random place of a report: a value, part of a value, a key, a new field, nested.
//! Shared by hcl-data's property test (the check itself) and the aggregator's (the real upload
//! router), which includes this file by path.

#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::{Map, Value};

/// One identifier as planted, and whether it is twelve bare hex digits: a MAC spelt so is
/// only recognised where a MAC is expected (a key, a whole value, after `MAC`/`ether`).
#[derive(Debug, Clone)]
pub struct Planted {
    pub text: String,
    pub bare_mac: bool,
    /// Refused except at the positions the schema exempts (the report id, modaliases).
    pub hex_id: bool,
}

const COLONS: &[char] = &[':', '\u{ff1a}', '\u{fe55}', '\u{2236}', '\u{a789}'];
const DASHES: &[char] = &[
    '-', '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2015}', '\u{2212}',
    '\u{ff0d}', '\u{fe63}',
];

/// Characters that render as nothing, or only change the glyph before them: zero-width
/// space, soft hyphen, a tag character, HANGUL FILLER, a combining acute accent.
const INVISIBLE: &[char] = &['\u{200b}', '\u{ad}', '\u{e0020}', '\u{3164}', '\u{301}'];

/// Hex digits and separators respelt: separators swapped for a look-alike, digits made
/// fullwidth, an invisible character slipped in.
fn respell(
    text: &str,
    colon: char,
    dash: char,
    fullwidth: bool,
    invisible: Option<char>,
) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        match c {
            ':' => out.push(colon),
            '-' => out.push(dash),
            c if fullwidth && c.is_ascii_alphanumeric() => {
                out.push(char::from_u32(u32::from(c) + 0xfee0).unwrap_or(c))
            }
            c => out.push(c),
        }
        if let Some(z) = invisible.filter(|_| i == 1) {
            out.push(z);
        }
    }
    out
}

fn spelling() -> impl Strategy<Value = (char, char, bool, Option<char>)> {
    (
        prop::sample::select(COLONS),
        prop::sample::select(DASHES),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.2, prop::sample::select(INVISIBLE)),
    )
}

fn mac() -> impl Strategy<Value = Planted> {
    (any::<[u8; 6]>(), 0..15usize, any::<bool>(), spelling()).prop_map(
        |(mut b, form, upper, (colon, dash, full, zw))| {
            // The BSD form drops leading zeros; three two-digit groups keep it a MAC.
            for x in &mut b[1..4] {
                *x |= 0x10;
            }
            let h = |i: usize| format!("{:02x}", b[i]);
            let groups: Vec<String> = (0..6).map(h).collect();
            let words = [
                format!("{}{}", groups[0], groups[1]),
                format!("{}{}", groups[2], groups[3]),
                format!("{}{}", groups[4], groups[5]),
            ];
            let text = match form {
                0 | 1 => groups.join(":"),
                2 => groups.join("-"),
                3 => groups.join(" "),
                4 => words.join("."),
                5 => words.join("-"),
                6 => format!("{}:{}", groups[..3].join(":"), groups[3..].join(":")),
                // Attack D3: `.` and `_` pairs, `:` and `-` mixed, BSD `arp`, colon words,
                // `0x` after a label.
                8 => groups.join("."),
                9 => groups.join("_"),
                10 => format!(
                    "{}-{}:{}-{}:{}-{}",
                    groups[0], groups[1], groups[2], groups[3], groups[4], groups[5]
                ),
                11 => b.map(|x| format!("{x:x}")).join(":"),
                12 => words.join(":"),
                13 => format!("NIC 0x{}", groups.concat()),
                _ => groups.concat(),
            };
            let text = if upper { text.to_uppercase() } else { text };
            let bare = form == 7 || form == 14;
            Planted {
                text: respell(&text, colon, dash, full, zw.filter(|_| form != 3)),
                bare_mac: bare,
                hex_id: bare || form == 13,
            }
        },
    )
}

fn uuid() -> impl Strategy<Value = Planted> {
    (any::<[u8; 16]>(), 0..8usize, any::<bool>(), spelling()).prop_map(
        |(b, form, upper, (colon, dash, full, zw))| {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            let dashed = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            );
            let text = match form {
                0 => dashed,
                1 => format!("{{{dashed}}}"),
                2 => format!("urn:uuid:{dashed}"),
                // Attack D3: other separators, and 32 digits split after a label.
                4 => dashed.replace('-', "_"),
                5 => dashed.replace('-', " "),
                6 => format!("UUID {} {}", &hex[..16], &hex[16..]),
                _ => hex,
            };
            let text = if upper { text.to_uppercase() } else { text };
            Planted {
                text: respell(&text, colon, dash, full, zw),
                bare_mac: false,
                hex_id: true,
            }
        },
    )
}

fn serial() -> impl Strategy<Value = Planted> {
    let markers = prop::sample::select(vec![
        "SN: ",
        "SN:",
        "SN#",
        "sn = ",
        "Serial#",
        "Serial# ",
        "serial: ",
        "S/N ",
        "S/N: ",
        "s/n:",
        "serial number: ",
        "Serial Number ",
        "Serial No. ",
        "SerialNumber=",
        "serial_number ",
        "Serial-Nr ",
        "Service Tag: ",
        "asset tag=",
        // Attack D3: other languages, abbreviations, a label and the serial alone.
        "Seriennummer: ",
        "Numéro de série : ",
        "SN ",
        "S.N.: ",
        "Ser.No.: ",
        "SerNo: ",
        "Serial ",
        "PSN: ",
        "Express Service Code: ",
    ]);
    // At least one digit: a serial after a bare label (`SN PF2ABCDE`) is told from a word so.
    (markers, "[A-Z][A-Z0-9]{4,10}[0-9]", spelling()).prop_map(|(m, v, (colon, dash, full, _))| {
        Planted {
            text: respell(&format!("{m}{v}"), colon, dash, full, None),
            bare_mac: false,
            hex_id: false,
        }
    })
}

fn host() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,7}(-[a-z0-9]{1,6})?(\\.[a-z]{2,5}){0,2}"
}

fn email() -> impl Strategy<Value = Planted> {
    (
        "[a-z][a-z0-9._+-]{0,10}[a-z0-9]",
        prop::sample::select(vec!["@", "%40", "\u{ff20}", "\u{fe6b}", "&#64;", "%2540"]),
        "[a-z][a-z0-9-]{0,8}[a-z0-9](\\.[a-z]{2,8}){0,2}\\.[a-z]{2,6}",
        0..6usize,
    )
        .prop_map(|(local, at, domain, form)| {
            // Attack D3: international, punycode, address literals, quoted local parts.
            let text = match form {
                0 => format!("{local}é{at}{domain}"),
                1 => format!("{local}{at}bücher.{domain}"),
                2 => format!("{local}{at}example.xn--p1ai"),
                3 => format!("{local}{at}[192.0.2.1]"),
                4 => format!("\"{local} x\"{at}{domain}"),
                _ => format!("{local}{at}{domain}"),
            };
            Planted {
                text,
                bare_mac: false,
                hex_id: false,
            }
        })
}

/// An IPv6 address whose interface id is made from a MAC (EUI-64), as `ip addr` prints it.
fn mac_ipv6() -> impl Strategy<Value = Planted> {
    (
        any::<[u8; 6]>(),
        prop::sample::select(vec![
            "fe80::",
            "2001:db8::",
            "2a01:4f8:1c1c:abcd:",
            "fd00:1:2:3:",
        ]),
        prop::sample::select(vec!["", "/64", "%eth0", "%wlp0s20f3"]),
        any::<bool>(),
    )
        .prop_map(|(b, prefix, suffix, upper)| {
            let g = [
                (u16::from(b[0] ^ 2) << 8) | u16::from(b[1]),
                (u16::from(b[2]) << 8) | 0xff,
                0xfe00 | u16::from(b[3]),
                (u16::from(b[4]) << 8) | u16::from(b[5]),
            ];
            let id = g.map(|x| format!("{x:x}")).join(":");
            let text = format!("{prefix}{id}{suffix}");
            Planted {
                text: if upper { text.to_uppercase() } else { text },
                bare_mac: false,
                hex_id: false,
            }
        })
}

/// A host or user name by its position: the host field of a `uname -a` line, a `hostname:`
/// line, a shell prompt, a home directory.
fn positional() -> impl Strategy<Value = Planted> {
    let release = prop::sample::select(vec![
        "6.1.0-13-amd64",
        "6.6.48-1.qubes.fc37.x86_64",
        "5.14.0-570.32.1.el9_6.x86_64",
        "6.12.7",
    ]);
    let host = host().prop_filter("a word that follows `Linux` in prose", |h| {
        !["version", "kernel", "release", "dom0", "linux", "localhost"].contains(&h.as_str())
    });
    (host, release, "[a-z][a-z0-9]{0,8}", 0..11usize).prop_map(|(h, r, user, form)| {
        let text = match form {
            0 => format!("Linux {h} {r} #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 x86_64 GNU/Linux"),
            1 => format!("Linux {h} {r}"),
            2 => format!("hostname: {h}"),
            3 => format!("NodeName={h}"),
            4 => format!("{user}@{h}:~$"),
            // Attack D3: `uname -nrv`, `Host:`, `host=`, `Computer Name:`, the builder in
            // `/proc/version`.
            6 => format!("{h} {r} #1 SMP PREEMPT_DYNAMIC"),
            7 => format!("Host: {h}"),
            8 => format!("host={h}"),
            9 => format!("Computer Name: {h}"),
            10 => format!("Linux version {r} ({user}@{h}) (gcc 12) #1 SMP"),
            _ => format!("/home/{user}/.config"),
        };
        Planted {
            text,
            bare_mac: false,
            hex_id: false,
        }
    })
}

/// Any identifier of any kind.
pub fn identifier() -> impl Strategy<Value = Planted> {
    prop_oneof![
        3 => mac(),
        2 => uuid(),
        2 => serial(),
        2 => email(),
        1 => mac_ipv6(),
        2 => positional(),
    ]
}

/// Where in a report the identifier goes.
#[derive(Debug, Clone)]
pub enum Spot {
    /// Inside an existing string, between a prefix and a suffix.
    InText {
        at: prop::sample::Index,
        prefix: String,
        sep: &'static str,
        suffix: String,
    },
    /// The whole value of a new field of an existing object.
    NewValue {
        at: prop::sample::Index,
        key: String,
    },
    /// A new key of an existing object (a copy of a sibling's value, or a string).
    Key { at: prop::sample::Index },
    /// Deep inside a new field: `{"key": {"notes": [{"text": ID}]}}`.
    Nested {
        at: prop::sample::Index,
        key: String,
    },
}

pub fn spot() -> impl Strategy<Value = Spot> {
    let index = any::<prop::sample::Index>();
    prop_oneof![
        3 => (index.clone(), "[A-Za-z (),.]{0,12}", prop::sample::select(vec![" ", ", ", "; ", " (", "\n", "\t"]), "[A-Za-z (),.]{0,12}")
            .prop_map(|(at, prefix, sep, suffix)| Spot::InText { at, prefix, sep, suffix }),
        2 => (index.clone(), "(note|extra|info|x)[a-z_]{0,6}").prop_map(|(at, key)| Spot::NewValue { at, key }),
        3 => index.clone().prop_map(|at| Spot::Key { at }),
        1 => (index, "(note|extra|info|x)[a-z_]{0,6}").prop_map(|(at, key)| Spot::Nested { at, key }),
    ]
}

/// JSON paths of a value: every object, and every string with its parent key.
fn walk(
    v: &Value,
    path: &mut Vec<PathStep>,
    objects: &mut Vec<Vec<PathStep>>,
    strings: &mut Vec<Vec<PathStep>>,
) {
    match v {
        Value::Object(m) => {
            objects.push(path.clone());
            for (k, x) in m {
                path.push(PathStep::Key(k.clone()));
                walk(x, path, objects, strings);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                path.push(PathStep::Index(i));
                walk(x, path, objects, strings);
                path.pop();
            }
        }
        Value::String(_) => strings.push(path.clone()),
        _ => {}
    }
}

#[derive(Debug, Clone, PartialEq)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn get_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Key(k) => cur.get_mut(k.as_str())?,
            PathStep::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// The positions the schema exempts from hex ids: `$.report_id`, a device's modalias and
/// sysfs path.
fn exempt(path: &[PathStep]) -> bool {
    let key = |s: &PathStep, name: &str| matches!(s, PathStep::Key(k) if k == name);
    match path {
        [k] => key(k, "report_id"),
        [d, PathStep::Index(_), k] => {
            key(d, "devices") && (key(k, "modalias") || key(k, "sysfs_path"))
        }
        _ => false,
    }
}

/// `report` with `id` planted at `spot`, and a description of where.
pub fn plant(report: &Value, id: &Planted, spot: &Spot) -> (Value, String) {
    let mut v = report.clone();
    let (mut objects, mut strings) = (Vec::new(), Vec::new());
    walk(&v, &mut Vec::new(), &mut objects, &mut strings);
    if id.hex_id {
        strings.retain(|p| !exempt(p));
    }
    let text = &id.text;
    match spot {
        Spot::InText {
            at,
            prefix,
            sep,
            suffix,
        } if !id.bare_mac && !strings.is_empty() => {
            let path = at.get(&strings).clone();
            if let Some(Value::String(s)) = get_mut(&mut v, &path) {
                *s = format!("{prefix}{s}{sep}{text}{sep}{suffix}");
            }
            (v, format!("in the text at {path:?}"))
        }
        Spot::InText { at, .. } if !strings.is_empty() => {
            // Twelve bare hex digits: where a MAC is expected, after its label.
            let path = at.get(&strings).clone();
            if let Some(Value::String(s)) = get_mut(&mut v, &path) {
                *s = format!("{s} MAC {text}");
            }
            (v, format!("labelled in the text at {path:?}"))
        }
        Spot::Key { at } => {
            let path = at.get(&objects).clone();
            if let Some(Value::Object(m)) = get_mut(&mut v, &path) {
                let value = m
                    .values()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| Value::String("yes".into()));
                m.insert(text.clone(), value);
            }
            (v, format!("as a key in {path:?}"))
        }
        Spot::Nested { at, key } => {
            let path = at.get(&objects).clone();
            if let Some(Value::Object(m)) = get_mut(&mut v, &path) {
                let mut inner = Map::new();
                inner.insert("text".into(), Value::String(text.clone()));
                let mut outer = Map::new();
                outer.insert("notes".into(), Value::Array(vec![Value::Object(inner)]));
                m.insert(key.clone(), Value::Object(outer));
            }
            (v, format!("nested under {key} in {path:?}"))
        }
        Spot::NewValue { at, key }
        | Spot::InText {
            at, prefix: key, ..
        } => {
            let path = at.get(&objects).clone();
            let key = if key.is_empty() {
                "note".to_owned()
            } else {
                key.clone()
            };
            if let Some(Value::Object(m)) = get_mut(&mut v, &path) {
                m.insert(key.clone(), Value::String(text.clone()));
            }
            (v, format!("as the value of {key} in {path:?}"))
        }
    }
}
