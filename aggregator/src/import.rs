//! `import-qubes-hcl PATH`: load the Qubes HCL YAML files into the store, from a folder of the
//! files or a `.tar.zst` archive of them (`data/qubes-hcl/qubes-hcl.tar.zst`; read by
//! `hcl_data::hcl_files`).
//!
//! Each file becomes a report with `origin: qubes_hcl` (partial identifiers, vendor:device only),
//! stored under its content id, so importing the same files twice stores nothing new. One bad
//! file is reported with its name and skipped; it never stops the import.

use std::path::Path;

use crate::store::{PutOutcome, Store, StoreError};

/// Errors that stop an import as a whole (one bad file does not).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The folder or archive cannot be read (the message names it).
    #[error(transparent)]
    Read(#[from] hcl_data::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One file that could not be imported.
#[derive(Debug, Clone)]
pub struct FileFailure {
    pub file: String,
    pub message: String,
}

/// Files parsed before their reports are stored together.
const IMPORT_CHUNK: usize = 256;

/// Counts of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    pub files: usize,
    pub created: usize,
    pub already_stored: usize,
    /// Reports a moderator deleted earlier: not imported again.
    pub deleted: usize,
    /// Reports whose identifiers are partial (every Qubes HCL report is).
    pub partial: usize,
    /// Devices mapped from PCI ids in the chipset, GPU and network fields.
    pub devices: usize,
    pub failures: Vec<FileFailure>,
}

/// Import every `.yml`/`.yaml` file of `path`, a folder (not recursive) or a `.tar.zst`
/// archive, in name order.
pub async fn import_hcl(store: &dyn Store, path: &Path) -> Result<ImportSummary, ImportError> {
    let files = hcl_data::hcl_files::read(path)?;
    let mut sum = ImportSummary::default();
    // Parse a chunk, then store it in one go (few commits instead of one per file).
    for chunk in files.chunks(IMPORT_CHUNK) {
        let mut batch = Vec::with_capacity(chunk.len());
        for file in chunk {
            sum.files += 1;
            let name = file.name.clone();
            match load_one(&file.bytes, &name) {
                Ok(report) => {
                    if report.devices.iter().any(|d| d.partial)
                        || report.origin == hcl_data::Origin::QubesHcl
                    {
                        sum.partial += 1;
                    }
                    sum.devices += report.devices.len();
                    match report.canonical() {
                        Ok(c) => batch.push(c),
                        Err(e) => sum.failures.push(FileFailure {
                            file: name,
                            message: e.to_string(),
                        }),
                    }
                }
                Err(message) => sum.failures.push(FileFailure {
                    file: name,
                    message,
                }),
            }
        }
        for outcome in store.put_reports(batch).await? {
            match outcome {
                PutOutcome::Created => sum.created += 1,
                PutOutcome::AlreadyStored => sum.already_stored += 1,
                PutOutcome::Deleted => sum.deleted += 1,
            }
        }
    }
    Ok(sum)
}

/// One file of the HCL as the import reads it (public for the fuzz targets, `fuzz/`).
#[doc(hidden)]
pub fn load_one(bytes: &Result<Vec<u8>, String>, name: &str) -> Result<hcl_data::Report, String> {
    let bytes = bytes.as_ref().map_err(Clone::clone)?;
    // HCL files are mostly UTF-8; a stray Latin-1 byte should not lose the whole report.
    let text = String::from_utf8_lossy(bytes);
    let report = hcl_data::qubes_hcl::from_yaml(&text, name).map_err(|e| e.to_string())?;
    report
        .validate()
        .map_err(|e| format!("invalid report: {e}"))?;
    Ok(report)
}

/// Open the store, import `path`, print counts and every failure with its file name.
pub async fn import_cli(db: &str, path: &Path) -> Result<ImportSummary, ImportError> {
    let store = crate::store::open(db).await?;
    let sum = import_hcl(store.as_ref(), path).await?;
    for f in &sum.failures {
        eprintln!("{}: {}", f.file, f.message);
    }
    println!(
        "{} files: {} imported, {} already stored, {} deleted by moderators, {} failed; {} reports with partial identifiers, {} devices",
        sum.files,
        sum.created,
        sum.already_stored,
        sum.deleted,
        sum.failures.len(),
        sum.partial,
        sum.devices
    );
    Ok(sum)
}
