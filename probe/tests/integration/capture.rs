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
