//! The profile data model, its compact on-disk form and the alias index.
//!
//! On disk a profile is zstd-compressed text: a header line, the metadata as one JSON line, then
//! one tab-separated record per line (`M` module, `A` alias, `P` firmware package, `F` firmware
//! file, `R` RHEL hardware-status row, `B` binding condition: [`crate::conditions`]; profiles
//! written before `B` existed have none and still load). Aliases are stored sorted by their literal prefix so
//! that loading needs no sort; a hand-edited unsorted file still loads (it is sorted then).
//! Decoding with an [`AliasFilter`] keeps only the aliases that match the caller's modaliases
//! (a probe needs a few dozen of some 30,000) and skips the other alias lines unparsed.

use std::cmp::Ordering;

use crate::bytes::find_byte;
use crate::filter::AliasFilter;
use crate::fnmatch::{fnmatch, fnmatch_partial, literal_prefix_len};
use crate::{Error, ProfileMeta};

pub(crate) const HEADER: &str = "hcl-kernels-profile 1";

/// Where an alias comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AliasKind {
    /// modules.alias: a loadable module.
    Module,
    /// modules.builtin.alias: a built-in driver kmod can see.
    Builtin,
    /// A built-in driver matched by aliases taken from elsewhere (beyond kmod).
    Inferred,
}

impl AliasKind {
    fn code(self) -> char {
        match self {
            AliasKind::Module => 'm',
            AliasKind::Builtin => 'b',
            AliasKind::Inferred => 'i',
        }
    }
    fn from_code(code: &str) -> Option<Self> {
        match code {
            "m" => Some(AliasKind::Module),
            "b" => Some(AliasKind::Builtin),
            "i" => Some(AliasKind::Inferred),
            _ => None,
        }
    }
}

/// One alias pattern (kmod-normalised) of one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub kind: AliasKind,
    /// kmod answers in this order (the order of the source alias file).
    pub priority: u32,
    /// Index into [`ProfileData::modules`].
    pub module: u32,
    pub pattern: String,
}

/// One module or built-in driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleEntry {
    pub name: String,
    pub loadable: bool,
    pub builtin: bool,
    /// Ships only in an optional package (RHEL kernel-modules-extra).
    pub extra: bool,
    /// Where inferred aliases came from (a profile id or a derived-data label).
    pub inferred_from: Option<String>,
    /// `firmware=` values of the module.
    pub firmware: Vec<String>,
}

/// The distro's firmware files: (file path under /lib/firmware, package index), sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirmwareList {
    pub packages: Vec<String>,
    pub files: Vec<(String, u32)>,
}

impl FirmwareList {
    /// Build from (file, package) pairs in any order; duplicates keep the first package.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut packages: Vec<String> = Vec::new();
        let mut files: Vec<(String, u32)> = Vec::new();
        for (file, package) in pairs {
            let idx = match packages.iter().position(|p| *p == package) {
                Some(i) => i,
                None => {
                    packages.push(package);
                    packages.len() - 1
                }
            };
            files.push((file, idx as u32));
        }
        files.sort();
        files.dedup_by(|a, b| a.0 == b.0);
        FirmwareList { packages, files }
    }

    /// The package shipping exactly this path.
    pub fn lookup(&self, file: &str) -> Option<&str> {
        let i = self
            .files
            .binary_search_by(|(f, _)| f.as_str().cmp(file))
            .ok()?;
        let (_, pkg) = self.files.get(i)?;
        self.packages.get(*pkg as usize).map(String::as_str)
    }

    /// Whether `file` is shipped, accepting compressed variants and, for iwlwifi-style
    /// `<stem>-<N>.ucode` names, a lower API number (the driver falls back to those).
    /// Returns the package and, when it differs, the file that satisfies the need.
    pub fn satisfies(&self, file: &str) -> Option<(String, Option<String>)> {
        if let Some(found) = self.satisfies_glob(file) {
            return found;
        }
        for candidate in [file.to_owned(), format!("{file}.xz"), format!("{file}.zst")] {
            if let Some(pkg) = self.lookup(&candidate) {
                let alt = (candidate != file).then_some(candidate);
                return Some((pkg.to_owned(), alt));
            }
        }
        // A folder symlink above the file (nvidia/ad103/gsp -> ../ad102/gsp).
        if let Some(pkg) = self.linked_folder(file) {
            return Some((pkg.to_owned(), None));
        }
        let (stem, api) = api_numbered(file)?;
        // Files sharing the `<stem>-` prefix are adjacent in the sorted list.
        let prefix = format!("{stem}-");
        let start = self
            .files
            .partition_point(|(f, _)| f.as_str() < prefix.as_str());
        let mut best: Option<(u32, &str, u32)> = None;
        for (f, pkg) in self.files.get(start..)?.iter() {
            if !f.starts_with(&prefix) {
                break;
            }
            let name = f
                .strip_suffix(".xz")
                .or_else(|| f.strip_suffix(".zst"))
                .unwrap_or(f);
            if let Some((s, n)) = api_numbered(name)
                && s == stem
                && n < api
                && best.is_none_or(|(b, _, _)| n > b)
            {
                best = Some((n, f.as_str(), *pkg));
            }
        }
        let (_, f, pkg) = best?;
        let pkg = self.packages.get(pkg as usize)?.clone();
        Some((pkg, Some(f.to_owned())))
    }
}

