//! Integration tests of hcl-aggregator: the store scenario on SQLite and PostgreSQL, the upload
//! API over real HTTP, crash safety of the real binary, and the Qubes HCL import.

mod common;

mod api;
mod import;
mod observed;
mod pages;
mod reliability;
mod store;
