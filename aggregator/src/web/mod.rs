//! The HCL pages: machines, devices, kernels and the kernel choice report, each as HTML, as
//! JSON (`/api/v1/...`, `?format=json` or `Accept: application/json`) and, for lists and the
//! kernel report, as CSV.
//!
//! A request answers from the cached [`Hcl`] snapshot of its filter (see `cache` for when one
//! is rebuilt: reading the visible reports and grouping them); the kernel engine's answers are
//! cached per distinct modalias for the life of the process, so a rebuild is grouping work only.

mod cache;
pub mod pages;
pub mod query;
pub mod svg;

use std::net::IpAddr;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::analysis::{AnalysisError, Filter, Hcl};
use crate::app::AppState;
use crate::error::AppError;
pub use cache::{DEFAULT_UPLOAD_LAG, Lookup, PageCache};
use pages::Frame;
use query::Params;

/// Rows per page of the machine and device lists (the CSV exports have them all).
pub const PER_PAGE: usize = 500;

/// The stylesheet, served at `/style.css` and written by the static site.
pub const STYLE_CSS: &str = include_str!("../../templates/style.css");

/// Page routes, merged into [`crate::app::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/style.css", get(style))
        .route("/machines", get(machines))
        .route("/machines.csv", get(machines_csv))
        .route("/machines/{brand}/{model}", get(machine))
        .route("/reports/{id}", get(report))
        .route("/devices", get(devices))
        .route("/devices.csv", get(devices_csv))
        .route("/devices/{id}", get(device))
        .route("/kernels", get(kernels))
        .route("/kernels/{id}", get(kernel))
        .route("/kernel-report", get(kernel_report))
        .route("/kernel-report.csv", get(kernel_report_csv))
        .route("/kernel-report.md", get(kernel_report_md))
        .route("/readiness", get(pages::readiness::handler))
        .route("/readiness.csv", get(pages::readiness::csv_handler))
        .route(
            "/readiness-suspend.csv",
            get(pages::readiness::suspend_csv_handler),
        )
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/machines", get(machines))
        .route("/api/v1/machines/{brand}/{model}", get(machine))
        .route("/api/v1/devices", get(devices))
        .route("/api/v1/devices/{id}", get(device))
        .route("/api/v1/kernels", get(kernels))
        .route("/api/v1/kernels/{id}", get(kernel))
        .route("/api/v1/kernel-report", get(kernel_report))
        .route("/api/v1/readiness", get(pages::readiness::handler))
}

/// The representation a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
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

/// The snapshot of the visible reports that pass `filter`: the cached one while it is fresh;
/// a stale one at once while a new one is built in the background; else one built now (read
/// from the store, built off the async threads). See [`cache`] for what fresh means.
async fn snapshot(st: &AppState, q: &PageQuery) -> Result<Arc<Hcl>, AppError> {
    cached_or_build(st, &q.filter, q.client).await
}

/// [`snapshot`] for `filter`; a build for a filter other than the default one counts against
/// `client`'s page-build budget (429 when spent), so no one client can keep the server reading
/// every report for filter after filter.
async fn cached_or_build(
    st: &AppState,
    filter: &Filter,
    client: Option<IpAddr>,
) -> Result<Arc<Hcl>, AppError> {
    match st.pages.lookup(filter) {
        Lookup::Fresh(hcl) => return Ok(hcl),
        Lookup::Stale(hcl) => {
            // One build at a time: when one is running, this stale snapshot is served again.
            if let Ok(building) = st.pages.build_lock().try_lock_owned() {
                let (st, filter) = (st.clone(), filter.clone());
                tokio::spawn(async move {
                    if let Err(e) = build_snapshot(&st, &filter).await {
                        tracing::warn!(error = %e, "background snapshot build failed");
                    }
                    drop(building);
                });
            }
            return Ok(hcl);
        }
        Lookup::Missing => {}
    }
    if let Some(ip) = client.filter(|_| *filter != Filter::default()) {
        st.build_limiter
            .check(ip)
            .map_err(|retry_after_s| AppError::TooManyRequests { retry_after_s })?;
    }
    let lock = st.pages.build_lock();
    let _building = lock.lock().await;
    // Whoever waited here may find the snapshot built meanwhile.
    if let Lookup::Fresh(hcl) = st.pages.lookup(filter) {
        return Ok(hcl);
    }
    build_snapshot(st, filter).await
}

/// Read the visible reports and build the snapshot for `filter`; the caller holds the build
/// lock.
async fn build_snapshot(st: &AppState, filter: &Filter) -> Result<Arc<Hcl>, AppError> {
    // Read before the store: a write landing meanwhile leaves this snapshot already behind.
    let generation = st.pages.generation();
    let reports = st.store.list_reports(false).await?;
    let cache = st.pages.coverage();
    let owned = filter.clone();
    let hcl = tokio::task::spawn_blocking(move || {
        let reports = reports.into_iter().filter(|r| owned.matches(r)).collect();
        Arc::new(Hcl::build(reports, &cache))
    })
    .await
    .map_err(|e| AppError::Internal(format!("snapshot task failed: {e}")))?;
    st.pages.put(filter, generation, hcl.clone());
    Ok(hcl)
}

