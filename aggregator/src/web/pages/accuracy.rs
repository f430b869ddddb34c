//! `/accuracy`: how often each kernel's prediction held when that kernel really booted on a
//! machine (the observation stick's reports), with every disagreement listed; as HTML, JSON
//! (`/api/v1/accuracy`) and CSV (`/accuracy.csv`). The counting is hcl-data's one rule.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::parts::Frame;
use crate::analysis::Hcl;
use crate::analysis::observed::{KernelAccuracy, accuracy, accuracy_csv};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::{Format, PageQuery, csv_response, respond};
use crate::web::snapshot::snapshot;

/// The accuracy page.
#[derive(Template, Serialize)]
#[template(path = "accuracy.html")]
pub struct AccuracyPage {
    #[serde(skip)]
    pub frame: Frame,
    /// Stick reports counted.
    pub reports: usize,
    /// Per booted kernel, by release.
    pub kernels: Vec<KernelAccuracy>,
}

pub fn accuracy_page(hcl: &Hcl, frame: Frame) -> AccuracyPage {
    let kernels = accuracy(hcl);
    AccuracyPage {
        frame,
        reports: kernels.iter().map(|k| k.reports).sum(),
        kernels,
    }
}

/// `GET /accuracy`, `/api/v1/accuracy`.
pub(crate) async fn page(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    let page = accuracy_page(&hcl, Frame::default());
    if q.format == Format::Csv {
        return Ok(csv_response("accuracy.csv", accuracy_csv(&page.kernels)));
    }
    respond(&page, q.format)
}

/// `GET /accuracy.csv`.
pub(crate) async fn csv(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    Ok(csv_response("accuracy.csv", accuracy_csv(&accuracy(&hcl))))
}
