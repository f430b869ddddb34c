//! SQLite backend: one writer with group commit, a pool of readers.
//!
//! Durability: WAL journal with `synchronous=FULL`, so a commit is on disk (fsync of the WAL)
//! before it returns; a write is acknowledged only after its commit. That survives `kill -9`
//! and also power loss. FULL costs one fsync per commit, so writes go through one writer task
//! that commits every write waiting at that moment in one transaction (group commit): under
//! load many uploads share one fsync, with no added wait when idle.
//!
//! Faults (disk full, files made immutable, I/O errors): a batch that fails is answered with
//! the error (503) and its connection is rolled back and closed; the next batch opens a fresh
//! one, so a fault never leaves the writer inside a transaction and writes are stored again as
//! soon as it ends (see [`Writer`]). Tested with the real binary on a full tmpfs and on files
//! made immutable (`tests/integration/faults.rs`). One fault cannot be answered: SQLite maps
//! its `-shm` file, and a write the kernel refuses there (an immutable file) is SIGBUS; the
//! process then stops with a message saying why (see `sigbus.rs`), having acknowledged only
//! what it committed.
//!
//! Bodies are stored zstd-compressed (a BLOB in the `body` column; rows written before that
//! hold JSON text, and both read back): reports are repetitive JSON, several times smaller
//! compressed, and the one writer thread then copies, checksums and writes an eighth of the
//! bytes. Compression runs on the caller's thread, not the writer's.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hcl_data::CanonicalReport;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot};

use super::{PutOutcome, Store, StoreError, StoredReport, WriteState, decode, now_rfc3339};

/// Most writes committed in one transaction by default.
pub const DEFAULT_MAX_BATCH: usize = 512;

/// A write and where its answer goes.
enum Op {
    Write(Write, Reply),
    Migrate(oneshot::Sender<Result<(), StoreError>>),
}

enum Write {
    Put {
        id: String,
        key: String,
        /// The content key as made before v2 ([`CanonicalReport::legacy_content_key`]): older
        /// tombstones hold it.
        legacy: String,
        body: Vec<u8>,
    },
    SetHidden {
        id: String,
        hidden: bool,
    },
    Delete {
        id: String,
        key: Option<String>,
    },
    /// Removed with no tombstone (an import replacing its earlier version).
    Remove {
        id: String,
    },
    /// One small real write, to learn whether a write fault has ended (health).
    Probe,
}

enum Reply {
    Put(oneshot::Sender<Result<PutOutcome, StoreError>>),
    Bool(oneshot::Sender<Result<bool, StoreError>>),
    Unit(oneshot::Sender<Result<(), StoreError>>),
}

/// What a write found, told to its caller once the commit is known.
enum Outcome {
    Put(PutOutcome),
    Bool(bool),
    Unit,
}

impl Reply {
    /// Answer with the write's outcome when the batch committed, else with the batch's error.
    fn answer(self, outcome: Option<Outcome>, batch: &Result<(), StoreError>) {
        let err = || match batch {
            Err(e) => StoreError::Database(e.to_string()),
            Ok(()) => StoreError::Database("the write was not run".into()),
        };
        let ok = batch.is_ok();
        match (self, outcome) {
            (Reply::Put(r), Some(Outcome::Put(o))) if ok => drop(r.send(Ok(o))),
            (Reply::Bool(r), Some(Outcome::Bool(b))) if ok => drop(r.send(Ok(b))),
            (Reply::Unit(r), Some(Outcome::Unit)) if ok => drop(r.send(Ok(()))),
            (Reply::Put(r), _) => drop(r.send(Err(err()))),
            (Reply::Bool(r), _) => drop(r.send(Err(err()))),
            (Reply::Unit(r), _) => drop(r.send(Err(err()))),
        }
    }
}

/// Reports in a SQLite file.
pub struct SqliteStore {
    readers: SqlitePool,
    writer: mpsc::Sender<Op>,
    writes: Arc<WriteState>,
}

