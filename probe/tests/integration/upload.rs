//! Uploads against real servers on loopback: a tiny HTTP server thread and a rustls HTTPS
//! server with a CA made for the test.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hcl_data::{Device, Origin, Report, Role, SCHEMA_VERSION, System, Tri};
use hcl_probe::upload::{
    NssFreeResolver, UploadError, UploadOptions, pending_files, preview, save_report,
    upload_report, upload_saved,
};

/// One request as the server saw it.
#[derive(Debug)]
struct Seen {
    method: String,
    path: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn report(id: &str) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        report_id: id.into(),
        generated_on: "2026-11-20".into(),
        generator: "hcl-probe 0.1.0".into(),
        origin: Origin::Probe,
        system: System {
            machine_type: Some("laptop".into()),
            brand: Some("LENOVO".into()),
            model: Some("ThinkPad T14 Gen 3".into()),
            hvm: Tri::Yes,
            iommu: Tri::Yes,
            memory_mib: Some(31_744),
            ..System::default()
        },
        devices: vec![Device {
            bus: "pci".into(),
            modalias: "pci:v00008086d000046A8sv000017AAsd000022F0bc03sc00i00".into(),
            category: "gpu".into(),
            role: Role::Dom0,
            vendor: Some("8086".into()),
            device: Some("46a8".into()),
            ..Device::default()
        }],
        kernels: BTreeMap::new(),
        qubes: None,
    }
}

/// Options that reach the test server fast: short backoff and timeout.
fn options(url: &str) -> UploadOptions {
    UploadOptions {
        retries: 2,
        timeout: Duration::from_secs(5),
        backoff: Duration::from_millis(20),
        ..UploadOptions::new(url)
    }
}

fn read_request(stream: &mut impl Read) -> Option<Seen> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut len = 0usize;
    let mut content_type = None;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => len = value.trim().parse().ok()?,
            "content-type" => content_type = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        path,
        content_type,
        body,
    })
}

fn respond(stream: &mut impl Write, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        422 => "Unprocessable Entity",
        _ => "Error",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

fn accepted(id: &str) -> (u16, String) {
    (
        201,
        format!(r#"{{"id":"{id}","url":"http://127.0.0.1/reports/{id}"}}"#),
    )
}

/// A plain HTTP server on loopback answering each connection with the next response, then
/// returning what it saw. Stops after the responses run out.
fn http_server(responses: Vec<(u16, String)>) -> (String, JoinHandle<Vec<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for (status, body) in responses {
            let Ok((mut stream, _)) = listener.accept() else {
                break;
            };
            if let Some(req) = read_request(&mut stream) {
                seen.push(req);
            }
            respond(&mut stream, status, &body);
        }
        seen
    });
    (url, handle)
}

/// Ends a server thread that still waits for a connection it will not get.
fn finish(url: &str, handle: JoinHandle<Vec<Seen>>) -> Vec<Seen> {
    let addr = url.trim_start_matches("http://");
    while !handle.is_finished() {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let _ = s.write_all(b"GET /stop HTTP/1.1\r\n\r\n");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut seen = handle.join().unwrap();
    seen.retain(|s| s.path != "/stop");
    seen
}

#[test]
fn server_error_then_created_is_retried_with_the_same_bytes() {
    let (url, server) = http_server(vec![(500, "boom".into()), accepted("c0ffee")]);
    let r = report("a1b2c3");
    let outcome = upload_report(&r, &options(&url)).unwrap();
    assert_eq!(outcome.id, "c0ffee");
    assert_eq!(outcome.attempts, 2);
    assert!(!outcome.already_stored);
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(s.path, "/api/v1/reports");
        assert_eq!(s.content_type.as_deref(), Some("application/json"));
        // Exactly what the person was shown, both times.
        assert_eq!(s.body, preview(&r).into_bytes());
    }
    assert_eq!(Report::from_json(&seen[0].body).unwrap(), r);
}

