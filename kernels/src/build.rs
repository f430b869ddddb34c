//! Building profiles: from imported folders or a [`ModuleSet`], built-in alias inference across
//! kernels, and regeneration of every shipped profile from the repository's `data/kernel-data`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::binary::ModuleSet;
use crate::fnmatch::normalize;
use crate::import;
use crate::profile::{Alias, AliasKind, FirmwareList, ModuleEntry, ProfileData, RhelRule};
use crate::{Catalog, Error, Profile, ProfileCounts, ProfileMeta};

/// Collects modules and aliases, then makes a [`Profile`].
#[derive(Debug, Clone, Default)]
pub struct ProfileBuilder {
    pub meta: ProfileMeta,
    modules: BTreeMap<String, ModuleEntry>,
    /// (kind, normalised pattern, module) in source order (kmod's answer order).
    aliases: Vec<(AliasKind, String, String)>,
    pub firmware: Option<FirmwareList>,
    pub rhel: Vec<RhelRule>,
    /// Patterns kmod's depmod would reject (unbalanced brackets), skipped like depmod does.
    pub skipped_aliases: Vec<String>,
}

impl ProfileBuilder {
    pub fn new(meta: ProfileMeta) -> Self {
        ProfileBuilder {
            meta,
            ..Default::default()
        }
    }

    /// The entry of a module (created when new); `-` in the name becomes `_`.
    pub fn module(&mut self, name: &str) -> &mut ModuleEntry {
        let name = name.replace('-', "_");
        self.modules
            .entry(name.clone())
            .or_insert_with(|| ModuleEntry {
                name,
                ..Default::default()
            })
    }

    /// Add an alias as depmod would index it; false when depmod would skip it.
    pub fn add_alias(&mut self, kind: AliasKind, pattern: &str, module: &str) -> bool {
        let module = module.replace('-', "_");
        self.module(&module);
        match normalize(pattern) {
            Some(p) if !p.is_empty() && !p.contains(['\t', '\n']) => {
                self.aliases.push((kind, p, module));
                true
            }
            _ => {
                self.skipped_aliases.push(pattern.to_owned());
                false
            }
        }
    }

    /// Normalised aliases a module has as a loadable module or recorded built-in.
    pub fn recorded_aliases(&self, module: &str) -> Vec<&str> {
        self.aliases
            .iter()
            .filter(|(k, _, m)| *k != AliasKind::Inferred && m == module)
            .map(|(_, p, _)| p.as_str())
            .collect()
    }

    /// Built-in modules that have no recorded device alias (`bus:` patterns) of their own.
    pub fn builtins_without_device_aliases(&self) -> Vec<String> {
        let with: std::collections::BTreeSet<&str> = self
            .aliases
            .iter()
            .filter(|(_, p, _)| p.contains(':'))
            .map(|(_, _, m)| m.as_str())
            .collect();
        self.modules
            .values()
            .filter(|m| m.builtin && !with.contains(m.name.as_str()))
            .map(|m| m.name.clone())
            .collect()
    }

    /// Make the profile.
    pub fn build(self) -> Profile {
        let mut data = ProfileData {
            meta: self.meta,
            firmware: self.firmware,
            rhel: self.rhel,
            ..Default::default()
        };
        let mut index: BTreeMap<String, u32> = BTreeMap::new();
        for (i, (name, m)) in self.modules.into_iter().enumerate() {
            index.insert(name, i as u32);
            data.modules.push(m);
        }
        let mut priority: BTreeMap<AliasKind, u32> = BTreeMap::new();
        for (kind, pattern, module) in self.aliases {
            let Some(&module) = index.get(&module) else {
                continue;
            };
            let p = priority.entry(kind).or_default();
            data.aliases.push(Alias {
                kind,
                priority: *p,
                module,
                pattern,
            });
            *p += 1;
        }
        let count = |k: AliasKind| data.aliases.iter().filter(|a| a.kind == k).count();
        data.meta.counts = ProfileCounts {
            modules: data.modules.iter().filter(|m| m.loadable).count(),
            builtin_modules: data.modules.iter().filter(|m| m.builtin).count(),
            aliases: count(AliasKind::Module),
            builtin_aliases: count(AliasKind::Builtin),
            inferred_aliases: count(AliasKind::Inferred),
            firmware_files: data.firmware.as_ref().map_or(0, |f| f.files.len()),
            rhel_rules: data.rhel.len(),
            extra_modules: data.modules.iter().filter(|m| m.extra).count(),
        };
        data.meta.has_firmware_list = data.firmware.is_some();
        data.canonicalize();
        Profile::from_data(data)
    }
}

