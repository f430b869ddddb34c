//! The JSON API: report upload (no account needed), read back, and moderation (admin token).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/api/v1/reports` | upload a report (JSON or YAML, optionally gzip): 201 new, 200 known, 410 deleted by a moderator |
//! | GET | `/api/v1/reports/{id}` | the stored report |
//! | POST | `/api/v1/reports/{id}/hide`, `/unhide` | moderation, `Authorization: Bearer` |
//! | DELETE | `/api/v1/reports/{id}` | moderation, `Authorization: Bearer` |
//! | GET | `/api/v1/health` | 200 when the store reads and writes, else 503 |

pub mod ratelimit;
pub mod validate;

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::rejection::LengthLimitError;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::AppError;
use crate::state::AppState;
use crate::store::PutOutcome;

/// The API routes, merged into the route table of `app.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports", post(upload))
        .route(
            "/api/v1/reports/{id}",
            get(get_report).delete(delete_report),
        )
        .route("/api/v1/reports/{id}/hide", post(hide))
        .route("/api/v1/reports/{id}/unhide", post(unhide))
        .route("/api/v1/health", get(health))
}

/// `POST /api/v1/reports`.
async fn upload(State(st): State<AppState>, req: Request<Body>) -> Result<Response, AppError> {
    if let Some(ip) = client_ip(&st, req.headers(), req.extensions()) {
        st.limiter
            .check(ip)
            .map_err(|retry_after_s| AppError::TooManyRequests { retry_after_s })?;
    }
    let limit = st.config.max_body_bytes;
    let headers = req.headers();
    let format = validate::format_of(header_str(headers, header::CONTENT_TYPE))?;
    let encoding = header_str(headers, header::CONTENT_ENCODING).map(str::to_owned);
    if let Some(len) =
        header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok())
        && len > u64::try_from(limit).unwrap_or(u64::MAX)
    {
        // Refuse before reading a byte of it.
        return Err(validate::too_large(limit, "(Content-Length)"));
    }
    let timeout = st.config.body_timeout;
    let body = tokio::time::timeout(timeout, axum::body::to_bytes(req.into_body(), limit))
        .await
        .map_err(|_| {
            AppError::RequestTimeout(format!(
                "the report body did not arrive within {} s",
                timeout.as_secs()
            ))
        })?
        .map_err(|e| body_error(e, limit))?;
    // Decoding, parsing and hashing are CPU work (ms for a big report): off the async threads.
    let canonical = tokio::task::spawn_blocking(move || {
        validate::check(&body, encoding.as_deref(), format, limit)
    })
    .await
    .map_err(|e| AppError::Internal(format!("upload worker failed: {e}")))??;
    let id = canonical.id.clone();
    let outcome = st.store.put_report(canonical).await?;
    if outcome == PutOutcome::Created {
        st.pages.note_upload();
    }
    let url = format!("/reports/{id}");
    let status = match outcome {
        PutOutcome::Created => StatusCode::CREATED,
        PutOutcome::AlreadyStored => StatusCode::OK,
        PutOutcome::Deleted => {
            return Err(AppError::Gone(format!(
                "report {id} was removed by the HCL's moderators and is not accepted again"
            )));
        }
    };
    let body = serde_json::json!({
        "id": id,
        "url": url,
        "created": outcome == PutOutcome::Created,
    });
    Ok((status, [(header::LOCATION, url)], Json(body)).into_response())
}

