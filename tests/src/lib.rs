//! Helpers for the end-to-end tests: where the workspace, its reference data and the captured
//! fixture trees are; an aggregator on a loopback port; a small blocking HTTP client.
//!
//! The aggregator runs in-process through the same `server::serve` the binary uses, and the
//! probe through its library: a test binary of this crate cannot rely on the other crates'
//! binaries being built (`cargo test -p hcl-e2e`), and building them from inside a test would
//! fight the outer cargo for the target directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// The repository's reference data (`data/`; provenance in each SOURCE.txt).
pub fn data_dir() -> PathBuf {
    workspace_root().join("data")
}

/// The captured sysfs trees under `tests/fixtures/sysfs`, one directory per machine, sorted.
pub fn fixture_roots() -> Vec<PathBuf> {
    let dir = workspace_root()
        .join("tests")
        .join("fixtures")
        .join("sysfs");
    let mut roots: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("sys").is_dir())
                .collect()
        })
        .unwrap_or_default();
    roots.sort();
    roots
}

/// An aggregator serving a fresh SQLite database on a loopback port, with the embedded kernel
/// catalog, until dropped.
pub struct Aggregator {
    pub addr: SocketAddr,
    pub state: hcl_aggregator::AppState,
    pub rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Aggregator {
    pub fn start() -> Result<Aggregator, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        let url = format!("sqlite://{}", dir.path().join("hcl.db").display());
        let (addr, state) = rt.block_on(async {
            let store = hcl_aggregator::store::open(&url)
                .await
                .map_err(|e| format!("open {url}: {e}"))?;
            let catalog = hcl_kernels::Catalog::embedded().map_err(|e| format!("catalog: {e}"))?;
            let config = hcl_aggregator::Config {
                rate_per_sec: 0.0,
                ..Default::default()
            };
            let state = hcl_aggregator::AppState::new(store, Arc::new(catalog), config);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| format!("bind: {e}"))?;
            let addr = listener.local_addr().map_err(|e| format!("addr: {e}"))?;
            let st = state.clone();
            tokio::spawn(async move { hcl_aggregator::server::serve(listener, st).await });
            Ok::<_, String>((addr, state))
        })?;
        Ok(Aggregator {
            addr,
            state,
            rt,
            _dir: dir,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn get(&self, path: &str) -> Result<Response, String> {
        get(self.addr, path)
    }
}

/// Status and body of an HTTP answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.body).map_err(|e| {
            format!(
                "status {} body is not JSON ({e}): {}",
                self.status, self.body
            )
        })
    }
}

/// `GET path`: the project's HTTP client (ureq, as the probe's upload uses), any status.
pub fn get(addr: SocketAddr, path: &str) -> Result<Response, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let mut resp = agent
        .get(format!("http://{addr}{path}"))
        .call()
        .map_err(|e| format!("GET {path}: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .map_err(|e| format!("GET {path}: {e}"))?;
    Ok(Response { status, body })
}
