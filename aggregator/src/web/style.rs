//! The stylesheet, served at `/style.css` and written by the static site.

use axum::response::Response;

use super::request::text_response;

pub const STYLE_CSS: &str = include_str!("../../templates/style.css");

/// `GET /style.css`.
pub(crate) async fn get() -> Response {
    text_response(STYLE_CSS, "text/css; charset=utf-8", None)
}
