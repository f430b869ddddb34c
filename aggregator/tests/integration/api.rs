//! The upload and moderation API over real HTTP on a loopback port.

use std::io::Write;

use crate::common::{
    ADMIN_TOKEN, http, http_from, post_json, sample_json, sample_report, start_server, test_config,
};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn error_message(r: &crate::common::Resp) -> String {
    let v = r.json();
    assert_eq!(v["error"]["status"], r.status, "{v}");
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn upload_is_idempotent_and_reads_back() {
    let srv = start_server(test_config());
    let body = sample_json(1);
    let r = post_json(srv.addr, &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(id, sample_report(1).content_id());
    assert_eq!(v["url"], format!("/reports/{id}"));
    assert_eq!(
        r.header("location"),
        Some(format!("/reports/{id}").as_str())
    );

    let again = post_json(srv.addr, &body);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["id"], id.as_str());

    let got = http(srv.addr, "GET", &format!("/api/v1/reports/{id}"), &[], b"").unwrap();
    assert_eq!(got.status, 200);
    let report: hcl_data::Report = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(report, sample_report(1));
}

#[test]
fn yaml_and_gzip_uploads_are_accepted() {
    let srv = start_server(test_config());
    let yaml = serde_saphyr::to_string(&sample_report(2)).unwrap();
    for ct in ["application/yaml", "text/yaml; charset=utf-8"] {
        let r = http(
            srv.addr,
            "POST",
            "/api/v1/reports",
            &[("Content-Type", ct)],
            yaml.as_bytes(),
        )
        .unwrap();
        assert!(r.status == 201 || r.status == 200, "{ct}: {}", r.text());
        assert_eq!(r.json()["id"], sample_report(2).content_id().as_str());
    }
    let r = http(
        srv.addr,
        "POST",
        "/api/v1/reports",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &gzip(&sample_json(3)),
    )
    .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["id"], sample_report(3).content_id().as_str());
}

