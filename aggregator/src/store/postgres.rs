//! PostgreSQL backend: a connection pool; each write is its own committed statement, acknowledged
//! after PostgreSQL reports the commit (synchronous_commit stays at its default, on).
//!
//! Faults: a connection whose backend died (`pg_terminate_backend`, a server restart) fails its
//! statement, so that upload gets 503; the pool tests a connection before handing it out
//! (`test_before_acquire`) and opens a new one, so the next upload goes through once the
//! server answers again, without a restart. A write whose commit reply was lost may be stored
//! although it was answered 503; the client's retry then gets 200. Never the other way round.

use std::time::Duration;

use hcl_data::CanonicalReport;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

use super::{PutOutcome, Store, StoreError, StoredReport, WriteState, decode, now_rfc3339};

/// Reports in a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
    writes: WriteState,
}

impl PgStore {
    /// Connect to a `postgres://` URL. A `?options=-csearch_path%3DNAME` parameter selects a schema
    /// (the tests use one fresh schema per run).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // While the server is down an upload waits this long for a connection (sqlx keeps
            // trying to connect meanwhile), then gets 503.
            .acquire_timeout(Duration::from_secs(3))
            .test_before_acquire(true)
            .connect(url)
            .await?;
        Ok(Self {
            pool,
            writes: WriteState::default(),
        })
    }

    /// The pool, for tests and tools that need raw SQL.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn put(&self, report: CanonicalReport) -> Result<PutOutcome, StoreError> {
        let CanonicalReport {
            id,
            json: body,
            content_key: key,
            legacy_content_key: legacy,
        } = report;
        // In a transaction with a second look at the tombstones: an insert that waited on a
        // row a moderator was deleting goes through once that delete commits, although its
        // NOT EXISTS saw no tombstone yet. The second statement sees the committed tombstone
        // (READ COMMITTED takes a new snapshot per statement), and the insert is rolled back.
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "INSERT INTO reports (id, received_at, hidden, body) \
             SELECT $1, $2, FALSE, $3 \
             WHERE NOT EXISTS (SELECT 1 FROM deleted_reports WHERE id = $1) \
             AND NOT EXISTS (SELECT 1 FROM deleted_reports WHERE content_key IN ($4, $5)) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&id)
        .bind(now_rfc3339())
        .bind(body)
        .bind(&key)
        .bind(&legacy)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query(
            "SELECT 1 FROM deleted_reports WHERE id = $1 OR content_key IN ($2, $3) LIMIT 1",
        )
        .bind(&id)
        .bind(&key)
        .bind(&legacy)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if deleted {
            tx.rollback().await?;
            return Ok(PutOutcome::Deleted);
        }
        tx.commit().await?;
        Ok(if done.rows_affected() == 1 {
            PutOutcome::Created
        } else {
            PutOutcome::AlreadyStored
        })
    }

    async fn delete(&self, id: &str, key: Option<String>) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM reports WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = done.rows_affected() > 0;
        if deleted {
            sqlx::query(
                "INSERT INTO deleted_reports (id, deleted_at, content_key) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(now_rfc3339())
            .bind(key)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }
}

fn row_to_report(r: &PgRow) -> Result<StoredReport, StoreError> {
    decode(
        r.try_get("id")?,
        r.try_get("received_at")?,
        r.try_get("hidden")?,
        r.try_get::<&str, _>("body")?.as_bytes(),
    )
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        super::migrations::postgres().run(&self.pool).await?;
        Ok(())
    }

    async fn put_report(&self, report: CanonicalReport) -> Result<PutOutcome, StoreError> {
        let r = self.put(report).await;
        self.writes.track(r)
    }

    async fn get_report(&self, id: &str) -> Result<Option<StoredReport>, StoreError> {
        let row = sqlx::query("SELECT id, received_at, hidden, body FROM reports WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_report).transpose()
    }

    async fn list_reports(&self, include_hidden: bool) -> Result<Vec<StoredReport>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, received_at, hidden, body FROM reports WHERE NOT hidden OR $1 ORDER BY seq",
        )
        .bind(include_hidden)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(row_to_report)
            .filter_map(super::skip_unreadable)
            .collect()
    }

    async fn set_hidden(&self, id: &str, hidden: bool) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE reports SET hidden = $1 WHERE id = $2")
            .bind(hidden)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() > 0)
            .map_err(StoreError::from);
        self.writes.track(r)
    }

    async fn delete_report(&self, id: &str) -> Result<bool, StoreError> {
        // The tombstone also carries the content key, so the same content under another
        // report_id is refused too.
        let key = super::content_key_of(self.get_report(id).await);
        let r = self.delete(id, key).await;
        self.writes.track(r)
    }

    async fn remove_reports(&self, ids: Vec<String>) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM reports WHERE id = ANY($1)")
            .bind(ids)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(StoreError::from);
        self.writes.track(r)
    }

    async fn count_reports(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        if self.writes.failing().is_none() {
            return Ok(());
        }
        let r = sqlx::query(
            "INSERT INTO write_probe (id, at, pad) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET at = excluded.at, pad = excluded.pad",
        )
        .bind(now_rfc3339())
        .bind(vec![0u8; super::PROBE_BYTES as usize])
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(StoreError::from);
        self.writes.track(r)
    }
}
