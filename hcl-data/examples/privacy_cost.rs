//! The cost of the upload path's streaming privacy check on one report, for instruction counts
//! (the development VM has no hardware counters, and its wall times swing with the load):
//!
//!     cargo build --release -p hcl-data --example privacy_cost
//!     valgrind --tool=callgrind target/release/examples/privacy_cost [REPORT.json] 50
//!     valgrind --tool=callgrind target/release/examples/privacy_cost [REPORT.json] 0
//!
//! The difference of the two totals, divided by 100 (two rounds of 50), is the instructions of
//! one check. Without a file it checks the aggregator load bench's realistic report (40 devices
//! × 8 kernels); a probe report: `hcl-probe scan --root tests/fixtures/sysfs/qemu-q35-usb-laptopish
//! --format json > qemu.json`. Also prints the wall time per check of the second round.

use std::time::Instant;

use hcl_data::{Coverage, Device, Report, Role, System, Verdict};

const KERNELS: [&str; 8] = [
    "debian-12",
    "debian-13",
    "debian-13-backports",
    "debian-sid",
    "rhel-8.10",
    "rhel-9.6",
    "rhel-10.0",
    "qubes-6.12",
];

/// The load bench's report (aggregator/benches/load.rs), pretty-printed as the probe sends it.
fn template() -> String {
    let devices = (0..40)
        .map(|i| Device {
            bus: "pci".into(),
            modalias: format!(
                "pci:v00008086d0000{:04X}sv000017AAsd000022E6bc03sc00i00",
                0x1000 + i
            ),
            category: "gpu".into(),
            role: if i % 3 == 0 { Role::Dom0 } else { Role::Other },
            vendor: Some("8086".into()),
            device: Some(format!("{:04x}", 0x1000 + i)),
            vendor_name: Some("Intel Corporation".into()),
            device_name: Some("Some controller".into()),
            driver: Some("i915".into()),
            coverage: KERNELS
                .iter()
                .map(|k| {
                    let c = Coverage {
                        modules: vec!["i915".into()],
                        verdict: Verdict::Supported,
                        reason: "driven by i915".into(),
                        ..Default::default()
                    };
                    ((*k).to_owned(), c)
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let report = Report {
        schema_version: 1,
        report_id: "0123456789abcdef0123456789abcdef".into(),
        generated_on: "2026-11-20".into(),
        generator: "hcl-probe 0.1.0".into(),
        origin: Default::default(),
        system: System {
            brand: Some("LENOVO".into()),
            model: Some("ThinkPad X1 Carbon Gen 11".into()),
            ..Default::default()
        },
        devices,
        kernels: Default::default(),
        qubes: None,
    };
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (file, rounds) = match args.as_slice() {
        [n] if n.parse::<u32>().is_ok() => (None, n.parse().unwrap_or(50)),
        [f, n] => (Some(f.clone()), n.parse().unwrap_or(50)),
        [f] => (Some(f.clone()), 50),
        _ => (None, 50),
    };
    let body = match &file {
        Some(f) => std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f}: {e}")),
        None => template(),
    };
    let mut findings = 0;
    let mut round = || {
        let start = Instant::now();
        for _ in 0..rounds {
            let found = hcl_data::privacy_scan_json(std::hint::black_box(&body), 10);
            findings += found.map_or(0, |f| f.total);
        }
        start.elapsed()
    };
    round();
    let took = round();
    eprintln!(
        "{} bytes, {rounds} checks a round: {:.1} µs each (second round), {findings} findings",
        body.len(),
        took.as_secs_f64() * 1e6 / f64::from(rounds.max(1)),
    );
}