#[test]
fn bad_uploads_get_precise_errors() {
    let srv = start_server(hcl_aggregator::Config {
        max_body_bytes: 64 * 1024,
        ..test_config()
    });
    let post = |headers: &[(&str, &str)], body: &[u8]| {
        http(srv.addr, "POST", "/api/v1/reports", headers, body).unwrap()
    };
    let json = [("Content-Type", "application/json")];

    let r = post(&json, b"{\"schema_version\": 1, ");
    assert_eq!(r.status, 400);
    assert!(error_message(&r).contains("not valid JSON"), "{}", r.text());

    let r = post(
        &[("Content-Type", "application/yaml")],
        b"a: [unclosed\n  - : :",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // One report per upload: a second YAML document is not silently dropped.
    let r = post(
        &[("Content-Type", "application/yaml")],
        b"a: 1\n---\nb: 2\n",
    );
    assert_eq!(r.status, 400, "{}", r.text());

    let r = post(&[], &sample_json(1));
    assert_eq!(r.status, 415);
    assert!(error_message(&r).contains("Content-Type"));
    let r = post(&[("Content-Type", "text/plain")], &sample_json(1));
    assert_eq!(r.status, 415);
    let r = post(
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "br"),
        ],
        &sample_json(1),
    );
    assert_eq!(r.status, 415);
    assert!(error_message(&r).contains("Content-Encoding"));

    // Schema: a missing field is named.
    let mut v: serde_json::Value = serde_json::from_slice(&sample_json(1)).unwrap();
    v.as_object_mut().unwrap().remove("generator");
    let r = post(&json, &serde_json::to_vec(&v).unwrap());
    assert_eq!(r.status, 422);
    assert!(error_message(&r).contains("generator"), "{}", r.text());

    // A wrong type is named with its path.
    let mut v: serde_json::Value = serde_json::from_slice(&sample_json(1)).unwrap();
    v["devices"][1]["role"] = serde_json::json!("king");
    let r = post(&json, &serde_json::to_vec(&v).unwrap());
    assert_eq!(r.status, 422);
    assert!(error_message(&r).contains("devices[1]"), "{}", r.text());

    // Privacy: a serial number field is refused even though the schema has no such field.
    let mut v: serde_json::Value = serde_json::from_slice(&sample_json(1)).unwrap();
    v["system"]["serial_number"] = serde_json::json!("PF3XYZ12");
    let r = post(&json, &serde_json::to_vec(&v).unwrap());
    assert_eq!(r.status, 422);
    assert!(
        error_message(&r).contains("personal identifier"),
        "{}",
        r.text()
    );
    // ... and a MAC address inside a free-text field.
    let mut v: serde_json::Value = serde_json::from_slice(&sample_json(1)).unwrap();
    v["system"]["model"] = serde_json::json!("T14 00:1b:21:3a:4f:5e");
    let r = post(&json, &serde_json::to_vec(&v).unwrap());
    assert_eq!(r.status, 422, "{}", r.text());

    // Too large by Content-Length, and too large only after decompression (gzip bomb).
    let r = post(&json, &vec![b' '; 65 * 1024]);
    assert_eq!(r.status, 413);
    let bomb = gzip(&vec![b' '; 10 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024);
    let r = post(
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &bomb,
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(error_message(&r).contains("after decompression"));

    // Deep nesting is refused, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let r = post(&json, deep.as_bytes());
    assert!(r.status == 400 || r.status == 413, "{}", r.status);

    // Nothing of all that was stored.
    let n = srv.state.store.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(rt.block_on(n.count_reports()).unwrap(), 0);
}

#[test]
fn rate_limit_per_client_answers_429_with_retry_after() {
    let srv = start_server(hcl_aggregator::Config {
        rate_per_sec: 0.5,
        rate_burst: 3,
        ..test_config()
    });
    for n in 0..3 {
        assert_eq!(post_json(srv.addr, &sample_json(n)).status, 201);
    }
    let r = post_json(srv.addr, &sample_json(9));
    assert_eq!(r.status, 429);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Reading is not limited.
    let r = http(srv.addr, "GET", "/api/v1/health", &[], b"").unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn moderation_needs_the_admin_token() {
    let srv = start_server(test_config());
    let id = post_json(srv.addr, &sample_json(5)).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let admin = [("Authorization", bearer.as_str())];
    let path = format!("/api/v1/reports/{id}");

    let r = http(srv.addr, "POST", &format!("{path}/hide"), &[], b"").unwrap();
    assert_eq!(r.status, 401);
    let r = http(
        srv.addr,
        "POST",
        &format!("{path}/hide"),
        &[("Authorization", "Bearer wrong-token")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 403);
    let r = http(srv.addr, "DELETE", &path, &[], b"").unwrap();
    assert_eq!(r.status, 401);

    let r = http(srv.addr, "POST", &format!("{path}/hide"), &admin, b"").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(http(srv.addr, "GET", &path, &[], b"").unwrap().status, 404);
    assert_eq!(
        http(srv.addr, "GET", &path, &admin, b"").unwrap().status,
        200
    );
    let r = http(srv.addr, "POST", &format!("{path}/unhide"), &admin, b"").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(http(srv.addr, "GET", &path, &[], b"").unwrap().status, 200);

    let r = http(srv.addr, "DELETE", &path, &admin, b"").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        http(srv.addr, "GET", &path, &admin, b"").unwrap().status,
        404
    );
    assert_eq!(
        http(srv.addr, "DELETE", &path, &admin, b"").unwrap().status,
        404
    );
    // The same report uploaded again after its deletion: refused, not stored again.
    let r = http(
        srv.addr,
        "POST",
        "/api/v1/reports",
        &[("Content-Type", "application/json")],
        &sample_json(5),
    )
    .unwrap();
    assert_eq!(r.status, 410, "{}", r.text());
    assert!(r.text().contains("moderators"), "{}", r.text());
    assert_eq!(
        http(srv.addr, "GET", &path, &admin, b"").unwrap().status,
        404
    );
    // Regression (issue 8): nor under a new report_id, as a fresh probe run would send it.
    let mut again = sample_report(5);
    again.report_id = "0123456789abcdef0123456789abcdef".into();
    again.generated_on = "2026-12-24".into();
    let r = post_json(srv.addr, &serde_json::to_vec(&again).unwrap());
    assert_eq!(r.status, 410, "{}", r.text());
}

/// Regression (issue 8): moderation took about 10,000 token guesses a second. Wrong tokens are
/// counted per client address: after the burst, that address gets 429 (with Retry-After)
/// even for the right token, while another address is not affected.
#[test]
fn wrong_admin_tokens_are_rate_limited_per_address() {
    let srv = start_server(hcl_aggregator::Config {
        admin_failure_burst: 3,
        admin_failure_rate_per_sec: 0.01,
        ..test_config()
    });
    let id = post_json(srv.addr, &sample_json(6)).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/reports/{id}");
    let (a, b): (std::net::IpAddr, std::net::IpAddr) =
        ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
    let hide = |from, token: &str| {
        let auth = format!("Bearer {token}");
        http_from(
            from,
            srv.addr,
            "POST",
            &format!("{path}/hide"),
            &[("Authorization", &auth)],
            b"",
        )
        .unwrap()
    };
    // The right token does not use up the allowance.
    for _ in 0..5 {
        assert_eq!(hide(a, ADMIN_TOKEN).status, 200);
    }
    for _ in 0..3 {
        assert_eq!(hide(a, "guess").status, 403);
    }
    let r = hide(a, "guess");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        hide(a, ADMIN_TOKEN).status,
        429,
        "locked out means locked out"
    );
    // A hidden report read with a token is a guess too: 429, not a quiet 404.
    let auth = "Bearer guess".to_owned();
    let r = http_from(a, srv.addr, "GET", &path, &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(r.status, 429);
    // No token is no guess: 401 as before, from anywhere.
    let r = http_from(b, srv.addr, "POST", &format!("{path}/hide"), &[], b"").unwrap();
    assert_eq!(r.status, 401);
    // Another address with the right token is not affected.
    assert_eq!(hide(b, ADMIN_TOKEN).status, 200);
    let r = http_from(
        b,
        srv.addr,
        "DELETE",
        &path,
        &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn moderation_is_refused_when_no_token_is_configured() {
    let srv = start_server(hcl_aggregator::Config {
        admin_token: None,
        ..test_config()
    });
    let r = http(
        srv.addr,
        "DELETE",
        "/api/v1/reports/x",
        &[("Authorization", "Bearer ")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 403);
}

#[test]
fn errors_are_json_for_api_and_html_for_browsers() {
    let srv = start_server(test_config());
    let r = http(srv.addr, "GET", "/api/v1/reports/nope", &[], b"").unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["message"], "not found");

    let r = http(
        srv.addr,
        "GET",
        "/no/such/page%3Cscript%3E",
        &[("Accept", "text/html")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 404);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text().contains("<h1>404 Not Found</h1>"), "{}", r.text());

    let r = http(
        srv.addr,
        "GET",
        "/no/such/page",
        &[("Accept", "application/json")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["status"], 404);
}

/// Regression: a chunked body (no Content-Length) over the limit must be 413, not 400.
#[test]
fn chunked_body_over_the_limit_is_413() {
    use std::io::Read;
    let srv = start_server(hcl_aggregator::Config {
        max_body_bytes: 64 * 1024,
        ..test_config()
    });
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.write_all(
        b"POST /api/v1/reports HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let chunk = vec![b' '; 16 * 1024];
    for _ in 0..5 {
        s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .unwrap();
        s.write_all(&chunk).unwrap();
        s.write_all(b"\r\n").unwrap();
    }
    s.write_all(b"0\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let r = crate::common::parse_response(&raw).unwrap();
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(error_message(&r).contains("larger than the limit"));
}

#[test]
fn rate_limit_behind_a_proxy_counts_the_forwarded_address_only_when_trusted() {
    let upload = |addr, n: usize, xff: &str| {
        http(
            addr,
            "POST",
            "/api/v1/reports",
            &[
                ("Content-Type", "application/json"),
                ("X-Forwarded-For", xff),
            ],
            &sample_json(n),
        )
        .unwrap()
        .status
    };
    let limited = |trust| hcl_aggregator::Config {
        rate_per_sec: 0.001,
        rate_burst: 1,
        trust_forwarded_for: trust,
        ..test_config()
    };
    let srv = start_server(limited(true));
    assert_eq!(upload(srv.addr, 1, "10.0.0.1"), 201);
    assert_eq!(upload(srv.addr, 2, "10.0.0.1"), 429);
    // Only the last entry counts: a client cannot dodge the limit by writing its own.
    assert_eq!(upload(srv.addr, 3, "192.0.2.7, 10.0.0.1"), 429);
    assert_eq!(upload(srv.addr, 4, "10.0.0.2"), 201);
    let srv = start_server(limited(false));
    assert_eq!(upload(srv.addr, 1, "10.0.0.1"), 201);
    // Not trusted: the header is ignored and both come from 127.0.0.1.
    assert_eq!(upload(srv.addr, 2, "10.0.0.2"), 429);
}

/// A client that sends half a body and stalls gets 408 and frees the connection.
#[test]
fn trickled_body_times_out_with_408() {
    use std::io::Read;
    let srv = start_server(hcl_aggregator::Config {
        body_timeout: std::time::Duration::from_millis(500),
        ..test_config()
    });
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.write_all(
        b"POST /api/v1/reports HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Content-Length: 1000\r\nConnection: close\r\n\r\n{\"schema_version\"",
    )
    .unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let r = crate::common::parse_response(&raw).unwrap();
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(error_message(&r).contains("did not arrive"));
}

/// Regression: an upload under the size limit whose canonical form (every default field spelt
/// out) exceeded what the store reads back was accepted, then made its page and every fleet
/// page fail. Now it is refused up front with 413.
#[test]
fn upload_whose_stored_form_is_too_large_is_413_not_a_broken_page() {
    use hcl_aggregator::api::validate;
    let mut doc: serde_json::Value = serde_json::from_slice(&sample_json(1)).unwrap();
    let coverage: serde_json::Map<String, serde_json::Value> = (0..64)
        .map(|k| (format!("k{k}"), serde_json::json!({"verdict": "unknown"})))
        .collect();
    let device = serde_json::json!({"bus": "pci", "modalias": "pci:x", "coverage": coverage});
    doc["devices"] = serde_json::Value::Array(vec![device; 4096]);
    let body = serde_json::to_vec(&doc).unwrap();
    assert!(body.len() < 8 * 1024 * 1024, "{}", body.len());
    let err =
        validate::check(&body, None, validate::Format::Json, 8 * 1024 * 1024).expect_err("refused");
    assert_eq!(err.status().as_u16(), 413, "{err}");
    assert!(err.to_string().contains("written out in full"), "{err}");
}

/// Fleet pages after uploads: within the upload lag the snapshot is reused; after it the old
/// snapshot is still answered at once while a new one is built in the background, which then
/// shows the new machine (never an error, never a wait for the store).
#[test]
fn fleet_pages_catch_up_with_uploads_in_the_background() {
    let srv = start_server(hcl_aggregator::Config {
        page_upload_lag: std::time::Duration::from_millis(100),
        ..test_config()
    });
    let machines = || {
        let r = http(srv.addr, "GET", "/machines?format=json", &[], b"").unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
    };
    assert_eq!(post_json(srv.addr, &sample_json(1)).status, 201);
    assert!(machines().contains("ThinkPad T401"));
    assert_eq!(post_json(srv.addr, &sample_json(2)).status, 201);
    std::thread::sleep(std::time::Duration::from_millis(150));
    // Past the lag: served from the old snapshot, a rebuild started.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if machines().contains("ThinkPad T402") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new machine never showed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Each new filter value makes the server read every report; one client address gets a small
/// budget of such builds (429 with Retry-After beyond it), while the unfiltered pages and
/// snapshots already built stay open to it.
#[test]
fn filtered_page_builds_are_limited_per_client() {
    let srv = start_server(hcl_aggregator::Config {
        page_build_rate_per_sec: 0.001,
        page_build_burst: 2,
        ..test_config()
    });
    assert_eq!(post_json(srv.addr, &sample_json(1)).status, 201);
    let get = |path: &str| http(srv.addr, "GET", path, &[], b"").unwrap();
    for path in ["/machines?type=laptop", "/machines?type=desktop"] {
        assert_eq!(get(path).status, 200, "{path}");
    }
    let r = get("/machines?type=server");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    // Built already, or unfiltered: still served.
    assert_eq!(get("/machines?type=laptop").status, 200);
    assert_eq!(get("/machines").status, 200);
    assert_eq!(get("/devices").status, 200);
}
