//! The HCL snapshot behind the pages, kept between requests.
//!
//! Building it reads every visible report from the store (at 100,000 reports about 2 s to read
//! and 1 s to build with the coverage cache warm), so a page request reuses the last snapshot
//! built for the same filter. A snapshot is *fresh* while nothing it could miss has happened:
//! no moderation, no upload (or an upload less than the upload lag ago, `--page-upload-lag-secs`,
//! default 5 s), and younger than `MAX_AGE` (writes by another process, e.g. `import-qubes-hcl`
//! or a second server on the same PostgreSQL database). Ages count from the store read the
//! snapshot was built from.
//!
//! A snapshot that is no longer fresh only because of uploads or age is *stale*: it is still
//! served, at once, while one new snapshot is built in the background (a fleet page a little
//! behind misses nothing: a report's own page reads the store, so it shows at once). Moderation
//! (hide, unhide, delete) through this server ends a snapshot's service at once. With an upload
//! lag of zero, uploads make a snapshot unusable, not stale.
//!
//! Only one snapshot is built at a time ([`PageCache::build_lock`]): requests that miss together
//! wait for that build instead of each reading every report, and the background builds use the
//! same lock, so no stream of requests can make the server read the store more than once at a
//! time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::analysis::{CoverageCache, Filter, Hcl};

/// How long a snapshot is fresh without a write through this server.
const MAX_AGE: Duration = Duration::from_secs(30);
/// How long a snapshot may be served stale while a new one is built; older ones are rebuilt
/// before they are served (a background build that keeps failing must not pin old data).
const STALE_LIMIT: Duration = Duration::from_secs(600);
/// How long a snapshot stays fresh after uploads landed, unless configured.
pub const DEFAULT_UPLOAD_LAG: Duration = Duration::from_secs(5);
/// Snapshots kept, one per filter, most recent first.
const KEEP: usize = 8;

struct Entry {
    filter: Filter,
    from: Generation,
    hcl: Arc<Hcl>,
}

/// What the cache holds for a filter.
#[derive(Debug)]
pub enum Lookup {
    /// Serve it.
    Fresh(Arc<Hcl>),
    /// Serve it, and build a new one in the background.
    Stale(Arc<Hcl>),
    /// Build one before answering.
    Missing,
}

/// The coverage cache and the last snapshots.
pub struct PageCache {
    coverage: Arc<CoverageCache>,
    /// Bumped by moderation: older snapshots are never served again.
    generation: AtomicU64,
    /// Bumped by each new upload: older snapshots stay fresh for the upload lag.
    uploads: AtomicU64,
    upload_lag: Duration,
    entries: Mutex<Vec<Entry>>,
    build: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("generation", &self.generation)
            .field("uploads", &self.uploads)
            .finish_non_exhaustive()
    }
}

