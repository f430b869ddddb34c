//! The engine on the shipped profiles: regressions named after the bugs they guard, committed
//! profiles against a fresh import, bad input, the CLI.

use std::io::Write as _;
use std::process::{Command, Stdio};

use hcl_data::Verdict;
use hcl_kernels::{
    AliasFilter, AliasKind, Catalog, FirmwareList, Profile, ProfileBuilder, ProfileData,
    ProfileMeta, build_shipped,
};

use crate::common::data_dir;

fn catalog() -> &'static Catalog {
    crate::common::embedded()
}

#[test]
fn embedded_catalog_has_every_candidate_kernel() {
    let c = catalog();
    let ids: Vec<&str> = c.profiles().iter().map(|p| p.meta.id.as_str()).collect();
    assert_eq!(ids, hcl_kernels::SHIPPED_IDS);
    for p in c.profiles() {
        assert!(
            p.meta.counts.aliases > 10_000,
            "{}: too few aliases",
            p.meta.id
        );
        assert!(!p.meta.kernel_version.is_empty());
        assert!(!p.meta.provenance.is_empty());
        assert_eq!(p.meta.has_firmware_list, p.meta.distro == "debian");
    }
}

/// Guessing zeros for the unknown subsystem ids of a Qubes HCL line would say "no driver" for
/// Intel Wi-Fi 7260/7265/8265: iwlwifi matches them by subsystem id.
#[test]
fn partial_hcl_ids_iwlwifi_7260_7265_8265_match_by_subsystem_regression() {
    let c = catalog();
    for kernel in [
        "debian-12",
        "debian-13",
        "debian-sid",
        "qubes-6.12",
        "rhel-9.6",
    ] {
        let p = c.get(kernel).expect("profile");
        for device in ["08B1", "095A", "24FD"] {
            let partial = format!("pci:v00008086d0000{device}sv????????sd????????bc??sc??i??");
            let zeros = format!("pci:v00008086d0000{device}sv00000000sd00000000bc00sc00i00");
            assert!(
                !p.resolve(&zeros).modules.contains(&"iwlwifi".to_owned()),
                "{kernel} {device}: zero-filled ids should not match (this is the trap)"
            );
            assert!(
                p.resolve_partial(&partial)
                    .modules
                    .contains(&"iwlwifi".to_owned()),
                "{kernel} {device}: partial ids must match iwlwifi"
            );
            let cov = p.coverage(&partial, true);
            assert!(cov.partial);
            assert_eq!(cov.modules, vec!["iwlwifi".to_owned()], "{kernel} {device}");
            assert!(cov.verdict.is_driven(), "{kernel} {device}: {cov:?}");
        }
    }
}

/// Debian 6.12 builds virtio_pci in and records no device-table aliases for built-ins: kmod
/// says "not found" for every virtio device; the engine must report an inferred built-in.
#[test]
fn virtio_pci_builtin_on_debian_13_is_inferred_regression() {
    let c = catalog();
    let virtio_net = "pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00";
    let d13 = c.get("debian-13").expect("debian-13");
    let res = d13.resolve(virtio_net);
    assert!(res.kmod_answer().is_empty(), "kmod is blind here: {res:?}");
    assert_eq!(res.inferred_builtin, vec!["virtio_pci".to_owned()]);
    let src = d13.inferred_source("virtio_pci").expect("labelled source");
    assert!(
        src.starts_with("debian-"),
        "inferred from real Debian data, got {src}"
    );
    let cov = d13.coverage(virtio_net, false);
    assert_eq!(cov.verdict, Verdict::Supported);
    assert!(cov.reason.contains("inferred"), "{}", cov.reason);
    // 6.1 has it as a module, 7.x records the built-in alias.
    assert_eq!(
        c.get("debian-12").expect("d12").resolve(virtio_net).modules,
        vec!["virtio_pci".to_owned()]
    );
    assert_eq!(
        c.get("debian-sid")
            .expect("sid")
            .resolve(virtio_net)
            .builtin,
        vec!["virtio_pci".to_owned()]
    );
}

