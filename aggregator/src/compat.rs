//! Stand-ins for hcl-data functions that are being written in parallel
//! (`Report::validate`, `privacy_violations`, `content_id`, `qubes_hcl::from_yaml`).
//! Inherent methods win over these trait methods, so this module is removed once hcl-data has
//! them.

use hcl_data::Report;

#[allow(dead_code)]
pub trait ReportExt {
    fn validate(&self) -> Result<(), String>;
    fn privacy_violations(&self) -> Vec<String>;
    fn content_id(&self) -> String;
}

impl ReportExt for Report {
    fn validate(&self) -> Result<(), String> {
        if self.schema_version == 0 || self.schema_version > hcl_data::SCHEMA_VERSION {
            return Err(format!("unsupported schema_version {}", self.schema_version));
        }
        Ok(())
    }
    fn privacy_violations(&self) -> Vec<String> {
        Vec::new()
    }
    fn content_id(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        serde_json::to_string(self).unwrap_or_default().hash(&mut h);
        format!("{:016x}", h.finish())
    }
}

pub fn from_yaml(text: &str, file_name: &str) -> Result<Report, String> {
    Err(format!("{file_name}: Qubes HCL import not available yet ({} bytes)", text.len()))
}
