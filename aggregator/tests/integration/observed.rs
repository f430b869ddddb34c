//! Reports of the observation stick in the HCL: observed beside predicted on the machine,
//! report and device pages, and `/accuracy` (HTML, JSON, CSV) with every disagreement listed.
//! The reports are the real ones of the QEMU run (`tests/fixtures/stick/qemu-q35-ovmf`), uploaded to the
//! real binary on SQLite and on PostgreSQL; the page is also read by headless Chromium.

use std::net::SocketAddr;
use std::process::Child;

use hcl_data::{Report, Tally};

use crate::common::{self, Resp, http, sample_report};

/// The two reports of one power-on: 6.1.0-50-amd64, then 7.3.4+deb13-amd64.
fn qemu_run() -> Vec<Report> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/stick/qemu-q35-ovmf/reports.json.zst"
    );
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json = zstd::decode_all(&bytes[..]).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Server {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: Option<String>) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("hcl.db").display()));
    let (child, addr) = common::spawn_serve(["--db".to_owned(), db]);
    Server {
        child,
        addr,
        _dir: dir,
    }
}

fn get(addr: SocketAddr, path: &str) -> Resp {
    let r = http(addr, "GET", path, &[], b"").unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r
}

fn upload(addr: SocketAddr, r: &Report) -> String {
    let resp = common::post_json(addr, &serde_json::to_vec(r).expect("json"));
    assert_eq!(resp.status, 201, "upload: {}", resp.text());
    resp.json()["id"].as_str().expect("id").to_owned()
}

fn tally(r: &Report) -> Tally {
    let own = r.observed_kernel().map(|(_, p)| p).unwrap_or_default();
    let mut t = Tally::default();
    for d in &r.devices {
        t.add(d, &own);
    }
    t
}

