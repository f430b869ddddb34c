//! Turning an upload body into a validated report: decoding, parsing, schema and privacy checks.
//!
//! Each failure maps to the status a client can act on: 400 the bytes are not JSON/YAML, 413 too
//! large (also after decompression), 415 wrong content type or encoding, 422 well-formed but not
//! a valid report.

use std::borrow::Cow;
use std::io::Read;

use hcl_data::{CanonicalReport, Report};

use crate::error::AppError;

/// The body formats the upload API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

/// The format from a Content-Type header value.
pub fn format_of(content_type: Option<&str>) -> Result<Format, AppError> {
    let Some(ct) = content_type else {
        return Err(AppError::UnsupportedMediaType(
            "missing Content-Type: send application/json or application/yaml".into(),
        ));
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(Format::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => Ok(Format::Yaml),
        other => Err(AppError::UnsupportedMediaType(format!(
            "unsupported Content-Type {other:?}: send application/json or application/yaml"
        ))),
    }
}

/// Undo `Content-Encoding`, holding the size limit on the decoded bytes (a gzip bomb stops at
/// `limit` + 1 bytes of output).
pub fn decode<'a>(
    body: &'a [u8],
    encoding: Option<&str>,
    limit: usize,
) -> Result<Cow<'a, [u8]>, AppError> {
    let enc = encoding.unwrap_or("identity").trim().to_ascii_lowercase();
    match enc.as_str() {
        "" | "identity" => Ok(Cow::Borrowed(body)),
        "gzip" | "x-gzip" => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
            let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            flate2::read::MultiGzDecoder::new(body)
                .take(cap)
                .read_to_end(&mut out)
                .map_err(|e| AppError::BadRequest(format!("gzip body is corrupt: {e}")))?;
            if out.len() > limit {
                return Err(too_large(limit, "after decompression"));
            }
            Ok(Cow::Owned(out))
        }
        other => Err(AppError::UnsupportedMediaType(format!(
            "unsupported Content-Encoding {other:?}: send gzip or none"
        ))),
    }
}

pub fn too_large(limit: usize, when: &str) -> AppError {
    AppError::PayloadTooLarge(format!(
        "report is larger than the limit of {limit} bytes {when}"
    ))
}

/// The whole check of one upload body: decode, parse, check, and the canonical form that is
/// stored. CPU work (about a millisecond for a big report): run it off the async threads.
pub fn check(
    body: &[u8],
    encoding: Option<&str>,
    format: Format,
    limit: usize,
) -> Result<CanonicalReport, AppError> {
    let bytes = decode(body, encoding, limit)?;
    let report = parse(&bytes, format)?;
    let canonical = report
        .canonical()
        .map_err(|e| AppError::Internal(format!("cannot serialise the report: {e}")))?;
    // The stored form spells out every default field, so a small upload of empty devices can
    // grow several times; the store reads back no more than an upload may be.
    if canonical.json.len() > hcl_data::MAX_INPUT_BYTES {
        return Err(AppError::PayloadTooLarge(format!(
            "report is {} bytes once written out in full, more than the {} allowed",
            canonical.json.len(),
            hcl_data::MAX_INPUT_BYTES
        )));
    }
    Ok(canonical)
}

/// Privacy findings spelt out in a refusal; the rest are counted.
pub const FINDINGS_SHOWN: usize = 10;

/// Parse and check a decoded body. The privacy check runs on the raw document, before fields
/// unknown to the schema (a `serial` someone added) are dropped by parsing. JSON, the probe's
/// format, takes the fast path: one streaming privacy pass over the bytes, then straight into
/// the types; no value tree.
pub fn parse(bytes: &[u8], format: Format) -> Result<Report, AppError> {
    match format {
        Format::Json => {
            // UTF-8 is checked once here, not again for every string by both passes.
            let text = std::str::from_utf8(bytes).map_err(|e| {
                AppError::BadRequest(format!("body is not valid JSON: not UTF-8: {e}"))
            })?;
            let leaks = hcl_data::privacy_scan_json(text, FINDINGS_SHOWN).map_err(json_error)?;
            refuse_leaks(&leaks)?;
            Report::from_json_str(text).map_err(report_error)
        }
        Format::Yaml => {
            let value = hcl_data::yaml_value(bytes).map_err(report_error)?;
            refuse_leaks(&hcl_data::privacy_scan_value(&value, FINDINGS_SHOWN))?;
            Report::from_value(value).map_err(report_error)
        }
    }
}

fn json_error(e: serde_json::Error) -> AppError {
    use serde_json::error::Category;
    match e.classify() {
        // Valid JSON syntax that serde_json still refuses (e.g. numbers out of range).
        Category::Data => AppError::Unprocessable(format!("report is not usable: {e}")),
        Category::Syntax | Category::Eof | Category::Io => {
            AppError::BadRequest(format!("body is not valid JSON: {e}"))
        }
    }
}

fn refuse_leaks(leaks: &hcl_data::Findings) -> Result<(), AppError> {
    if leaks.is_empty() {
        return Ok(());
    }
    // The first few are enough to fix the report; a hostile one could list millions.
    let more = leaks.total.saturating_sub(leaks.shown.len());
    let shown: Vec<&str> = leaks.shown.iter().map(String::as_str).collect();
    let tail = if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    };
    Err(AppError::Unprocessable(format!(
        "report carries personal identifiers, refused: {}{tail}",
        shown.join("; ")
    )))
}

fn report_error(e: hcl_data::Error) -> AppError {
    match e {
        hcl_data::Error::TooLarge { .. } => AppError::PayloadTooLarge(e.to_string()),
        hcl_data::Error::Syntax { .. } => AppError::BadRequest(e.to_string()),
        other => AppError::Unprocessable(format!("invalid report: {other}")),
    }
}
