//! Qubes readiness through the real router (issue 11 item 5), one scenario on SQLite and on
//! PostgreSQL: the probe's own scans of the captured fixture trees (schema version 2) and the
//! committed reports of the last version-1 probe (`tests/fixtures/reports/schema-v1`) are
//! uploaded side by side; both are stored as sent; the fleet figures (page, JSON, both CSVs),
//! the machine, report and device pages say what the fixtures hold; one machine model is one
//! vote. Headless Chromium shows the page under the server's Content-Security-Policy.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hcl_aggregator::{AppState, Config};
use hcl_data::{Report, SCHEMA_VERSION};
use serde_json::Value;

use crate::common::{self, Resp, http, post_json};

/// The captured trees scanned for the scenario (named: a new fixture does not shift the
/// figures).
const TREES: [&str; 6] = [
    "dev-vm-firecracker",
    "handmade-amd-kernel-4.19-config-space",
    "handmade-rmrr-shared-ehci",
    "handmade-xen-qubes-dom0",
    "qemu-q35-intremap-off",
    "qemu-q35-usb-laptopish",
];

/// Real Qubes HCL files imported beside the probe's reports.
const HCL_FILES: [&str; 2] = [
    "Lenovo-ThinkPad_T420-4238W2H-20240519-140011.yml",
    "Lenovo-ThinkPad_X230-aronowski.yml",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The probe's reports of [`TREES`], made now by its library.
fn scans() -> Vec<(String, Report)> {
    let catalog = hcl_kernel_engine::Catalog::embedded().expect("embedded catalog");
    TREES
        .iter()
        .map(|t| {
            let root = hcl_probe::root::Root::new(repo().join("tests/fixtures/sysfs").join(t));
            let scan =
                hcl_probe::scan::scan(&root, &catalog).unwrap_or_else(|e| panic!("scan {t}: {e}"));
            ((*t).to_owned(), scan.report)
        })
        .collect()
}

/// The committed version-1 reports, by fixture name, as the bytes the probe wrote.
fn v1_reports() -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("tests/fixtures/reports/schema-v1");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".json.zst")?.to_owned();
            let bytes = zstd::decode_all(std::fs::File::open(e.path()).ok()?).ok()?;
            Some((stem, bytes))
        })
        .collect();
    out.sort();
    assert_eq!(out.len(), 3, "{}", dir.display());
    out
}

/// The router on a store, in this process, with the runtime kept to read the store directly.
struct Served {
    rt: tokio::runtime::Runtime,
    state: AppState,
    addr: SocketAddr,
    _dir: Option<tempfile::TempDir>,
}

