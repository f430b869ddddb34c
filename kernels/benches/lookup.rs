//! Lookup benchmark: hcl-kernels against libkmod on the same kmod trees and the same 10,000+
//! modaliases (made from the real pci/usb alias patterns, as in the differential test), one
//! core each; then profile load time, peak memory and the size of the compact profiles.
//!
//! Run: `cargo bench -p hcl-kernels --bench lookup` (needs `cc` and libkmod-dev, and the kmod
//! trees of `kernels/tests/make-kmod-roots.sh`, see `sample::kmod_root`). Not run in CI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hcl_kernels::{Catalog, sample};

const REPEAT: usize = 5;

/// CPU time this thread has run (CLOCK_THREAD_CPUTIME_ID): on a busy shared machine wall time
/// counts other processes' turns, CPU time does not.
#[allow(unsafe_code)]
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; no other memory is touched.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A /proc/self/status field in KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// kernels/profiles of this checkout (also when the binary runs from another checkout).
fn profiles_dir() -> PathBuf {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    if built.exists() {
        built
    } else {
        PathBuf::from("kernels/profiles")
    }
}

fn compile_harness(out: &Path) -> Result<PathBuf, String> {
    // A prebuilt harness, for machines without a compiler or libkmod-dev.
    if let Some(exe) = std::env::var_os("HCL_KMOD_HARNESS") {
        return Ok(PathBuf::from(exe));
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/kmod_lookup.c");
    let exe = out.join("kmod_lookup");
    let status = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .arg("-lkmod")
        .status()
        .map_err(|e| format!("cannot run cc: {e}"))?;
    if !status.success() {
        return Err("cc failed (apt-get install libkmod-dev)".into());
    }
    Ok(exe)
}

/// The kmod tree as libkmod's `kmod_load_resources` wants it: the trees of make-kmod-roots.sh
/// lack modules.symbols.bin, which pci/usb lookups never consult, so a copy of another index
/// stands in for it (without preloaded indexes libkmod would reopen them on every lookup).
fn kmod_tree(ver: &str, tmp: &Path) -> PathBuf {
    let src = sample::kmod_root(ver).join("lib/modules").join(ver);
    let dir = tmp.join("root").join(ver);
    std::fs::create_dir_all(&dir).expect("tree dir");
    for f in [
        "modules.dep.bin",
        "modules.alias.bin",
        "modules.builtin.alias.bin",
        "modules.builtin.bin",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).expect("copy index");
    }
    std::fs::copy(
        src.join("modules.builtin.bin"),
        dir.join("modules.symbols.bin"),
    )
    .expect("copy index");
    dir
}

fn main() {
    let t = Instant::now();
    let baseline_hwm = status_kib("VmHWM:");
    let catalog = Catalog::embedded().expect("embedded profiles");
    let first_load = t.elapsed();
    let after_hwm = status_kib("VmHWM:");
    let rss = status_kib("VmRSS:");

    // Load time: best of 20 (the first one above includes page faults of a cold binary).
    let mut loads: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let c = Catalog::embedded().expect("embedded");
            let d = t.elapsed();
            drop(c);
            d
        })
        .collect();
    loads.sort();

    let ids: Vec<&str> = sample::KMOD_TREES.iter().map(|(id, _)| *id).collect();
    let modaliases =
        sample::modaliases(&catalog, &ids, 10_000, 0x5eed_cafe).expect("whole profiles");
    let tmp = std::env::temp_dir().join(format!("hcl-kernels-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let list = tmp.join("modaliases.txt");
    std::fs::write(&list, modaliases.join("\n") + "\n").expect("write modaliases");
    let harness = compile_harness(&tmp);

    println!(
        "lookups: {} modaliases x {REPEAT} rounds, one core; rates per CPU second",
        modaliases.len()
    );
    println!(
        "{:<20} {:>14} {:>14} {:>7} {:>10}",
        "kernel", "hcl-kernels/s", "libkmod/s", "ratio", "kmod KiB"
    );
    for (id, ver) in sample::KMOD_TREES {
        let profile = catalog.get(id).expect("profile");
        let (t, c0) = (Instant::now(), cpu_time());
        let mut found = 0usize;
        for _ in 0..REPEAT {
            for m in &modaliases {
                if !std::hint::black_box(profile.resolve(m))
                    .kmod_answer()
                    .is_empty()
                {
                    found += 1;
                }
            }
        }
        let n = (modaliases.len() * REPEAT) as f64;
        let ours_wall = n / t.elapsed().as_secs_f64();
        let ours = n / (cpu_time() - c0).as_secs_f64();
        let (theirs, kmod_kib, kmod_found) = match &harness {
            Ok(exe) => {
                let dir = kmod_tree(ver, &tmp);
                let out = Command::new(exe)
                    .arg(&dir)
                    .arg(&list)
                    .arg(REPEAT.to_string())
                    .output()
                    .expect("run harness");
                let text = String::from_utf8_lossy(&out.stdout);
                let f: Vec<f64> = text
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                match f.as_slice() {
                    [n, secs, found, kib, cpu] => ((n / cpu, n / secs), *kib, *found as usize),
                    _ => ((f64::NAN, f64::NAN), f64::NAN, 0),
                }
            }
            Err(_) => ((f64::NAN, f64::NAN), f64::NAN, 0),
        };
        let (theirs, theirs_wall) = theirs;
        println!(
            "{id:<20} {ours:>14.0} {theirs:>14.0} {:>7.2} {kmod_kib:>10.0}   (wall: {ours_wall:.0} vs {theirs_wall:.0})",
            ours / theirs
        );
        if harness.is_ok() && kmod_found != found {
            println!("  note: answers differ in count: hcl-kernels {found}, libkmod {kmod_found}");
        }
    }
    if let Err(e) = &harness {
        println!("libkmod harness not run: {e}");
    }

    println!();
    println!(
        "profile load (all {} embedded, Catalog::embedded): wall first {:.1} ms, best {:.1} ms, median {:.1} ms",
        catalog.profiles().len(),
        first_load.as_secs_f64() * 1e3,
        loads[0].as_secs_f64() * 1e3,
        loads[loads.len() / 2].as_secs_f64() * 1e3
    );
    let mut cpu_sum = Duration::ZERO;
    for p in catalog.profiles() {
        let bytes = std::fs::read(profiles_dir().join(format!("{}.profile.zst", p.meta.id)))
            .unwrap_or_default();
        let c0 = cpu_time();
        for _ in 0..20 {
            let _ = std::hint::black_box(hcl_kernels::Profile::decode(&bytes, &p.meta.id));
        }
        let cpu = (cpu_time() - c0) / 20;
        cpu_sum += cpu;
        println!(
            "  {:<20} {:>8} bytes compact, load {:.2} ms CPU (mean of 20)",
            p.meta.id,
            bytes.len(),
            cpu.as_secs_f64() * 1e3
        );
    }
    let total: u64 = std::fs::read_dir(profiles_dir())
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".profile.zst"))
                .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    println!(
        "all profiles: load {:.1} ms CPU (sum of the means above)",
        cpu_sum.as_secs_f64() * 1e3
    );
    println!("compact profiles total: {total} bytes");
    println!(
        "memory: peak RSS {} KiB after loading all profiles (from {baseline_hwm} KiB before), RSS with catalog {rss} KiB",
        after_hwm
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
