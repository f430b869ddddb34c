//! Planted identifiers: serials, a UUID, a MAC address, a hostname and a user name are planted
//! in a copy of every captured tree; none may reach the JSON, YAML, table or Qubes HCL output,
//! nor a capture.

use std::fs;
use std::path::Path;

use crate::common::{copy_tree, fixtures, run_probe};

const PLANTED: &[&str] = &[
    "PLANTED-PRODUCT-SERIAL-1",
    "PLANTED-BOARD-SERIAL-2",
    "PLANTED-CHASSIS-SERIAL-3",
    "5f1d2c3b-aaaa-4bbb-8ccc-0123456789ab",
    "PLANTED-USB-SERIAL-4",
    "02:42:ac:11:00:99",
    "planted-host-5",
    "planted-user-6",
];

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// Plant every identifier where a careless probe would find it.
fn plant(root: &Path) {
    let dmi = "sys/class/dmi/id";
    write(root, &format!("{dmi}/sys_vendor"), "Planted Vendor\n");
    write(root, &format!("{dmi}/product_name"), "Planted Model\n");
    write(
        root,
        &format!("{dmi}/product_serial"),
        "PLANTED-PRODUCT-SERIAL-1\n",
    );
    write(
        root,
        &format!("{dmi}/board_serial"),
        "PLANTED-BOARD-SERIAL-2\n",
    );
    write(
        root,
        &format!("{dmi}/chassis_serial"),
        "PLANTED-CHASSIS-SERIAL-3\n",
    );
    write(
        root,
        &format!("{dmi}/product_uuid"),
        "5f1d2c3b-aaaa-4bbb-8ccc-0123456789ab\n",
    );
    // Xen's domain UUID sits next to the files the Xen facts come from.
    write(
        root,
        "sys/hypervisor/uuid",
        "5f1d2c3b-aaaa-4bbb-8ccc-0123456789ab\n",
    );
    write(root, "etc/hostname", "planted-host-5\n");
    write(root, "proc/sys/kernel/hostname", "planted-host-5\n");
    write(
        root,
        "etc/passwd",
        "planted-user-6:x:1000:1000::/home/planted-user-6:/bin/sh\n",
    );
    fs::create_dir_all(root.join("home/planted-user-6")).unwrap();
    // Next to every device: a serial, a MAC address in a net interface, a uevent.
    let mut stack = vec![root.join("sys/devices")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut is_device = false;
        for e in entries.flatten() {
            let ty = e.file_type().unwrap();
            if ty.is_dir() {
                stack.push(e.path());
            } else if e.file_name() == "modalias" || e.file_name() == "idVendor" {
                is_device = true;
            }
        }
        if is_device {
            fs::write(dir.join("serial"), "PLANTED-USB-SERIAL-4\n").unwrap();
            fs::write(dir.join("uevent"), "SERIAL=PLANTED-USB-SERIAL-4\n").unwrap();
            let net = dir.join("net/eth9");
            fs::create_dir_all(&net).unwrap();
            fs::write(net.join("address"), "02:42:ac:11:00:99\n").unwrap();
        }
    }
}

fn assert_clean(what: &str, text: &str) {
    for p in PLANTED {
        assert!(
            !text.to_ascii_lowercase().contains(&p.to_ascii_lowercase()),
            "{what} leaks planted identifier {p}"
        );
    }
}

fn all_files_text(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let ty = e.file_type().unwrap();
            out.push_str(&e.path().to_string_lossy());
            out.push('\n');
            if ty.is_symlink() {
                out.push_str(&fs::read_link(e.path()).unwrap().to_string_lossy());
            } else if ty.is_dir() {
                stack.push(e.path());
            } else {
                out.push_str(&String::from_utf8_lossy(&fs::read(e.path()).unwrap()));
            }
            out.push('\n');
        }
    }
    out
}

#[test]
fn planted_identifiers_reach_no_output() {
    for fixture in fixtures() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        copy_tree(&fixture, &root);
        plant(&root);
        let root_s = root.to_str().unwrap();
        // The planted DMI vendor is read (so the tree is really scanned), its serial is not.
        let (ok, json, err) = run_probe(&["scan", "--root", root_s, "--format", "json"]);
        assert!(ok, "{err}");
        assert!(
            json.contains("Planted Vendor"),
            "DMI not read from {root_s}"
        );
        assert_clean("json", &json);
        assert_clean("stderr", &err);
        let (ok, yaml, _) = run_probe(&["scan", "--root", root_s, "--format", "yaml"]);
        assert!(ok);
        assert_clean("yaml", &yaml);
        let hcl = tmp.path().join("hcl.yml");
        let (ok, table, err) = run_probe(&[
            "scan",
            "--root",
            root_s,
            "--all",
            "--qubes-hcl",
            hcl.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        assert_clean("table", &table);
        assert_clean("qubes-hcl", &fs::read_to_string(&hcl).unwrap());
        let cap = tmp.path().join("capture");
        let (ok, _, err) = run_probe(&["capture", "--root", root_s, "-o", cap.to_str().unwrap()]);
        assert!(ok, "{err}");
        assert_clean("capture", &all_files_text(&cap));
    }
}

#[test]
fn committed_fixtures_hold_no_planted_identifiers() {
    // The QEMU fixture was made with identifiers planted in the virtual machine itself.
    let qemu_planted = [
        "PLANTED-SERIAL-123",
        "PLANTED-BOARD-SERIAL-456",
        "PLANTED-CHASSIS-SERIAL-789",
        "9f0c3a52-5b1e-4c2d-8e11-0123456789ab",
        "PLANTED-USB-SERIAL-321",
        "52:54:00:fe:dc:ba",
        "planted-hostname-qx7",
    ];
    for fixture in fixtures() {
        let mut text = all_files_text(&fixture.join("sys"));
        text.push_str(&all_files_text(&fixture.join("proc")));
        for p in qemu_planted {
            assert!(!text.contains(p), "{} holds {p}", fixture.display());
        }
    }
}
