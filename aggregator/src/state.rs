//! What every handler can reach: the store, the settings, the rate limiters and the page cache.

use std::sync::Arc;

use crate::api::ratelimit::RateLimiter;
use crate::config::Config;
use crate::store::Store;
use crate::web::cache::PageCache;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub limiter: Arc<RateLimiter>,
    /// Per client address: page snapshots built for non-default filters.
    pub build_limiter: Arc<RateLimiter>,
    /// Per client address: wrong admin tokens (moderation is refused with 429 when spent).
    pub auth_failures: Arc<RateLimiter>,
    /// Snapshots behind the pages; writes through the API invalidate them.
    pub pages: Arc<PageCache>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        catalog: Arc<hcl_kernel_engine::Catalog>,
        config: Config,
    ) -> Self {
        let limiter = Arc::new(RateLimiter::new(config.rate_per_sec, config.rate_burst));
        let build_limiter = Arc::new(RateLimiter::new(
            config.page_build_rate_per_sec,
            config.page_build_burst,
        ));
        let auth_failures = Arc::new(RateLimiter::new(
            config.admin_failure_rate_per_sec,
            config.admin_failure_burst,
        ));
        let pages = Arc::new(PageCache::new(catalog, config.page_upload_lag));
        Self {
            store,
            config: Arc::new(config),
            limiter,
            build_limiter,
            auth_failures,
            pages,
        }
    }
}
