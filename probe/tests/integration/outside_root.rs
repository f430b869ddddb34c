//! The probe never reads outside its root: every path is resolved inside `--root` as a chroot
//! would (absolute link targets start again at the root, `..` stops there), with the kernel's
//! `openat2(RESOLVE_IN_ROOT)` and with the user-space walk used where that call is missing.
//! A link that points out is a warning, never content; `capture` copies nothing from outside.

use std::fs;
use std::path::Path;

use hcl_probe::chroot::Resolver;
use hcl_probe::root::Root;
use hcl_probe::scan::scan;

use crate::common::{catalog, copy_tree, fixture, run_probe};

const DMI: &str = "sys/class/dmi/id";
const SECRET: &str = "SECRET-OUTSIDE-THE-ROOT";

/// A copy of the QEMU laptop tree and, beside it (outside the root), a file with a secret.
fn tree_and_outside() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    copy_tree(&fixture("qemu-q35-usb-laptopish"), &root);
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("file"), format!("{SECRET}\n")).unwrap();
    (tmp, root, outside)
}

fn relink(root: &Path, rel: &str, target: &str) {
    let p = root.join(rel);
    let _ = fs::remove_file(&p);
    std::os::unix::fs::symlink(target, &p).unwrap();
}

fn scan_with(root: &Path, how: Resolver) -> (String, Vec<String>) {
    let r = Root::with_resolver(root, how);
    assert_eq!(r.resolver(), Some(how));
    let s = scan(&r, catalog()).expect("scan");
    let json = serde_json::to_string(&s.report).unwrap();
    (json, s.warnings.iter().map(|w| w.to_string()).collect())
}

/// Bug: `sys/class/dmi/id/product_name -> /some/file` put that file of the host into the
/// report.
#[test]
fn regression_dmi_product_name_symlink_to_a_file_outside_the_root() {
    let (_tmp, root, outside) = tree_and_outside();
    let target = outside.join("file");
    relink(
        &root,
        &format!("{DMI}/product_name"),
        target.to_str().unwrap(),
    );
    for how in [Resolver::Kernel, Resolver::Walk] {
        let (json, warnings) = scan_with(&root, how);
        assert!(!json.contains(SECRET), "{how:?}: the host's file was read");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("{DMI}/product_name"))
                    && w.contains("points outside the root")),
            "{how:?}: {warnings:#?}"
        );
    }
    // The binary, as a person runs it.
    let (ok, out, err) = run_probe(&["scan", "--root", root.to_str().unwrap(), "--format", "json"]);
    assert!(ok, "{err}");
    assert!(!out.contains(SECRET) && !err.contains(SECRET));
    assert!(err.contains("points outside the root"), "{err}");
}

/// `..` cannot climb above the root, however many there are.
#[test]
fn dotdot_links_stop_at_the_root() {
    let (_tmp, root, _outside) = tree_and_outside();
    relink(
        &root,
        &format!("{DMI}/product_name"),
        "../../../../../../../../../../../../../outside/file",
    );
    relink(
        &root,
        &format!("{DMI}/sys_vendor"),
        "../../../../../outside/file",
    );
    for how in [Resolver::Kernel, Resolver::Walk] {
        let (json, warnings) = scan_with(&root, how);
        assert!(!json.contains(SECRET), "{how:?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("points outside the root")),
            "{how:?}: {warnings:#?}"
        );
    }
    // Inside the root, the same climb lands on the root's own `outside/file`.
    fs::create_dir_all(root.join("outside")).unwrap();
    fs::write(root.join("outside/file"), "Inside Vendor\n").unwrap();
    for how in [Resolver::Kernel, Resolver::Walk] {
        let (json, _) = scan_with(&root, how);
        assert!(json.contains("Inside Vendor"), "{how:?}");
    }
}

/// As a chroot: an absolute target starts again at the root (a mounted disk image's
/// `/etc/os-release -> /usr/lib/os-release`), through a directory link too.
#[test]
fn absolute_links_are_resolved_inside_the_root() {
    let (_tmp, root, _outside) = tree_and_outside();
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    fs::write(
        root.join("usr/lib/os-release"),
        "NAME=\"Chroot Linux\"\nPRETTY_NAME=\"Chroot Linux 1\"\n",
    )
    .unwrap();
    let _ = fs::remove_file(root.join("etc/os-release"));
    fs::create_dir_all(root.join("etc")).unwrap();
    std::os::unix::fs::symlink("/usr/lib/os-release", root.join("etc/os-release")).unwrap();
    // The DMI folder moved, reached through an absolute directory link.
    fs::rename(root.join(DMI), root.join("dmi-real")).unwrap();
    std::os::unix::fs::symlink("/dmi-real", root.join(DMI)).unwrap();
    let (plain, _) = scan_with(&fixture("qemu-q35-usb-laptopish"), Resolver::Kernel);
    let model = |json: &str| {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        v["system"]["model"].clone()
    };
    for how in [Resolver::Kernel, Resolver::Walk] {
        let (json, warnings) = scan_with(&root, how);
        assert!(json.contains("Chroot Linux"), "{how:?}: {warnings:#?}");
        assert_eq!(model(&json), model(&plain), "{how:?}");
        assert!(!model(&json).is_null());
    }
}

/// A link loop is an error for that file, not a hang.
#[test]
fn link_loops_end() {
    let (_tmp, root, _outside) = tree_and_outside();
    relink(
        &root,
        &format!("{DMI}/product_name"),
        "/sys/class/dmi/id/product_name",
    );
    for how in [Resolver::Kernel, Resolver::Walk] {
        let (json, warnings) = scan_with(&root, how);
        assert!(!json.contains(SECRET));
        assert!(
            warnings.iter().any(|w| w.contains("product_name")),
            "{how:?}: {warnings:#?}"
        );
    }
}

/// Every fixture scans the same with the kernel's resolution and with the user-space walk.
#[test]
fn both_resolvers_give_the_same_scan() {
    for name in ["qemu-q35-usb-laptopish", "dev-vm-firecracker"] {
        let dir = fixture(name);
        let strip = |json: String| {
            let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
            v["report_id"] = serde_json::Value::Null;
            v
        };
        let (a, wa) = scan_with(&dir, Resolver::Kernel);
        let (b, wb) = scan_with(&dir, Resolver::Walk);
        assert_eq!(strip(a), strip(b), "{name}");
        assert_eq!(wa, wb, "{name}");
    }
}

/// `capture` copies only what is inside the root: the host's file behind a link is neither
/// read nor copied.
#[test]
fn capture_copies_nothing_from_outside_the_root() {
    let (tmp, root, outside) = tree_and_outside();
    let target = outside.join("file");
    relink(
        &root,
        &format!("{DMI}/product_name"),
        target.to_str().unwrap(),
    );
    relink(
        &root,
        &format!("{DMI}/sys_vendor"),
        "../../../../../../../outside/file",
    );
    let out = tmp.path().join("capture");
    let (ok, _, err) = run_probe(&[
        "capture",
        "--root",
        root.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("points outside the root"), "{err}");
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ty = e.file_type().unwrap();
            if ty.is_dir() {
                stack.push(e.path());
            } else if ty.is_file() {
                let data = fs::read(e.path()).unwrap();
                assert!(
                    !String::from_utf8_lossy(&data).contains(SECRET),
                    "{} holds the host's file",
                    e.path().display()
                );
            }
        }
    }
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        format!("{SECRET}\n"),
        "the file outside is untouched"
    );
}
