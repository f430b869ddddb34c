//! `/reports/{id}`: one report with its coverage recomputed by the server.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use hcl_data::{Category, Origin, QubesVersion, Role, System};
use serde::Serialize;

use super::parts::{Frame, StateCell, VerdictCell, kernel_ids, origin_label};
use crate::analysis::Hcl;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request::{PageQuery, respond};
use crate::web::snapshot::of_one;

/// One device of a report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDevice {
    pub bus: String,
    pub id: String,
    pub url: Option<String>,
    pub name: String,
    pub modalias: String,
    pub category: Category,
    pub role: Role,
    pub partial: bool,
    pub driver: Option<String>,
    pub out_of_tree_driver: bool,
    pub coverage: Vec<VerdictCell>,
}

#[derive(Template, Serialize)]
#[template(path = "report.html")]
pub struct ReportPage {
    #[serde(skip)]
    pub frame: Frame,
    pub id: String,
    pub day: String,
    pub received_at: String,
    pub origin: Origin,
    pub generator: String,
    pub brand: String,
    pub model: String,
    pub machine_url: String,
    pub system: System,
    pub qubes_versions: Vec<QubesVersion>,
    pub kernels: Vec<String>,
    pub states: Vec<StateCell>,
    pub devices: Vec<ReportDevice>,
}

impl ReportPage {
    pub fn origin_label(&self) -> &'static str {
        origin_label(&self.origin)
    }

    /// The facts a person compares with the Qubes HCL, as label and value.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let s = &self.system;
        let o = |v: Option<&str>| v.unwrap_or("—").to_owned();
        vec![
            ("Type", o(s.machine_type.as_deref())),
            ("BIOS", o(s.bios.as_deref())),
            ("CPU", o(s.cpu.as_deref())),
            ("Virtualization", o(s.virtualization.as_deref())),
            ("HVM", s.hvm.to_string()),
            ("SLAT (EPT/NPT)", s.slat.to_string()),
            ("IOMMU", s.iommu.to_string()),
            ("Interrupt remapping", s.interrupt_remapping.to_string()),
            ("TPM", o(s.tpm.as_deref())),
            (
                "Memory",
                s.memory_mib
                    .map(|m| format!("{m} MiB"))
                    .unwrap_or_else(|| "—".to_owned()),
            ),
            ("Boot mode", o(s.boot_mode.as_ref().map(|b| b.as_str()))),
            ("Secure Boot", s.secure_boot.to_string()),
            ("Running kernel", o(s.running_kernel.as_deref())),
            ("Distribution", o(s.distro.as_deref())),
        ]
    }

    /// The free-text HCL lines of an imported report.
    pub fn hcl_lines(&self) -> Vec<(&'static str, String)> {
        let Some(h) = &self.system.hcl_text else {
            return Vec::new();
        };
        [
            ("Chipset", &h.chipset),
            ("GPU", &h.gpu),
            ("Network", &h.network),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
    }
}

pub fn report(hcl: &Hcl, id: &str, frame: Frame) -> Option<ReportPage> {
    let r = hcl.report(id)?;
    let kernels = kernel_ids(hcl);
    Some(ReportPage {
        frame,
        id: r.id.clone(),
        day: r.day.to_string(),
        received_at: r.received_at.clone(),
        origin: r.origin.clone(),
        generator: r.generator.clone(),
        brand: r.brand.clone(),
        model: r.model.clone(),
        machine_url: r.machine.url(),
        system: r.system.clone(),
        qubes_versions: r.qubes_versions.clone(),
        states: StateCell::row(&r.status, &kernels),
        devices: r
            .devices
            .iter()
            .map(|d| ReportDevice {
                bus: d.key.bus.clone(),
                id: d.key.id.clone(),
                url: d.key.url(),
                name: d.name.clone(),
                modalias: d.modalias.clone(),
                category: d.category.clone(),
                role: d.role,
                partial: d.partial,
                driver: d.driver.clone(),
                out_of_tree_driver: d.out_of_tree_driver,
                coverage: d
                    .coverage
                    .iter()
                    .zip(&kernels)
                    .map(|(c, k)| VerdictCell::of(k, c))
                    .collect(),
            })
            .collect(),
        kernels,
    })
}

/// `GET /reports/{id}`.
pub(crate) async fn page(
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: PageQuery,
) -> Result<Response, AppError> {
    let stored = st
        .store
        .get_report(&id)
        .await?
        .filter(|r| !r.hidden)
        .ok_or(AppError::NotFound)?;
    let hcl = of_one(&st, stored).await?;
    let page = report(&hcl, &id, Frame::default()).ok_or(AppError::NotFound)?;
    respond(&page, q.format)
}
