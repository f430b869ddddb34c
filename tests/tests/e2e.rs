//! End to end: captured machines scanned by the probe, uploaded by the probe's own client to an
//! aggregator on a loopback port, read back as pages, JSON and the kernel choice report; then
//! the real Qubes HCL imported and the kernel choice report checked over it.

use hcl_data::{Role, Verdict};
use hcl_e2e::{Aggregator, data_dir, fixture_roots};

/// Every folder of data/ that holds data says where it came from (SOURCE.txt, its own or one
/// of a folder above it: `kernel-source/SOURCE.txt` names every file of the source trees below
/// it), and nothing outside the repository is needed: the data the tests read is all there.
#[test]
fn reference_data_is_in_the_repository_with_its_provenance() {
    fn walk(dir: &std::path::Path, covered: bool, without: &mut Vec<String>, files: &mut usize) {
        let entries: Vec<_> = std::fs::read_dir(dir)
            .expect("data/ is readable")
            .flatten()
            .collect();
        let has_source = covered || entries.iter().any(|e| e.file_name() == "SOURCE.txt");
        let mut has_data = false;
        for e in &entries {
            let p = e.path();
            if p.is_dir() {
                walk(&p, has_source, without, files);
            } else if e.file_name() != "SOURCE.txt" && e.file_name() != "README.md" {
                has_data = true;
                *files += 1;
            }
        }
        if has_data && !has_source {
            without.push(dir.display().to_string());
        }
    }
    let (mut without, mut files) = (Vec::new(), 0);
    walk(&data_dir(), false, &mut without, &mut files);
    assert!(
        without.is_empty(),
        "data folders without SOURCE.txt: {without:?}"
    );
    assert!(files > 40, "only {files} data files under data/");
    assert!(data_dir().join("qubes-hcl/qubes-hcl.tar.zst").is_file());
}

#[test]
fn fixture_machines_scanned_uploaded_and_shown() {
    let roots = fixture_roots();
    assert!(
        !roots.is_empty(),
        "no captured trees under tests/fixtures/sysfs"
    );
    let agg = Aggregator::start().expect("aggregator");
    let catalog = hcl_kernels::Catalog::embedded().expect("catalog");
    let opts = hcl_probe::upload::UploadOptions {
        retries: 0,
        ..hcl_probe::upload::UploadOptions::new(agg.url())
    };
    let mut uploaded = Vec::new();
    for root in &roots {
        let scan = hcl_probe::scan::scan(&hcl_probe::root::Root::new(root), &catalog)
            .unwrap_or_else(|e| panic!("scan {}: {e}", root.display()));
        let report = scan.report;
        assert!(!report.devices.is_empty(), "{}: no devices", root.display());
        let out = hcl_probe::upload::upload_report(&report, &opts)
            .unwrap_or_else(|e| panic!("upload {}: {e}", root.display()));
        assert!(!out.already_stored);
        assert_eq!(out.url, format!("/reports/{}", out.id));
        // Uploading the same report again is idempotent.
        let again = hcl_probe::upload::upload_report(&report, &opts).expect("re-upload");
        assert!(again.already_stored && again.id == out.id);
        uploaded.push((root, report, out));
    }

    for (root, report, out) in &uploaded {
        let name = root.display();
        // The report page as JSON: the server's recomputed verdicts are the probe's.
        let page = agg
            .get(&format!("{}?format=json", out.url))
            .and_then(|r| r.json())
            .expect("report json");
        let devices = page["devices"].as_array().expect("devices");
        assert_eq!(devices.len(), report.devices.len(), "{name}");
        for (d, probe_dev) in devices.iter().zip(&report.devices) {
            assert_eq!(d["modalias"], probe_dev.modalias.as_str());
            for cell in d["coverage"].as_array().expect("coverage") {
                let kernel = cell["kernel"].as_str().expect("kernel");
                let probe_verdict = probe_dev
                    .coverage
                    .get(kernel)
                    .map(|c| serde_json::to_value(c.verdict).expect("verdict"));
                assert_eq!(
                    Some(&cell["verdict"]),
                    probe_verdict.as_ref(),
                    "{name}: {} on {kernel}",
                    probe_dev.modalias
                );
            }
        }
        // The machine page a person opens, in HTML, names the machine and links the report.
        let machine_url = page["machine_url"].as_str().expect("machine url");
        let html = agg.get(machine_url).expect("machine page");
        assert_eq!(html.status, 200, "{name}: {machine_url}");
        let brand = report.system.brand.as_deref().unwrap_or("unknown");
        assert!(
            html.body.contains(&escape(brand)),
            "{name}: brand {brand:?} not on the page"
        );
        assert!(html.body.contains(&out.url), "{name}: report not linked");
    }

    // The kernel choice report covers every uploaded machine, and its dom0 verdict per kernel
    // follows from the probe's own per-device verdicts: every dom0-critical device driven,
    // devices the profile has no data for left out (RHEL-derived data is PCI and USB only),
    // USB device rows left to their interfaces as the probe's summary does.
    let kr = agg
        .get("/api/v1/kernel-report?candidates=debian-12,debian-13,rhel-9.6,qubes-6.12")
        .and_then(|r| r.json())
        .expect("kernel report");
    assert_eq!(kr["machines_total"], uploaded.len());
    for share in kr["shares"].as_array().expect("shares") {
        let kernel = share["kernel"].as_str().expect("kernel");
        let verdicts = |r: &hcl_data::Report| -> Vec<Verdict> {
            r.devices
                .iter()
                .filter(|d| d.role == Role::Dom0)
                .filter(|d| d.counts())
                .map(|d| {
                    d.coverage
                        .get(kernel)
                        .map(|c| c.verdict)
                        .unwrap_or_default()
                })
                .collect()
        };
        let ok = uploaded
            .iter()
            .filter(|(_, r, _)| {
                let v = verdicts(r);
                v.iter().all(|v| v.is_driven() || *v == Verdict::Unknown)
                    && v.iter().any(|v| v.is_driven())
            })
            .count();
        assert_eq!(share["ok"], ok, "{kernel}: {share}");
        // Where no dom0 device lacks data, the probe's own summary agrees.
        for (_, r, _) in &uploaded {
            if !verdicts(r).contains(&Verdict::Unknown)
                && let Some(k) = r.kernels.get(kernel)
                && k.dom0_total > 0
            {
                let fails = share["fails"].as_u64().unwrap_or(0);
                assert!(
                    k.dom0_ok || fails > 0,
                    "{kernel}: probe says dom0 fails, server {share}"
                );
            }
        }
    }
    let md = agg
        .get("/kernel-report.md?candidates=debian-12,rhel-9.6")
        .expect("markdown");
    assert!(
        md.body
            .starts_with("# Kernel choice report: debian-12, rhel-9.6")
    );
}

