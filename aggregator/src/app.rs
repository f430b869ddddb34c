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
    /// Time a connection has to deliver a request's whole header, counted from when it opens
    /// or from the end of its previous response (so it also closes idle keep-alive
    /// connections); then it is closed.
    pub header_read_timeout: std::time::Duration,
    /// Connections open at once; more wait in the kernel's listen queue until one closes.
    pub max_connections: usize,
    /// Wrong admin tokens a client address may send in a row before it is refused with 429.
    pub admin_failure_burst: u32,
    /// Wrong admin tokens per second a client address earns back (0: no limit).
    pub admin_failure_rate_per_sec: f64,
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
            header_read_timeout: std::time::Duration::from_secs(10),
            max_connections: 4096,
            admin_failure_burst: 5,
            admin_failure_rate_per_sec: 0.1,
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
    /// Per client address: wrong admin tokens (moderation is refused with 429 when spent).
    pub auth_failures: Arc<RateLimiter>,
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
        let auth_failures = Arc::new(RateLimiter::new(
            config.admin_failure_rate_per_sec,
            config.admin_failure_burst,
        ));
        let pages = Arc::new(crate::web::PageCache::new(catalog, config.page_upload_lag));
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

/// The whole route table: the upload/moderation API and the HCL pages. Every response, error
/// pages included, carries [`security_headers`].
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::api::routes())
        .merge(crate::web::routes())
        .fallback(|| async { crate::error::AppError::NotFound })
        .layer(axum::middleware::from_fn(crate::error::negotiate))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// The pages load nothing but `/style.css`, run no script, and submit forms (the filters)
/// only to this server; inline SVG charts need nothing more. Nothing may frame them.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Headers that keep uploaded text from becoming active content: no MIME sniffing (a CSV or
/// Markdown body is never run as HTML), the policy above, no Referer leaving the site.
pub async fn security_headers(mut resp: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}
