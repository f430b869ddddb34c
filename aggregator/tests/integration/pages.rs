//! The HCL pages through the real binary and real headless Chromium: what a person sees, the
//! JSON and CSV twins of the pages, the static site and the Markdown report.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, ADMIN_TOKEN, Resp, http, sample_report};

const HOSTILE_MODEL: &str = "<script>document.title='pwned'</script>";
const HOSTILE_BRAND: &str = "\"><img src=x onerror=\"document.title='pwned2'\">";

struct Server {
    child: Child,
    addr: SocketAddr,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hcl-aggregator")
}

/// `hcl-aggregator serve` on a free loopback port and a fresh SQLite file.
fn spawn_server() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("hcl.db");
    let (child, addr) = crate::common::spawn_serve([
        "--db".to_owned(),
        format!("sqlite://{}", db.display()),
        "--admin-token".to_owned(),
        ADMIN_TOKEN.to_owned(),
    ]);
    Server {
        child,
        addr,
        db,
        _dir: dir,
    }
}

fn get(addr: SocketAddr, path: &str) -> Resp {
    http(addr, "GET", path, &[], b"").unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Upload a report; returns its id.
fn upload(addr: SocketAddr, r: &hcl_data::Report) -> String {
    let resp = common::post_json(addr, &serde_json::to_vec(r).expect("json"));
    assert_eq!(resp.status, 201, "upload: {}", resp.text());
    resp.json()["id"].as_str().expect("id").to_owned()
}

/// Three ordinary laptops and one whose brand and model carry HTML and script.
fn fleet(addr: SocketAddr) -> (Vec<String>, String) {
    let ids = (1..=3).map(|n| upload(addr, &sample_report(n))).collect();
    let mut evil = sample_report(99);
    evil.system.brand = Some(HOSTILE_BRAND.into());
    evil.system.model = Some(HOSTILE_MODEL.into());
    evil.system.machine_type = Some("desktop".into());
    let evil_id = upload(addr, &evil);
    (ids, evil_id)
}

/// Debian's `chromium`, or `$CHROMIUM`. The page tests need it: `.ci/run` installs it.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let p = dir.join("chromium");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "chromium not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM"
    );
}

/// Run headless Chromium with `extra` arguments on `url`; its stdout and its log (the page's
/// console included, where Content-Security-Policy violations are reported). Killed after 90 s.
fn run_chromium_logged(url: &str, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chromium");
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read(Box::new(child.stdout.take().expect("stdout")));
    let err = read(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait chromium").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish {url} within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (out.join().expect("reader"), err.join().expect("reader"))
}

/// The console lines of a Chromium log that report a Content-Security-Policy violation.
fn csp_violations(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("CONSOLE") && l.contains("Content Security Policy"))
        .collect()
}

/// [`run_chromium_logged`] on one of the server's pages: its stdout; the page must work under
/// the server's Content-Security-Policy (no violation in the console).
fn run_chromium(url: &str, extra: &[&str]) -> String {
    let (out, log) = run_chromium_logged(url, extra);
    let bad = csp_violations(&log);
    assert!(
        bad.is_empty(),
        "{url} breaks its Content-Security-Policy: {bad:#?}"
    );
    out
}

/// The DOM after the page's scripts (if any) ran: what the browser shows.
pub(crate) fn dump_dom(url: &str) -> String {
    let dom = run_chromium(url, &["--dump-dom"]);
    assert!(dom.contains("<html"), "no DOM for {url}: {dom:?}");
    dom
}

pub(crate) fn title_of(dom: &str) -> &str {
    let start = dom.find("<title>").map(|i| i + 7).unwrap_or(0);
    let end = dom[start..]
        .find("</title>")
        .map(|i| start + i)
        .unwrap_or(start);
    &dom[start..end]
}

