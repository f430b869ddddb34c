//! `/devices/{vendor}:{device}`: the machines that have a device and its coverage per kernel.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;

use super::devices::DeviceRowOut;
use super::parts::Frame;
use crate::analysis::{Hcl, MachineRef, kernel_report};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::{PageQuery, respond};
use crate::web::snapshot::snapshot;

/// One bus's view of a `vendor:device`.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceDetail {
    pub device: DeviceRowOut,
    pub modaliases: Vec<String>,
    pub machines: Vec<MachineRef>,
}

#[derive(Template, Serialize)]
#[template(path = "device.html")]
pub struct DevicePage {
    #[serde(skip)]
    pub frame: Frame,
    pub id: String,
    pub name: String,
    pub entries: Vec<DeviceDetail>,
}

pub fn device(hcl: &Hcl, id: &str, frame: Frame) -> Option<DevicePage> {
    let entries: Vec<DeviceDetail> = hcl
        .device(id)
        .into_iter()
        .map(|d| DeviceDetail {
            device: DeviceRowOut::of(hcl, d),
            modaliases: d.modaliases.clone(),
            machines: d
                .reports
                .iter()
                .map(|i| kernel_report::machine_ref(&hcl.reports[*i]))
                .collect(),
        })
        .collect();
    let first = entries.first()?;
    Some(DevicePage {
        frame,
        id: first.device.id.clone(),
        name: first.device.name.clone(),
        entries,
    })
}

/// `GET /devices/{id}`, `/api/v1/devices/{id}`.
pub(crate) async fn page(
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: PageQuery,
) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    let page = device(&hcl, &id, Frame::default()).ok_or(AppError::NotFound)?;
    respond(&page, q.format)
}
