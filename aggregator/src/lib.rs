//! The HCL Probe aggregator: takes report uploads, stores them (SQLite or PostgreSQL), and turns
//! them into the hardware compatibility list and the kernel choice reports.

pub mod store;
