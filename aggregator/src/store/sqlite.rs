//! SQLite backend: one writer with group commit, a pool of readers.
//!
//! Durability: WAL journal with `synchronous=FULL`, so a commit is on disk (fsync of the WAL)
//! before it returns; a write is acknowledged only after its commit. That survives `kill -9`
//! and also power loss. FULL costs one fsync per commit, so writes go through one writer task
//! that commits every write waiting at that moment in one transaction (group commit): under
//! load many uploads share one fsync, with no added wait when idle.
//!
//! Bodies are stored zstd-compressed (a BLOB in the `body` column; rows written before that
//! hold JSON text, and both read back): reports are repetitive JSON, several times smaller
//! compressed, and the one writer thread then copies, checksums and writes an eighth of the
//! bytes. Compression runs on the caller's thread, not the writer's.

use std::str::FromStr;
use std::time::Duration;

use hcl_data::CanonicalReport;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot};

use super::{PutOutcome, Store, StoreError, StoredReport, decode, now_rfc3339};

/// Most writes committed in one transaction by default.
pub const DEFAULT_MAX_BATCH: usize = 512;

enum Op {
    Put {
        id: String,
        body: Vec<u8>,
        reply: oneshot::Sender<Result<PutOutcome, StoreError>>,
    },
    SetHidden {
        id: String,
        hidden: bool,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
    Delete {
        id: String,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
    Migrate {
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// Reports in a SQLite file.
pub struct SqliteStore {
    readers: SqlitePool,
    writer: mpsc::Sender<Op>,
}

impl SqliteStore {
    /// Open (creating when missing) the database a `sqlite://FILE` URL names.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, DEFAULT_MAX_BATCH).await
    }

    /// [`SqliteStore::open`] committing at most `max_batch` writes together.
    pub async fn open_with(url: &str, max_batch: usize) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(format!("bad SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let conn = SqliteConnection::connect_with(&opts).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(writer(conn, rx, max_batch.max(1)));
        Ok(Self {
            readers,
            writer: tx,
        })
    }

    async fn send<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Op,
    ) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(make(reply))
            .await
            .map_err(|_| StoreError::Database("the SQLite writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Database("the SQLite writer dropped a write".into()))?
    }
}

/// zstd level 1: about 0.8 GB/s, and as small as higher levels on report JSON.
fn compress(json: &str) -> Result<Vec<u8>, StoreError> {
    zstd::bulk::compress(json.as_bytes(), 1)
        .map_err(|e| StoreError::Database(format!("cannot compress a report: {e}")))
}

/// The writer task: take what is queued, run it in one transaction, answer after the commit.
async fn writer(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Op>, max_batch: usize) {
    let mut batch: Vec<Op> = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        let mut migrates = Vec::new();
        let mut writes = Vec::with_capacity(batch.len());
        for op in batch.drain(..) {
            match op {
                Op::Migrate { reply } => migrates.push(reply),
                other => writes.push(other),
            }
        }
        for reply in migrates {
            let r = super::migrations::sqlite()
                .run_direct(&mut conn)
                .await
                .map_err(StoreError::from);
            let _ = reply.send(r);
        }
        if !writes.is_empty() {
            run_batch(&mut conn, writes).await;
        }
    }
}

/// What a batched op answers once the commit is known.
enum Pending {
    Put(oneshot::Sender<Result<PutOutcome, StoreError>>, PutOutcome),
    Bool(oneshot::Sender<Result<bool, StoreError>>, bool),
}

async fn run_batch(conn: &mut SqliteConnection, ops: Vec<Op>) {
    let mut pending = Vec::with_capacity(ops.len());
    let result = async {
        let mut tx = conn.begin().await?;
        for op in ops {
            match op {
                Op::Put { id, body, reply } => {
                    let done = sqlx::query(
                        "INSERT INTO reports (id, received_at, hidden, body) \
                         SELECT ?1, ?2, 0, ?3 \
                         WHERE NOT EXISTS (SELECT 1 FROM deleted_reports WHERE id = ?1) \
                         ON CONFLICT(id) DO NOTHING",
                    )
                    .bind(&id)
                    .bind(now_rfc3339())
                    .bind(body)
                    .execute(&mut *tx)
                    .await?;
                    let outcome = if done.rows_affected() == 1 {
                        PutOutcome::Created
                    } else {
                        // Rare path: tell a known report from a deleted one.
                        let deleted = sqlx::query("SELECT 1 FROM deleted_reports WHERE id = ?")
                            .bind(&id)
                            .fetch_optional(&mut *tx)
                            .await?
                            .is_some();
                        if deleted {
                            PutOutcome::Deleted
                        } else {
                            PutOutcome::AlreadyStored
                        }
                    };
                    pending.push(Pending::Put(reply, outcome));
                }
                Op::SetHidden { id, hidden, reply } => {
                    let done = sqlx::query("UPDATE reports SET hidden = ? WHERE id = ?")
                        .bind(hidden)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    pending.push(Pending::Bool(reply, done.rows_affected() > 0));
                }
                Op::Delete { id, reply } => {
                    let done = sqlx::query("DELETE FROM reports WHERE id = ?")
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    let deleted = done.rows_affected() > 0;
                    if deleted {
                        sqlx::query(
                            "INSERT INTO deleted_reports (id, deleted_at) VALUES (?, ?) \
                             ON CONFLICT(id) DO NOTHING",
                        )
                        .bind(&id)
                        .bind(now_rfc3339())
                        .execute(&mut *tx)
                        .await?;
                    }
                    pending.push(Pending::Bool(reply, deleted));
                }
                Op::Migrate { reply } => {
                    let _ = reply.send(Err(StoreError::Database("migrate inside a batch".into())));
                }
            }
        }
        tx.commit().await?;
        Ok::<(), sqlx::Error>(())
    }
    .await;
    // Answer only now: an acknowledged write is a committed write.
    for p in pending {
        match (p, &result) {
            (Pending::Put(r, o), Ok(())) => {
                let _ = r.send(Ok(o));
            }
            (Pending::Bool(r, b), Ok(())) => {
                let _ = r.send(Ok(b));
            }
            (Pending::Put(r, _), Err(e)) => {
                let _ = r.send(Err(StoreError::Database(e.to_string())));
            }
            (Pending::Bool(r, _), Err(e)) => {
                let _ = r.send(Err(StoreError::Database(e.to_string())));
            }
        }
    }
    // Ops that never reached `pending` (the batch failed before them) drop their sender, which
    // their caller sees as an error.
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.send(|reply| Op::Migrate { reply }).await
    }

    async fn put_report(&self, report: CanonicalReport) -> Result<PutOutcome, StoreError> {
        let CanonicalReport { id, json } = report;
        // A real report compresses in well under a millisecond, on this thread; a huge one
        // (up to 16 MiB) would hold an async worker for tens of ms, so it goes to the pool.
        let body = if json.len() > 1 << 20 {
            tokio::task::spawn_blocking(move || compress(&json))
                .await
                .map_err(|e| StoreError::Database(format!("compression task failed: {e}")))??
        } else {
            compress(&json)?
        };
        self.send(|reply| Op::Put { id, body, reply }).await
    }

    async fn put_reports(
        &self,
        items: Vec<CanonicalReport>,
    ) -> Result<Vec<PutOutcome>, StoreError> {
        // Queue them all before waiting, so the writer commits them together.
        let mut waiting = Vec::with_capacity(items.len());
        for CanonicalReport { id, json } in items {
            let body = compress(&json)?;
            let (reply, rx) = oneshot::channel();
            let op = Op::Put { id, body, reply };
            self.writer
                .send(op)
                .await
                .map_err(|_| StoreError::Database("the SQLite writer has stopped".into()))?;
            waiting.push(rx);
        }
        let mut out = Vec::with_capacity(waiting.len());
        for rx in waiting {
            out.push(
                rx.await.map_err(|_| {
                    StoreError::Database("the SQLite writer dropped a write".into())
                })??,
            );
        }
        Ok(out)
    }

    async fn get_report(&self, id: &str) -> Result<Option<StoredReport>, StoreError> {
        let row = sqlx::query("SELECT id, received_at, hidden, body FROM reports WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| {
            decode(
                r.try_get("id")?,
                r.try_get("received_at")?,
                r.try_get("hidden")?,
                r.try_get::<&[u8], _>("body")?,
            )
        })
        .transpose()
    }

    async fn list_reports(&self, include_hidden: bool) -> Result<Vec<StoredReport>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, received_at, hidden, body FROM reports WHERE hidden = 0 OR ? ORDER BY seq",
        )
        .bind(include_hidden)
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|r| {
                decode(
                    r.try_get("id")?,
                    r.try_get("received_at")?,
                    r.try_get("hidden")?,
                    r.try_get::<&[u8], _>("body")?,
                )
            })
            .filter_map(super::skip_unreadable)
            .collect()
    }

    async fn set_hidden(&self, id: &str, hidden: bool) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.send(|reply| Op::SetHidden { id, hidden, reply }).await
    }

    async fn delete_report(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.send(|reply| Op::Delete { id, reply }).await
    }

    async fn count_reports(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
            .fetch_one(&self.readers)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
