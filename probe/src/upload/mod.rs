//! Sending reports to the aggregator (`http.rs`), and keeping them on disk until they are sent
//! (`outbox.rs`).
//!
//! The probe shows the person exactly what will leave the machine ([`preview`]), saves it
//! ([`save_report`]) and then sends it ([`upload_report`], [`upload_saved`]). HTTPS is rustls
//! only; the server's CA can be pinned. Names are resolved without the host's NSS (the binary is
//! static glibc, whose `getaddrinfo` would `dlopen` NSS modules): see [`resolve`].
//!
//! Uploads are idempotent: the aggregator stores a report under its content id, and a retry
//! sends the very same bytes, so a report that reached the server before a connection dropped
//! is answered with `200` (already stored) instead of being stored twice.

mod error;
mod http;
mod outbox;
pub mod resolve;

pub use error::UploadError;
pub use http::{UploadOptions, UploadOutcome, backoff, body, preview, upload_report};
pub use outbox::{SavedUpload, pending_files, save_report, upload_saved};
pub use resolve::NssFreeResolver;
