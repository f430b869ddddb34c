//! One per-kernel machine rule: the probe's summary (its table and JSON) and the aggregator's
//! (every page, CSV and kernel report) of the same machine are the same, on the captured
//! fixture trees and on the probe's golden files.

use hcl_aggregator::analysis::{CoverageCache, Hcl};
use hcl_aggregator::store::StoredReport;
use hcl_aggregator::web::pages::{self, Frame};
use hcl_data::{KernelSummary, Report};
use hcl_e2e::{fixture_roots, workspace_root};
use hcl_kernels::Catalog;

/// The aggregator's view of one report: its summary per catalog kernel, as the report page
/// and the machines CSV show it.
fn server_summaries(report: &Report, catalog: &std::sync::Arc<Catalog>) -> Vec<KernelSummary> {
    let stored = StoredReport {
        id: "r".into(),
        received_at: "2026-01-01T00:00:00.000Z".into(),
        hidden: false,
        report: report.clone(),
    };
    let hcl = Hcl::build(vec![stored], &CoverageCache::new(catalog.clone()));
    let view = &hcl.reports[0];
    let page = pages::report(&hcl, "r", Frame::default()).expect("report page");
    let csv = hcl_aggregator::analysis::csv::machines(&hcl);
    let csv_row: Vec<&str> = csv
        .lines()
        .nth(1)
        .expect("one machine")
        .split(',')
        .collect();
    for (k, summary) in view.status.iter().enumerate() {
        assert_eq!(page.states[k].state, summary.state(), "report page");
        assert_eq!(page.states[k].dom0_total, summary.dom0_total, "report page");
        // brand, model, type, reports, latest, url, then dom0_ok per kernel.
        assert_eq!(csv_row[6 + k], summary.state().dom0_works().as_str(), "CSV");
    }
    view.status.clone()
}

fn assert_same(name: &str, probe: &Report, server: &[KernelSummary], catalog: &Catalog) {
    assert_eq!(server.len(), catalog.profiles().len());
    for (p, s) in catalog.profiles().iter().zip(server) {
        let id = &p.meta.id;
        assert_eq!(probe.kernels.get(id), Some(s), "{name}: {id}");
    }
}

#[test]
fn probe_and_aggregator_summarise_fixture_machines_alike() {
    let roots = fixture_roots();
    assert!(!roots.is_empty(), "no fixture trees");
    let catalog = std::sync::Arc::new(Catalog::embedded().expect("catalog"));
    for root in &roots {
        let scan = hcl_probe::scan::scan(&hcl_probe::root::Root::new(root), &catalog)
            .unwrap_or_else(|e| panic!("scan {}: {e}", root.display()));
        let server = server_summaries(&scan.report, &catalog);
        assert_same(&root.display().to_string(), &scan.report, &server, &catalog);
    }
}

#[test]
fn probe_golden_summaries_are_the_aggregators() {
    let catalog = std::sync::Arc::new(Catalog::embedded().expect("catalog"));
    let dir = workspace_root().join("probe/tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden files")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let golden: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        // A golden file is a report without its per-run fields and coverage (the server
        // recomputes coverage anyway).
        let report = Report::from_value(serde_json::json!({
            "schema_version": 1,
            "report_id": "golden",
            "generated_on": "2000-01-01",
            "generator": "hcl-probe",
            "system": golden["system"],
            "devices": golden["devices"],
            "kernels": golden["kernels"],
        }))
        .expect("golden file reads as a report");
        let server = server_summaries(&report, &catalog);
        assert_same(&path.display().to_string(), &report, &server, &catalog);
    }
}
