//! `/machines/{brand}/{model}`: every report of one machine model.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use hcl_data::Origin;
use serde::Serialize;

use super::parts::{Frame, StateCell, kernel_ids, origin_label};
use crate::analysis::{Filter, Hcl};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::{PageQuery, respond};
use crate::web::snapshot::cached_or_build;

/// A report in a machine's list.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub id: String,
    pub url: String,
    pub day: String,
    pub origin: Origin,
    pub generator: String,
    pub qubes: String,
    pub partial: bool,
    pub states: Vec<StateCell>,
}

impl ReportRow {
    pub fn origin_label(&self) -> &'static str {
        origin_label(&self.origin)
    }
}

#[derive(Template, Serialize)]
#[template(path = "machine.html")]
pub struct MachinePage {
    #[serde(skip)]
    pub frame: Frame,
    pub brand: String,
    pub model: String,
    pub machine_type: String,
    pub kernels: Vec<String>,
    pub reports: Vec<ReportRow>,
}

pub fn machine(hcl: &Hcl, brand: &str, model: &str, frame: Frame) -> Option<MachinePage> {
    let m = hcl.machine(brand, model)?;
    let kernels = kernel_ids(hcl);
    let reports = m
        .reports
        .iter()
        .rev()
        .map(|i| {
            let r = &hcl.reports[*i];
            ReportRow {
                id: r.id.clone(),
                url: r.url(),
                day: r.day.to_string(),
                origin: r.origin.clone(),
                generator: r.generator.clone(),
                qubes: r.qubes_releases(),
                partial: r.partial(),
                states: StateCell::row(&r.status, &kernels),
            }
        })
        .collect();
    Some(MachinePage {
        frame,
        brand: m.brand.clone(),
        model: m.model.clone(),
        machine_type: m.machine_type.clone(),
        kernels,
        reports,
    })
}

/// `GET /machines/{brand}/{model}`, `/api/v1/machines/{brand}/{model}`.
pub(crate) async fn page(
    State(st): State<AppState>,
    Path((brand, model)): Path<(String, String)>,
    q: PageQuery,
) -> Result<Response, AppError> {
    // A machine page shows all its reports, whatever the filter.
    let hcl = cached_or_build(&st, &Filter::default(), None).await?;
    let page = machine(&hcl, &brand, &model, Frame::default()).ok_or(AppError::NotFound)?;
    respond(&page, q.format)
}
