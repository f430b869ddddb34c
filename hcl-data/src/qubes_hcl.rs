//! Qubes HCL YAML import and export.
