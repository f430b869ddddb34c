//! The [`Hcl`] snapshot a page answers from: the cached one while fresh, a stale one while a
//! new one is built in the background, else one built now (see `cache.rs` for what fresh
//! means).

use std::net::IpAddr;
use std::sync::Arc;

use super::cache::Lookup;
use super::request::PageQuery;
use crate::analysis::{Filter, Hcl};
use crate::error::AppError;
use crate::state::AppState;

/// The snapshot of the visible reports that pass the request's filter.
pub(crate) async fn snapshot(st: &AppState, q: &PageQuery) -> Result<Arc<Hcl>, AppError> {
    cached_or_build(st, &q.filter, q.client).await
}

/// [`snapshot`] for `filter`; a build for a filter other than the default one counts against
/// `client`'s page-build budget (429 when spent), so no one client can keep the server reading
/// every report for filter after filter.
pub(crate) async fn cached_or_build(
    st: &AppState,
    filter: &Filter,
    client: Option<IpAddr>,
) -> Result<Arc<Hcl>, AppError> {
    match st.pages.lookup(filter) {
        Lookup::Fresh(hcl) => return Ok(hcl),
        Lookup::Stale(hcl) => {
            // One build at a time: when one is running, this stale snapshot is served again.
            if let Ok(building) = st.pages.build_lock().try_lock_owned() {
                let (st, filter) = (st.clone(), filter.clone());
                tokio::spawn(async move {
                    if let Err(e) = build_snapshot(&st, &filter).await {
                        tracing::warn!(error = %e, "background snapshot build failed");
                    }
                    drop(building);
                });
            }
            return Ok(hcl);
        }
        Lookup::Missing => {}
    }
    if let Some(ip) = client.filter(|_| *filter != Filter::default()) {
        st.build_limiter
            .check(ip)
            .map_err(|retry_after_s| AppError::TooManyRequests { retry_after_s })?;
    }
    let lock = st.pages.build_lock();
    let _building = lock.lock().await;
    // Whoever waited here may find the snapshot built meanwhile.
    if let Lookup::Fresh(hcl) = st.pages.lookup(filter) {
        return Ok(hcl);
    }
    build_snapshot(st, filter).await
}

/// Read the visible reports and build the snapshot for `filter`; the caller holds the build
/// lock.
async fn build_snapshot(st: &AppState, filter: &Filter) -> Result<Arc<Hcl>, AppError> {
    // Read before the store: a write landing meanwhile leaves this snapshot already behind.
    let generation = st.pages.generation();
    let reports = st.store.list_reports(false).await?;
    let cache = st.pages.coverage();
    let owned = filter.clone();
    let hcl = tokio::task::spawn_blocking(move || {
        let reports = reports.into_iter().filter(|r| owned.matches(r)).collect();
        Arc::new(Hcl::build(reports, &cache))
    })
    .await
    .map_err(|e| AppError::Internal(format!("snapshot task failed: {e}")))?;
    st.pages.put(filter, generation, hcl.clone());
    Ok(hcl)
}

/// One report alone: no need to read the others.
pub(crate) async fn of_one(
    st: &AppState,
    stored: crate::store::StoredReport,
) -> Result<Hcl, AppError> {
    let cache = st.pages.coverage();
    tokio::task::spawn_blocking(move || Hcl::build(vec![stored], &cache))
        .await
        .map_err(|e| AppError::Internal(format!("snapshot task failed: {e}")))
}
