//! Kernel profiles for HCL Probe: does kernel K have a driver for the device with modalias M,
//! will the distro refuse it, and does its firmware exist?
//!
//! A [`Profile`] holds everything needed offline for one candidate kernel; a [`Catalog`] holds
//! the shipped profiles (embedded in the binary). Matching follows kmod's rules exactly; where
//! kmod is blind (built-in drivers on kernels before about 6.18) the engine goes beyond it and
//! labels the answer `inferred_builtin`.
//!
//! Decoding the profiles is most of a probe scan's time. [`Catalog::start_embedded`] starts
//! decompressing them on background threads; [`PendingCatalog::finish`] then parses them,
//! keeping with an [`AliasFilter`] only the aliases the machine's modaliases match.

pub mod binary;
pub mod build;
mod bytes;
pub mod derive;
pub mod diff;
mod filter;
pub mod fnmatch;
pub mod import;
mod pending;
pub mod profile;
pub mod sample;

use std::path::{Path, PathBuf};

use hcl_data::{Coverage, FirmwareNeed, RhelStatus, Verdict};

pub use build::{ProfileBuilder, build_shipped};
pub use filter::AliasFilter;
pub use pending::PendingCatalog;
pub use profile::{AliasKind, FirmwareList, ModuleEntry, ProfileData, RhelRule};

/// Errors of the kernel engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown kernel id {0:?}")]
    UnknownKernel(String),
    #[error("{path}: {message}")]
    BadFile { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Binary(#[from] binary::Error),
    #[error(transparent)]
    Derive(#[from] derive::Error),
    /// A whole-profile operation on a profile decoded for a few modaliases only.
    #[error(
        "profile {0} was decoded for one machine's modaliases only; this needs the whole profile"
    )]
    Filtered(String),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }
    pub(crate) fn bad(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// How many of each thing a profile holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProfileCounts {
    pub modules: usize,
    pub builtin_modules: usize,
    pub aliases: usize,
    pub builtin_aliases: usize,
    pub inferred_aliases: usize,
    pub firmware_files: usize,
    pub rhel_rules: usize,
    pub extra_modules: usize,
}

/// Descriptive data of a profile.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ProfileMeta {
    pub id: String,
    pub distro: String,
    pub release: String,
    pub kernel_version: String,
    pub package_version: String,
    pub end_of_support: Option<String>,
    pub provenance: String,
    /// Buses the alias data covers (`pci`, `usb`); empty means every bus.
    #[serde(default)]
    pub covered_buses: Vec<String>,
    /// True when the profile has the distro's firmware file list.
    #[serde(default)]
    pub has_firmware_list: bool,
    /// Where the firmware list came from.
    #[serde(default)]
    pub firmware_source: String,
    /// True when the data is real kernel output (false: derived by compiling device tables).
    #[serde(default)]
    pub real_data: bool,
    /// True when the kernel records built-in device-table aliases (about 6.18 and later).
    #[serde(default)]
    pub records_builtin_aliases: bool,
    /// Day the source data was collected (`YYYY-MM-DD`).
    #[serde(default)]
    pub data_date: String,
    #[serde(default)]
    pub counts: ProfileCounts,
}

/// The drivers one kernel has for one modalias, as kmod would answer (plus inference).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Loadable modules (modules.alias), kmod's order, each once.
    pub modules: Vec<String>,
    /// Built-in drivers whose alias the kernel records (modules.builtin.alias).
    pub builtin: Vec<String>,
    /// Built-in drivers matched by aliases taken from elsewhere; see [`Profile::inferred_source`].
    pub inferred_builtin: Vec<String>,
}

impl Resolution {
    /// True when no driver of any kind matched.
    pub fn is_empty(&self) -> bool {
        self.modules.is_empty() && self.builtin.is_empty() && self.inferred_builtin.is_empty()
    }

    /// What `modprobe -R` prints (each module once): modules, else recorded built-ins.
    pub fn kmod_answer(&self) -> &[String] {
        if self.modules.is_empty() {
            &self.builtin
        } else {
            &self.modules
        }
    }

    /// Every driver name, modules first.
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.modules
            .iter()
            .chain(&self.builtin)
            .chain(&self.inferred_builtin)
    }
}

