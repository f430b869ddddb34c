//! Capture round trips: a capture of a tree scans exactly like the tree itself.

use crate::common::{fixtures, normalized, run_probe, scan_tree};

#[test]
fn capture_scans_like_the_original() {
    for dir in fixtures() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("cap");
        let (ok, _, err) = run_probe(&[
            "capture",
            "--root",
            dir.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        let a = normalized(&scan_tree(&dir).report);
        let b = normalized(&scan_tree(&out).report);
        assert_eq!(a, b, "capture of {} scans differently", dir.display());
    }
}

#[test]
fn capture_refuses_a_non_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
    let dir = &fixtures()[0];
    let (ok, _, err) = run_probe(&[
        "capture",
        "--root",
        dir.to_str().unwrap(),
        "-o",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn empty_directories_survive_git() {
    // Regression: the dev VM capture's empty ACPI table directory vanished in a git checkout,
    // turning "no IOMMU" into "unknown". Captures now leave a marker in empty directories.
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("sys/firmware/acpi/tables")).unwrap();
    std::fs::create_dir_all(src.join("sys/devices/platform/pcspkr")).unwrap();
    std::fs::write(
        src.join("sys/devices/platform/pcspkr/modalias"),
        "platform:pcspkr\n",
    )
    .unwrap();
    let out = tmp.path().join("cap");
    let (ok, _, err) = run_probe(&[
        "capture",
        "--root",
        src.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.join("sys/firmware/acpi/tables")
            .join(hcl_probe::capture::KEEP)
            .is_file()
    );
    let scan = scan_tree(&out);
    assert_eq!(scan.report.system.iommu, hcl_data::Tri::No);
}
