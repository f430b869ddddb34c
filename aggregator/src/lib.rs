//! The HCL Probe aggregator: takes report uploads, stores them (SQLite or PostgreSQL), and turns
//! them into the hardware compatibility list and the kernel choice reports.
//!
//! [`app::router`] is the whole server; [`store::Store`] hides the database; [`api`] holds the
//! upload and moderation API; [`web`] the HCL pages; [`import`] the Qubes HCL importer.

pub mod analysis;
pub mod api;
pub mod app;
pub mod error;
pub mod import;
pub mod server;
pub mod site;
pub mod store;
pub mod web;

pub use app::{AppState, Config, router};
pub use error::AppError;
