//! A [`Catalog`]: the candidate kernels' profiles, and its `catalog.json` when written to a
//! folder. Loading one (embedded, or from a folder) is in `pending.rs`.

use std::path::Path;

use crate::error::Error;
use crate::lookup::Profile;
use crate::meta::ProfileMeta;

/// A set of profiles.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    profiles: Vec<Profile>,
}

impl Catalog {
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
            crate::error::check_id(&p.meta.id)?;
            let file = format!("{}.profile.zst", p.meta.id);
            let path = dir.join(&file);
            crate::fsio::write_replacing(&path, &p.encode()?).map_err(|e| Error::io(&path, e))?;
            entries.push(CatalogEntry {
                file,
                meta: p.meta.clone(),
            });
        }
        let path = dir.join("catalog.json");
        let mut text = serde_json::to_string_pretty(&entries)
            .map_err(|e| Error::bad(path.display(), e.to_string()))?;
        text.push('\n');
        crate::fsio::write_replacing(&path, text.as_bytes()).map_err(|e| Error::io(&path, e))
    }
}

/// One entry of `catalog.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CatalogEntry {
    pub file: String,
    #[serde(flatten)]
    pub meta: ProfileMeta,
}
