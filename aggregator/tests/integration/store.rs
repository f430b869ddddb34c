//! The same store scenario on SQLite and on a real PostgreSQL server.

use std::sync::Arc;

use hcl_aggregator::store::{PutOutcome, Store};

use crate::common::sample_report;

fn canonical(r: &hcl_data::Report) -> hcl_data::CanonicalReport {
    r.canonical().expect("serialisable")
}

async fn scenario(store: Arc<dyn Store>) {
    // Migrating twice is harmless (restart of the server).
    store.migrate().await.expect("second migrate");
    assert_eq!(store.count_reports().await.unwrap(), 0);

    let r1 = sample_report(1);
    let r2 = sample_report(2);
    let (id1, id2) = (r1.content_id(), r2.content_id());
    assert_ne!(id1, id2);
    assert_eq!(
        store.put_report(canonical(&r1)).await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(
        store.put_report(canonical(&r1)).await.unwrap(),
        PutOutcome::AlreadyStored
    );
    assert_eq!(
        store.put_report(canonical(&r2)).await.unwrap(),
        PutOutcome::Created
    );

    let got = store.get_report(&id1).await.unwrap().expect("r1 stored");
    assert_eq!(got.id, id1);
    assert_eq!(got.report, r1);
    assert!(!got.hidden);
    assert!(
        got.received_at.len() == 24 && got.received_at.ends_with('Z'),
        "received_at {:?} is not RFC 3339 UTC",
        got.received_at
    );
    assert!(store.get_report("no-such-id").await.unwrap().is_none());

    let ids = |v: Vec<hcl_aggregator::store::StoredReport>| -> Vec<String> {
        v.into_iter().map(|r| r.id).collect()
    };
    assert_eq!(
        ids(store.list_reports(false).await.unwrap()),
        [id1.as_str(), id2.as_str()]
    );

    assert!(store.set_hidden(&id1, true).await.unwrap());
    assert!(!store.set_hidden("no-such-id", true).await.unwrap());
    assert_eq!(
        ids(store.list_reports(false).await.unwrap()),
        [id2.as_str()]
    );
    assert_eq!(
        ids(store.list_reports(true).await.unwrap()),
        [id1.as_str(), id2.as_str()]
    );
    assert!(store.get_report(&id1).await.unwrap().unwrap().hidden);
    // Uploading a hidden report again does not unhide it.
    assert_eq!(
        store.put_report(canonical(&r1)).await.unwrap(),
        PutOutcome::AlreadyStored
    );
    assert!(store.get_report(&id1).await.unwrap().unwrap().hidden);
    assert!(store.set_hidden(&id1, false).await.unwrap());
    assert_eq!(store.list_reports(false).await.unwrap().len(), 2);

    assert!(store.delete_report(&id2).await.unwrap());
    assert!(!store.delete_report(&id2).await.unwrap());
    assert!(store.get_report(&id2).await.unwrap().is_none());
    assert_eq!(store.count_reports().await.unwrap(), 1);
    // A deleted report is remembered: the same one uploaded again is not stored again.
    assert_eq!(
        store.put_report(canonical(&r2)).await.unwrap(),
        PutOutcome::Deleted
    );
    assert_eq!(
        store.put_reports(vec![canonical(&r2)]).await.unwrap(),
        [PutOutcome::Deleted]
    );
    assert!(store.get_report(&id2).await.unwrap().is_none());
    assert_eq!(store.count_reports().await.unwrap(), 1);
    // Regression (issue 8): the same content under another report_id (and another day, as
    // when the probe is run again) came back. It is refused too, one at a time or in a batch.
    let mut again = r2.clone();
    again.report_id = "a-fresh-random-id".into();
    again.generated_on = "2026-12-24".into();
    assert_ne!(again.content_id(), id2);
    assert_eq!(
        store.put_report(canonical(&again)).await.unwrap(),
        PutOutcome::Deleted
    );
    again.report_id = "yet-another-id".into();
    assert_eq!(
        store.put_reports(vec![canonical(&again)]).await.unwrap(),
        [PutOutcome::Deleted]
    );
    assert!(
        store
            .get_report(&again.content_id())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.count_reports().await.unwrap(), 1);

    // Concurrent writers: 40 distinct reports, each sent twice at once; each stored exactly once.
    let mut tasks = Vec::new();
    for n in 100..140 {
        for _ in 0..2 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let r = sample_report(n);
                store.put_report(canonical(&r)).await
            }));
        }
    }
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() == PutOutcome::Created {
            created += 1;
        }
    }
    assert_eq!(created, 40);
    assert_eq!(store.count_reports().await.unwrap(), 41);

    // Several at once (imports): outcomes in order, a known one reported as such.
    let batch: Vec<hcl_data::CanonicalReport> = [200, 201, 1, 200]
        .into_iter()
        .map(|n| canonical(&sample_report(n)))
        .collect();
    let outcomes = store.put_reports(batch).await.unwrap();
    use PutOutcome::{AlreadyStored, Created};
    assert_eq!(outcomes, [Created, Created, AlreadyStored, AlreadyStored]);
    assert_eq!(store.count_reports().await.unwrap(), 43);
    assert!(store.put_reports(Vec::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_store_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("new-dir-less.db").display());
    let store = hcl_aggregator::store::open(&url)
        .await
        .expect("created on first open");
    scenario(store).await;
    // Reopening the same file sees the same data (the server restarted).
    let store = hcl_aggregator::store::open(&url).await.unwrap();
    assert_eq!(store.count_reports().await.unwrap(), 43);
}

