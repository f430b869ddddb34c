//! The observation stick end to end: an image with two real Debian kernels (bookworm's 6.1
//! `linux-image` .deb and trixie-backports' 7.3.4 `linux-binary` + `linux-modules` +
//! `linux-base`), booted in QEMU (q35 with a VT-d IOMMU, OVMF, TCG) from a USB stick behind an
//! xHCI controller, with an e1000e, the chipset's AHCI holding a disk, an Intel HDA codec, a USB
//! keyboard and tablet. Both kernels must boot in one power-on, each report what really bound
//! and see the IOMMU groups (`intel_iommu=on`), and the machine's own disk must be untouched.
//! A second power-on with the first kernel's initramfs broken: that kernel panics, the next
//! one records it as giving no result and still observes, and the first session is unchanged.
//! Before the boots, the image is built again from the same packages and epoch (another folder,
//! a later time) and must be the same bytes, and with another epoch must differ: what
//! `cargo xtask dist` promises for the released image.
//!
//! Needs qemu-system-x86_64, Debian's `ovmf`, the cached packages
//! (`kernels/tests/fetch-debian-packages.sh`) and the static `hcl-probe` for the init (built
//! here into `target/stick-init` unless `HCL_STICK_INIT` names one). Missing pieces fail the
//! test when `CI` is set and skip it loudly otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hcl_e2e::workspace_root;
use hcl_probe::stick::build::{BuildOptions, Built, build};
use hcl_probe::stick::disk::{Part, StickDisk, write_file};
use hcl_probe::stick::layout::{Outcome, RunRecord};
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
/// The image's `SOURCE_DATE_EPOCH`, as a release build gives it: 2025-12-04 12:06:40 UTC.
const EPOCH: u64 = 1_764_850_000;

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
    // Dated and seeded as a release build is, so what boots below is what `dist` ships.
    opts.source_date_epoch = Some(EPOCH);
    let built = build(&opts, &|l| eprintln!("build: {l}")).expect("stick build");
    eprintln!(
        "stick: {:.1} MiB built in {:.1} s",
        built.image_bytes as f64 / 1048576.0,
        built.seconds
    );
    // Before the boots: they write to the image.
    check_reproducible(&opts, &built);

    // The machine's own disk, on the chipset's AHCI controller: must come out untouched.
    let machine_disk = dir.path().join("machine-disk.img");
    let pattern: Vec<u8> = (0..32u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(&machine_disk, &pattern).expect("machine disk");
    let before = file_hash(&machine_disk);
    let machine = Machine {
        image: image.clone(),
        disk: machine_disk.clone(),
        dir: dir.path().to_owned(),
    };

    let seconds = machine.power_on("first");
    let r = results::read(&image).expect("reading the results");
    assert!(r.unreadable.is_empty(), "{:?}", r.unreadable);
    assert_eq!(r.sessions.len(), 1, "one power-on, one session");
    let session = &r.sessions[0];
    assert!(session.complete, "the session ended after the last kernel");
    let releases: Vec<&str> = session.records.iter().map(|x| x.release.as_str()).collect();
    assert_eq!(releases, ["6.1.0-50-amd64", "7.3.4+deb13-amd64"]);
    let plan = r.plan.as_ref().expect("plan on the results partition");
    for rec in &session.records {
        check_observed(rec, &plan.kernel(rec.entry).expect("planned").profile_id);
    }
    eprintln!("power-on to power-off, both kernels: {seconds:.0} s");
    let table = results::table(&r);
    eprintln!("{table}");
    assert!(table.contains("7.3.4+deb13-amd64"));
    let first_session = session.records.clone();

    // The watchdog: kernel 1's initramfs broken, it panics (`panic=10` reboots it), the boot
    // counter skips it, and kernel 2 records it as giving no result.
    {
        let stick = StickDisk::open(&image, true).expect("stick");
        let fs = stick.fs(Part::Boot).expect("boot partition");
        let dir = fs.root_dir().open_dir("hcl/hcl-01").expect("entry folder");
        write_file(&dir, "initrd", &b"not an initramfs\n".repeat(4096)).expect("break initrd");
        drop(dir);
        fs.unmount().expect("unmount");
        stick.sync().expect("sync");
    }
    let seconds = machine.power_on("second");
    eprintln!("power-on to power-off, kernel 1 panicking: {seconds:.0} s");
    let r = results::read(&image).expect("reading the results");
    assert!(r.unreadable.is_empty(), "{:?}", r.unreadable);
    assert_eq!(r.sessions.len(), 2, "{}", results::table(&r));
    assert_eq!(
        serde_json::to_value(&r.sessions[0].records).expect("json"),
        serde_json::to_value(&first_session).expect("json"),
        "the first session changed"
    );
    let second = &r.sessions[1];
    assert!(second.complete, "{}", results::table(&r));
    let outcomes: Vec<(u32, Outcome)> = second
        .records
        .iter()
        .map(|x| (x.entry, x.outcome))
        .collect();
    assert_eq!(outcomes, [(1, Outcome::NoResult), (2, Outcome::Observed)]);
    assert!(second.records[0].report.is_none());
    check_observed(
        &second.records[1],
        &plan.kernel(2).expect("planned").profile_id,
    );
    let table = results::table(&r);
    eprintln!("{table}");
    assert!(table.contains("NO RESULT"), "{table}");
    assert_eq!(r.failures().len(), 1, "{:?}", r.failures());

    assert_eq!(
        file_hash(&machine_disk),
        before,
        "the machine's disk was written to"
    );
}

