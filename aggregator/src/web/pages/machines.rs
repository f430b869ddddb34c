//! `/machines`: every machine model with, per kernel, how its newest report fares.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::parts::{Frame, List, Paging, StateCell, kernel_ids};
use crate::analysis::{Filter, Hcl};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::PageQuery;

/// A machine model in the list.
#[derive(Debug, Clone, Serialize)]
pub struct MachineRow {
    pub brand: String,
    pub model: String,
    pub machine_type: String,
    pub reports: usize,
    pub latest: String,
    pub url: String,
    /// Per kernel, of the newest report.
    pub states: Vec<StateCell>,
}

#[derive(Template, Serialize)]
#[template(path = "machines.html")]
pub struct MachinesPage {
    #[serde(skip)]
    pub frame: Frame,
    pub filter: Filter,
    pub kernels: Vec<String>,
    pub paging: Paging,
    pub machines: Vec<MachineRow>,
}

/// The machines list; `window` is `Some((page, per))` for one page of it.
pub fn machines(
    hcl: &Hcl,
    filter: &Filter,
    frame: Frame,
    window: Option<(usize, usize)>,
) -> MachinesPage {
    let kernels = kernel_ids(hcl);
    let mut list: Vec<_> = hcl.machines.iter().collect();
    let paging = Paging::window(&mut list, window, filter);
    let machines: Vec<MachineRow> = list
        .into_iter()
        .map(|m| {
            let newest = m.reports.last().map(|i| &hcl.reports[*i]);
            MachineRow {
                brand: m.brand.clone(),
                model: m.model.clone(),
                machine_type: m.machine_type.clone(),
                reports: m.reports.len(),
                latest: m.latest_day.to_string(),
                url: m.key.url(),
                states: newest
                    .map(|r| StateCell::row(&r.status, &kernels))
                    .unwrap_or_default(),
            }
        })
        .collect();
    MachinesPage {
        frame,
        filter: filter.clone(),
        kernels,
        paging,
        machines,
    }
}

const LIST: List<MachinesPage> = List {
    page: machines,
    csv_name: "machines.csv",
    csv: crate::analysis::csv::machines,
};

/// `GET /machines`, `/api/v1/machines`.
pub(crate) async fn page(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    LIST.answer(&st, &q).await
}

/// `GET /machines.csv`.
pub(crate) async fn csv(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    LIST.csv(&st, &q).await
}
