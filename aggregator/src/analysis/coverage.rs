//! Coverage of a modalias on every kernel of the catalog, computed once per distinct modalias.
//!
//! A fleet of 100,000 reports holds far fewer distinct devices than device instances, so the
//! kernel engine runs once per (modalias, partial) and every later report reuses the answer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hcl_data::Coverage;
use hcl_kernel_engine::Catalog;
use rayon::prelude::*;

/// Verdicts of every catalog kernel (in catalog order) for one modalias.
pub type Coverages = Arc<[Coverage]>;

type Key = (Box<str>, bool);

/// A thread-safe cache of [`Coverages`] keyed by modalias and partial flag.
#[derive(Debug)]
pub struct CoverageCache {
    catalog: Arc<Catalog>,
    map: RwLock<HashMap<Key, Coverages>>,
}

impl CoverageCache {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self {
            catalog,
            map: RwLock::new(HashMap::new()),
        }
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Number of distinct (modalias, partial) entries computed so far.
    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The coverage of `modalias` on every kernel, from the cache or computed now.
    pub fn get(&self, modalias: &str, partial: bool) -> Coverages {
        // A poisoned lock only means another thread panicked mid-insert of a complete value;
        // the map itself is still consistent, so keep using it.
        if let Some(hit) = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(Box::from(modalias), partial))
        {
            return hit.clone();
        }
        let computed = self.compute(modalias, partial);
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry((Box::from(modalias), partial))
            .or_insert(computed)
            .clone()
    }

    /// Fill the cache for many modaliases on all cores (rayon); the engine is pure CPU work.
    pub fn prefill<'a>(&self, keys: impl IntoIterator<Item = (&'a str, bool)>) {
        let mut todo: Vec<(&str, bool)> = {
            let map = self.map.read().unwrap_or_else(|p| p.into_inner());
            keys.into_iter()
                .filter(|(m, p)| !map.contains_key(&(Box::from(*m), *p)))
                .collect()
        };
        todo.sort_unstable();
        todo.dedup();
        if todo.is_empty() {
            return;
        }
        // Work stealing: the engine's cost differs a lot between vendors, and sorted keys put
        // one vendor's devices together.
        let results: Vec<(Key, Coverages)> = todo
            .par_iter()
            .map(|(m, p)| ((Box::from(*m), *p), self.compute(m, *p)))
            .collect();
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        for (k, v) in results {
            map.entry(k).or_insert(v);
        }
    }

    fn compute(&self, modalias: &str, partial: bool) -> Coverages {
        self.catalog
            .profiles()
            .iter()
            .map(|p| {
                let mut c = p.coverage(modalias, partial);
                // The compact form a probe report carries (missing files plus counts): a GPU
                // driver asks for hundreds of files, and keeping them all for every cached
                // modalias cost gigabytes at 100,000 reports.
                c.compact_firmware();
                c.firmware.shrink_to_fit();
                c
            })
            .collect()
    }
}
