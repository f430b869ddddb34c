//! Fault injection on the real binary (issue 8): the disk fills, the database files become
//! immutable, the database's mount turns read-only, PostgreSQL backends are killed and the
//! PostgreSQL server restarts, all while uploads arrive. Every test asserts the same thing:
//! while the fault lasts an upload is answered 503 with Retry-After (never 201), health says
//! 503, the server takes uploads again by itself once the fault ends, and every report it
//! acknowledged reads back after the fault and after a restart.
//!
//! They need root (mount, chattr, runuser). Without it they fail when `CI` is set and are
//! skipped loudly otherwise. Mounts and attributes are undone by guards, also when a test
//! fails.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{http, sample_report};

/// Whether this process may mount and change attributes; otherwise it says why the test is
/// skipped (or fails under CI).
fn privileged(test: &str) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "hcl-probe-check", "--"])
        .arg(dir.path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if mounted {
        let _ = Command::new("umount").arg(dir.path()).status();
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {test} cannot mount (it needs root): run the tests as root"
    );
    eprintln!("\n*** SKIPPED {test}: needs root (mount, chattr) ***\n");
    false
}

/// Run a command that must succeed.
fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs its closure when dropped: undoes a fault even when the test fails.
struct Undo<F: FnMut()>(F);

impl<F: FnMut()> Drop for Undo<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// A mount point that is unmounted (lazily, so it always goes) when dropped.
struct Mount {
    path: PathBuf,
}

impl Mount {
    fn tmpfs(path: &Path, size: &str) -> Mount {
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "hcl-probe-fault",
                path.to_str().expect("utf-8 path"),
            ],
        );
        Mount {
            path: path.to_owned(),
        }
    }

    /// A fresh 64 MiB ext4 file system in `image`, mounted on `path` through a loop device.
    fn ext4_image(image: &Path, path: &Path) -> Mount {
        let image = image.to_str().expect("utf-8 path");
        run("truncate", &["-s", "64M", image]);
        run("mkfs.ext4", &["-q", "-F", image]);
        run(
            "mount",
            &["-o", "loop", image, path.to_str().expect("utf-8 path")],
        );
        Mount {
            path: path.to_owned(),
        }
    }

    fn bind(src: &Path, path: &Path) -> Mount {
        run(
            "mount",
            &[
                "--bind",
                src.to_str().expect("utf-8 path"),
                path.to_str().expect("utf-8 path"),
            ],
        );
        Mount {
            path: path.to_owned(),
        }
    }

    fn remount(&self, opts: &str) -> std::process::Output {
        Command::new("mount")
            .args(["-o", opts])
            .arg(&self.path)
            .output()
            .expect("mount")
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// `hcl-aggregator serve` on a loopback port; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// Its stderr (it logs nothing else: RUST_LOG=off), in a folder dropped with it.
    log: tempfile::NamedTempFile,
}