impl FirmwareList {
    /// Drivers may declare a folder of files as a glob (ath11k: `ath11k/WCN6855/hw2.0/*`): it is
    /// met when some shipped file matches. None when `file` is no glob.
    fn satisfies_glob(&self, file: &str) -> Option<Option<(String, Option<String>)>> {
        let literal = literal_prefix_len(file);
        if literal == file.len() {
            return None;
        }
        let prefix = file.get(..literal).unwrap_or("");
        // Files sharing the literal prefix are adjacent in the sorted list.
        let start = self.files.partition_point(|(f, _)| f.as_str() < prefix);
        let hit = self
            .files
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|(f, _)| f.starts_with(prefix))
            .find(|(f, _)| fnmatch(file.as_bytes(), f.as_bytes()));
        Some(hit.and_then(|(f, pkg)| {
            let pkg = self.packages.get(*pkg as usize)?.clone();
            Some((pkg, Some(f.clone())))
        }))
    }
}

/// `iwlwifi-cc-a0-77.ucode` -> (`iwlwifi-cc-a0`, 77).
fn api_numbered(file: &str) -> Option<(&str, u32)> {
    let base = file.strip_suffix(".ucode")?;
    let dash = base.rfind('-')?;
    let num = base.get(dash + 1..)?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base.get(..dash)?, num.parse().ok()?))
}

/// A row of RHEL's hardware-status tables (`rh_messages.h`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RhelRule {
    /// Table name, e.g. `rh_disabled_pci_devices`, `rh_deprecated_drivers`.
    pub table: String,
    /// PCI ids, lowercase hex, `*` for any; `-` for driver tables.
    pub vendor: String,
    pub device: String,
    pub subvendor: String,
    pub subdevice: String,
    /// Driver or init function name for driver tables.
    pub name: String,
}

/// Everything stored in a profile file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileData {
    pub meta: ProfileMeta,
    pub modules: Vec<ModuleEntry>,
    pub aliases: Vec<Alias>,
    pub firmware: Option<FirmwareList>,
    pub rhel: Vec<RhelRule>,
    /// Binding conditions, sorted by PCI vendor and device.
    pub conditions: Vec<crate::conditions::ConditionRecord>,
    /// True when only the aliases an [`AliasFilter`] keeps were decoded: the data then answers
    /// only for the modaliases it was decoded for, `aliases` is not the profile's alias list
    /// (`meta.counts` still are the full profile's counts) and it cannot be encoded again.
    pub filtered: bool,
}