#[test]
fn chromium_shows_kernel_report_and_machines_with_hostile_names_escaped() {
    let srv = spawn_server();
    let (ids, evil_id) = fleet(srv.addr);
    let base = format!("http://{}", srv.addr);
    let q = "candidates=debian-12,rhel-9.6,qubes-6.12";

    // The numbers the page must show, from the JSON twin of the same page.
    let json = get(srv.addr, &format!("/api/v1/kernel-report?{q}")).json();
    assert_eq!(json["machines_total"], 4);
    let shares = json["shares"].as_array().expect("shares");
    assert_eq!(shares.len(), 3);
    for s in shares {
        assert_eq!(s["assessed"], 4, "every sample has a GPU and NVMe: {s}");
    }
    // The Raptor Lake GPU and the Samsung NVMe of the samples are driven by Debian 12.
    assert_eq!(shares[0]["kernel"], "debian-12");
    assert_eq!(shares[0]["ok"], 4, "{}", shares[0]);

    let dom = dump_dom(&format!("{base}/kernel-report?{q}"));
    assert_eq!(title_of(&dom), "Kernel choice report · Qubes HCL");
    assert!(dom.contains("<strong id=\"machines-total\">4</strong>"));
    for s in shares {
        let kernel = s["kernel"].as_str().expect("kernel");
        let pct = format!("{:.1}%", s["share"].as_f64().expect("share") * 100.0);
        let row = format!("{} / {}", s["ok"], s["assessed"]);
        assert!(
            dom.contains(kernel) && dom.contains(&pct) && dom.contains(&row),
            "{kernel} {pct} {row} not shown"
        );
    }
    assert!(dom.contains("<svg"), "bar chart missing");
    // Losses name the machines affected, and the hostile names are text, not markup.
    assert!(!dom.contains("<script>document.title"));
    assert!(!dom.contains("<img src=\"x\""));

    // The hostile machine's own page: its scripts must not run, its name must be readable.
    let m = get(srv.addr, "/api/v1/machines").json();
    let machines = m["machines"].as_array().expect("machines");
    assert_eq!(machines.len(), 4);
    let evil = machines
        .iter()
        .find(|x| x["model"] == HOSTILE_MODEL)
        .expect("hostile machine listed");
    let evil_url = evil["url"].as_str().expect("url");
    let dom = dump_dom(&format!("{base}{evil_url}"));
    let title = title_of(&dom);
    // Had a script run, the title would be just "pwned" or "pwned2".
    assert!(!title.starts_with("pwned"), "script ran: title {title:?}");
    assert!(
        title.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "title {title:?}"
    );
    assert!(!dom.contains("<img"), "hostile brand became an element");
    assert!(dom.contains(&format!("/reports/{evil_id}")));

    let dom = dump_dom(&format!("{base}/machines"));
    assert_eq!(title_of(&dom), "Machines · Qubes HCL");
    for n in 1..=3 {
        assert!(
            dom.contains(&format!("ThinkPad T{}", 400 + n)),
            "machine {n} not listed"
        );
    }
    assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));

    let dom = dump_dom(&format!("{base}/reports/{}", ids[0]));
    assert!(
        dom.contains("8086:a7a0") && dom.contains("driven"),
        "device table missing"
    );

    for path in [
        "/",
        "/devices",
        "/kernels",
        "/devices/8086:a7a0",
        "/kernels/debian-12",
    ] {
        let dom = dump_dom(&format!("{base}{path}"));
        assert!(dom.contains("Qubes HCL"), "{path} did not render");
    }
    // The check above can fail: a page against the same policy with an inline style and
    // script is reported.
    let control = srv._dir.path().join("control.html");
    std::fs::write(
        &control,
        format!(
            "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
             content=\"{}\"><style>p{{color:red}}</style></head><body><p>x</p>\
             <script>document.title='ran'</script></body></html>",
            hcl_aggregator::app::CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "")
        ),
    )
    .expect("control page");
    let (dom, log) = run_chromium_logged(&format!("file://{}", control.display()), &["--dump-dom"]);
    assert_eq!(csp_violations(&log).len(), 2, "{log}");
    assert!(!title_of(&dom).contains("ran"), "inline script ran: {dom}");

    // A screenshot, to look at: it must be a real PNG of some size.
    let shot = srv._dir.path().join("kernel-report.png");
    run_chromium(
        &format!("{base}/kernel-report?{q}"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600",
        ],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

#[test]
fn pages_have_json_and_csv_twins_and_clear_errors() {
    let srv = spawn_server();
    let (ids, _) = fleet(srv.addr);
    let a = srv.addr;

    let html = get(a, "/machines").text();
    assert!(
        html.contains("document.title=&#39;pwned&#39;"),
        "model not shown escaped"
    );
    assert!(!html.contains(HOSTILE_MODEL));
    assert!(!html.contains(HOSTILE_BRAND));

    // Same page as JSON three ways.
    let j1 = get(a, "/machines?format=json").json();
    let j2 = http(
        a,
        "GET",
        "/machines",
        &[("Accept", "application/json")],
        b"",
    )
    .expect("get")
    .json();
    let j3 = get(a, "/api/v1/machines").json();
    assert_eq!(j1, j2);
    assert_eq!(j1, j3);

    // Filters: one desktop (the hostile one), three laptops, none before 2020.
    assert_eq!(
        get(a, "/api/v1/machines?type=desktop").json()["machines"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        get(a, "/api/v1/kernel-report?type=laptop").json()["machines_total"],
        3
    );
    assert_eq!(
        get(a, "/api/v1/kernel-report?to=2019-12-31").json()["machines_total"],
        0
    );
    assert_eq!(
        get(a, "/api/v1/kernel-report?from=2026-11-20&to=2026-11-20").json()["machines_total"],
        4
    );

    // CSV exports, with a spreadsheet-safe hostile name.
    let csv = get(a, "/machines.csv");
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    assert!(text.starts_with("brand,model,type,reports,latest,url,dom0_ok:"));
    assert_eq!(text.lines().count(), 5);
    let kcsv = get(a, "/kernel-report.csv?candidates=debian-12,rhel-9.6").text();
    assert!(kcsv.lines().any(|l| l.starts_with("share,debian-12,")));
    let dcsv = get(a, "/devices.csv").text();
    assert!(
        dcsv.lines().any(|l| l.starts_with("pci,8086:a7a0,")),
        "{dcsv}"
    );

    // Device, kernel and report pages.
    let d = get(a, "/api/v1/devices/8086:a7a0").json();
    assert_eq!(d["entries"][0]["device"]["machines"], 4);
    let cov = d["entries"][0]["device"]["coverage"]
        .as_array()
        .expect("coverage");
    assert_eq!(
        cov.len(),
        hcl_kernel_engine::SHIPPED_IDS.len(),
        "one cell per catalog kernel"
    );
    assert_eq!(
        get(a, "/api/v1/kernels/rhel-9.6").json()["info"]["id"],
        "rhel-9.6"
    );
    let r = get(a, &format!("/reports/{}?format=json", ids[0])).json();
    assert_eq!(r["devices"].as_array().map(Vec::len), Some(3));
    let md = get(a, "/kernel-report.md?candidates=debian-12,debian-13");
    assert!(
        md.text()
            .starts_with("# Kernel choice report: debian-12, debian-13")
    );

    // Errors: named, with the right status, HTML for browsers and JSON for the API.
    let e = get(a, "/kernel-report?candidates=debian-12,windows-11");
    assert_eq!(e.status, 400);
    assert!(e.text().contains("windows-11"), "{}", e.text());
    let e = get(a, "/api/v1/kernel-report?from=2026-02-30x");
    assert_eq!(e.status, 400);
    assert!(
        e.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("2026-02-30x")
    );
    assert_eq!(get(a, "/api/v1/kernel-report?from=2026-13-01").status, 400);
    assert_eq!(get(a, "/machines/no/such").status, 404);
    assert_eq!(get(a, "/devices/ffff:ffff").status, 404);
    assert_eq!(get(a, "/kernels/nope").status, 404);
    assert_eq!(get(a, "/reports/nope").status, 404);
    assert_eq!(get(a, "/machines?format=xml").status, 400);
    // Odd query strings are not errors.
    assert_eq!(get(a, "/machines?%zz=%&&type=&candidates").status, 200);
}

/// Regression (attack D8): bidirectional overrides in a name reached the pages raw, so
/// `abc\u{202e}gnp.exe` showed as `abcexe.png`. Now every page shows them written out
/// (`\u202e`), as terminals do; the JSON keeps the text as stored. And (attack D7) a brand
/// `;=1+2`, which a spreadsheet with `;` as its list separator split and ran, is quoted and
/// guarded in the CSV.
#[test]
fn bidi_controls_in_names_are_shown_escaped_on_pages() {
    let srv = spawn_server();
    let a = srv.addr;
    let mut r = sample_report(7);
    r.system.brand = Some("Acme\u{2066}Corp\u{2069}".into());
    r.system.model = Some("abc\u{202e}gnp.exe".into());
    r.devices[0].device_name = Some("GPU \u{202d}x\u{200f}\u{061c}".into());
    let id = upload(a, &r);
    let mut semi = sample_report(8);
    semi.system.brand = Some(";=1+2".into());
    upload(a, &semi);
    // The fleet pages catch up with uploads after the page lag (5 s).
    let t = Instant::now();
    while !get(a, "/machines").text().contains("abc\\u202egnp.exe") {
        assert!(t.elapsed() < Duration::from_secs(20), "upload not listed");
        std::thread::sleep(Duration::from_millis(250));
    }
    let bidi = |s: &str| s.chars().filter(|&c| hcl_data::bidi_control(c)).count();
    for path in [
        format!("/reports/{id}"),
        "/machines".to_owned(),
        "/devices".to_owned(),
        "/devices/8086:a7a0".to_owned(),
    ] {
        let page = get(a, &path);
        assert_eq!(page.status, 200, "{path}");
        let html = page.text();
        assert_eq!(bidi(&html), 0, "{path} carries bidi controls raw");
        if path != "/devices" {
            assert!(
                html.contains("abc\\u202egnp.exe"),
                "{path}: model not shown"
            );
        }
    }
    let report = get(a, &format!("/reports/{id}")).text();
    assert!(report.contains("Acme\\u2066Corp\\u2069"), "brand not shown");
    assert!(
        report.contains("GPU \\u202dx\\u200f\\u061c"),
        "device name not shown"
    );
    // The data itself is unchanged.
    let json = get(a, &format!("/reports/{id}?format=json")).json();
    assert_eq!(json["system"]["model"], "abc\u{202e}gnp.exe");
    let csv = get(a, "/machines.csv").text();
    let line = csv
        .lines()
        .find(|l| l.contains("1+2"))
        .unwrap_or_else(|| panic!("brand ;=1+2 not in the CSV:\n{csv}"));
    assert!(line.starts_with("\"';=1+2\","), "{line}");
}

/// Every kind of response carries the headers that keep uploaded text inert: pages, JSON,
/// CSV, Markdown, the stylesheet, uploads and errors in HTML and JSON.
#[test]
fn security_headers_on_every_kind_of_response() {
    let srv = spawn_server();
    let (ids, _) = fleet(srv.addr);
    let a = srv.addr;
    let upload = common::post_json(a, &serde_json::to_vec(&sample_report(50)).expect("json"));
    let responses = [
        ("HTML", get(a, "/machines")),
        ("report page", get(a, &format!("/reports/{}", ids[0]))),
        ("JSON", get(a, "/api/v1/machines")),
        (
            "report JSON",
            get(a, &format!("/api/v1/reports/{}", ids[0])),
        ),
        ("CSV", get(a, "/machines.csv")),
        (
            "Markdown",
            get(a, "/kernel-report.md?candidates=debian-12,debian-13"),
        ),
        ("CSS", get(a, "/style.css")),
        ("health", get(a, "/api/v1/health")),
        ("upload", upload),
        ("HTML 404", get(a, "/no/such/page")),
        ("JSON 404", get(a, "/api/v1/reports/nope")),
        ("HTML 400", get(a, "/machines?format=xml")),
        (
            "405",
            http(a, "PUT", "/api/v1/health", &[], b"").expect("PUT"),
        ),
    ];
    for (what, r) in &responses {
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(
            r.header("content-security-policy"),
            Some(hcl_aggregator::app::CONTENT_SECURITY_POLICY),
            "{what}"
        );
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    }
    assert_eq!(responses[9].1.status, 404);
    assert_eq!(responses[12].1.status, 405);
    assert!(
        responses[5]
            .1
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/markdown"))
    );
}

#[test]
fn hidden_report_leaves_pages_and_kernel_report() {
    let srv = spawn_server();
    let (ids, _) = fleet(srv.addr);
    let a = srv.addr;
    let url = get(a, &format!("/reports/{}?format=json", ids[0])).json()["machine_url"]
        .as_str()
        .expect("machine url")
        .to_owned();
    assert_eq!(get(a, &url).status, 200);
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let r = http(
        a,
        "POST",
        &format!("/api/v1/reports/{}/hide", ids[0]),
        &[("Authorization", &auth)],
        b"",
    )
    .expect("hide");
    assert!(r.status < 300, "hide: {} {}", r.status, r.text());
    assert_eq!(get(a, &url).status, 404);
    assert_eq!(get(a, &format!("/reports/{}", ids[0])).status, 404);
    assert_eq!(get(a, "/api/v1/kernel-report").json()["machines_total"], 3);
}

#[test]
fn build_site_and_markdown_report_from_the_database() {
    let srv = spawn_server();
    let (ids, _) = fleet(srv.addr);
    let db = format!("sqlite://{}", srv.db.display());
    let out = srv._dir.path().join("site");
    let st = Command::new(bin())
        .args(["build-site", "--db", &db, "--out"])
        .arg(&out)
        .output()
        .expect("run build-site");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let must = |rel: &str| -> String {
        std::fs::read_to_string(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    for rel in [
        "index.html",
        "index.json",
        "style.css",
        "machines/index.html",
        "machines.csv",
        "machines/lenovo/thinkpad-t401/index.html",
        "machines/lenovo/thinkpad-t401/index.json",
        "devices/index.html",
        "devices.csv",
        "devices/8086:a7a0/index.html",
        "kernels/index.html",
        "kernels/debian-12/index.json",
        "kernel-report/index.html",
        "kernel-report/index.json",
        "kernel-report.csv",
        "kernel-report.md",
        "accuracy/index.html",
        "accuracy/index.json",
        "accuracy.csv",
    ] {
        assert!(!must(rel).is_empty(), "{rel} is empty");
    }
    let report = must(&format!("reports/{}/index.html", ids[0]));
    assert!(report.contains("ThinkPad T401"));
    // Hostile names are escaped in the static files too.
    let all = must("machines/index.html");
    assert!(!all.contains(HOSTILE_MODEL) && all.contains("document.title=&#39;pwned&#39;"));
    // No form on a static site: nothing would answer it.
    assert!(!must("kernel-report/index.html").contains("<form"));
    let kr: serde_json::Value =
        serde_json::from_str(&must("kernel-report/index.json")).expect("json");
    assert_eq!(kr["machines_total"], 4);

    let md = Command::new(bin())
        .args([
            "report",
            "kernels",
            "--db",
            &db,
            "--candidates",
            "debian-12,rhel-9.6",
            "--type",
            "laptop",
        ])
        .output()
        .expect("run report kernels");
    assert!(
        md.status.success(),
        "{}",
        String::from_utf8_lossy(&md.stderr)
    );
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.starts_with("# Kernel choice report: debian-12, rhel-9.6"));
    assert!(
        md.contains(" machine models (3 reports, 0 undated), filtered by `type=laptop`"),
        "{md}"
    );
    // Issue 10 items 1 and 7: which kernel the verdicts assume, how machines are counted, and
    // the real losses per question lead.
    assert!(md.contains("Each candidate kernel is judged twice"), "{md}");
    assert!(md.contains("one model one vote"), "{md}");
    assert!(
        md.contains("## Real losses against debian-12, per question"),
        "{md}"
    );
    assert!(
        md.lines()
            .any(|l| l.starts_with("| rhel-9.6 | dom0 kernel | ")),
        "{md}"
    );
    assert!(md.lines().any(|l| l.starts_with("| debian-12 | ")));

    let bad = Command::new(bin())
        .args([
            "report",
            "kernels",
            "--db",
            &db,
            "--candidates",
            "debian-12,nope-1",
        ])
        .output()
        .expect("run report kernels");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nope-1"));
}

/// Reports the server accepts but nobody would write: every page must still render.
#[test]
fn odd_reports_render_every_page_of_the_static_site() {
    use hcl_aggregator::analysis::{CoverageCache, Hcl};
    use hcl_aggregator::store::StoredReport;
    use hcl_data::{Device, QubesInfo, QubesVersion, Role, UsbInfo};

    let odd_device = |modalias: &str, vendor: Option<&str>| Device {
        bus: modalias.split(':').next().unwrap_or("").into(),
        modalias: modalias.into(),
        vendor: vendor.map(Into::into),
        device: Some("ä0000".into()),
        role: Role::Dom0,
        ..Default::default()
    };
    let mut reports = Vec::new();
    for (i, (brand, model)) in [
        ("", ""),
        ("   ", "日本語モデル"),
        ("ü-brand", "a/b/../../c"),
        ("Lenovo", &"X".repeat(5_000)),
        ("<b>", "</td></tr></table>"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = sample_report(500 + i);
        r.system.brand = Some(brand.to_owned());
        r.system.model = Some(model.to_owned());
        r.system.machine_type = None;
        r.generated_on = ["", "not a date", "2026-02-30", "9999-99-99", "2026-11-20"][i].into();
        r.devices.push(odd_device("pci:v€", Some("ü123")));
        r.devices.push(odd_device("", None));
        r.devices.push(Device {
            usb: Some(UsbInfo {
                kind: "device".into(),
                ..Default::default()
            }),
            ..odd_device("usb:v046DpC52Bd1211dc00dsc00dp00ic03isc01ip01in00", None)
        });
        r.qubes = Some(QubesInfo {
            versions: vec![QubesVersion {
                qubes: Some("R4.2<script>".into()),
                remark: Some("<a href='x'>read more</a>".into()),
                ..Default::default()
            }],
            source_file: None,
        });
        reports.push(StoredReport {
            id: format!("odd{i}"),
            received_at: "x".into(),
            hidden: false,
            report: r,
        });
    }
    // An id that cannot be a file name is left out of the site, not written outside it.
    let mut escape = reports[0].clone();
    escape.id = "../../escape".into();
    reports.push(escape);

    let catalog = std::sync::Arc::new(hcl_kernel_engine::Catalog::embedded().expect("catalog"));
    let hcl = Hcl::build(reports, &CoverageCache::new(catalog));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let sum = hcl_aggregator::site::write_site(&hcl, &out).expect("site written");
    assert_eq!(sum.reports, 5);
    assert_eq!(sum.skipped, 1);
    assert!(!dir.path().join("escape").exists());
    let machines = std::fs::read_to_string(out.join("machines/index.html")).expect("machines");
    assert!(machines.contains("&#60;/td&#62;&#60;/tr&#62;"));
    assert!(out.join("machines/unknown/unknown/index.html").is_file());
    let report = std::fs::read_to_string(out.join("reports/odd4/index.html")).expect("report");
    assert!(report.contains("&#60;a href=&#39;x&#39;&#62;read more"));
}
