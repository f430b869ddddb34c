//! Turning an upload body into a validated report: decoding, parsing, schema and privacy checks.
//!
//! Each failure maps to the status a client can act on: 400 the bytes are not JSON/YAML, 413 too
//! large (also after decompression), 415 wrong content type or encoding, 422 well-formed but not
//! a valid report.

use std::io::Read;

use hcl_data::Report;

#[allow(unused_imports)]
use crate::compat::ReportExt as _;
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
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => {
            Ok(Format::Yaml)
        }
        other => Err(AppError::UnsupportedMediaType(format!(
            "unsupported Content-Type {other:?}: send application/json or application/yaml"
        ))),
    }
}

/// Undo `Content-Encoding`, holding the size limit on the decoded bytes (a gzip bomb stops at
/// `limit` + 1 bytes of output).
pub fn decode(body: Vec<u8>, encoding: Option<&str>, limit: usize) -> Result<Vec<u8>, AppError> {
    let enc = encoding.unwrap_or("identity").trim().to_ascii_lowercase();
    match enc.as_str() {
        "" | "identity" => Ok(body),
        "gzip" | "x-gzip" => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
            let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            flate2::read::MultiGzDecoder::new(body.as_slice())
                .take(cap)
                .read_to_end(&mut out)
                .map_err(|e| AppError::BadRequest(format!("gzip body is corrupt: {e}")))?;
            if out.len() > limit {
                return Err(too_large(limit, "after decompression"));
            }
            Ok(out)
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

/// Parse and check a decoded body.
pub fn parse(bytes: &[u8], format: Format) -> Result<Report, AppError> {
    let report: Report = match format {
        Format::Json => serde_json::from_slice(bytes).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => AppError::Unprocessable(format!("report does not fit the schema: {e}")),
                Category::Syntax | Category::Eof | Category::Io => {
                    AppError::BadRequest(format!("body is not valid JSON: {e}"))
                }
            }
        })?,
        Format::Yaml => {
            // Two steps so that a syntax error (400) is told apart from a schema error (422).
            let value: serde_json::Value = serde_saphyr::from_slice(bytes)
                .map_err(|e| AppError::BadRequest(format!("body is not valid YAML: {e}")))?;
            serde_json::from_value(value).map_err(|e| {
                AppError::Unprocessable(format!("report does not fit the schema: {e}"))
            })?
        }
    };
    check(&report)?;
    Ok(report)
}

/// Schema rules and privacy rules beyond what serde checks.
pub fn check(report: &Report) -> Result<(), AppError> {
    report
        .validate()
        .map_err(|e| AppError::Unprocessable(format!("invalid report: {e}")))?;
    let leaks = report.privacy_violations();
    if !leaks.is_empty() {
        let list: Vec<String> = leaks.iter().map(|v| v.to_string()).collect();
        return Err(AppError::Unprocessable(format!(
            "report carries personal identifiers, refused: {}",
            list.join("; ")
        )));
    }
    Ok(())
}

/// The content id the report is stored under.
pub fn content_id(report: &Report) -> String {
    report.content_id()
}
