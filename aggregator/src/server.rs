//! Running the server: bind, serve with client addresses (for the rate limit), stop on a signal.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::app::router;
use crate::state::AppState;

/// Serve until Ctrl-C or SIGTERM. In-flight requests finish; acknowledged writes are committed
/// anyway, so a hard kill loses nothing acknowledged either.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
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
    let store = crate::store::open_with(db, store_opts).await?;
    let catalog = std::sync::Arc::new(hcl_kernels::Catalog::embedded()?);
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

/// Errors that stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("kernel catalog: {0}")]
    Catalog(#[from] hcl_kernels::Error),
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
