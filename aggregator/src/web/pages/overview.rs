//! `/`: what the HCL holds and how every kernel does.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use hcl_data::Origin;
use serde::Serialize;

use super::parts::{Frame, distro_of, share_chart, version_of};
use crate::analysis::{Hcl, KernelInfo, KernelShare, kernel_report};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::{PageQuery, respond};
use crate::web::snapshot::snapshot;

#[derive(Template, Serialize)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    #[serde(skip)]
    pub frame: Frame,
    pub reports: usize,
    pub machines: usize,
    pub devices: usize,
    pub imported: usize,
    pub kernels: Vec<KernelInfo>,
    pub shares: Vec<KernelShare>,
    #[serde(skip)]
    pub chart: String,
}

impl OverviewPage {
    pub fn version_of(&self, id: &str) -> String {
        version_of(&self.kernels, id)
    }
    pub fn distro_of(&self, id: &str) -> String {
        distro_of(&self.kernels, id)
    }
}

pub fn overview(hcl: &Hcl, frame: Frame) -> OverviewPage {
    let shares = kernel_report::shares(hcl);
    OverviewPage {
        frame,
        reports: hcl.reports.len(),
        machines: hcl.machines.len(),
        devices: hcl.devices.len(),
        imported: hcl
            .reports
            .iter()
            .filter(|r| r.origin == Origin::QubesHcl)
            .count(),
        kernels: hcl.kernels.clone(),
        chart: share_chart(
            "Machines whose dom0-critical devices are all driven",
            &shares,
        ),
        shares,
    }
}

/// `GET /`, `/api/v1/overview`.
pub(crate) async fn page(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    respond(&overview(&hcl, Frame::default()), q.format)
}
