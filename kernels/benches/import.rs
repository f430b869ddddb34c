//! Import speed and memory of the binary importers on real Debian packages, against the
//! reference pipeline that produced the depmod output in `data/kernel-data` (`dpkg-deb -x` then
//! `depmod -b`).
//!
//! `cargo bench -p hcl-kernels --bench import`; needs the packages of
//! `kernels/tests/fetch-debian-packages.sh` in `$HCL_DEB_CACHE` (default
//! `~/.cache/hcl-probe/debs`), plus `dpkg-deb` and `depmod` for the comparison.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hcl_kernels::binary::{self, ModuleSet};

const CASES: [(&str, &str, &[&str]); 2] = [
    (
        "debian-12 (1 .deb, plain .ko)",
        "6.1.0-50-amd64",
        &["linux-image-6.1.0-50-amd64_6.1.176-1_amd64.deb"],
    ),
    (
        "debian-13-backports (2 .deb, .ko.xz)",
        "7.3.4+deb13-amd64",
        &[
            "linux-modules-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb",
            "linux-base-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb",
        ],
    ),
];

/// Peak resident memory of this process so far, from /proc (KiB).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn import(paths: &[PathBuf]) -> (Duration, ModuleSet) {
    let start = Instant::now();
    let set = binary::read_sources(paths, &|_, _| {}).expect("import");
    (start.elapsed(), set)
}

fn run(cmd: &mut Command) -> bool {
    cmd.status().map(|s| s.success()).unwrap_or(false)
}

/// `dpkg-deb -x` of every package, then `depmod -b`: (extract time, depmod time).
fn reference(debs: &[PathBuf], version: &str, root: &Path) -> Option<(Duration, Duration)> {
    let start = Instant::now();
    for deb in debs {
        if !run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(root)) {
            return None;
        }
    }
    let extract = start.elapsed();
    // kmod 30 looks in <root>/lib/modules; 6.12+ packages install to usr/lib/modules.
    if !root.join("lib").exists() {
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).ok()?;
    }
    let start = Instant::now();
    let ok = run(Command::new("depmod").arg("-b").arg(root).arg(version));
    ok.then(|| (extract, start.elapsed()))
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn main() {
    let cache = std::env::var_os("HCL_DEB_CACHE").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/hcl-probe/debs")
        },
        PathBuf::from,
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("binary importers, {threads} CPU(s); best of 2 runs; peak RSS of this process\n");
    for (label, version, files) in CASES {
        let debs: Vec<PathBuf> = files.iter().map(|f| cache.join(f)).collect();
        if let Some(missing) = debs.iter().find(|p| !p.is_file()) {
            println!(
                "{label}: skipped, {} missing (run fetch-debian-packages.sh)",
                missing.display()
            );
            continue;
        }
        let mb = debs
            .iter()
            .filter_map(|p| p.metadata().ok())
            .map(|m| m.len())
            .sum::<u64>() as f64
            / 1e6;
        let (t1, set) = import(&debs);
        let (t2, _) = import(&debs);
        let ours = t1.min(t2);
        println!(
            "{label}: {} modules, {} built-in, {mb:.0} MB of packages",
            set.modules.len(),
            set.builtin.len()
        );
        println!(
            "  hcl-kernels from the .deb:       {} ({:.0} MB/s), peak RSS {} MiB",
            secs(ours),
            mb / ours.as_secs_f64(),
            peak_rss_kib() / 1024
        );
        let tmp = tempfile::tempdir().expect("temp dir");
        match reference(&debs, version, tmp.path()) {
            Some((extract, depmod)) => {
                let (tree, _) = import(&[tmp.path().to_owned()]);
                println!(
                    "  dpkg-deb -x + depmod -b:         {} ({} + {}), ratio {:.1}x",
                    secs(extract + depmod),
                    secs(extract),
                    secs(depmod),
                    (extract + depmod).as_secs_f64() / ours.as_secs_f64()
                );
                println!(
                    "  on the extracted tree: hcl-kernels {} vs depmod {} ({:.1}x)",
                    secs(tree),
                    secs(depmod),
                    depmod.as_secs_f64() / tree.as_secs_f64()
                );
            }
            None => println!("  reference pipeline unavailable (dpkg-deb or depmod failed)"),
        }
    }
}
