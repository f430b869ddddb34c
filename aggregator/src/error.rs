//! The one error type of the server's handlers.
//!
//! A handler returns [`AppError`]; [`IntoResponse`] renders it as JSON
//! (`{"error": {"status": .., "message": ..}}`) and leaves a copy in the response extensions.
//! The [`negotiate`] middleware then turns that into the HTML error page when the request came
//! from a browser (not `/api/...`, not `Accept: application/json`). Doing it in a middleware is
//! why handlers need no access to the request headers to return an error.

use askama::Template;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

/// Seconds a client is asked to wait after a 503 (the store failed; nothing was stored).
pub const UNAVAILABLE_RETRY_AFTER_S: u64 = 5;

/// Everything a handler can fail with; each variant maps to one HTTP status.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required: send Authorization: Bearer <admin token>")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    Gone(String),
    #[error("too many requests: retry in {retry_after_s} s")]
    TooManyRequests { retry_after_s: u64 },
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the client. Internal details stay in the log, not the response.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal error".to_owned(),
            AppError::Unavailable(_) => "storage unavailable, try again later".to_owned(),
            other => other.to_string(),
        }
    }

    /// The JSON body: `{"error": {"status": 404, "message": "not found"}}`.
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::json!({
            "error": { "status": self.status().as_u16(), "message": self.public_message() }
        })
    }

    /// The HTML error page (`templates/error.html`, every dynamic string escaped).
    pub fn html_page(&self) -> String {
        let status = self.status();
        let page = ErrorPage {
            title: format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Error")
            ),
            message: self.public_message(),
        };
        // A fixed template over two strings cannot fail to render; the bare status if it did.
        page.render().unwrap_or(page.title)
    }
}

/// The HTML error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: String,
    message: String,
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(m) => AppError::Unavailable(m),
            StoreError::Corrupt { .. } => AppError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut resp = (status, axum::Json(self.json_body())).into_response();
        let retry_after_s = match self {
            AppError::TooManyRequests { retry_after_s } => Some(retry_after_s),
            AppError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_S),
            _ => None,
        };
        if let Some(s) = retry_after_s {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp.extensions_mut().insert(self);
        resp
    }
}

/// True when the client wants JSON: API paths, `.json` paths, or an Accept header that asks
/// for JSON and not HTML.
pub fn wants_json(path: &str, headers: &HeaderMap) -> bool {
    if path == "/api" || path.starts_with("/api/") || path.ends_with(".json") {
        return true;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

/// `?format=json` anywhere in the query.
pub fn query_wants_json(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|kv| kv == "format=json"))
}

/// Middleware: re-render [`AppError`] responses as the HTML page for browsers.
pub async fn negotiate(req: Request<Body>, next: Next) -> Response {
    let json = wants_json(req.uri().path(), req.headers()) || query_wants_json(req.uri().query());
    let resp = next.run(req).await;
    if json {
        return resp;
    }
    let Some(err) = resp.extensions().get::<AppError>().cloned() else {
        return resp;
    };
    let (mut parts, _) = resp.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(err.html_page()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_page_escapes_the_message() {
        let page = AppError::BadRequest("<script>alert(1)</script> & \"x\"".into()).html_page();
        assert!(page.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;x&#34;"));
        assert!(!page.contains("<script>"));
        assert!(
            page.contains("<title>400 Bad Request · HCL</title>"),
            "{page}"
        );
    }

    #[test]
    fn internal_details_are_not_shown() {
        let e = AppError::Internal("password=hunter2 at /srv/db".into());
        assert_eq!(e.public_message(), "internal error");
        assert_eq!(e.json_body()["error"]["status"], 500);
    }

    #[test]
    fn json_is_chosen_for_api_format_and_accept() {
        let none = HeaderMap::new();
        assert!(wants_json("/api/v1/reports/x", &none));
        assert!(query_wants_json(Some("a=1&format=json")));
        assert!(!query_wants_json(Some("format=jsonx")));
        assert!(!wants_json("/machines", &none));
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(wants_json("/machines", &h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/json;q=0.9"),
        );
        assert!(!wants_json("/machines", &h));
    }
}