impl Profile {
    /// A profile from modules read out of binary sources (.ko trees, .deb, .rpm).
    /// `firmware` is the distro's firmware file list, when known; otherwise the firmware files
    /// the sources themselves carried (`ModuleSet::firmware_files`) are used when there are any.
    pub fn from_module_set(
        meta: ProfileMeta,
        set: &ModuleSet,
        firmware: Option<FirmwareList>,
    ) -> Profile {
        ProfileBuilder::from_module_set(meta, set, firmware).build()
    }
}

impl ProfileBuilder {
    /// A builder holding a [`ModuleSet`], to add inference before building; see
    /// [`Profile::from_module_set`].
    pub fn from_module_set(
        mut meta: ProfileMeta,
        set: &ModuleSet,
        firmware: Option<FirmwareList>,
    ) -> ProfileBuilder {
        if meta.kernel_version.is_empty() {
            meta.kernel_version = set.kernel_version.clone();
        }
        if meta.provenance.is_empty() {
            meta.provenance = format!(
                "read from {}",
                set.sources
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        meta.real_data = true;
        meta.records_builtin_aliases = set
            .builtin
            .iter()
            .any(|m| m.aliases.iter().any(|a| a.starts_with("pci:")));
        let mut b = ProfileBuilder::new(meta);
        for (list, builtin) in [(&set.modules, false), (&set.builtin, true)] {
            // A name from a file path (a tar entry, a modules.builtin line) can hold anything;
            // one with a control character is no module and cannot be written in a profile.
            for m in list.iter().filter(|m| is_plain(&m.name)) {
                let entry = b.module(&m.name);
                if builtin {
                    entry.builtin = true;
                } else {
                    entry.loadable = true;
                }
                // RHEL ships some modules only in the optional kernel-modules-extra package.
                if m.package
                    .as_deref()
                    .is_some_and(|p| p.contains("modules-extra"))
                {
                    entry.extra = true;
                }
                for f in m.firmware.iter().filter(|f| is_plain(f)) {
                    if !entry.firmware.contains(f) {
                        entry.firmware.push(f.clone());
                    }
                }
                let kind = if builtin {
                    AliasKind::Builtin
                } else {
                    AliasKind::Module
                };
                for a in m.aliases.iter().filter(|a| is_plain(a)) {
                    b.add_alias(kind, a, &m.name);
                }
            }
        }
        b.firmware = firmware.or_else(|| {
            let files: Vec<&String> = set.firmware_files.iter().filter(|f| is_plain(f)).collect();
            (!files.is_empty()).then(|| {
                FirmwareList::from_pairs(
                    files
                        .into_iter()
                        .map(|f| (f.clone(), "(imported sources)".to_owned())),
                )
            })
        });
        b
    }

    /// A builder with the recorded aliases of an existing profile, as an inference source.
    pub fn from_profile(profile: &Profile) -> ProfileBuilder {
        let mut b = ProfileBuilder::new(profile.meta.clone());
        let data = profile.data();
        for a in &data.aliases {
            if let Some(m) = data.modules.get(a.module as usize) {
                b.aliases.push((a.kind, a.pattern.clone(), m.name.clone()));
            }
        }
        b
    }

    /// Infer built-in aliases from a catalog's real-data profiles when this kernel does not
    /// record them (before about 6.18). Returns the number of aliases added.
    pub fn infer_from_catalog(&mut self, catalog: &Catalog) -> usize {
        if series(&self.meta.kernel_version).is_none_or(|s| s >= 618) {
            return 0;
        }
        let sources: Vec<ProfileBuilder> = catalog
            .profiles()
            .iter()
            .map(ProfileBuilder::from_profile)
            .collect();
        let refs: Vec<&ProfileBuilder> = sources.iter().collect();
        infer_builtins(self, &refs)
    }
}

/// Whether a name read from a binary source fits a field of the profile's text form, which
/// separates fields with tabs and records with line ends.
fn is_plain(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// Kernel series as a number on one line of releases: 6.1 -> 601, 6.19 -> 619, 7.0 -> 620.
fn series(version: &str) -> Option<i64> {
    let mut it = version.split(['.', '-', '+']);
    let major: i64 = it.next()?.parse().ok()?;
    let minor: i64 = it.next()?.parse().ok()?;
    // 6.19 was followed by 7.0.
    Some(if major >= 7 {
        620 + (major - 7) * 20 + minor
    } else {
        major * 100 + minor
    })
}

/// For each built-in driver of `target` without recorded device aliases, copy the aliases the
/// same module has in the closest real kernel among `sources` (then derived ones), as
/// [`AliasKind::Inferred`] labelled with the source id.
pub fn infer_builtins(target: &mut ProfileBuilder, sources: &[&ProfileBuilder]) -> usize {
    let Some(own) = series(&target.meta.kernel_version) else {
        return 0;
    };
    // Recorded aliases per module of every source, built once.
    let tables: Vec<(&ProfileBuilder, BTreeMap<&str, Vec<&str>>)> = sources
        .iter()
        .filter(|s| s.meta.id != target.meta.id)
        .map(|s| {
            let mut t: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (k, p, m) in &s.aliases {
                if *k != AliasKind::Inferred {
                    t.entry(m.as_str()).or_default().push(p.as_str());
                }
            }
            (*s, t)
        })
        .collect();
    let mut added = 0;
    for name in target.builtins_without_device_aliases() {
        let own_aliases: Vec<String> = target
            .recorded_aliases(&name)
            .into_iter()
            .map(str::to_owned)
            .collect();
        // Only sources that add aliases this kernel does not record compete.
        let best = tables
            .iter()
            .filter_map(|(s, t)| {
                let new: Vec<String> = t
                    .get(name.as_str())?
                    .iter()
                    .filter(|a| !own_aliases.iter().any(|o| o == *a))
                    .map(|a| (*a).to_owned())
                    .collect();
                let theirs = series(&s.meta.kernel_version)?;
                // Real data first, then the closest series, then the newer kernel.
                (!new.is_empty())
                    .then(|| ((!s.meta.real_data, (theirs - own).abs(), -theirs), s, new))
            })
            .min_by(|a, b| a.0.cmp(&b.0));
        let Some((_, source, new)) = best else {
            continue;
        };
        let source_id = source.meta.id.clone();
        target.module(&name).inferred_from = Some(source_id);
        for a in new {
            target.aliases.push((AliasKind::Inferred, a, name.clone()));
            added += 1;
        }
    }
    added
}

/// Day the kernel data was collected, from its README (`Collected YYYY-MM-DD.`).
fn data_date(kernel_data: &Path) -> String {
    std::fs::read_to_string(kernel_data.join("README.md"))
        .ok()
        .and_then(|t| {
            let i = t.find("Collected ")? + "Collected ".len();
            t.get(i..i + 10).map(str::to_owned)
        })
        .unwrap_or_default()
}

fn first_dir(parent: &Path, prefix: &str) -> Result<std::path::PathBuf, Error> {
    let mut found: Vec<_> = std::fs::read_dir(parent)
        .map_err(|e| Error::io(parent, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    found.sort();
    found.into_iter().next().ok_or_else(|| {
        Error::bad(
            parent.display(),
            format!("no folder starting with {prefix}"),
        )
    })
}

struct Spec {
    id: &'static str,
    distro: &'static str,
    release: &'static str,
    folder: &'static str,
    end_of_support: Option<&'static str>,
}

const DEBIAN: [(Spec, &str); 4] = [
    (
        Spec {
            id: "debian-12",
            distro: "debian",
            release: "12 (bookworm)",
            folder: "debian-bookworm-",
            end_of_support: Some("2028-06-30 (LTS)"),
        },
        "bookworm",
    ),
    (
        Spec {
            id: "debian-13",
            distro: "debian",
            release: "13 (trixie)",
            folder: "debian-trixie-6",
            end_of_support: Some("2030-06-30 (LTS)"),
        },
        "trixie",
    ),
    (
        Spec {
            id: "debian-13-backports",
            distro: "debian",
            release: "13 (trixie-backports)",
            folder: "debian-trixie-backports-",
            end_of_support: None,
        },
        "sid",
    ),
    (
        Spec {
            id: "debian-sid",
            distro: "debian",
            release: "sid (unstable)",
            folder: "debian-sid-",
            end_of_support: None,
        },
        "sid",
    ),
];

/// Package version from a Debian folder name (`debian-trixie-backports-7.3.4-1_bpo13+1` ->
/// `7.3.4-1~bpo13+1`).
fn debian_package_version(folder: &str, prefix: &str) -> String {
    let v = folder.strip_prefix(prefix).unwrap_or(folder);
    let v = if prefix.ends_with('6') {
        format!("6{v}")
    } else {
        v.to_owned()
    };
    v.replace("_bpo", "~bpo")
}

/// Regenerate every shipped profile from `data` (the folder holding `kernel-data/`: the
/// repository's `data/`). `progress(done, total, id)` is called per profile.
pub fn build_shipped(data: &Path, progress: &dyn Fn(u64, u64, &str)) -> Result<Catalog, Error> {
    let kd = data.join("kernel-data");
    let date = data_date(&kd);
    let total = 8;
    let mut builders: Vec<ProfileBuilder> = Vec::new();

    for (i, (spec, fw_suite)) in DEBIAN.iter().enumerate() {
        progress(i as u64, total, spec.id);
        let dir = first_dir(&kd, spec.folder)?;
        let folder = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let meta = ProfileMeta {
            id: spec.id.into(),
            distro: spec.distro.into(),
            release: spec.release.into(),
            package_version: debian_package_version(&folder, spec.folder),
            end_of_support: spec.end_of_support.map(str::to_owned),
            real_data: true,
            data_date: date.clone(),
            ..Default::default()
        };
        let mut b = import::import_debian_dir(&dir, meta)?;
        b.meta.records_builtin_aliases =
            series(&b.meta.kernel_version).is_some_and(|s| s >= series("6.18").unwrap_or(618));
        let dep11 = kd.join("debian-dep11-non-free-firmware").join(format!(
            "{fw_suite}_non-free-firmware_Components-amd64.yml.gz"
        ));
        let mut pairs = import::read_dep11(&dep11)?;
        let mut source = format!("debian-dep11-non-free-firmware/{fw_suite} (Provides.firmware)");
        if *fw_suite == "trixie" {
            let tsv = import::required(&kd.join("debian-firmware-trixie"), "firmware-files.tsv")?;
            pairs.extend(import::read_firmware_tsv(&tsv)?);
            source.push_str(" + debian-firmware-trixie/firmware-files.tsv");
        }
        b.meta.firmware_source = source;
        b.firmware = Some(FirmwareList::from_pairs(pairs));
        builders.push(b);
    }

    let rhel = [
        ("rhel-8.10", "8.10", "el8.10-", Some("2029-05-31")),
        ("rhel-9.6", "9.6", "el9.6-", Some("2027-05-31 (EUS)")),
        ("rhel-10.0", "10.0", "el10.0-", None),
    ];
    // Module paths for def_variants rules: RHEL 10 is a 6.12 kernel; Debian 6.12's layout of
    // kernel/ is the closest public map from module name to path.
    let debian_612_paths = module_paths(&import::required(
        &first_dir(&kd, "debian-trixie-6")?,
        "modules.dep",
    )?)?;
    for (i, (id, release, prefix, eos)) in rhel.iter().enumerate() {
        progress(4 + i as u64, total, id);
        let dir = first_dir(&kd.join("rhel-derived-aliases"), prefix)?;
        let folder = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let kernel = folder.trim_start_matches(prefix).to_owned();
        let meta = ProfileMeta {
            id: (*id).into(),
            distro: "rhel".into(),
            release: (*release).into(),
            kernel_version: kernel.clone(),
            package_version: format!("kernel-{kernel}"),
            end_of_support: eos.map(str::to_owned),
            provenance: format!(
                "rhel-derived-aliases/{folder}: pci/usb aliases derived from the AlmaLinux source \
                 with the RHEL config; rhel-almalinux/{folder}: hardware status, module packages"
            ),
            data_date: date.clone(),
            firmware_source: "none (derived data has no firmware lists)".into(),
            ..Default::default()
        };
        let mut b = import::import_derived_dir(&dir, meta)?;
        let alma = kd.join("rhel-almalinux").join(&folder);
        b.rhel = import::read_rhel_status(&import::required(&alma, "rh-hardware-status.tsv")?)?;
        let mut extra: Vec<String> = Vec::new();
        for list in ["mod-extra.list", "mod-extra.list.rhel"] {
            if let Some(p) = import::data_file(&alma, list) {
                extra.extend(import::read_mod_extra(&p)?);
            }
        }
        if let Some(variants) = import::data_file(&alma, "def_variants.yaml.rhel") {
            let rules = import::parse_def_variants(&import::read_text(&variants)?);
            for (name, path) in &debian_612_paths {
                let rel = path.strip_prefix("kernel/").unwrap_or(path);
                if import::def_variants_package(&rules, rel) == Some("modules-extra") {
                    extra.push(name.clone());
                }
            }
        }
        for name in extra {
            if let Some(m) = b.modules.get_mut(&name) {
                m.extra = true;
            }
        }
        builders.push(b);
    }

    progress(7, total, "qubes-6.12");
    let qdir = kd.join("qubes-derived/qubes-6.12");
    let meta = ProfileMeta {
        id: "qubes-6.12".into(),
        distro: "qubes".into(),
        release: "dom0 stable-6.12".into(),
        kernel_version: "6.12.103".into(),
        package_version: "kernel-6.12.103-1".into(),
        end_of_support: Some("2026-12 (upstream 6.12 LTS)".into()),
        provenance: "qubes-derived/qubes-6.12: pci/usb aliases derived from Debian's 6.12.117 \
                     source with the Qubes dom0 config (see its SOURCE.txt)"
            .into(),
        data_date: date.clone(),
        firmware_source: "none (derived data has no firmware lists)".into(),
        ..Default::default()
    };
    builders.push(import::import_derived_dir(&qdir, meta)?);

    // Inference needs every builder's recorded aliases; do it on a snapshot.
    let snapshot = builders.clone();
    let refs: Vec<&ProfileBuilder> = snapshot.iter().collect();
    for b in builders.iter_mut().filter(|b| b.meta.real_data) {
        if !b.meta.records_builtin_aliases {
            infer_builtins(b, &refs);
        }
    }
    progress(total, total, "done");
    Ok(Catalog::from_profiles(
        builders.into_iter().map(ProfileBuilder::build).collect(),
    ))
}

/// Module name -> path from a modules.dep.
fn module_paths(dep: &Path) -> Result<Vec<(String, String)>, Error> {
    let text = import::read_text(dep)?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(p, _)| Some((import::module_name_from_path(p)?, p.to_owned())))
        .collect())
}
