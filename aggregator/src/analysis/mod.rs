//! The fleet view: coverage recomputed server-side for every stored report, grouped into
//! machines, devices and kernels, and the kernel choice report.
//!
//! Everything here is a pure function of the stored reports and the kernel [`Catalog`]; the web
//! pages, the static site and the Markdown report all render the same structures.
//!
//! [`Catalog`]: hcl_kernels::Catalog

mod coverage;
pub mod csv;
mod filter;
mod hcl;
pub mod kernel_report;
pub mod markdown;
pub mod readiness;

pub use coverage::CoverageCache;
pub use filter::Filter;
pub use hcl::{
    DeviceEntry, DeviceKernelCell, DeviceKey, DeviceRow, Hcl, KernelInfo, MachineEntry, MachineKey,
    MachineState, MachineStatus, ReportView, slug,
};
pub use kernel_report::{
    DeviceIssue, KernelChoiceReport, KernelShare, Loss, MACHINES_LISTED, MachineRef, kernel_report,
};

/// Errors of the analysis: all of them are the caller's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("unknown kernel id {0:?}; known: {1}")]
    UnknownKernel(String, String),
    #[error("no candidate kernels given")]
    NoCandidates,
    #[error("bad date {0:?}: expected YYYY-MM-DD")]
    BadDate(String),
    #[error("baseline kernel {0:?} is not one of the candidates")]
    BadBaseline(String),
}
