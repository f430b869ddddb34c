//! Rebuild benchmark: time and peak memory to turn 100,000 stored reports into the HCL snapshot
//! and the kernel choice report over all eight candidate kernels, and to render the pages.
//!
//!     cargo bench -p hcl-aggregator --bench rebuild
//!
//! Env: `HCL_BENCH_REPORTS` (default 100000). The Qubes HCL comes from the repository's
//! `data/qubes-hcl/qubes-hcl.tar.zst`.
//!
//! The synthetic reports are built from real device modaliases: the 1,195 Qubes HCL reports
//! (partial PCI ids) and, for a third of the reports, the same devices with concrete subsystem
//! ids and classes as a probe would see them, varied per report; brands, models, dates, machine
//! types and Qubes versions are spread so that the filters and the grouping do real work.
//! Comparison: the same rebuild with the per-modalias cache against recomputing the kernel
//! engine's answer for every device instance (measured on a slice, extrapolated), and the
//! server's warm case (cache already filled).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use hcl_aggregator::analysis::{self, CoverageCache, Filter, Hcl};
use hcl_aggregator::store::StoredReport;
use hcl_aggregator::web::pages::{self, Frame};
use hcl_data::Report;

fn hcl_archive() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/qubes-hcl/qubes-hcl.tar.zst")
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn load_hcl() -> Vec<Report> {
    let files = hcl_data::hcl_files::read(&hcl_archive()).unwrap_or_else(|e| panic!("{e}"));
    files
        .iter()
        .filter(|f| f.name.ends_with(".yml"))
        .filter_map(|f| {
            let text = String::from_utf8_lossy(f.bytes.as_ref().ok()?).into_owned();
            hcl_data::qubes_hcl::from_yaml(&text, &f.name).ok()
        })
        .collect()
}

/// Concrete subsystem ids and class for a partial PCI modalias, as a probe would report them.
fn concretize(modalias: &str, n: usize) -> Option<String> {
    let rest = modalias.strip_prefix("pci:v")?;
    let (vd, _) = rest.split_at_checked(17)?;
    let subsys = ["17AA", "1028", "103C", "1043"][n % 4];
    let sub = format!("{:04X}", 0x2200 + (n % 7));
    let class = if modalias.contains("bc03") {
        "bc03sc00i00"
    } else {
        "bc06sc00i00"
    };
    Some(format!("pci:v{vd}sv0000{subsys}sd0000{sub}{class}"))
}

fn synthetic(base: &[Report], count: usize) -> Vec<StoredReport> {
    let types = ["laptop", "desktop", "server", "motherboard", "workstation"];
    let qubes = ["R4.0", "R4.1", "R4.2", "R4.3"];
    (0..count)
        .map(|i| {
            let mut r = base[i % base.len()].clone();
            // A GPU from another machine now and then: more device combinations.
            if i % 3 == 1
                && let Some(other) = base.get((i * 7919) % base.len())
                && let Some(gpu) = other.devices.iter().find(|d| d.category == "gpu")
            {
                r.devices.push(gpu.clone());
            }
            if i % 3 == 2 {
                for (k, d) in r.devices.iter_mut().enumerate() {
                    if let Some(m) = concretize(&d.modalias, i / 3 + k) {
                        d.modalias = m;
                        d.partial = false;
                    }
                }
            }
            r.report_id = format!("synthetic-{i}");
            r.system.model = Some(format!(
                "{} v{}",
                r.system.model.as_deref().unwrap_or("model"),
                i % 40
            ));
            r.system.machine_type = Some(types[i % types.len()].into());
            r.generated_on = format!("20{:02}-{:02}-{:02}", 16 + i % 10, 1 + i % 12, 1 + i % 28)
                .as_str()
                .into();
            if let Some(q) = r.qubes.as_mut() {
                for v in &mut q.versions {
                    v.qubes = Some(qubes[i % qubes.len()].into());
                }
            }
            StoredReport {
                id: format!("{i:016x}"),
                received_at: "2026-11-26T07:00:00.000Z".into(),
                hidden: false,
                report: r,
            }
        })
        .collect()
}

