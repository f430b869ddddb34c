//! The HCL snapshot behind the pages, kept between requests.
//!
//! Building it reads every visible report from the store (about 1.4 s of CPU at 100,000
//! reports with the coverage cache warm), so a page request reuses the last snapshot built for
//! the same filter:
//! - until moderation (hide, unhide, delete) through this server: at once;
//! - after new uploads, for up to the upload lag (`--page-upload-lag-secs`, default 5 s): under a steady stream of uploads a rebuild per
//!   page request would cost more than the uploads themselves, and a fleet page a few seconds
//!   behind misses nothing (a report's own page reads the store, so it shows at once);
//! - for `MAX_AGE` at most (writes by another process, e.g. `import-qubes-hcl` or a second server
//!   on the same PostgreSQL database, show up within that time).
//!
//! Only one snapshot is built at a time ([`PageCache::build_lock`]): requests that miss together
//! wait for that build instead of each reading every report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::analysis::{CoverageCache, Filter, Hcl};

/// How long a snapshot may be reused without a write through this server.
const MAX_AGE: Duration = Duration::from_secs(30);
/// How long a snapshot may be reused after uploads landed, unless configured.
pub const DEFAULT_UPLOAD_LAG: Duration = Duration::from_secs(5);
/// Snapshots kept, one per filter, most recent first.
const KEEP: usize = 8;

struct Entry {
    filter: Filter,
    generation: u64,
    uploads: u64,
    built: Instant,
    hcl: Arc<Hcl>,
}

/// The coverage cache and the last snapshots.
pub struct PageCache {
    coverage: Arc<CoverageCache>,
    /// Bumped by moderation: older snapshots are never served again.
    generation: AtomicU64,
    /// Bumped by each new upload: older snapshots are served for `UPLOAD_LAG` more.
    uploads: AtomicU64,
    upload_lag: Duration,
    entries: Mutex<Vec<Entry>>,
    build: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl PageCache {
    pub fn new(catalog: Arc<hcl_kernels::Catalog>, upload_lag: Duration) -> Self {
        PageCache {
            coverage: Arc::new(CoverageCache::new(catalog)),
            generation: AtomicU64::new(0),
            uploads: AtomicU64::new(0),
            upload_lag,
            entries: Mutex::new(Vec::new()),
            build: tokio::sync::Mutex::new(()),
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

    /// A new report was stored: snapshots built before now are served while younger than the
    /// upload lag.
    pub fn note_upload(&self) {
        self.uploads.fetch_add(1, Ordering::SeqCst);
    }

    /// What to record with a snapshot about to be built (read before the store).
    pub fn generation(&self) -> Generation {
        Generation {
            moderation: self.generation.load(Ordering::SeqCst),
            uploads: self.uploads.load(Ordering::SeqCst),
        }
    }

    /// Held while a snapshot is built, so that requests missing together build it once:
    /// take it, look again with [`PageCache::get`], build only on a second miss.
    pub fn build_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.build
    }

    /// A snapshot for `filter` that may still be served.
    pub fn get(&self, filter: &Filter) -> Option<Arc<Hcl>> {
        let now = self.generation();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .find(|e| {
                let age = e.built.elapsed();
                e.filter == *filter
                    && e.generation == now.moderation
                    && age < MAX_AGE
                    && (e.uploads == now.uploads || age < self.upload_lag)
            })
            .map(|e| e.hcl.clone())
    }

    /// Keep a snapshot built from the store as it was at `at`.
    pub fn put(&self, filter: &Filter, at: Generation, hcl: Arc<Hcl>) {
        let now = self.generation();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| e.filter != *filter && e.generation == now.moderation);
        entries.insert(
            0,
            Entry {
                filter: filter.clone(),
                generation: at.moderation,
                uploads: at.uploads,
                built: Instant::now(),
                hcl,
            },
        );
        entries.truncate(KEEP);
    }
}

/// The store's state a snapshot was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    moderation: u64,
    uploads: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_served_until_a_write_invalidates_it() {
        let catalog = Arc::new(hcl_kernels::Catalog::from_profiles(Vec::new()));
        let cache = PageCache::new(catalog.clone(), DEFAULT_UPLOAD_LAG);
        let all = Filter::default();
        let laptops = Filter {
            machine_type: Some("laptop".into()),
            ..Filter::default()
        };
        let built = Arc::new(Hcl::build(Vec::new(), &cache.coverage()));
        assert!(cache.get(&all).is_none());
        cache.put(&all, cache.generation(), built.clone());
        assert!(Arc::ptr_eq(&cache.get(&all).expect("cached"), &built));
        assert!(
            cache.get(&laptops).is_none(),
            "another filter is another snapshot"
        );

        cache.note_upload();
        assert!(
            Arc::ptr_eq(&cache.get(&all).expect("served"), &built),
            "a new upload leaves a fresh snapshot in service for a few seconds"
        );
        cache.invalidate();
        assert!(
            cache.get(&all).is_none(),
            "moderation makes it stale at once"
        );

        let no_lag = PageCache::new(catalog, Duration::ZERO);
        no_lag.put(&all, no_lag.generation(), built.clone());
        no_lag.note_upload();
        assert!(
            no_lag.get(&all).is_none(),
            "without a lag an upload makes it stale"
        );

        // Built from a store read before a write landed: never served.
        let before = cache.generation();
        cache.invalidate();
        cache.put(&all, before, built);
        assert!(cache.get(&all).is_none());
    }
}