/// The bus of a modalias: the text before the first `:` (`pci`, `usb`, `acpi`, `virtio`...).
/// DMI-style `dmi*:` patterns give `dmi`.
pub fn bus_of(modalias: &str) -> &str {
    let head = modalias.split(':').next().unwrap_or(modalias);
    head.trim_end_matches('*')
}

/// One candidate kernel.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub meta: ProfileMeta,
    data: ProfileData,
    index: profile::AliasIndex,
    /// Module indices sorted by name.
    by_name: Vec<u32>,
}

impl Profile {
    /// Wrap profile data, building the index.
    pub fn from_data(mut data: ProfileData) -> Self {
        let mut index = profile::AliasIndex::new(&data.aliases);
        if !index.is_sorted(&data.aliases) {
            data.canonicalize();
            index = profile::AliasIndex::new(&data.aliases);
        }
        let mut by_name: Vec<u32> = (0..data.modules.len() as u32).collect();
        by_name.sort_by(|a, b| {
            let name = |i: &u32| data.modules.get(*i as usize).map(|m| m.name.as_str());
            name(a).cmp(&name(b))
        });
        Profile {
            meta: data.meta.clone(),
            data,
            index,
            by_name,
        }
    }

    /// The stored data (modules, aliases, firmware list, RHEL rules).
    pub fn data(&self) -> &ProfileData {
        &self.data
    }

    /// Decode a compressed profile file.
    pub fn decode(bytes: &[u8], origin: &str) -> Result<Self, Error> {
        ProfileData::decode(bytes, origin).map(Self::from_data)
    }

    /// True when the profile was decoded with an [`AliasFilter`]: it answers only for the
    /// modaliases it was decoded for, and its alias list is not the kernel's (`meta.counts` is).
    pub fn is_filtered(&self) -> bool {
        self.data.filtered
    }

    /// `Ok` for a whole profile; [`Error::Filtered`] for one decoded with an [`AliasFilter`].
    pub fn require_whole(&self) -> Result<&Self, Error> {
        if self.is_filtered() {
            return Err(Error::Filtered(self.meta.id.clone()));
        }
        Ok(self)
    }

