//! One file per page, each with its template struct (the same struct renders the HTML through
//! askama and the JSON through serde, so both always say the same thing), the pure function
//! that builds it from an [`Hcl`](crate::analysis::Hcl) (shared by the server and the static
//! site) and its handlers. What several pages show is in `parts`.

pub mod device;
pub mod devices;
pub mod kernel;
pub mod kernel_report;
pub mod kernels;
pub mod machine;
pub mod machines;
pub mod overview;
pub mod parts;
pub mod report;

pub use device::{DeviceDetail, DevicePage, device};
pub use devices::{DeviceRowOut, DevicesPage, devices};
pub use kernel::{Gap, KernelPage, kernel};
pub use kernel_report::{KernelChoice, KernelReportPage, kernel_report_page};
pub use kernels::{KernelRow, KernelsPage, kernels};
pub use machine::{MachinePage, ReportRow, machine};
pub use machines::{MachineRow, MachinesPage, machines};
pub use overview::{OverviewPage, overview};
pub use parts::{Frame, Paging, StateCell, VerdictCell};
pub use report::{ReportDevice, ReportPage, report};
