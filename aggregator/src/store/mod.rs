//! Storage of reports behind one trait, one implementation per backend.
//!
//! [`open`] picks the backend from the URL: `sqlite://FILE` (created on first start) or
//! `postgres://...`. Both run their own migrations (`aggregator/migrations/<backend>/`).

mod migrations;
pub mod postgres;
mod sigbus;
pub mod sqlite;

use std::sync::Arc;

use hcl_data::{CanonicalReport, Report};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Errors of a storage backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("stored report {id} is unreadable: {message}")]
    Corrupt { id: String, message: String },
}

/// A report as stored.
#[derive(Debug, Clone)]
pub struct StoredReport {
    /// Content id: hash of the canonical report, so the same report twice is stored once.
    pub id: String,
    /// RFC 3339 time the server first received it.
    pub received_at: String,
    pub hidden: bool,
    pub report: Report,
}

/// Whether an upload created a new record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    AlreadyStored,
    /// A moderator deleted this report: it is not stored again.
    Deleted,
}

/// What every backend offers.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Create or upgrade the schema.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Store a checked report (its canonical JSON) under its content id; durable before it
    /// returns.
    async fn put_report(&self, report: CanonicalReport) -> Result<PutOutcome, StoreError>;
    /// Store several reports; each durable before it returns. Backends with group commit
    /// override it to write them in few transactions (imports).
    async fn put_reports(
        &self,
        items: Vec<CanonicalReport>,
    ) -> Result<Vec<PutOutcome>, StoreError> {
        let mut out = Vec::with_capacity(items.len());
        for report in items {
            out.push(self.put_report(report).await?);
        }
        Ok(out)
    }
    async fn get_report(&self, id: &str) -> Result<Option<StoredReport>, StoreError>;
    /// All reports, oldest first; hidden ones only when asked.
    async fn list_reports(&self, include_hidden: bool) -> Result<Vec<StoredReport>, StoreError>;
    async fn set_hidden(&self, id: &str, hidden: bool) -> Result<bool, StoreError>;
    /// Remove a report and remember its content id, so the same report uploaded again is
    /// refused ([`PutOutcome::Deleted`]). False when no such report is stored.
    async fn delete_report(&self, id: &str) -> Result<bool, StoreError>;
    /// Remove reports without remembering them: an import replacing its own earlier version
    /// (`import-qubes-hcl --replace`), not a moderator's refusal. The number removed.
    async fn remove_reports(&self, ids: Vec<String>) -> Result<u64, StoreError>;
    /// Number of stored reports, hidden ones included.
    async fn count_reports(&self) -> Result<u64, StoreError>;
    /// Whether writes go through. Ok while the last write committed; after a failed one, one
    /// small probe write is tried, so the end of a fault shows without waiting for an upload.
    async fn check_writable(&self) -> Result<(), StoreError>;
}

/// Bytes the health probe writes after a failed write: about a big upload as stored, so a
/// nearly full disk that still takes a tiny write is not reported healthy.
const PROBE_BYTES: i64 = 64 * 1024;

/// Whether the last write of a backend failed, and how (for health).
#[derive(Debug, Default)]
pub(crate) struct WriteState(std::sync::Mutex<Option<String>>);

impl WriteState {
    pub(crate) fn ok(&self) {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if s.take().is_some() {
            tracing::warn!("writes go through again");
        }
    }

    pub(crate) fn failed(&self, e: &StoreError) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
    }

    /// The error of the last write, when it failed.
    pub(crate) fn failing(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Note the outcome of a write and pass it on.
    pub(crate) fn track<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        match &r {
            Ok(_) => self.ok(),
            Err(e) => self.failed(e),
        }
        r
    }
}

/// The content key of a stored report about to be deleted (see
/// [`hcl_data::CanonicalReport::content_key`]); None when it cannot be read, and the tombstone
/// then holds the content id only.
fn content_key_of(row: Result<Option<StoredReport>, StoreError>) -> Option<String> {
    let report = row.ok().flatten()?.report;
    report.canonical().ok().map(|c| c.content_key)
}

/// Tuning of the backends.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Most SQLite writes committed together (1 disables group commit; for comparison).
    pub sqlite_max_batch: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            sqlite_max_batch: sqlite::DEFAULT_MAX_BATCH,
        }
    }
}

/// Open the store a URL names, and migrate it.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, StoreOptions::default()).await
}

/// [`open`] with tuning options.
pub async fn open_with(url: &str, opts: StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::open_with(url, opts.sqlite_max_batch).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(PgStore::open(url).await?)
    } else {
        return Err(StoreError::Database(format!(
            "unsupported database URL {url:?}: use sqlite://FILE or postgres://..."
        )));
    };
    store.migrate().await?;
    Ok(store)
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(format!("migration failed: {e}"))
    }
}

/// For listings: a row that cannot be read is logged and left out, so one bad row does not take
/// every page down; other errors still fail the listing.
fn skip_unreadable(
    row: Result<StoredReport, StoreError>,
) -> Option<Result<StoredReport, StoreError>> {
    match row {
        Err(StoreError::Corrupt { id, message }) => {
            tracing::warn!(%id, %message, "stored report unreadable: left out of the listing");
            None
        }
        other => Some(other),
    }
}

/// The first bytes of a zstd frame; JSON text never starts with them.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Read a stored row back: the body is JSON, or zstd-compressed JSON (see the SQLite backend).
/// A bad body is reported, not panicked on.
fn decode(
    id: String,
    received_at: String,
    hidden: bool,
    body: &[u8],
) -> Result<StoredReport, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        id: id.clone(),
        message,
    };
    let report = if body.starts_with(&ZSTD_MAGIC) {
        // One allocation of the size the frame records (the store writes it); no stored
        // report is larger than an upload may be.
        let size = zstd::zstd_safe::get_frame_content_size(body)
            .ok()
            .flatten()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= hcl_data::MAX_INPUT_BYTES)
            .ok_or_else(|| corrupt("compressed body without a plausible size".into()))?;
        let json = zstd::bulk::decompress(body, size)
            .map_err(|e| corrupt(format!("cannot decompress: {e}")))?;
        serde_json::from_slice(&json)
    } else {
        serde_json::from_slice(body)
    }
    .map_err(|e| corrupt(e.to_string()))?;
    Ok(StoredReport {
        id,
        received_at,
        hidden,
        report,
    })
}

/// Now as RFC 3339 UTC with milliseconds, e.g. `2026-11-26T07:00:00.123Z`.
pub fn now_rfc3339() -> String {
    let t = jiff::Timestamp::now();
    rfc3339(
        t.as_second().max(0).unsigned_abs(),
        t.subsec_millisecond().unsigned_abs(),
    )
}

fn rfc3339(secs: u64, millis: u32) -> String {
    let nanos = i32::try_from(millis.min(999) * 1_000_000).unwrap_or(0);
    let t = jiff::Timestamp::new(i64::try_from(secs).unwrap_or(0), nanos).unwrap_or_default();
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(
            super::rfc3339(1_795_676_400, 999),
            "2026-11-26T07:00:00.999Z"
        );
    }
}