    /// The compressed on-disk form.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut data = self.data.clone();
        data.meta = self.meta.clone();
        data.encode()
    }

    /// Matches as (kind, priority, module, pattern literal prefix length), kmod's order.
    fn hits(&self, modalias: &str, partial: bool) -> Vec<profile::Hit> {
        // kmod normalises the lookup key; a key it rejects matches nothing.
        let Some(key) = fnmatch::normalize(modalias) else {
            return Vec::new();
        };
        let mut hits = self
            .index
            .lookup(&self.data.aliases, key.as_bytes(), partial);
        hits.sort_unstable();
        hits
    }

    fn resolution(&self, hits: impl IntoIterator<Item = profile::Hit>) -> Resolution {
        let mut res = Resolution::default();
        for (kind, _, module, _) in hits {
            let Some(m) = self.data.modules.get(module as usize) else {
                continue;
            };
            let list = match kind {
                AliasKind::Module => &mut res.modules,
                AliasKind::Builtin => &mut res.builtin,
                AliasKind::Inferred => &mut res.inferred_builtin,
            };
            if !list.contains(&m.name) {
                list.push(m.name.clone());
            }
        }
        let builtin = res.builtin.clone();
        res.inferred_builtin.retain(|m| !builtin.contains(m));
        res
    }

    fn resolve_with(&self, modalias: &str, partial: bool) -> Resolution {
        self.resolution(self.hits(modalias, partial))
    }

    /// For a partial modalias: the drivers whose pattern names every known character before the
    /// first unknown one literally (they match this device's id), and the others (they match
    /// only through wildcards over known fields, e.g. by class, which is unknown here).
    pub fn resolve_partial_split(&self, modalias: &str) -> (Resolution, Resolution) {
        let known = modalias.find('?').unwrap_or(modalias.len()) as u32;
        let (specific, generic): (Vec<_>, Vec<_>) = self
            .hits(modalias, true)
            .into_iter()
            .partition(|h| h.3 >= known);
        (self.resolution(specific), self.resolution(generic))
    }

    /// Drivers for a concrete modalias.
    pub fn resolve(&self, modalias: &str) -> Resolution {
        self.resolve_with(modalias, false)
    }

    /// Drivers for a modalias with unknown characters written `?`: a pattern matches when some
    /// value of the unknown characters (uppercase hex digits) would.
    pub fn resolve_partial(&self, modalias: &str) -> Resolution {
        self.resolve_with(modalias, true)
    }

    /// The module entry by name (`-` and `_` are the same).
    pub fn module(&self, name: &str) -> Option<&ModuleEntry> {
        let name = name.replace('-', "_");
        let i = self
            .by_name
            .binary_search_by(|i| {
                self.data
                    .modules
                    .get(*i as usize)
                    .map(|m| m.name.as_str())
                    .cmp(&Some(name.as_str()))
            })
            .ok()?;
        self.data.modules.get(*self.by_name.get(i)? as usize)
    }

    /// True when the kernel has a module or built-in driver with this name.
    pub fn has_module(&self, name: &str) -> bool {
        self.module(name).is_some_and(|m| m.loadable || m.builtin)
    }

    /// Where the inferred aliases of a built-in driver come from.
    pub fn inferred_source(&self, name: &str) -> Option<&str> {
        self.module(name)?.inferred_from.as_deref()
    }

    /// True when the profile's alias data covers this bus.
    pub fn covers_bus(&self, bus: &str) -> bool {
        self.meta.covered_buses.is_empty() || self.meta.covered_buses.iter().any(|b| b == bus)
    }

    /// RHEL hardware status for a device (PCI id tables) or one of its drivers.
    pub fn rhel_status(&self, modalias: &str, drivers: &[&str]) -> Option<RhelStatus> {
        let ids = pci_ids(modalias);
        let mut best: Option<(u8, RhelStatus)> = None;
        let mut consider = |rank: u8, status: RhelStatus| {
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, status));
            }
        };
        for rule in &self.data.rhel {
            let (status, by) = match rule.table.as_str() {
                "rh_disabled_pci_devices" => ("disabled", "device"),
                "rh_unmaintained_pci_devices" => ("unmaintained", "device"),
                "rh_deprecated_pci_devices" => ("deprecated", "device"),
                "rh_unmaintained_drivers" => ("unmaintained", "driver"),
                "rh_deprecated_drivers" => ("deprecated", "driver"),
                _ => continue,
            };
            let hit = if by == "device" {
                ids.as_ref().is_some_and(|ids| {
                    [&rule.vendor, &rule.device, &rule.subvendor, &rule.subdevice]
                        .iter()
                        .zip(ids)
                        .all(|(want, have)| {
                            want.as_str() == "*"
                                || want.as_str() == "-"
                                || have.as_deref() == Some(want.as_str())
                        })
                })
            } else {
                let name = rule.name.replace('-', "_");
                drivers.iter().any(|d| d.replace('-', "_") == name)
            };
            if hit {
                let rank = match status {
                    "disabled" => 3,
                    "unmaintained" => 2,
                    _ => 1,
                };
                let name = if by == "driver" {
                    rule.name.clone()
                } else {
                    format!(
                        "{}:{} {}:{}",
                        rule.vendor, rule.device, rule.subvendor, rule.subdevice
                    )
                };
                consider(
                    rank,
                    RhelStatus {
                        status: status.into(),
                        by: by.into(),
                        name,
                    },
                );
            }
        }
        best.map(|(_, s)| s)
    }

    /// The full verdict for a device on this kernel.
    ///
    /// With `partial`, only drivers whose pattern names the known id count (see
    /// [`Profile::resolve_partial_split`]); when only class-style wildcards match, the verdict is
    /// Unknown: whether they apply depends on the unknown fields.
    pub fn coverage(&self, modalias: &str, partial: bool) -> Coverage {
        let bus = bus_of(modalias);
        let mut cov = Coverage {
            partial,
            ..Default::default()
        };
        let res = if partial {
            let (specific, generic) = self.resolve_partial_split(modalias);
            if specific.is_empty() && !generic.is_empty() {
                cov.verdict = Verdict::Unknown;
                cov.reason = format!(
                    "no {} driver names this device's id; {} would match depending on the \
                     unknown fields (class)",
                    self.meta.id,
                    generic.all().cloned().collect::<Vec<_>>().join(", ")
                );
                return cov;
            }
            specific
        } else {
            self.resolve(modalias)
        };
        if res.is_empty() {
            if self.covers_bus(bus) {
                cov.verdict = Verdict::NoDriver;
                cov.reason = format!("no driver in {} matches this device", self.meta.id);
            } else {
                cov.verdict = Verdict::Unknown;
                cov.reason = format!(
                    "the {} data covers only {} devices, not {bus}",
                    self.meta.id,
                    self.meta.covered_buses.join(" and ")
                );
            }
            return cov;
        }
        let drivers: Vec<&str> = res.all().map(String::as_str).collect();
        let mut notes: Vec<String> = Vec::new();
        let mut verdict = Verdict::Supported;

        // Firmware: modinfo does not say which file which device needs, so a driver counts as
        // lacking firmware only when none of the files it asks for ships.
        let mut fw_missing_drivers = Vec::new();
        for d in &drivers {
            let Some(m) = self.module(d) else { continue };
            let mut any_shipped = false;
            for file in &m.firmware {
                let (shipped, package) = match &self.data.firmware {
                    None => (None, None),
                    Some(list) => match list.satisfies(file) {
                        Some((pkg, alt)) => {
                            if let Some(alt) = alt
                                && !alt.starts_with(file.as_str())
                            {
                                notes.push(format!(
                                    "{file} is met by the older API file {alt} the driver falls back to"
                                ));
                            }
                            (Some(true), Some(pkg))
                        }
                        None => (Some(false), None),
                    },
                };
                any_shipped |= shipped == Some(true);
                cov.firmware.push(FirmwareNeed {
                    module: m.name.clone(),
                    file: file.clone(),
                    shipped,
                    package,
                });
            }
            if self.data.firmware.is_some() && !m.firmware.is_empty() && !any_shipped {
                fw_missing_drivers.push(m.name.clone());
            }
        }

        cov.extra_package = drivers
            .iter()
            .filter_map(|d| self.module(d))
            .filter(|m| m.extra)
            .map(|m| m.name.clone())
            .collect();
        cov.rhel_status = self.rhel_status(modalias, &drivers);

        let all_extra = cov.extra_package.len() == drivers.len();
        if let Some(st) = &cov.rhel_status {
            let v = match st.status.as_str() {
                "disabled" => Verdict::Disabled,
                _ => Verdict::Deprecated,
            };
            verdict = verdict.max(v);
            notes.push(format!("RHEL marks {} {} as {}", st.by, st.name, st.status));
        }
        if all_extra {
            verdict = verdict.max(Verdict::ExtraPackage);
            notes.push(format!(
                "{} ships only in kernel-modules-extra",
                cov.extra_package.join(", ")
            ));
        }
        if !fw_missing_drivers.is_empty() && fw_missing_drivers.len() == drivers.len() {
            verdict = verdict.max(Verdict::FirmwareMissing);
            notes.push(format!(
                "no firmware file {} asks for is in the distro's firmware packages",
                fw_missing_drivers.join(", ")
            ));
        }
        for d in &res.inferred_builtin {
            if let Some(src) = self.inferred_source(d) {
                notes.push(format!(
                    "{d} is built in; its aliases are inferred from {src} (kmod cannot see them)"
                ));
            }
        }
        let how = if !res.modules.is_empty() {
            format!("module {}", res.modules.join(", "))
        } else if !res.builtin.is_empty() {
            format!("built-in {}", res.builtin.join(", "))
        } else {
            format!("built-in {} (inferred)", res.inferred_builtin.join(", "))
        };
        cov.reason = std::iter::once(format!("{} drives it with {how}", self.meta.id))
            .chain(notes)
            .collect::<Vec<_>>()
            .join("; ");
        cov.verdict = verdict;
        cov.modules = res.modules;
        cov.builtin = res.builtin;
        cov.inferred_builtin = res.inferred_builtin;
        cov
    }
}

