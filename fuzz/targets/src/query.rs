//! `query`: a request target (path and query string) sent to the aggregator's whole router
//! (`hcl_aggregator::router`), in process, against a store holding a few real Qubes HCL
//! reports. Every answer is a client error or a page, never a 5xx, and carries the security
//! headers; an HTML page never repeats a query value with markup in it (beyond what the same
//! page shows for that value with `<` made `X`: the page's own tags); the filter a page
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
    filter_survives_links(&Params::parse(query_string));

    let uri = if target.starts_with('/') {
        target.into_owned()
    } else {
        format!("/{target}")
    };
    let accept = ACCEPT[usize::from(sel) % ACCEPT.len()];
    // Bytes no HTTP server would take as a request target are refused before the router.
    let Some((status, headers, body)) = get(&uri, accept) else {
        return;
    };
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
    if !(html && status == StatusCode::OK) {
        return;
    }
    // The query the router saw: `http` drops a `#fragment` and what follows it.
    let Ok(parsed) = uri.parse::<axum::http::Uri>() else {
        return;
    };
    let params = Params::parse(parsed.query());
    let marked: Vec<&String> = [
        &params.filter.machine_type,
        &params.filter.qubes,
        &params.filter.from,
        &params.filter.to,
        &params.baseline,
    ]
    .into_iter()
    .flatten()
    .chain(&params.candidates)
    .filter(|v| v.contains('<'))
    .collect();
    if marked.is_empty() {
        return;
    }
    // The page's own markup (`<td`, `<a href`) is no echo: a value counts as repeated only
    // where it occurs more often than in the same page asked with each `<` of the query made
    // an `X`, whose echoes then hold `X` instead.
    let neutral_uri = uri
        .replace("%3C", "X")
        .replace("%3c", "X")
        .replace('<', "X");
    let Some((_, _, neutral)) = get(&neutral_uri, accept) else {
        return;
    };
    let body = String::from_utf8_lossy(&body);
    let neutral = String::from_utf8_lossy(&neutral);
    for v in marked {
        assert!(
            body.matches(v.as_str()).count() <= neutral.matches(v.as_str()).count(),
            "GET {uri:?}: {v:?} in the page unescaped"
        );
    }
}

/// One GET through the router; None when `uri` is no valid request target.
fn get(uri: &str, accept: Option<&str>) -> Option<(StatusCode, header::HeaderMap, Vec<u8>)> {
    let mut req = Request::builder().uri(uri);
    if let Some(accept) = accept {
        req = req.header(header::ACCEPT, accept);
    }
    let req = req.body(Body::empty()).ok()?;
    let s = server();
    Some(s.rt.block_on(async {
        let mut app = s.app.clone();
        let resp = app.call(req).await.expect("infallible");
        let (parts, body) = resp.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("response body");
        (parts.status, parts.headers, body.to_vec())
    }))
}

/// A normalised filter written into a link by [`hcl_aggregator::analysis::Filter::query`] and
/// parsed again is the same filter.
fn filter_survives_links(params: &Params) {
    let Ok(filter) = params.filter.normalized() else {
        return;
    };
    let link = filter.query();
    // What `application/x-www-form-urlencoded` leaves as it is (`*`, and `+` for a space):
    // nothing that HTML or a URL would read otherwise.
    assert!(
        link.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.*+%=&".contains(&b)),
        "link {link:?} needs escaping"
    );
    let back = Params::parse(Some(&link)).filter.normalized();
    assert_eq!(back.as_ref(), Ok(&filter), "link {link:?}");
}
