//! The HCL pages: machines, devices, kernels, the kernel choice report and Qubes readiness, each
//! as HTML, as JSON (`/api/v1/...`, `?format=json` or `Accept: application/json`) and, for lists,
//! the kernel report and the readiness figures, as CSV.
//!
//! [`routes`] is the route table; each page's handlers sit with its template struct in
//! [`pages`]. A request answers from the cached [`Hcl`](crate::analysis::Hcl) snapshot of its
//! filter (`snapshot.rs`; see `cache.rs` for when one is rebuilt: reading the visible reports
//! and grouping them); the kernel engine's answers are cached per distinct modalias for the life
//! of the process, so a rebuild is grouping work only.

pub(crate) mod cache;
pub mod chart;
pub(crate) mod escape;
pub mod pages;
pub mod query;
pub(crate) mod request;
mod snapshot;
mod style;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;
pub use cache::{DEFAULT_UPLOAD_LAG, Lookup, PageCache};
pub use pages::parts::PER_PAGE;
pub use style::STYLE_CSS;

/// Page routes, merged into the route table of `app.rs`.
pub fn routes() -> Router<AppState> {
    use pages::{
        accuracy, device, devices, kernel, kernel_report, kernels, machine, machines, overview,
        readiness, report,
    };
    Router::new()
        .route("/", get(overview::page))
        .route("/style.css", get(style::get))
        .route("/machines", get(machines::page))
        .route("/machines.csv", get(machines::csv))
        .route("/machines/{brand}/{model}", get(machine::page))
        .route("/reports/{id}", get(report::page))
        .route("/devices", get(devices::page))
        .route("/devices.csv", get(devices::csv))
        .route("/devices/{id}", get(device::page))
        .route("/kernels", get(kernels::page))
        .route("/kernels/{id}", get(kernel::page))
        .route("/kernel-report", get(kernel_report::page))
        .route("/kernel-report.csv", get(kernel_report::csv))
        .route("/kernel-report.md", get(kernel_report::markdown))
        .route("/accuracy", get(accuracy::page))
        .route("/accuracy.csv", get(accuracy::csv))
        .route("/api/v1/accuracy", get(accuracy::page))
        .route("/readiness", get(readiness::page))
        .route("/readiness.csv", get(readiness::csv))
        .route("/readiness-suspend.csv", get(readiness::suspend_csv))
        .route("/api/v1/overview", get(overview::page))
        .route("/api/v1/machines", get(machines::page))
        .route("/api/v1/machines/{brand}/{model}", get(machine::page))
        .route("/api/v1/devices", get(devices::page))
        .route("/api/v1/devices/{id}", get(device::page))
        .route("/api/v1/kernels", get(kernels::page))
        .route("/api/v1/kernels/{id}", get(kernel::page))
        .route("/api/v1/kernel-report", get(kernel_report::page))
        .route("/api/v1/readiness", get(readiness::page))
}
