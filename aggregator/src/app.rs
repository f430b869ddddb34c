//! The route table: the upload/moderation API and the HCL pages, behind the middleware that
//! turns errors into the HTML error page for browsers.

use axum::Router;

use crate::state::AppState;

/// The whole route table.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::api::routes())
        .merge(crate::web::routes())
        .fallback(|| async { crate::error::AppError::NotFound })
        .layer(axum::middleware::from_fn(crate::error::negotiate))
        .with_state(state)
}
