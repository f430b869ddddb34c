//! `hcl-aggregator build-site` and `hcl-aggregator report kernels`: the HCL as static files (as
//! the Qubes HCL is published today) and the kernel choice report as Markdown.
//!
//! The site uses the same page structs and templates as the server. Links are absolute
//! (`/machines/...`), so the site is meant to be served from the root of a web server, which
//! maps `/machines/x/y` to `machines/x/y/index.html`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use askama::Template;
use serde::Serialize;

use crate::analysis::{self, AnalysisError, CoverageCache, Filter, Hcl};
use crate::store::StoreError;
use crate::web::pages::{self, Frame};

/// Why the site or the report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("kernel catalog: {0}")]
    Catalog(#[from] hcl_kernel_engine::Error),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("rendering {page}: {message}")]
    Render { page: String, message: String },
}

/// What [`write_site`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteSummary {
    pub files: usize,
    pub machines: usize,
    pub reports: usize,
    pub devices: usize,
    /// Reports or devices whose id cannot be a file name (left out, counted here).
    pub skipped: usize,
}

/// Read the visible reports of the database at `db` and build the snapshot.
pub async fn load(db: &str, filter: &Filter) -> Result<Hcl, SiteError> {
    let store = crate::store::open(db).await?;
    let reports = store.list_reports(false).await?;
    let catalog = Arc::new(hcl_kernel_engine::Catalog::embedded()?);
    let reports = reports.into_iter().filter(|r| filter.matches(r)).collect();
    let cache = CoverageCache::new(catalog);
    Ok(Hcl::build(reports, &cache))
}

/// `hcl-aggregator build-site --db DB --out DIR`.
pub async fn build_site(db: &str, out: &Path) -> Result<SiteSummary, SiteError> {
    let hcl = load(db, &Filter::default()).await?;
    write_site(&hcl, out)
}

/// `hcl-aggregator report kernels`: the kernel choice report as Markdown.
pub async fn kernel_report_markdown(
    db: &str,
    candidates: &[String],
    baseline: Option<&str>,
    filter: &Filter,
) -> Result<String, SiteError> {
    let filter = filter.normalized()?;
    let hcl = load(db, &filter).await?;
    let report = analysis::kernel_report(&hcl, candidates, baseline, &filter)?;
    Ok(analysis::markdown::kernel_report(&report))
}

/// Write every page of `hcl` under `out` as HTML and JSON, plus the CSV exports, the
/// Markdown kernel report (all kernels, the first as baseline) and the stylesheet.
pub fn write_site(hcl: &Hcl, out: &Path) -> Result<SiteSummary, SiteError> {
    let frame = Frame { static_site: true };
    let mut w = Writer {
        root: out.to_path_buf(),
        summary: SiteSummary::default(),
    };
    w.text("style.css", crate::web::STYLE_CSS)?;
    w.page("", &pages::overview(hcl, frame.clone()))?;
    let all = Filter::default();
    w.page("machines", &pages::machines(hcl, &all, frame.clone(), None))?;
    w.text("machines.csv", &analysis::csv::machines(hcl))?;
    for m in &hcl.machines {
        if let Some(p) = pages::machine(hcl, &m.key.brand, &m.key.model, frame.clone()) {
            w.page(&format!("machines/{}/{}", m.key.brand, m.key.model), &p)?;
            w.summary.machines += 1;
        }
    }
    for r in &hcl.reports {
        if !safe_component(&r.id) {
            w.summary.skipped += 1;
            continue;
        }
        if let Some(p) = pages::report(hcl, &r.id, frame.clone()) {
            w.page(&format!("reports/{}", r.id), &p)?;
            w.summary.reports += 1;
        }
    }
    w.page("devices", &pages::devices(hcl, &all, frame.clone(), None))?;
    w.text("devices.csv", &analysis::csv::devices(hcl))?;
    let mut done: Vec<&str> = Vec::new();
    for d in &hcl.devices {
        if !d.key.has_page() || done.contains(&d.key.id.as_str()) {
            continue;
        }
        done.push(&d.key.id);
        if let Some(p) = pages::device(hcl, &d.key.id, frame.clone()) {
            w.page(&format!("devices/{}", d.key.id), &p)?;
            w.summary.devices += 1;
        }
    }
    w.page("kernels", &pages::kernels(hcl, frame.clone()))?;
    for k in &hcl.kernels {
        if !safe_component(&k.id) {
            w.summary.skipped += 1;
            continue;
        }
        if let Some(p) = pages::kernel(hcl, &k.id, frame.clone()) {
            w.page(&format!("kernels/{}", k.id), &p)?;
        }
    }
    if !hcl.kernels.is_empty() {
        let p = pages::kernel_report_page(hcl, &[], None, &all, frame)?;
        w.text(
            "kernel-report.csv",
            &analysis::csv::kernel_report(&p.report),
        )?;
        w.text(
            "kernel-report.md",
            &analysis::markdown::kernel_report(&p.report),
        )?;
        w.page("kernel-report", &p)?;
    }
    Ok(w.summary)
}

/// A path component that is safe as a file name and a URL segment.
fn safe_component(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.len() <= 128
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
}

struct Writer {
    root: PathBuf,
    summary: SiteSummary,
}

impl Writer {
    fn text(&mut self, rel: &str, body: &str) -> Result<(), SiteError> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| SiteError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, body).map_err(|source| SiteError::Io { path, source })?;
        self.summary.files += 1;
        Ok(())
    }

    /// `DIR/index.html` and `DIR/index.json`.
    fn page<P: Template + Serialize>(&mut self, dir: &str, page: &P) -> Result<(), SiteError> {
        let html = page.render().map_err(|e| SiteError::Render {
            page: format!("/{dir}"),
            message: e.to_string(),
        })?;
        let json = serde_json::to_string_pretty(page).map_err(|e| SiteError::Render {
            page: format!("/{dir}"),
            message: e.to_string(),
        })?;
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.text(&format!("{prefix}index.html"), &html)?;
        self.text(&format!("{prefix}index.json"), &json)
    }
}
