//! What several pages show: the page frame, verdict and machine-state cells, list paging and the
//! share chart.

use askama::Template;
use axum::response::Response;
use hcl_data::{Coverage, KernelSummary, MachineState, Origin, Verdict};
use serde::Serialize;

use crate::analysis::{DeviceKernelCell, Filter, Hcl, KernelInfo, KernelShare};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::chart::{Bar, BarChart};
use crate::web::request::{Format, PageQuery, csv_response, respond};
use crate::web::snapshot::snapshot;

/// Rows per page of the machine and device lists (the CSV exports have them all).
pub const PER_PAGE: usize = 500;

/// What every page needs for its frame.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Frame {
    /// Static site: no forms (nothing answers them), links to the exported files instead.
    #[serde(skip)]
    pub static_site: bool,
}

/// The CSS class of a verdict or machine state in the tables.
pub trait Css {
    fn css(&self) -> &'static str;
}

impl Css for Verdict {
    fn css(&self) -> &'static str {
        match self {
            Verdict::Supported => "v-ok",
            Verdict::Deprecated | Verdict::ExtraPackage | Verdict::FirmwareMissing => "v-warn",
            Verdict::NeedsParameter
            | Verdict::Disabled
            | Verdict::UnknownChip
            | Verdict::NoDriver => "v-bad",
            Verdict::Unknown => "v-unknown",
        }
    }
}

impl Css for MachineState {
    fn css(&self) -> &'static str {
        match self {
            MachineState::Ok => "v-ok",
            MachineState::Fails => "v-bad",
            MachineState::NoData => "v-unknown",
        }
    }
}

/// One kernel's answer for one device, as a table cell.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictCell {
    pub kernel: String,
    pub verdict: Verdict,
    pub drivers: Vec<String>,
    pub reason: String,
    pub partial: bool,
}

impl VerdictCell {
    pub(super) fn of(kernel: &str, c: &Coverage) -> Self {
        let mut drivers = c.modules.clone();
        drivers.extend(c.builtin.iter().map(|b| format!("{b} (built-in)")));
        drivers.extend(
            c.inferred_builtin
                .iter()
                .map(|b| format!("{b} (built-in, inferred)")),
        );
        VerdictCell {
            kernel: kernel.to_owned(),
            verdict: c.verdict,
            drivers,
            reason: c.reason.clone(),
            partial: c.partial,
        }
    }

    pub(super) fn of_cell(kernel: &str, c: &DeviceKernelCell) -> Self {
        VerdictCell {
            kernel: kernel.to_owned(),
            verdict: c.verdict,
            drivers: c.drivers.clone(),
            reason: c.reason.clone(),
            partial: c.partial,
        }
    }

    pub fn class(&self) -> &'static str {
        self.verdict.css()
    }

    pub fn label(&self) -> String {
        let base = self.verdict.label();
        if self.partial {
            format!("{base}*")
        } else {
            base.to_owned()
        }
    }

    /// Tooltip: drivers and the reason.
    pub fn title(&self) -> String {
        let mut t = self.reason.clone();
        if !self.drivers.is_empty() {
            if !t.is_empty() {
                t.push_str(" — ");
            }
            t.push_str(&self.drivers.join(", "));
        }
        if self.partial {
            t.push_str(" (partial ids: a match for some value of the unknown fields)");
        }
        t
    }

    pub fn drivers_text(&self) -> String {
        self.drivers.join(", ")
    }
}

/// A machine on one kernel, as a table cell.
#[derive(Debug, Clone, Serialize)]
pub struct StateCell {
    pub kernel: String,
    pub state: MachineState,
    /// Dom0-critical devices the kernel has data for.
    pub dom0_total: u32,
    pub dom0_driven: u32,
    /// Dom0-critical devices the kernel has no data for.
    pub dom0_unknown: u32,
    pub partial: bool,
}

impl StateCell {
    pub(super) fn of(kernel: &str, s: &KernelSummary) -> Self {
        StateCell {
            kernel: kernel.to_owned(),
            state: s.state(),
            dom0_total: s.dom0_total,
            dom0_driven: s.dom0_covered,
            dom0_unknown: s.dom0_unknown,
            partial: s.partial,
        }
    }

    /// One cell per kernel of a report's states.
    pub(super) fn row(status: &[KernelSummary], kernels: &[String]) -> Vec<StateCell> {
        status
            .iter()
            .zip(kernels)
            .map(|(s, k)| StateCell::of(k, s))
            .collect()
    }

    pub fn class(&self) -> &'static str {
        self.state.css()
    }

    pub fn label(&self) -> String {
        let base = self.state.label();
        if self.partial {
            format!("{base}*")
        } else {
            base.to_owned()
        }
    }

    pub fn title(&self) -> String {
        let unknown = if self.dom0_unknown > 0 {
            format!(", {} without data", self.dom0_unknown)
        } else {
            String::new()
        };
        format!(
            "{}: {} of {} dom0-critical devices driven{unknown}{}",
            self.kernel,
            self.dom0_driven,
            self.dom0_total,
            if self.partial { " (partial ids)" } else { "" }
        )
    }
}

/// Where a long list stands: the server shows it a page at a time.
#[derive(Debug, Clone, Serialize)]
pub struct Paging {
    /// Rows in the whole list.
    pub total: usize,
    /// 1-based.
    pub page: usize,
    pub pages: usize,
    /// Query string of the list's filter, for the page links.
    #[serde(skip)]
    pub query: String,
}