impl Server {
    /// Whether the server ended by SIGBUS, saying why (the one fault SQLite cannot answer:
    /// a refused write to its mapped -shm file); waits up to 10 s for it to end.
    fn stopped_by_sigbus(&mut self) -> bool {
        use std::os::unix::process::ExitStatusExt as _;
        let mut status = None;
        wait_until(10, || {
            status = self.child.try_wait().expect("try_wait");
            status.is_some()
        });
        let said = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        eprintln!("server ended: {status:?}, it said: {said}");
        status.and_then(|s| s.signal()) == Some(libc::SIGBUS)
            && said.contains("SIGBUS: a memory-mapped file could not be written")
            && said.contains("-shm")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start the server on `url`; Err(its stderr) when it exits instead of listening.
fn try_spawn(url: &str) -> Result<Server, String> {
    use std::io::BufRead as _;
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hcl-aggregator"))
        .args(["serve", "--listen", "127.0.0.1:0", "--rate-per-sec", "0"])
        .args(["--db", url])
        // The writer logs every failed batch; the tests read statuses, not logs.
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(log.reopen().expect("log file"))
        .spawn()
        .expect("spawn hcl-aggregator");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    let _ = std::io::BufReader::new(stdout).read_line(&mut line);
    match line.trim().strip_prefix("listening on http://") {
        Some(addr) => Ok(Server {
            addr: addr.parse().expect("address"),
            child,
            log,
        }),
        None => {
            let status = child.wait().expect("wait");
            let err = std::fs::read_to_string(log.path()).unwrap_or_default();
            Err(format!("{status}: {err}"))
        }
    }
}

fn spawn(url: &str) -> Server {
    try_spawn(url).unwrap_or_else(|e| panic!("server did not start: {e}"))
}

/// A report of a few KB that compresses poorly, distinct per `n`, so the disk fills fast.
fn big_report(n: usize) -> hcl_data::Report {
    let mut r = sample_report(n);
    let mut x = n as u64 + 1;
    let mut text = |len: usize| -> String {
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                // a..p: letters only, nothing a privacy check could take for an identifier.
                char::from(b'a' + (x >> 60) as u8)
            })
            .collect()
    };
    let template = r.devices[0].clone();
    for _ in 0..12 {
        let mut d = template.clone();
        d.device_name = Some(text(480));
        r.devices.push(d);
    }
    r
}

fn upload(addr: SocketAddr, n: usize) -> std::io::Result<crate::common::Resp> {
    let body = serde_json::to_vec(&big_report(n)).expect("json");
    http(
        addr,
        "POST",
        "/api/v1/reports",
        &[("Content-Type", "application/json")],
        &body,
    )
}

