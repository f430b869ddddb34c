//! `import-qubes-hcl PATH`: load the Qubes HCL YAML files into the store, from a folder of the
//! files or a `.tar.zst` archive of them (`data/qubes-hcl/qubes-hcl.tar.zst`; read by
//! `hcl_data::hcl_files`).
//!
//! Each file becomes a report with `origin: qubes_hcl` (partial identifiers, vendor:device only),
//! stored under its content id, so importing the same files twice stores nothing new. One bad
//! file is reported with its name and skipped; it never stops the import.
//!
//! A content id changes when the importer does (it hashes the report the import makes), so a
//! database filled by an older build would keep both versions of every file. `--replace`
//! ([`Replace::Earlier`]) makes the stored HCL imports exactly this import: the earlier ones it
//! did not produce again are removed (uploads from the probe are never touched). Hand-named HCL
//! files keep no file name (it often holds a person's name), so the import cannot pair an old
//! version with its file; it replaces the whole earlier import instead, and does so only after a
//! complete import without a failed file.

use std::collections::{BTreeMap, HashSet};
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
    /// Earlier HCL imports removed by [`Replace::Earlier`].
    pub replaced: u64,
    /// Of those, hidden ones whose file this import read again: the new version is hidden too.
    pub kept_hidden: usize,
    /// Why [`Replace::Earlier`] removed nothing, when it was asked and did not.
    pub not_replaced: Option<String>,
}

/// What an import does with the HCL imports already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// Keep them (an import adds, and stores nothing twice).
    Keep,
    /// Remove those this import did not produce again: the stored HCL imports become this
    /// import. Only after every file was imported.
    Earlier,
}

/// Import every `.yml`/`.yaml` file of `path`, a folder (not recursive) or a `.tar.zst`
/// archive, in name order.
pub async fn import_hcl(store: &dyn Store, path: &Path) -> Result<ImportSummary, ImportError> {
    import_hcl_with(store, path, Replace::Keep).await
}

/// [`import_hcl`], then with [`Replace::Earlier`] the earlier HCL imports this one did not
/// produce again are removed (no tombstone: they are replaced, not refused). A moderator's
/// hiding carries over to the new version of the same file where the file is named by
/// `qubes-hcl-report` (its report id comes from the name); a moderator's deletion stays with
/// the old content (README: the new version of a deleted file is imported).
pub async fn import_hcl_with(
    store: &dyn Store,
    path: &Path,
    replace: Replace,
) -> Result<ImportSummary, ImportError> {
    let files = hcl_data::hcl_files::read(path)?;
    let mut sum = ImportSummary::default();
    // What this import stored or found stored: content id, and content id by report id.
    let mut ids: HashSet<String> = HashSet::new();
    let mut by_report_id: BTreeMap<String, String> = BTreeMap::new();
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
                        Ok(c) => batch.push((c, report.report_id.clone())),
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
        // The report id of each, kept from the report (for carrying a moderator's hiding).
        let (batch, named): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|(c, report_id)| {
                let id = c.id.clone();
                (c, (id, report_id))
            })
            .unzip();
        for (outcome, (id, report_id)) in store.put_reports(batch).await?.into_iter().zip(named) {
            match outcome {
                PutOutcome::Created => sum.created += 1,
                PutOutcome::AlreadyStored => sum.already_stored += 1,
                PutOutcome::Deleted => sum.deleted += 1,
            }
            if outcome != PutOutcome::Deleted {
                by_report_id.insert(report_id, id.clone());
                ids.insert(id);
            }
        }
    }
    if replace == Replace::Earlier {
        replace_earlier(store, &mut sum, &ids, &by_report_id).await?;
    }
    Ok(sum)
}

/// Remove the stored HCL imports this import did not produce, after a complete import only.
async fn replace_earlier(
    store: &dyn Store,
    sum: &mut ImportSummary,
    ids: &HashSet<String>,
    by_report_id: &BTreeMap<String, String>,
) -> Result<(), ImportError> {
    if !sum.failures.is_empty() {
        sum.not_replaced = Some(format!(
            "{} files failed, so their earlier versions may be the only ones: nothing removed",
            sum.failures.len()
        ));
        return Ok(());
    }
    if ids.is_empty() {
        sum.not_replaced = Some("the import stored nothing: nothing removed".into());
        return Ok(());
    }
    let mut old = Vec::new();
    for stored in store.list_reports(true).await? {
        if stored.report.origin != hcl_data::Origin::QubesHcl || ids.contains(&stored.id) {
            continue;
        }
        if stored.hidden
            && let Some(new) = by_report_id.get(&stored.report.report_id)
            && store.set_hidden(new, true).await?
        {
            sum.kept_hidden += 1;
        }
        old.push(stored.id);
    }
    sum.replaced = store.remove_reports(old).await?;
    Ok(())
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
pub async fn import_cli(
    db: &str,
    path: &Path,
    replace: Replace,
) -> Result<ImportSummary, ImportError> {
    let store = crate::store::open(db).await?;
    let sum = import_hcl_with(store.as_ref(), path, replace).await?;
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
    if replace == Replace::Earlier {
        match &sum.not_replaced {
            Some(why) => eprintln!("--replace: {why}"),
            None => println!(
                "--replace: {} earlier HCL imports removed ({} hidden ones' new versions hidden too)",
                sum.replaced, sum.kept_hidden
            ),
        }
    }
    Ok(sum)
}