impl Paging {
    fn all(total: usize) -> Self {
        Paging {
            total,
            page: 1,
            pages: 1,
            query: String::new(),
        }
    }

    /// The whole list (`window` None) or one page of it (`Some((page, per))`), cut before any
    /// row is built: a list page builds its 500 rows, not one per machine or device.
    pub(super) fn window<T>(
        rows: &mut Vec<T>,
        window: Option<(usize, usize)>,
        filter: &crate::analysis::Filter,
    ) -> Self {
        match window {
            Some((page, per)) => Paging::cut(rows, page, per, filter.query()),
            None => Paging::all(rows.len()),
        }
    }

    /// Keep page `page` (clamped) of `rows`, `per` rows a page.
    fn cut<T>(rows: &mut Vec<T>, page: usize, per: usize, query: String) -> Self {
        let total = rows.len();
        let per = per.max(1);
        let pages = total.div_ceil(per).max(1);
        let page = page.clamp(1, pages);
        let start = (page - 1) * per;
        rows.truncate((start + per).min(total));
        rows.drain(..start.min(rows.len()));
        Paging {
            total,
            page,
            pages,
            query,
        }
    }

    pub fn link(&self, page: usize) -> String {
        if self.query.is_empty() {
            format!("?page={page}")
        } else {
            format!("?{}&page={page}", self.query)
        }
    }

    pub fn prev(&self) -> Option<String> {
        (self.page > 1).then(|| self.link(self.page - 1))
    }

    pub fn next(&self) -> Option<String> {
        (self.page < self.pages).then(|| self.link(self.page + 1))
    }
}

/// Builds a list page: one page of it (`Some((page, per))`) or all of it.
pub(super) type ListPage<P> = fn(&Hcl, &Filter, Frame, Option<(usize, usize)>) -> P;

/// A list page (machines, devices) and its CSV export.
pub(super) struct List<P> {
    pub(super) page: ListPage<P>,
    pub(super) csv_name: &'static str,
    pub(super) csv: fn(&Hcl) -> String,
}

impl<P: Template + Serialize> List<P> {
    /// One page as HTML or JSON, or the whole list as CSV (`?format=csv`).
    pub(super) async fn answer(&self, st: &AppState, q: &PageQuery) -> Result<Response, AppError> {
        let hcl = snapshot(st, q).await?;
        if q.format == Format::Csv {
            return Ok(csv_response(self.csv_name, (self.csv)(&hcl)));
        }
        let window = Some((q.params.page, PER_PAGE));
        respond(
            &(self.page)(&hcl, &q.filter, Frame::default(), window),
            q.format,
        )
    }

    /// The whole list as CSV.
    pub(super) async fn csv(&self, st: &AppState, q: &PageQuery) -> Result<Response, AppError> {
        let hcl = snapshot(st, q).await?;
        Ok(csv_response(self.csv_name, (self.csv)(&hcl)))
    }
}

pub(super) fn kernel_ids(hcl: &Hcl) -> Vec<String> {
    hcl.kernels.iter().map(|k| k.id.clone()).collect()
}

pub(super) fn origin_label(o: &Origin) -> &'static str {
    match o {
        Origin::Probe => "hcl-probe",
        Origin::QubesHcl => "Qubes HCL import",
    }
}

/// The share of every kernel as a bar chart (SVG).
pub(super) fn share_chart(title: &str, shares: &[KernelShare]) -> String {
    let bars: Vec<Bar> = shares
        .iter()
        .map(|s| Bar {
            label: s.kernel.clone(),
            value: s.share,
            note: format!("{}% ({} / {})", s.percent(), s.ok, s.assessed),
        })
        .collect();
    // Rendering plain data into a fixed template cannot fail; an empty figure if it did.
    BarChart::new(title, &bars).render().unwrap_or_default()
}

/// The kernel version of a kernel id, for tables keyed by id.
pub(super) fn version_of(kernels: &[KernelInfo], id: &str) -> String {
    kernels
        .iter()
        .find(|k| k.id == id)
        .map(|k| k.kernel_version.clone())
        .unwrap_or_default()
}

/// `debian 13 (trixie)` for a kernel id.
pub(super) fn distro_of(kernels: &[KernelInfo], id: &str) -> String {
    kernels
        .iter()
        .find(|k| k.id == id)
        .map(|k| format!("{} {}", k.distro, k.release))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::Paging;

    #[test]
    fn pages_are_clamped_and_cut() {
        let mut rows: Vec<u32> = (0..25).collect();
        let p = Paging::cut(&mut rows, 3, 10, "type=laptop".into());
        assert_eq!(rows, (20..25).collect::<Vec<_>>());
        assert_eq!((p.total, p.page, p.pages), (25, 3, 3));
        assert_eq!(p.prev().as_deref(), Some("?type=laptop&page=2"));
        assert_eq!(p.next(), None);
        let mut rows: Vec<u32> = (0..5).collect();
        let p = Paging::cut(&mut rows, 99, 10, String::new());
        assert_eq!((rows.len(), p.page), (5, 1));
        let mut empty: Vec<u32> = Vec::new();
        let p = Paging::cut(&mut empty, 0, 10, String::new());
        assert_eq!((p.page, p.pages, p.next()), (1, 1, None));
    }
}
