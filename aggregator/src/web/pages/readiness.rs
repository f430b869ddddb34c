//! `/readiness`: Qubes readiness over the fleet (passthrough of the controllers handed to
//! sys-net and sys-usb, suspend), as HTML, JSON (`/api/v1/readiness`) and CSV
//! (`/readiness.csv`, `/readiness-suspend.csv`). What the machine, report and device pages show
//! of readiness is in `readiness_parts`.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use hcl_data::SuspendSupport;
use serde::Serialize;

use super::parts::Frame;
use super::readiness_parts::{PASSTHROUGH_HEADS, with_heads};
use crate::analysis::csv::{readiness_controllers, readiness_suspend};
use crate::analysis::readiness::{
    ControllerFigures, ReadinessFigures, SuspendFigures, Tally, figures,
};
use crate::analysis::{Filter, Hcl};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::{Format, PageQuery, csv_response, respond};
use crate::web::snapshot::snapshot;

#[derive(Template, Serialize)]
#[template(path = "readiness.html")]
pub struct ReadinessPage {
    #[serde(skip)]
    pub frame: Frame,
    pub filter: Filter,
    #[serde(flatten)]
    pub figures: ReadinessFigures,
}

impl ReadinessPage {
    /// The controllers of one kind, for one table each.
    pub fn of_kind(&self, kind: &str) -> Vec<&ControllerFigures> {
        self.figures
            .controllers
            .iter()
            .filter(|c| c.kind.label() == kind)
            .collect()
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<&'static str> = self
            .figures
            .controllers
            .iter()
            .map(|c| c.kind.label())
            .collect();
        k.dedup();
        k
    }

    pub fn suspend_rows(&self) -> Vec<(&'static str, Tally)> {
        suspend_labels(&self.figures.suspend)
    }

    pub fn heads(&self) -> [&'static str; 6] {
        PASSTHROUGH_HEADS
    }

    pub fn columns(&self, c: &ControllerFigures) -> Vec<(&'static str, Tally)> {
        with_heads(&c.counts)
    }

    /// The `grouped_with` of a controller, as text.
    pub fn grouped(&self, c: &ControllerFigures) -> String {
        c.grouped_with
            .iter()
            .map(|m| format!("{} {} ({})", m.id, m.name, m.machines))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn suspend_labels(s: &SuspendFigures) -> Vec<(&'static str, Tally)> {
    s.by_support()
        .into_iter()
        .map(|(support, t)| {
            let label = match support {
                Some(SuspendSupport::Unknown) => "unknown (the probe could not tell)",
                Some(k) => k.label(),
                None => "no data (HCL import or older probe)",
            };
            (label, t)
        })
        .collect()
}

/// The page over every report of `hcl` (already filtered by `filter`).
pub fn readiness(hcl: &Hcl, filter: &Filter, frame: Frame) -> ReadinessPage {
    ReadinessPage {
        frame,
        filter: filter.clone(),
        figures: figures(hcl),
    }
}

/// `GET /readiness`, `/api/v1/readiness`; `?format=csv` is `/readiness.csv`.
pub(crate) async fn page(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    if q.format == Format::Csv {
        return Ok(csv_response(
            "readiness.csv",
            readiness_controllers(&figures(&hcl)),
        ));
    }
    respond(&readiness(&hcl, &q.filter, Frame::default()), q.format)
}

/// `GET /readiness.csv`: one line per controller model.
pub(crate) async fn csv(State(st): State<AppState>, q: PageQuery) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    Ok(csv_response(
        "readiness.csv",
        readiness_controllers(&figures(&hcl)),
    ))
}

/// `GET /readiness-suspend.csv`: machines and reports per kind of suspend support.
pub(crate) async fn suspend_csv(
    State(st): State<AppState>,
    q: PageQuery,
) -> Result<Response, AppError> {
    let hcl = snapshot(&st, &q).await?;
    Ok(csv_response(
        "readiness-suspend.csv",
        readiness_suspend(&figures(&hcl)),
    ))
}
