//! Readers for the extracted text data in the repository's `data/kernel-data`: Debian module
//! folders, derived pci/usb alias data (RHEL, Qubes), Debian firmware lists and RHEL hardware
//! status. Each file may be stored plain or compressed (`NAME.xz`, `.zst`, `.gz`; see
//! [`data_file`]), as the repository keeps them.
//!
//! Every reader names the file and line of a problem; none panics on bad input.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::build::ProfileBuilder;
use crate::profile::{AliasKind, RhelRule};
use crate::{Error, ProfileMeta};

/// Largest text file accepted once decompressed: the biggest real one (a modules.alias) is
/// under 2 MB, so more means a corrupt or hostile file.
const MAX_TEXT: u64 = 256 << 20;

/// `dir/name` as stored: plain, or compressed as `name.xz`, `name.zst` or `name.gz` (the first
/// that exists, in that order); `None` when there is none.
pub fn data_file(dir: &Path, name: &str) -> Option<PathBuf> {
    ["", ".xz", ".zst", ".gz"]
        .iter()
        .map(|ext| dir.join(format!("{name}{ext}")))
        // Any kind of file counts as there: a FIFO or folder in its place is refused by name
        // when opened (fsio), not mistaken for a missing file.
        .find(|p| p.symlink_metadata().is_ok())
}

/// [`data_file`], or an error naming the plain path when no form of it exists.
pub(crate) fn required(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    data_file(dir, name).ok_or_else(|| {
        let path = dir.join(name);
        Error::io(
            &path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file (nor .xz, .zst, .gz)",
            ),
        )
    })
}

/// The text of `dir/name` in whichever form it is stored ([`data_file`]).
pub fn read_data(dir: &Path, name: &str) -> Result<String, Error> {
    read_text(&required(dir, name)?)
}

