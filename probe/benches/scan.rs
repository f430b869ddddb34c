//! Benchmark of a full scan with every candidate kernel, side by side with `lspci -k` (one
//! kernel, PCI only) on the same machine. Prints a Markdown table for probe/BENCHMARKS.md.
//!
//! `cargo bench -p hcl-probe --bench scan` (needs `lspci` from pciutils and GNU `time` for the
//! peak memory of child processes; missing tools are reported as n/a).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hcl_kernel_engine::Catalog;
use hcl_probe::output::{Format, TableOptions, render};
use hcl_probe::root::Root;

const RUNS: usize = 15;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Median wall time, median CPU time (user + sys) and peak RSS (KiB) of a command, via GNU
/// time. CPU time is the fairer figure on a loaded machine.
fn measure(cmd: &[&str]) -> Option<(Duration, Duration, u64)> {
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut peak = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "HCLBENCH %M %U %S"])
            .args(cmd)
            .output()
            .ok()?;
        times.push(start.elapsed());
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().find_map(|l| l.strip_prefix("HCLBENCH "))?;
        let mut parts = line.split_whitespace();
        let kib: u64 = parts.next()?.parse().ok()?;
        let user: f64 = parts.next()?.parse().ok()?;
        let sys: f64 = parts.next()?.parse().ok()?;
        cpu.push(Duration::from_secs_f64(user + sys));
        peak = peak.max(kib);
    }
    Some((median(times), median(cpu), peak))
}

fn fmt_measure(m: Option<(Duration, Duration, u64)>) -> String {
    m.map_or("n/a".to_owned(), |(t, c, k)| {
        format!("{} ({} CPU) / {:.1} MiB", ms(t), ms(c), k as f64 / 1024.0)
    })
}

fn in_process(root: &Path) -> (Duration, usize) {
    let mut times = Vec::new();
    let mut devices = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        // As `hcl-probe scan` does it: decompression overlapping the walk, filtered parse.
        let (scan, _catalog) =
            hcl_probe::scan::scan_pending(&Root::new(root), Catalog::start_embedded())
                .expect("scan");
        let json = render(&scan.report, Format::Json, TableOptions::default()).expect("json");
        std::hint::black_box(json);
        times.push(start.elapsed());
        devices = scan.report.devices.len();
    }
    (median(times), devices)
}

/// Median time of reading the machine alone (sysfs walk, facts, names; no kernel profile):
/// where the root's path resolution shows.
fn read_only(root: &Root) -> Duration {
    let mut times = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let machine = hcl_probe::scan::read_machine(root).expect("read");
        std::hint::black_box(machine);
        times.push(start.elapsed());
    }
    median(times)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let probe = env!("CARGO_BIN_EXE_hcl-probe");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/sysfs");
    let mut roots: Vec<(String, PathBuf)> = vec![("live machine (/)".into(), PathBuf::from("/"))];
    let mut names: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.sort();
    for p in names.into_iter().filter(|p| p.join("sys").is_dir()) {
        let n = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        roots.push((format!("fixture {n}"), p));
    }
    let kernels = Catalog::embedded().map(|c| c.profiles().len()).unwrap_or(0);
    let size = std::fs::metadata(probe).map(|m| m.len()).unwrap_or(0);
    println!(
        "hcl-probe binary (this build): {:.1} MiB; {kernels} candidate kernels embedded\n",
        size as f64 / 1048576.0
    );
    println!("Reading the machine only (`scan::read_machine`, median of 200):\n");
    println!("| tree | read_machine | the same, user-space walk (no `openat2`) |");
    println!("|---|---|---|");
    for (label, root) in &roots {
        let r = Root::new(root);
        let walk = Root::with_resolver(root, hcl_probe::chroot::Resolver::Walk);
        println!(
            "| {label} ({:?}) | {} | {} |",
            r.resolver(),
            ms(read_only(&r)),
            ms(read_only(&walk))
        );
    }
    println!();
    println!(
        "| tree | devices | probe in-process (median of {RUNS}) | `hcl-probe scan --format json` wall (CPU) / peak RSS | `lspci -k` wall (CPU) / peak RSS |"
    );
    println!("|---|---|---|---|---|");
    for (label, root) in &roots {
        let (inproc, devices) = in_process(root);
        let root_s = root.to_string_lossy();
        let probe_cmd = [probe, "scan", "--root", &root_s, "--format", "json"];
        let probe_m = fmt_measure(measure(&probe_cmd));
        // lspci reads sysfs.path/devices/*/config: captured trees hold no config space, so
        // lspci runs on the live tree only.
        let lspci_m = if root == Path::new("/") {
            fmt_measure(measure(&["lspci", "-k"]))
        } else {
            "n/a (no config space in captures)".to_owned()
        };
        println!(
            "| {label} | {devices} | {} | {probe_m} | {lspci_m} |",
            ms(inproc)
        );
    }
}
