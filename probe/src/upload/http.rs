//! Sending a report over HTTPS: rustls only, the server's CA can be pinned, names resolved
//! without the host's NSS ([`super::resolve`]), retries with backoff on transient failures.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hcl_data::Report;
use serde::Deserialize;
use ureq::tls::{PemItem, RootCerts, TlsConfig};

use super::error::UploadError;
use super::resolve::NssFreeResolver;

/// Largest response body read from the server: the answer is a small JSON object.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;
/// Longest wait between two tries, however many retries are asked for.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Longest server message quoted in an error.
const MAX_QUOTED_BODY: usize = 400;

/// Where and how to upload.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Base URL of the aggregator, e.g. `https://hcl.example.org`; the report goes to
    /// `{url}/api/v1/reports`.
    pub url: String,
    /// PEM file with the CA (or CAs) to trust instead of the built-in web roots: only these
    /// are trusted when set.
    pub ca_file: Option<PathBuf>,
    /// Tries after the first one, on connection errors, timeouts and 5xx answers.
    pub retries: u32,
    /// Time limit for one try (resolve, connect, send, read the answer).
    pub timeout: Duration,
    /// Wait before the first retry; doubled for each further retry (capped at a minute).
    pub backoff: Duration,
    /// HTTP(S) or SOCKS proxy URL; None connects directly (the environment is not consulted,
    /// so what the person sees is what happens).
    pub proxy: Option<String>,
    /// How host names are resolved.
    pub resolver: NssFreeResolver,
}

impl UploadOptions {
    /// Options with the defaults: 4 retries, 30 s per try, 1 s first backoff, no pinned CA.
    pub fn new(url: impl Into<String>) -> Self {
        UploadOptions {
            url: url.into(),
            ca_file: None,
            retries: 4,
            timeout: Duration::from_secs(30),
            backoff: Duration::from_secs(1),
            proxy: None,
            resolver: NssFreeResolver::default(),
        }
    }

    /// The endpoint reports are posted to.
    pub fn endpoint(&self) -> String {
        format!("{}/api/v1/reports", self.url.trim_end_matches('/'))
    }
}

/// What the server answered to an accepted upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOutcome {
    /// The server's id for the report (its content id).
    pub id: String,
    /// Where the person can see the report.
    pub url: String,
    /// True when the server already had these exact bytes (`200` instead of `201`).
    pub already_stored: bool,
    /// How many tries it took (1 when the first one succeeded).
    pub attempts: u32,
}

/// The exact bytes [`upload_report`] sends: the report as pretty JSON.
pub fn body(report: &Report) -> Result<Vec<u8>, UploadError> {
    let mut bytes = serde_json::to_vec_pretty(report)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Exactly the text that will be sent, for the "show and ask" step.
pub fn preview(report: &Report) -> String {
    match body(report) {
        // serde_json writes UTF-8; the fallback cannot happen but must not panic.
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => format!("(the report cannot be serialised: {e})"),
    }
}

/// Sends one report: POST `{url}/api/v1/reports` with the JSON body of [`preview`].
///
/// Refuses to send a report that does not validate or that looks like it holds personal
/// identifiers. Retries with exponential backoff on connection errors, timeouts and 5xx; a
/// 4xx is final. Expects `201` (stored) or `200` (already stored) with `{"id", "url"}`.
pub fn upload_report(report: &Report, opts: &UploadOptions) -> Result<UploadOutcome, UploadError> {
    report.validate()?;
    // The privacy check runs on the very bytes that are sent, serialised once.
    let bytes = body(report)?;
    let violations = hcl_data::privacy_violations_in_json(&bytes);
    if !violations.is_empty() {
        return Err(UploadError::Privacy(violations.join("; ")));
    }
    let agent = agent(opts)?;
    post_with_retries(&agent, &bytes, opts)
}

/// Builds the HTTP agent: rustls with the pinned CA or the web roots, the NSS-free resolver,
/// no redirects (a POST must not wander), statuses returned rather than raised.
fn agent(opts: &UploadOptions) -> Result<ureq::Agent, UploadError> {
    let url = opts.endpoint();
    let uri: ureq::http::Uri = url.parse().map_err(|e| UploadError::InvalidUrl {
        url: opts.url.clone(),
        reason: format!("{e}"),
    })?;
    match uri.scheme_str() {
        Some("https") | Some("http") => {}
        _ => {
            return Err(UploadError::InvalidUrl {
                url: opts.url.clone(),
                reason: "the URL must start with https:// (or http:// for a local test)".into(),
            });
        }
    }
    if uri.host().is_none() {
        return Err(UploadError::InvalidUrl {
            url: opts.url.clone(),
            reason: "no host name".into(),
        });
    }
    let roots = match &opts.ca_file {
        Some(path) => pinned_roots(path)?,
        None => RootCerts::WebPki,
    };
    let proxy = match &opts.proxy {
        Some(p) => Some(ureq::Proxy::new(p).map_err(|_| UploadError::InvalidProxy(p.clone()))?),
        None => None,
    };
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(opts.timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(proxy)
        .user_agent(concat!("hcl-probe/", env!("CARGO_PKG_VERSION")))
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build();
    Ok(ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        opts.resolver.clone(),
    ))
}

/// Reads the CA certificates of a PEM file: only these will be trusted.
fn pinned_roots(path: &Path) -> Result<RootCerts, UploadError> {
    let pem = fs::read(path).map_err(|e| UploadError::CaFileRead {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(UploadError::CaFileInvalid {
                    path: path.to_path_buf(),
                    reason: format!("not valid PEM: {e}"),
                });
            }
        }
    }
    if certs.is_empty() {
        return Err(UploadError::CaFileInvalid {
            path: path.to_path_buf(),
            reason: "no CERTIFICATE block in it".into(),
        });
    }
    Ok(RootCerts::Specific(Arc::new(certs)))
}