/// The image built again from the same inputs and epoch, into another folder under another
/// name, some seconds later: the same bytes. Built once more with another epoch: other bytes
/// (so the check cannot pass because the epoch is ignored).
fn check_reproducible(opts: &BuildOptions, first: &Built) {
    let started = Instant::now();
    // The epoch reached both FAT partitions: their files carry its date, not the build's.
    let disk = StickDisk::open(&opts.out, false).expect("stick");
    for part in [Part::Boot, Part::Results] {
        let fs = disk.fs(part).expect("partition");
        let hcl = fs.root_dir().open_dir("hcl").expect("hcl folder");
        let plan = hcl
            .iter()
            .filter_map(Result::ok)
            .find(|e| e.file_name() == "stick.json")
            .expect("hcl/stick.json");
        let t = plan.modified();
        assert_eq!(
            (t.date.year, t.date.month, t.date.day),
            (2025, 12, 4),
            "{part:?}: hcl/stick.json dated {t:?}, not by the epoch"
        );
        assert_eq!(
            (t.time.hour, t.time.min, t.time.sec),
            (12, 6, 40),
            "{part:?}: hcl/stick.json dated {t:?}, not by the epoch"
        );
    }
    drop(disk);

    let dir = tempfile::tempdir().expect("temporary folder");
    let mut again = opts.clone();
    again.out = dir.path().join("again.img");
    let rebuilt = build(&again, &|l| eprintln!("rebuild: {l}")).expect("stick rebuild");
    let t = Instant::now();
    if let Some(at) = first_difference(&opts.out, &again.out) {
        panic!(
            "the stick image is not reproducible: the same inputs and epoch built twice differ \
             first at byte {at}, in {}",
            region(&opts.out, at)
        );
    }
    eprintln!(
        "stick reproducible: {:.1} MiB, built in {:.1} s then {:.1} s, compared in {:.1} s",
        first.image_bytes as f64 / 1048576.0,
        first.seconds,
        rebuilt.seconds,
        t.elapsed().as_secs_f64()
    );
    std::fs::remove_file(&again.out).expect("removing the rebuilt image");

    let mut other = opts.clone();
    other.out = dir.path().join("other-epoch.img");
    other.source_date_epoch = opts.source_date_epoch.map(|e| e + 86_400 * 400 + 7);
    let built = build(&other, &|l| eprintln!("other epoch: {l}")).expect("stick build");
    let at = first_difference(&opts.out, &other.out)
        .expect("another SOURCE_DATE_EPOCH gave the same image: the epoch is ignored");
    eprintln!(
        "stick with another epoch: built in {:.1} s, differs first at byte {at}, in {}",
        built.seconds,
        region(&opts.out, at)
    );
    eprintln!(
        "reproducibility check: {:.1} s in all (two more builds and the comparisons)",
        started.elapsed().as_secs_f64()
    );
}

/// The first byte at which two images differ (a difference in size counts at the shorter's
/// end); None when they are the same bytes.
fn first_difference(a: &Path, b: &Path) -> Option<u64> {
    use std::io::Read;
    fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() {
            match r.read(&mut buf[n..]).expect("reading an image") {
                0 => break,
                k => n += k,
            }
        }
        n
    }
    let open = |p: &Path| std::fs::File::open(p).expect("opening an image");
    let (mut ra, mut rb) = (open(a), open(b));
    let (mut ba, mut bb) = (vec![0u8; 4 << 20], vec![0u8; 4 << 20]);
    let mut offset = 0u64;
    loop {
        let (na, nb) = (read_full(&mut ra, &mut ba), read_full(&mut rb, &mut bb));
        let n = na.min(nb);
        // Slice equality first: a memcmp, fast even in a debug build.
        if ba[..n] != bb[..n] {
            let i = ba[..n].iter().zip(&bb[..n]).position(|(x, y)| x != y);
            return Some(offset + i.unwrap_or(0) as u64);
        }
        if na != nb {
            return Some(offset + n as u64);
        }
        if n == 0 {
            return None;
        }
        offset += n as u64;
    }
}

