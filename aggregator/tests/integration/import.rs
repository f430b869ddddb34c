//! `import-qubes-hcl` over the real Qubes HCL files and over broken ones.

use std::path::PathBuf;

/// The real Qubes HCL kept in the repository, as one archive the importer reads directly.
pub fn hcl_archive() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/qubes-hcl/qubes-hcl.tar.zst")
}

#[tokio::test]
async fn import_bad_files_are_reported_by_name_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let hcl = dir.path().join("hcl");
    std::fs::create_dir(&hcl).unwrap();
    std::fs::write(hcl.join("broken.yml"), b"layout: [unclosed\n").unwrap();
    std::fs::write(hcl.join("binary.yml"), [0xffu8, 0xfe, 0x00, 0x01]).unwrap();
    std::fs::write(hcl.join("notes.txt"), b"not yaml, ignored").unwrap();
    let url = format!("sqlite://{}", dir.path().join("hcl.db").display());
    let store = hcl_aggregator::store::open(&url).await.unwrap();
    let sum = hcl_aggregator::import::import_hcl(store.as_ref(), &hcl)
        .await
        .unwrap();
    assert_eq!(sum.files, 2);
    assert_eq!(sum.failures.len(), 2);
    let names: Vec<&str> = sum.failures.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(names, ["binary.yml", "broken.yml"]);
    assert_eq!(store.count_reports().await.unwrap(), 0);

    let Err(err) =
        hcl_aggregator::import::import_hcl(store.as_ref(), &dir.path().join("nope")).await
    else {
        panic!("a missing directory is an error");
    };
    assert!(err.to_string().contains("nope"), "{err}");
}

#[tokio::test]
async fn import_real_qubes_hcl_is_idempotent() {
    let src = hcl_archive();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hcl.db").display());
    let store = hcl_aggregator::store::open(&url).await.unwrap();
    let first = hcl_aggregator::import::import_hcl(store.as_ref(), &src)
        .await
        .unwrap();
    assert!(first.files >= 1_195, "{} files", first.files);
    // Every real file imports (spelling variants and stray fields are tolerated).
    assert!(
        first.failures.is_empty(),
        "{} failures, first: {:?}",
        first.failures.len(),
        first.failures.iter().take(5).collect::<Vec<_>>()
    );
    assert_eq!(
        first.created + first.already_stored + first.failures.len(),
        first.files
    );
    assert_eq!(first.partial, first.created + first.already_stored);
    assert!(
        first.devices > first.files,
        "PCI ids mapped to devices: {}",
        first.devices
    );

    let stored = store.list_reports(false).await.unwrap();
    assert_eq!(stored.len(), first.created);
    assert!(
        stored
            .iter()
            .all(|r| r.report.origin == hcl_data::Origin::QubesHcl)
    );
    // PCI ids from the chipset/GPU/network fields became partial PCI devices.
    let with_pci = stored
        .iter()
        .filter(|r| r.report.devices.iter().any(|d| d.bus == "pci" && d.partial))
        .count();
    assert!(
        with_pci * 2 > stored.len(),
        "{with_pci} of {}",
        stored.len()
    );

    let second = hcl_aggregator::import::import_hcl(store.as_ref(), &src)
        .await
        .unwrap();
    assert_eq!(second.created, 0);
    assert_eq!(second.already_stored, first.created + first.already_stored);
    assert_eq!(store.count_reports().await.unwrap() as usize, first.created);
}
