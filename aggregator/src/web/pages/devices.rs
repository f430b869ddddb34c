//! `/devices`: every device kind with its verdict per kernel.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use hcl_data::{Category, Role};
use serde::Serialize;

use super::parts::{Frame, List, Paging, VerdictCell, kernel_ids};
use crate::analysis::{DeviceEntry, Filter, Hcl};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::PageQuery;

/// A device kind in the list.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceRowOut {
    pub bus: String,
    pub id: String,
    pub url: Option<String>,
    pub name: String,
    pub category: Category,
    pub role: Role,
    pub machines: usize,
    pub coverage: Vec<VerdictCell>,
}

impl DeviceRowOut {
    pub(super) fn of(hcl: &Hcl, d: &DeviceEntry) -> Self {
        DeviceRowOut {
            bus: d.key.bus.clone(),
            id: d.key.id.clone(),
            url: d.key.url(),
            name: d.name.clone(),
            category: d.category.clone(),
            role: d.role,
            machines: d.reports.len(),
            coverage: d
                .per_kernel
                .iter()
                .zip(&hcl.kernels)
                .map(|(c, k)| VerdictCell::of_cell(&k.id, c))
                .collect(),
        }
    }
}

#[derive(Template, Serialize)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    #[serde(skip)]
    pub frame: Frame,
    pub filter: Filter,
    pub kernels: Vec<String>,
    pub paging: Paging,
    pub devices: Vec<DeviceRowOut>,
}

/// The devices list; `window` is `Some((page, per))` for one page of it.
pub fn devices(
    hcl: &Hcl,
    filter: &Filter,
    frame: Frame,
    window: Option<(usize, usize)>,
) -> DevicesPage {
    // Devices with vendor:device ids first (they have pages), most common first.
    let mut list: Vec<&DeviceEntry> = hcl.devices.iter().collect();
    list.sort_by(|a, b| {
        (
            !a.key.has_page(),
            a.role,
            std::cmp::Reverse(a.reports.len()),
            &a.key,
        )
            .cmp(&(
                !b.key.has_page(),
                b.role,
                std::cmp::Reverse(b.reports.len()),
                &b.key,
            ))
    });
    let paging = Paging::window(&mut list, window, filter);
    let devices: Vec<DeviceRowOut> = list.into_iter().map(|d| DeviceRowOut::of(hcl, d)).collect();
    DevicesPage {
        frame,
        filter: filter.clone(),
        kernels: kernel_ids(hcl),
        paging,
        devices,
    }
}

const LIST: List<DevicesPage> = List {
    page: devices,
    csv_name: "devices.csv",
    csv: crate::analysis::csv::devices,
};

/// `GET /devices`, `/api/v1/devices`.
pub(crate) async fn page(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    LIST.answer(&st, &q).await
}

/// `GET /devices.csv`.
pub(crate) async fn csv(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    LIST.csv(&st, &q).await
}
