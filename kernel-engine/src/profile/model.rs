//! What a profile holds: modules, alias patterns, the distro's firmware files, RHEL's
//! hardware-status rows.

use std::cmp::Ordering;

use hcl_data::RhelTable;

use crate::fnmatch::{fnmatch, literal_prefix_len};
use crate::meta::ProfileMeta;

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

/// The bus an alias pattern is for: the text before its first `:`, without the `*` of a
/// `dmi*:` or `acpi*:` pattern. (A device's modalias is read by [`hcl_data::Modalias`].)
pub fn pattern_bus(pattern: &str) -> &str {
    let head = pattern.split(':').next().unwrap_or(pattern);
    head.trim_end_matches('*')
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
    /// The table, e.g. `rh_disabled_pci_devices`, `rh_deprecated_drivers`.
    pub table: RhelTable,
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
}

impl FirmwareList {
    /// The package of a listed ancestor of `file`. Contents indices and `dpkg -c` list files
    /// and symlinks, never plain folders, so a listed path above a declared file is a symlink
    /// to a folder (`nvidia/ad103/gsp -> ../ad102/gsp`): the loader finds the file through it.
    fn linked_folder(&self, file: &str) -> Option<&str> {
        file.match_indices('/')
            .map(|(i, _)| file.get(..i).unwrap_or(""))
            .find_map(|dir| self.lookup(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_symlinks_satisfy_the_files_below_them() {
        let list = FirmwareList::from_pairs([
            (
                "nvidia/ad102/gsp/gsp-535.113.01.bin".to_owned(),
                "firmware-nvidia-graphics".to_owned(),
            ),
            (
                "nvidia/ad103/gsp".to_owned(),
                "firmware-nvidia-graphics".to_owned(),
            ),
        ]);
        let (pkg, _) = list
            .satisfies("nvidia/ad103/gsp/gsp-535.113.01.bin")
            .expect("through the folder symlink");
        assert_eq!(pkg, "firmware-nvidia-graphics");
        assert!(
            list.satisfies("nvidia/ad104/gsp/gsp-535.113.01.bin")
                .is_none()
        );
        assert!(list.satisfies("nvidia/ad103/gspx").is_none());
    }
}
