//! The command line: the JSON contract, YAML, the table, colour rules.

use hcl_probe::output::{Format, TableOptions, render};
use serde_json::Value;

use crate::common::{fixture, fixtures, run_probe, scan_tree};

#[test]
fn scan_json_follows_the_contract() {
    for dir in fixtures() {
        let (ok, out, err) =
            run_probe(&["scan", "--root", dir.to_str().unwrap(), "--format", "json"]);
        assert!(ok, "{err}");
        let v: Value = serde_json::from_str(&out).expect("exactly one JSON document");
        let devices = v["devices"].as_array().expect("devices[]");
        assert!(!devices.is_empty());
        for d in devices {
            assert!(d["modalias"].is_string(), "{d}");
            assert!(d["bus"].is_string(), "{d}");
            assert!(d["driver"].is_string() || d["driver"].is_null(), "{d}");
            let cov = d["coverage"].as_object().expect("coverage object");
            for (kernel, c) in cov {
                for key in ["modules", "builtin", "inferred_builtin"] {
                    assert!(c[key].is_array(), "{kernel}: {c}");
                }
                assert!(c["verdict"].is_string(), "{kernel}: {c}");
            }
        }
        let system = v["system"].as_object().expect("system");
        for key in [
            "brand",
            "model",
            "bios",
            "cpu",
            "hvm",
            "slat",
            "iommu",
            "interrupt_remapping",
            "tpm",
            "memory_mib",
            "boot_mode",
            "secure_boot",
            "running_kernel",
            "distro",
        ] {
            assert!(system.contains_key(key), "system.{key} missing");
        }
        // The same report parses back with the schema's own validation.
        hcl_data::Report::from_json(out.as_bytes()).expect("valid report");
    }
}

#[test]
fn yaml_output_parses_back_to_the_same_report() {
    let scan = scan_tree(&fixture("dev-vm-firecracker"));
    let yaml = render(&scan.report, Format::Yaml, TableOptions::default()).unwrap();
    let back = hcl_data::Report::from_yaml(&yaml).expect("valid YAML report");
    assert_eq!(back, scan.report);
}

#[test]
fn table_has_colour_only_when_asked() {
    let scan = scan_tree(&fixture("dev-vm-firecracker"));
    let plain = render(
        &scan.report,
        Format::Table,
        TableOptions {
            color: false,
            all: false,
        },
    )
    .unwrap();
    assert!(!plain.contains('\x1b'));
    assert!(plain.contains("Per kernel"));
    let coloured = render(
        &scan.report,
        Format::Table,
        TableOptions {
            color: true,
            all: false,
        },
    )
    .unwrap();
    assert!(coloured.contains("\x1b["));
    // Through the binary stdout is a pipe: never colour.
    let (ok, out, _) = run_probe(&[
        "scan",
        "--root",
        fixture("dev-vm-firecracker").to_str().unwrap(),
    ]);
    assert!(ok);
    assert!(!out.contains('\x1b'));
}

#[test]
fn table_lists_every_kernel_and_device_class() {
    let scan = scan_tree(&fixture("dev-vm-firecracker"));
    let table = render(
        &scan.report,
        Format::Table,
        TableOptions {
            color: false,
            all: true,
        },
    )
    .unwrap();
    for id in scan.report.kernels.keys() {
        assert!(table.contains(id.as_str()), "{id} missing from the table");
    }
    assert!(table.contains("Red Hat Virtio"), "{table}");
    assert!(table.contains("platform"));
}

#[test]
fn qubes_hcl_file_has_the_report_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("hcl.yml");
    let dir = fixture("qemu-q35-usb-laptopish");
    let (ok, _, err) = run_probe(&[
        "scan",
        "--root",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--qubes-hcl",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    for key in [
        "layout:",
        "type:",
        "hvm:",
        "iommu:",
        "brand:",
        "model:",
        "bios:",
        "cpu:",
        "network:",
        "memory:",
        "versions:",
    ] {
        assert!(text.contains(key), "{key} missing in\n{text}");
    }
    // A maintained YAML writer quotes yes/no so they stay strings.
    assert!(
        !text.contains(": yes\n") && !text.contains(": no\n"),
        "{text}"
    );
}

#[test]
fn a_closed_stdout_is_not_an_error_and_loses_no_file() {
    // Regression: `hcl-probe scan | head` failed with "Broken pipe" before writing --save.
    let tmp = tempfile::tempdir().unwrap();
    let save = tmp.path().join("saved");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hcl-probe"))
        .args([
            "scan",
            "--format",
            "json",
            "--save",
            save.to_str().unwrap(),
            "--root",
        ])
        .arg(fixture("qemu-q35-usb-laptopish"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(std::fs::read_dir(&save).unwrap().count(), 1, "{err}");
}

#[test]
fn upload_from_a_folder_shows_the_reports_and_asks_first() {
    let tmp = tempfile::tempdir().unwrap();
    let save = tmp.path().join("stick");
    let root = fixture("dev-vm-firecracker");
    let (ok, _, err) = run_probe(&[
        "scan",
        "--format",
        "json",
        "--save",
        save.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    // No answer on stdin: nothing is sent, the saved report stays pending.
    let (ok, out, err) = run_probe(&[
        "upload",
        "--url",
        "https://127.0.0.1:9",
        "--retries",
        "0",
        "--from",
        save.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("not sent"), "{err}");
    assert!(
        out.contains("will be sent to https://127.0.0.1:9/api/v1/reports"),
        "{out}"
    );
    assert!(
        out.contains("\"modalias\""),
        "the report itself is shown: {out}"
    );
    let pending = hcl_probe::upload::pending_files(&save).unwrap();
    assert_eq!(pending.len(), 1);
}

/// `--version` says what is inside: the commit it was built from (git HEAD here: the tests run
/// from a checkout), the toolchain, the id databases and every embedded profile with its
/// provenance; `-V` is the one-line form.
#[test]
fn version_names_commit_and_embedded_profiles() {
    let (ok, out, err) = run_probe(&["--version"]);
    assert!(ok, "{err}");
    let head = std::process::Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let commit = hcl_buildinfo_commit(&out);
    match head {
        Some(head) if std::env::var_os("HCL_BUILD_COMMIT").is_none() => {
            assert_eq!(commit, head, "{out}")
        }
        _ => assert!(!commit.is_empty(), "{out}"),
    }
    assert!(
        out.starts_with(&format!("hcl-probe {}\n", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.contains("built with:   rustc "), "{out}");
    assert!(out.contains("id databases: pci.ids 20"), "{out}");
    let metas = hcl_kernel_engine::Catalog::embedded_meta().unwrap();
    assert_eq!(metas.len(), hcl_kernel_engine::SHIPPED_IDS.len());
    assert!(out.contains(&format!("kernel profiles ({} embedded):", metas.len())));
    for m in metas {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", m.id)))
            .unwrap_or_else(|| panic!("no line for {} in\n{out}", m.id));
        assert!(
            line.contains(&m.kernel_version) && line.contains(&m.provenance),
            "{line}"
        );
    }

    let (ok, short, _) = run_probe(&["-V"]);
    assert!(ok);
    assert_eq!(
        short.trim(),
        format!(
            "hcl-probe {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            commit.get(..12).unwrap_or(&commit)
        )
    );
}

/// The commit id of a `--version` text.
fn hcl_buildinfo_commit(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("commit:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_owned()
}