fn serve(url: Option<String>) -> Served {
    let dir = url.is_none().then(|| tempfile::tempdir().expect("tempdir"));
    let url = url.unwrap_or_else(|| {
        let d = dir.as_ref().expect("dir");
        format!("sqlite://{}", d.path().join("hcl.db").display())
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (addr, state) = rt.block_on(async {
        let store = hcl_aggregator::store::open(&url).await.expect("open store");
        let config = Config {
            rate_per_sec: 0.0,
            page_build_rate_per_sec: 0.0,
            ..Config::default()
        };
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
    Served {
        rt,
        state,
        addr,
        _dir: dir,
    }
}

fn get(addr: SocketAddr, path: &str) -> Resp {
    let r = http(addr, "GET", path, &[], b"").unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r
}

fn upload(addr: SocketAddr, body: &[u8]) -> String {
    let r = post_json(addr, body);
    assert_eq!(r.status, 201, "upload: {}", r.text());
    r.json()["id"].as_str().expect("id").to_owned()
}

/// `[machines, reports]` of one verdict column of a controller in the JSON figures.
fn tally(figures: &Value, id: &str, column: &str) -> [u64; 2] {
    let c = controller(figures, id);
    let t = &c["counts"][column];
    [
        t["machines"].as_u64().unwrap(),
        t["reports"].as_u64().unwrap(),
    ]
}

fn controller<'a>(figures: &'a Value, id: &str) -> &'a Value {
    figures["controllers"]
        .as_array()
        .expect("controllers")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no controller {id} in {figures:#}"))
}

fn scenario(s: &Served) {
    let addr = s.addr;
    // Both versions upload and are stored as sent.
    let mut stored: Vec<(String, u32)> = Vec::new();
    for (name, bytes) in v1_reports() {
        let id = upload(addr, &bytes);
        stored.push((name, 1));
        let r =
            s.rt.block_on(s.state.store.get_report(&id))
                .expect("read")
                .expect("stored");
        assert_eq!(r.report.schema_version, 1, "{id}");
    }
    let scans = scans();
    let mut laptopish_v2 = None;
    for (name, report) in &scans {
        assert_eq!(report.schema_version, SCHEMA_VERSION);
        let id = upload(addr, &serde_json::to_vec(report).unwrap());
        let r =
            s.rt.block_on(s.state.store.get_report(&id))
                .expect("read")
                .expect("stored");
        assert_eq!(r.report.schema_version, 2, "{name}");
        assert_eq!(&r.report, report, "{name}");
        stored.push((name.clone(), 2));
        if name == "qemu-q35-usb-laptopish" {
            laptopish_v2 = Some(report.clone());
        }
    }
    // The same machine again, newer, with no readiness facts (as a Qubes HCL import or an older
    // probe would be): it counts as a report with no data and does not outvote what its model's
    // older reports say.
    let mut bare = laptopish_v2.expect("laptopish scanned");
    bare.report_id = "0123456789abcdef0123456789abcdef".into();
    bare.generated_on = hcl_data::Day::parse("2099-01-01").expect("day");
    bare.system.suspend = None;
    for d in &mut bare.devices {
        d.passthrough = None;
    }
    let bare_id = upload(addr, &serde_json::to_vec(&bare).unwrap());
    // Two real Qubes HCL files with the Ivy Bridge laptop's NIC (8086:1502) and Wi-Fi
    // (8086:0085): other machine models, no readiness facts, no PCI class on their lines.
    let hcl = tempfile::tempdir().expect("tempdir");
    let files = hcl_data::hcl_files::read(&repo().join("data/qubes-hcl/qubes-hcl.tar.zst"))
        .expect("HCL archive");
    for name in HCL_FILES {
        let f = files.iter().find(|f| f.name == name).expect(name);
        std::fs::write(hcl.path().join(name), f.bytes.as_ref().expect(name)).expect("write");
    }
    let sum =
        s.rt.block_on(hcl_aggregator::import::import_hcl(
            s.state.store.as_ref(),
            hcl.path(),
        ))
        .expect("import");
    assert_eq!((sum.created, sum.failures.len()), (2, 0));

    // The fleet figures as JSON: 7 machine models (the two QEMU q35 trees are one model,
    // scanned three times with the version-1 report), 12 reports.
    let f = get(addr, "/api/v1/readiness").json();
    assert_eq!(
        (f["machines"].as_u64(), f["reports"].as_u64()),
        (Some(7), Some(12))
    );
    assert!(
        f["counting"]
            .as_str()
            .unwrap()
            .contains("one model one vote")
    );
    let c = controller(&f, "1b36:000d");
    assert_eq!(
        (c["kind"].as_str(), c["service_vm"].as_str()),
        (Some("usb"), Some("sys-usb"))
    );
    assert_eq!(
        (c["machines"].as_u64(), c["reports"].as_u64()),
        (Some(1), Some(4))
    );
    // QEMU's xHCI has no reset method (the kernel lists none).
    assert_eq!(tally(&f, "1b36:000d", "no_strict_reset"), [1, 3]);
    assert_eq!(tally(&f, "1b36:000d", "no_data"), [0, 1]);
    // The NEC xHCI behind its own root port: FLR-less but alone with a bus reset.
    assert_eq!(tally(&f, "1033:0194", "ready"), [1, 3]);
    assert_eq!(controller(&f, "1033:0194")["kind"], "usb");
    // The e1000 on conventional PCI behind QEMU's PCIe-to-PCI bridge.
    assert_eq!(tally(&f, "8086:100e", "not_isolated"), [1, 3]);
    assert_eq!(controller(&f, "8086:100e")["kind"], "nic");
    assert_eq!(tally(&f, "8086:10d3", "ready"), [1, 3]);
    // AMD Raven: the xHCI shares its group with the GPU and the other xHCI.
    assert_eq!(tally(&f, "1022:15e0", "assign_with_group"), [1, 2]);
    let mates: Vec<&str> = controller(&f, "1022:15e0")["grouped_with"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(mates, ["1002:15dd", "1022:15e1"]);
    // Ivy Bridge: the RMRR shared by the USB controllers.
    assert_eq!(tally(&f, "8086:1e26", "not_isolated"), [1, 1]);
    // A Qubes dom0 under Xen sees no IOMMU groups: unknown, not a guess.
    assert_eq!(tally(&f, "8086:a0ed", "unknown"), [1, 2]);
    assert_eq!(tally(&f, "8086:a0f0", "unknown"), [1, 2]);
    assert_eq!(controller(&f, "8086:a0f0")["kind"], "wifi");
    assert_eq!(f["xen_dom0_machines"], 1);
    let sp = &f["suspend"];
    let t = |k: &str| {
        [
            sp[k]["machines"].as_u64().unwrap(),
            sp[k]["reports"].as_u64().unwrap(),
        ]
    };
    assert_eq!(t("deep"), [3, 6]);
    assert_eq!(t("s2idle_only"), [1, 2]);
    assert_eq!(t("unknown"), [1, 1]);
    assert_eq!(t("no_data"), [2, 3]);
    // The HCL's lines count as no data; their kind comes from the probe's class.
    let nic = controller(&f, "8086:1502");
    assert_eq!(
        (nic["kind"].as_str(), nic["machines"].as_u64()),
        (Some("nic"), Some(3))
    );
    assert_eq!(tally(&f, "8086:1502", "ready"), [1, 1]);
    assert_eq!(tally(&f, "8086:1502", "no_data"), [2, 2]);
    assert_eq!(controller(&f, "8086:0085")["kind"], "wifi");
    assert_eq!(tally(&f, "8086:0085", "no_data"), [1, 1]);
    // Every machine model votes once per controller it has, once for suspend.
    for c in f["controllers"].as_array().unwrap() {
        let cols = c["counts"].as_object().unwrap();
        let sum = |k: &str| cols.values().map(|t| t[k].as_u64().unwrap()).sum::<u64>();
        assert_eq!(Some(sum("machines")), c["machines"].as_u64(), "{c}");
        assert_eq!(Some(sum("reports")), c["reports"].as_u64(), "{c}");
    }

    // The same through the filter: only the newest report.
    let late = get(addr, "/api/v1/readiness?from=2098-12-31").json();
    assert_eq!(
        (late["machines"].as_u64(), late["reports"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(tally(&late, "1b36:000d", "no_data"), [1, 1]);

    // CSV: one line per controller model, the columns in the JSON's order.
    let csv = get(addr, "/readiness.csv");
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "kind,service_vm,vendor_device,name,machines,reports,ready_machines,ready_reports,\
             no_strict_reset_machines,no_strict_reset_reports,assign_with_group_machines,\
             assign_with_group_reports,not_isolated_machines,not_isolated_reports,\
             unknown_machines,unknown_reports,no_data_machines,no_data_reports,grouped_with"
        )
    );
    assert!(
        text.lines().any(|l| l
            == "USB controller,sys-usb,1b36:000d,\"Red Hat, Inc. QEMU XHCI Host Controller\",\
                1,4,0,0,1,3,0,0,0,0,0,0,0,1,"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("USB controller,sys-usb,1022:15e0,")
                // Quoted: it holds `;`, a list separator in some spreadsheet locales.
                && l.ends_with(",\"1002:15dd (1 machines); 1022:15e1 (1 machines)\"")),
        "{text}"
    );
    assert_eq!(
        text.lines().count(),
        1 + f["controllers"].as_array().unwrap().len()
    );
    assert_eq!(
        get(addr, "/readiness-suspend.csv").text(),
        "suspend,machines,reports\r\ndeep,3,6\r\ns2idle_only,1,2\r\nno_suspend,0,0\r\n\
         unknown,1,1\r\nno_data,2,3\r\n"
    );
    assert_eq!(get(addr, "/readiness?format=csv").text(), text);
    assert_eq!(get(addr, "/readiness?format=json").json(), f);

    // The page says how it counts and shows the figures.
    let html = get(addr, "/readiness").text();
    assert!(html.contains("one model one vote"), "{html}");
    assert!(html.contains("<td class=\"num\" title=\"needs no-strict-reset\">1 / 3</td>"));
    assert!(
        html.contains(
            "<tr><td>s2idle only</td><td class=\"num\">1</td><td class=\"num\">2</td></tr>"
        )
    );

    // Machine page: the newest report with readiness facts (not the bare one).
    let m = get(addr, "/api/v1/machines/qemu-fixture/laptoplike").json();
    let rd = &m["readiness"];
    assert_ne!(rd["report_id"], bare_id.as_str());
    let xhci = rd["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "1b36:000d")
        .expect("xhci row");
    assert_eq!(xhci["verdict"], "no_strict_reset");
    assert_eq!(xhci["service_vm"], "sys-usb");
    assert_eq!(xhci["reset_methods"], serde_json::json!([]));
    assert!(
        xhci["reason"]
            .as_str()
            .unwrap()
            .contains("no-strict-reset=True")
    );
    assert!(
        rd["suspend"]
            .as_str()
            .unwrap()
            .starts_with("S3 (deep) · mem_sleep s2idle [deep]")
    );
    assert_eq!(rd["xen"], Value::Null);
    let html = get(addr, "/machines/qemu-fixture/laptoplike").text();
    assert!(
        html.contains("<h2 id=\"readiness\">Qubes readiness</h2>"),
        "{html}"
    );
    // Xen dom0: what it could not see.
    let xen = get(addr, "/api/v1/machines/lenovo/thinkpad-t14-gen-2i").json();
    let rd = &xen["readiness"];
    assert_eq!(
        rd["xen"],
        "Xen 4.17.5 PV dom0, Qubes 4.2.4 · could not see: SLAT, IOMMU enabled, interrupt \
         remapping, total memory"
    );
    assert_eq!(
        rd["iommu"],
        "table present yes · enabled not visible from dom0"
    );
    assert!(rd["suspend"].as_str().unwrap().starts_with("s2idle only"));
    assert!(
        rd["devices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["verdict"] == "unknown" && d["group"].is_null())
    );

    // Report page: the bare report has none; a version-1 report shows its facts.
    let bare_page = get(addr, &format!("/reports/{bare_id}?format=json")).json();
    assert_eq!(bare_page["readiness"], Value::Null);

    // Device page: counts over the machines and one row per report, with the group's models.
    let d = get(addr, "/api/v1/devices/1022:15e0").json();
    let rd = &d["entries"][0]["readiness"];
    assert_eq!(rd["service_vm"], "sys-usb");
    assert_eq!(
        (rd["machines"].as_u64(), rd["reports"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(rd["counts"]["assign_with_group"]["machines"], 1);
    let rows = rd["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row["verdict"], "assign_with_group");
        assert_eq!(row["reset_source"], "config_space");
        let group: Vec<&str> = row["group"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        assert!(
            group.iter().any(|g| g.starts_with("05:00.0 1002:15dd")),
            "{group:?}"
        );
        assert!(
            group.iter().any(|g| g.starts_with("05:00.4 1022:15e1")),
            "{group:?}"
        );
    }
    let html = get(addr, "/devices/1022:15e0").text();
    assert!(
        html.contains("Passthrough (the installer hands it to sys-usb)"),
        "{html}"
    );
    // Not PCI: no passthrough part.
    let usb = get(addr, "/api/v1/devices").json();
    let usb_id = usb["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["bus"] == "usb" && d["url"].is_string())
        .map(|d| d["id"].as_str().unwrap().to_owned());
    if let Some(id) = usb_id {
        let page = get(addr, &format!("/api/v1/devices/{id}")).json();
        for e in page["entries"].as_array().unwrap() {
            if e["device"]["bus"] == "usb" {
                assert_eq!(e["readiness"], Value::Null);
            }
        }
    }
    assert_eq!(stored.len(), 9);
}

#[test]
fn readiness_scenario_on_sqlite() {
    let s = serve(None);
    scenario(&s);
    // What a person sees: the page in headless Chromium, under the server's CSP.
    let dom = crate::pages::dump_dom(&format!("http://{}/readiness", s.addr));
    assert!(dom.contains("<table id=\"suspend\">"), "{dom}");
    assert!(dom.contains("QEMU XHCI Host Controller"), "{dom}");
    assert!(dom.contains("one model one vote"), "{dom}");
    let dom = crate::pages::dump_dom(&format!(
        "http://{}/machines/lenovo/thinkpad-t14-gen-2i",
        s.addr
    ));
    assert!(dom.contains("could not see: SLAT, IOMMU enabled"), "{dom}");
}

#[test]
fn readiness_scenario_on_postgres() {
    let Ok(base) = std::env::var("HCL_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but HCL_TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL"
        );
        eprintln!(
            "\n*** SKIPPED readiness_scenario_on_postgres: HCL_TEST_POSTGRES_URL is not set \
             (run `. .ci/postgres.sh; start_postgres`) ***\n"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let url = rt.block_on(common::fresh_pg_schema(&base));
    drop(rt);
    scenario(&serve(Some(url)));
}
