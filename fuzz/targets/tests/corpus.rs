//! Every committed corpus file of every fuzz target (`fuzz/corpus/<target>/`), through the same
//! function the libFuzzer target calls: what the fuzzer once found, and the seeds, stay fixed.
//! Crashes found while fuzzing are kept in the corpus under `crash-<bug>` names.

use std::time::Instant;

use hcl_fuzz_targets::{TARGETS, corpus_dir};

fn replay(target: &str, run: fn(&[u8])) {
    let dir = corpus_dir(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    let start = Instant::now();
    for path in &files {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // A panic names the file that made it.
        let outcome = std::panic::catch_unwind(|| run(&data));
        if let Err(e) = outcome {
            std::panic::resume_unwind(Box::new(format!(
                "{target}: {} failed: {}",
                path.display(),
                e.downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| e.downcast_ref::<&str>().copied())
                    .unwrap_or("panic")
            )));
        }
    }
    eprintln!(
        "{target}: {} files in {:.2} s",
        files.len(),
        start.elapsed().as_secs_f64()
    );
}

/// One test per target, so a failure names it and they run in parallel.
macro_rules! corpus_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let (target, run) = TARGETS
                    .iter()
                    .find(|(t, _)| *t == stringify!($name))
                    .expect("a target of that name");
                replay(target, *run);
            }
        )*

        #[test]
        fn every_target_has_a_test() {
            let tested = [$(stringify!($name)),*];
            for (target, _) in TARGETS {
                assert!(tested.contains(target), "no corpus test for {target}");
            }
        }
    };
}

corpus_tests!(
    upload_json,
    upload_yaml,
    upload_gzip,
    qubes_hcl,
    modalias,
    profile,
    ko,
    deb,
    rpm,
    sysfs,
    query,
    escape,
    dns,
);

/// The corpora reach past the first checks: each holds inputs that the entry point accepts, so
/// the invariants on accepted input are exercised on every run, not only refusals.
#[test]
fn corpora_hold_accepted_inputs() {
    use hcl_aggregator::api::validate::{Format, check};
    use hcl_kernels::binary::fuzzing::{read_module, read_package};

    let files = |target: &str| -> Vec<Vec<u8>> {
        let dir = corpus_dir(target);
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| std::fs::read(e.expect("entry").path()).expect("corpus file"))
            .collect()
    };
    let limit = hcl_aggregator::Config::default().max_body_bytes;
    let some = |target: &str, accepted: &dyn Fn(&[u8]) -> bool| {
        assert!(
            files(target).iter().any(|d| accepted(d)),
            "{target}: no corpus file is accepted by its entry point"
        );
    };
    some("upload_json", &|d| {
        check(d, None, Format::Json, limit).is_ok()
    });
    some("upload_yaml", &|d| {
        check(d, None, Format::Yaml, limit).is_ok()
    });
    some("upload_gzip", &|d| {
        check(&d[1..], Some("gzip"), Format::Json, limit).is_ok()
    });
    some("qubes_hcl", &|d| {
        hcl_aggregator::import::load_one(&Ok(d.to_vec()), "X-Y-20230101.yml").is_ok()
    });
    some("profile", &|d| {
        d.first() == Some(&0) && hcl_kernels::Profile::decode(&d[1..], "seed").is_ok()
    });
    some("ko", &|d| read_module(d).is_ok());
    some("deb", &|d| read_package(d).is_ok());
    some("rpm", &|d| read_package(d).is_ok());
    some("dns", &|d| {
        let id = u16::from_be_bytes([d[0], d[1]]);
        hcl_probe::upload::resolve::decode_response(d, id).is_ok_and(|ips| !ips.is_empty())
    });
    some("sysfs", &|d| {
        let case = tempfile::tempdir().expect("temporary folder");
        let root = hcl_fuzz_targets::sysfs::build(case.path(), d);
        let scan = hcl_probe::scan::scan(
            &hcl_probe::root::Root::new(root),
            hcl_fuzz_targets::modalias::catalog(),
        )
        .expect("scan");
        scan.report
            .devices
            .iter()
            .filter(|d| d.bus == "pci")
            .count()
            >= 3
    });
}