/// Uploaders posting distinct reports until stopped, counting what was acknowledged.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<usize>>>,
    refused: Arc<AtomicUsize>,
    /// Uploads that got no answer (the server hung or died); that uploader then stops.
    unanswered: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(addr: SocketAddr, first: usize, threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let unanswered = Arc::new(AtomicUsize::new(0));
        let next = Arc::new(AtomicUsize::new(first));
        let threads = (0..threads)
            .map(|_| {
                let (stop, acked, refused, unanswered, next) = (
                    stop.clone(),
                    acked.clone(),
                    refused.clone(),
                    unanswered.clone(),
                    next.clone(),
                );
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let Ok(r) = upload(addr, n) else {
                            unanswered.fetch_add(1, Ordering::Relaxed);
                            return;
                        };
                        match r.status {
                            200 | 201 => acked.lock().unwrap().push(n),
                            503 => {
                                assert!(
                                    r.header("retry-after").is_some(),
                                    "503 without Retry-After"
                                );
                                refused.fetch_add(1, Ordering::Relaxed);
                                // A client backs off; a little here, to keep the test short.
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            s => panic!("upload {n}: unexpected {s} {}", r.text()),
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            acked,
            refused,
            unanswered,
            threads,
        }
    }

    /// An uploader stopped (it panicked, or got no answer): waiting on the others is pointless.
    fn broken(&self) -> bool {
        self.threads.iter().any(JoinHandle::is_finished)
    }

    /// Pass on an uploader's panic.
    fn check(&mut self) {
        if self.broken() {
            self.stop.store(true, Ordering::Relaxed);
            for t in self.threads.drain(..) {
                if let Err(p) = t.join() {
                    std::panic::resume_unwind(p);
                }
            }
        }
    }

    fn acked(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    fn refused(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }

    /// Stop and join; the acknowledged reports and the number refused. Every upload must have
    /// been answered (see [`Load::finish_unanswered`]).
    fn finish(self) -> (Vec<usize>, usize) {
        let (acked, refused, unanswered) = self.finish_unanswered();
        assert_eq!(
            unanswered, 0,
            "uploads got no answer: the server hung or died"
        );
        (acked, refused)
    }

    /// [`Load::finish`], also counting the uploads that got no answer.
    fn finish_unanswered(self) -> (Vec<usize>, usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            if let Err(p) = t.join() {
                std::panic::resume_unwind(p);
            }
        }
        let acked = self.acked.lock().unwrap().clone();
        let unanswered = self.unanswered.load(Ordering::Relaxed);
        (acked, self.refused.load(Ordering::Relaxed), unanswered)
    }
}

/// Poll `f` every 50 ms until it holds; false after `secs`.
fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn health(addr: SocketAddr) -> u16 {
    http(addr, "GET", "/api/v1/health", &[], b"")
        .expect("health answers")
        .status
}

/// Every acknowledged report reads back, equal to what was sent.
fn assert_all_readable(addr: SocketAddr, acked: &[usize], when: &str) {
    for &n in acked {
        let want = big_report(n);
        let r = http(
            addr,
            "GET",
            &format!("/api/v1/reports/{}", want.content_id()),
            &[],
            b"",
        )
        .expect("GET");
        assert_eq!(r.status, 200, "acknowledged report {n} lost {when}");
        let got: hcl_data::Report = serde_json::from_slice(&r.body).expect("report JSON");
        assert!(got == want, "report {n} changed {when}");
    }
}

/// How a fault shows while it lasts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Lasts until healed (immutable files, server stopped): health and a fresh upload must
    /// say 503 once the load stops.
    Steady,
    /// A full disk: small writes may still fit now and then (the WAL reuses its space), so a
    /// fresh upload may be stored (201, then checked like the others), but health must say
    /// 503 while the uploads are being refused.
    Filling,
    /// Strikes now and then (killed connections): only the uploads it hits are refused.
    Flapping,
}

#[derive(Clone, Copy)]
struct Shows {
    kind: Kind,
    /// Reads still work meanwhile (SQLite), so acknowledged reports must read back then too.
    reads: bool,
    /// The server may stop by SIGBUS instead of answering 503: SQLite maps its -shm file, and
    /// a write the kernel refuses there (an immutable file) is a signal, not an error. Then it
    /// must have said why, and after the heal a restart must find everything acknowledged.
    may_stop: bool,
}

/// The checks while the fault lasts: refusals, health, a fresh upload, reads. Returns the
/// fresh upload when it was stored after all (a filling disk may still take one).
fn fault_checks(
    srv: &Server,
    shows: Shows,
    refused: usize,
    health_503: bool,
    acked: &[usize],
) -> Vec<usize> {
    assert!(refused >= 4, "too few refusals: {refused}");
    let mut stored = Vec::new();
    match shows.kind {
        Kind::Steady => {
            let during = health(srv.addr);
            assert_eq!(during, 503, "health says {during} during the fault");
            // A fresh upload during the fault is refused too, not acknowledged.
            let r = upload(srv.addr, 900_000).expect("answer during the fault");
            assert_eq!(r.status, 503, "during the fault: {} {}", r.status, r.text());
        }
        Kind::Filling => {
            assert!(
                health_503 || health(srv.addr) == 503,
                "health never said 503 while uploads were refused"
            );
            let r = upload(srv.addr, 900_000).expect("answer during the fault");
            match r.status {
                201 => stored.push(900_000),
                503 => {}
                s => panic!("during the fault: {s} {}", r.text()),
            }
        }
        Kind::Flapping => {}
    }
    if shows.reads {
        assert_all_readable(srv.addr, acked, "during the fault");
    }
    stored
}

/// The common course of a fault: uploads flow, `inject` starts the fault (it may also be the
/// uploads themselves, filling a disk), uploads are refused with 503 and health says so,
/// `heal` ends it, uploads are taken again without a restart, and everything acknowledged reads
/// back before and after a restart (`kill -9`, the harshest one).
fn fault_course(url: &str, shows: Shows, inject: impl FnOnce(&Server), heal: impl FnOnce()) {
    let mut srv = spawn(url);
    let mut load = Load::start(srv.addr, 0, 4);
    assert!(
        wait_until(30, || load.broken() || load.acked() >= 20),
        "uploads do not go through before the fault"
    );
    load.check();
    inject(&srv);
    let mut health_503 = false;
    assert!(
        wait_until(30, || {
            if shows.kind == Kind::Filling && !health_503 {
                health_503 = health(srv.addr) == 503;
            }
            load.broken() || load.refused() >= 4
        }),
        "the fault never showed: {} acknowledged, {} refused",
        load.acked(),
        load.refused()
    );
    let (mut acked, refused, unanswered) = load.finish_unanswered();
    // Everything that needs the server during the fault; it may end there (`may_stop`).
    let during = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_eq!(
            unanswered, 0,
            "uploads got no answer: the server hung or died"
        );
        fault_checks(&srv, shows, refused, health_503, &acked)
    }));
    match during {
        Ok(stored) => acked.extend(stored),
        Err(panic) => {
            if !(shows.may_stop && srv.stopped_by_sigbus()) {
                std::panic::resume_unwind(panic);
            }
            heal();
            drop(srv);
            let srv = spawn(url);
            assert_all_readable(srv.addr, &acked, "after the SIGBUS stop and a restart");
            assert_eq!(upload(srv.addr, 2_000_000).expect("upload").status, 201);
            eprintln!(
                "fault course: the server stopped by SIGBUS, saying why; {} acknowledged, \
                 {refused} refused (503), all there after a restart",
                acked.len()
            );
            return;
        }
    }

    heal();
    let mut next = 1_000_000;
    let mut after = Vec::new();
    assert!(
        wait_until(30, || {
            next += 1;
            let ok = upload(srv.addr, next).is_ok_and(|r| r.status == 201);
            if ok {
                after.push(next);
            }
            ok
        }),
        "uploads are still refused after the fault ended (no restart)"
    );
    assert_eq!(health(srv.addr), 200, "health after the fault");
    assert_all_readable(srv.addr, &acked, "after the fault");
    eprintln!(
        "fault course: {} acknowledged, {refused} refused (503) during the fault",
        acked.len()
    );

    drop(srv);
    let srv = spawn(url);
    assert_all_readable(srv.addr, &acked, "after a restart");
    assert_all_readable(srv.addr, &after, "after a restart");
    assert_eq!(upload(srv.addr, 2_000_000).expect("upload").status, 201);
}

