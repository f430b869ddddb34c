//! The compact on-disk form of a profile.
//!
//! On disk a profile is zstd-compressed text: a header line, the metadata as one JSON line, then
//! one tab-separated record per line (`M` module, `A` alias, `P` firmware package, `F` firmware
//! file, `R` RHEL hardware-status row, `B` binding condition: [`crate::conditions`]; profiles
//! written before `B` existed have none and still load). Aliases are stored sorted by their
//! literal prefix so that loading needs no sort; a hand-edited unsorted file still loads (it is sorted then).
//! Decoding with an [`AliasFilter`] keeps only the aliases that match the caller's modaliases
//! (a probe needs a few dozen of some 30,000) and skips the other alias lines unparsed.

use super::model::{Alias, AliasKind, FirmwareList, ModuleEntry, ProfileData, RhelRule};
use crate::error::Error;
use crate::filter::AliasFilter;
use crate::meta::ProfileMeta;

pub(crate) const HEADER: &str = "hcl-kernels-profile 1";

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

/// Splits on one ASCII byte (memchr), and keeps the unsplit rest: the alias filter looks at a
/// line's pattern before its fields are parsed.
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
        match memchr::memchr(self.sep, rest.as_bytes()) {
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

impl ProfileData {
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
                        table: (*table).into(),
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