/// Vendor, device, subvendor, subdevice of a PCI modalias, lowercase 4-digit hex; None for an
/// unknown (`?`) field.
fn pci_ids(modalias: &str) -> Option<[Option<String>; 4]> {
    let rest = modalias.strip_prefix("pci:")?;
    let field = |tag: &str, next: &str| -> Option<String> {
        let start = rest.find(tag)? + tag.len();
        let end = start + rest.get(start..)?.find(next)?;
        let v = rest.get(start..end)?;
        let v = v.get(v.len().saturating_sub(4)..)?;
        (!v.contains('?')).then(|| v.to_ascii_lowercase())
    };
    Some([
        field("v", "d"),
        field("d", "sv"),
        field("sv", "sd"),
        field("sd", "bc"),
    ])
}

/// Declares the shipped profiles once: their ids and their embedded bytes.
macro_rules! shipped {
    ($($id:literal),* $(,)?) => {
        /// The names of the profiles shipped in `kernels/profiles/`, in catalog order.
        pub const SHIPPED_IDS: [&str; [$($id),*].len()] = [$($id),*];

        static EMBEDDED: &[(&str, &[u8])] =
            &[$(($id, include_bytes!(concat!("../profiles/", $id, ".profile.zst")))),*];
    };
}

shipped!(
    "debian-12",
    "debian-13",
    "debian-13-backports",
    "debian-sid",
    "rhel-8.10",
    "rhel-9.6",
    "rhel-10.0",
    "qubes-6.12",
    "qubes-6.18",
    "qubes-7.1",
);