#[test]
fn rhel_disabled_pci_id_still_matching_megaraid_sas_is_disabled() {
    let c = catalog();
    let m = "pci:v00001000d00000060sv00001000sd00001000bc01sc04i00";
    let cov = c.get("rhel-9.6").expect("rhel-9.6").coverage(m, false);
    assert_eq!(cov.modules, vec!["megaraid_sas".to_owned()]);
    assert_eq!(cov.verdict, Verdict::Disabled);
    let st = cov.rhel_status.expect("status");
    assert_eq!((st.status.as_str(), st.by.as_str()), ("disabled", "device"));
    // Debian has no such policy.
    let deb = c.get("debian-13").expect("debian-13").coverage(m, false);
    assert_eq!(deb.verdict, Verdict::Supported);
    assert!(deb.rhel_status.is_none());
}

#[test]
fn derived_data_says_unknown_for_other_buses_and_firmware() {
    let c = catalog();
    let rhel = c.get("rhel-10.0").expect("rhel-10.0");
    for m in ["acpi:INT33A1:PNP0D80:", "hid:b0003g0001v0000046Dp0000C52B"] {
        let cov = rhel.coverage(m, false);
        assert_eq!(cov.verdict, Verdict::Unknown, "{m}: {cov:?}");
    }
    // Debian data covers every bus: an unknown acpi id has no driver.
    let deb = c.get("debian-13").expect("debian-13");
    assert_eq!(
        deb.coverage("acpi:ZZZZ9999:", false).verdict,
        Verdict::NoDriver
    );
    // No firmware list: a driver that asks for firmware is not "missing" it.
    let ax200 = "pci:v00008086d00002723sv00008086sd00000084bc02sc80i00";
    let cov = rhel.coverage(ax200, false);
    assert_eq!(cov.verdict, Verdict::Supported);
    assert!(cov.firmware.iter().all(|f| f.shipped.is_none()));
    let cov = deb.coverage(ax200, false);
    assert!(cov.firmware.iter().any(|f| f.shipped == Some(true)));
    assert!(
        cov.firmware
            .iter()
            .any(|f| f.package.as_deref() == Some("firmware-iwlwifi"))
    );
}

#[test]
fn iwlwifi_older_api_firmware_satisfies_newest_declared() {
    let list = FirmwareList::from_pairs([
        (
            "iwlwifi-cc-a0-72.ucode".to_owned(),
            "firmware-iwlwifi".to_owned(),
        ),
        (
            "iwlwifi-cc-a0-59.ucode".to_owned(),
            "firmware-iwlwifi".to_owned(),
        ),
        (
            "i915/tgl_dmc.bin.zst".to_owned(),
            "firmware-misc-nonfree".to_owned(),
        ),
    ]);
    let (pkg, alt) = list.satisfies("iwlwifi-cc-a0-77.ucode").expect("fallback");
    assert_eq!(pkg, "firmware-iwlwifi");
    assert_eq!(alt.as_deref(), Some("iwlwifi-cc-a0-72.ucode"));
    assert!(
        list.satisfies("iwlwifi-cc-a0-50.ucode").is_none(),
        "never a newer API"
    );
    assert_eq!(
        list.satisfies("i915/tgl_dmc.bin").map(|(_, a)| a),
        Some(Some("i915/tgl_dmc.bin.zst".to_owned()))
    );
    // On the real trixie list: a declared API newer than Debian ships is still met.
    let d13 = catalog().get("debian-13").expect("debian-13");
    let fw = d13.data().firmware.as_ref().expect("list");
    let (_, alt) = fw
        .satisfies("iwlwifi-so-a0-jf-b0-89.ucode")
        .expect("met by an older API");
    assert!(alt.is_some_and(|a| a.starts_with("iwlwifi-so-a0-jf-b0-")));
}

#[test]
fn firmware_missing_when_no_declared_file_ships() {
    let mut b = ProfileBuilder::new(ProfileMeta {
        id: "test".into(),
        ..Default::default()
    });
    b.add_alias(
        AliasKind::Module,
        "pci:v00001234d*sv*sd*bc*sc*i*",
        "needsfw",
    );
    b.module("needsfw").loadable = true;
    b.module("needsfw").firmware = vec!["vendor/chip.bin".into()];
    b.firmware = Some(FirmwareList::from_pairs([(
        "other.bin".to_owned(),
        "firmware-misc".to_owned(),
    )]));
    let p = b.build();
    let cov = p.coverage(
        "pci:v00001234d00000001sv00000000sd00000000bc02sc00i00",
        false,
    );
    assert_eq!(cov.verdict, Verdict::FirmwareMissing);
    assert_eq!(cov.firmware.len(), 1);
    assert_eq!(cov.firmware[0].shipped, Some(false));
}

