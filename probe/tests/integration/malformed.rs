//! Malformed trees: missing files, unreadable files, dangling symlinks, binary garbage in a
//! modalias, no PCI bus, symlink cycles, FIFOs. Each gives a clear warning naming the file,
//! the report is still produced (and valid), nothing panics.

use std::fs;
use std::path::Path;

use hcl_probe::root::Root;
use hcl_probe::scan::scan;

use crate::common::{catalog, copy_tree, fixture, fixtures, run_probe};

const PCI: &str = "sys/devices/pci0000:00/0000:00:1f.3";

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

/// A tiny tree: one PCI audio device with all its attributes, one platform device.
fn tiny_tree(root: &Path) {
    write(
        root,
        &format!("{PCI}/modalias"),
        b"pci:v00008086d00002668sv00001AF4sd00001100bc04sc03i00\n",
    );
    write(root, &format!("{PCI}/vendor"), b"0x8086\n");
    write(root, &format!("{PCI}/device"), b"0x2668\n");
    write(root, &format!("{PCI}/class"), b"0x040300\n");
    write(
        root,
        "sys/devices/platform/pcspkr/modalias",
        b"platform:pcspkr\n",
    );
    write(
        root,
        "proc/cpuinfo",
        b"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu vmx ept\n\n",
    );
}

fn scan_with_warnings(root: &Path) -> (hcl_data::Report, Vec<String>) {
    let s = scan(&Root::new(root), catalog()).expect("a report is produced");
    s.report.validate().expect("still a valid report");
    (
        s.report,
        s.warnings.iter().map(ToString::to_string).collect(),
    )
}

fn has_warning(warnings: &[String], needle: &str) -> bool {
    warnings.iter().any(|w| w.contains(needle))
}

#[test]
fn missing_attribute_files_fall_back_to_the_modalias() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_tree(tmp.path());
    fs::remove_file(tmp.path().join(format!("{PCI}/vendor"))).unwrap();
    fs::remove_file(tmp.path().join(format!("{PCI}/device"))).unwrap();
    let (report, _) = scan_with_warnings(tmp.path());
    let d = report.devices.iter().find(|d| d.bus == "pci").unwrap();
    assert_eq!(d.vendor.as_deref(), Some("8086"));
    assert_eq!(d.device.as_deref(), Some("2668"));
    assert_eq!(d.category, "audio");
    assert_eq!(report.system.cpu.as_deref(), Some("Test CPU"));
    assert_eq!(report.system.virtualization.as_deref(), Some("vt-x"));
    assert_eq!(report.system.slat, hcl_data::Tri::Yes);
}

#[test]
fn binary_garbage_in_a_modalias_is_kept_escaped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_tree(tmp.path());
    write(
        tmp.path(),
        "sys/devices/platform/bad0/modalias",
        b"\xff\xfe\x00pci:\x01garbage\x7f\n",
    );
    let (report, warnings) = scan_with_warnings(tmp.path());
    assert!(
        has_warning(&warnings, "platform/bad0/modalias"),
        "{warnings:?}"
    );
    let bad = report
        .devices
        .iter()
        .find(|d| d.sysfs_path.as_deref() == Some("/sys/devices/platform/bad0"))
        .expect("device kept");
    assert_eq!(bad.bus, "unknown");
    assert!(
        bad.modalias.starts_with("unknown:\\xff\\xfe\\x00pci:"),
        "{}",
        bad.modalias
    );
    for c in bad.coverage.values() {
        assert_eq!(c.verdict, hcl_data::Verdict::Unknown);
    }
    // The other devices are untouched.
    assert!(report.devices.iter().any(|d| d.bus == "pci"));
}

#[test]
fn an_oversized_modalias_is_cut_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_tree(tmp.path());
    let mut big = b"platform:".to_vec();
    big.extend(std::iter::repeat_n(b'a', 200_000));
    write(tmp.path(), "sys/devices/platform/big/modalias", &big);
    let (report, warnings) = scan_with_warnings(tmp.path());
    assert!(
        has_warning(&warnings, "platform/big/modalias"),
        "{warnings:?}"
    );
    assert!(report.devices.iter().any(|d| d.bus == "unknown"));
}

#[test]
fn dangling_symlinks_warn_and_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_tree(tmp.path());
    let class = tmp.path().join(format!("{PCI}/class"));
    fs::remove_file(&class).unwrap();
    std::os::unix::fs::symlink("../nowhere/class", &class).unwrap();
    // A dangling driver link is fine: only its name is used.
    std::os::unix::fs::symlink(
        "../../../bus/pci/drivers/snd_hda_intel",
        tmp.path().join(format!("{PCI}/driver")),
    )
    .unwrap();
    let (report, warnings) = scan_with_warnings(tmp.path());
    assert!(
        has_warning(&warnings, &format!("{PCI}/class: dangling symlink")),
        "{warnings:?}"
    );
    let d = report.devices.iter().find(|d| d.bus == "pci").unwrap();
    assert_eq!(d.class, None);
    assert_eq!(d.driver.as_deref(), Some("snd_hda_intel"));
}

