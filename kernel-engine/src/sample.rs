//! Concrete modaliases made from real alias patterns, for the differential test against kmod
//! and the lookup benchmark: wildcards filled with random hex of the field's width, brackets
//! resolved to a member, some near misses (one literal digit changed).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::catalog::Catalog;
use crate::error::Error;
use crate::profile::model::AliasKind;

/// A small deterministic PRNG (xorshift64*), so runs reproduce.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The Debian profiles with a kmod tree (see [`kmod_root`]): (profile id, release).
pub const KMOD_TREES: [(&str, &str); 4] = [
    ("debian-12", "6.1.0-50-amd64"),
    ("debian-13", "6.12.117+deb13-amd64"),
    ("debian-13-backports", "7.3.4+deb13-amd64"),
    ("debian-sid", "7.2.13+deb14-amd64"),
];

/// Where `kernels/tests/make-kmod-roots.sh` puts the kmod tree of a kernel release, made by
/// `depmod -b` from the real Debian packages: a root for `modprobe -d ROOT -S RELEASE`.
/// `$HCL_KMOD_ROOTS/<release>`, by default `~/.cache/hcl-probe/kmod-roots/<release>`.
pub fn kmod_root(release: &str) -> PathBuf {
    std::env::var_os("HCL_KMOD_ROOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/hcl-probe/kmod-roots")
        })
        .join(release)
}

/// `None` when every tree of [`KMOD_TREES`] is made (the script moves a finished tree into
/// place), else a message naming the missing ones and the scripts that make them.
pub fn missing_kmod_roots() -> Option<String> {
    let absent: Vec<&str> = KMOD_TREES
        .iter()
        .map(|(_, release)| *release)
        .filter(|release| {
            !kmod_root(release)
                .join("lib/modules")
                .join(release)
                .join("modules.alias.bin")
                .is_file()
        })
        .collect();
    (!absent.is_empty()).then(|| {
        format!(
            "kmod trees missing for {absent:?} under {}: run \
             kernels/tests/fetch-debian-packages.sh then kernels/tests/make-kmod-roots.sh",
            kmod_root("").display()
        )
    })
}

/// `count` distinct concrete pci/usb modaliases from the recorded (not inferred) aliases of
/// the given profiles, one in five a near miss. Deterministic for a seed. Profiles decoded for
/// one machine only are refused ([`Error::Filtered`]): they would sample that machine.
pub fn modaliases(
    catalog: &Catalog,
    ids: &[&str],
    count: usize,
    seed: u64,
) -> Result<Vec<String>, Error> {
    let mut patterns: BTreeSet<&str> = BTreeSet::new();
    for id in ids {
        let Ok(p) = catalog.get(id) else { continue };
        let p = p.require_whole()?;
        for a in &p.data().aliases {
            if a.kind != AliasKind::Inferred
                && (a.pattern.starts_with("pci:") || a.pattern.starts_with("usb:"))
            {
                patterns.insert(&a.pattern);
            }
        }
    }
    let patterns: Vec<&str> = patterns.into_iter().collect();
    let mut rng = Rng::new(seed);
    let mut out: BTreeSet<String> = BTreeSet::new();
    let mut tries = 0;
    while out.len() < count && !patterns.is_empty() && tries < count * 10 {
        tries += 1;
        let Some(p) = patterns.get(rng.below(patterns.len())) else {
            continue;
        };
        let near_miss = rng.below(5) == 0;
        if let Some(m) = instantiate(p, &mut rng, near_miss) {
            out.insert(m);
        }
    }
    Ok(out.into_iter().collect())
}

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
pub fn instantiate(pattern: &str, rng: &mut Rng, near_miss: bool) -> Option<String> {
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
    let class = CLASSES
        .get(rng.below(CLASSES.len()))?
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
                    let members: Vec<u8> = HEX
                        .iter()
                        .copied()
                        .filter(|h| crate::fnmatch::fnmatch(&value[j..=end], &[*h]))
                        .collect();
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
