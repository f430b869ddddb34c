//! [`Profile`]: one candidate kernel's profile ready for lookups, and [`Resolution`], the
//! drivers that match a modalias as kmod would answer (plus inference).

use crate::error::Error;
use crate::fnmatch;
use crate::meta::ProfileMeta;
use crate::profile::index::{AliasIndex, Hit};
use crate::profile::model::{AliasKind, ModuleEntry, ProfileData};

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

/// One candidate kernel.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub meta: ProfileMeta,
    pub(crate) data: ProfileData,
    index: AliasIndex,
    /// Module indices sorted by name.
    by_name: Vec<u32>,
}

impl Profile {
    /// Wrap profile data, building the index.
    pub fn from_data(mut data: ProfileData) -> Self {
        let mut index = AliasIndex::new(&data.aliases);
        if !index.is_sorted(&data.aliases) {
            data.canonicalize();
            index = AliasIndex::new(&data.aliases);
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

    /// True when the profile was decoded with an [`AliasFilter`](crate::AliasFilter): it answers only for the
    /// modaliases it was decoded for, and its alias list is not the kernel's (`meta.counts` is).
    pub fn is_filtered(&self) -> bool {
        self.data.filtered
    }

    /// `Ok` for a whole profile; [`Error::Filtered`] for one decoded with an [`AliasFilter`](crate::AliasFilter).
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
    fn hits(&self, modalias: &str, partial: bool) -> Vec<Hit> {
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

    fn resolution(&self, hits: impl IntoIterator<Item = Hit>) -> Resolution {
        let mut res = Resolution::default();
        for hit in hits {
            let Some(m) = self.data.modules.get(hit.module as usize) else {
                continue;
            };
            let list = match hit.kind {
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
            .partition(|h| h.literal_len >= known);
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
}