/// Splits on one ASCII byte; cheaper than `str::split` for the many short lines and fields of a
/// profile.
struct Fields<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Fields<'a> {
    fn new(text: &'a str, sep: u8) -> Self {
        Fields {
            rest: Some(text),
            sep,
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match find_byte(rest.as_bytes(), self.sep) {
            // The separator is ASCII, so both sides are on char boundaries.
            Some(i) => {
                self.rest = rest.get(i + 1..);
                rest.get(..i)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Sort key of an alias in the index: its literal prefix.
fn prefix(a: &Alias) -> &[u8] {
    let p = a.pattern.as_bytes();
    p.get(..literal_prefix_len(&a.pattern)).unwrap_or(p)
}

fn index_order(a: &Alias, b: &Alias) -> Ordering {
    prefix(a)
        .cmp(prefix(b))
        .then(a.kind.cmp(&b.kind))
        .then(a.priority.cmp(&b.priority))
        .then(a.module.cmp(&b.module))
        .then(a.pattern.cmp(&b.pattern))
}

impl ProfileData {
    /// Put aliases and modules in canonical order (aliases by literal prefix).
    pub fn canonicalize(&mut self) {
        if !self
            .aliases
            .is_sorted_by(|a, b| index_order(a, b) != Ordering::Greater)
        {
            self.aliases.sort_by(index_order);
        }
        self.aliases.dedup();
        self.rhel.sort();
        self.rhel.dedup();
        self.conditions.sort();
        self.conditions.dedup();
    }

    /// The compact text form (before compression).
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(self.aliases.len() * 48);
        out.push_str(HEADER);
        out.push('\n');
        out.push_str(&serde_json::to_string(&self.meta).unwrap_or_else(|_| "{}".into()));
        out.push('\n');
        for m in &self.modules {
            let mut flags = String::new();
            if m.loadable {
                flags.push('l');
            }
            if m.builtin {
                flags.push('b');
            }
            if m.extra {
                flags.push('x');
            }
            if flags.is_empty() {
                flags.push('-');
            }
            let _ = write!(
                out,
                "M\t{}\t{}\t{}",
                m.name,
                flags,
                m.inferred_from.as_deref().unwrap_or("-")
            );
            for f in &m.firmware {
                let _ = write!(out, "\t{f}");
            }
            out.push('\n');
        }
        for a in &self.aliases {
            let _ = writeln!(
                out,
                "A\t{}\t{}\t{}\t{}",
                a.kind.code(),
                a.priority,
                a.module,
                a.pattern
            );
        }
        if let Some(fw) = &self.firmware {
            for p in &fw.packages {
                let _ = writeln!(out, "P\t{p}");
            }
            for (f, p) in &fw.files {
                let _ = writeln!(out, "F\t{p}\t{f}");
            }
        }
        for r in &self.rhel {
            let _ = writeln!(
                out,
                "R\t{}\t{}\t{}\t{}\t{}\t{}",
                r.table, r.vendor, r.device, r.subvendor, r.subdevice, r.name
            );
        }
        for c in &self.conditions {
            out.push_str(&c.to_line());
            out.push('\n');
        }
        out
    }

    /// Compressed bytes as committed under `kernels/profiles/`.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        if self.filtered {
            // Writing it would silently drop most aliases of the profile.
            return Err(Error::BadFile {
                path: self.meta.id.clone(),
                message: "a profile decoded with an alias filter cannot be encoded".into(),
            });
        }
        zstd::bulk::compress(self.to_text().as_bytes(), 19).map_err(|e| Error::BadFile {
            path: self.meta.id.clone(),
            message: format!("cannot compress profile: {e}"),
        })
    }

    /// Decode a compressed profile; `origin` names the file in errors.
    pub fn decode(bytes: &[u8], origin: &str) -> Result<Self, Error> {
        Self::decode_filtered(bytes, origin, None)
    }

    /// Decode a compressed profile keeping only the aliases `filter` keeps (all without one).
    pub fn decode_filtered(
        bytes: &[u8],
        origin: &str,
        filter: Option<&AliasFilter>,
    ) -> Result<Self, Error> {
        Self::from_text_filtered(&decompress(bytes, origin)?, origin, filter)
    }

    /// Parse the text form.
    pub fn from_text(text: &str, origin: &str) -> Result<Self, Error> {
        Self::from_text_filtered(text, origin, None)
    }

    /// Parse the text form keeping only the aliases `filter` keeps (all without one). Skipped
    /// alias lines are not validated; everything kept is, as by [`ProfileData::from_text`].
    pub fn from_text_filtered(
        text: &str,
        origin: &str,
        filter: Option<&AliasFilter>,
    ) -> Result<Self, Error> {
        let mut lines = Fields::new(text, b'\n').enumerate();
        let bad = |line: usize, message: &str| Error::BadFile {
            path: format!("{origin}:{}", line + 1),
            message: message.to_owned(),
        };
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(bad(0, "not an hcl-kernels profile (bad header)")),
        }
        let meta_line = lines.next().map(|(_, l)| l).unwrap_or("");
        let meta: ProfileMeta =
            serde_json::from_str(meta_line).map_err(|e| bad(1, &format!("bad metadata: {e}")))?;
        let mut data = ProfileData {
            meta,
            filtered: filter.is_some(),
            ..Default::default()
        };
        let mut firmware: Option<FirmwareList> = None;
        for (n, line) in lines {
            if line.is_empty() {
                continue;
            }
            let mut f = Fields::new(line, b'\t');
            match f.next() {
                Some("M") => {
                    let name = f.next().filter(|s| !s.is_empty());
                    let flags = f.next();
                    let from = f.next();
                    let (Some(name), Some(flags), Some(from)) = (name, flags, from) else {
                        return Err(bad(n, "module record needs name, flags, source"));
                    };
                    data.modules.push(ModuleEntry {
                        name: name.to_owned(),
                        loadable: flags.contains('l'),
                        builtin: flags.contains('b'),
                        extra: flags.contains('x'),
                        inferred_from: (from != "-").then(|| from.to_owned()),
                        firmware: f.map(str::to_owned).collect(),
                    });
                }
                Some("A") => {
                    let (kind, priority, module) = (f.next(), f.next(), f.next());
                    // Most aliases are filtered out: look at the pattern (the rest of a valid
                    // line) before parsing or allocating anything.
                    if let Some(filter) = filter
                        && !filter.keeps(f.rest.unwrap_or(""))
                    {
                        continue;
                    }
                    let kind = kind.and_then(AliasKind::from_code);
                    let priority = priority.and_then(|s| s.parse().ok());
                    let module = module.and_then(|s| s.parse::<u32>().ok());
                    let pattern = f.next();
                    let (Some(kind), Some(priority), Some(module), Some(pattern), None) =
                        (kind, priority, module, pattern, f.next())
                    else {
                        return Err(bad(n, "alias record needs kind, priority, module, pattern"));
                    };
                    if module as usize >= data.modules.len() {
                        return Err(bad(n, "alias refers to a module not defined before it"));
                    }
                    data.aliases.push(Alias {
                        kind,
                        priority,
                        module,
                        pattern: pattern.to_owned(),
                    });
                }
                Some("P") => {
                    let Some(p) = f.next() else {
                        return Err(bad(n, "package record needs a name"));
                    };
                    firmware
                        .get_or_insert_with(Default::default)
                        .packages
                        .push(p.to_owned());
                }
                Some("F") => {
                    let pkg = f.next().and_then(|s| s.parse::<u32>().ok());
                    let (Some(pkg), Some(file)) = (pkg, f.next()) else {
                        return Err(bad(n, "firmware record needs package index and file"));
                    };
                    let fw = firmware.get_or_insert_with(Default::default);
                    if pkg as usize >= fw.packages.len() {
                        return Err(bad(n, "firmware file refers to an unknown package"));
                    }
                    fw.files.push((file.to_owned(), pkg));
                }
                Some("R") => {
                    let v: Vec<&str> = f.collect();
                    let [table, vendor, device, subvendor, subdevice, name] = v.as_slice() else {
                        return Err(bad(n, "RHEL status record needs 6 fields"));
                    };
                    data.rhel.push(RhelRule {
                        table: (*table).to_owned(),
                        vendor: (*vendor).to_owned(),
                        device: (*device).to_owned(),
                        subvendor: (*subvendor).to_owned(),
                        subdevice: (*subdevice).to_owned(),
                        name: (*name).to_owned(),
                    });
                }
                Some("B") => data
                    .conditions
                    .push(crate::conditions::ConditionRecord::parse(f).map_err(|m| bad(n, m))?),
                _ => return Err(bad(n, "unknown record type")),
            }
        }
        if let Some(fw) = &mut firmware
            && !fw.files.is_sorted()
        {
            fw.files.sort();
        }
        data.firmware = firmware;
        if !data.conditions.is_sorted() {
            data.conditions.sort();
        }
        Ok(data)
    }
}

