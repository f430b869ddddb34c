//! Differential test against kmod itself: `modprobe -d ROOT -S VER -R MODALIAS` on the trees in
//! `shared/kmod-roots`, for more than 10,000 concrete modaliases made from the real pci and usb
//! alias patterns of the four Debian kernels (wildcards filled, near misses included) plus real
//! machine modaliases. kmod's answer must equal `modules` when that is non-empty, else
//! `builtin`: zero differences.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use hcl_kernels::{AliasKind, Catalog};

use crate::common::{Rng, shared_dir};

/// (profile id, kernel release) of the kmod trees.
const TREES: [(&str, &str); 4] = [
    ("debian-12", "6.1.0-50-amd64"),
    ("debian-13", "6.12.117+deb13-amd64"),
    ("debian-13-backports", "7.3.4+deb13-amd64"),
    ("debian-sid", "7.2.13+deb14-amd64"),
];

/// A module name kmod resolves by name in every tree; separates the answers of a batch.
const SENTINEL: &str = "dummy";

/// Field widths of pci and usb modaliases, by tag.
fn width(bus: &str, tag: &str) -> usize {
    match (bus, tag) {
        ("pci", "v" | "d" | "sv" | "sd") => 8,
        ("usb", "v" | "p" | "d") => 4,
        _ => 2,
    }
}

const HEX: &[u8] = b"0123456789ABCDEF";
/// Common class bytes so class-matching drivers (ahci, nvme, xhci_pci...) get hits.
const CLASSES: [&str; 8] = [
    "01 06 01", "01 08 02", "0C 03 30", "0C 03 20", "03 00 00", "02 00 00", "02 80 00", "04 03 00",
];

/// One concrete modalias from an alias pattern: each field's value kept, wildcards filled with
/// random hex of the field's width, brackets resolved to a member; with `near_miss`, one literal
/// digit is changed.
fn instantiate(pattern: &str, rng: &mut Rng, near_miss: bool) -> Option<String> {
    let (bus, rest) = pattern.split_once(':')?;
    if bus != "pci" && bus != "usb" {
        return None;
    }
    let b = rest.as_bytes();
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_lowercase() {
            i += 1;
        }
        let tag = rest.get(start..i)?.to_owned();
        let vstart = i;
        while i < b.len() && !b[i].is_ascii_lowercase() {
            if b[i] == b'[' {
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
            }
            i += 1;
        }
        fields.push((tag, b.get(vstart..i.min(b.len()))?.to_vec()));
    }
    let class = CLASSES[rng.below(CLASSES.len())]
        .split(' ')
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let mut out = format!("{bus}:");
    let mut literal_positions = Vec::new();
    for (tag, value) in &fields {
        let w = width(bus, tag);
        out.push_str(tag);
        let mut v: Vec<u8> = Vec::new();
        let mut j = 0;
        while j < value.len() && v.len() < w {
            match value[j] {
                b'*' => {
                    // Fill the rest of the field; pci class fields from common classes.
                    let fill = match (bus, tag.as_str()) {
                        ("pci", "bc") => class[0].clone().into_bytes(),
                        ("pci", "sc") => class[1].clone().into_bytes(),
                        ("pci", "i") => class[2].clone().into_bytes(),
                        _ => (0..w).map(|_| HEX[rng.below(16)]).collect(),
                    };
                    let need = w - v.len();
                    v.extend(fill.iter().rev().take(need).rev());
                    j = value.len();
                }
                b'?' => {
                    v.push(HEX[rng.below(16)]);
                    j += 1;
                }
                b'[' => {
                    let end = value[j..].iter().position(|&c| c == b']').map(|k| j + k)?;
                    let set = &value[j + 1..end];
                    let members: Vec<u8> = HEX
                        .iter()
                        .copied()
                        .filter(|h| hcl_kernels::fnmatch::fnmatch(&value[j..=end], &[*h]))
                        .collect();
                    let _ = set;
                    v.push(*members.get(rng.below(members.len().max(1)))?);
                    j = end + 1;
                }
                c => {
                    literal_positions.push(out.len() + v.len());
                    v.push(c);
                    j += 1;
                }
            }
        }
        while v.len() < w {
            v.push(HEX[rng.below(16)]);
        }
        out.push_str(std::str::from_utf8(&v).ok()?);
    }
    if near_miss && !literal_positions.is_empty() {
        let pos = literal_positions[rng.below(literal_positions.len())];
        let mut bytes = out.into_bytes();
        let old = bytes[pos];
        if old.is_ascii_hexdigit() {
            let idx = HEX
                .iter()
                .position(|&h| h == old.to_ascii_uppercase())
                .unwrap_or(0);
            bytes[pos] = HEX[(idx + 1 + rng.below(15)) % 16];
        }
        out = String::from_utf8(bytes).ok()?;
    }
    Some(out)
}

