//! What every page reads from its request ([`PageQuery`]) and how it answers: HTML, JSON or
//! CSV.

use std::net::IpAddr;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use super::query::Params;
use crate::analysis::{AnalysisError, Filter};
use crate::error::AppError;
use crate::state::AppState;

/// The representation a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Html,
    Json,
    Csv,
}

fn format(params: &Params, headers: &HeaderMap, api: bool) -> Result<Format, AppError> {
    match params.format.as_deref() {
        Some("json") => return Ok(Format::Json),
        Some("csv") => return Ok(Format::Csv),
        Some("html") => return Ok(Format::Html),
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "unknown format {other:?}: use html, json or csv"
            )));
        }
        None => {}
    }
    Ok(if api || crate::error::wants_json("", headers) {
        Format::Json
    } else {
        Format::Html
    })
}

/// What every page reads from its request: the query, the filter in it, and the
/// representation asked for (`?format=`, `/api/v1/...` or `Accept: application/json`).
pub(crate) struct PageQuery {
    pub(crate) params: Params,
    pub(crate) filter: Filter,
    pub(crate) format: Format,
    /// Who asked, for the page-build limit.
    pub(crate) client: Option<IpAddr>,
}

impl FromRequestParts<AppState> for PageQuery {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, AppError> {
        let params = Params::parse(parts.uri.query());
        let filter = params.filter.normalized().map_err(analysis_error)?;
        let api = parts.uri.path().starts_with("/api/");
        let format = format(&params, &parts.headers, api)?;
        Ok(PageQuery {
            params,
            filter,
            format,
            client: crate::api::client_ip(st, &parts.headers, &parts.extensions),
        })
    }
}

pub(crate) fn analysis_error(e: AnalysisError) -> AppError {
    AppError::BadRequest(e.to_string())
}

/// Render a page as HTML or JSON.
pub(crate) fn respond<P: Template + Serialize>(
    page: &P,
    fmt: Format,
) -> Result<Response, AppError> {
    match fmt {
        Format::Json => Ok(axum::Json(page).into_response()),
        Format::Html | Format::Csv => page
            .render()
            .map(|h| Html(h).into_response())
            .map_err(|e| AppError::Internal(format!("template: {e}"))),
    }
}

/// A CSV download named `name`.
pub(crate) fn csv_response(name: &str, body: String) -> Response {
    text_response(body, "text/csv; charset=utf-8", Some(name))
}

/// A text body of `content_type`, as an attachment called `name` when given.
pub(crate) fn text_response(
    body: impl IntoResponse,
    content_type: &'static str,
    name: Option<&str>,
) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(name) = name
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}