/// The profiles committed under kernels/profiles equal what the importers make from the
/// repository's data/ now.
#[test]
fn committed_profiles_equal_fresh_import_from_data() {
    let fresh = build_shipped(&data_dir(), &|_, _, _| {}).expect("build from data/");
    let committed = catalog();
    assert_eq!(fresh.profiles().len(), committed.profiles().len());
    for (f, c) in fresh.profiles().iter().zip(committed.profiles()) {
        assert_eq!(f.meta, c.meta, "{}: metadata differs", f.meta.id);
        assert!(
            f.data() == c.data(),
            "{}: data differs; run `hcl-kernels build-shipped`",
            f.meta.id
        );
    }
    let catalog_json = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/catalog.json"),
    )
    .expect("catalog.json");
    for p in committed.profiles() {
        assert!(catalog_json.contains(&format!("\"id\": \"{}\"", p.meta.id)));
    }
}

#[test]
fn compact_profiles_total_under_5_mb() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let total: u64 = std::fs::read_dir(&dir)
        .expect("profiles dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".profile.zst"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    assert!(total < 5_000_000, "{total} bytes");
    let loaded = Catalog::load_dir(&dir).expect("load_dir");
    assert_eq!(loaded.profiles().len(), 8);
}

#[test]
fn bad_profile_bytes_give_errors_naming_the_file() {
    let err = Profile::decode(b"not zstd at all", "x.profile.zst").expect_err("garbage");
    assert!(err.to_string().starts_with("x.profile.zst"), "{err}");
    let good = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/rhel-9.6.profile.zst"),
    )
    .expect("committed profile");
    let truncated = &good[..good.len() / 2];
    let err = Profile::decode(truncated, "t.profile.zst").expect_err("truncated");
    assert!(err.to_string().contains("t.profile.zst"), "{err}");
    let text = zstd::bulk::compress(b"hcl-kernels-profile 1\n{}\nA\tm\t0\t7\tpci:*\n", 1)
        .expect("compress");
    let err = Profile::decode(&text, "bad.profile.zst").expect_err("dangling module index");
    assert!(err.to_string().contains("bad.profile.zst:3"), "{err}");
    assert!(matches!(
        catalog().get("debian-99"),
        Err(hcl_kernel_engine::Error::UnknownKernel(id)) if id == "debian-99"
    ));
}

/// A filtered decode skips the alias lines it does not keep unread, validates the ones it keeps,
/// and the result says it is filtered and cannot be written back as a profile.
#[test]
fn filtered_decode_validates_what_it_keeps_and_cannot_be_encoded() {
    let text = "hcl-kernels-profile 1\n{\"id\":\"t\"}\nM\tdrv\tl\t-\n\
                A\tm\t0\t0\tpci:v00001234d*\nA\tm\t1\t7\tusb:v1234p*\n";
    let pci = AliasFilter::new([(
        "pci:v00001234d00000001sv00000000sd00000000bc02sc00i00",
        false,
    )]);
    let usb = AliasFilter::new([("usb:v1234p0001d0000dc00dsc00dp00ic03isc01ip01in00", false)]);
    let data = ProfileData::from_text_filtered(text, "t", Some(&pci)).expect("bad line skipped");
    assert!(data.filtered);
    assert_eq!(data.aliases.len(), 1);
    let err = ProfileData::from_text_filtered(text, "t", Some(&usb)).expect_err("kept bad line");
    assert!(err.to_string().contains("t:5"), "{err}");
    assert!(ProfileData::from_text(text, "t").is_err());
    let p = Profile::from_data(data);
    assert!(p.is_filtered());
    assert_eq!(
        p.resolve("pci:v00001234d00000001sv00000000sd00000000bc02sc00i00")
            .modules,
        ["drv"]
    );
    let err = p.encode().expect_err("filtered profiles are not written");
    assert!(err.to_string().contains("alias filter"), "{err}");
}

