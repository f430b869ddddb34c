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

/// Two real HCL files: one named by `qubes-hcl-report` (its report id comes from the name), one
/// named by hand (no file name kept: it holds a person's name).
const TWO_FILES: [&str; 2] = [
    "Lenovo-ThinkPad_T420-4238W2H-20240519-140011.yml",
    "Lenovo-ThinkPad_X230-aronowski.yml",
];

/// What an older importer made of a file: the same report id, other content (another id).
fn older_import(file: &hcl_data::hcl_files::HclFile) -> hcl_data::CanonicalReport {
    let text = String::from_utf8_lossy(file.bytes.as_ref().expect("bytes")).into_owned();
    let mut report = hcl_data::qubes_hcl::from_yaml(&text, &file.name).expect("import");
    report.devices.truncate(1);
    report.canonical().expect("canonical")
}

/// Regression (README "What does not work yet": a re-import after an importer change stored
/// every file a second time beside its old version): `--replace` leaves exactly this import's
/// versions, keeps a moderator's hiding where the file names its report, never touches an
/// upload, and removes nothing when a file fails.
async fn replace_scenario(store: std::sync::Arc<dyn hcl_aggregator::store::Store>) {
    use hcl_aggregator::import::{Replace, import_hcl_with};
    let files = hcl_data::hcl_files::read(&hcl_archive()).expect("HCL archive");
    let two: Vec<_> = TWO_FILES
        .iter()
        .map(|n| files.iter().find(|f| f.name == *n).expect(n))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for f in &two {
        std::fs::write(dir.path().join(&f.name), f.bytes.as_ref().unwrap()).unwrap();
    }
    // The database as an older build left it: both files in their older form, the first
    // hidden by a moderator, and one upload from the probe.
    let old: Vec<_> = two.iter().map(|f| older_import(f)).collect();
    for c in old.clone() {
        assert_eq!(
            store.put_report(c).await.unwrap(),
            hcl_aggregator::store::PutOutcome::Created
        );
    }
    assert!(store.set_hidden(&old[0].id, true).await.unwrap());
    let upload = crate::common::sample_report(7).canonical().unwrap();
    store.put_report(upload.clone()).await.unwrap();

    // Without --replace the new versions land beside the old ones (the bug as it was).
    let keep = import_hcl_with(store.as_ref(), dir.path(), Replace::Keep)
        .await
        .unwrap();
    assert_eq!((keep.created, keep.replaced), (2, 0));
    assert_eq!(store.count_reports().await.unwrap(), 5);

    let sum = import_hcl_with(store.as_ref(), dir.path(), Replace::Earlier)
        .await
        .unwrap();
    assert_eq!(sum.not_replaced, None);
    assert_eq!((sum.created, sum.already_stored), (0, 2));
    assert_eq!((sum.replaced, sum.kept_hidden), (2, 1));
    let stored = store.list_reports(true).await.unwrap();
    let mut ids: Vec<&str> = stored.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    assert!(!ids.contains(&old[0].id.as_str()) && !ids.contains(&old[1].id.as_str()));
    assert!(ids.contains(&upload.id.as_str()), "the upload was removed");
    assert_eq!(ids.len(), 3);
    let hidden: Vec<(String, bool)> = stored
        .iter()
        .filter(|r| r.report.origin == hcl_data::Origin::QubesHcl)
        .map(|r| (r.report.system.model.clone().unwrap_or_default(), r.hidden))
        .collect();
    assert!(
        hidden.iter().any(|(m, h)| m.contains("T420") && *h),
        "the hidden file's new version is not hidden: {hidden:?}"
    );
    assert!(
        hidden.iter().any(|(m, h)| m.contains("X230") && !h),
        "{hidden:?}"
    );

    // A file that fails: its earlier version may be the only one, so nothing is removed.
    let stale = older_import(two[1]);
    store.put_report(stale.clone()).await.unwrap();
    std::fs::write(dir.path().join("broken.yml"), b"layout: [unclosed\n").unwrap();
    let sum = import_hcl_with(store.as_ref(), dir.path(), Replace::Earlier)
        .await
        .unwrap();
    assert_eq!(sum.failures.len(), 1);
    assert_eq!(sum.replaced, 0);
    assert!(sum.not_replaced.as_deref().unwrap_or("").contains("failed"));
    assert!(store.get_report(&stale.id).await.unwrap().is_some());
}

#[tokio::test]
async fn regression_reimport_after_importer_change_replaces_earlier_versions_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hcl.db").display());
    replace_scenario(hcl_aggregator::store::open(&url).await.unwrap()).await;
}

#[tokio::test]
async fn regression_reimport_after_importer_change_replaces_earlier_versions_postgres() {
    let Ok(base) = std::env::var("HCL_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but HCL_TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL"
        );
        eprintln!(
            "\n*** SKIPPED the PostgreSQL replace scenario: HCL_TEST_POSTGRES_URL is not set ***\n"
        );
        return;
    };
    let url = crate::common::fresh_pg_schema(&base).await;
    replace_scenario(hcl_aggregator::store::open(&url).await.unwrap()).await;
}
