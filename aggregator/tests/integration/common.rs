//! Shared helpers: sample reports, an in-process server, a tiny blocking HTTP/1.1 client.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use hcl_aggregator::{AppState, Config};
use hcl_data::{Device, Origin, Report, Role, System, Tri};

/// A plausible probe report; `n` makes it distinct (and so a distinct content id).
pub fn sample_report(n: usize) -> Report {
    let dev = |modalias: &str, vendor: &str, device: &str, category: &str, role: Role| Device {
        bus: "pci".into(),
        modalias: modalias.into(),
        category: category.into(),
        role,
        vendor: Some(vendor.into()),
        device: Some(device.into()),
        vendor_name: Some("Intel Corporation".into()),
        ..Default::default()
    };
    Report {
        schema_version: hcl_data::SCHEMA_VERSION,
        report_id: format!("test-report-{n}"),
        generated_on: "2026-11-20".into(),
        generator: "hcl-probe 0.1.0".into(),
        origin: Origin::Probe,
        system: System {
            machine_type: Some("laptop".into()),
            brand: Some("Lenovo".into()),
            model: Some(format!("ThinkPad T{}", 400 + n % 90)),
            cpu: Some("Intel(R) Core(TM) i7-1365U".into()),
            virtualization: Some("vt-x".into()),
            hvm: Tri::Yes,
            slat: Tri::Yes,
            iommu: Tri::Yes,
            interrupt_remapping: Tri::Yes,
            memory_mib: Some(32_768),
            boot_mode: Some("uefi".into()),
            ..Default::default()
        },
        devices: vec![
            dev(
                "pci:v00008086d0000A7A0sv000017AAsd000022E6bc03sc00i00",
                "8086",
                "a7a0",
                "gpu",
                Role::Dom0,
            ),
            dev(
                "pci:v00008086d000051F0sv00008086sd00000094bc02sc80i00",
                "8086",
                "51f0",
                "wifi",
                Role::Assignable,
            ),
            dev(
                "pci:v0000144Dd0000A80Asv0000144Dsd0000A801bc01sc08i02",
                "144d",
                "a80a",
                "storage",
                Role::Dom0,
            ),
        ],
        kernels: BTreeMap::new(),
        qubes: None,
    }
}

pub fn sample_json(n: usize) -> Vec<u8> {
    serde_json::to_vec(&sample_report(n)).expect("sample report serialises")
}

/// An HTTP response as the tests see it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request over a fresh connection (`Connection: close`). Errors are connection failures.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    request(s, addr, method, path, headers, body)
}

/// [`http`] from another loopback address (`127.0.0.2`, ...): another client as the server's
/// per-address limits see it.
pub fn http_from(
    from: std::net::IpAddr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let s = rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4()?;
        sock.bind(SocketAddr::new(from, 0))?;
        sock.connect(addr).await?.into_std()
    })?;
    s.set_nonblocking(false)?;
    request(s, addr, method, path, headers, body)
}

fn request(
    mut s: TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    // The server may answer (413) and close before the whole body is sent: not an error here.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> std::io::Result<Resp> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..pos]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        let end = (start + size).min(b.len());
        out.extend_from_slice(&b[start..end]);
        b = b.get(end + 2..).unwrap_or(&[]);
    }
    out
}

pub fn post_json(addr: SocketAddr, body: &[u8]) -> Resp {
    http(
        addr,
        "POST",
        "/api/v1/reports",
        &[("Content-Type", "application/json")],
        body,
    )
    .expect("upload request")
}

/// A server on a loopback port inside this test process, on its own runtime thread.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    _rt: tokio::runtime::Runtime,
    /// The database's folder, removed with the server.
    _dir: tempfile::TempDir,
}

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Start a server on a fresh SQLite database in a temporary folder.
pub fn start_server(config: Config) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let url = format!("sqlite://{}", dir.path().join("hcl.db").display());
    let (addr, state) = rt.block_on(async {
        let store = hcl_aggregator::store::open(&url).await.expect("open store");
        let state = AppState::new(
            store,
            Arc::new(hcl_kernel_engine::Catalog::default()),
            config,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let st = state.clone();
        tokio::spawn(async move { hcl_aggregator::server::serve(listener, st).await });
        (addr, state)
    });
    TestServer {
        addr,
        state,
        _rt: rt,
        _dir: dir,
    }
}

/// Settings for tests: no rate limit unless a test asks for one, moderation on.
pub fn test_config() -> Config {
    Config {
        admin_token: Some(ADMIN_TOKEN.into()),
        rate_per_sec: 0.0,
        page_build_rate_per_sec: 0.0,
        ..Config::default()
    }
}

/// A new empty schema on the test PostgreSQL server; the URL selects it as search_path.
pub async fn fresh_pg_schema(base: &str) -> String {
    use sqlx::Connection;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let schema = format!("hcl_test_{}_{nanos}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("connect to HCL_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

/// The real `hcl-aggregator serve` on a loopback port the OS picks (rate limit off, quiet
/// logs), with `args` added; waits for its `listening on http://ADDR` line.
pub fn spawn_serve<S: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = S>,
) -> (std::process::Child, SocketAddr) {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_hcl-aggregator"))
        .args(["serve", "--listen", "127.0.0.1:0", "--rate-per-sec", "0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn hcl-aggregator");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read listening line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .expect("address");
    (child, addr)
}