/// SQLite bodies are stored compressed since the format change; rows written before it hold
/// JSON text and must still read back, and a corrupt body is an error, not a panic.
#[tokio::test]
async fn sqlite_reads_json_text_rows_and_compressed_rows() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("mixed.db").display());
    let store = hcl_aggregator::store::open(&url).await.unwrap();
    let (old, new) = (canonical(&sample_report(1)), canonical(&sample_report(2)));
    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO reports (id, received_at, hidden, body) VALUES (?, ?, 0, ?)")
        .bind(&old.id)
        .bind("2026-01-01T00:00:00.000Z")
        .bind(&old.json)
        .execute(&mut raw)
        .await
        .unwrap();
    assert_eq!(
        store.put_report(new.clone()).await.unwrap(),
        PutOutcome::Created
    );
    let (kind, size): (String, i64) =
        sqlx::query_as("SELECT typeof(body), length(body) FROM reports WHERE id = ?")
            .bind(&new.id)
            .fetch_one(&mut raw)
            .await
            .unwrap();
    assert_eq!(kind, "blob");
    assert!(
        (size as usize) < new.json.len(),
        "{size} vs {}",
        new.json.len()
    );
    for (c, n) in [(&old, 1), (&new, 2)] {
        let got = store.get_report(&c.id).await.unwrap().expect("stored");
        assert_eq!(got.report, sample_report(n));
    }
    assert_eq!(store.list_reports(false).await.unwrap().len(), 2);
    sqlx::query("UPDATE reports SET body = ? WHERE id = ?")
        .bind(&[0x28u8, 0xb5, 0x2f, 0xfd, 1, 2, 3][..])
        .bind(&new.id)
        .execute(&mut raw)
        .await
        .unwrap();
    let err = store.get_report(&new.id).await.unwrap_err();
    assert!(err.to_string().contains("unreadable"), "{err}");
    // Regression: one unreadable row made every listing, so every fleet page, fail.
    let listed = store.list_reports(false).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, old.id);
}

#[tokio::test]
async fn postgres_store_scenario() {
    let Ok(base) = std::env::var("HCL_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but HCL_TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL"
        );
        eprintln!(
            "\n*** SKIPPED postgres_store_scenario: HCL_TEST_POSTGRES_URL is not set \
             (run `. .ci/postgres.sh; start_postgres`) ***\n"
        );
        return;
    };
    let url = crate::common::fresh_pg_schema(&base).await;
    let store = hcl_aggregator::store::open(&url)
        .await
        .expect("open postgres");
    scenario(store).await;
}