impl PageCache {
    pub fn new(catalog: Arc<hcl_kernel_engine::Catalog>, upload_lag: Duration) -> Self {
        PageCache {
            coverage: Arc::new(CoverageCache::new(catalog)),
            generation: AtomicU64::new(0),
            uploads: AtomicU64::new(0),
            upload_lag,
            entries: Mutex::new(Vec::new()),
            build: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Coverage per (modalias, kernel), shared by every snapshot.
    pub fn coverage(&self) -> Arc<CoverageCache> {
        self.coverage.clone()
    }

    /// Moderation changed what is visible: no snapshot built before now may be served.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// A new report was stored.
    pub fn note_upload(&self) {
        self.uploads.fetch_add(1, Ordering::SeqCst);
    }

    /// What to record with a snapshot about to be built: take it before reading the store.
    pub fn generation(&self) -> Generation {
        Generation {
            moderation: self.generation.load(Ordering::SeqCst),
            uploads: self.uploads.load(Ordering::SeqCst),
            at: Instant::now(),
        }
    }

    /// Held while a snapshot is built: take it, look again with [`PageCache::lookup`], build
    /// only if there is still nothing fresh.
    pub fn build_lock(&self) -> Arc<tokio::sync::Mutex<()>> {
        self.build.clone()
    }

    /// The snapshot for `filter`, if any, and whether it is fresh.
    pub fn lookup(&self, filter: &Filter) -> Lookup {
        let now = self.generation();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let Some(e) = entries
            .iter()
            .find(|e| e.filter == *filter && e.from.moderation == now.moderation)
        else {
            return Lookup::Missing;
        };
        let age = e.from.at.elapsed();
        let uploads_since = e.from.uploads != now.uploads;
        if age < MAX_AGE && (!uploads_since || age < self.upload_lag) {
            Lookup::Fresh(e.hcl.clone())
        } else if age < STALE_LIMIT && (!uploads_since || !self.upload_lag.is_zero()) {
            Lookup::Stale(e.hcl.clone())
        } else {
            Lookup::Missing
        }
    }

    /// Keep a snapshot built from the store as it was at `from`.
    pub fn put(&self, filter: &Filter, from: Generation, hcl: Arc<Hcl>) {
        let now = self.generation();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // A snapshot read before a moderation is never kept; nor is one older than the kept one.
        if from.moderation != now.moderation
            || entries
                .iter()
                .any(|e| e.filter == *filter && e.from.at > from.at)
        {
            return;
        }
        entries.retain(|e| e.filter != *filter && e.from.moderation == now.moderation);
        entries.insert(
            0,
            Entry {
                filter: filter.clone(),
                from,
                hcl,
            },
        );
        // The unfiltered snapshot (most pages) is never pushed out by filtered ones.
        while entries.len() > KEEP {
            match entries.iter().rposition(|e| e.filter != Filter::default()) {
                Some(i) => entries.remove(i),
                None => break,
            };
        }
    }
}

/// The store's state a snapshot was built from, and when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    moderation: u64,
    uploads: u64,
    at: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(l: Lookup, built: &Arc<Hcl>) -> bool {
        matches!(l, Lookup::Fresh(h) if Arc::ptr_eq(&h, built))
    }

    fn stale(l: Lookup, built: &Arc<Hcl>) -> bool {
        matches!(l, Lookup::Stale(h) if Arc::ptr_eq(&h, built))
    }

    #[test]
    fn a_snapshot_is_served_until_a_write_invalidates_it() {
        let catalog = Arc::new(hcl_kernel_engine::Catalog::from_profiles(Vec::new()));
        let cache = PageCache::new(catalog.clone(), DEFAULT_UPLOAD_LAG);
        let all = Filter::default();
        let laptops = Filter {
            machine_type: Some("laptop".into()),
            ..Filter::default()
        };
        let built = Arc::new(Hcl::build(Vec::new(), &cache.coverage()));
        assert!(matches!(cache.lookup(&all), Lookup::Missing));
        cache.put(&all, cache.generation(), built.clone());
        assert!(fresh(cache.lookup(&all), &built));
        assert!(
            matches!(cache.lookup(&laptops), Lookup::Missing),
            "another filter is another snapshot"
        );

        cache.note_upload();
        assert!(
            fresh(cache.lookup(&all), &built),
            "a new upload leaves a fresh snapshot fresh for the upload lag"
        );
        cache.invalidate();
        assert!(
            matches!(cache.lookup(&all), Lookup::Missing),
            "moderation ends its service at once"
        );

        // Built from a store read before a moderation landed: never kept.
        let before = cache.generation();
        cache.invalidate();
        cache.put(&all, before, built.clone());
        assert!(matches!(cache.lookup(&all), Lookup::Missing));

        // Past the upload lag a snapshot is stale: served while a new one is built.
        let short = PageCache::new(catalog.clone(), Duration::from_millis(1));
        short.put(&all, short.generation(), built.clone());
        short.note_upload();
        std::thread::sleep(Duration::from_millis(5));
        assert!(stale(short.lookup(&all), &built));
        // An older build finishing late does not replace a newer one.
        let older = short.generation();
        let newer = Arc::new(Hcl::build(Vec::new(), &short.coverage()));
        short.put(&all, short.generation(), newer.clone());
        short.put(&all, older, built.clone());
        assert!(fresh(short.lookup(&all), &newer));

        // Many filtered snapshots never push out the unfiltered one.
        let pinned = PageCache::new(catalog.clone(), DEFAULT_UPLOAD_LAG);
        pinned.put(&all, pinned.generation(), built.clone());
        for n in 0..(KEEP * 2) {
            let f = Filter {
                machine_type: Some(format!("type-{n}")),
                ..Filter::default()
            };
            pinned.put(&f, pinned.generation(), built.clone());
        }
        assert!(fresh(pinned.lookup(&all), &built));

        let no_lag = PageCache::new(catalog, Duration::ZERO);
        no_lag.put(&all, no_lag.generation(), built);
        no_lag.note_upload();
        assert!(
            matches!(no_lag.lookup(&all), Lookup::Missing),
            "without a lag an upload makes it unusable"
        );
    }
}
