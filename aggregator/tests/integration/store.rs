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
