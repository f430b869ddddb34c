//! The observation stick end to end: an image with two real Debian kernels (bookworm's 6.1
//! `linux-image` .deb and trixie-backports' 7.3.4 `linux-binary` + `linux-modules` +
//! `linux-base`), booted in QEMU (q35, OVMF, TCG) from a USB stick behind an xHCI controller,
//! with an e1000e, the chipset's AHCI holding a disk, an Intel HDA codec, a USB keyboard and
//! tablet. Both kernels must boot in one power-on, each report what really bound, and the
//! machine's own disk must be untouched.
//!
//! Needs qemu-system-x86_64, Debian's `ovmf`, the cached packages
//! (`kernels/tests/fetch-debian-packages.sh`) and the static `hcl-probe` for the init (built
//! here into `target/stick-init` unless `HCL_STICK_INIT` names one). Missing pieces fail the
//! test when `CI` is set and skip it loudly otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hcl_e2e::workspace_root;
use hcl_probe::stick::build::{BuildOptions, build};
use hcl_probe::stick::layout::Outcome;
use hcl_probe::stick::results;

const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
const K61: &str = "linux-image-6.1.0-50-amd64_6.1.176-1_amd64.deb";
const K73: [&str; 3] = [
    "linux-binary-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb",
    "linux-modules-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb",
    "linux-base-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb",
];
const LOADER: &str = "systemd-boot-efi_252.39-1~deb12u2_amd64.deb";
/// Both kernels take about a minute each under TCG on the 2-core CI machine.
const QEMU_LIMIT: Duration = Duration::from_secs(600);

fn skip_or_fail(msg: &str) {
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("\n*** SKIPPED stick_qemu: {msg} ***\n");
}

fn deb_cache() -> PathBuf {
    std::env::var_os("HCL_DEB_CACHE").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/hcl-probe/debs")
        },
        PathBuf::from,
    )
}

/// The static init: `$HCL_STICK_INIT`, or built now (own target folder: the outer cargo holds
/// the workspace's).
fn static_init() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("HCL_STICK_INIT") {
        return Ok(PathBuf::from(p));
    }
    let root = workspace_root();
    let target = root.join("target/stick-init");
    let t = Instant::now();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env("CARGO_TARGET_DIR", &target)
        .args([
            "build",
            "--locked",
            "-p",
            "hcl-probe",
            "--no-default-features",
            "--profile",
            "stick-init",
            "--target",
            "x86_64-unknown-linux-gnu",
        ])
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the static init failed: {status}"));
    }
    eprintln!("static init built in {:.0} s", t.elapsed().as_secs_f64());
    Ok(target.join("x86_64-unknown-linux-gnu/stick-init/hcl-probe"))
}