/// Real modaliases: this machine's /sys/devices plus a fixed set seen on real machines.
fn real_modaliases() -> Vec<String> {
    let mut out: Vec<String> = [
        "pci:v00008086d00002723sv00008086sd00000084bc02sc80i00",
        "pci:v000010ECd00008168sv00001043sd00008677bc02sc00i00",
        "pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00",
        "pci:v00008086d0000A36Dsv00001028sd0000085Cbc0Csc03i30",
        "pci:v0000144Dd0000A808sv0000144Dsd0000A801bc01sc08i02",
        "pci:v00008086d00009DD3sv000017AAsd0000225Dbc01sc06i01",
        "pci:v00008086d00005917sv000017AAsd0000225Dbc03sc00i00",
        "pci:v00001002d00001638sv000017AAsd00005099bc03sc00i00",
        "pci:v000010DEd00001C8Dsv00001028sd0000087Cbc03sc00i00",
        "pci:v00008086d000024F3sv00008086sd00000010bc02sc80i00",
        "pci:v00008086d00009D71sv000017AAsd0000225Dbc04sc03i00",
        "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00",
        "pci:v00008086d00007A70sv00008086sd00000094bc02sc80i00",
        "usb:v8087p0029d0001dcE0dsc01dp01icE0isc01ip01in00",
        "usb:v1D6Bp0003d0606dc09dsc00dp03ic09isc00ip00in00",
        "usb:v046Dp C52Bd1211dc00dsc00dp00ic03isc01ip01in00",
        "usb:v0BDAp8179d0000dc00dsc00dp00icFFiscFFipFFin00",
        "usb:v04F2pB604d0027dcEFdsc02dp01ic0Eisc01ip00in00",
        "acpi:PNP0A08:PNP0A03:",
        "virtio:d00000001v00001AF4",
        "platform:serial8250",
        "input:b0011v0001p0001eAB41-e0,1,4,11,14,k71,72,73,74,75,ram4,l0,1,2,sfw",
        "cpu:type:x86,ven0000fam0006mod006A:feature:,0000,0001,0002",
        "dmi:bvnLENOVO:bvrN2HET77W(1.60):bd02/06/2024:svnLENOVO:pn20QDCTO1WW:",
    ]
    .iter()
    .map(|s| s.replace(' ', ""))
    .collect();
    let mut stack = vec![std::path::PathBuf::from("/sys/devices")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() && !ft.is_symlink() {
                stack.push(e.path());
            } else if e.file_name() == "modalias"
                && let Ok(text) = std::fs::read_to_string(e.path())
            {
                let t = text.trim();
                if !t.is_empty() && !t.contains(char::is_whitespace) {
                    out.push(t.to_owned());
                }
            }
        }
    }
    out
}

/// kmod's answers for a batch: one list per modalias (each module once, kmod's order).
fn kmod_answers(root: &Path, ver: &str, modaliases: &[String]) -> Vec<Vec<String>> {
    let mut args: Vec<&str> = vec![SENTINEL];
    for m in modaliases {
        args.push(m);
        args.push(SENTINEL);
    }
    let out = Command::new("modprobe")
        .arg("-d")
        .arg(root)
        .args(["-S", ver, "-a", "-R"])
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run modprobe (apt-get install kmod): {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut answers: Vec<Vec<String>> = Vec::new();
    for line in text.lines() {
        if line == SENTINEL {
            answers.push(Vec::new());
        } else if let Some(last) = answers.last_mut()
            && !last.iter().any(|m| m == line)
        {
            last.push(line.to_owned());
        }
    }
    // The first sentinel opens the first answer; the last closes the final one.
    answers.pop();
    assert_eq!(
        answers.len(),
        modaliases.len(),
        "modprobe batch output did not split into one answer per modalias"
    );
    answers
}

#[test]
fn kmod_differential_zero_differences() {
    let shared = shared_dir();
    let catalog: &Catalog = crate::common::embedded();
    let mut rng = Rng::new(0x5eed_cafe);

    // Patterns of all four kernels, each pattern once.
    let mut patterns: BTreeSet<String> = BTreeSet::new();
    for (id, _) in TREES {
        let p = catalog.get(id).expect("profile");
        for a in &p.data().aliases {
            if a.kind != AliasKind::Inferred
                && (a.pattern.starts_with("pci:") || a.pattern.starts_with("usb:"))
            {
                patterns.insert(a.pattern.clone());
            }
        }
    }
    let patterns: Vec<String> = patterns.into_iter().collect();
    let mut modaliases: BTreeSet<String> = BTreeSet::new();
    while modaliases.len() < 10_400 {
        let p = &patterns[rng.below(patterns.len())];
        let near_miss = rng.below(5) == 0;
        if let Some(m) = instantiate(p, &mut rng, near_miss) {
            modaliases.insert(m);
        }
    }
    let generated = modaliases.len();
    modaliases.extend(real_modaliases());
    let modaliases: Vec<String> = modaliases.into_iter().collect();
    assert!(generated >= 10_000);

    // One thread per tree pair keeps both CI cores busy.
    let results: Vec<(usize, usize, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = TREES
            .iter()
            .map(|(id, ver)| {
                let profile = catalog.get(id).expect("profile");
                let root = shared.join("kmod-roots").join(ver);
                let modaliases = &modaliases;
                s.spawn(move || {
                    let mut diffs = Vec::new();
                    let mut driven = 0;
                    for chunk in modaliases.chunks(2_000) {
                        let answers = kmod_answers(&root, ver, chunk);
                        for (m, kmod) in chunk.iter().zip(answers) {
                            let ours = profile.resolve(m);
                            let ours_set: BTreeSet<&String> = ours.kmod_answer().iter().collect();
                            let kmod_set: BTreeSet<&String> = kmod.iter().collect();
                            if !kmod.is_empty() {
                                driven += 1;
                            }
                            if ours_set != kmod_set {
                                diffs.push(format!(
                                    "{id} {m}: kmod {kmod:?}, hcl-kernels {:?}",
                                    ours.kmod_answer()
                                ));
                            }
                        }
                    }
                    (modaliases.len(), driven, diffs)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut all_diffs = Vec::new();
    for ((id, _), (n, driven, diffs)) in TREES.iter().zip(&results) {
        eprintln!(
            "{id}: {n} modaliases, {driven} with a kmod answer, {} differences",
            diffs.len()
        );
        // The sample must exercise matches, not only misses.
        assert!(*driven > n / 3, "{id}: too few matches ({driven})");
        all_diffs.extend(diffs.iter().take(20).cloned());
    }
    assert!(
        all_diffs.is_empty(),
        "differences:\n{}",
        all_diffs.join("\n")
    );
}
