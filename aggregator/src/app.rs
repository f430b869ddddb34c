//! The route table: the upload/moderation API and the HCL pages, behind the middleware that
//! turns errors into the HTML error page for browsers.

use axum::Router;

use crate::state::AppState;

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
