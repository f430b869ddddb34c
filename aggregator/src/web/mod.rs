//! The HCL pages (placeholder until the web engineer takes this module over).

use axum::Router;

use crate::app::AppState;

/// Page routes, merged into [`crate::app::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
}
