//! Running the server: bind, accept with limits, serve with client addresses (for the rate
//! limits), stop on a signal.
//!
//! The accept loop is hyper's HTTP/1 connection builder rather than `axum::serve`, which has no
//! knobs. What bounds a connection:
//! - a client must deliver a request's whole header within the header-read timeout (counted
//!   from when the connection opens, or from the end of the previous response, so it also
//!   closes idle keep-alive connections);
//! - at most `max_connections` are open at once; at the cap new connections wait in the
//!   kernel's listen queue instead of being accepted into a process that has no file
//!   descriptor left for them;
//! - at most `max_connections_per_client` of them from one client (an IPv4 address, an IPv6
//!   /64), and never more than half of them, so that one client cannot take every slot; a
//!   connection over it is closed at once;
//! - a response that the client does not read fails after the write timeout;
//! - a connection older than its maximum age takes no new request (so one that sends a request
//!   every few seconds cannot keep its slot), and is closed when the one in progress ends or,
//!   at the latest, a body timeout plus a write timeout later.

mod conn;

pub use conn::{ClientConnections, ClientSlot, WriteDeadline};

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::app::router;
use crate::state::AppState;

/// How long in-flight requests may take to finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(30);

/// File descriptors kept for everything but client connections: the database, its pool,
/// logs, the kernel catalog.
pub const FD_RESERVE: u64 = 256;

/// Serve until Ctrl-C or SIGTERM. In-flight requests finish (for up to 30 s); acknowledged
/// writes are committed anyway, so a hard kill loses nothing acknowledged either.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let cfg = &state.config;
    // Semaphore permits are counted in u32 when taken back all at once.
    let max_connections = cfg.max_connections.clamp(1, u32::MAX as usize >> 4);
    // Never more than half of all slots to one client, whatever the two flags say (the
    // open-file limit may have lowered `max_connections` below the per-client cap).
    let per_client = ClientConnections::new(match cfg.max_connections_per_client {
        0 => 0,
        n => n.min((max_connections / 2).max(1)),
    });
    let write_timeout = Some(cfg.write_timeout).filter(|d| !d.is_zero());
    let max_age = Some(cfg.connection_max_age).filter(|d| !d.is_zero());
    // After its maximum age a connection may finish the request in progress: its body within
    // the body timeout, its response while the client reads it.
    let grace = cfg.body_timeout + cfg.write_timeout;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout)
        .keep_alive(true);
    let app = router(state);
    let slots = Arc::new(Semaphore::new(max_connections));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the cap the next connection waits in the listen queue.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    accept_error(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Over its client's cap: closed unanswered. A 429 would be a write to a client that
        // already holds too many connections (and may not read); an honest client (a browser
        // opens at most six per site, the probe one) never gets here.
        let Some(client) = per_client.admit(peer.ip()) else {
            tracing::debug!(%peer, "connection over the per-client cap closed");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req)
        });
        let io = TokioIo::new(WriteDeadline::new(stream, write_timeout));
        let conn = http.serve_connection(io, service);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            // Both slots are held until the connection is gone.
            let _held = (permit, client);
            tokio::pin!(conn);
            let aged = async {
                match max_age {
                    Some(age) => tokio::time::sleep(age).await,
                    None => std::future::pending().await,
                }
            };
            // Errors here are the client's (reset, header or write timeout, bad request line).
            tokio::select! {
                _ = conn.as_mut() => return,
                () = aged => {}
                _ = stop.wait_for(|stopping| *stopping) => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(grace, conn).await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot: all slots back means every connection has finished.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    tokio::select! {
        _ = slots.acquire_many(all) => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("requests still running {} s after the stop signal", DRAIN.as_secs());
        }
    }
    Ok(())
}

/// After a failed accept: a client that went away before it was accepted is nothing; anything
/// else (out of file descriptors) is logged and waited out a little, not spun on.
async fn accept_error(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Open the store, load the kernel catalog and serve on `listen` (what `hcl-aggregator serve`
/// does).
pub async fn run(
    db: &str,
    store_opts: crate::store::StoreOptions,
    listen: &str,
    config: crate::config::Config,
) -> Result<(), RunError> {
    let mut config = config;
    config.max_connections = fit_fd_limit(config.max_connections);
    let store = crate::store::open_with(db, store_opts).await?;
    let catalog = std::sync::Arc::new(hcl_kernel_engine::Catalog::embedded()?);
    let state = AppState::new(store, catalog, config);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| RunError::Bind {
            addr: listen.to_owned(),
            source,
        })?;
    let addr = listener.local_addr().map_err(RunError::Serve)?;
    // One line on stdout so scripts and tests learn the port when they asked for port 0.
    println!("listening on http://{addr}");
    tracing::info!(%addr, db = %redact_url(db), "serving");
    serve(listener, state).await.map_err(RunError::Serve)
}

/// Raise the soft limit on open files so `max_connections` fit, up to the hard limit (many
/// systems start processes at 1,024 soft with a far higher hard limit); when even the hard
/// limit is too low, serve fewer connections at once and say so.
fn fit_fd_limit(max_connections: usize) -> usize {
    let wanted = u64::try_from(max_connections)
        .unwrap_or(u64::MAX)
        .saturating_add(FD_RESERVE);
    let limit = match rlimit::increase_nofile_limit(wanted) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            return max_connections;
        }
    };
    if limit >= wanted {
        return max_connections;
    }
    let fit = usize::try_from(limit.saturating_sub(FD_RESERVE))
        .unwrap_or(1)
        .max(1);
    tracing::warn!(
        max_connections,
        open_file_limit = limit,
        serving = fit,
        "the open-file limit is too low for --max-connections; serving fewer at once"
    );
    fit
}

/// Errors that stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("kernel catalog: {0}")]
    Catalog(#[from] hcl_kernel_engine::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// A database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}://{}:***{}", &url[..s], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