fn file_hash(path: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

#[test]
fn two_debian_kernels_boot_in_one_power_on_and_report_real_drivers() {
    let qemu_ok = Command::new("qemu-system-x86_64")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !qemu_ok || !Path::new(OVMF_CODE).is_file() {
        return skip_or_fail(
            "qemu-system-x86_64 or OVMF (Debian packages qemu-system-x86, ovmf) missing",
        );
    }
    let cache = deb_cache();
    let needed: Vec<PathBuf> = std::iter::once(K61)
        .chain(K73)
        .chain([LOADER])
        .map(|n| cache.join(n))
        .collect();
    if let Some(missing) = needed.iter().find(|p| !p.is_file()) {
        return skip_or_fail(&format!(
            "{} missing; run kernels/tests/fetch-debian-packages.sh",
            missing.display()
        ));
    }
    let init = static_init().unwrap_or_else(|e| panic!("{e}"));

    let dir = tempfile::tempdir().expect("temporary folder");
    let image = dir.path().join("stick.img");
    let mut opts = BuildOptions::new(
        image.clone(),
        vec![
            vec![cache.join(K61)],
            K73.iter().map(|n| cache.join(n)).collect(),
        ],
        init,
    );
    opts.loader = Some(cache.join(LOADER));
    opts.append = "console=ttyS0,115200".into();
    let built = build(&opts, &|l| eprintln!("build: {l}")).expect("stick build");
    eprintln!(
        "stick: {:.1} MiB built in {:.1} s",
        built.image_bytes as f64 / 1048576.0,
        built.seconds
    );

    // The machine's own disk, on the chipset's AHCI controller: must come out untouched.
    let machine_disk = dir.path().join("machine-disk.img");
    let pattern: Vec<u8> = (0..32u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(&machine_disk, &pattern).expect("machine disk");
    let before = file_hash(&machine_disk);
    let vars = dir.path().join("vars.fd");
    std::fs::copy(OVMF_VARS, &vars).expect("OVMF vars");
    let serial = dir.path().join("serial.log");

    let started = Instant::now();
    let mut qemu = Command::new("qemu-system-x86_64")
        .args([
            "-machine", "q35", "-accel", "tcg", "-m", "2048", "-smp", "2",
        ])
        .args(["-nodefaults", "-no-user-config", "-display", "none"])
        .arg("-serial")
        .arg(format!("file:{}", serial.display()))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"
        ))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=1,file={}",
            vars.display()
        ))
        .args(["-device", "qemu-xhci,id=xhci"])
        .arg("-drive")
        .arg(format!(
            "if=none,id=stick,format=raw,file={}",
            image.display()
        ))
        .args(["-device", "usb-storage,bus=xhci.0,drive=stick"])
        .args([
            "-device",
            "usb-kbd,bus=xhci.0",
            "-device",
            "usb-tablet,bus=xhci.0",
        ])
        .args([
            "-netdev",
            "user,id=n0,restrict=on",
            "-device",
            "e1000e,netdev=n0",
        ])
        .arg("-drive")
        .arg(format!(
            "if=none,id=disk,format=raw,file={}",
            machine_disk.display()
        ))
        .args(["-device", "ide-hd,drive=disk,bus=ide.0"])
        .args(["-audiodev", "none,id=snd0", "-device", "intel-hda"])
        .args(["-device", "hda-duplex,audiodev=snd0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("starting qemu");
    let status = loop {
        if let Some(s) = qemu.try_wait().expect("waiting for qemu") {
            break Some(s);
        }
        if started.elapsed() > QEMU_LIMIT {
            let _ = qemu.kill();
            let _ = qemu.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let log = std::fs::read_to_string(&serial).unwrap_or_default();
    let tail: String = log
        .lines()
        .filter(|l| {
            l.contains("hcl-probe") || l.contains("Kernel panic") || l.contains("Linux version")
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        status.is_some_and(|s| s.success()),
        "qemu did not power off by itself within {QEMU_LIMIT:?} ({status:?}); serial log:\n{tail}"
    );
    eprintln!(
        "power-on to power-off: {:.0} s\n{tail}",
        started.elapsed().as_secs_f64()
    );

    let r = results::read(&image).expect("reading the results");
    assert!(r.unreadable.is_empty(), "{:?}", r.unreadable);
    assert_eq!(r.sessions.len(), 1, "one power-on, one session");
    let session = &r.sessions[0];
    assert!(session.complete, "the session ended after the last kernel");
    let releases: Vec<&str> = session.records.iter().map(|x| x.release.as_str()).collect();
    assert_eq!(releases, ["6.1.0-50-amd64", "7.3.4+deb13-amd64"]);
    let plan = r.plan.as_ref().expect("plan on the results partition");
    for rec in &session.records {
        assert_eq!(rec.outcome, Outcome::Observed, "{:?}", rec.message);
        let report = rec.report.as_ref().expect("report");
        assert_eq!(
            report.system.running_kernel.as_deref(),
            Some(rec.release.as_str())
        );
        let own = &plan.kernel(rec.entry).expect("planned").profile_id;
        if let Some(t) = &rec.timings {
            eprintln!(
                "{}: init at {:.1} s, settled at {:.1} s, report at {:.1} s, {} modules",
                rec.release, t.init_started_s, t.settled_s, t.report_ready_s, t.modules_loaded
            );
        }
        for driver in [
            "e1000e",
            "ahci",
            "snd_hda_intel",
            "xhci_hcd",
            "usbhid",
            "usb-storage",
        ] {
            let d = report
                .devices
                .iter()
                .find(|d| d.driver.as_deref() == Some(driver))
                .unwrap_or_else(|| {
                    let bound: Vec<_> = report
                        .devices
                        .iter()
                        .filter_map(|d| d.driver.clone())
                        .collect();
                    panic!(
                        "{}: no device bound to {driver}; bound: {bound:?}",
                        rec.release
                    )
                });
            let obs = d.observed.as_ref().expect("observed");
            assert!(
                !obs.modules.is_empty(),
                "{}: {driver}: no module loaded",
                rec.release
            );
            assert!(
                d.coverage.contains_key(own),
                "{}: prediction of {own} missing",
                rec.release
            );
            assert_eq!(
                d.agreement(own),
                Some(hcl_data::Agreement::Right),
                "{}: {driver} on {} was not predicted by its own profile",
                rec.release,
                d.modalias
            );
        }
        // The kernel's own release is in its report, and no log line is.
        let text = serde_json::to_string(report).expect("json");
        assert!(
            report.privacy_violations().is_empty(),
            "{:?}",
            report.privacy_violations()
        );
        assert!(
            !text.contains("Direct firmware load"),
            "raw log line in the report"
        );
    }
    assert_eq!(
        file_hash(&machine_disk),
        before,
        "the machine's disk was written to"
    );
    let table = results::table(&r);
    eprintln!("{table}");
    assert!(table.contains("7.3.4+deb13-amd64"));
}
