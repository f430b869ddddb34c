//! Loading a catalog in two steps: decompression starts on background threads at once, parsing
//! waits for the caller's [`AliasFilter`]. A probe knows which modaliases it will look up only
//! after walking sysfs, and the walk overlaps the decompression.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use crate::profile::{ProfileData, decompress};
use crate::{AliasFilter, Catalog, Error, Profile};

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

/// What a worker made of one profile.
#[derive(Debug)]
enum Decoded {
    /// Decompressed before the filter was known: `finish` parses it.
    Text(String),
    Profile(Box<Profile>),
}

/// Results by job index.
type Done = Vec<(usize, Result<Decoded, Error>)>;
type Parsed = Vec<(usize, Result<Profile, Error>)>;

#[derive(Debug)]
struct Shared {
    jobs: Vec<Job>,
    /// Index of the next job a worker takes.
    next: AtomicUsize,
    /// Set by `finish`; from then on workers parse what they decompress themselves.
    filter: OnceLock<Option<AliasFilter>>,
    /// Set when the pending catalog is dropped unfinished: workers take no further job.
    cancelled: AtomicBool,
}

/// Profiles being decompressed on background threads; [`PendingCatalog::finish`] waits for them
/// and parses them into a [`Catalog`]. Dropping it unfinished lets the workers stop after the
/// profile each is on.
#[derive(Debug)]
pub struct PendingCatalog {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<Done>>,
}

/// One worker per core, no more than there are profiles.
fn worker_count(jobs: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(1, jobs.max(1))
}

impl PendingCatalog {
    /// Start decompressing `jobs` on one worker per core, each taking the next profile (one
    /// thread per profile would hold every decompressed text at once: more memory, no less
    /// time).
    pub(crate) fn start(jobs: Vec<Job>) -> Self {
        let count = worker_count(jobs.len());
        let shared = Arc::new(Shared {
            jobs,
            next: AtomicUsize::new(0),
            filter: OnceLock::new(),
            cancelled: AtomicBool::new(false),
        });
        let workers = (0..count)
            .filter_map(|_| {
                let shared = Arc::clone(&shared);
                // A thread that cannot be started leaves its share to the others or to
                // `finish`.
                std::thread::Builder::new()
                    .name("profile-decoder".into())
                    .spawn(move || work(&shared))
                    .ok()
            })
            .collect();
        PendingCatalog { shared, workers }
    }

    /// Wait for the decompression and parse every profile, keeping only the aliases `filter`
    /// keeps (every alias without one). A profile decoded with a filter answers only for the
    /// modaliases the filter was made from ([`Profile::is_filtered`]).
    pub fn finish(mut self, filter: Option<&AliasFilter>) -> Result<Catalog, Error> {
        // `finish` consumes the only handle, so the filter cannot have been set before.
        let _ = self.shared.filter.set(filter.cloned());
        let mut done: Done = Vec::new();
        if self.workers.is_empty() {
            // No thread could be started: do the work here.
            done = work(&self.shared);
        }
        for worker in std::mem::take(&mut self.workers) {
            let part = worker
                .join()
                .map_err(|_| Error::bad("kernel profiles", "a profile decoder thread panicked"))?;
            done.extend(part);
        }
        let filter = self.shared.filter.get().and_then(Option::as_ref);
        let mut slots: Vec<Option<Result<Profile, Error>>> = Vec::new();
        slots.resize_with(self.shared.jobs.len(), || None);
        let mut texts: Vec<(usize, String)> = Vec::new();
        for (i, result) in done {
            let profile = match result {
                Ok(Decoded::Text(text)) => {
                    texts.push((i, text));
                    continue;
                }
                Ok(Decoded::Profile(p)) => Ok(*p),
                Err(e) => Err(e),
            };
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(profile);
            }
        }
        for (i, profile) in parse_all(&self.shared.jobs, texts, filter)? {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(profile);
            }
        }
        let profiles = slots
            .into_iter()
            .zip(&self.shared.jobs)
            .map(|(slot, job)| {
                slot.unwrap_or_else(|| Err(Error::bad(&job.origin, "profile was not decoded")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Catalog::from_profiles(profiles))
    }
}

impl Drop for PendingCatalog {
    fn drop(&mut self) {
        self.shared.cancelled.store(true, Ordering::Relaxed);
    }
}

/// A worker: take the next job until none is left.
fn work(shared: &Shared) -> Done {
    let mut out = Vec::new();
    while !shared.cancelled.load(Ordering::Relaxed) {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        let Some(job) = shared.jobs.get(i) else { break };
        out.push((i, decode(shared, job)));
    }
    out
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

/// Parse the texts decompressed before the filter was known, on one thread per core.
fn parse_all(
    jobs: &[Job],
    texts: Vec<(usize, String)>,
    filter: Option<&AliasFilter>,
) -> Result<Parsed, Error> {
    let origin = |i: usize| jobs.get(i).map_or("kernel profile", |j| j.origin.as_str());
    if texts.len() <= 1 {
        return Ok(texts
            .into_iter()
            .map(|(i, text)| (i, parse(&text, origin(i), filter)))
            .collect());
    }
    let next = AtomicUsize::new(0);
    let texts = &texts;
    let run = || {
        let mut out = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some((i, text)) = texts.get(k) else {
                return out;
            };
            out.push((*i, parse(text, origin(*i), filter)));
        }
    };
    let run = &run;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..worker_count(texts.len()))
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("profile-parser".into())
                    .spawn_scoped(s, run)
                    .ok()
            })
            .collect();
        if handles.is_empty() {
            return Ok(run());
        }
        // Join every thread before looking at the results (an unjoined panicked thread would
        // make the scope panic).
        let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        let mut all = Vec::new();
        for part in joined {
            all.extend(
                part.map_err(|_| {
                    Error::bad("kernel profiles", "a profile parser thread panicked")
                })?,
            );
        }
        Ok(all)
    })
}
