//! The upload path: the server's own check of an upload body
//! ([`hcl_aggregator::api::validate::check`]: gzip decoding under the size limit, JSON or YAML,
//! the privacy check on the raw document, the schema), with hcl-data's readers and the probe's
//! writers as the other side of each invariant.

use hcl_aggregator::AppError;
use hcl_aggregator::api::validate::{self, Format};
use hcl_data::{CanonicalReport, Report};
use hcl_probe::output::{self, TableOptions};

/// The server's default body limit (`--max-body-bytes`).
fn default_limit() -> usize {
    hcl_aggregator::Config::default().max_body_bytes
}

/// `upload_json`: the body of `POST /api/v1/reports` with `Content-Type: application/json`.
pub fn json(data: &[u8]) {
    let outcome = validate::check(data, None, Format::Json, default_limit());
    never_internal(&outcome);
    // hcl-data's reader, which the probe and the tools use, agrees with the server.
    let direct = Report::from_json(data);
    agree(&outcome, &direct, || {
        hcl_data::privacy_violations_in_json(data).is_empty()
    });
    if let Ok(canonical) = &outcome {
        accepted(canonical);
    }
    streaming_scan_finds_what_the_walk_finds(data);
}

/// `upload_yaml`: the same with `Content-Type: application/yaml`.
pub fn yaml(data: &[u8]) {
    let outcome = validate::check(data, None, Format::Yaml, default_limit());
    never_internal(&outcome);
    if let Ok(text) = std::str::from_utf8(data) {
        let direct = Report::from_yaml(text);
        agree(&outcome, &direct, || {
            hcl_data::yaml_value(data)
                .map(|v| hcl_data::privacy_scan_value(&v, 1).is_empty())
                .unwrap_or(true)
        });
    }
    if let Ok(canonical) = &outcome {
        accepted(canonical);
    }
}

/// `upload_gzip`: `Content-Encoding: gzip` bodies. The first byte picks the limit, the
/// encoding's spelling and the format; the rest is the body as sent. Then the rest, taken as
/// the plain document, is gzipped here and sent again: gzip must change nothing but the size
/// limit.
pub fn gzip(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let limit = match sel & 3 {
        0 => default_limit(),
        1 => 4096,
        2 => 100,
        _ => 0,
    };
    let encoding = ["gzip", "x-gzip", " GZip ", "identity"][usize::from(sel >> 2 & 3)];
    let format = if sel & 16 == 0 {
        Format::Json
    } else {
        Format::Yaml
    };

    // The body as sent: decoding holds the limit, and check() fails where decoding does.
    let decoded = validate::decode(body, Some(encoding), limit);
    let outcome = validate::check(body, Some(encoding), format, limit);
    never_internal(&outcome);
    match &decoded {
        Ok(bytes) => {
            if encoding != "identity" {
                assert!(
                    bytes.len() <= limit,
                    "decoded {} > limit {limit}",
                    bytes.len()
                );
            }
        }
        Err(e) => {
            let refused = outcome
                .as_ref()
                .expect_err("check accepted what decode refused");
            assert_eq!(refused.status(), e.status());
        }
    }
    if let Ok(canonical) = &outcome {
        accepted(canonical);
    }

    // The body as the document, gzipped here: the same answer as sent plain, within the limit.
    if body.len() <= limit {
        let gz = gzip_bytes(body);
        let plain = validate::check(body, None, format, limit);
        let zipped = validate::check(&gz, Some("gzip"), format, limit);
        match (&plain, &zipped) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.status(), b.status(), "{a} / {b}"),
            _ => panic!("gzip changed the answer: plain {plain:?}, gzip {zipped:?}"),
        }
    }
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip to memory");
    e.finish().expect("gzip to memory")
}

/// A refusal is the client's fault (4xx), never a 500.
fn never_internal(outcome: &Result<CanonicalReport, AppError>) {
    if let Err(e) = outcome {
        assert!(
            e.status().is_client_error(),
            "upload check answered {}: {e}",
            e.status()
        );
    }
}

/// The server and hcl-data's reader agree: what the server stores is what the reader reads,
/// and the server refuses what the reader accepts only for a privacy finding (422, when
/// `clean()` says the raw document has one) or for size (413).
fn agree(
    server: &Result<CanonicalReport, AppError>,
    reader: &Result<Report, hcl_data::Error>,
    clean: impl FnOnce() -> bool,
) {
    match (server, reader) {
        (Ok(c), Ok(r)) => assert_eq!(&r.canonical().expect("canonical"), c),
        (Ok(_), Err(e)) => panic!("server accepted what hcl-data refuses: {e}"),
        (Err(e), Ok(_)) => match e {
            AppError::PayloadTooLarge(_) => {}
            AppError::Unprocessable(_) => {
                assert!(!clean(), "refused with 422 but no privacy finding: {e}");
            }
            other => panic!("server refused a report hcl-data reads: {other}"),
        },
        (Err(_), Err(_)) => {}
    }
}

/// What every accepted upload must hold.
fn accepted(c: &CanonicalReport) {
    let limit = default_limit();
    // The stored form carries no identifier, and uploading it again is the same report.
    assert!(
        hcl_data::privacy_violations_in_json(c.json.as_bytes()).is_empty(),
        "stored report has privacy findings: {}",
        c.json
    );
    let again = validate::check(c.json.as_bytes(), None, Format::Json, limit)
        .unwrap_or_else(|e| panic!("stored form refused when uploaded again: {e}\n{}", c.json));
    assert_eq!(&again, c, "stored form is not a fixed point");
    let report = Report::from_json(c.json.as_bytes()).expect("stored form reads back");
    assert!(report.privacy_violations().is_empty());

    // The probe's own writers: its JSON and YAML files upload as the same report.
    for format in [output::Format::Json, output::Format::Yaml] {
        let text = output::render(&report, format, TableOptions::default())
            .unwrap_or_else(|e| panic!("probe cannot write an accepted report as {format:?}: {e}"));
        let upload_as = match format {
            output::Format::Yaml => Format::Yaml,
            _ => Format::Json,
        };
        let back = validate::check(text.as_bytes(), None, upload_as, limit)
            .unwrap_or_else(|e| panic!("probe's {format:?} refused: {e}\n{text}"));
        assert_eq!(
            back.id, c.id,
            "probe's {format:?} is another report:\n{text}"
        );
    }

    // The table a person reads in a terminal: no control character but line ends.
    let table =
        output::render(&report, output::Format::Table, TableOptions::default()).expect("table");
    if let Some(bad) = table.chars().find(|&ch| ch.is_control() && ch != '\n') {
        panic!("control character {bad:?} in the probe's table output:\n{table}");
    }
}

/// The streaming scan (the upload path) finds at least what the value-tree walk finds (YAML
/// uploads and `Report::privacy_violations`): duplicate keys, which the tree keeps once, are
/// the only way for it to find more.
fn streaming_scan_finds_what_the_walk_finds(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let mut streamed = hcl_data::privacy_scan_json(text, usize::MAX)
        .expect("JSON that serde_json reads")
        .shown;
    for found in hcl_data::privacy_violations_in_value(&value) {
        let at = streamed
            .iter()
            .position(|s| *s == found)
            .unwrap_or_else(|| panic!("tree walk finds {found:?}, the upload's scan does not"));
        streamed.swap_remove(at);
    }
}
