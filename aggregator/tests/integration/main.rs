//! Integration tests of hcl-aggregator: the store scenario on SQLite and PostgreSQL, the upload
//! API over real HTTP, crash safety of the real binary, fault injection (disk full, immutable
//! files, read-only mount, PostgreSQL backends killed and restarted), and the Qubes HCL import.

mod common;

mod api;
mod faults;
mod import;
mod pages;
mod privacy;
mod reliability;
mod store;