#[test]
fn unreadable_files_warn_with_their_path() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_tree(tmp.path());
    // Root reads through chmod 000, so make the attribute a directory and a FIFO instead:
    // both cannot be read as files, and a FIFO must not hang the probe.
    fs::remove_file(tmp.path().join(format!("{PCI}/vendor"))).unwrap();
    fs::create_dir(tmp.path().join(format!("{PCI}/vendor"))).unwrap();
    let fifo = tmp.path().join(format!("{PCI}/device"));
    fs::remove_file(&fifo).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let (report, warnings) = scan_with_warnings(tmp.path());
    assert!(
        has_warning(&warnings, &format!("{PCI}/vendor: cannot read")),
        "{warnings:?}"
    );
    assert!(
        has_warning(&warnings, &format!("{PCI}/device: cannot read")),
        "{warnings:?}"
    );
    assert!(report.devices.iter().any(|d| d.bus == "pci"));
}

#[test]
fn a_tree_without_pci_bus_still_reports() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_tree(tmp.path());
    fs::remove_dir_all(tmp.path().join("sys/devices/pci0000:00")).unwrap();
    let (report, warnings) = scan_with_warnings(tmp.path());
    assert!(
        has_warning(&warnings, "no PCI device found"),
        "{warnings:?}"
    );
    assert_eq!(report.devices.len(), 1);
    assert_eq!(report.devices[0].modalias, "platform:pcspkr");
}

#[test]
fn an_empty_root_reports_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let (report, warnings) = scan_with_warnings(tmp.path());
    assert!(report.devices.is_empty());
    assert!(
        has_warning(&warnings, "sys/devices: missing"),
        "{warnings:?}"
    );
    assert!(
        has_warning(&warnings, "proc/cpuinfo: missing"),
        "{warnings:?}"
    );
}

#[test]
fn symlink_cycles_are_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_tree(tmp.path());
    std::os::unix::fs::symlink("..", tmp.path().join(format!("{PCI}/loop"))).unwrap();
    std::os::unix::fs::symlink("../../devices", tmp.path().join("sys/devices/platform/up"))
        .unwrap();
    let (report, _) = scan_with_warnings(tmp.path());
    assert_eq!(report.devices.len(), 2);
}

#[test]
fn garbage_in_every_file_of_a_real_tree_never_panics() {
    // Overwrite every file of a captured tree with binary garbage; the scan must still finish
    // with a valid report and one warning or more.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    copy_tree(&fixtures()[0], &root);
    let mut stack = vec![root.clone()];
    let mut n = 0u8;
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap().flatten() {
            let ty = e.file_type().unwrap();
            if ty.is_dir() {
                stack.push(e.path());
            } else if ty.is_file() {
                n = n.wrapping_add(37);
                fs::write(e.path(), [n, 0, 0xff, b'\n', n ^ 0x5a, b':', 0xc3]).unwrap();
            }
        }
    }
    let (_, warnings) = scan_with_warnings(&root);
    assert!(!warnings.is_empty());
}

