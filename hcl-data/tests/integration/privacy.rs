//! Privacy on every key and every spelling: generated identifiers planted at random places of
//! real reports are refused, in JSON and in YAML; the reports themselves are not.

use hcl_data::{privacy_scan_json, privacy_scan_value, yaml_value};
use proptest::prelude::*;
use serde_json::Value;

use crate::planted::{identifier, plant, spot};

/// The sample laptop report, and the probe's golden files (what the probe reports for each
/// captured machine: devices, names, verdicts per kernel).
fn base_reports() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../probe/tests/golden");
    let mut out = vec![crate::common::sample_value()];
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no golden report in {}", dir.display());
    for p in names {
        let text = std::fs::read_to_string(&p).unwrap();
        out.push(serde_json::from_str(&text).unwrap());
    }
    out
}

/// The fixtures' reports are clean as JSON and as YAML: no false refusal. (The probe's
/// golden test also checks the full report of every captured tree.)
#[test]
fn fixture_reports_are_not_refused() {
    for v in base_reports() {
        let json = serde_json::to_string(&v).unwrap();
        let found = privacy_scan_json(&json, 10).unwrap();
        assert!(found.is_empty(), "{:?}", found.shown);
        let yaml = serde_saphyr::to_string(&v).unwrap();
        let found = privacy_scan_value(&yaml_value(yaml.as_bytes()).unwrap(), 10);
        assert!(found.is_empty(), "{:?}", found.shown);
        if v.get("schema_version").is_some() {
            let report = hcl_data::Report::from_value(v).unwrap();
            assert!(report.privacy_violations().is_empty());
        }
    }
}

/// The spellings the issue reported as stored with 201, one by one.
#[test]
fn regression_spellings_stored_before() {
    let base = crate::common::sample_value();
    let cases: Vec<(&str, Value)> = vec![
        ("UUID as a kernels key", {
            let mut v = base.clone();
            let k = v["kernels"]["debian-13"].clone();
            v["kernels"]["4c4c4544-0042-3510-8052-b4c04f4e3332"] = k;
            v
        }),
        ("MAC as a coverage key", {
            let mut v = base.clone();
            let c = v["devices"][0]["coverage"]["debian-13"].clone();
            v["devices"][0]["coverage"]["00:1b:21:3a:4f:5c"] = c;
            v
        }),
        ("MAC as a statuses key", {
            let mut v = base.clone();
            v["system"]["hcl_text"] =
                serde_json::json!({"statuses": {"00-1B-21-3A-4F-5C": {"status": "yes"}}});
            v
        }),
        ("Cisco MAC", with(&base, "model", "X1 001b.213a.4f5c")),
        ("MAC with U+2010", with(&base, "model", "00‐1b‐21‐3a‐4f‐5c")),
        (
            "fullwidth MAC",
            with(&base, "model", "00：1b：21：3a：4f：5c"),
        ),
        (
            "UUID without dashes",
            with(
                &base,
                "bios",
                "4c4c454400423510 8052b4c04f4e3332"
                    .replace(' ', "")
                    .as_str(),
            ),
        ),
        ("SN:", with(&base, "model", "SN: PF2ABCDE")),
        ("Serial#", with(&base, "model", "Serial#PF2ABCDE")),
        (
            "uname host",
            with(
                &base,
                "running_kernel",
                "Linux alice-laptop.home.lan 6.1.0-13-amd64 #1 SMP",
            ),
        ),
        (
            "e-mail",
            with(&base, "distro", "Debian (alice@example.org)"),
        ),
        (
            "EUI-64 IPv6",
            with(&base, "cpu", "fe80::21b:21ff:fe3a:4f5c"),
        ),
    ];
    for (what, v) in cases {
        let found = privacy_scan_json(&serde_json::to_string(&v).unwrap(), 10).unwrap();
        assert!(!found.is_empty(), "{what} not refused");
    }
    // A kernel release is not a host name.
    let ok = with(&base, "running_kernel", "6.6.48-1.qubes.fc37.x86_64");
    assert!(
        privacy_scan_json(&serde_json::to_string(&ok).unwrap(), 10)
            .unwrap()
            .is_empty()
    );
}

fn with(base: &Value, field: &str, text: &str) -> Value {
    let mut v = base.clone();
    v["system"][field] = Value::String(text.to_owned());
    v
}

/// 256 cases, or `$PROPTEST_CASES` for a longer hunt.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Any identifier, any spelling, any place, JSON or YAML: refused every time.
    #[test]
    fn planted_identifiers_are_always_refused(
        base in any::<prop::sample::Index>(),
        id in identifier(),
        at in spot(),
    ) {
        let reports = base_reports_cached();
        let report = base.get(reports);
        let (planted, where_) = plant(report, &id, &at);
        let json = serde_json::to_string(&planted).unwrap();
        let found = privacy_scan_json(&json, 10).unwrap();
        prop_assert!(!found.is_empty(), "JSON: {:?} {where_} not refused", id.text);
        let yaml = serde_saphyr::to_string(&planted).unwrap();
        let value = yaml_value(yaml.as_bytes()).unwrap();
        let found = privacy_scan_value(&value, 10);
        prop_assert!(!found.is_empty(), "YAML: {:?} {where_} not refused", id.text);
    }
}

/// [`base_reports`] with at most eight devices each: every shape is there, and YAML of a
/// whole golden report makes a case ten times slower.
fn base_reports_cached() -> &'static [Value] {
    static REPORTS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    REPORTS.get_or_init(|| {
        let mut all = base_reports();
        for r in &mut all {
            if let Some(Value::Array(d)) = r.get_mut("devices") {
                d.truncate(8);
            }
        }
        all
    })
}

/// Found from outside: the text check compared every identifier with all earlier ones in the
/// same string, and walked back from every `ff:fe` over all the hex before it, so one upload of
/// a string of repeated identifiers took minutes to hours of CPU (512 KB of MACs: 7 s; the
/// upload limit is 8 MiB). Both are linear now: these strings are checked at once (the test
/// would run for hours otherwise). One string reports at most 64 identifiers; it is refused
/// either way.
#[test]
fn regression_repeated_identifiers_in_one_string_take_quadratic_time() {
    for unit in [
        "00:1b:21:3a:4f:5c ",
        ":ff:fe00:1",
        "a@example.com ",
        "0:1b:21:3a:4f:5c ",
        "00.1b.21.3a.4f.5c ",
        "SN PF2ABCDE ",
        "Host: alice ",
        "uuid 4c4c454400423510 8052b4c04f4e3332 ",
        "alice@b\u{fc}cher.de ",
        "(alice@alice-laptop) ",
        "\u{200b}",
    ] {
        let s = unit.repeat((2 << 20) / unit.len());
        let json = serde_json::json!({ "system": { "zz": s } }).to_string();
        let f = hcl_data::privacy_scan_json(&json, 10).expect("json");
        if unit == "\u{200b}" {
            // Invisible characters alone are no identifier, but normalising them must be
            // linear too.
            assert_eq!(f.total, 0);
            continue;
        }
        assert!(f.total >= 1 && f.total <= 64, "{unit:?}: {}", f.total);
        assert_eq!(f.shown.len(), 10.min(f.total), "{unit:?}");
    }
}
