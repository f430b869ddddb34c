//! The on-disk outbox: reports saved in a folder (the USB stick) until they are sent, each
//! written atomically and marked sent by a rename.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hcl_data::Report;

use super::error::UploadError;
use super::http::{UploadOptions, UploadOutcome, body, upload_report};

/// One saved report handled by [`upload_saved`].
#[derive(Debug)]
pub struct SavedUpload {
    /// The file as it was found (before being marked sent).
    pub file: PathBuf,
    /// The server's answer, or why the file was left for a later run.
    pub result: Result<UploadOutcome, UploadError>,
}

/// Writes `<dir>/hcl-report-<report_id>.json` atomically (temporary file, fsync, rename, fsync
/// of the folder), so a crash leaves either the whole report or nothing.
pub fn save_report(report: &Report, dir: &Path) -> Result<PathBuf, UploadError> {
    let id = &report.report_id;
    if !safe_id(id) {
        return Err(UploadError::BadReportId(id.clone()));
    }
    let bytes = body(report)?;
    fs::create_dir_all(dir).map_err(|e| UploadError::io(dir, e))?;
    let path = dir.join(format!("hcl-report-{id}.json"));
    let tmp = dir.join(format!(".hcl-report-{id}.json.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(UploadError::io(&tmp, e));
    }
    if let Err(e) = fs::rename(&tmp, &path) {
        let _ = fs::remove_file(&tmp);
        return Err(UploadError::io(&path, e));
    }
    // The rename is only durable once the folder itself is synced. Some file systems
    // (FUSE, some USB stick drivers) refuse fsync on a folder: the file is written and
    // complete by then, so that refusal is not worth failing the save for.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(path)
}

/// Sends every report saved in `dir` and not sent yet, in name order, and marks each sent
/// one by renaming `hcl-report-<id>.json` to `hcl-report-<id>.sent.json`, so a rerun does not
/// send it again. A report that fails stays as it is for a later run; after a network or server
/// failure the remaining files are not tried (they would fail the same way) and are not listed.
///
/// Err only when the folder cannot be read.
pub fn upload_saved(dir: &Path, opts: &UploadOptions) -> Result<Vec<SavedUpload>, UploadError> {
    let mut files = pending_files(dir)?;
    files.sort();
    let mut done = Vec::new();
    for file in files {
        let result = upload_file(&file, opts);
        let stop = matches!(&result, Err(e) if e.is_transient());
        done.push(SavedUpload { file, result });
        if stop {
            break;
        }
    }
    Ok(done)
}

/// Saved reports in `dir` that have not been sent.
pub fn pending_files(dir: &Path) -> Result<Vec<PathBuf>, UploadError> {
    let entries = fs::read_dir(dir).map_err(|e| UploadError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| UploadError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("hcl-report-")
            && name.ends_with(".json")
            && !name.ends_with(".sent.json")
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            files.push(entry.path());
        }
    }
    Ok(files)
}

fn upload_file(file: &Path, opts: &UploadOptions) -> Result<UploadOutcome, UploadError> {
    // Read at most one byte past the limit: a huge file is refused without filling memory.
    let mut bytes = Vec::new();
    fs::File::open(file)
        .and_then(|f| {
            f.take(hcl_data::MAX_INPUT_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(|e| UploadError::io(file, e))?;
    let report = Report::from_json(&bytes).map_err(|source| UploadError::BadSavedReport {
        path: file.to_path_buf(),
        source,
    })?;
    let outcome = upload_report(&report, opts)?;
    let sent = sent_name(file);
    fs::rename(file, &sent).map_err(|e| UploadError::io(&sent, e))?;
    Ok(outcome)
}

/// `hcl-report-X.json` → `hcl-report-X.sent.json`.
fn sent_name(file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("hcl-report.json");
    let stem = name.strip_suffix(".json").unwrap_or(name);
    file.with_file_name(format!("{stem}.sent.json"))
}

fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_name_keeps_the_id() {
        assert_eq!(
            sent_name(Path::new("/x/hcl-report-ab12.json")),
            PathBuf::from("/x/hcl-report-ab12.sent.json")
        );
    }

    #[test]
    fn report_ids_that_escape_the_folder_are_refused() {
        assert!(safe_id("0f3a-77_b"));
        assert!(!safe_id("../etc/passwd"));
        assert!(!safe_id(""));
        assert!(!safe_id("a/b"));
        assert!(!safe_id("a.b"));
    }
}
