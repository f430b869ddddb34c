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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    // The watchdog: whatever hangs below (a module's init, a dead USB stick), the tour goes on.
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        say("deadline reached: this kernel leaves no result; moving on to the next one");
        end(Then::Reboot, Duration::from_secs(3));
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
    let mut loader = coldplug::Loader::new(&index, Path::new("/"));
    let settle = coldplug::Settle {
        tick: Duration::from_millis(250),
        quiet: Duration::from_secs(u64::from(plan.settle_secs.max(1))),
        max: Duration::from_secs(u64::from(plan.deadline_secs / 2).max(30)),
    };
    let loads = coldplug::coldplug(Path::new("/sys"), &own, &mut loader, settle, &say);
    let settled_s = uptime();
    let modules_loaded = u32::try_from(loader.loaded()).unwrap_or(u32::MAX);
    say(&format!(
        "buses settled after {settled_s:.1} s: {} devices, {modules_loaded} modules loaded",
        loads.len()
    ));

    let Some(disk) = find_stick(plan) else {
        say(&format!(
            "no stick found: no partition {RESULTS_PARTITION} on a disk with this stick's GUID. \
             This kernel drives no USB controller the stick is on, or lacks its storage driver. \
             Nothing was written; the next kernel will record this one as giving no result."
        ));
        std::thread::sleep(Duration::from_secs(10));
        return Then::Reboot;
    };
    let entries = session::read_entries(&disk).unwrap_or_else(|e| {
        say(&format!("cannot read the loader entries: {e}"));
        Vec::new()
    });
    let latest = session::read_latest(&disk).unwrap_or_else(|e| {
        say(&format!("cannot read earlier runs: {e}"));
        session::Latest::default()
    });
    let decision = session::decide(me, &entries, &latest);
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
        finish(&disk, decision.session, &records, &entries, true);
        return Then::PowerOff;
    }

    let mut message = None;
    let report = match build_report(&own, &loads) {
        Ok(r) => Some(r),
        Err(e) => {
            message = Some(format!("the scan failed: {e}"));
            None
        }
    };
    records.push(RunRecord {
        format: FORMAT,
        session: decision.session,
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
    });
    let last = !session::more_to_go(&entries);
    finish(&disk, decision.session, &records, &entries, last);
    if last {
        say("that was the last kernel: powering off");
        Then::PowerOff
    } else {
        say("rebooting into the next kernel");
        Then::Reboot
    }
}

/// Writes the records; at the end of a session also marks it and gives every loader entry its
/// try back. A full stick is said on screen; earlier runs stay as they are.
fn finish(
    disk: &StickDisk,
    session: u32,
    records: &[RunRecord],
    entries: &[session::EntryFile],
    complete: bool,
) {
    match session::write_records(disk, session, records, complete) {
        Ok(()) => say(&format!(
            "results written to the stick (session {session}, {} record(s))",
            records.len()
        )),
        Err(e) => say(&format!(
            "could not write the results to the stick ({e}); is it full? Earlier runs on it are \
             untouched; read them with `hcl-probe stick results`"
        )),
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
        let driver_module = if device.driver.is_some() {
            coldplug::driver_module(&dir)
        } else if companion_driver.is_some() {
            coldplug::driver_module(&companion)
        } else {
            None
        };
        let mut observed = Observed {
            modules: load.map(|l| l.modules.clone()).unwrap_or_default(),
            driver_module,
            companion_driver,
            firmware_failed: Vec::new(),
            errors: load.map(|l| l.errors.clone()).unwrap_or_default(),
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

/// The stick: a whole disk holding a partition named [`RESULTS_PARTITION`] whose GPT says the
/// plan's disk GUID and partition GUIDs. Waits a little for slow USB disks.
fn find_stick(plan: &Plan) -> Option<StickDisk> {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
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
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
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
