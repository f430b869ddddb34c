//! Loading a catalog, embedded or from a folder, in two steps: decompression starts at once on
//! rayon's pool, parsing waits for the caller's [`AliasFilter`]. A probe knows which modaliases
//! it will look up only after walking sysfs, and the walk overlaps the decompression.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use crate::catalog::{Catalog, CatalogEntry};
use crate::error::Error;
use crate::filter::AliasFilter;
use crate::lookup::Profile;
use crate::meta::ProfileMeta;
use crate::profile::codec::{decode_meta, decompress};
use crate::profile::model::ProfileData;
use crate::shipped::EMBEDDED;

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
                .map(|(id, bytes)| Job {
                    source: Source::Embedded(bytes),
                    origin: format!("embedded {id}.profile.zst"),
                })
                .collect(),
        )
    }

    /// The metadata (versions, provenance, counts) of the profiles embedded in this binary,
    /// without decoding them.
    pub fn embedded_meta() -> Result<Vec<ProfileMeta>, Error> {
        EMBEDDED
            .iter()
            .map(|(id, bytes)| decode_meta(bytes, &format!("embedded {id}.profile.zst")))
            .collect()
    }

    /// The embedded profiles for `--version`: one line each with kernel, package and where the
    /// data came from.
    pub fn embedded_summary() -> String {
        use std::fmt::Write as _;
        let metas = match Self::embedded_meta() {
            Ok(metas) => metas,
            Err(e) => return format!("kernel profiles: unreadable ({e})\n"),
        };
        let mut text = format!("kernel profiles ({} embedded):\n", metas.len());
        for m in metas {
            let date = if m.data_date.is_empty() {
                String::new()
            } else {
                format!(", data of {}", m.data_date)
            };
            let _ = writeln!(
                text,
                "  {:<20} {} ({}{date}): {}",
                m.id, m.kernel_version, m.package_version, m.provenance
            );
        }
        text
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
            let text =
                crate::fsio::read_regular_text(&catalog).map_err(|e| Error::io(&catalog, e))?;
            let entries: Vec<CatalogEntry> = serde_json::from_str(&text)
                .map_err(|e| Error::bad(catalog.display(), format!("bad catalog: {e}")))?;
            for e in &entries {
                // A catalog names files of its own folder, never a path.
                let id = e.file.strip_suffix(".profile.zst").unwrap_or("");
                if let Err(bad) = crate::error::check_id(id) {
                    return Err(Error::bad(
                        catalog.display(),
                        format!("file {:?} is not <id>.profile.zst: {bad}", e.file),
                    ));
                }
            }
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
                .map(|path| Job {
                    origin: path.display().to_string(),
                    source: Source::File(path),
                })
                .collect(),
        ))
    }
}

/// Where the compressed bytes of one profile are.
#[derive(Debug)]
pub(crate) enum Source {
    Embedded(&'static [u8]),
    File(PathBuf),
}

/// One profile to load; `origin` names it in errors.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) source: Source,
    pub(crate) origin: String,
}

/// What decompressing one profile gave.
#[derive(Debug)]
enum Decoded {
    /// Decompressed before the filter was known: `finish` parses it.
    Text(String),
    Profile(Box<Profile>),
}

/// Per job, in job order; None for a job skipped after the pending catalog was dropped.
type Done = Vec<Option<Result<Decoded, Error>>>;

#[derive(Debug)]
struct Shared {
    jobs: Vec<Job>,
    /// Set by `finish`; from then on what is decompressed is parsed at once.
    filter: OnceLock<Option<AliasFilter>>,
    /// Set when the pending catalog is dropped unfinished: no further profile is started.
    cancelled: AtomicBool,
}

/// Profiles being decompressed in the background; [`PendingCatalog::finish`] waits for them
/// and parses them into a [`Catalog`]. Dropping it unfinished stops the work after the
/// profiles under way.
#[derive(Debug)]
pub struct PendingCatalog {
    shared: Arc<Shared>,
    done: mpsc::Receiver<Done>,
}

impl PendingCatalog {
    /// Start decompressing `jobs`, one profile per pool thread at a time (one thread per
    /// profile would hold every decompressed text at once: more memory, no less time).
    pub(crate) fn start(jobs: Vec<Job>) -> Self {
        let shared = Arc::new(Shared {
            jobs,
            filter: OnceLock::new(),
            cancelled: AtomicBool::new(false),
        });
        let (tx, done) = mpsc::channel();
        let work = Arc::clone(&shared);
        rayon::spawn(move || {
            // The receiver is gone only when the pending catalog was dropped.
            let _ = tx.send(decode_all(&work));
        });
        PendingCatalog { shared, done }
    }

    /// Wait for the decompression and parse every profile, keeping only the aliases `filter`
    /// keeps (every alias without one). A profile decoded with a filter answers only for the
    /// modaliases the filter was made from ([`Profile::is_filtered`]).
    pub fn finish(self, filter: Option<&AliasFilter>) -> Result<Catalog, Error> {
        // `finish` consumes the only handle, so the filter cannot have been set before.
        let _ = self.shared.filter.set(filter.cloned());
        let done = self
            .done
            .recv()
            .map_err(|_| Error::bad("kernel profiles", "the profile decoder stopped"))?;
        let filter = self.shared.filter.get().and_then(Option::as_ref);
        let jobs = &self.shared.jobs;
        let profiles: Vec<Result<Profile, Error>> = done
            .into_par_iter()
            .zip(jobs.par_iter())
            .map(|(decoded, job)| match decoded {
                Some(Ok(Decoded::Text(text))) => parse(&text, &job.origin, filter),
                Some(Ok(Decoded::Profile(p))) => Ok(*p),
                Some(Err(e)) => Err(e),
                None => Err(Error::bad(&job.origin, "profile was not decoded")),
            })
            .collect();
        Ok(Catalog::from_profiles(
            profiles.into_iter().collect::<Result<_, _>>()?,
        ))
    }
}

impl Drop for PendingCatalog {
    fn drop(&mut self) {
        self.shared.cancelled.store(true, Ordering::Relaxed);
    }
}

/// Decompress every job (and parse it when the filter is already known), in parallel.
fn decode_all(shared: &Shared) -> Done {
    shared
        .jobs
        .par_iter()
        .map(|job| (!shared.cancelled.load(Ordering::Relaxed)).then(|| decode(shared, job)))
        .collect()
}

fn decode(shared: &Shared, job: &Job) -> Result<Decoded, Error> {
    let text = match &job.source {
        Source::Embedded(bytes) => decompress(bytes, &job.origin)?,
        Source::File(path) => {
            let bytes = crate::fsio::read_regular(path).map_err(|e| Error::io(path, e))?;
            decompress(&bytes, &job.origin)?
        }
    };
    Ok(match shared.filter.get() {
        Some(filter) => Decoded::Profile(Box::new(parse(&text, &job.origin, filter.as_ref())?)),
        None => Decoded::Text(text),
    })
}

fn parse(text: &str, origin: &str, filter: Option<&AliasFilter>) -> Result<Profile, Error> {
    ProfileData::from_text_filtered(text, origin, filter).map(Profile::from_data)
}