/// The client address the rate limit counts: the peer, or behind a trusted proxy the last
/// `X-Forwarded-For` entry (earlier entries are whatever the client wrote, so not trusted).
pub fn client_ip(
    st: &AppState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Option<IpAddr> {
    if st.config.trust_forwarded_for {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|last| last.trim().parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// A body read error: too large, or the connection broke.
fn body_error(e: axum::Error, limit: usize) -> AppError {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        if s.is::<LengthLimitError>() {
            return validate::too_large(limit, "");
        }
        src = s.source();
    }
    // axum wraps the limit error in a way that is not always reachable by `source()`.
    if e.to_string().contains("length limit") {
        return validate::too_large(limit, "");
    }
    AppError::BadRequest(format!("could not read the request body: {e}"))
}

/// `GET /api/v1/reports/{id}`: hidden reports only for the admin.
async fn get_report(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let stored = st.store.get_report(&id).await?.ok_or(AppError::NotFound)?;
    if stored.hidden {
        match authorize(&st, &headers, ip) {
            Ok(()) => {}
            // Locked out for wrong tokens: say so, or it would be a free guessing oracle.
            Err(e @ AppError::TooManyRequests { .. }) => return Err(e),
            Err(_) => return Err(AppError::NotFound),
        }
    }
    Ok(Json(stored.report).into_response())
}

async fn hide(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    authorize(&st, &headers, ip)?;
    set_hidden(st, id, true).await
}

async fn unhide(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    authorize(&st, &headers, ip)?;
    set_hidden(st, id, false).await
}

/// The moderator's change, once authorized.
async fn set_hidden(st: AppState, id: String, hidden: bool) -> Result<Response, AppError> {
    if !st.store.set_hidden(&id, hidden).await? {
        return Err(AppError::NotFound);
    }
    st.pages.invalidate();
    tracing::info!(%id, hidden, "moderation");
    Ok(Json(serde_json::json!({ "id": id, "hidden": hidden })).into_response())
}

async fn delete_report(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    authorize(&st, &headers, ip)?;
    if !st.store.delete_report(&id).await? {
        return Err(AppError::NotFound);
    }
    st.pages.invalidate();
    tracing::info!(%id, "moderation: deleted");
    Ok(Json(serde_json::json!({ "id": id, "deleted": true })).into_response())
}

/// 200 while the store reads and writes; 503 while writes fail (disk full, database gone),
/// which the first write to go through again ends.
async fn health(State(st): State<AppState>) -> Result<Response, AppError> {
    st.store.check_writable().await?;
    let n = st.store.count_reports().await?;
    Ok(Json(serde_json::json!({ "status": "ok", "reports": n })).into_response())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// 401 without a bearer token, 403 with a wrong one or when moderation is off, 429 once
/// `client` sent too many wrong ones (`--admin-failure-burst`, earned back at
/// `--admin-failure-rate-per-sec`); then not even the right token is looked at, so guessing
/// goes no faster from one address. Other addresses are not affected.
pub fn authorize(
    st: &AppState,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Result<(), AppError> {
    let Some(expected) = st.config.admin_token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(AppError::Forbidden(
            "moderation is disabled: the server has no admin token".into(),
        ));
    };
    let given = header_str(headers, header::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized)?;
    if let Some(ip) = client {
        st.auth_failures
            .peek(ip)
            .map_err(|retry_after_s| AppError::TooManyRequests { retry_after_s })?;
    }
    if tokens_match(given.trim(), expected) {
        return Ok(());
    }
    if let Some(ip) = client {
        let _ = st.auth_failures.check(ip);
    }
    tracing::warn!(client = ?client, "moderation: wrong admin token");
    Err(AppError::Forbidden("wrong admin token".into()))
}

/// Compare in constant time: the SHA-256 of each (same length whatever the token's) with
/// `subtle`, so timing tells neither how much matched nor how long the token is.
pub fn tokens_match(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.as_slice().ct_eq(b.as_slice()).into()
}

/// The client address the limits count ([`client_ip`]), as an extractor.
pub struct ClientIp(pub Option<IpAddr>);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(st, &parts.headers, &parts.extensions)))
    }
}

#[cfg(test)]
mod tests {
    use super::tokens_match;

    #[test]
    fn token_compare() {
        assert!(tokens_match("secret", "secret"));
        assert!(!tokens_match("secret", "secreT"));
        assert!(!tokens_match("secret", "secret2"));
        assert!(!tokens_match("", "x"));
        assert!(!tokens_match("x\u{ff}", "x"));
    }
}