#[test]
fn sqlite_disk_full_refuses_with_503_and_recovers() {
    if !privileged("sqlite_disk_full_refuses_with_503_and_recovers") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mnt = Mount::tmpfs(dir.path(), "3m");
    let url = format!("sqlite://{}", dir.path().join("hcl.db").display());
    // The uploads themselves fill the 3 MB; more room ends the fault.
    fault_course(
        &url,
        Shows {
            kind: Kind::Filling,
            reads: true,
            may_stop: false,
        },
        |_| {},
        || {
            let out = mnt.remount("remount,size=64m");
            assert!(out.status.success(), "{out:?}");
        },
    );
}

#[test]
fn sqlite_immutable_files_refuse_with_503_or_stop_by_sigbus_saying_why() {
    if !privileged("sqlite_immutable_files_refuse_with_503_or_stop_by_sigbus_saying_why") {
        return;
    }
    // Not tmpfs: it takes the flag but still lets an open file be written. The build folder's
    // file system (ext4, xfs, btrfs) refuses; where it does not (overlayfs on some CI machines),
    // a small ext4 image mounted through a loop device does.
    let scratch = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let _ext4 = if immutable_blocks_open_files(dir.path()) {
        None
    } else {
        let ext4 = Mount::ext4_image(&scratch.path().join("fs.img"), dir.path());
        assert!(
            immutable_blocks_open_files(dir.path()),
            "chattr +i does not stop writes even on an ext4 image at {}",
            dir.path().display()
        );
        Some(ext4)
    };
    let db = dir.path().join("hcl.db");
    let url = format!("sqlite://{}", db.display());
    let files: Vec<PathBuf> = ["hcl.db", "hcl.db-wal", "hcl.db-shm"]
        .iter()
        .map(|f| dir.path().join(f))
        .collect();
    let set = |flag: &str| {
        for f in &files {
            let _ = Command::new("chattr").arg(flag).arg(f).status();
        }
    };
    let _undo = Undo(|| set("-i"));
    fault_course(
        &url,
        Shows {
            kind: Kind::Steady,
            reads: true,
            may_stop: true,
        },
        |_| {
            for f in &files {
                run("chattr", &["+i", f.to_str().expect("utf-8 path")]);
            }
        },
        || set("-i"),
    );
}