/// Only the metadata of a compressed profile: the first two lines are decompressed, not the
/// megabytes after them (`--version` lists every embedded profile this way).
pub fn decode_meta(bytes: &[u8], origin: &str) -> Result<ProfileMeta, Error> {
    use std::io::BufRead;
    let bad = |message: String| Error::BadFile {
        path: origin.to_owned(),
        message,
    };
    let decoder = zstd::stream::read::Decoder::new(bytes)
        .map_err(|e| bad(format!("not a zstd stream: {e}")))?;
    // The metadata line is a few hundred bytes; a longer one is corrupt data.
    let mut lines = std::io::BufReader::new(std::io::Read::take(decoder, 1 << 20)).lines();
    let mut next = || match lines.next() {
        Some(Ok(line)) => Ok(line),
        Some(Err(e)) => Err(bad(format!("corrupt zstd data: {e}"))),
        None => Err(bad("profile ends before its metadata".into())),
    };
    if next()? != HEADER {
        return Err(bad("not an hcl-kernels profile (bad header)".into()));
    }
    serde_json::from_str(&next()?).map_err(|e| bad(format!("bad metadata: {e}")))
}

/// The text of a compressed profile; `origin` names the file in errors.
pub(crate) fn decompress(bytes: &[u8], origin: &str) -> Result<String, Error> {
    let bad = |message: String| Error::BadFile {
        path: origin.to_owned(),
        message,
    };
    // Profiles are a few MB uncompressed; a larger claim is corrupt data.
    const LIMIT: usize = 64 << 20;
    let text = match zstd::zstd_safe::get_frame_content_size(bytes) {
        // One allocation of the recorded size (profiles are written with it).
        Ok(Some(size)) if size <= LIMIT as u64 => zstd::bulk::decompress(bytes, size as usize)
            .map_err(|e| bad(format!("corrupt zstd data: {e}")))?,
        Ok(Some(_)) => return Err(bad("profile larger than 64 MiB uncompressed".into())),
        _ => {
            let mut text = Vec::new();
            let mut decoder = zstd::stream::read::Decoder::new(bytes)
                .map_err(|e| bad(format!("not a zstd stream: {e}")))?;
            std::io::Read::read_to_end(
                &mut std::io::Read::take(&mut decoder, LIMIT as u64 + 1),
                &mut text,
            )
            .map_err(|e| bad(format!("corrupt zstd data: {e}")))?;
            text
        }
    };
    if text.len() > LIMIT {
        return Err(bad("profile larger than 64 MiB uncompressed".into()));
    }
    String::from_utf8(text).map_err(|_| bad("profile is not UTF-8".into()))
}

