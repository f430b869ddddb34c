//! Observe mode: this binary as `/init` of each kernel's initramfs on the observation stick
//! (see [`crate::stick`]). It mounts proc, sys and devtmpfs, loads for every device's modalias
//! the modules the booted kernel's own data resolves, waits for the buses to settle, records per
//! device the driver that bound, the modules loaded, firmware that failed to load and probe
//! errors, writes that run to the stick's results partition, and reboots into the next kernel
//! (the loader picks it) or powers off after the last.
//!
//! It writes nowhere but the stick: the stick is the disk whose GPT disk GUID is the one the
//! builder wrote into this initramfs, and other disks are never opened for writing. No
//! efivarfs is mounted, so nothing reaches the machine's NVRAM.

mod coldplug;
pub mod kmsg;
mod session;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hcl_data::{Observed, ObservedError, ObservedErrorKind};
use hcl_kernel_engine::{Catalog, Profile};

use crate::root::Root;
use crate::scan;
use crate::stick::disk::StickDisk;
use crate::stick::layout::{
    FORMAT, MODULE_INDEX_FILE, ModuleIndex, Outcome, PLAN_FILE, PROFILE_DIR, Plan,
    RESULTS_PARTITION, RunRecord, Timings,
};

/// Prints a line on the console (the init's standard output).
fn say(line: &str) {
    println!("hcl-probe observe: {line}");
}

/// Seconds since the kernel started.
fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// How the boot ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Reboot,
    PowerOff,
}

/// Runs as PID 1 and never returns.
pub fn run() -> ! {
    mount_basics();
    let init_started_s = uptime();
    let plan = match read_json::<Plan>(Path::new("/").join(PLAN_FILE).as_path()) {
        Ok(p) => p,
        Err(e) => {
            say(&format!(
                "cannot read the plan ({e}); this initramfs is not from `hcl-probe stick build`. Powering off in 30 s."
            ));
            end(Then::PowerOff, Duration::from_secs(30));
        }
    };
    let deadline = Duration::from_secs(u64::from(plan.deadline_secs.max(60)));
    // The watchdog: whatever hangs below (a module's init, a dead USB stick), the tour goes on,
    // and the hang is recorded when the stick can still be written.
    let watched = plan.clone();
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        say(&format!(
            "deadline reached: this kernel hangs {} s after its init started; moving on",
            deadline.as_secs()
        ));
        let then = record_timeout(watched, deadline);
        end(then, Duration::from_secs(3));
    });
    let then = observe(&plan, init_started_s);
    end(then, Duration::from_secs(2));
}

fn observe(plan: &Plan, init_started_s: f64) -> Then {
    let me = plan.this_entry;
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    say(&format!(
        "kernel {me} of {} ({release}) started {init_started_s:.1} s after power to the kernel",
        plan.kernels.len()
    ));
    let index: ModuleIndex = match read_json(&Path::new("/").join(MODULE_INDEX_FILE)) {
        Ok(i) => i,
        Err(e) => {
            say(&format!("module index unreadable: {e}"));
            ModuleIndex::default()
        }
    };
    let own = plan.kernel(me).and_then(|k| {
        let path = Path::new("/")
            .join(PROFILE_DIR)
            .join(format!("{}.profile.zst", k.profile_id));
        let bytes = std::fs::read(&path).ok()?;
        Profile::decode(&bytes, &path.display().to_string()).ok()
    });
    let Some(own) = own else {
        say("this kernel's profile is missing from the initramfs: rebuild the stick");
        return Then::Reboot;
    };
    // Before any module is loaded, every driver registered is built into the kernel.
    let builtin = registered_drivers(Path::new("/sys"));
    let mut loader = coldplug::Loader::new(&index, Path::new("/"));
    let settle = coldplug::Settle {
        tick: Duration::from_millis(250),
        quiet: Duration::from_secs(u64::from(plan.settle_secs.max(1))),
        stick_wait: STICK_WAIT,
        max: Duration::from_secs(u64::from(plan.deadline_secs / 2).max(30)),
    };
    let loads = coldplug::coldplug(
        Path::new("/sys"),
        &own,
        &mut loader,
        settle,
        &|| find_stick_once(plan),
        &say,
    );
    let settled_s = uptime();
    let modules_loaded = u32::try_from(loader.loaded()).unwrap_or(u32::MAX);
    let without_driver = loader.without_driver();
    say(&format!(
        "buses settled after {settled_s:.1} s: {} devices, {modules_loaded} modules loaded",
        loads.len()
    ));

    let Some(disk) = loader.into_stick().or_else(|| find_stick(plan)) else {
        say(&format!(
            "no stick found: no partition {RESULTS_PARTITION} on a disk with this stick's GUID. \
             This kernel drives no USB controller the stick is on, or lacks its storage driver. \
             Nothing was written; the next kernel will record this one as giving no result."
        ));
        std::thread::sleep(Duration::from_secs(10));
        return Then::Reboot;
    };
    conclude(plan, &disk, &WRITING, |session| {
        let mut message = None;
        let report = match build_report(&own, &loads, &builtin, &without_driver) {
            Ok(r) => Some(r),
            Err(e) => {
                message = Some(format!("the scan failed: {e}"));
                None
            }
        };
        RunRecord {
            format: FORMAT,
            session,
            entry: me,
            release,
            outcome: Outcome::Observed,
            message,
            timings: Some(Timings {
                init_started_s,
                settled_s,
                report_ready_s: uptime(),
                modules_loaded,
            }),
            report,
        }
    })
}