/// A set of profiles.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    profiles: Vec<Profile>,
}

impl Catalog {
    /// The profiles embedded in this binary.
    pub fn embedded() -> Result<Self, Error> {
        Self::start_embedded().finish(None)
    }

    /// Start decompressing the embedded profiles on background threads; finish with the
    /// modaliases to look up once they are known ([`PendingCatalog::finish`]).
    pub fn start_embedded() -> PendingCatalog {
        PendingCatalog::start(
            EMBEDDED
                .iter()
                .map(|(id, bytes)| pending::Job {
                    source: pending::Source::Embedded(bytes),
                    origin: format!("embedded {id}.profile.zst"),
                })
                .collect(),
        )
    }

    /// Profiles from a directory of `<id>.profile.zst` files, in `catalog.json` order when
    /// present, else by file name.
    pub fn load_dir(dir: &Path) -> Result<Self, Error> {
        Self::start_dir(dir)?.finish(None)
    }

    /// [`Catalog::load_dir`] in two steps: the files are listed now, read and decompressed on
    /// background threads ([`PendingCatalog::finish`]).
    pub fn start_dir(dir: &Path) -> Result<PendingCatalog, Error> {
        let mut files: Vec<PathBuf> = Vec::new();
        let catalog = dir.join("catalog.json");
        if catalog.exists() {
            let text = std::fs::read_to_string(&catalog).map_err(|e| Error::io(&catalog, e))?;
            let entries: Vec<CatalogEntry> = serde_json::from_str(&text)
                .map_err(|e| Error::bad(catalog.display(), format!("bad catalog: {e}")))?;
            files.extend(entries.iter().map(|e| dir.join(&e.file)));
        } else {
            for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
                let path = entry.map_err(|e| Error::io(dir, e))?.path();
                if path.to_string_lossy().ends_with(".profile.zst") {
                    files.push(path);
                }
            }
            files.sort();
        }
        Ok(PendingCatalog::start(
            files
                .into_iter()
                .map(|path| pending::Job {
                    origin: path.display().to_string(),
                    source: pending::Source::File(path),
                })
                .collect(),
        ))
    }

    /// Wrap profiles built in memory.
    pub fn from_profiles(profiles: Vec<Profile>) -> Self {
        Catalog { profiles }
    }

    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    pub fn get(&self, id: &str) -> Result<&Profile, Error> {
        self.profiles
            .iter()
            .find(|p| p.meta.id == id)
            .ok_or_else(|| Error::UnknownKernel(id.to_owned()))
    }

    /// Write every profile as `<id>.profile.zst` plus `catalog.json` into `dir`.
    pub fn write_dir(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut entries = Vec::new();
        for p in &self.profiles {
            let file = format!("{}.profile.zst", p.meta.id);
            let path = dir.join(&file);
            std::fs::write(&path, p.encode()?).map_err(|e| Error::io(&path, e))?;
            entries.push(CatalogEntry {
                file,
                meta: p.meta.clone(),
            });
        }
        let path = dir.join("catalog.json");
        let mut text = serde_json::to_string_pretty(&entries)
            .map_err(|e| Error::bad(path.display(), e.to_string()))?;
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
    }
}

/// One entry of `catalog.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CatalogEntry {
    pub file: String,
    #[serde(flatten)]
    pub meta: ProfileMeta,
}
