//! Storage of reports behind one trait, one implementation per backend.

use hcl_data::Report;

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
}

/// What every backend offers.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Create or upgrade the schema.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Store a report under its content id; durable before it returns.
    async fn put_report(&self, id: &str, report: &Report) -> Result<PutOutcome, StoreError>;
    async fn get_report(&self, id: &str) -> Result<Option<StoredReport>, StoreError>;
    /// All reports, oldest first; hidden ones only when asked.
    async fn list_reports(&self, include_hidden: bool) -> Result<Vec<StoredReport>, StoreError>;
    async fn set_hidden(&self, id: &str, hidden: bool) -> Result<bool, StoreError>;
    async fn delete_report(&self, id: &str) -> Result<bool, StoreError>;
}