fn analysis_error(e: AnalysisError) -> AppError {
    AppError::BadRequest(e.to_string())
}

/// Render a page as HTML or JSON.
fn respond<P: Template + Serialize>(page: &P, fmt: Format) -> Result<Response, AppError> {
    match fmt {
        Format::Json => Ok(axum::Json(page).into_response()),
        Format::Html | Format::Csv => page
            .render()
            .map(|h| Html(h).into_response())
            .map_err(|e| AppError::Internal(format!("template: {e}"))),
    }
}

fn csv_response(name: &str, body: String) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

async fn style() -> Response {
    let mut resp = STYLE_CSS.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    resp
}

/// What every page reads from its request: the query, the filter in it, and the
/// representation asked for (`?format=`, `/api/v1/...` or `Accept: application/json`).
struct PageQuery {
    params: Params,
    filter: Filter,
    format: Format,
    /// Who asked, for the page-build limit.
    client: Option<IpAddr>,
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

async fn overview(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    respond(&pages::overview(&hcl, Frame::default()), q.format)
}

async fn machines(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    if q.format == Format::Csv {
        return Ok(machines_csv_of(&hcl));
    }
    let page = pages::machines(
        &hcl,
        &q.filter,
        Frame::default(),
        Some((q.params.page, PER_PAGE)),
    );
    respond(&page, q.format)
}

async fn machines_csv(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    Ok(machines_csv_of(&*snapshot(&st, &q).await?))
}

fn machines_csv_of(hcl: &Hcl) -> Response {
    csv_response("machines.csv", crate::analysis::csv::machines(hcl))
}

async fn machine(
    State(st): State<AppState>,
    Path((brand, model)): Path<(String, String)>,
    q: PageQuery,
) -> Result<Response, AppError> {
    // A machine page shows all its reports, whatever the filter.
    let hcl = cached_or_build(&st, &Filter::default(), None).await?;
    let page = pages::machine(&hcl, &brand, &model, Frame::default()).ok_or(AppError::NotFound)?;
    respond(&page, q.format)
}

async fn report(
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: PageQuery,
) -> Result<Response, AppError> {
    // One report: no need to read the others.
    let stored = st
        .store
        .get_report(&id)
        .await?
        .filter(|r| !r.hidden)
        .ok_or(AppError::NotFound)?;
    let cache = st.pages.coverage();
    let hcl = tokio::task::spawn_blocking(move || Hcl::build(vec![stored], &cache))
        .await
        .map_err(|e| AppError::Internal(format!("snapshot task failed: {e}")))?;
    let page = pages::report(&hcl, &id, Frame::default()).ok_or(AppError::NotFound)?;
    respond(&page, q.format)
}

async fn devices(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    if q.format == Format::Csv {
        return Ok(devices_csv_of(&hcl));
    }
    let page = pages::devices(
        &hcl,
        &q.filter,
        Frame::default(),
        Some((q.params.page, PER_PAGE)),
    );
    respond(&page, q.format)
}

async fn devices_csv(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    Ok(devices_csv_of(&*snapshot(&st, &q).await?))
}

fn devices_csv_of(hcl: &Hcl) -> Response {
    csv_response("devices.csv", crate::analysis::csv::devices(hcl))
}

async fn device(
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: PageQuery,
) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    let page = pages::device(&hcl, &id, Frame::default()).ok_or(AppError::NotFound)?;
    respond(&page, q.format)
}

async fn kernels(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    respond(&pages::kernels(&hcl, Frame::default()), q.format)
}

async fn kernel(
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: PageQuery,
) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    let page = pages::kernel(&hcl, &id, Frame::default()).ok_or(AppError::NotFound)?;
    respond(&page, q.format)
}

async fn report_page(st: &AppState, q: &PageQuery) -> Result<pages::KernelReportPage, AppError> {
    let hcl = snapshot(st, q).await?;
    pages::kernel_report_page(
        &hcl,
        &q.params.candidates,
        q.params.baseline.as_deref(),
        &q.filter,
        Frame::default(),
    )
    .map_err(analysis_error)
}

async fn kernel_report(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let page = report_page(&st, &q).await?;
    if q.format == Format::Csv {
        return Ok(kernel_report_csv_of(&page));
    }
    respond(&page, q.format)
}

async fn kernel_report_csv(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    Ok(kernel_report_csv_of(&report_page(&st, &q).await?))
}

fn kernel_report_csv_of(page: &pages::KernelReportPage) -> Response {
    csv_response(
        "kernel-report.csv",
        crate::analysis::csv::kernel_report(&page.report),
    )
}

async fn kernel_report_md(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let page = report_page(&st, &q).await?;
    let mut resp = crate::analysis::markdown::kernel_report(&page.report).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/markdown; charset=utf-8"),
    );
    Ok(resp)
}