/// A database made before tombstones had a content key: its tombstones still refuse their
/// content id after the migration, and new deletions also refuse the content under another
/// report_id. `old` holds the first two migrations exactly as they shipped.
async fn old_tombstones_keep_working(
    url: &str,
    old: sqlx::migrate::Migrator,
    tombstone: &str,
    v1_tombstone: &str,
) {
    use sqlx::Connection;
    let (r1, r2) = (sample_report(1), sample_report(2));
    let (id1, id2) = (r1.content_id(), r2.content_id());
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        old.run_direct(&mut c).await.expect("old migrations");
        sqlx::query(tombstone)
            .bind(&id1)
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        old.run_direct(&mut c).await.expect("old migrations");
        sqlx::query(tombstone)
            .bind(&id1)
            .execute(&mut c)
            .await
            .unwrap();
    }
    let store = hcl_aggregator::store::open(url).await.expect("migrate");
    assert_eq!(
        store.put_report(canonical(&r1)).await.unwrap(),
        PutOutcome::Deleted
    );
    // What an old tombstone knows is the content id only: another report_id gets through.
    let mut r1b = r1.clone();
    r1b.report_id = "other".into();
    assert_eq!(
        store.put_report(canonical(&r1b)).await.unwrap(),
        PutOutcome::Created
    );
    // A deletion made now blocks the content whatever its report_id.
    store.put_report(canonical(&r2)).await.unwrap();
    assert!(store.delete_report(&id2).await.unwrap());
    let mut r2b = r2.clone();
    r2b.report_id = "other".into();
    assert_eq!(
        store.put_report(canonical(&r2b)).await.unwrap(),
        PutOutcome::Deleted
    );
    // Attack D13: nor with its devices in another order, a trailing space, another schema
    // version or generator.
    let mut r2c = r2b.clone();
    r2c.report_id = "third".into();
    r2c.devices.reverse();
    r2c.system.model = r2c.system.model.map(|m| format!("{m} "));
    r2c.generator = "hcl-probe 9.9.9".into();
    r2c.schema_version += 1;
    assert_eq!(
        store.put_report(canonical(&r2c)).await.unwrap(),
        PutOutcome::Deleted
    );
    // A tombstone written by a server before content key v2 holds the old key: it still
    // refuses its content under another report_id (that key knows no reordering).
    let r3 = sample_report(3);
    let v1 = canonical(&r3).legacy_content_key;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(v1_tombstone)
            .bind("gone-v1")
            .bind(&v1)
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(v1_tombstone)
            .bind("gone-v1")
            .bind(&v1)
            .execute(&mut c)
            .await
            .unwrap();
    }
    let mut r3b = r3.clone();
    r3b.report_id = "fresh".into();
    assert_eq!(
        store.put_report(canonical(&r3b)).await.unwrap(),
        PutOutcome::Deleted
    );
}

/// The migrations as they were before the content key.
fn first_two(backend: &str) -> sqlx::migrate::Migrator {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    use std::borrow::Cow;
    let sql = |name: &str| -> String {
        let path = format!("{}/migrations/{backend}/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let migrations = [
        (1, "reports", "0001_reports.sql"),
        (2, "deleted reports", "0002_deleted_reports.sql"),
    ]
    .into_iter()
    .map(|(v, d, f)| {
        Migration::new(
            v,
            Cow::Borrowed(d),
            MigrationType::Simple,
            Cow::Owned(sql(f)),
            false,
        )
    })
    .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

#[tokio::test]
async fn sqlite_old_tombstones_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    old_tombstones_keep_working(
        &url,
        first_two("sqlite"),
        "INSERT INTO deleted_reports (id, deleted_at) VALUES (?, '2026-01-01T00:00:00.000Z')",
        "INSERT INTO deleted_reports (id, deleted_at, content_key) \
         VALUES (?, '2026-01-01T00:00:00.000Z', ?)",
    )
    .await;
}

#[tokio::test]
async fn postgres_old_tombstones_keep_working() {
    let Ok(base) = std::env::var("HCL_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but HCL_TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL"
        );
        eprintln!(
            "\n*** SKIPPED postgres_old_tombstones_keep_working: no HCL_TEST_POSTGRES_URL ***\n"
        );
        return;
    };
    let url = crate::common::fresh_pg_schema(&base).await;
    old_tombstones_keep_working(
        &url,
        first_two("postgres"),
        "INSERT INTO deleted_reports (id, deleted_at) VALUES ($1, '2026-01-01T00:00:00.000Z')",
        "INSERT INTO deleted_reports (id, deleted_at, content_key) \
         VALUES ($1, '2026-01-01T00:00:00.000Z', $2)",
    )
    .await;
}

