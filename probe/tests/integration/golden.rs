//! Golden tests: each captured tree scans to the committed description of its devices and
//! facts. `HCL_UPDATE_GOLDEN=1 cargo test -p hcl-probe --test integration golden` rewrites them.
//!
//! The golden file holds what the probe itself finds (facts, devices, names, roles, bound
//! drivers) and each device's verdict per kernel; the engine's reasons and module lists are
//! checked against kmod in `kmod_oracle`.

use serde_json::{Value, json};

use crate::common::{fixtures, normalized, repo_root, scan_tree};

fn golden_view(report: &hcl_data::Report) -> Value {
    let r = normalized(report);
    let devices: Vec<Value> = r
        .devices
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).unwrap();
            let verdicts: serde_json::Map<String, Value> = d
                .coverage
                .iter()
                .map(|(k, c)| (k.clone(), serde_json::to_value(c.verdict).unwrap()))
                .collect();
            if let Some(obj) = v.as_object_mut() {
                obj.remove("coverage");
                obj.insert("verdicts".into(), Value::Object(verdicts));
            }
            v
        })
        .collect();
    json!({ "system": r.system, "devices": devices, "kernels": r.kernels })
}

#[test]
fn captured_trees_match_golden_files() {
    let update = std::env::var_os("HCL_UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for dir in fixtures() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let scan = scan_tree(&dir);
        let got = serde_json::to_string_pretty(&golden_view(&scan.report)).unwrap() + "\n";
        let path = repo_root().join(format!("probe/tests/golden/{name}.json"));
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run with HCL_UPDATE_GOLDEN=1 to create it",
                path.display()
            )
        });
        if want != got {
            let diff_at = want
                .lines()
                .zip(got.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            failures.push(format!(
                "{name}: differs from {} at line {}: want {:?}, got {:?}",
                path.display(),
                diff_at + 1,
                want.lines().nth(diff_at),
                got.lines().nth(diff_at)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_device_has_coverage_for_every_kernel() {
    let ids: Vec<String> = crate::common::catalog()
        .profiles()
        .iter()
        .map(|p| p.meta.id.clone())
        .collect();
    for dir in fixtures() {
        let scan = scan_tree(&dir);
        assert!(!scan.report.devices.is_empty(), "{}", dir.display());
        for d in &scan.report.devices {
            let keys: Vec<&String> = d.coverage.keys().collect();
            let mut want: Vec<&String> = ids.iter().collect();
            want.sort();
            assert_eq!(keys, want, "{} {}", dir.display(), d.modalias);
        }
        let kernels: Vec<&String> = scan.report.kernels.keys().collect();
        let mut want: Vec<&String> = ids.iter().collect();
        want.sort();
        assert_eq!(kernels, want);
        scan.report.validate().expect("a scan is a valid report");
        assert!(scan.report.privacy_violations().is_empty());
    }
}

/// The CLI decodes only the aliases the machine's devices can match (an alias filter): the
/// report must be the one the full profiles give, reasons and module lists included.
#[test]
fn filtered_profiles_give_the_full_report() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::catalog().write_dir(dir.path()).unwrap();
    for fixture in fixtures() {
        let full = serde_json::to_value(normalized(&scan_tree(&fixture).report)).unwrap();
        let root = hcl_probe::root::Root::new(&fixture);
        for pending in [
            hcl_kernel_engine::Catalog::start_embedded(),
            hcl_kernel_engine::Catalog::start_dir(dir.path()).unwrap(),
        ] {
            let (scan, catalog) = hcl_probe::scan::scan_pending(&root, pending).unwrap();
            assert!(catalog.profiles().iter().all(|p| p.is_filtered()));
            let got = serde_json::to_value(normalized(&scan.report)).unwrap();
            assert!(
                got == full,
                "{}: filtered report differs",
                fixture.display()
            );
        }
    }
}

/// A damaged profile file is an error naming it, not a panic.
#[test]
fn damaged_profile_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.profile.zst"), b"not zstd").unwrap();
    let root = hcl_probe::root::Root::new(&fixtures()[0]);
    let pending = hcl_kernel_engine::Catalog::start_dir(dir.path()).unwrap();
    let err = hcl_probe::scan::scan_pending(&root, pending).unwrap_err();
    assert!(err.to_string().contains("x.profile.zst"), "{err}");
}

/// The golden files were written through the schema's types: they read back through them to
/// the same JSON (the closed sets and days serialise as the strings they replaced).
#[test]
fn golden_files_read_back_through_the_schema() {
    for dir in fixtures() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let path = repo_root().join(format!("probe/tests/golden/{name}.json"));
        let golden: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let system: hcl_data::System = serde_json::from_value(golden["system"].clone()).unwrap();
        assert_eq!(
            serde_json::to_value(&system).unwrap(),
            golden["system"],
            "{name}"
        );
        let kernels: std::collections::BTreeMap<String, hcl_data::KernelSummary> =
            serde_json::from_value(golden["kernels"].clone()).unwrap();
        assert_eq!(
            serde_json::to_value(&kernels).unwrap(),
            golden["kernels"],
            "{name}"
        );
        for d in golden["devices"].as_array().unwrap() {
            let mut want = d.clone();
            want.as_object_mut().unwrap().remove("verdicts");
            let device: hcl_data::Device = serde_json::from_value(want.clone()).unwrap();
            let mut got = serde_json::to_value(&device).unwrap();
            got.as_object_mut().unwrap().remove("coverage");
            assert_eq!(got, want, "{name}");
        }
    }
}