/// Uploads the stick's two reports and a scan, then checks every view of the observations.
fn scenario(srv: &Server) -> Vec<String> {
    let a = srv.addr;
    let run = qemu_run();
    let ids: Vec<String> = run.iter().map(|r| upload(a, r)).collect();
    // A scan observes nothing: it must not count.
    upload(a, &sample_report(1));

    // /api/v1/accuracy: one row per booted kernel, the numbers of hcl-data's rule.
    let acc = get(a, "/api/v1/accuracy").json();
    assert_eq!(acc["reports"], 2, "{acc}");
    let kernels = acc["kernels"].as_array().expect("kernels");
    let names: Vec<&str> = kernels
        .iter()
        .filter_map(|k| k["kernel"].as_str())
        .collect();
    assert_eq!(names, ["6.1.0-50-amd64", "7.3.4+deb13-amd64"]);
    for (k, r) in kernels.iter().zip(&run) {
        let expected = serde_json::to_value(tally(r)).expect("json");
        assert_eq!(k["tally"], expected, "{}", k["kernel"]);
        assert_eq!(k["reports"], 1);
        // Every disagreement is listed: the miss and the built-in drivers alias data
        // cannot see.
        let t = tally(r);
        let listed = k["disagreements"].as_array().expect("list");
        assert_eq!(
            listed.len() as u32,
            t.predicted_not_bound + t.bound_not_predicted + t.builtin_without_alias
        );
        let agp = listed
            .iter()
            .find(|d| d["observation"]["predicted"][0] == "intel_agp")
            .expect("intel_agp on the host bridge listed");
        assert_eq!(agp["observation"]["agreement"], "predicted_not_bound");
        assert_eq!(agp["id"], "8086:29c0");
        assert!(agp["observation"]["bound"].is_null());
    }
    // The literal figures of the QEMU run (the rule's own tests say why).
    assert_eq!(kernels[0]["tally"]["right"], 57);
    assert_eq!(kernels[0]["tally"]["builtin_without_alias"], 6);
    assert_eq!(kernels[1]["tally"]["right"], 60);
    assert_eq!(kernels[1]["tally"]["errors"], 0);

    // The same page as CSV: one summary line per kernel, one line per disagreement.
    let csv = get(a, "/accuracy.csv");
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    assert!(text.starts_with("kind,kernel,reports,devices,predicted_right,"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("kernel,6.1.0-50-amd64,1,64,57,1,0,6,0,0,")),
        "{text}"
    );
    let listed: usize = kernels
        .iter()
        .map(|k| k["disagreements"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("disagreement,"))
            .count(),
        listed
    );
    assert_eq!(get(a, "/accuracy?format=csv").text(), text);

    // The HTML page names the kernels, the counts and the misses.
    let html = get(a, "/accuracy").text();
    assert!(
        html.contains("<strong id=\"stick-reports\">2</strong>"),
        "{html}"
    );
    assert!(html.contains("7.3.4+deb13-amd64") && html.contains("intel_agp"));
    assert!(html.contains("built-in driver without alias data"));

    // The machine page: each stick report says which kernel booted and how it went.
    let m = get(a, &format!("/reports/{}?format=json", ids[0])).json();
    let machine_url = m["machine_url"].as_str().expect("machine url").to_owned();
    let machine = get(a, &format!("{machine_url}?format=json")).json();
    let observed: Vec<&str> = machine["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .filter_map(|r| r["observed"]["kernel"].as_str())
        .collect();
    assert_eq!(observed.len(), 2, "{machine}");
    let page = get(a, &machine_url).text();
    assert!(
        page.contains("<code>6.1.0-50-amd64</code> booted"),
        "{page}"
    );

    // The report page: observed beside predicted for every device.
    assert_eq!(m["observed"]["kernel"], "6.1.0-50-amd64");
    let e1000e = m["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["id"] == "8086:10d3")
        .expect("e1000e");
    assert_eq!(e1000e["observed"]["bound"], "e1000e");
    assert_eq!(e1000e["observed"]["predicted"][0], "e1000e");
    assert_eq!(e1000e["observed"]["agreement"], "right");
    // efi_pstore loads for efivars and registers no driver: no miss, said in words.
    let efivars = m["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["modalias"] == "platform:efivars")
        .expect("efivars");
    assert_eq!(
        efivars["observed"]["agreement"], "loaded_without_driver",
        "{efivars}"
    );
    assert!(!efivars["observed"]["disagrees"].as_bool().unwrap_or(true));
    let page = get(a, &format!("/reports/{}", ids[0])).text();
    assert!(page.contains("Observed on 6.1.0-50-amd64"), "{page}");

    // The device page: what each booted kernel bound to it.
    let d = get(a, "/api/v1/devices/8086:10d3").json();
    let obs = d["entries"][0]["observed"].as_array().expect("observed");
    assert_eq!(obs.len(), 2, "{d}");
    for o in obs {
        assert_eq!(o["bound"][0], "e1000e");
        assert_eq!(o["agreements"][0][0], "right");
    }
    assert!(
        get(a, "/devices/8086:10d3")
            .text()
            .contains("Observed on real boots")
    );
    // A device only scans saw has no observations.
    let d = get(a, "/api/v1/devices/8086:a7a0").json();
    assert_eq!(
        d["entries"][0]["observed"].as_array().map(Vec::len),
        Some(0)
    );
    ids
}

#[test]
fn stick_reports_show_observed_beside_predicted_and_accuracy_per_kernel() {
    let srv = serve(None);
    let ids = scenario(&srv);
    // What a person sees: headless Chromium renders the accuracy page and a report's
    // observed section.
    let base = format!("http://{}", srv.addr);
    let dom = crate::pages::dump_dom(&format!("{base}/accuracy"));
    assert_eq!(
        crate::pages::title_of(&dom),
        "Prediction accuracy · Qubes HCL"
    );
    assert!(dom.contains("<td class=\"ok\">57</td>"), "{dom}");
    assert!(dom.contains("<td class=\"ok\">60</td>"));
    assert!(dom.contains("intel_agp"));
    assert!(
        !dom.contains("<td>efi_pstore</td>"),
        "a module without a driver is no disagreement"
    );
    let dom = crate::pages::dump_dom(&format!("{base}/reports/{}", ids[1]));
    assert!(dom.contains("Observed on 7.3.4+deb13-amd64"));
    assert!(dom.contains("i8042 kbd"), "companion driver shown");
}

#[test]
fn stick_reports_on_postgresql() {
    let Ok(base) = std::env::var("HCL_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but HCL_TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL"
        );
        eprintln!(
            "\n*** SKIPPED stick_reports_on_postgresql: HCL_TEST_POSTGRES_URL is not set \
             (run `. .ci/postgres.sh; start_postgres`) ***\n"
        );
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let url = rt.block_on(common::fresh_pg_schema(&base));
    scenario(&serve(Some(url)));
}

#[test]
fn no_stick_report_yet_is_an_empty_accuracy_page() {
    let srv = serve(None);
    upload(srv.addr, &sample_report(2));
    let acc = get(srv.addr, "/api/v1/accuracy").json();
    assert_eq!(acc["reports"], 0);
    assert_eq!(acc["kernels"].as_array().map(Vec::len), Some(0));
    assert!(
        get(srv.addr, "/accuracy")
            .text()
            .contains("No stick report yet.")
    );
    let csv = get(srv.addr, "/accuracy.csv").text();
    assert_eq!(csv.lines().count(), 1, "header only: {csv}");
}