impl SqliteStore {
    /// Open (creating when missing) the database a `sqlite://FILE` URL names.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, DEFAULT_MAX_BATCH).await
    }

    /// [`SqliteStore::open`] committing at most `max_batch` writes together.
    pub async fn open_with(url: &str, max_batch: usize) -> Result<Self, StoreError> {
        Self::open_tuned(url, max_batch, |o| o).await
    }

    /// [`SqliteStore::open_with`] with the connection options adjusted by `tune` (every
    /// connection, including the writer's reopened ones). The tests cap the database size
    /// with it (`PRAGMA max_page_count`) to make writes fail without root.
    pub async fn open_tuned(
        url: &str,
        max_batch: usize,
        tune: impl FnOnce(SqliteConnectOptions) -> SqliteConnectOptions,
    ) -> Result<Self, StoreError> {
        // A write to the mapped -shm file that the kernel refuses is a SIGBUS, not an error.
        super::sigbus::explain_once();
        let opts = tune(
            SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Database(format!("bad SQLite URL {url:?}: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10)),
        );
        let cannot_open = |e: sqlx::Error| {
            StoreError::Database(format!(
                "cannot open the SQLite database {}: {e}",
                opts.get_filename().display()
            ))
        };
        let conn = SqliteConnection::connect_with(&opts)
            .await
            .map_err(cannot_open)?;
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts.clone())
            .await
            .map_err(cannot_open)?;
        let (tx, rx) = mpsc::channel(4096);
        let writes = Arc::new(WriteState::default());
        let w = Writer {
            opts,
            conn: Some(conn),
            writes: writes.clone(),
        };
        tokio::spawn(w.run(rx, max_batch.max(1)));
        Ok(Self {
            readers,
            writer: tx,
            writes,
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

/// The one connection that writes, owned by one task.
///
/// Transactions are plain `BEGIN IMMEDIATE` / `COMMIT` statements, not sqlx's `Transaction`:
/// sqlx counts the transaction depth itself, and on a full disk that count and SQLite's state
/// parted (issue 8): SQLite had rolled back on its own, sqlx's ROLLBACK failed and left the
/// count one too high, the next `begin` became a SAVEPOINT that opened a transaction, and its
/// `ROLLBACK TO SAVEPOINT` after the next failure left that transaction open. From then on
/// every batch was a savepoint released inside a transaction that never committed: answered
/// 201, never stored (a second connection's `BEGIN IMMEDIATE` got "database is locked" until a
/// restart). Now after any failed batch the connection is rolled back and closed and the next
/// batch opens a fresh one: every batch starts from a known state, whatever the error left.
struct Writer {
    opts: SqliteConnectOptions,
    /// None after a failure, until the next batch reopens it.
    conn: Option<SqliteConnection>,
    writes: Arc<WriteState>,
}

impl Writer {
    /// Take what is queued, run it in one transaction, answer after the commit.
    async fn run(mut self, mut rx: mpsc::Receiver<Op>, max_batch: usize) {
        let mut batch: Vec<Op> = Vec::with_capacity(max_batch);
        while rx.recv_many(&mut batch, max_batch).await > 0 {
            let mut migrates = Vec::new();
            let mut writes = Vec::with_capacity(batch.len());
            for op in batch.drain(..) {
                match op {
                    Op::Migrate(reply) => migrates.push(reply),
                    Op::Write(w, reply) => writes.push((w, reply)),
                }
            }
            for reply in migrates {
                let r = match self.connection().await {
                    Ok(conn) => super::migrations::sqlite()
                        .run_direct(conn)
                        .await
                        .map_err(StoreError::from),
                    Err(e) => Err(e),
                };
                if r.is_err() {
                    self.reset().await;
                }
                let _ = reply.send(r);
            }
            if !writes.is_empty() {
                self.run_batch(writes).await;
            }
        }
    }

    /// The open connection, reopened when the last batch failed.
    async fn connection(&mut self) -> Result<&mut SqliteConnection, StoreError> {
        if self.conn.is_none() {
            let conn = SqliteConnection::connect_with(&self.opts).await?;
            self.conn = Some(conn);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Database("no SQLite connection".into()))
    }

    /// Leave no transaction behind: roll back (an error here only means SQLite already did)
    /// and close; the next batch opens a new connection.
    async fn reset(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
            let _ = conn.close().await;
        }
    }

    async fn run_batch(&mut self, writes: Vec<(Write, Reply)>) {
        let n = writes.len();
        let mut outcomes = Vec::with_capacity(n);
        let result = match self.connection().await {
            Ok(conn) => write_all(conn, &writes, &mut outcomes).await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(()) => self.writes.ok(),
            Err(e) => {
                tracing::error!(error = %e, writes = n, "SQLite write failed; reopening");
                self.writes.failed(e);
                self.reset().await;
            }
        }
        // Answer only now: an acknowledged write is a committed write.
        let mut outcomes = outcomes.into_iter();
        for (_, reply) in writes {
            reply.answer(outcomes.next(), &result);
        }
    }
}

/// Run `writes` in one transaction and commit; each write's outcome goes to `outcomes`, in
/// order (fewer of them when one failed).
async fn write_all(
    conn: &mut SqliteConnection,
    writes: &[(Write, Reply)],
    outcomes: &mut Vec<Outcome>,
) -> Result<(), StoreError> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let mut probed = false;
    for (w, _) in writes {
        // Health checks arriving together (a flood of them during a fault) share one probe.
        if matches!(w, Write::Probe) && std::mem::replace(&mut probed, true) {
            outcomes.push(Outcome::Unit);
            continue;
        }
        outcomes.push(write_one(conn, w).await?);
    }
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(())
}

/// One write inside the open transaction.
async fn write_one(conn: &mut SqliteConnection, w: &Write) -> Result<Outcome, StoreError> {
    Ok(match w {
        Write::Put {
            id,
            key,
            legacy,
            body,
        } => {
            let done = sqlx::query(
                "INSERT INTO reports (id, received_at, hidden, body) \
                 SELECT ?1, ?2, 0, ?3 \
                 WHERE NOT EXISTS (SELECT 1 FROM deleted_reports WHERE id = ?1) \
                 AND NOT EXISTS (SELECT 1 FROM deleted_reports WHERE content_key IN (?4, ?5)) \
                 ON CONFLICT(id) DO NOTHING",
            )
            .bind(id)
            .bind(now_rfc3339())
            .bind(body)
            .bind(key)
            .bind(legacy)
            .execute(&mut *conn)
            .await?;
            Outcome::Put(if done.rows_affected() == 1 {
                PutOutcome::Created
            } else {
                // Rare path: tell a known report from a deleted one.
                let deleted = sqlx::query(
                    "SELECT 1 FROM deleted_reports WHERE id = ?1 OR content_key IN (?2, ?3) LIMIT 1",
                )
                .bind(id)
                .bind(key)
                .bind(legacy)
                .fetch_optional(&mut *conn)
                .await?
                .is_some();
                if deleted {
                    PutOutcome::Deleted
                } else {
                    PutOutcome::AlreadyStored
                }
            })
        }
        Write::SetHidden { id, hidden } => {
            let done = sqlx::query("UPDATE reports SET hidden = ? WHERE id = ?")
                .bind(hidden)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Outcome::Bool(done.rows_affected() > 0)
        }
        Write::Delete { id, key } => {
            let done = sqlx::query("DELETE FROM reports WHERE id = ?")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            let deleted = done.rows_affected() > 0;
            if deleted {
                sqlx::query(
                    "INSERT INTO deleted_reports (id, deleted_at, content_key) VALUES (?, ?, ?) \
                     ON CONFLICT(id) DO NOTHING",
                )
                .bind(id)
                .bind(now_rfc3339())
                .bind(key)
                .execute(&mut *conn)
                .await?;
            }
            Outcome::Bool(deleted)
        }
        Write::Remove { id } => {
            let done = sqlx::query("DELETE FROM reports WHERE id = ?")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Outcome::Bool(done.rows_affected() > 0)
        }
        Write::Probe => {
            sqlx::query(PROBE_SQL)
                .bind(now_rfc3339())
                .bind(super::PROBE_BYTES)
                .execute(&mut *conn)
                .await?;
            Outcome::Unit
        }
    })
}

/// The probe write: one row of [`super::PROBE_BYTES`], rewritten.
const PROBE_SQL: &str = "INSERT INTO write_probe (id, at, pad) VALUES (1, ?1, zeroblob(?2)) \
                         ON CONFLICT(id) DO UPDATE SET at = excluded.at, pad = excluded.pad";

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.send(Op::Migrate).await
    }

    async fn put_report(&self, report: CanonicalReport) -> Result<PutOutcome, StoreError> {
        let CanonicalReport {
            id,
            json,
            content_key: key,
            legacy_content_key: legacy,
        } = report;
        // A real report compresses in well under a millisecond, on this thread; a huge one
        // (up to 16 MiB) would hold an async worker for tens of ms, so it goes to the pool.
        let body = if json.len() > 1 << 20 {
            tokio::task::spawn_blocking(move || compress(&json))
                .await
                .map_err(|e| StoreError::Database(format!("compression task failed: {e}")))??
        } else {
            compress(&json)?
        };
        self.send(|reply| {
            Op::Write(
                Write::Put {
                    id,
                    key,
                    legacy,
                    body,
                },
                Reply::Put(reply),
            )
        })
        .await
    }

    async fn put_reports(
        &self,
        items: Vec<CanonicalReport>,
    ) -> Result<Vec<PutOutcome>, StoreError> {
        // Queue them all before waiting, so the writer commits them together.
        let mut waiting = Vec::with_capacity(items.len());
        for CanonicalReport {
            id,
            json,
            content_key: key,
            legacy_content_key: legacy,
        } in items
        {
            let body = compress(&json)?;
            let (reply, rx) = oneshot::channel();
            let op = Op::Write(
                Write::Put {
                    id,
                    key,
                    legacy,
                    body,
                },
                Reply::Put(reply),
            );
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
        self.send(|reply| Op::Write(Write::SetHidden { id, hidden }, Reply::Bool(reply)))
            .await
    }

    async fn delete_report(&self, id: &str) -> Result<bool, StoreError> {
        // The tombstone also carries the content key of what is deleted, so the same content
        // under another report_id is refused too; computed here, off the writer.
        let key = super::content_key_of(self.get_report(id).await);
        let id = id.to_owned();
        self.send(|reply| Op::Write(Write::Delete { id, key }, Reply::Bool(reply)))
            .await
    }

    async fn remove_reports(&self, ids: Vec<String>) -> Result<u64, StoreError> {
        // Queue them all before waiting, so the writer commits them together.
        let mut waiting = Vec::with_capacity(ids.len());
        for id in ids {
            let (reply, rx) = oneshot::channel();
            self.writer
                .send(Op::Write(Write::Remove { id }, Reply::Bool(reply)))
                .await
                .map_err(|_| StoreError::Database("the SQLite writer has stopped".into()))?;
            waiting.push(rx);
        }
        let mut removed = 0;
        for rx in waiting {
            let gone = rx
                .await
                .map_err(|_| StoreError::Database("the SQLite writer dropped a write".into()))??;
            removed += u64::from(gone);
        }
        Ok(removed)
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        if self.writes.failing().is_none() {
            return Ok(());
        }
        self.send(|reply| Op::Write(Write::Probe, Reply::Unit(reply)))
            .await
    }

    async fn count_reports(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
            .fetch_one(&self.readers)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