/// Loading from a directory in two steps names a damaged file in its error; `load_dir` as well.
#[test]
fn pending_catalog_from_a_damaged_dir_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    catalog().write_dir(dir.path()).expect("write_dir");
    let loaded = Catalog::start_dir(dir.path())
        .expect("listed")
        .finish(None)
        .expect("loads");
    assert_eq!(loaded.profiles().len(), catalog().profiles().len());
    let damaged = dir.path().join("rhel-9.6.profile.zst");
    std::fs::write(&damaged, b"not zstd").expect("damage");
    let err = Catalog::start_dir(dir.path())
        .expect("listed")
        .finish(Some(&AliasFilter::new([("pci:v1", false)])))
        .expect_err("damaged");
    assert!(err.to_string().contains("rhel-9.6.profile.zst"), "{err}");
    assert!(Catalog::load_dir(dir.path()).is_err());
    // Dropped unfinished: the workers stop, nothing hangs or panics.
    drop(Catalog::start_embedded());
}

#[test]
fn diff_debian_13_to_sid_is_consistent() {
    let c = catalog();
    let (a, b) = (
        c.get("debian-13").expect("a"),
        c.get("debian-sid").expect("b"),
    );
    let d = hcl_kernels::diff::diff(a, b).unwrap();
    assert!(!d.drivers.lost.is_empty() && !d.drivers.gained.is_empty());
    for m in &d.drivers.lost {
        assert!(a.has_module(m) && !b.has_module(m), "{m}");
    }
    for m in &d.drivers.gained {
        assert!(!a.has_module(m) && b.has_module(m), "{m}");
    }
    // sid records built-in device tables that 6.12 did not: pci ids are gained.
    assert!(d.device_ids_by_bus.get("pci").is_some_and(|(_, g)| *g > 0));
    assert!(!d.firmware_files.gained.is_empty());
    assert!(!d.partial_coverage);
}

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hcl-kernels"))
}

