//! `query`: a request target (path and query string) sent to the aggregator's whole router
//! (`hcl_aggregator::router`), in process, against a store holding a few real Qubes HCL
//! reports. Every answer is a client error or a page, never a 5xx, and carries the security
//! headers; an HTML page never repeats a query value with markup in it; the filter a page
//! parses ([`Params::parse`]) survives the links the pages write ([`Filter::query`]).
//!
//! Input: one byte picking the `Accept` header, then the request target.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hcl_aggregator::web::query::Params;
use hcl_aggregator::{AppState, Config, router};
use tower::Service;

/// Real reports in the store: this many files of the Qubes HCL archive in `data/`.
const HCL_FILES: usize = 24;

struct Server {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    /// Holds the database file.
    _dir: tempfile::TempDir,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dir = tempfile::tempdir().expect("temporary folder");
        let app = rt.block_on(async {
            let url = format!("sqlite://{}", dir.path().join("hcl.db").display());
            let store = hcl_aggregator::store::open(&url).await.expect("open store");
            let archive = crate::repo_path("data/qubes-hcl/qubes-hcl.tar.zst");
            let files = hcl_data::hcl_files::read(&archive).expect("HCL archive");
            let mut reports = Vec::new();
            for f in files.iter().step_by(files.len() / HCL_FILES + 1) {
                if let Ok(r) = hcl_aggregator::import::load_one(&f.bytes, &f.name) {
                    reports.push(r.canonical().expect("canonical"));
                }
            }
            store.put_reports(reports).await.expect("store reports");
            let config = Config {
                // Every filter builds its snapshot: no per-client build budget to run out.
                page_build_rate_per_sec: 0.0,
                page_upload_lag: std::time::Duration::ZERO,
                ..Config::default()
            };
            let catalog = std::sync::Arc::new(crate::modalias::catalog().clone());
            router(AppState::new(store, catalog, config))
        });
        Server { rt, app, _dir: dir }
    })
}

const ACCEPT: [Option<&str>; 4] = [
    None,
    Some("text/html"),
    Some("application/json"),
    Some("text/csv, */*;q=0.1"),
];

pub fn query(data: &[u8]) {
    let Some((&sel, target)) = data.split_first() else {
        return;
    };
    let target = String::from_utf8_lossy(target);
    let query_string = target.split_once('?').map(|(_, q)| q);
    let params = Params::parse(query_string);
    filter_survives_links(&params);

    let uri = if target.starts_with('/') {
        target.into_owned()
    } else {
        format!("/{target}")
    };
    let mut req = Request::builder().uri(uri.as_str());
    if let Some(accept) = ACCEPT[usize::from(sel) % ACCEPT.len()] {
        req = req.header(header::ACCEPT, accept);
    }
    // Bytes no HTTP server would take as a request target are refused before the router.
    let Ok(req) = req.body(Body::empty()) else {
        return;
    };
    let s = server();
    let (status, headers, body) = s.rt.block_on(async {
        let mut app = s.app.clone();
        let resp = app.call(req).await.expect("infallible");
        let (parts, body) = resp.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("response body");
        (parts.status, parts.headers, body)
    });
    assert!(
        !status.is_server_error(),
        "GET {uri:?} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(
        headers
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff"),
        "GET {uri:?}: no nosniff"
    );
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if html && status == StatusCode::OK {
        let body = String::from_utf8_lossy(&body);
        for v in [
            &params.filter.machine_type,
            &params.filter.qubes,
            &params.filter.from,
            &params.filter.to,
            &params.baseline,
        ]
        .into_iter()
        .flatten()
        .chain(&params.candidates)
        {
            if v.contains('<') {
                assert!(
                    !body.contains(v.as_str()),
                    "GET {uri:?}: {v:?} in the page unescaped"
                );
            }
        }
    }
}

/// A normalised filter written into a link by [`hcl_aggregator::analysis::Filter::query`] and
/// parsed again is the same filter.
fn filter_survives_links(params: &Params) {
    let Ok(filter) = params.filter.normalized() else {
        return;
    };
    let link = filter.query();
    assert!(
        link.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~%=&".contains(&b)),
        "link {link:?} needs escaping"
    );
    let back = Params::parse(Some(&link)).filter.normalized();
    assert_eq!(back.as_ref(), Ok(&filter), "link {link:?}");
}
