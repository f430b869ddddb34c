//! The HCL snapshot behind the pages, kept between requests.
//!
//! Building it reads every visible report from the store (about 1.4 s of CPU at 100,000
//! reports with the coverage cache warm), so a page request reuses the last snapshot built for
//! the same filter until a write through this server changes the store, or until it is
//! `MAX_AGE` old (writes by another process, e.g. `import-qubes-hcl` or a second server on the
//! same PostgreSQL database, show up within that time).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::analysis::{CoverageCache, Filter, Hcl};

/// How long a snapshot may be reused without a write through this server.
const MAX_AGE: Duration = Duration::from_secs(30);
/// Snapshots kept, one per filter, most recent first.
const KEEP: usize = 8;

struct Entry {
    filter: Filter,
    generation: u64,
    built: Instant,
    hcl: Arc<Hcl>,
}

/// The coverage cache and the last snapshots.
pub struct PageCache {
    coverage: Arc<CoverageCache>,
    generation: AtomicU64,
    entries: Mutex<Vec<Entry>>,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl PageCache {
    pub fn new(catalog: Arc<hcl_kernels::Catalog>) -> Self {
        PageCache {
            coverage: Arc::new(CoverageCache::new(catalog)),
            generation: AtomicU64::new(0),
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Coverage per (modalias, kernel), shared by every snapshot.
    pub fn coverage(&self) -> Arc<CoverageCache> {
        self.coverage.clone()
    }

    /// The store changed: no snapshot built before now may be served.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The generation to record with a snapshot about to be built (read before the store).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// A snapshot for `filter` that is still current.
    pub fn get(&self, filter: &Filter) -> Option<Arc<Hcl>> {
        let now = self.generation();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .find(|e| e.filter == *filter && e.generation == now && e.built.elapsed() < MAX_AGE)
            .map(|e| e.hcl.clone())
    }

    /// Keep a snapshot built from the store as it was at `generation`.
    pub fn put(&self, filter: &Filter, generation: u64, hcl: Arc<Hcl>) {
        let now = self.generation();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| e.filter != *filter && e.generation == now);
        entries.insert(
            0,
            Entry {
                filter: filter.clone(),
                generation,
                built: Instant::now(),
                hcl,
            },
        );
        entries.truncate(KEEP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_served_until_a_write_invalidates_it() {
        let catalog = Arc::new(hcl_kernels::Catalog::from_profiles(Vec::new()));
        let cache = PageCache::new(catalog);
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

        cache.invalidate();
        assert!(cache.get(&all).is_none(), "a write makes it stale");

        // Built from a store read before a write landed: never served.
        let before = cache.generation();
        cache.invalidate();
        cache.put(&all, before, built);
        assert!(cache.get(&all).is_none());
    }
}
