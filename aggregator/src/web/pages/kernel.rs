//! `/kernels/{id}`: one kernel's profile and the devices it leaves undriven.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use hcl_data::Verdict;
use serde::Serialize;

use super::devices::DeviceRowOut;
use super::parts::{Frame, VerdictCell};
use crate::analysis::{DeviceEntry, Hcl, KernelInfo, KernelShare, kernel_report};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::{PageQuery, respond};
use crate::web::snapshot::snapshot;

/// A device kind the kernel does not drive.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub device: DeviceRowOut,
    pub cell: VerdictCell,
}

#[derive(Template, Serialize)]
#[template(path = "kernel.html")]
pub struct KernelPage {
    #[serde(skip)]
    pub frame: Frame,
    pub info: KernelInfo,
    pub share: KernelShare,
    /// Device kinds seen in reports that this kernel does not drive (or drives with caveats),
    /// dom0-critical first.
    pub gaps: Vec<Gap>,
}

pub fn kernel(hcl: &Hcl, id: &str, frame: Frame) -> Option<KernelPage> {
    let k = hcl.kernel_index(id)?;
    let share = kernel_report::shares(hcl).into_iter().nth(k)?;
    let mut list: Vec<&DeviceEntry> = hcl
        .devices
        .iter()
        .filter(|d| {
            d.per_kernel
                .get(k)
                .is_some_and(|c| c.verdict != Verdict::Supported)
        })
        .collect();
    list.sort_by(|a, b| {
        (a.role, std::cmp::Reverse(a.reports.len()), &a.key).cmp(&(
            b.role,
            std::cmp::Reverse(b.reports.len()),
            &b.key,
        ))
    });
    let gaps = list
        .into_iter()
        .filter_map(|d| {
            let cell = VerdictCell::of_cell(id, d.per_kernel.get(k)?);
            Some(Gap {
                device: DeviceRowOut::of(hcl, d),
                cell,
            })
        })
        .collect();
    Some(KernelPage {
        frame,
        info: hcl.kernels[k].clone(),
        share,
        gaps,
    })
}

/// `GET /kernels/{id}`, `/api/v1/kernels/{id}`.
pub(crate) async fn page(
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: PageQuery,
) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    let page = kernel(&hcl, &id, Frame::default()).ok_or(AppError::NotFound)?;
    respond(&page, q.format)
}