/// A text file, decompressed according to its first bytes (xz, zstd, gzip or plain).
pub(crate) fn read_text(path: &Path) -> Result<String, Error> {
    use crate::binary::decompress;
    let file = crate::fsio::open_regular(path).map_err(|e| Error::io(path, e))?;
    let bytes = decompress::decoder(BufReader::new(file))
        .and_then(|(_, r)| decompress::read_limited(r, MAX_TEXT))
        .map_err(|e| Error::bad(path.display(), decompress::describe(&e)))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::bad(
            path.display(),
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// `alias <pattern> <module>` lines of modules.alias-style text; blank and `#` lines skipped.
pub fn parse_alias_lines(text: &str, origin: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.split_whitespace();
        match (f.next(), f.next(), f.next(), f.next()) {
            (Some("alias"), Some(pattern), Some(module), None) => {
                out.push((pattern.to_owned(), module.to_owned()))
            }
            _ => {
                return Err(Error::bad(
                    format!("{origin}:{}", n + 1),
                    format!("not an `alias <pattern> <module>` line: {:.80}", line),
                ));
            }
        }
    }
    Ok(out)
}

fn read_alias_file(path: &Path) -> Result<Vec<(String, String)>, Error> {
    parse_alias_lines(&read_text(path)?, &path.display().to_string())
}

/// Module name as kmod spells it from a path such as `kernel/drivers/foo/bar-baz.ko.xz`.
pub fn module_name_from_path(path: &str) -> Option<String> {
    let name = crate::binary::name_from_path(path);
    (!name.is_empty()).then_some(name)
}

/// `key=value` lines of SOURCE.txt.
fn source_fields(dir: &Path) -> Vec<(String, String)> {
    let Ok(text) = crate::fsio::read_regular_text(&dir.join("SOURCE.txt")) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// A Debian folder (`debian-<suite>-<version>/`): modules.dep, modules.alias, modules.builtin,
/// modules.builtin.alias, module-firmware.tsv (each plain or compressed), SOURCE.txt.
pub fn import_debian_dir(dir: &Path, meta: ProfileMeta) -> Result<ProfileBuilder, Error> {
    let mut b = ProfileBuilder::new(meta);
    let fields = source_fields(dir);
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    if let Some(rel) = get("kernel_release") {
        b.meta.kernel_version = rel;
    }
    if let Some(debs) = get("debs") {
        b.meta.provenance = format!(
            "{}: depmod output and package files of {debs}",
            dir.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    // Loadable modules from modules.dep (every module, even those without aliases).
    if let Some(dep) = data_file(dir, "modules.dep") {
        for line in read_text(&dep)?.lines() {
            let Some((path, _)) = line.split_once(':') else {
                continue;
            };
            if let Some(name) = module_name_from_path(path) {
                b.module(&name).loadable = true;
            }
        }
    }
    for line in read_text(&required(dir, "modules.builtin")?)?.lines() {
        if let Some(name) = module_name_from_path(line.trim()) {
            b.module(&name).builtin = true;
        }
    }
    for (pattern, module) in read_alias_file(&required(dir, "modules.alias")?)? {
        b.module(&module).loadable = true;
        b.add_alias(AliasKind::Module, &pattern, &module);
    }
    if let Some(builtin_alias) = data_file(dir, "modules.builtin.alias") {
        for (pattern, module) in read_alias_file(&builtin_alias)? {
            b.module(&module).builtin = true;
            b.add_alias(AliasKind::Builtin, &pattern, &module);
        }
    }
    if let Some(fw) = data_file(dir, "module-firmware.tsv") {
        for (n, line) in read_text(&fw)?.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((module, file)) = line.split_once('\t') else {
                return Err(Error::bad(
                    format!("{}:{}", fw.display(), n + 1),
                    "expected `module<TAB>file`",
                ));
            };
            let module = module.trim_end_matches(" (builtin)").replace('-', "_");
            let entry = b.module(&module);
            if !entry.firmware.iter().any(|f| f == file) {
                entry.firmware.push(file.to_owned());
            }
        }
    }
    Ok(b)
}

/// Derived pci/usb data (`rhel-derived-aliases/<rel>/`, `qubes-derived/qubes-6.12/`):
/// `modules.alias.pci-usb` and `modules.builtin.alias.pci-usb`. Built-in aliases here were made
/// by compiling device tables, not recorded by the kernel, so they are stored as inferred.
pub fn import_derived_dir(dir: &Path, meta: ProfileMeta) -> Result<ProfileBuilder, Error> {
    let mut b = ProfileBuilder::new(meta);
    let label = format!(
        "derived data {}",
        dir.file_name().unwrap_or_default().to_string_lossy()
    );
    for (pattern, module) in read_alias_file(&required(dir, "modules.alias.pci-usb")?)? {
        b.module(&module).loadable = true;
        b.add_alias(AliasKind::Module, &pattern, &module);
    }
    for (pattern, module) in read_alias_file(&required(dir, "modules.builtin.alias.pci-usb")?)? {
        let entry = b.module(&module);
        entry.builtin = true;
        entry.inferred_from = Some(label.clone());
        b.add_alias(AliasKind::Inferred, &pattern, &module);
    }
    b.meta.covered_buses = vec!["pci".into(), "usb".into()];
    b.meta.real_data = false;
    Ok(b)
}

/// Debian AppStream (DEP-11) firmware metadata: (file, package) for every `Provides.firmware`
/// entry. A line-based reading of the multi-document YAML: `Package:` at column 0 starts a
/// package, `  firmware:` opens the list and its `file:` items are taken until the next
/// top-level or two-space key. Enough for the files Debian generates; documented, not general.
pub fn parse_dep11(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut package: Option<String> = None;
    let mut in_firmware = false;
    for line in text.lines() {
        if line == "---" {
            package = None;
            in_firmware = false;
            continue;
        }
        if let Some(p) = line.strip_prefix("Package:") {
            package = Some(p.trim().to_owned());
            continue;
        }
        if line.starts_with("  firmware:") {
            in_firmware = true;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start().trim_start_matches("- ");
        if in_firmware {
            if indent <= 2 && !line.trim_start().starts_with('-') {
                in_firmware = false;
                continue;
            }
            if let (Some(file), Some(pkg)) = (trimmed.strip_prefix("file:"), &package) {
                let file = file.trim().trim_matches(['"', '\'']);
                if !file.is_empty() {
                    out.push((file.to_owned(), pkg.clone()));
                }
            }
        }
    }
    out
}

/// A DEP-11 file (Debian publishes them gzip-compressed).
pub fn read_dep11(path: &Path) -> Result<Vec<(String, String)>, Error> {
    Ok(parse_dep11(&read_text(path)?))
}

/// `firmware-files.tsv` (plain or compressed): package, version, path under /lib/firmware,
/// size or `-> target`. Symlink names count as shipped files (the loader follows them).
pub fn read_firmware_tsv(path: &Path) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for (n, line) in read_text(path)?.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [package, _version, file, _size] = f.as_slice() else {
            return Err(Error::bad(
                format!("{}:{}", path.display(), n + 1),
                "expected 4 tab-separated fields",
            ));
        };
        out.push(((*file).to_owned(), (*package).to_owned()));
    }
    Ok(out)
}

/// `rh-hardware-status.tsv` (plain or compressed): table, vendor, device, subvendor,
/// subdevice, name.
pub fn read_rhel_status(path: &Path) -> Result<Vec<RhelRule>, Error> {
    let mut out = Vec::new();
    for (n, line) in read_text(path)?.lines().enumerate() {
        if line.is_empty() || line.starts_with("table\t") || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [table, vendor, device, subvendor, subdevice, name] = f.as_slice() else {
            return Err(Error::bad(
                format!("{}:{}", path.display(), n + 1),
                "expected 6 tab-separated fields",
            ));
        };
        out.push(RhelRule {
            table: (*table).to_owned(),
            vendor: vendor.to_ascii_lowercase(),
            device: device.to_ascii_lowercase(),
            subvendor: subvendor.to_ascii_lowercase(),
            subdevice: subdevice.to_ascii_lowercase(),
            name: (*name).to_owned(),
        });
    }
    Ok(out)
}

/// `mod-extra.list` (plain or compressed): one `.ko` file name per line; module names.
pub fn read_mod_extra(path: &Path) -> Result<Vec<String>, Error> {
    Ok(read_text(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(module_name_from_path)
        .collect())
}

/// The `rules:` of RHEL 10's `def_variants.yaml.rhel`: (path regex, package), in order, minus
/// the rules limited to other variants (`if_variant_in`). Line-based, like the file's layout.
pub fn parse_def_variants(text: &str) -> Vec<(String, String)> {
    let mut rules: Vec<(String, String)> = Vec::new();
    let mut in_rules = false;
    for line in text.lines() {
        if line.starts_with("rules:") {
            in_rules = true;
            continue;
        }
        if !in_rules {
            continue;
        }
        if let Some(rule) = line.strip_prefix("  - ") {
            if let Some((re, pkg)) = rule.rsplit_once(": ") {
                rules.push((re.trim().to_owned(), pkg.trim().to_owned()));
            }
        } else if line.trim_start().starts_with("if_variant_in") {
            // The rule above applies to another kernel variant (rt...), not the default one.
            rules.pop();
        }
    }
    rules
}

/// The package def_variants rules put a module path (relative to `kernel/`) in: the first rule
/// whose regex matches at the start of the path, as Python's `re.match` does.
pub fn def_variants_package<'a>(rules: &'a [(String, String)], path: &str) -> Option<&'a str> {
    rules
        .iter()
        .find(|(re, _)| re == "default" || mini_regex_match(re.as_bytes(), path.as_bytes()))
        .map(|(_, p)| p.as_str())
}

/// A small regex matcher, anchored at the start: literals, `.`, `\x`, `(a|b)` groups and the
/// postfix `*`, `+`, `?`, enough for def_variants rules. Returns true on a prefix match.
fn mini_regex_match(re: &[u8], text: &[u8]) -> bool {
    fn atom_end(re: &[u8], i: usize) -> usize {
        match re.get(i) {
            Some(b'\\') => (i + 2).min(re.len()),
            Some(b'(') => {
                let mut depth = 0;
                let mut j = i;
                while j < re.len() {
                    match re[j] {
                        b'\\' => j += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                return j + 1;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                re.len()
            }
            _ => i + 1,
        }
    }
    /// Every text position after matching `atom` once at `t`.
    fn match_atom(atom: &[u8], text: &[u8], t: usize) -> Vec<usize> {
        match atom {
            [b'(', .., b')'] => {
                let inner = &atom[1..atom.len() - 1];
                let mut alts = Vec::new();
                let (mut depth, mut start) = (0, 0);
                let mut j = 0;
                while j < inner.len() {
                    match inner[j] {
                        b'\\' => j += 1,
                        b'(' => depth += 1,
                        b')' => depth -= 1,
                        b'|' if depth == 0 => {
                            alts.push(&inner[start..j]);
                            start = j + 1;
                        }
                        _ => {}
                    }
                    j += 1;
                }
                alts.push(&inner[start.min(inner.len())..]);
                alts.iter().flat_map(|a| seq(a, text, t)).collect()
            }
            [b'\\', c] => (text.get(t) == Some(c))
                .then_some(t + 1)
                .into_iter()
                .collect(),
            [b'.'] => (t < text.len()).then_some(t + 1).into_iter().collect(),
            [c] => (text.get(t) == Some(c))
                .then_some(t + 1)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }
    /// Every end position of matching the sequence `re` from `t`.
    fn seq(re: &[u8], text: &[u8], t: usize) -> Vec<usize> {
        if re.is_empty() {
            return vec![t];
        }
        let end = atom_end(re, 0);
        let atom = &re[..end];
        let (op, rest) = match re.get(end) {
            Some(&c @ (b'*' | b'+' | b'?')) => (Some(c), &re[end + 1..]),
            _ => (None, &re[end..]),
        };
        let mut starts: Vec<usize> = Vec::new();
        match op {
            None => starts = match_atom(atom, text, t),
            Some(b'?') => {
                starts.push(t);
                starts.extend(match_atom(atom, text, t));
            }
            Some(op) => {
                let mut frontier = vec![t];
                if op == b'*' {
                    starts.push(t);
                }
                while let Some(pos) = frontier.pop() {
                    for next in match_atom(atom, text, pos) {
                        if next > pos && !starts.contains(&next) {
                            starts.push(next);
                            frontier.push(next);
                        }
                    }
                }
            }
        }
        let mut out: Vec<usize> = starts
            .into_iter()
            .flat_map(|s| seq(rest, text, s))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
    !seq(re, text, 0).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn def_variants_rules() {
        let rules = parse_def_variants(
            "rules:\n  - arch/x86/kvm/kvm(-amd|-intel|\\.).*: modules-rt-kvm\n    if_variant_in: [\"rt\"]\n  - drivers/block/floppy.*: modules-extra\n  - drivers/block/.*: modules-core\n  - default: modules\n",
        );
        assert_eq!(rules.len(), 3);
        assert_eq!(
            def_variants_package(&rules, "drivers/block/floppy.ko"),
            Some("modules-extra")
        );
        assert_eq!(
            def_variants_package(&rules, "drivers/block/loop.ko"),
            Some("modules-core")
        );
        assert_eq!(def_variants_package(&rules, "fs/x.ko"), Some("modules"));
        assert!(mini_regex_match(b"kvm(-amd|-intel|\\.).*", b"kvm-amd.ko"));
        assert!(!mini_regex_match(b"kvm(-amd|-intel|\\.).*", b"kvmx"));
    }

    #[test]
    fn garbage_alias_line_names_file_and_line() {
        let err = parse_alias_lines("alias a b\nnonsense here\n", "x/modules.alias")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("x/modules.alias:2: not an `alias <pattern> <module>` line: nonsense here")
        );
    }

    #[test]
    fn dep11_firmware_items() {
        let text = "---\nPackage: firmware-x\nProvides:\n  modaliases:\n  - pci:v*\n  firmware:\n  - type: runtime\n    file: a/b.bin\n  - type: runtime\n    file: c.bin\nSummary:\n  C: x\n---\nPackage: firmware-y\n";
        assert_eq!(
            parse_dep11(text),
            vec![
                ("a/b.bin".to_owned(), "firmware-x".to_owned()),
                ("c.bin".to_owned(), "firmware-x".to_owned())
            ]
        );
    }
}