/// The part of the stick `offset` lies in, from the image's GPT.
fn region(image: &Path, offset: u64) -> String {
    let Ok(disk) = StickDisk::open(image, false) else {
        return "no readable GPT".into();
    };
    if offset < 512 {
        return "the protective MBR".into();
    }
    let parts = [
        ("boot partition (FAT)", Some(disk.boot)),
        ("results partition (FAT)", Some(disk.results)),
        ("modules partition", disk.modules),
    ];
    for (name, span) in parts {
        if let Some(s) = span.filter(|s| (s.start..s.start + s.len).contains(&offset)) {
            return format!("{name}, byte {} of it", offset - s.start);
        }
    }
    let first = parts.iter().filter_map(|(_, s)| *s).map(|s| s.start).min();
    if first.is_some_and(|f| offset < f) {
        "the primary GPT".into()
    } else {
        "the backup GPT (or a gap between partitions)".into()
    }
}

/// The emulated machine: q35 with a VT-d IOMMU, OVMF, the stick behind xHCI, e1000e, AHCI with
/// the machine's disk, HDA, USB keyboard and tablet.
struct Machine {
    image: PathBuf,
    disk: PathBuf,
    dir: PathBuf,
}

impl Machine {
    /// Powers the machine on with fresh NVRAM and waits for it to power off by itself; returns
    /// the seconds it took. The serial log goes to `serial-NAME.log`.
    fn power_on(&self, name: &str) -> f64 {
        let vars = self.dir.join(format!("vars-{name}.fd"));
        std::fs::copy(OVMF_VARS, &vars).expect("OVMF vars");
        let serial = self.dir.join(format!("serial-{name}.log"));
        let started = Instant::now();
        let mut qemu = Command::new("qemu-system-x86_64")
            .args(["-machine", "q35", "-accel", "tcg"])
            .args(["-m", "2048", "-smp", "2"])
            .args(["-nodefaults", "-no-user-config", "-display", "none"])
            // DMA remapping only: with interrupt remapping, a slow TCG guest on a busy host
            // fails the kernel's timer check through the remapped IO-APIC and panics.
            .args(["-device", "intel-iommu,intremap=off"])
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
                self.image.display()
            ))
            .args(["-device", "usb-storage,bus=xhci.0,drive=stick"])
            .args([
                "-device",
                "usb-kbd,bus=xhci.0",
                "-device",
                "usb-tablet,bus=xhci.0",
            ])
            // No option ROM: the firmware would load iPXE for nothing.
            .args([
                "-netdev",
                "user,id=n0,restrict=on",
                "-device",
                "e1000e,netdev=n0,romfile=",
            ])
            .arg("-drive")
            .arg(format!(
                "if=none,id=disk,format=raw,file={}",
                self.disk.display()
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
        let seconds = started.elapsed().as_secs_f64();
        // Kept for a look afterwards (and for fixtures): `HCL_STICK_KEEP=DIR`.
        if let Some(keep) = std::env::var_os("HCL_STICK_KEEP") {
            let keep = PathBuf::from(keep);
            let _ = std::fs::create_dir_all(&keep);
            let _ = std::fs::copy(&serial, keep.join(format!("serial-{name}.log")));
            let _ = std::fs::copy(&self.image, keep.join(format!("stick-{name}.img")));
        }
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
            "{name} power-on: qemu did not power off by itself within {QEMU_LIMIT:?} \
             ({status:?}); serial log:\n{tail}"
        );
        eprintln!("{name} power-on, {seconds:.0} s:\n{tail}");
        seconds
    }
}

/// One kernel's run: observed, its own release, the real drivers bound and predicted by its own
/// profile, the IOMMU on with every PCI device in a group, no log line and nothing private.
fn check_observed(rec: &RunRecord, own: &str) {
    assert_eq!(rec.outcome, Outcome::Observed, "{:?}", rec.message);
    let report = rec.report.as_ref().expect("report");
    assert_eq!(
        report.system.running_kernel.as_deref(),
        Some(rec.release.as_str())
    );
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
    // intel_iommu=on on the kernel command line: VT-d on, every PCI device in a group.
    assert_eq!(
        report.system.iommu_enabled,
        Some(hcl_data::Tri::Yes),
        "{}: IOMMU not enabled",
        rec.release
    );
    let ungrouped: Vec<&str> = report
        .devices
        .iter()
        .filter(|d| d.bus == "pci" && d.iommu_group.is_none())
        .map(|d| d.modalias.as_str())
        .collect();
    assert!(
        ungrouped.is_empty(),
        "{}: PCI devices without an IOMMU group: {ungrouped:?}",
        rec.release
    );
    // No kernel's built-in platform drivers counted as misses, no -ENODEV as an error.
    let mut tally = hcl_data::Tally::default();
    for d in &report.devices {
        tally.add(d, own);
    }
    assert_eq!(tally.bound_not_predicted, 0, "{}: {tally:?}", rec.release);
    assert_eq!(tally.errors, 0, "{}: {tally:?}", rec.release);
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