fn main() {
    let count: usize = std::env::var("HCL_BENCH_REPORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let catalog = Arc::new(hcl_kernel_engine::Catalog::embedded().expect("embedded catalog"));
    let ids: Vec<String> = catalog
        .profiles()
        .iter()
        .map(|p| p.meta.id.clone())
        .collect();
    let base = load_hcl();
    assert!(
        base.len() > 1_000,
        "Qubes HCL not found in {}",
        hcl_archive().display()
    );
    let reports = synthetic(&base, count);
    drop(base);
    let instances: usize = reports.iter().map(|r| r.report.devices.len()).sum();
    let mut distinct: Vec<(&str, bool)> = reports
        .iter()
        .flat_map(|r| &r.report.devices)
        .map(|d| (d.modalias.as_str(), d.partial))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let distinct = distinct.len();
    println!(
        "{count} synthetic reports, {instances} device instances, {distinct} distinct modaliases, {} kernels",
        ids.len()
    );
    println!(
        "memory after generating the reports: {:.0} MiB RSS",
        rss_mib()
    );

    // Comparison: the kernel engine per device instance, without the cache (on a slice).
    let slice = 2_000.min(reports.len());
    let t = Instant::now();
    let mut driven = 0usize;
    for r in &reports[..slice] {
        for d in &r.report.devices {
            for p in catalog.profiles() {
                driven += usize::from(p.coverage(&d.modalias, d.partial).verdict.is_driven());
            }
        }
    }
    let per_report = t.elapsed().as_secs_f64() / slice as f64;
    println!(
        "uncached: {slice} reports in {:.2} s -> {:.1} s extrapolated to {count} ({driven} driven verdicts)",
        per_report * slice as f64,
        per_report * count as f64
    );

    // Cold rebuild: empty cache, as after a server start.
    println!("peak memory before the rebuild: {:.0} MiB", peak_mib());
    let cache = CoverageCache::new(catalog.clone());
    let t = Instant::now();
    cache.prefill(
        reports
            .iter()
            .flat_map(|r| &r.report.devices)
            .map(|d| (d.modalias.as_str(), d.partial)),
    );
    let prefill = t.elapsed().as_secs_f64();
    println!(
        "kernel engine for the {} distinct modaliases x {} kernels: {prefill:.2} s on {} threads",
        cache.len(),
        ids.len(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let t = Instant::now();
    let hcl = Hcl::build(reports.clone(), &cache);
    let build_cold = t.elapsed().as_secs_f64() + prefill;
    println!(
        "peak memory after the cold snapshot: {:.0} MiB (RSS now {:.0} MiB)",
        peak_mib(),
        rss_mib()
    );
    let t = Instant::now();
    let report = analysis::kernel_report(&hcl, &ids, None, &Filter::default()).expect("report");
    let report_s = t.elapsed().as_secs_f64();
    println!(
        "cold rebuild: snapshot {build_cold:.2} s ({} coverage entries) + kernel report {report_s:.2} s = {:.2} s; {} machines, {} device kinds, {} losses",
        cache.len(),
        build_cold + report_s,
        hcl.machines.len(),
        hcl.devices.len(),
        report.losses.len()
    );
    for s in &report.shares {
        println!(
            "  {:<20} {:>6} / {:<6} {}%",
            s.kernel,
            s.ok,
            s.assessed,
            s.percent()
        );
    }
    drop(hcl);

    // Warm rebuild: what a background snapshot build of a running server pays.
    let t = Instant::now();
    let hcl = Hcl::build(reports.clone(), &cache);
    let build_warm = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = analysis::kernel_report(&hcl, &ids, None, &Filter::default()).expect("report");
    let report_warm = t.elapsed().as_secs_f64();
    println!(
        "warm rebuild: snapshot {build_warm:.2} s + kernel report {report_warm:.2} s = {:.2} s",
        build_warm + report_warm
    );

    // Filtered report (laptops, Qubes 4.2): the filter runs before the snapshot.
    let f = Filter {
        machine_type: Some("laptop".into()),
        qubes: Some("4.2".into()),
        ..Default::default()
    };
    let t = Instant::now();
    let subset: Vec<StoredReport> = reports.iter().filter(|r| f.matches(r)).cloned().collect();
    let n = subset.len();
    let small = Hcl::build(subset, &cache);
    let fr = analysis::kernel_report(&small, &ids, None, &f).expect("report");
    println!(
        "filtered (type=laptop, qubes=4.2): {n} reports, {:.2} s ({} machines total)",
        t.elapsed().as_secs_f64(),
        fr.machines_total
    );

    // Rendering the pages a person opens, and their JSON.
    let t = Instant::now();
    let page = pages::kernel_report_page(&hcl, &ids, None, &Filter::default(), Frame::default())
        .expect("page");
    let html = page.render().expect("render");
    let json = serde_json::to_string(&page).expect("json");
    println!(
        "kernel report page: {:.3} s ({} KiB HTML, {} KiB JSON)",
        t.elapsed().as_secs_f64(),
        html.len() / 1024,
        json.len() / 1024
    );
    let t = Instant::now();
    let html = pages::machines(&hcl, &Filter::default(), Frame::default(), None)
        .render()
        .expect("render");
    println!(
        "machines page: {:.3} s ({} KiB HTML)",
        t.elapsed().as_secs_f64(),
        html.len() / 1024
    );
    let t = Instant::now();
    let md = analysis::markdown::kernel_report(&report);
    let csv = analysis::csv::kernel_report(&report);
    println!(
        "Markdown + CSV report: {:.3} s ({} + {} KiB)",
        t.elapsed().as_secs_f64(),
        md.len() / 1024,
        csv.len() / 1024
    );
    println!("peak memory (VmHWM): {:.0} MiB", peak_mib());
    drop((hcl, small, report));
    store_round_trip(&reports);
}

/// What a server start pays before the first snapshot: every report read back from the store
/// (SQLite keeps the bodies zstd-compressed); and what writing them all cost.
fn store_round_trip(reports: &[StoredReport]) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rebuild.db");
    let url = format!("sqlite://{}", file.display());
    rt.block_on(async {
        let store = hcl_aggregator::store::open(&url).await.expect("store");
        let t = Instant::now();
        let mut json_bytes = 0;
        for chunk in reports.chunks(1000) {
            let batch: Vec<_> = chunk
                .iter()
                .filter_map(|r| r.report.canonical().ok())
                .inspect(|c| json_bytes += c.json.len())
                .collect();
            store.put_reports(batch).await.expect("write");
        }
        let write = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let back = store.list_reports(false).await.expect("read");
        let read = t.elapsed().as_secs_f64();
        let on_disk: u64 = ["", "-wal"]
            .iter()
            .filter_map(|ext| std::fs::metadata(format!("{}{ext}", file.display())).ok())
            .map(|m| m.len())
            .sum();
        println!(
            "SQLite store: {} reports written in {write:.1} s (chunks of 1,000, group commit), read back in {read:.1} s; {} MiB on disk for {} MiB of JSON",
            back.len(),
            on_disk >> 20,
            json_bytes >> 20
        );
    });
}
