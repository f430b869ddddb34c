//! Load benchmark of the upload API: reports/s and p50/p99 latency with 1, 16 and 64 concurrent
//! uploaders, on SQLite (with and without group commit) and on PostgreSQL, plus the server's
//! peak memory. Loopback only, a few seconds per case.
//!
//!     cargo bench -p hcl-aggregator --bench load
//!
//! Env: `HCL_BENCH_SECS` (seconds per case, default 3), `HCL_BENCH_POSTGRES_URL` or
//! `HCL_TEST_POSTGRES_URL` (PostgreSQL cases; skipped when unset), `HCL_BENCH_FILTER` (run only
//! the cases whose "backend report" label contains it, e.g. `group commit | realistic`).
//! The server is the real `hcl-aggregator serve` binary in its own process, so its peak RSS
//! (VmHWM) is the server's alone; the uploaders are raw HTTP/1.1 keep-alive clients.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hcl_data::{Coverage, Device, Report, Role, System, Tri, Verdict};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The shipped candidates, so the reports look like the probe's.
const KERNELS: [&str; hcl_kernel_engine::SHIPPED_IDS.len()] = hcl_kernel_engine::SHIPPED_IDS;

/// A report of a realistic size: `devices` PCI/USB devices, each with coverage for every shipped kernel.
/// The report id is the placeholder `BENCHID` so each upload can be made unique cheaply.
fn template(devices: usize) -> (Vec<u8>, Vec<u8>) {
    let devs = (0..devices)
        .map(|i| {
            let coverage = KERNELS
                .iter()
                .map(|k| {
                    (
                        (*k).to_owned(),
                        Coverage {
                            modules: vec!["i915".into()],
                            verdict: Verdict::Supported,
                            reason: "driven by i915".into(),
                            ..Default::default()
                        },
                    )
                })
                .collect();
            Device {
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
                coverage,
                ..Default::default()
            }
        })
        .collect();
    let report = Report {
        schema_version: hcl_data::SCHEMA_VERSION,
        report_id: "BENCHID".into(),
        generated_on: "2026-11-20".into(),
        generator: "hcl-probe 0.1.0".into(),
        origin: hcl_data::Origin::Probe,
        system: System {
            machine_type: Some("laptop".into()),
            brand: Some("Lenovo".into()),
            model: Some("ThinkPad T14 Gen 4".into()),
            cpu: Some("Intel(R) Core(TM) i7-1365U".into()),
            hvm: Tri::Yes,
            iommu: Tri::Yes,
            ..Default::default()
        },
        devices: devs,
        kernels: Default::default(),
        qubes: None,
    };
    let json = serde_json::to_string(&report).unwrap_or_default();
    let (a, b) = json.split_once("BENCHID").unwrap_or((&json, ""));
    (a.as_bytes().to_vec(), b.as_bytes().to_vec())
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(db: &str, batch: usize) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hcl-aggregator"))
            .args(["serve", "--listen", "127.0.0.1:0", "--rate-per-sec", "0"])
            .args(["--db", db, "--sqlite-batch", &batch.to_string()])
            // The uploaders stand for many clients but all come from 127.0.0.1.
            .args(["--max-connections-per-client", "0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn hcl-aggregator");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("server did not start: {line:?}"));
        Server { child, addr }
    }

    /// CPU time (user + system) the server process has used so far, seconds.
    fn cpu_secs(&self) -> f64 {
        cpu_secs_of(&format!("/proc/{}/stat", self.child.id()))
    }

    /// Peak resident memory of the server process so far, KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

/// utime + stime of a `/proc/PID/stat` file, seconds (clock ticks are 100 per second on Linux).
fn cpu_secs_of(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    ticks as f64 / 100.0
}

/// One keep-alive connection posting reports until `deadline`; returns latencies in µs.
async fn uploader(
    addr: SocketAddr,
    body: Arc<(Vec<u8>, Vec<u8>)>,
    counter: Arc<AtomicU64>,
    deadline: Instant,
) -> Result<Vec<u32>, String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut lat = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut req = Vec::with_capacity(body.0.len() + body.1.len() + 256);
    while Instant::now() < deadline {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let id = format!("bench-{n}");
        let len = body.0.len() + id.len() + body.1.len();
        req.clear();
        req.extend_from_slice(
            format!(
                "POST /api/v1/reports HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
            )
            .as_bytes(),
        );
        req.extend_from_slice(&body.0);
        req.extend_from_slice(id.as_bytes());
        req.extend_from_slice(&body.1);
        let t = Instant::now();
        s.write_all(&req).await.map_err(|e| e.to_string())?;
        // Read the head, then Content-Length bytes of body.
        let mut have = 0;
        let (head_end, content_len) = loop {
            let k = s.read(&mut buf[have..]).await.map_err(|e| e.to_string())?;
            if k == 0 {
                return Err("server closed the connection".into());
            }
            have += k;
            if let Some(p) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
                if !head.starts_with("http/1.1 201") {
                    return Err(format!("unexpected answer: {head}"));
                }
                let cl = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (p + 4, cl);
            }
            if have == buf.len() {
                return Err("response head too long".into());
            }
        };
        while have < head_end + content_len {
            let k = s.read(&mut buf[have..]).await.map_err(|e| e.to_string())?;
            if k == 0 {
                return Err("server closed mid-body".into());
            }
            have += k;
        }
        lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    Ok(lat)
}