/// Whether `chattr +i` makes a write through a file opened before it fail here, as it must
/// for the test to mean anything.
fn immutable_blocks_open_files(dir: &Path) -> bool {
    use std::io::Write as _;
    let probe = dir.join("probe");
    let Ok(mut f) = std::fs::File::create(&probe) else {
        return false;
    };
    let flagged = Command::new("chattr")
        .arg("+i")
        .arg(&probe)
        .status()
        .is_ok_and(|s| s.success());
    let blocked = flagged && f.write_all(b"x").and_then(|()| f.sync_all()).is_err();
    let _ = Command::new("chattr").arg("-i").arg(&probe).status();
    let _ = std::fs::remove_file(&probe);
    blocked
}

/// A read-only bind mount cannot hit a running server: Linux refuses to make a mount read-only
/// while a file on it is open for writing (EBUSY), and the server holds its database open; the
/// test checks that this still holds and that uploads keep going through. A server started on
/// a mount that is read-only refuses to start with a clear error instead of answering 201, and
/// once the mount is writable again everything acknowledged is there.
#[test]
fn sqlite_read_only_bind_mount_never_acknowledges_what_it_cannot_store() {
    if !privileged("sqlite_read_only_bind_mount_never_acknowledges_what_it_cannot_store") {
        return;
    }
    let src = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let mnt = Mount::bind(src.path(), dir.path());
    let url = format!("sqlite://{}", dir.path().join("hcl.db").display());
    let srv = spawn(&url);
    let load = Load::start(srv.addr, 0, 2);
    assert!(
        wait_until(30, || load.broken() || load.acked() >= 20),
        "no uploads"
    );
    let ro = mnt.remount("remount,bind,ro");
    let acked = if ro.status.success() {
        // A kernel that allows it: then it is a live fault, and the usual course applies.
        assert!(
            wait_until(30, || load.broken() || load.refused() >= 4),
            "read-only mount: uploads still acknowledged"
        );
        let (acked, _) = load.finish();
        assert_eq!(health(srv.addr), 503);
        assert_all_readable(srv.addr, &acked, "on the read-only mount");
        let out = mnt.remount("remount,bind,rw");
        assert!(out.status.success(), "{out:?}");
        assert!(
            wait_until(30, || upload(srv.addr, 800_000)
                .is_ok_and(|r| r.status == 201)),
            "no recovery after the mount is writable again"
        );
        let mut acked = acked;
        acked.push(800_000);
        acked
    } else {
        assert!(
            String::from_utf8_lossy(&ro.stderr).contains("busy"),
            "remount refused for another reason: {ro:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
        let (acked, refused) = load.finish();
        assert_eq!(refused, 0, "uploads refused although nothing failed");
        acked
    };
    assert_all_readable(srv.addr, &acked, "after the remount");
    drop(srv);

    // Started on a read-only mount: a clear refusal, nothing acknowledged.
    let out = mnt.remount("remount,bind,ro");
    assert!(out.status.success(), "{out:?}");
    match try_spawn(&url) {
        Err(e) => assert!(
            e.contains("hcl.db") && e.contains("unable to open"),
            "unclear error: {e}"
        ),
        Ok(srv) => {
            let r = upload(srv.addr, 700_000).expect("answer");
            assert_eq!(r.status, 503, "read-only database: {}", r.text());
            assert_eq!(health(srv.addr), 503);
        }
    }
    let out = mnt.remount("remount,bind,rw");
    assert!(out.status.success(), "{out:?}");
    let srv = spawn(&url);
    assert_all_readable(srv.addr, &acked, "after a restart");
    assert_eq!(upload(srv.addr, 2_000_000).expect("upload").status, 201);
}

/// The test PostgreSQL server, or a loud skip (a failure under CI).
fn postgres_base(test: &str) -> Option<String> {
    match std::env::var("HCL_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but HCL_TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL"
            );
            eprintln!("\n*** SKIPPED {test}: HCL_TEST_POSTGRES_URL is not set ***\n");
            None
        }
    }
}

