//! The fleet view: coverage recomputed server-side for every stored report, grouped into
//! machines, devices and kernels, and the kernel choice report.
//!
//! Everything here is a pure function of the stored reports and the kernel [`Catalog`]; the web
//! pages, the static site and the Markdown report all render the same structures.
//!
//! [`Catalog`]: hcl_kernel_engine::Catalog

mod coverage;
pub mod csv;
mod device_entry;
mod filter;
mod hcl;
pub mod kernel_report;
mod keys;
pub mod markdown;
mod view;

pub use coverage::CoverageCache;
pub use device_entry::{DeviceEntry, DeviceKernelCell};
pub use filter::Filter;
pub use hcl::{Hcl, KernelInfo, MachineEntry};
pub use kernel_report::{
    DeviceIssue, KernelChoiceReport, KernelShare, Loss, MACHINES_LISTED, MachineRef, kernel_report,
};
pub use keys::{DeviceKey, MachineKey, slug};
pub use view::{DeviceRow, ReportView};

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