#[test]
fn kernel_report_over_the_real_qubes_hcl() {
    let hcl = data_dir().join("qubes-hcl/qubes-hcl.tar.zst");
    let agg = Aggregator::start().expect("aggregator");
    let sum = agg
        .rt
        .block_on(hcl_aggregator::import::import_hcl(
            agg.state.store.as_ref(),
            &hcl,
        ))
        .expect("import");
    assert!(
        sum.created > 1_000,
        "{} imported, failures: {:?}",
        sum.created,
        sum.failures.first()
    );

    let kr = agg
        .get("/api/v1/kernel-report?candidates=debian-12,debian-13,rhel-9.6,rhel-10.0,qubes-6.12")
        .and_then(|r| r.json())
        .expect("kernel report");
    let total = kr["machines_total"].as_u64().expect("total");
    assert!(total > 1_000, "{total} machines");
    for s in kr["shares"].as_array().expect("shares") {
        let assessed = s["assessed"].as_u64().expect("assessed");
        let share = s["share"].as_f64().expect("share");
        // Most HCL machines name their GPU's PCI id; a GPU is nearly always driven in-tree
        // (i915, amdgpu, radeon, nouveau): a share far from that means broken matching.
        assert!(assessed > total / 2, "{s}");
        assert!(share > 0.9 && share <= 1.0, "{s}");
        assert_eq!(s["partial"], s["assessed"], "HCL ids are partial: {s}");
    }

    // A known machine of the HCL has its page; the Ivy Bridge GPU of the ThinkPad X230 and
    // its kin is on many machines and driven by i915 on Debian 12, judged on partial ids.
    let m = agg.get("/machines/asrock/970-pro3-r2-0").expect("machine");
    assert_eq!(m.status, 200);
    assert!(m.body.contains("970 Pro3 R2.0"));
    let gpu = agg
        .get("/api/v1/devices/8086:0166")
        .and_then(|r| r.json())
        .expect("HD Graphics 4000");
    let entry = &gpu["entries"][0]["device"];
    assert!(entry["machines"].as_u64().unwrap_or(0) > 20, "{entry}");
    let cells = entry["coverage"].as_array().expect("cells");
    let d12 = cells
        .iter()
        .find(|c| c["kernel"] == "debian-12")
        .expect("debian-12 cell");
    assert!(
        d12["drivers"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x == "i915")),
        "{d12}"
    );
    assert_eq!(d12["partial"], true);

    // The machine list comes a page at a time; the CSV export has every machine.
    let p1 = agg
        .get("/api/v1/machines")
        .and_then(|r| r.json())
        .expect("page 1");
    let models = p1["paging"]["total"].as_u64().expect("total");
    assert!(models > 500 && models <= total, "{models} machine models");
    assert_eq!(p1["machines"].as_array().map(Vec::len), Some(500));
    let p2 = agg
        .get("/api/v1/machines?page=2")
        .and_then(|r| r.json())
        .expect("page 2");
    assert_eq!(p2["paging"]["page"], 2);
    assert_ne!(p1["machines"][0], p2["machines"][0]);
    let csv = agg.get("/machines.csv").expect("csv");
    assert_eq!(csv.body.lines().count() as u64, models + 1);

    // Filters: laptops only, and the Qubes 4.2 reports, are non-empty proper subsets.
    for q in ["type=laptop", "qubes=4.2"] {
        let n = agg
            .get(&format!("/api/v1/kernel-report?{q}"))
            .and_then(|r| r.json())
            .expect("filtered")["machines_total"]
            .as_u64()
            .unwrap_or(0);
        assert!(n > 10 && n < total, "{q}: {n} of {total}");
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}
