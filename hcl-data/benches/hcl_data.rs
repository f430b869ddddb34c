//! How fast reports are read, checked, hashed, and how fast the Qubes HCL imports, each next
//! to the bare serde parse it builds on (the cost of the checks is the difference).
//!
//! `cargo bench -p hcl-data` (reads the Qubes HCL kept in `data/qubes-hcl/qubes-hcl.tar.zst`).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hcl_data::{Coverage, Device, Report, Role, SCHEMA_VERSION, System, Verdict, qubes_hcl};
use sha2::{Digest, Sha256};

/// A big probe report: `n` PCI/USB devices, each with coverage for the eight candidates.
fn big_report(n: usize) -> Report {
    let kernels = [
        "debian-12",
        "debian-13",
        "debian-13-backports",
        "debian-sid",
        "rhel-8.10",
        "rhel-9.6",
        "rhel-10.0",
        "qubes-6.12",
    ];
    let devices = (0..n)
        .map(|i| Device {
            bus: "pci".into(),
            modalias: format!("pci:v00008086d0000{i:04X}sv000017AAsd000022E4bc03sc00i00"),
            sysfs_path: Some(format!("/sys/devices/pci0000:00/0000:00:{:02x}.0", i % 32)),
            category: "gpu".into(),
            role: Role::Dom0,
            vendor: Some("8086".into()),
            device: Some(format!("{i:04x}")),
            class: Some("030000".into()),
            vendor_name: Some("Intel Corporation".into()),
            device_name: Some("Raptor Lake-P [Iris Xe Graphics]".into()),
            driver: Some("i915".into()),
            coverage: kernels
                .iter()
                .map(|k| {
                    (
                        k.to_string(),
                        Coverage {
                            modules: vec!["i915".into(), "xe".into()],
                            verdict: Verdict::Supported,
                            reason: "i915 matches pci:v00008086d*sv*sd*bc03sc*i*".into(),
                            ..Coverage::default()
                        },
                    )
                })
                .collect(),
            ..Device::default()
        })
        .collect();
    Report {
        schema_version: SCHEMA_VERSION,
        report_id: "bench0123456789".into(),
        generated_on: "2026-11-20".into(),
        generator: "hcl-probe 0.1.0".into(),
        origin: Default::default(),
        system: System {
            brand: Some("LENOVO".into()),
            model: Some("ThinkPad".into()),
            ..System::default()
        },
        devices,
        kernels: BTreeMap::new(),
        qubes: None,
    }
}

fn reports(c: &mut Criterion) {
    let mut g = c.benchmark_group("report_json");
    for n in [40, 400] {
        let bytes = serde_json::to_vec(&big_report(n)).unwrap_or_default();
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("serde_only", n), &bytes, |b, bytes| {
            b.iter(|| serde_json::from_slice::<Report>(black_box(bytes)).is_ok())
        });
        g.bench_with_input(
            BenchmarkId::new("from_json_checked", n),
            &bytes,
            |b, bytes| b.iter(|| Report::from_json(black_box(bytes)).is_ok()),
        );
    }
    g.finish();

    let mut g = c.benchmark_group("report_hash_and_privacy");
    let r = big_report(400);
    g.bench_function("sha256_of_serde_json", |b| {
        b.iter(|| {
            hex::encode(Sha256::digest(
                serde_json::to_vec(black_box(&r)).unwrap_or_default(),
            ))
        })
    });
    g.bench_function("content_id", |b| b.iter(|| black_box(&r).content_id()));
    g.bench_function("privacy_violations", |b| {
        b.iter(|| black_box(&r).privacy_violations().len())
    });
    g.finish();
}

fn hcl_files() -> Vec<(String, String)> {
    let archive =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/qubes-hcl/qubes-hcl.tar.zst");
    let files = match hcl_data::hcl_files::read(&archive) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("{e}: skipping the import benchmark");
            return Vec::new();
        }
    };
    files
        .into_iter()
        .filter(|f| f.name.ends_with(".yml"))
        .filter_map(|f| Some((f.name, String::from_utf8(f.bytes.ok()?).ok()?)))
        .collect()
}

fn hcl(c: &mut Criterion) {
    let files = hcl_files();
    if files.is_empty() {
        return;
    }
    let total: usize = files.iter().map(|(_, t)| t.len()).sum();
    let mut g = c.benchmark_group("qubes_hcl_all_files");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("saphyr_parse_only", |b| {
        b.iter(|| {
            files
                .iter()
                .filter(|(_, t)| {
                    serde_saphyr::from_str_multiple::<serde_json::Value, Vec<_>>(t).is_ok()
                })
                .count()
        })
    });
    g.bench_function("import", |b| {
        b.iter(|| {
            files
                .iter()
                .filter(|(n, t)| qubes_hcl::from_yaml(t, n).is_ok())
                .count()
        })
    });
    let imported: Vec<Report> = files
        .iter()
        .filter_map(|(n, t)| qubes_hcl::from_yaml(t, n).ok())
        .collect();
    g.bench_function("export", |b| {
        b.iter(|| {
            imported
                .iter()
                .filter(|r| qubes_hcl::to_yaml(r).is_ok())
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, reports, hcl);
criterion_main!(benches);
