//! `/kernel-report`: the kernel choice report, as HTML, JSON, CSV and Markdown.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::parts::{Css, Frame, kernel_ids, share_chart, version_of};
use crate::analysis::{AnalysisError, Filter, Hcl, KernelChoiceReport, Loss, kernel_report};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::{
    Format, PageQuery, analysis_error, csv_response, respond, text_response,
};
use crate::web::snapshot::snapshot;

/// A kernel offered in the report form.
#[derive(Debug, Clone, Serialize)]
pub struct KernelChoice {
    pub id: String,
    pub checked: bool,
    pub baseline: bool,
}

#[derive(Template, Serialize)]
#[template(path = "kernel_report.html")]
pub struct KernelReportPage {
    #[serde(skip)]
    pub frame: Frame,
    #[serde(flatten)]
    pub report: KernelChoiceReport,
    #[serde(skip)]
    pub choices: Vec<KernelChoice>,
    #[serde(skip)]
    pub chart: String,
    /// Query string that reproduces this report (for the CSV and Markdown links).
    #[serde(skip)]
    pub query: String,
}

impl KernelReportPage {
    /// Candidates other than the baseline, with their losses.
    pub fn targets(&self) -> Vec<(String, Vec<&Loss>)> {
        self.report
            .candidates
            .iter()
            .filter(|k| k.id != self.report.baseline)
            .map(|k| {
                (
                    k.id.clone(),
                    self.report.losses.iter().filter(|l| l.to == k.id).collect(),
                )
            })
            .collect()
    }

    pub fn version_of(&self, id: &str) -> String {
        version_of(&self.report.candidates, id)
    }
}

pub fn kernel_report_page(
    hcl: &Hcl,
    candidates: &[String],
    baseline: Option<&str>,
    filter: &Filter,
    frame: Frame,
) -> Result<KernelReportPage, AnalysisError> {
    let all: Vec<String>;
    let candidates = if candidates.is_empty() {
        all = kernel_ids(hcl);
        &all
    } else {
        candidates
    };
    let report = kernel_report(hcl, candidates, baseline, filter)?;
    let choices = hcl
        .kernels
        .iter()
        .map(|k| KernelChoice {
            id: k.id.clone(),
            checked: report.candidates.iter().any(|c| c.id == k.id),
            baseline: report.baseline == k.id,
        })
        .collect();
    let mut query = format!(
        "candidates={}&baseline={}",
        report
            .candidates
            .iter()
            .map(|k| k.id.as_str())
            .collect::<Vec<_>>()
            .join(","),
        report.baseline
    );
    let fq = filter.query();
    if !fq.is_empty() {
        query.push('&');
        query.push_str(&fq);
    }
    Ok(KernelReportPage {
        frame,
        chart: share_chart(
            "Machines whose dom0-critical devices are all driven, per candidate kernel",
            &report.shares,
        ),
        report,
        choices,
        query,
    })
}

async fn page_of(st: &AppState, q: &PageQuery) -> Result<KernelReportPage, AppError> {
    let hcl = snapshot(st, q).await?;
    kernel_report_page(
        &hcl,
        &q.params.candidates,
        q.params.baseline.as_deref(),
        &q.filter,
        Frame::default(),
    )
    .map_err(analysis_error)
}

/// `GET /kernel-report`, `/api/v1/kernel-report`.
pub(crate) async fn page(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let page = page_of(&st, &q).await?;
    if q.format == Format::Csv {
        return Ok(csv_of(&page));
    }
    respond(&page, q.format)
}

/// `GET /kernel-report.csv`.
pub(crate) async fn csv(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    Ok(csv_of(&page_of(&st, &q).await?))
}

fn csv_of(page: &KernelReportPage) -> Response {
    csv_response(
        "kernel-report.csv",
        crate::analysis::csv::kernel_report(&page.report),
    )
}

/// `GET /kernel-report.md`.
pub(crate) async fn markdown(
    State(st): State<AppState>,
    q: PageQuery,
) -> Result<Response, AppError> {
    let page = page_of(&st, &q).await?;
    let md = crate::analysis::markdown::kernel_report(&page.report);
    Ok(text_response(md, "text/markdown; charset=utf-8", None))
}