struct CaseResult {
    uploads: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn run_case(
    addr: SocketAddr,
    conc: usize,
    secs: f64,
    body: Arc<(Vec<u8>, Vec<u8>)>,
    counter: Arc<AtomicU64>,
) -> CaseResult {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..conc)
        .map(|_| tokio::spawn(uploader(addr, body.clone(), counter.clone(), deadline)))
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(l)) => all.extend(l),
            Ok(Err(e)) => panic!("uploader failed: {e}"),
            Err(e) => panic!("uploader task: {e}"),
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        let i = ((all.len() as f64 * p).ceil() as usize).saturating_sub(1);
        f64::from(all.get(i).copied().unwrap_or(0)) / 1000.0
    };
    CaseResult {
        uploads: all.len(),
        rps: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

async fn fresh_pg_schema(base: &str) -> Option<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base).await.ok()?;
    let schema = format!("hcl_bench_{}", std::process::id());
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .ok()?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .ok()?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-csearch_path%3D{schema}"))
}

/// CPU time per upload by stage, in-process: where the time of one upload goes.
fn stages(devices: usize) {
    use hcl_aggregator::api::validate;
    let (a, b) = template(devices);
    let body = [a.as_slice(), b"stage-1", b.as_slice()].concat();
    let iters: u32 = if devices > 10 { 300 } else { 3000 };
    let time = |f: &dyn Fn()| {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        t.elapsed().as_secs_f64() * 1e6 / f64::from(iters)
    };
    let report = hcl_data::Report::from_json(&body).ok();
    let privacy = time(&|| {
        let _ = std::hint::black_box(hcl_data::privacy_scan_json(
            std::str::from_utf8(&body).unwrap_or_default(),
            validate::FINDINGS_SHOWN,
        ));
    });
    let typed = time(&|| {
        let _ = std::hint::black_box(hcl_data::Report::from_json(&body));
    });
    let canonical = time(&|| {
        std::hint::black_box(report.as_ref().map(hcl_data::Report::canonical));
    });
    let whole = time(&|| {
        let _ = std::hint::black_box(validate::check(
            &body,
            None,
            validate::Format::Json,
            hcl_data::MAX_INPUT_BYTES,
        ));
    });
    // The value-tree path JSON uploads took before (serde_json parse into a tree, privacy walk,
    // from_value), for comparison; YAML uploads still walk a tree after their own parse.
    let value_path = time(&|| {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        std::hint::black_box(hcl_data::privacy_violations_in_value(&v));
        let _ = std::hint::black_box(hcl_data::Report::from_value(v));
    });
    println!(
        "| {devices} | {} | {privacy:.0} | {typed:.0} | {canonical:.0} | {whole:.0} | {value_path:.0} |",
        body.len()
    );
}

fn main() {
    println!("CPU per upload by stage, µs (one thread):\n");
    println!(
        "| devices | body bytes | privacy scan (streaming) | Report::from_json (typed parse + validate) | canonical JSON + content id | whole upload check | value-tree path (parse + privacy walk + from_value) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for devices in [3, 40] {
        stages(devices);
    }
    println!();
    let secs: f64 = std::env::var("HCL_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let pg = std::env::var("HCL_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("HCL_TEST_POSTGRES_URL"))
        .ok();
    let sizes = [
        ("small (3 devices)", 3),
        ("realistic (40 devices × every shipped kernel)", 40),
    ];
    println!(
        "cores: {}, {secs} s per case\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| backend | report | body bytes | uploaders | reports/s | p50 ms | p99 ms | server CPU µs/upload | uploaders' CPU µs/upload | server peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut backends: Vec<(String, String, usize)> = vec![
        (
            "SQLite, group commit".into(),
            format!("sqlite://{}", dir.path().join("group.db").display()),
            512,
        ),
        (
            "SQLite, one commit per upload".into(),
            format!("sqlite://{}", dir.path().join("single.db").display()),
            1,
        ),
    ];
    match &pg {
        Some(base) => match rt.block_on(fresh_pg_schema(base)) {
            Some(url) => backends.push(("PostgreSQL".into(), url, 1)),
            None => eprintln!("PostgreSQL at {base} not reachable: skipped"),
        },
        None => {
            eprintln!("HCL_BENCH_POSTGRES_URL / HCL_TEST_POSTGRES_URL unset: PostgreSQL skipped")
        }
    }
    let filter = std::env::var("HCL_BENCH_FILTER").unwrap_or_default();
    let counter = Arc::new(AtomicU64::new(0));
    for (name, url, batch) in &backends {
        let wanted = |label: &str| format!("{name} | {label}").contains(filter.as_str());
        if !sizes.iter().any(|(label, _)| wanted(label)) {
            continue;
        }
        let server = Server::start(url, *batch);
        for (label, devices) in sizes {
            if !wanted(label) {
                continue;
            }
            let body = Arc::new(template(devices));
            let bytes = body.0.len() + body.1.len() + 12;
            for conc in [1, 16, 64] {
                let (server_cpu, client_cpu) = (server.cpu_secs(), cpu_secs_of("/proc/self/stat"));
                let r = rt.block_on(run_case(
                    server.addr,
                    conc,
                    secs,
                    body.clone(),
                    counter.clone(),
                ));
                let per_upload = |secs: f64| secs * 1e6 / r.uploads.max(1) as f64;
                let server_us = per_upload(server.cpu_secs() - server_cpu);
                let client_us = per_upload(cpu_secs_of("/proc/self/stat") - client_cpu);
                println!(
                    "| {name} | {label} | {bytes} | {conc} | {:.0} | {:.2} | {:.2} | {server_us:.0} | {client_us:.0} | {:.1} |",
                    r.rps,
                    r.p50_ms,
                    r.p99_ms,
                    server.peak_rss_kib() as f64 / 1024.0
                );
            }
        }
    }
}