/// The alias index: aliases sorted by literal prefix, walked like a trie with binary searches.
#[derive(Debug, Clone, Default)]
pub(crate) struct AliasIndex {
    /// Literal prefix length of each alias (same order as `ProfileData::aliases`).
    prefix_len: Vec<u32>,
}

/// One match: (kind, priority, module index, literal prefix length of the pattern).
pub(crate) type Hit = (AliasKind, u32, u32, u32);

impl AliasIndex {
    /// Build over aliases already in canonical order.
    pub(crate) fn new(aliases: &[Alias]) -> Self {
        AliasIndex {
            prefix_len: aliases
                .iter()
                .map(|a| literal_prefix_len(&a.pattern) as u32)
                .collect(),
        }
    }

    /// True when the aliases are in literal-prefix order, all the lookup needs.
    pub(crate) fn is_sorted(&self, aliases: &[Alias]) -> bool {
        self.prefix_len.len() == aliases.len()
            && (1..aliases.len())
                .all(|i| self.prefix_of(aliases, i - 1) <= self.prefix_of(aliases, i))
    }

    /// Alias `i`'s literal prefix, from the stored length (no scan of the pattern).
    fn prefix_of<'a>(&self, aliases: &'a [Alias], i: usize) -> Option<&'a [u8]> {
        let a = aliases.get(i)?.pattern.as_bytes();
        a.get(..*self.prefix_len.get(i)? as usize)
    }

    /// Every alias matching `text` (kmod-normalised). With `partial`, `?` in the text is an
    /// unknown hex digit.
    pub(crate) fn lookup(&self, aliases: &[Alias], text: &[u8], partial: bool) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.walk(aliases, text, partial, 0, 0, aliases.len(), &mut hits);
        hits
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        aliases: &[Alias],
        text: &[u8],
        partial: bool,
        mut depth: usize,
        mut lo: usize,
        mut hi: usize,
        hits: &mut Vec<Hit>,
    ) {
        loop {
            if hi <= lo {
                return;
            }
            // A few candidates left: check each directly.
            if hi - lo <= 16 {
                for i in lo..hi {
                    self.check(aliases, i, text, partial, depth, hits);
                }
                return;
            }
            // Aliases whose literal prefix ends here sort first in the range.
            let ends = lo
                + self
                    .prefix_len
                    .get(lo..hi)
                    .map_or(0, |r| r.partition_point(|&l| l as usize == depth));
            for i in lo..ends {
                self.check(aliases, i, text, partial, depth, hits);
            }
            lo = ends;
            if lo >= hi {
                return;
            }
            // Every prefix in a sorted range shares the first and last one's common prefix:
            // compare it at once instead of narrowing byte by byte.
            let (Some(f), Some(l)) = (self.prefix_of(aliases, lo), self.prefix_of(aliases, hi - 1))
            else {
                return;
            };
            let lcp = f.iter().zip(l).take_while(|(x, y)| x == y).count();
            if lcp > depth {
                let (Some(want), Some(have)) = (f.get(depth..lcp), text.get(depth..lcp)) else {
                    return;
                };
                if !literal_eq(want, have, partial) {
                    return;
                }
                depth = lcp;
                continue;
            }
            let Some(&c) = text.get(depth) else { return };
            if partial && c == b'?' {
                for h in b"0123456789ABCDEF" {
                    let (l, r) = narrow(aliases, lo, hi, depth, *h);
                    if l < r {
                        self.walk(aliases, text, partial, depth + 1, l, r, hits);
                    }
                }
                return;
            }
            (lo, hi) = narrow(aliases, lo, hi, depth, c);
            depth += 1;
        }
    }

    /// Check alias `i`, whose literal prefix is known to equal the text up to `depth`.
    fn check(
        &self,
        aliases: &[Alias],
        i: usize,
        text: &[u8],
        partial: bool,
        depth: usize,
        hits: &mut Vec<Hit>,
    ) {
        let (Some(a), Some(&plen)) = (aliases.get(i), self.prefix_len.get(i)) else {
            return;
        };
        if alias_matches(a.pattern.as_bytes(), plen as usize, text, partial, depth) {
            hits.push((a.kind, a.priority, a.module, plen));
        }
    }
}