/// A fresh schema and a URL that names this server's connections, so only they are killed.
fn tagged_pg_url(base: &str, tag: &str) -> String {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let url = rt.block_on(crate::common::fresh_pg_schema(base));
    format!("{url}&application_name={tag}")
}

#[test]
fn postgres_backends_killed_mid_batch_lose_nothing_acknowledged() {
    let Some(base) = postgres_base("postgres_backends_killed_mid_batch_lose_nothing_acknowledged")
    else {
        return;
    };
    let tag = format!("hcl_fault_{}", std::process::id());
    let url = tagged_pg_url(&base, &tag);
    let killed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let killer = Mutex::new(None);
    fault_course(
        &url,
        Shows {
            kind: Kind::Flapping,
            reads: false,
            may_stop: false,
        },
        |_| {
            let (killed, stop, base, tag) = (killed.clone(), stop.clone(), base.clone(), tag);
            *killer.lock().unwrap() = Some(std::thread::spawn(move || {
                let rt = tokio::runtime::Runtime::new().expect("runtime");
                rt.block_on(async {
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(&base).await.expect("connect");
                    while !stop.load(Ordering::Relaxed) {
                        let n: i64 = sqlx::query_scalar(
                            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) \
                             FROM pg_stat_activity WHERE application_name = $1) k",
                        )
                        .bind(&tag)
                        .fetch_one(&mut c)
                        .await
                        .expect("terminate");
                        killed.fetch_add(n as usize, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(15)).await;
                    }
                });
            }));
        },
        || {
            stop.store(true, Ordering::Relaxed);
            if let Some(k) = killer.lock().unwrap().take() {
                k.join().expect("killer");
            }
        },
    );
    assert!(killed.load(Ordering::Relaxed) > 0, "no backend was killed");
}

/// A private PostgreSQL cluster (the shared test server must not stop under other tests),
/// stopped and removed when dropped.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("pg_ctl").is_file())
            .max()?;
        let dir = tempfile::Builder::new()
            .prefix("hcl-pg-fault-")
            .tempdir()
            .expect("tempdir");
        run(
            "chown",
            &["postgres:postgres", dir.path().to_str().expect("utf-8")],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let c = Cluster { bin, dir, port };
        c.pg(&["initdb", "-D", &c.data(), "-A", "trust", "-U", "postgres"]);
        c.ctl("start");
        Some(c)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg(&self, args: &[&str]) {
        let tool = self.bin.join(args[0]);
        let mut full = vec!["-u", "postgres", "--", tool.to_str().expect("utf-8")];
        full.extend_from_slice(&args[1..]);
        run("runuser", &full);
    }

    fn ctl(&self, what: &str) {
        let data = self.data();
        let log = format!("{data}.log");
        let opts = format!(
            "-p {} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on",
            self.port
        );
        match what {
            "start" => self.pg(&[
                "pg_ctl", "-D", &data, "-l", &log, "-w", "-o", &opts, "start",
            ]),
            _ => self.pg(&["pg_ctl", "-D", &data, "-w", "-m", "fast", "stop"]),
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let ctl = self.bin.join("pg_ctl");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(ctl)
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn postgres_server_restart_refuses_with_503_and_recovers() {
    if postgres_base("postgres_server_restart_refuses_with_503_and_recovers").is_none()
        || !privileged("postgres_server_restart_refuses_with_503_and_recovers")
    {
        return;
    }
    let cluster = Cluster::start().expect("PostgreSQL binaries under /usr/lib/postgresql");
    let url = tagged_pg_url(&cluster.url(), "hcl_fault_restart");
    fault_course(
        &url,
        Shows {
            kind: Kind::Steady,
            reads: false,
            may_stop: false,
        },
        |_| cluster.ctl("stop"),
        || cluster.ctl("start"),
    );
}
