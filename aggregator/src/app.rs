//! Application state, settings and the route table.

use std::sync::Arc;

use axum::Router;

use crate::api::ratelimit::RateLimiter;
use crate::store::Store;

/// Server settings (from flags or environment, see `main.rs`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest accepted upload, counted after decompression.
    pub max_body_bytes: usize,
    /// Bearer token for moderation; None disables moderation (403).
    pub admin_token: Option<String>,
    /// Uploads per second per client address (token refill rate); 0 disables the limit.
    pub rate_per_sec: f64,
    /// Bucket size: uploads a client may send at once.
    pub rate_burst: u32,
    /// Behind a reverse proxy: take the client address for the rate limit from the last
    /// `X-Forwarded-For` entry (the one the proxy added) instead of the peer address.
    pub trust_forwarded_for: bool,
    /// Longest time to receive an upload's body; a client trickling bytes holds a connection
    /// and memory, so it gets 408 after this.
    pub body_timeout: std::time::Duration,
    /// How long fleet pages (machines, devices, kernel report) may stay behind new uploads
    /// before their snapshot is rebuilt; moderation shows at once, a report's own page always.
    pub page_upload_lag: std::time::Duration,
    /// Page snapshots a client address may have built for filters other than the default one
    /// (each reads every report), per second; 0 disables the limit.
    pub page_build_rate_per_sec: f64,
    /// Such builds a client address may cause at once.
    pub page_build_burst: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
            admin_token: None,
            rate_per_sec: 1.0,
            rate_burst: 30,
            trust_forwarded_for: false,
            body_timeout: std::time::Duration::from_secs(120),
            page_upload_lag: crate::web::DEFAULT_UPLOAD_LAG,
            page_build_rate_per_sec: 0.2,
            page_build_burst: 20,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub limiter: Arc<RateLimiter>,
    /// Per client address: page snapshots built for non-default filters.
    pub build_limiter: Arc<RateLimiter>,
    /// Snapshots behind the pages; writes through the API invalidate them.
    pub pages: Arc<crate::web::PageCache>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, catalog: Arc<hcl_kernels::Catalog>, config: Config) -> Self {
        let limiter = Arc::new(RateLimiter::new(config.rate_per_sec, config.rate_burst));
        let build_limiter = Arc::new(RateLimiter::new(
            config.page_build_rate_per_sec,
            config.page_build_burst,
        ));
        let pages = Arc::new(crate::web::PageCache::new(catalog, config.page_upload_lag));
        Self {
            store,
            config: Arc::new(config),
            limiter,
            build_limiter,
            pages,
        }
    }
}

/// The whole route table: the upload/moderation API and the HCL pages.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::api::routes())
        .merge(crate::web::routes())
        .fallback(|| async { crate::error::AppError::NotFound })
        .layer(axum::middleware::from_fn(crate::error::negotiate))
        .with_state(state)
}
