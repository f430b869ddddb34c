//! Readers for the extracted text data in the repository's `data/kernel-data`: Debian module
//! folders, derived pci/usb alias data (RHEL, Qubes), Debian firmware lists and RHEL hardware
//! status. Each file may be stored plain or compressed (`NAME.xz`, `.zst`, `.gz`; see
//! [`data_file`]), as the repository keeps them.
//!
//! Every reader names the file and line of a problem; none panics on bad input.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::builder::ProfileBuilder;
use crate::error::Error;
use hcl_kernel_engine::ProfileMeta;
use hcl_kernel_engine::profile::model::{AliasKind, RhelRule};

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
    let file = hcl_kernel_engine::fsio::open_regular(path).map_err(|e| Error::io(path, e))?;
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
    let Ok(text) = hcl_kernel_engine::fsio::read_regular_text(&dir.join("SOURCE.txt")) else {
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
/// entry of the multi-document YAML.
pub fn parse_dep11(text: &str) -> Result<Vec<(String, String)>, Error> {
    #[derive(Deserialize)]
    struct Component {
        #[serde(rename = "Package")]
        package: Option<String>,
        #[serde(rename = "Provides", default)]
        provides: Option<Provides>,
    }
    #[derive(Deserialize)]
    struct Provides {
        #[serde(default)]
        firmware: Vec<Firmware>,
    }
    #[derive(Deserialize)]
    struct Firmware {
        file: Option<String>,
    }
    let docs: Vec<Component> = serde_saphyr::from_str_multiple_with_options(text, yaml_options())
        .map_err(|e| Error::bad("DEP-11 metadata", e.to_string()))?;
    Ok(docs
        .into_iter()
        .filter_map(|c| Some((c.package?, c.provides?.firmware)))
        .flat_map(|(package, firmware)| {
            firmware
                .into_iter()
                .filter_map(|f| f.file.filter(|f| !f.is_empty()))
                .map(move |file| (file, package.clone()))
        })
        .collect())
}

/// Parser limits for the distributions' metadata: trusted, but larger than the defaults allow
/// (a DEP-11 file is one document per package).
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 100_000,
            max_events: 50_000_000,
            max_nodes: 10_000_000,
        },
    }
}

/// A DEP-11 file (Debian publishes them gzip-compressed).
pub fn read_dep11(path: &Path) -> Result<Vec<(String, String)>, Error> {
    parse_dep11(&read_text(path)?).map_err(|e| match e {
        Error::Engine(hcl_kernel_engine::Error::BadFile { message, .. }) => {
            Error::bad(path.display(), message)
        }
        other => other,
    })
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
            table: (*table).into(),
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

/// One rule of RHEL's `def_variants.yaml.rhel`: module paths (relative to `kernel/`) the regex
/// matches at their start go to the package.
#[derive(Debug, Clone)]
pub struct DefVariantRule {
    /// None for the `default` rule, which takes every path.
    regex: Option<regex_lite::Regex>,
    pub package: String,
}

/// The `rules:` of RHEL 10's `def_variants.yaml.rhel`, in order, minus the rules limited to
/// other variants (`if_variant_in`).
pub fn parse_def_variants(text: &str) -> Result<Vec<DefVariantRule>, Error> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        rules: Vec<BTreeMap<String, serde_json::Value>>,
    }
    let file: File = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| Error::bad("def_variants.yaml", e.to_string()))?;
    let mut rules = Vec::new();
    for rule in file.rules {
        // The rule applies to another kernel variant (rt...), not the default one.
        if rule.contains_key("if_variant_in") {
            continue;
        }
        let Some((re, serde_json::Value::String(package))) = rule.into_iter().next() else {
            continue;
        };
        // Python's `re.match`: anchored at the start, a prefix match.
        let regex = if re == "default" {
            None
        } else {
            let compiled = regex_lite::Regex::new(&format!("^(?:{re})"))
                .map_err(|e| Error::bad("def_variants.yaml", format!("rule {re:?}: {e}")))?;
            Some(compiled)
        };
        rules.push(DefVariantRule { regex, package });
    }
    Ok(rules)
}

/// The package def_variants rules put a module path (relative to `kernel/`) in: the first rule
/// that matches it.
pub fn def_variants_package<'a>(rules: &'a [DefVariantRule], path: &str) -> Option<&'a str> {
    rules
        .iter()
        .find(|r| r.regex.as_ref().is_none_or(|re| re.is_match(path)))
        .map(|r| r.package.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn def_variants_rules() {
        let rules = parse_def_variants(
            "rules:\n  - arch/x86/kvm/kvm(-amd|-intel|\\.).*: modules-rt-kvm\n    if_variant_in: [\"rt\"]\n  - arch/x86/kvm/kvm(-amd|-intel|\\.).*: modules\n  - drivers/block/floppy.*: modules-extra\n  - drivers/block/.*: modules-core\n  - default: modules\n",
        )
        .unwrap();
        assert_eq!(rules.len(), 4);
        assert_eq!(
            def_variants_package(&rules, "drivers/block/floppy.ko"),
            Some("modules-extra")
        );
        assert_eq!(
            def_variants_package(&rules, "drivers/block/loop.ko"),
            Some("modules-core")
        );
        assert_eq!(def_variants_package(&rules, "fs/x.ko"), Some("modules"));
        let kvm = |p: &str| def_variants_package(&rules[..1], p);
        assert_eq!(kvm("arch/x86/kvm/kvm-amd.ko"), Some("modules"));
        assert_eq!(kvm("arch/x86/kvm/kvm.ko"), Some("modules"));
        assert_eq!(kvm("arch/x86/kvm/kvmx"), None);
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
            parse_dep11(text).unwrap(),
            vec![
                ("a/b.bin".to_owned(), "firmware-x".to_owned()),
                ("c.bin".to_owned(), "firmware-x".to_owned())
            ]
        );
    }
}