/// Records this boot on the stick: a `no_result` record for each kernel before it that left
/// none, then `mine(session)` for this one, unless the loader fell back here after the last
/// kernel (the session then only ends). Returns how the boot ends.
fn conclude(
    plan: &Plan,
    disk: &StickDisk,
    writing: &AtomicBool,
    mine: impl FnOnce(u32) -> RunRecord,
) -> Then {
    let entries = session::read_entries(disk).unwrap_or_else(|e| {
        say(&format!("cannot read the loader entries: {e}"));
        Vec::new()
    });
    let latest = session::read_latest(disk).unwrap_or_else(|e| {
        say(&format!("cannot read earlier runs: {e}"));
        session::Latest::default()
    });
    let decision = session::decide(plan.this_entry, &entries, &latest);
    let mut records: Vec<RunRecord> = decision
        .no_result
        .iter()
        .map(|&e| session::no_result(plan, decision.session, e))
        .collect();
    for r in &records {
        say(&format!(
            "kernel {} ({}) left no result: recorded",
            r.entry, r.release
        ));
    }
    if decision.wrapped_around {
        say("every kernel has been tried: ending the session");
        finish(disk, writing, decision.session, &records, &entries, true);
        return Then::PowerOff;
    }
    records.push(mine(decision.session));
    let last = !session::more_to_go(&entries);
    finish(disk, writing, decision.session, &records, &entries, last);
    if last {
        say("that was the last kernel: powering off");
        Then::PowerOff
    } else {
        say("rebooting into the next kernel");
        Then::Reboot
    }
}

/// Set by the first of the init and its watchdog to write to the stick; the other then leaves
/// the stick alone (two FAT writers would corrupt it).
static WRITING: AtomicBool = AtomicBool::new(false);

/// How long the watchdog waits for its record to be written: the hang may be in the USB or
/// storage path itself, and the tour must go on all the same.
const TIMEOUT_WRITE: Duration = Duration::from_secs(30);

/// The watchdog's record: this kernel timed out (see [`session::timed_out`]), written when
/// the stick can still be written within [`TIMEOUT_WRITE`]. Otherwise the next kernel records
/// it as giving no result.
fn record_timeout(plan: Plan, deadline: Duration) -> Then {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let then = find_stick_once(&plan).map(|disk| {
            conclude(&plan, &disk, &WRITING, |s| {
                session::timed_out(&plan, s, deadline)
            })
        });
        let _ = tx.send(then);
    });
    match rx.recv_timeout(TIMEOUT_WRITE) {
        Ok(Some(then)) => then,
        Ok(None) => {
            say("the stick is not reachable: the next kernel records this one as giving no result");
            Then::Reboot
        }
        Err(_) => {
            say(
                "writing to the stick hangs too: the next kernel records this one as giving no result",
            );
            Then::Reboot
        }
    }
}