#[tokio::test]
async fn unsupported_database_url_is_a_clear_error() {
    let Err(err) = hcl_aggregator::store::open("mysql://localhost/x").await else {
        panic!("a MySQL URL must be refused");
    };
    assert!(
        err.to_string().contains("unsupported database URL"),
        "{err}"
    );
}

/// Issue 8, without root: the database is capped at a few pages (`PRAGMA max_page_count`:
/// SQLITE_FULL, as on a full disk). Every write the store acknowledges must read back, during
/// the fault, once space is freed and after a reopen, and `check_writable` (health) must see
/// the fault and its end. SQLite fails these writes statement by statement and keeps the
/// transaction, so this does not reproduce the lost writes themselves (a full file system
/// does: `faults::sqlite_disk_full_refuses_with_503_and_recovers`).
#[tokio::test]
async fn sqlite_full_database_acknowledges_only_what_it_stores() {
    use hcl_aggregator::store::SqliteStore;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("full.db").display());
    let open = || async {
        SqliteStore::open_tuned(&url, 512, |o| o.pragma("max_page_count", "40"))
            .await
            .expect("open")
    };
    let store = open().await;
    store.migrate().await.expect("migrate");
    // Big distinct reports: a few pages each once compressed.
    let big = |n: usize| {
        let mut r = sample_report(n);
        // Text that compresses poorly, distinct per report.
        let mut x = n as u64 + 1;
        r.system.cpu = Some(
            (0..3000)
                .map(|_| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    char::from(b'a' + (x >> 59) as u8)
                })
                .collect(),
        );
        r
    };
    let mut acked = Vec::new();
    let mut failures = 0;
    for n in 0..200 {
        match store.put_report(canonical(&big(n))).await {
            Ok(PutOutcome::Created) => acked.push(n),
            Ok(other) => panic!("report {n}: {other:?}"),
            // Refused: fine, as long as it is not stored either (checked below).
            Err(_) => failures += 1,
        }
    }
    assert!(failures >= 50, "the cap never filled: {failures} failures");
    for &n in &acked {
        assert!(
            store
                .get_report(&big(n).content_id())
                .await
                .unwrap()
                .is_some(),
            "report {n} acknowledged but not stored"
        );
    }
    assert!(
        store.check_writable().await.is_err(),
        "health misses the fault"
    );
    // The fault ends: a moderator deletes a few reports, which frees pages.
    for &n in acked.iter().take(acked.len() / 2) {
        assert!(store.delete_report(&big(n).content_id()).await.unwrap());
    }
    let deleted = acked.len() / 2;
    store
        .check_writable()
        .await
        .expect("writes go through again");
    let mut after = Vec::new();
    for n in 1000..1003 {
        assert_eq!(
            store
                .put_report(canonical(&big(n)))
                .await
                .expect("space again"),
            PutOutcome::Created
        );
        after.push(n);
    }
    drop(store);
    let store = open().await;
    for &n in acked[deleted..].iter().chain(&after) {
        assert!(
            store
                .get_report(&big(n).content_id())
                .await
                .unwrap()
                .is_some(),
            "report {n} lost after reopening"
        );
    }
    assert_eq!(
        store.count_reports().await.unwrap(),
        (acked.len() - deleted + after.len()) as u64
    );
}