/// The answer body the aggregator sends for 200 and 201.
#[derive(Deserialize)]
struct Accepted {
    id: String,
    url: String,
}

/// One try's result, before the retry decision.
enum Try {
    Done(UploadOutcome),
    /// Worth another try: connection trouble, timeout or 5xx.
    Retry(UploadError),
    Fail(UploadError),
}

fn post_with_retries(
    agent: &ureq::Agent,
    bytes: &[u8],
    opts: &UploadOptions,
) -> Result<UploadOutcome, UploadError> {
    let url = opts.endpoint();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match post_once(agent, &url, bytes, attempt) {
            Try::Done(outcome) => return Ok(outcome),
            Try::Fail(e) => return Err(e),
            Try::Retry(e) => {
                if attempt > opts.retries {
                    return Err(e);
                }
                std::thread::sleep(backoff(opts.backoff, attempt));
            }
        }
    }
}

/// Wait after try number `attempt` (1-based): base, 2×base, 4×base, ... at most a minute.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.checked_mul(factor)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF)
}

fn post_once(agent: &ureq::Agent, url: &str, bytes: &[u8], attempt: u32) -> Try {
    let response = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .send(bytes);
    let mut response = match response {
        Ok(r) => r,
        Err(e) => return classify_transport_error(url, attempt, e),
    };
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_string();
    let text = match text {
        Ok(t) => t,
        Err(e) if status >= 500 => String::from("(unreadable body: ") + &e.to_string() + ")",
        Err(e) => {
            return Try::Retry(UploadError::Unreachable {
                url: url.to_string(),
                attempts: attempt,
                reason: format!("reading the answer failed: {e}"),
            });
        }
    };
    match status {
        200 | 201 => match serde_json::from_str::<Accepted>(&text) {
            Ok(a) => Try::Done(UploadOutcome {
                id: a.id,
                url: a.url,
                already_stored: status == 200,
                attempts: attempt,
            }),
            Err(e) => Try::Fail(UploadError::BadResponse {
                url: url.to_string(),
                status,
                reason: format!("expected JSON {{\"id\", \"url\"}}: {e}"),
            }),
        },
        500..=599 => Try::Retry(UploadError::ServerError {
            url: url.to_string(),
            status,
            attempts: attempt,
            body: quote(&text),
        }),
        400..=499 => Try::Fail(UploadError::Rejected {
            url: url.to_string(),
            status,
            body: quote(&text),
        }),
        _ => Try::Fail(UploadError::BadResponse {
            url: url.to_string(),
            status,
            reason: format!("expected 201 or 200: {}", quote(&text)),
        }),
    }
}

fn classify_transport_error(url: &str, attempt: u32, e: ureq::Error) -> Try {
    match e {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
            Try::Fail(UploadError::Tls {
                url: url.to_string(),
                reason: e.to_string(),
            })
        }
        // rustls reports a refused certificate as an I/O error wrapping a rustls::Error.
        ureq::Error::Io(ref io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>()) =>
        {
            Try::Fail(UploadError::Tls {
                url: url.to_string(),
                reason: e.to_string(),
            })
        }
        ureq::Error::BadUri(reason) => Try::Fail(UploadError::InvalidUrl {
            url: url.to_string(),
            reason,
        }),
        ureq::Error::InvalidProxyUrl => Try::Fail(UploadError::InvalidProxy(url.to_string())),
        ureq::Error::HostNotFound => Try::Retry(UploadError::Unreachable {
            url: url.to_string(),
            attempts: attempt,
            reason: "host name not found (checked /etc/hosts and the DNS servers of \
                     /etc/resolv.conf)"
                .into(),
        }),
        other => Try::Retry(UploadError::Unreachable {
            url: url.to_string(),
            attempts: attempt,
            reason: other.to_string(),
        }),
    }
}

/// A server message cut to a readable length, on one line.
fn quote(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_QUOTED_BODY)
        .collect();
    let trimmed = one_line.trim();
    if trimmed.is_empty() {
        "(empty body)".into()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Duration::from_millis(100);
        assert_eq!(backoff(b, 1), Duration::from_millis(100));
        assert_eq!(backoff(b, 2), Duration::from_millis(200));
        assert_eq!(backoff(b, 4), Duration::from_millis(800));
        assert_eq!(backoff(b, 40), MAX_BACKOFF);
        assert_eq!(backoff(Duration::from_secs(1), u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn quote_is_one_line_and_short() {
        let q = quote(&format!("bad\nthing{}", "x".repeat(1000)));
        assert!(!q.contains('\n'));
        assert_eq!(q.chars().count(), MAX_QUOTED_BODY);
        assert_eq!(quote("  \n"), "(empty body)");
    }
}
