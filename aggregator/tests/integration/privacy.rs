//! Privacy at the real upload router: identifiers of every kind and spelling planted at random
//! places of a report (the generator hcl-data's property test uses) get 422, in JSON and in
//! YAML, and nothing is stored; the same report without them gets 201.

#[path = "../../../hcl-data/tests/integration/planted.rs"]
mod planted;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Value, json};

use crate::common::{http, sample_json, start_server, test_config};

/// The sample report with the maps an identifier hides in as a key: kernels, a device's
/// coverage, the HCL statuses.
fn base() -> Value {
    let mut v: Value = serde_json::from_slice(&sample_json(7)).unwrap();
    let coverage = json!({"modules": ["i915"], "verdict": "supported", "reason": "i915 matches"});
    v["devices"][0]["coverage"] = json!({ "debian-13": coverage });
    v["kernels"] = json!({"debian-13": {"dom0_total": 2, "dom0_covered": 2,
        "assignable_total": 1, "assignable_covered": 1, "dom0_ok": true}});
    v["system"]["hcl_text"] = json!({"statuses": {"iommu": {"status": "partial"}}});
    v
}

#[test]
fn planted_identifiers_get_422_at_the_router() {
    let server = start_server(test_config());
    let base = base();
    let post = |content_type: &str, body: &[u8]| {
        http(
            server.addr,
            "POST",
            "/api/v1/reports",
            &[("Content-Type", content_type)],
            body,
        )
        .expect("upload")
    };
    let mut runner = TestRunner::new(RunnerConfig::with_cases(64));
    let cases = (planted::identifier(), planted::spot(), any::<bool>());
    let result = runner.run(&cases, |(id, spot, yaml)| {
        let (v, where_) = planted::plant(&base, &id, &spot);
        let (ct, body) = if yaml {
            (
                "application/yaml",
                serde_saphyr::to_string(&v).unwrap().into_bytes(),
            )
        } else {
            ("application/json", serde_json::to_vec(&v).unwrap())
        };
        let r = post(ct, &body);
        prop_assert_eq!(
            r.status,
            422,
            "{:?} {} ({}): {}",
            id.text,
            where_,
            ct,
            r.text()
        );
        prop_assert!(
            r.text().contains("personal identifiers"),
            "{:?} {}: refused for another reason: {}",
            id.text,
            where_,
            r.text()
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The same report without an identifier is stored, as JSON and as YAML.
    let r = post("application/json", &serde_json::to_vec(&base).unwrap());
    assert_eq!(r.status, 201, "{}", r.text());
    let mut other = base.clone();
    other["report_id"] = json!("0123456789abcdef0123456789abcdef");
    let r = post(
        "application/yaml",
        serde_saphyr::to_string(&other).unwrap().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}