#[test]
fn a_missing_root_is_a_clear_error() {
    let (ok, _, err) = run_probe(&[
        "scan",
        "--root",
        "/nonexistent/hcl-root",
        "--format",
        "json",
    ]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/hcl-root"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn warnings_go_to_stderr_and_the_report_to_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    copy_tree(&fixture("dev-vm-firecracker"), &root);
    write(&root, "sys/devices/platform/bad0/modalias", b"\x00\x01");
    let (ok, out, err) = run_probe(&["scan", "--root", root.to_str().unwrap(), "--format", "json"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("warning: sys/devices/platform/bad0/modalias"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is one JSON report");
    assert!(v["devices"].as_array().unwrap().len() > 5);
}

/// Regression: the probe's own bus-prefix rule refused `-`, so on a Qubes dom0 (Xen) every
/// `xen-backend:` device became bus "unknown" with a warning, although reports accept it.
#[test]
fn xen_backend_modalias_keeps_its_bus() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_tree(tmp.path());
    write(
        tmp.path(),
        "sys/devices/xen-backend/vif-1-0/modalias",
        b"xen-backend:vif\n",
    );
    let (report, warnings) = scan_with_warnings(tmp.path());
    let xen = report
        .devices
        .iter()
        .find(|d| d.modalias == "xen-backend:vif")
        .expect("the Xen backend device is listed");
    assert_eq!(xen.bus, "xen-backend");
    assert!(!has_warning(&warnings, "vif-1-0"), "{warnings:?}");
}

/// Found by the `sysfs` fuzz target: a tab inside `/etc/os-release`'s `PRETTY_NAME` went into
/// `system.distro` as it was, and the probe made a report its own check refuses (one-line
/// fields take no control character). The same held for a DMI string, the CPU's model name and
/// a modalias. A tab is now escaped like any other control byte.
#[test]
fn regression_tab_in_a_one_line_value_makes_an_invalid_report() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    tiny_tree(root);
    write(
        root,
        "etc/os-release",
        b"PRETTY_NAME=\"Debian\tGNU/Linux 12\"\n",
    );
    write(root, "sys/class/dmi/id/product_name", b"Think\tPad\n");
    write(
        root,
        "proc/cpuinfo",
        b"processor\t: 0\nmodel name\t: Test\tCPU\nflags\t\t: fpu vmx ept\n\n",
    );
    write(
        root,
        "sys/devices/platform/tabbed/modalias",
        b"platform:tab\tbed\n",
    );
    let (report, _) = scan_with_warnings(root);
    let s = &report.system;
    assert_eq!(s.distro.as_deref(), Some("Debian\\x09GNU/Linux 12"));
    assert_eq!(s.model.as_deref(), Some("Think\\x09Pad"));
    assert_eq!(s.cpu.as_deref(), Some("Test\\x09CPU"));
    assert!(
        report
            .devices
            .iter()
            .any(|d| d.modalias.contains("tab\\x09bed")),
        "the modalias is kept, escaped"
    );
}

/// Found by the `sysfs` fuzz target: a `tpm_version_major` of 3,588 bytes went into
/// `system.tpm` whole, and the probe made a report its own check refuses (one-line fields take
/// at most 512 bytes). A DMI string of a page did the same. Such a value is now cut to fit,
/// with a warning naming the field.
#[test]
fn regression_a_one_line_fact_longer_than_a_report_takes_makes_an_invalid_report() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    tiny_tree(root);
    write(
        root,
        "sys/class/tpm/tpm0/tpm_version_major",
        "7".repeat(3588).as_bytes(),
    );
    let long_name = format!("Think{}Pad\n", "é".repeat(600));
    write(root, "sys/class/dmi/id/product_name", long_name.as_bytes());
    let (report, warnings) = scan_with_warnings(root);
    let s = &report.system;
    let tpm = s.tpm.as_deref().expect("tpm kept");
    assert!(tpm.len() <= hcl_data::MAX_SHORT && tpm.starts_with("777") && tpm.ends_with("..."));
    let model = s.model.as_deref().expect("model kept");
    assert!(
        model.len() <= hcl_data::MAX_SHORT && model.starts_with("Think"),
        "{model}"
    );
    assert!(has_warning(&warnings, "system.tpm"), "{warnings:?}");
    assert!(has_warning(&warnings, "system.model"), "{warnings:?}");
}

/// Found from outside: the probe opened a planted device node or FIFO before it looked at its
/// type (a FIFO's waiting writer was released by the scan; a `/dev/watchdog` node would arm the
/// scanning machine's watchdog). The type is now checked on a handle that opens nothing.
#[test]
fn regression_a_planted_fifo_is_opened_before_its_type_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    tiny_tree(root);
    let fifo = root.join("sys/class/dmi/id/product_name");
    fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let _ = fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // A writer blocks in open(2) until some reader opens the FIFO.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::OpenOptions::new().write(true).open(fifo).is_ok())
    };
    let (report, warnings) = scan_with_warnings(root);
    assert_eq!(report.system.model, None);
    assert!(has_warning(&warnings, "product_name"), "{warnings:?}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let released = writer.is_finished();
    // Let the writer go, whatever happened.
    use std::os::unix::fs::OpenOptionsExt as _;
    let _reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    assert!(writer.join().unwrap());
    assert!(!released, "the scan opened the FIFO");
}

/// Found from outside: device folders named with a newline or an escape sequence became
/// `sysfs_path` values that the probe's own check and the server refuse, so `scan --save`
/// wrote a report nobody takes. Such a folder is skipped with a warning.
#[test]
fn regression_a_device_folder_with_control_characters_makes_an_invalid_report() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    tiny_tree(root);
    for name in ["0000:00:1d.0\n  FAKE", "0000:00:1e.0\u{1b}[31m"] {
        write(
            root,
            &format!("sys/devices/pci0000:00/{name}/modalias"),
            b"pci:v00008086d00001E12sv000017AAsd000021F3bc06sc04i00\n",
        );
    }
    let (report, warnings) = scan_with_warnings(root);
    assert!(
        report
            .devices
            .iter()
            .all(|d| !d.sysfs_path.as_deref().unwrap_or("").contains("1d.0\n")),
        "{:?}",
        report.devices
    );
    assert!(has_warning(&warnings, "not a sysfs name"), "{warnings:?}");
}
