//! [`ProfileBuilder`]: collects modules and aliases from any importer, infers the built-in
//! aliases old kernels do not record, then makes a [`Profile`].

use std::collections::BTreeMap;

use crate::binary::ModuleSet;
use hcl_kernel_engine::Catalog;
use hcl_kernel_engine::Profile;
use hcl_kernel_engine::fnmatch::normalize;
use hcl_kernel_engine::profile::model::{
    Alias, AliasKind, FirmwareList, ModuleEntry, ProfileData, RhelRule,
};
use hcl_kernel_engine::{ProfileCounts, ProfileMeta};

/// Collects modules and aliases, then makes a [`Profile`].
#[derive(Debug, Clone, Default)]
pub struct ProfileBuilder {
    pub meta: ProfileMeta,
    pub(crate) modules: BTreeMap<String, ModuleEntry>,
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

    /// Every built-in module. A kernel that records no device-table aliases of built-ins still
    /// records their explicit `MODULE_ALIAS` lines (`platform:rtc_cmos`), so having some alias
    /// says nothing about the device tables: each built-in is a candidate for inference.
    pub fn builtin_modules(&self) -> Vec<String> {
        self.modules
            .values()
            .filter(|m| m.builtin)
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
            conditions: 0,
        };
        data.meta.has_firmware_list = data.firmware.is_some();
        data.canonicalize();
        Profile::from_data(data)
    }
}

impl ProfileBuilder {
    /// A builder of a profile from modules read out of binary sources (.ko trees, .deb, .rpm),
    /// to add inference before building. `firmware` is the distro's firmware file list, when
    /// known; otherwise the firmware files the sources themselves carried
    /// (`ModuleSet::firmware_files`) are used when there are any.
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
pub(crate) fn series(version: &str) -> Option<i64> {
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

/// For each built-in driver of `target`, copy the aliases the same module has in the closest
/// real kernel among `sources` (then derived ones) that `target` does not record, as
/// [`AliasKind::Inferred`] labelled with the source id. Call it only for kernels that record no
/// device-table aliases of built-ins (before about 6.18).
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
    for name in target.builtin_modules() {
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
