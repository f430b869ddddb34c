//! `hcl-kernels derive` on a small real tree (data/derive-fixture): seven real driver sources of
//! Debian's 6.12.117 with the headers they include, compiled with the commands Debian's config
//! gives them in `make -n`, and the tree's real scripts/mod built here and run on them. The alias
//! lines must be Debian's real ones. The whole-tree figure (Debian's source against Debian's
//! real modules.alias) is in the README and kernels/BENCHMARKS.md; that run takes minutes to
//! hours, this one seconds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use hcl_kernels::derive::{self, Buses, Quiet};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The fixture unpacked into `dir`, its listing with real paths, modpost built like Kbuild's
/// hostprogs (`modpost-objs := modpost.o file2alias.o sumversion.o symsearch.o`).
fn unpack_fixture(dir: &Path) -> (PathBuf, PathBuf, String) {
    let tarball = repo().join("data/derive-fixture/linux-6.12.117-subset.tar.xz");
    let file = std::fs::File::open(&tarball).expect("fixture tarball");
    let xz = liblzma::read::XzDecoder::new(std::io::BufReader::new(file));
    tar::Archive::new(xz).unpack(dir).expect("unpack fixture");
    let top = dir.join("linux-6.12.117-subset");
    let src = top.join("src");
    let build = top.join("build");
    let listing = std::fs::read_to_string(top.join("listing.txt"))
        .expect("listing")
        .replace("@SRCTREE@", &src.to_string_lossy())
        .replace("@OBJTREE@", &build.to_string_lossy());
    let cc = std::env::var("HOSTCC").unwrap_or_else(|_| "cc".to_owned());
    let status = Command::new(&cc)
        .args(["-O2", "-o"])
        .arg(build.join("scripts/mod/modpost"))
        .arg("-I")
        .arg(build.join("scripts/mod"))
        .arg("-I")
        .arg(src.join("scripts/include"))
        .args(
            ["modpost.c", "file2alias.c", "sumversion.c", "symsearch.c"]
                .map(|f| src.join("scripts/mod").join(f)),
        )
        .status()
        .expect("run the host C compiler (cc)");
    assert!(status.success(), "building scripts/mod/modpost failed");
    (src, build, listing)
}

fn lines(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .expect("expected lines")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn as_lines(v: &[(String, String)]) -> BTreeSet<String> {
    v.iter().map(|(p, m)| format!("alias {p} {m}")).collect()
}

#[test]
fn derive_on_real_driver_sources_gives_debians_real_alias_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, build, listing) = unpack_fixture(dir.path());
    let buses = Buses::parse("pci,usb").expect("buses");
    let d = derive::derive_prepared(&src, &build, listing.as_bytes(), &buses, 2, &Quiet)
        .expect("derive on the fixture");

    let p = &d.provenance;
    assert_eq!(p.tree_version, "6.12.117");
    assert!(
        !p.records_builtin_aliases,
        "6.12 records no built-in device tables"
    );
    assert_eq!(p.objects_total, 7);
    // sdhci-pci-o2micro.c holds no table, i2c-designware-platdrv.c acpi and of ones only.
    assert_eq!(p.objects_compiled, 5, "compiled: {p:?}");
    assert!(
        p.objects_failed.is_empty(),
        "failed: {:?}",
        p.objects_failed
    );

    let top = dir.path().join("linux-6.12.117-subset");
    let expected = lines(&top.join("expected/modules.alias"));
    assert!(
        expected.len() > 150,
        "fixture holds {} lines",
        expected.len()
    );
    let got = as_lines(&d.aliases);
    assert_eq!(
        got.difference(&expected).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "derived lines Debian's modules.alias lacks"
    );
    assert_eq!(
        expected.difference(&got).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "Debian's lines not derived"
    );
    // The order too: depmod writes a module's aliases last-first.
    let acm: Vec<&str> = d
        .aliases
        .iter()
        .filter(|(_, m)| m == "cdc_acm")
        .map(|(p, _)| p.as_str())
        .collect();
    let real: Vec<String> = std::fs::read_to_string(top.join("expected/modules.alias"))
        .expect("expected")
        .lines()
        .filter(|l| l.ends_with(" cdc_acm"))
        .map(|l| l.split(' ').nth(1).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(acm, real, "cdc_acm lines in depmod's order");

    // virtio_pci is built into Debian's 6.12: the kernel records nothing, and the derived line
    // is the one 6.18+ would record (and 6.1, where it is a module, has).
    assert!(d.builtin_aliases.is_empty());
    assert_eq!(
        as_lines(&d.builtin_unrecorded),
        lines(&top.join("expected/builtin.alias"))
    );

    // A profile from it: modules, recorded and inferred built-in aliases, buses covered.
    let profile = d
        .builder(hcl_kernels::ProfileMeta {
            id: "fixture".into(),
            ..Default::default()
        })
        .build();
    assert_eq!(profile.meta.covered_buses, ["pci", "usb"]);
    // An O2 Micro SD host controller (class 08 05 01): sdhci_pci by class.
    let r = profile.resolve("pci:v00001217d00008621sv00001028sd00000A65bc08sc05i01");
    assert_eq!(r.modules, ["sdhci_pci"]);
    let r = profile.resolve("pci:v00001AF4d00001041sv00001AF4sd00001100bc02sc00i00");
    assert_eq!(r.inferred_builtin, ["virtio_pci"]);
    assert!(
        profile
            .inferred_source("virtio_pci")
            .is_some_and(|s| s.contains("derived"))
    );

    // The compact data written for build-shipped reads back the same.
    let out = dir.path().join("data");
    d.write_dir(&out).expect("write data");
    assert_eq!(derive::Derived::read_dir(&out).expect("read data"), d);
}

#[test]
fn derive_refuses_bad_sources_with_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let not_a_tree = dir.path().join("empty");
    std::fs::create_dir_all(&not_a_tree).expect("mkdir");
    let out = Command::new(env!("CARGO_BIN_EXE_hcl-kernels"))
        .args(["derive", "--id", "x", "--config", "/dev/null", "--cache"])
        .arg(dir.path().join("cache"))
        .arg("--source")
        .arg(&not_a_tree)
        .output()
        .expect("run hcl-kernels");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Linux source tree"), "{err}");

    let junk = dir.path().join("linux-source-9.9_9.9-1_all.deb");
    std::fs::write(&junk, b"not an ar archive").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_hcl-kernels"))
        .args(["derive", "--id", "x", "--config", "/dev/null", "--cache"])
        .arg(dir.path().join("cache"))
        .arg("--source")
        .arg(&junk)
        .output()
        .expect("run hcl-kernels");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("linux-source-9.9_9.9-1_all.deb"), "{err}");
    // Nothing was written outside the cache named.
    assert!(!Path::new("x.profile.zst").exists());
}
