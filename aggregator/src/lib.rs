//! The HCL Probe aggregator: takes report uploads, stores them (SQLite or PostgreSQL), and turns
//! them into the hardware compatibility list and the kernel choice reports.
//!
//! [`app::router`] is the route table, [`config::Config`] the settings (the `serve` flags),
//! [`state::AppState`] what every handler reaches; [`store::Store`] hides the database; [`api`] holds the
//! upload and moderation API; [`web`] the HCL pages; [`import`] the Qubes HCL importer.

pub mod analysis;
pub mod api;
pub mod app;
pub mod config;
pub mod error;
pub mod import;
pub mod server;
pub mod site;
pub mod state;
pub mod store;
pub mod web;

pub use app::router;
pub use config::Config;
pub use error::AppError;
pub use state::AppState;