/// Writes the records; at the end of a session also marks it and gives every loader entry its
/// try back. A full stick is said on screen; earlier runs stay as they are.
fn finish(
    disk: &StickDisk,
    writing: &AtomicBool,
    session: u32,
    records: &[RunRecord],
    entries: &[session::EntryFile],
    complete: bool,
) {
    if writing.swap(true, Ordering::SeqCst) {
        // The other writer is at it and ends this boot (the watchdog within TIMEOUT_WRITE).
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
    match session::write_records(disk, session, records, complete) {
        Ok(()) => say(&format!(
            "results written to the stick (session {session}, {} record(s))",
            records.len()
        )),
        Err(e) => say(&session::write_failure(&e)),
    }
    if complete && let Err(e) = session::reset_entries(disk, entries) {
        say(&format!("could not reset the loader entries: {e}"));
    }
}

/// The usual scan of this machine against the embedded profiles and this kernel's own, with
/// what was observed per device.
fn build_report(
    own: &Profile,
    loads: &BTreeMap<String, coldplug::DeviceLoad>,
    builtin: &BTreeSet<String>,
    without_driver: &BTreeSet<String>,
) -> Result<hcl_data::Report, crate::Error> {
    let root = Root::new("/");
    let machine = scan::read_machine(&root)?;
    let embedded = Catalog::start_embedded().finish(Some(&machine.alias_filter()))?;
    let mut profiles = embedded.profiles().to_vec();
    profiles.push(own.clone());
    let mut report = scan::match_kernels(&root, machine, &Catalog::from_profiles(profiles)).report;
    let events = kmsg::read_events().unwrap_or_else(|e| {
        say(&format!("cannot read the kernel log: {e}"));
        Vec::new()
    });
    for device in &mut report.devices {
        let Some(path) = device.sysfs_path.clone() else {
            continue;
        };
        let name = path.rsplit('/').next().unwrap_or_default().to_owned();
        let load = loads.get(&path);
        let dir = PathBuf::from(&path);
        let companion = dir.join("physical_node");
        let companion_driver = (device.driver.is_none())
            .then(|| std::fs::read_link(companion.join("driver")).ok())
            .flatten()
            .and_then(|l| Some(l.file_name()?.to_string_lossy().into_owned()));
        let bound_at = if device.driver.is_some() {
            Some(dir.as_path())
        } else if companion_driver.is_some() {
            Some(companion.as_path())
        } else {
            None
        };
        let driver_module = bound_at.and_then(coldplug::driver_module);
        let driver_builtin = bound_at
            .and_then(driver_key)
            .is_some_and(|k| builtin.contains(&k));
        let modules = load.map(|l| l.modules.clone()).unwrap_or_default();
        let modules_without_driver = modules
            .iter()
            .filter(|m| without_driver.contains(*m))
            .cloned()
            .collect();
        let mut observed = Observed {
            modules,
            modules_without_driver,
            driver_module,
            companion_driver,
            firmware_failed: Vec::new(),
            errors: load.map(|l| l.errors.clone()).unwrap_or_default(),
            driver_builtin,
        };
        for event in &events {
            match event {
                kmsg::Event::FirmwareFailed {
                    device: Some(d),
                    file,
                } if *d == name && !observed.firmware_failed.contains(file) => {
                    observed.firmware_failed.push(file.clone());
                }
                kmsg::Event::ProbeFailed {
                    device: Some(d),
                    driver,
                    errno,
                } if *d == name => {
                    let e = ObservedError {
                        kind: ObservedErrorKind::Probe,
                        driver: driver.clone(),
                        errno: *errno,
                    };
                    if !observed.errors.contains(&e) {
                        observed.errors.push(e);
                    }
                }
                _ => {}
            }
        }
        device.observed = Some(observed);
    }
    Ok(report)
}

/// Every driver registered now, as `bus/driver` (`pnp/i8042 kbd`). Read before the init loads
/// any module, these are the drivers built into the kernel (the kernel loads none by itself:
/// the initramfs has no modprobe for it to call); read around a module's load, those it
/// registered.
fn registered_drivers(sys: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(buses) = std::fs::read_dir(sys.join("bus")) else {
        return out;
    };
    for bus in buses.flatten() {
        let Ok(drivers) = std::fs::read_dir(bus.path().join("drivers")) else {
            continue;
        };
        for d in drivers.flatten() {
            out.insert(format!(
                "{}/{}",
                bus.file_name().to_string_lossy(),
                d.file_name().to_string_lossy()
            ));
        }
    }
    out
}

/// The bound driver of the device at `dir` as `bus/driver`: its `driver` link points to
/// `.../bus/<bus>/drivers/<driver>`.
fn driver_key(dir: &Path) -> Option<String> {
    let link = std::fs::read_link(dir.join("driver")).ok()?;
    let mut parts = link.iter().rev();
    let driver = parts.next()?.to_string_lossy().into_owned();
    (parts.next()? == "drivers").then_some(())?;
    let bus = parts.next()?.to_string_lossy().into_owned();
    Some(format!("{bus}/{driver}"))
}

/// How long the init waits for the stick to show up (slow USB disks).
const STICK_WAIT: Duration = Duration::from_secs(20);

/// The stick, waiting for it up to [`STICK_WAIT`].
fn find_stick(plan: &Plan) -> Option<StickDisk> {
    let until = Instant::now() + STICK_WAIT;
    loop {
        if let Some(stick) = find_stick_once(plan) {
            return Some(stick);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The stick: a whole disk holding a partition named [`RESULTS_PARTITION`] whose GPT says the
/// plan's disk GUID and partition GUIDs.
fn find_stick_once(plan: &Plan) -> Option<StickDisk> {
    for disk in candidate_disks() {
        let Ok(stick) = StickDisk::open(&disk, true) else {
            continue;
        };
        if stick.disk_guid.to_string() == plan.disk_guid
            && stick.boot.guid.to_string() == plan.boot_partition_guid
            && stick.results.guid.to_string() == plan.results_partition_guid
        {
            say(&format!("stick found: {}", disk.display()));
            return Some(stick);
        }
    }
    None
}

/// Whole disks that have a partition named [`RESULTS_PARTITION`] (sysfs `PARTNAME`): no other
/// disk is opened at all.
fn candidate_disks() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/sys/class/block") else {
        return out;
    };
    for entry in entries.flatten() {
        let part = entry.path();
        let uevent = std::fs::read_to_string(part.join("uevent")).unwrap_or_default();
        if !uevent
            .lines()
            .any(|l| l.strip_prefix("PARTNAME=") == Some(RESULTS_PARTITION))
        {
            continue;
        }
        // /sys/class/block/sdb2 -> .../block/sdb/sdb2: the parent folder is the disk.
        let disk = std::fs::canonicalize(&part)
            .ok()
            .and_then(|p| Some(p.parent()?.file_name()?.to_string_lossy().into_owned()));
        if let Some(disk) = disk {
            let dev = PathBuf::from("/dev").join(disk);
            if !out.contains(&dev) {
                out.push(dev);
            }
        }
    }
    out
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// proc, sys and devtmpfs; errors are said and the init goes on (a kernel may mount some
/// itself).
fn mount_basics() {
    use nix::mount::{MsFlags, mount};
    for (source, target, fstype) in [
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("devtmpfs", "/dev", "devtmpfs"),
    ] {
        let _ = std::fs::create_dir_all(target);
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
        if let Err(e) = mount(Some(source), target, Some(fstype), flags, None::<&str>)
            && e != nix::errno::Errno::EBUSY
        {
            say(&format!("mounting {target}: {e}"));
        }
    }
}

/// Syncs, waits, then reboots or powers off. PID 1 must never exit (the kernel would panic).
fn end(then: Then, wait: Duration) -> ! {
    use nix::sys::reboot::{RebootMode, reboot};
    nix::unistd::sync();
    std::thread::sleep(wait);
    let mode = match then {
        Then::Reboot => RebootMode::RB_AUTOBOOT,
        Then::PowerOff => RebootMode::RB_POWER_OFF,
    };
    let e = reboot(mode);
    say(&format!("reboot failed: {e:?}; halting here"));
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[cfg(all(test, feature = "stick-builder"))]
mod tests {
    use super::*;
    use crate::stick::disk::{Part, ensure_dir, write_file};
    use crate::stick::layout::{ENTRIES_DIR, PlannedKernel};
    use crate::stick::results;

    fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Loader entries as systemd-boot leaves them: `(entry, tries left)`.
    fn set_entries(disk: &StickDisk, tries: &[(u32, u32)]) {
        let fs = ok(disk.fs(Part::Boot));
        let dir = ok(ensure_dir(&fs.root_dir(), ENTRIES_DIR));
        let names: Vec<String> = dir
            .iter()
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .filter(|n| n.ends_with(".conf"))
            .collect();
        for n in names {
            ok(dir.remove(&n));
        }
        for (entry, left) in tries {
            let name = if *left == 0 {
                format!("hcl-{entry:02}+0-1.conf")
            } else {
                format!("hcl-{entry:02}+{left}.conf")
            };
            ok(write_file(&dir, &name, b"title test\n"));
        }
        drop(dir);
        ok(fs.unmount());
        ok(disk.sync());
    }

    #[test]
    fn a_hung_kernel_is_recorded_by_its_own_watchdog_and_the_tour_goes_on() {
        let tmp = ok(tempfile::tempdir());
        let path = tmp.path().join("stick.img");
        let mut plan = ok(crate::stick::build::blank_stick(&path, 8));
        plan.kernels = (1..=2)
            .map(|entry| PlannedKernel {
                entry,
                release: format!("6.{entry}.0-test"),
                profile_id: format!("stick-6.{entry}.0-test"),
                packages: Vec::new(),
            })
            .collect();
        let disk = ok(StickDisk::open(&path, true));

        // Kernel 1 hangs: its watchdog writes its record and the boot goes on to kernel 2.
        plan.this_entry = 1;
        set_entries(&disk, &[(1, 0), (2, 1)]);
        let deadline = Duration::from_secs(300);
        let then = conclude(&plan, &disk, &AtomicBool::new(false), |s| {
            session::timed_out(&plan, s, deadline)
        });
        assert_eq!(then, Then::Reboot, "kernel 2 is still to go");
        let r = ok(results::read(&path));
        let rec = &r.sessions[0].records[0];
        assert_eq!((rec.entry, rec.outcome), (1, Outcome::TimedOut));
        assert!(
            rec.message.as_deref().is_some_and(|m| m.contains("300 s")),
            "{rec:?}"
        );
        assert!(
            results::table(&r).contains("TIMED OUT"),
            "{}",
            results::table(&r)
        );
        assert_eq!(r.failures().len(), 1);

        // Kernel 2 observes: kernel 1 is not recorded twice, the session ends.
        plan.this_entry = 2;
        set_entries(&disk, &[(1, 0), (2, 0)]);
        let then = conclude(&plan, &disk, &AtomicBool::new(false), |session| RunRecord {
            format: FORMAT,
            session,
            entry: 2,
            release: "6.2.0-test".into(),
            outcome: Outcome::Observed,
            message: None,
            timings: None,
            report: None,
        });
        assert_eq!(then, Then::PowerOff);
        let r = ok(results::read(&path));
        assert!(r.sessions[0].complete);
        let outcomes: Vec<(u32, Outcome)> = r.sessions[0]
            .records
            .iter()
            .map(|x| (x.entry, x.outcome))
            .collect();
        assert_eq!(outcomes, [(1, Outcome::TimedOut), (2, Outcome::Observed)]);
    }

    #[test]
    fn the_second_writer_leaves_the_stick_alone() {
        // The init and its watchdog share one flag: whoever comes second never writes.
        let tmp = ok(tempfile::tempdir());
        let path = tmp.path().join("stick.img");
        let plan = ok(crate::stick::build::blank_stick(&path, 8));
        let disk = ok(StickDisk::open(&path, true));
        let writing = std::sync::Arc::new(AtomicBool::new(true));
        let (tx, rx) = std::sync::mpsc::channel();
        let flag = writing.clone();
        std::thread::spawn(move || {
            finish(
                &disk,
                &flag,
                1,
                &[session::no_result(&plan, 1, 1)],
                &[],
                false,
            );
            let _ = tx.send(());
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(2)).is_err(),
            "the second writer went on"
        );
        let r = ok(results::read(&path));
        assert!(r.sessions.is_empty(), "nothing written: {:?}", r.sessions);
    }
}
