//! hcl-data integration tests: the schema's checks, the Qubes HCL import over every real
//! file, the export, and fuzzing of every reader.

mod common;
mod fuzz;
mod hcl_export;
mod hcl_import;
mod planted;
mod privacy;
mod schema;