/// kmod's test of one alias `pat` (literal prefix length `plen`) against a lookup key, the
/// first `depth` bytes of the literal prefix being known to agree. The alias filter uses it
/// too, so a filtered profile keeps exactly the aliases its keys can hit.
pub(crate) fn alias_matches(
    pat: &[u8],
    plen: usize,
    text: &[u8],
    partial: bool,
    depth: usize,
) -> bool {
    let (Some(want), Some(have)) = (pat.get(depth..plen), text.get(depth..plen)) else {
        return false;
    };
    if !literal_eq(want, have, partial) {
        return false;
    }
    match (pat.get(plen..), text.get(plen..)) {
        (Some([]), _) => plen == text.len(),
        (Some(p), Some(t)) if partial => fnmatch_partial(p, t),
        (Some(p), Some(t)) => fnmatch(p, t),
        _ => false,
    }
}

/// Literal comparison; with `partial`, a `?` in the text stands for any uppercase hex digit.
fn literal_eq(want: &[u8], have: &[u8], partial: bool) -> bool {
    want.len() == have.len()
        && want.iter().zip(have).all(|(w, h)| {
            w == h || (partial && *h == b'?' && matches!(w, b'0'..=b'9' | b'A'..=b'F'))
        })
}

/// The sub-range of [lo, hi) whose prefix byte at `depth` is `c` (all have longer prefixes).
fn narrow(aliases: &[Alias], lo: usize, hi: usize, depth: usize, c: u8) -> (usize, usize) {
    let Some(range) = aliases.get(lo..hi) else {
        return (lo, lo);
    };
    let byte = |a: &Alias| a.pattern.as_bytes().get(depth).copied().unwrap_or(0);
    let l = range.partition_point(|a| byte(a) < c);
    let r = range.partition_point(|a| byte(a) <= c);
    (lo + l, lo + r)
}
