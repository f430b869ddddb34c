//! `/kernels`: every candidate kernel with its share.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::parts::{Frame, share_chart};
use crate::analysis::{Hcl, KernelInfo, KernelShare, kernel_report};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::{PageQuery, respond};
use crate::web::snapshot::snapshot;

/// A kernel in the list, with its share.
#[derive(Debug, Clone, Serialize)]
pub struct KernelRow {
    pub info: KernelInfo,
    pub share: KernelShare,
    pub url: String,
}

#[derive(Template, Serialize)]
#[template(path = "kernels.html")]
pub struct KernelsPage {
    #[serde(skip)]
    pub frame: Frame,
    pub kernels: Vec<KernelRow>,
    #[serde(skip)]
    pub chart: String,
}

pub fn kernels(hcl: &Hcl, frame: Frame) -> KernelsPage {
    let shares = kernel_report::shares(hcl);
    KernelsPage {
        frame,
        chart: share_chart(
            "Machines whose dom0-critical devices are all driven",
            &shares,
        ),
        kernels: hcl
            .kernels
            .iter()
            .zip(shares)
            .map(|(k, s)| KernelRow {
                url: format!("/kernels/{}", k.id),
                info: k.clone(),
                share: s,
            })
            .collect(),
    }
}

/// `GET /kernels`, `/api/v1/kernels`.
pub(crate) async fn page(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    respond(&kernels(&hcl, Frame::default()), q.format)
}