#[test]
fn cli_resolve_json_from_stdin() {
    let mut child = cli()
        .args(["resolve", "--kernel", "debian-13", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(
            b"pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00\n\n\
              pci:v00008086d00002723sv00008086sd00000084bc02sc80i00\n",
        )
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    for key in [
        "modalias",
        "kernel",
        "modules",
        "builtin",
        "inferred_builtin",
        "firmware",
        "verdict",
    ] {
        assert!(lines[0].get(key).is_some(), "missing {key}");
    }
    assert_eq!(lines[0]["inferred_builtin"][0], "virtio_pci");
    assert_eq!(lines[1]["modules"][0], "iwlwifi");
    assert_eq!(lines[1]["kernel"], "debian-13");
}

#[test]
fn cli_bad_input_fails_cleanly() {
    let out = cli()
        .args(["resolve", "--kernel", "debian-13", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("standard input was empty"), "{err}");
    assert!(!err.contains("panicked"));

    let out = cli()
        .args(["resolve", "--kernel", "nope", "pci:x"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown kernel id \"nope\""));

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("modules.alias"), "alias ok x\ngarbage\n").expect("write");
    std::fs::write(dir.path().join("modules.builtin"), "").expect("write");
    let out = cli()
        .args(["import", "--id", "t", "--out"])
        .arg(dir.path())
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("modules.alias:2"), "{err}");
}

#[test]
fn cli_import_list_and_diff_with_profile_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = data_dir().join("kernel-data/qubes-derived/qubes-6.12");
    let out = cli()
        .args(["import", "--id", "q", "--out"])
        .arg(dir.path())
        .arg(&src)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli()
        .arg("--profiles")
        .arg(dir.path())
        .args(["list"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("q "));
    let out = cli()
        .args(["diff", "debian-13", "qubes-6.12", "--json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["partial_coverage"], true);
}

/// The builder the binary importers feed: modules, built-ins with recorded aliases, firmware.
#[test]
fn profile_from_module_set_resolves_like_kmod() {
    use hcl_kernels::binary::{ModuleInfo, ModuleSet};
    let set = ModuleSet {
        kernel_version: "7.3.4+deb13-amd64".into(),
        modules: vec![ModuleInfo {
            name: "iwlwifi".into(),
            path: "kernel/drivers/net/wireless/intel/iwlwifi/iwlwifi.ko.xz".into(),
            aliases: vec!["pci:v00008086d00002723sv*sd*bc*sc*i*".into()],
            firmware: vec!["iwlwifi-cc-a0-77.ucode".into()],
            ..Default::default()
        }],
        builtin: vec![ModuleInfo {
            name: "virtio_pci".into(),
            path: "kernel/drivers/virtio/virtio_pci.ko".into(),
            aliases: vec!["pci:v00001AF4d*sv*sd*bc*sc*i*".into()],
            firmware: vec![],
            package: Some("kernel-modules-extra".into()),
            ..Default::default()
        }],
        firmware_files: vec!["iwlwifi-cc-a0-72.ucode".into()],
        ..Default::default()
    };
    let meta = ProfileMeta {
        id: "from-set".into(),
        ..Default::default()
    };
    let p = ProfileBuilder::from_module_set(meta, &set, None).build();
    assert_eq!(p.meta.kernel_version, "7.3.4+deb13-amd64");
    assert!(p.meta.records_builtin_aliases);
    let ax200 = p.coverage(
        "pci:v00008086d00002723sv00008086sd00000084bc02sc80i00",
        false,
    );
    assert_eq!(ax200.modules, vec!["iwlwifi".to_owned()]);
    assert_eq!(ax200.verdict, Verdict::Supported);
    assert_eq!(
        ax200.firmware[0].shipped,
        Some(true),
        "older API file ships"
    );
    let virtio = p.resolve("pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00");
    assert_eq!(virtio.builtin, vec!["virtio_pci".to_owned()]);
    assert!(p.module("virtio_pci").is_some_and(|m| m.extra));
    // Round trip through the compact form.
    let back = Profile::decode(&p.encode().expect("encode"), "mem").expect("decode");
    assert!(back.data() == p.data());
}

/// Regression: ath11k declares its firmware as folder globs (`ath11k/WCN6855/hw2.0/*`), which
/// no exact file name matches, so Qualcomm QCNFA765 Wi-Fi showed as "firmware missing" on
/// Debian although firmware-atheros ships those folders.
#[test]
fn firmware_declared_as_glob_is_met_by_a_shipped_file() {
    let deb = catalog().get("debian-13").expect("debian-13");
    let qcnfa765 = "pci:v000017CBd00001103sv000017CBsd00000108bc02sc80i00";
    let cov = deb.coverage(qcnfa765, false);
    assert!(cov.modules.iter().any(|m| m == "ath11k_pci"), "{cov:?}");
    assert_eq!(cov.verdict, Verdict::Supported, "{}", cov.reason);
    let wcn = cov
        .firmware
        .iter()
        .find(|f| f.file == "ath11k/WCN6855/hw2.0/*")
        .expect("declared glob listed");
    assert_eq!(wcn.shipped, Some(true));
    assert_eq!(wcn.package.as_deref(), Some("firmware-atheros"));

    let list = FirmwareList::from_pairs([("ath11k/WCN6855/hw2.0/amss.bin".into(), "fw".into())]);
    assert!(list.satisfies("ath11k/WCN6855/hw2.0/*").is_some());
    assert!(list.satisfies("ath11k/QCA6390/hw2.0/*").is_none());
}

/// `--version` lists the embedded profiles from their headers alone: the same metadata as the
/// whole decoded profiles and as catalog.json, and a clear error for bytes that are no profile.
#[test]
fn embedded_meta_is_the_profiles_own_metadata() {
    let metas = Catalog::embedded_meta().expect("embedded metadata");
    let whole: Vec<&ProfileMeta> = catalog().profiles().iter().map(|p| &p.meta).collect();
    assert_eq!(metas.iter().collect::<Vec<_>>(), whole);
    let catalog_json: Vec<hcl_kernels::CatalogEntry> = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/catalog.json"),
        )
        .expect("catalog.json"),
    )
    .expect("catalog.json parses");
    assert_eq!(
        metas,
        catalog_json.into_iter().map(|e| e.meta).collect::<Vec<_>>()
    );
    let summary = Catalog::embedded_summary();
    for m in &metas {
        assert!(summary.contains(&m.provenance), "{summary}");
    }

    let err = hcl_kernels::profile::decode_meta(b"not zstd", "x.profile.zst").unwrap_err();
    assert!(err.to_string().starts_with("x.profile.zst"), "{err}");
    let not_profile = zstd::bulk::compress(b"hello\n{}\n", 1).expect("compress");
    let err = hcl_kernels::profile::decode_meta(&not_profile, "y.profile.zst").unwrap_err();
    assert!(err.to_string().contains("bad header"), "{err}");
    let no_meta = zstd::bulk::compress(b"hcl-kernels-profile 1\n", 1).expect("compress");
    let err = hcl_kernels::profile::decode_meta(&no_meta, "z.profile.zst").unwrap_err();
    assert!(
        err.to_string().contains("ends before its metadata"),
        "{err}"
    );
}