#[test]
fn ok_200_means_already_stored() {
    let (url, server) = http_server(vec![(200, r#"{"id":"x1","url":"http://h/r/x1"}"#.into())]);
    let outcome = upload_report(&report("r200"), &options(&url)).unwrap();
    assert!(outcome.already_stored);
    assert_eq!(outcome.url, "http://h/r/x1");
    server.join().unwrap();
}

#[test]
fn client_error_is_not_retried() {
    let (url, server) = http_server(vec![
        (422, r#"{"error":"privacy: MAC address"}"#.into()),
        accepted("never"),
    ]);
    let err = upload_report(&report("r422"), &options(&url)).unwrap_err();
    match &err {
        UploadError::Rejected { status, body, .. } => {
            assert_eq!(*status, 422);
            assert!(body.contains("privacy: MAC address"), "{body}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert!(err.to_string().contains("HTTP 422"), "{err}");
    let seen = finish(&url, server);
    assert_eq!(seen.len(), 1, "a 4xx must not be retried");
}

#[test]
fn server_errors_until_retries_run_out() {
    let (url, server) = http_server(vec![(503, "busy".into()); 3]);
    let err = upload_report(&report("r503"), &options(&url)).unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::ServerError {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.join().unwrap().len(), 3);
}

#[test]
fn unreachable_port_gives_a_clear_error_and_keeps_the_report() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let saved = save_report(&report("keepme"), dir.path()).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let results = upload_saved(dir.path(), &options(&url)).unwrap();
    assert_eq!(results.len(), 1);
    let err = results[0].result.as_ref().unwrap_err();
    assert!(
        matches!(err, UploadError::Unreachable { attempts: 3, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&url) && msg.contains("after 3 tries"), "{msg}");
    assert!(err.is_transient());
    assert_eq!(pending_files(dir.path()).unwrap(), vec![saved.clone()]);
    assert!(saved.is_file());
}

#[test]
fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    // Accepts and reads, never answers.
    let t = std::thread::spawn(move || {
        let mut held = Vec::new();
        for _ in 0..2 {
            if let Ok((s, _)) = listener.accept() {
                held.push(s);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    });
    let opts = UploadOptions {
        retries: 1,
        timeout: Duration::from_millis(300),
        ..options(&url)
    };
    let start = Instant::now();
    let err = upload_report(&report("slow"), &opts).unwrap_err();
    assert!(
        matches!(&err, UploadError::Unreachable { attempts: 2, reason, .. } if reason.to_lowercase().contains("timeout")),
        "{err:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    t.join().unwrap();
}

#[test]
fn upload_saved_marks_sent_and_does_not_resend() {
    let dir = tempfile::tempdir().unwrap();
    let first = save_report(&report("first"), dir.path()).unwrap();
    let second = save_report(&report("second"), dir.path()).unwrap();
    assert_eq!(pending_files(dir.path()).unwrap().len(), 2);
    let (url, server) = http_server(vec![accepted("id1"), accepted("id2"), accepted("extra")]);
    let results = upload_saved(dir.path(), &options(&url)).unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.result.is_ok()), "{results:?}");
    assert!(!first.exists() && !second.exists());
    assert!(dir.path().join("hcl-report-first.sent.json").is_file());
    assert!(dir.path().join("hcl-report-second.sent.json").is_file());
    // A rerun finds nothing to send.
    assert!(upload_saved(dir.path(), &options(&url)).unwrap().is_empty());
    let seen = finish(&url, server);
    assert_eq!(seen.len(), 2, "sent reports are not sent again");
}

#[test]
fn corrupt_saved_report_is_left_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("hcl-report-broken.json");
    std::fs::write(&bad, b"{\"schema_version\": 1, \"report_id\": ").unwrap();
    let (url, server) = http_server(vec![accepted("never")]);
    let results = upload_saved(dir.path(), &options(&url)).unwrap();
    let err = results[0].result.as_ref().unwrap_err();
    assert!(matches!(err, UploadError::BadSavedReport { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("hcl-report-broken.json") && msg.contains("syntax error"),
        "{msg}"
    );
    assert!(bad.is_file());
    assert!(finish(&url, server).is_empty());
}

#[test]
fn save_is_atomic_and_holds_the_preview() {
    let dir = tempfile::tempdir().unwrap();
    let r = report("atomic1");
    let path = save_report(&r, &dir.path().join("new/sub")).unwrap();
    assert_eq!(path.file_name().unwrap(), "hcl-report-atomic1.json");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), preview(&r));
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    let mut evil = report("x");
    evil.report_id = "../../escape".into();
    assert!(matches!(
        save_report(&evil, dir.path()),
        Err(UploadError::BadReportId(_))
    ));
}

#[test]
fn report_with_personal_identifiers_is_not_sent() {
    let mut r = report("private");
    r.system.model = Some("ThinkPad 3c:22:fb:01:9a:7e".into());
    // Port 9 on loopback: nothing listens; Privacy must come before any connection.
    let err = upload_report(&r, &options("http://127.0.0.1:9")).unwrap_err();
    assert!(
        matches!(err, UploadError::Privacy(ref m) if m.contains("MAC")),
        "{err:?}"
    );
}

#[test]
fn bad_urls_and_ca_files_are_named() {
    let err = upload_report(&report("u1"), &options("ftp://example.org")).unwrap_err();
    assert!(matches!(err, UploadError::InvalidUrl { .. }), "{err:?}");
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let opts = UploadOptions {
        ca_file: Some(not_pem.clone()),
        ..options("https://127.0.0.1:9")
    };
    let err = upload_report(&report("u2"), &opts).unwrap_err();
    assert!(matches!(err, UploadError::CaFileInvalid { .. }), "{err:?}");
    assert!(err.to_string().contains("ca.pem"), "{err}");
    let opts = UploadOptions {
        ca_file: Some(dir.path().join("missing.pem")),
        ..options("https://127.0.0.1:9")
    };
    assert!(matches!(
        upload_report(&report("u3"), &opts),
        Err(UploadError::CaFileRead { .. })
    ));
}

/// A test CA and a server certificate for `host` signed by it.
struct Pki {
    ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

fn pki(host: &str) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "HCL Probe test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![host.to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}

/// An HTTPS server on loopback for `connections` connections, answering 201.
fn https_server(p: &Pki, connections: usize) -> (u16, JoinHandle<usize>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(p.cert_der.clone())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(p.key_der.clone())),
    )
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut served = 0;
        for _ in 0..connections {
            let Ok((tcp, _)) = listener.accept() else {
                break;
            };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            // A client that refuses the certificate fails the handshake here.
            if read_request(&mut tls).is_some() {
                let (status, body) = accepted("tls1");
                respond(&mut tls, status, &body);
                tls.conn.send_close_notify();
                let _ = tls.flush();
                served += 1;
            }
        }
        served
    });
    (port, handle)
}

/// A resolver whose hosts file names `host` as 127.0.0.1 and whose DNS is never reached.
fn resolver_for(dir: &Path, host: &str) -> NssFreeResolver {
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, format!("127.0.0.1 {host}\n")).unwrap();
    NssFreeResolver {
        hosts_file: hosts,
        resolv_conf: dir.join("no-resolv.conf"),
        dns_port: 9,
    }
}

#[test]
fn pinned_ca_is_trusted_and_another_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let host = "hcl.upload.test";
    let real = pki(host);
    let other = pki(host);
    std::fs::write(dir.path().join("real.pem"), &real.ca_pem).unwrap();
    std::fs::write(dir.path().join("other.pem"), &other.ca_pem).unwrap();
    let (port, server) = https_server(&real, 2);
    let url = format!("https://{host}:{port}");
    let base = UploadOptions {
        resolver: resolver_for(dir.path(), host),
        ..options(&url)
    };

    let pinned = UploadOptions {
        ca_file: Some(dir.path().join("real.pem")),
        ..base.clone()
    };
    let outcome = upload_report(&report("tls-ok"), &pinned).unwrap();
    assert_eq!((outcome.id.as_str(), outcome.attempts), ("tls1", 1));

    let wrong = UploadOptions {
        ca_file: Some(dir.path().join("other.pem")),
        ..base
    };
    let err = upload_report(&report("tls-bad"), &wrong).unwrap_err();
    assert!(matches!(err, UploadError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("TLS"), "{err}");
    assert_eq!(
        server.join().unwrap(),
        1,
        "only the pinned client got an answer"
    );
}

#[test]
fn web_roots_do_not_trust_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let host = "hcl.upload.test";
    let p = pki(host);
    let (port, server) = https_server(&p, 1);
    let opts = UploadOptions {
        resolver: resolver_for(dir.path(), host),
        ..options(&format!("https://{host}:{port}"))
    };
    let err = upload_report(&report("webpki"), &opts).unwrap_err();
    assert!(matches!(err, UploadError::Tls { .. }), "{err:?}");
    assert_eq!(server.join().unwrap(), 0);
}

#[test]
fn unknown_host_is_reported_without_nss() {
    let dir = tempfile::tempdir().unwrap();
    let opts = UploadOptions {
        retries: 0,
        resolver: resolver_for(dir.path(), "other.test"),
        ..options("http://nowhere.invalid:8080")
    };
    let err = upload_report(&report("nohost"), &opts).unwrap_err();
    assert!(matches!(err, UploadError::Unreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("nowhere.invalid") && msg.contains("hosts") && msg.contains("DNS server"),
        "{msg}"
    );
}

#[test]
fn huge_saved_file_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("hcl-report-huge.json");
    // Sparse: 1 GiB on paper, nothing on disk.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let results = upload_saved(dir.path(), &options("http://127.0.0.1:9")).unwrap();
    let err = results[0].result.as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::BadSavedReport {
                source: hcl_data::Error::TooLarge { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(huge.is_file());
}

/// What a hostile server answers: a URL with colour, an OSC 8 hyperlink, a title change, a
/// bidirectional override and a forged line.
const HOSTILE_URL: &str = "https://x/r/1\u{1b}[31mRED\u{1b}]8;;https://evil/\u{7}click\u{1b}]8;;\u{7}\u{1b}]0;pwned\u{7}\u{202e}txt.exe\nstored: https://fake";

fn assert_no_terminal_control(what: &str, text: &str) {
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(bad), "{what} carries {bad:?}: {text:?}");
    }
    assert!(
        !text.contains("\nstored: https://fake"),
        "{what}: a forged line"
    );
}

/// Bug: `hcl-probe upload` printed the `url` the server returned as it came, so escape
/// sequences (`\u001b[31m`, OSC 8 hyperlinks) reached the person's terminal.
#[test]
fn regression_server_url_escape_sequences_do_not_reach_the_terminal() {
    let body = serde_json::json!({"id": "abc", "url": HOSTILE_URL}).to_string();
    let (url, server) = http_server(vec![(201, body.clone())]);
    let root = crate::common::fixture("dev-vm-firecracker");
    let (ok, out, err) = crate::common::run_probe(&[
        "upload",
        "--root",
        root.to_str().unwrap(),
        "--url",
        &url,
        "--yes",
        "--retries",
        "0",
    ]);
    assert!(ok, "{err}");
    finish(&url, server);
    assert_no_terminal_control("stdout", &out);
    assert_no_terminal_control("stderr", &err);
    // Shown escaped, so the person still sees what the server sent.
    assert!(out.contains("stored: https://x/r/1\\u001b[31mRED"), "{out}");

    // `upload --from`: the same for saved reports, and for a server's refusal message.
    let dir = tempfile::tempdir().unwrap();
    save_report(&report("saved1"), dir.path()).unwrap();
    let (url, server) = http_server(vec![(201, body)]);
    let (ok, out, err) = crate::common::run_probe(&[
        "upload",
        "--from",
        dir.path().to_str().unwrap(),
        "--url",
        &url,
        "--yes",
        "--retries",
        "0",
    ]);
    assert!(ok, "{err}");
    finish(&url, server);
    assert_no_terminal_control("stdout", &out);
    assert_no_terminal_control("stderr", &err);
    save_report(&report("saved2"), dir.path()).unwrap();
    let refusal = serde_json::json!({"error": HOSTILE_URL}).to_string();
    let (url, server) = http_server(vec![(422, refusal)]);
    let (ok, out, err) = crate::common::run_probe(&[
        "upload",
        "--from",
        dir.path().to_str().unwrap(),
        "--url",
        &url,
        "--yes",
        "--retries",
        "0",
    ]);
    assert!(!ok);
    finish(&url, server);
    assert_no_terminal_control("stdout", &out);
    assert_no_terminal_control("stderr", &err);
}

/// A saved report's file name and contents are the folder's: shown escaped too.
#[test]
fn saved_file_names_and_contents_are_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = report("esc");
    // A bidirectional override is not a control character: the report is valid and sent,
    // and the preview shows it escaped.
    r.system.model = Some("T14\u{202e} Gen 3".into());
    save_report(&r, dir.path()).unwrap();
    let odd = dir.path().join("hcl-report-\u{1b}[2Jodd.json");
    std::fs::write(&odd, b"{\"x\": \"\\u001b[31m\"}").unwrap();
    let (url, server) = http_server(vec![accepted("a"), accepted("b")]);
    let (_, out, err) = crate::common::run_probe(&[
        "upload",
        "--from",
        dir.path().to_str().unwrap(),
        "--url",
        &url,
        "--yes",
        "--retries",
        "0",
    ]);
    finish(&url, server);
    assert_no_terminal_control("stdout", &out);
    assert_no_terminal_control("stderr", &err);
    assert!(out.contains("\\u001b[2Jodd.json"), "{out}");
    assert!(out.contains("\\u202e"), "{out}");
}
