//! The binary importers on real parts: Debian's own kernel packages (checked against the depmod
//! output kept in the repository's `data/kernel-data` and against the packages' own files),
//! rpms built by rpmbuild from real modules, directory trees, and bad input of every kind.
//!
//! The packages come from `kernels/tests/fetch-debian-packages.sh` into `$HCL_DEB_CACHE` (default
//! `~/.cache/hcl-probe/debs`). Without them the tests fail when `CI` is set, else skip loudly.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use hcl_kernels::binary::{self, Error, ModuleInfo, ModuleSet};
use hcl_kernels::import::read_data;

use crate::common::{data_dir, missing};

const DEB12: &str = "linux-image-6.1.0-50-amd64_6.1.176-1_amd64.deb";
const BPO_MODULES: &str = "linux-modules-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb";
const BPO_BASE: &str = "linux-base-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb";
const V61: &str = "6.1.0-50-amd64";
const DATA61: &str = "kernel-data/debian-bookworm-6.1.176-1";
const DATA73: &str = "kernel-data/debian-trixie-backports-7.3.4-1_bpo13+1";

/// The cached real packages, or `None` (after a loud message) outside CI when they are missing.
fn real_debs(names: &[&str]) -> Option<Vec<PathBuf>> {
    let cache = std::env::var_os("HCL_DEB_CACHE").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/hcl-probe/debs")
        },
        PathBuf::from,
    );
    let paths: Vec<PathBuf> = names.iter().map(|n| cache.join(n)).collect();
    let absent: Vec<&PathBuf> = paths.iter().filter(|p| !p.is_file()).collect();
    if absent.is_empty() {
        return Some(paths);
    }
    missing(&format!(
        "real Debian packages missing: {absent:?}; run kernels/tests/fetch-debian-packages.sh \
         (HCL_DEB_CACHE={})",
        cache.display()
    ));
    None
}

/// Imports, checking that progress only grows and ends at its total.
fn import(paths: &[PathBuf]) -> Result<ModuleSet, Error> {
    let calls = std::cell::RefCell::new(Vec::new());
    let result = binary::read_sources(paths, &|done, total| calls.borrow_mut().push((done, total)));
    let calls = calls.into_inner();
    if result.is_ok() {
        let last = calls.last().copied().unwrap_or_default();
        assert_eq!(last.0, last.1, "progress ends at its total: {calls:?}");
        assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "progress grows");
    }
    result
}

/// A text file of a data folder (stored compressed).
fn data_text(dir: &Path, name: &str) -> String {
    read_data(dir, name).unwrap_or_else(|e| panic!("{e}"))
}

/// `alias PATTERN MODULE` lines: module to its patterns.
fn alias_file(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("alias ")) {
        let mut f = line.split_whitespace().skip(1);
        let (pattern, module) = (f.next().unwrap(), f.next().unwrap());
        out.entry(module.to_owned())
            .or_default()
            .insert(pattern.to_owned());
    }
    out
}

fn alias_map(modules: &[ModuleInfo]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in modules.iter().filter(|m| !m.aliases.is_empty()) {
        out.entry(m.name.clone())
            .or_default()
            .extend(m.aliases.iter().cloned());
    }
    out
}

/// `module<TAB>file` pairs of module-firmware.tsv, loadable modules only.
fn firmware_tsv(text: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .filter(|l| !l.contains("(builtin)"))
        .filter_map(|l| l.split_once('\t'))
        .map(|(m, f)| (m.to_owned(), f.to_owned()))
        .collect()
}

fn firmware_pairs(modules: &[ModuleInfo]) -> BTreeSet<(String, String)> {
    modules
        .iter()
        .flat_map(|m| m.firmware.iter().map(|f| (m.name.clone(), f.clone())))
        .collect()
}

/// The import equals what depmod and the packages' own files say in `data/kernel-data`, and its
/// config is the package's own `config` (extracted by dpkg-deb into `config`).
fn check_against_depmod(
    set: &ModuleSet,
    data: &str,
    config: &Path,
    restrict: Option<&BTreeSet<String>>,
) {
    let dir = data_dir().join(data);
    let keep = |name: &String| restrict.is_none_or(|r| r.contains(name));
    let alias_text = data_text(&dir, "modules.alias");
    let mut want = alias_file(&alias_text);
    want.retain(|k, _| keep(k));
    assert_eq!(alias_map(&set.modules), want, "loadable aliases per module");
    if restrict.is_none() {
        // Modules come in depmod's order (modules.order), so the alias lines are depmod's own.
        let lines: Vec<String> = set
            .modules
            .iter()
            .flat_map(|m| m.aliases.iter().map(|a| format!("alias {a} {}", m.name)))
            .collect();
        let want: Vec<&str> = alias_text
            .lines()
            .filter(|l| l.starts_with("alias "))
            .collect();
        assert!(
            lines == want,
            "modules.alias lines differ in content or order"
        );
    }
    let mut fw = firmware_tsv(&data_text(&dir, "module-firmware.tsv"));
    fw.retain(|(m, _)| keep(m));
    assert_eq!(firmware_pairs(&set.modules), fw, "firmware per module");

    let builtin_names: Vec<String> = data_text(&dir, "modules.builtin")
        .lines()
        .map(|l| {
            let file = l.rsplit('/').next().unwrap();
            file.trim_end_matches(".ko").replace('-', "_")
        })
        .collect();
    let got: Vec<&str> = set
        .builtin
        .iter()
        .filter(|m| !m.path.is_empty())
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(got, builtin_names, "modules.builtin, in order");
    assert_eq!(
        alias_map(&set.builtin),
        alias_file(&data_text(&dir, "modules.builtin.alias")),
        "built-in aliases"
    );
    let config = fs::read_to_string(config).unwrap();
    assert!(set.config.as_deref() == Some(config.as_str()), "config");
}

#[test]
fn debian_12_linux_image_deb_matches_depmod_output() {
    let Some(debs) = real_debs(&[DEB12]) else {
        return;
    };
    let set = import(&debs).unwrap();
    assert_eq!(set.kernel_version, V61);
    assert_eq!(set.packages, ["linux-image-6.1.0-50-amd64 6.1.176-1"]);
    assert_eq!(set.sources, debs);
    assert!(set.modules.len() > 4000, "{} modules", set.modules.len());
    let e1000e = set.modules.iter().find(|m| m.name == "e1000e").unwrap();
    assert_eq!(
        e1000e.path,
        "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko"
    );
    assert_eq!(
        e1000e.package.as_deref(),
        Some("linux-image-6.1.0-50-amd64")
    );
    assert!(!e1000e.in_optional_package());
    // 6.1 has virtio_pci as a module, with its device-table aliases.
    assert!(
        set.modules
            .iter()
            .any(|m| m.name == "virtio_pci" && !m.aliases.is_empty())
    );
    let files = sample_modules().expect("the package is there");
    check_against_depmod(&set, DATA61, &files.join(CONFIG61), None);
}

#[test]
fn debian_13_backports_split_debs_match_depmod_output() {
    let Some(debs) = real_debs(&[BPO_MODULES, BPO_BASE]) else {
        return;
    };
    let set = import(&debs).unwrap();
    assert_eq!(set.kernel_version, "7.3.4+deb13-amd64");
    assert_eq!(
        set.packages,
        [
            "linux-modules-7.3.4+deb13-amd64 7.3.4-1~bpo13+1",
            "linux-base-7.3.4+deb13-amd64 7.3.4-1~bpo13+1"
        ]
    );
    assert!(set.modules.iter().all(|m| m.path.ends_with(".ko.xz")));
    // 7.x records device tables of built-in drivers: virtio_pci is built in with its aliases.
    let virtio = set.builtin.iter().find(|m| m.name == "virtio_pci").unwrap();
    assert!(
        virtio
            .aliases
            .iter()
            .any(|a| a.starts_with("pci:v00001AF4"))
    );
    assert_eq!(
        virtio.package.as_deref(),
        Some("linux-base-7.3.4+deb13-amd64")
    );
    let config = "./usr/lib/modules/7.3.4+deb13-amd64/config";
    let base = extract(&debs[1], "bpo-base", &[config.to_owned()]);
    check_against_depmod(&set, DATA73, &base.join(config), None);
}

/// `names` (tar member names, `./...`) of a real package, extracted once into the target
/// directory's `import_binary/<into>`.
fn extract(deb: &Path, into: &str, names: &[String]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("import_binary")
        .join(into);
    if names.iter().all(|n| dir.join(n).is_file()) {
        return dir;
    }
    fs::create_dir_all(&dir).unwrap();
    // --occurrence lets tar stop once it has them, instead of reading all 400 MB.
    let script = format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -x -C '{}' --occurrence {}",
        deb.display(),
        dir.display(),
        names.join(" ")
    );
    let _ = Command::new("sh").arg("-c").arg(&script).status().unwrap();
    for n in names {
        assert!(dir.join(n).is_file(), "{script} gave no {n}");
    }
    dir
}

/// The debian-12 package's config, as a tar member name.
const CONFIG61: &str = "./boot/config-6.1.0-50-amd64";

/// Real files taken out of the debian-12 package once per test run: the modules e1000e,
/// iwlwifi and btusb, modules.builtin, modules.builtin.modinfo and the config.
fn sample_modules() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let debs = real_debs(&[DEB12])?;
        let mut names: Vec<String> = SAMPLES
            .iter()
            .map(|(_, p)| format!("./lib/modules/{V61}/{p}"))
            .collect();
        for f in BUILTIN_FILES {
            names.push(format!("./lib/modules/{V61}/{f}"));
        }
        names.push(CONFIG61.to_owned());
        Some(extract(&debs[0], "deb12", &names))
    })
    .as_deref()
}

const BUILTIN_FILES: [&str; 2] = ["modules.builtin", "modules.builtin.modinfo"];

/// A file of the debian-12 package taken out by [`sample_modules`].
fn deb12_file(files: &Path, name: &str) -> Vec<u8> {
    fs::read(files.join(format!("lib/modules/{V61}/{name}"))).unwrap()
}

const SAMPLES: [(&str, &str); 3] = [
    (
        "e1000e",
        "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko",
    ),
    (
        "iwlwifi",
        "kernel/drivers/net/wireless/intel/iwlwifi/iwlwifi.ko",
    ),
    ("btusb", "kernel/drivers/bluetooth/btusb.ko"),
];

fn sample(dir: &Path, index: usize) -> Vec<u8> {
    deb12_file(dir, SAMPLES[index].1)
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

fn sample_names() -> BTreeSet<String> {
    SAMPLES.iter().map(|(n, _)| (*n).to_owned()).collect()
}

/// A root with `usr/lib/modules/<ver>` holding the samples as .ko, .ko.xz and .ko.zst, the real
/// modules.builtin* files, `boot/config-<ver>` and some firmware.
fn sample_root(ko: &Path, root: &Path) -> PathBuf {
    let moddir = root.join(format!("usr/lib/modules/{V61}"));
    write(&moddir.join(SAMPLES[0].1), &sample(ko, 0));
    write(
        &moddir.join(format!("{}.xz", SAMPLES[1].1)),
        &xz(&sample(ko, 1)),
    );
    let zst = zstd::encode_all(sample(ko, 2).as_slice(), 3).unwrap();
    write(&moddir.join(format!("{}.zst", SAMPLES[2].1)), &zst);
    for f in BUILTIN_FILES {
        write(&moddir.join(f), &deb12_file(ko, f));
    }
    let config = fs::read(ko.join(CONFIG61)).unwrap();
    write(&root.join(format!("boot/config-{V61}")), &config);
    // Symlinks that must not be followed or counted as modules.
    std::os::unix::fs::symlink("/nonexistent/build", moddir.join("build")).unwrap();
    std::os::unix::fs::symlink("e1000e.ko", moddir.join("kernel/alias.ko")).unwrap();
    write(&root.join("lib/firmware/iwlwifi-cc-a0-72.ucode"), b"fw");
    std::os::unix::fs::symlink(
        "iwlwifi-cc-a0-72.ucode",
        root.join("lib/firmware/iwlwifi-cc-a0-77.ucode"),
    )
    .unwrap();
    moddir
}

#[test]
fn tree_root_and_modules_dir_agree() {
    let Some(ko) = sample_modules() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let moddir = sample_root(ko, tmp.path());
    let from_root = import(&[tmp.path().to_owned()]).unwrap();
    let from_dir = import(std::slice::from_ref(&moddir)).unwrap();
    for set in [&from_root, &from_dir] {
        assert_eq!(set.kernel_version, V61);
        assert!(set.packages.is_empty());
        let names: Vec<&str> = set.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["btusb", "e1000e", "iwlwifi"]);
        assert!(set.modules.iter().all(|m| m.package.is_none()));
        check_against_depmod(set, DATA61, &ko.join(CONFIG61), Some(&sample_names()));
    }
    assert_eq!(from_root.modules, from_dir.modules);
    assert_eq!(
        from_root.firmware_files,
        ["iwlwifi-cc-a0-72.ucode", "iwlwifi-cc-a0-77.ucode"]
    );
    assert!(
        from_dir.firmware_files.is_empty(),
        "no firmware without a root"
    );

    // A second kernel beside the first: the root is ambiguous.
    write(
        &tmp.path()
            .join("lib/modules/6.1.0-49-amd64/modules.builtin"),
        b"",
    );
    let err = import(&[tmp.path().to_owned()]).unwrap_err().to_string();
    assert!(
        err.contains("several kernels") && err.contains("6.1.0-49-amd64"),
        "{err}"
    );
    // Two sources of different kernels.
    let other = tmp.path().join("lib/modules/6.1.0-49-amd64");
    write(&other.join("kernel/e1000e.ko"), &sample(ko, 0));
    let err = import(&[moddir, other]).unwrap_err().to_string();
    assert!(err.contains("6.1.0-49-amd64") && err.contains(V61), "{err}");
}

/// Builds `name` with rpmbuild from `files` (path below /, contents), payload `payload`
/// (e.g. `w19.zstdio`).
fn rpmbuild(top: &Path, name: &str, payload: &str, files: &[(String, Vec<u8>)]) -> PathBuf {
    let src = top.join(format!("src-{name}"));
    for (path, data) in files {
        write(&src.join(path), data);
    }
    let spec = top.join(format!("{name}.spec"));
    let text = format!(
        "Name: {name}\nVersion: 6.1.0\nRelease: 50.test\nSummary: test\nLicense: GPL-2.0\n\
         AutoReqProv: no\n%description\ntest\n%install\ncp -a {src}/. %{{buildroot}}/\n\
         %files\n{list}\n",
        src = src.display(),
        list = files
            .iter()
            .map(|(p, _)| format!("/{p}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    fs::write(&spec, text).unwrap();
    let out = Command::new("rpmbuild")
        .arg("-bb")
        .args([
            "--define",
            &format!("_topdir {}", top.join("top").display()),
        ])
        .args(["--define", &format!("_binary_payload {payload}")])
        .args(["--define", "__os_install_post %{nil}"])
        .args(["--define", "__spec_install_post %{nil}"])
        .args(["--define", "debug_package %{nil}"])
        .args(["--define", "_build_id_links none"])
        .arg(&spec)
        .output()
        .expect("rpmbuild (Debian package rpm) is needed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rpms = top.join("top/RPMS");
    let arch = fs::read_dir(&rpms).unwrap().next().unwrap().unwrap().path();
    fs::read_dir(arch)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!("{name}-6.1.0"))
        })
        .unwrap()
}

#[test]
fn rpms_built_by_rpmbuild_with_gzip_xz_zstd_payloads() {
    let Some(ko) = sample_modules() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let m = format!("lib/modules/{V61}");
    let core = rpmbuild(
        tmp.path(),
        "kernel-core",
        "w6.gzdio",
        &[
            (
                format!("{m}/modules.builtin"),
                deb12_file(ko, "modules.builtin"),
            ),
            (
                format!("{m}/modules.builtin.modinfo"),
                deb12_file(ko, "modules.builtin.modinfo"),
            ),
            (format!("{m}/config"), fs::read(ko.join(CONFIG61)).unwrap()),
        ],
    );
    let zst = zstd::encode_all(sample(ko, 2).as_slice(), 3).unwrap();
    let modules = rpmbuild(
        tmp.path(),
        "kernel-modules",
        "w2.xzdio",
        &[
            (format!("{m}/{}.xz", SAMPLES[0].1), xz(&sample(ko, 0))),
            (format!("{m}/{}.zst", SAMPLES[2].1), zst),
        ],
    );
    let extra = rpmbuild(
        tmp.path(),
        "kernel-modules-extra",
        "w19.zstdio",
        &[(format!("{m}/{}", SAMPLES[1].1), sample(ko, 1))],
    );
    let set = import(&[core, modules, extra]).unwrap();
    assert_eq!(set.kernel_version, V61);
    assert_eq!(
        set.packages,
        [
            "kernel-core 6.1.0-50.test",
            "kernel-modules 6.1.0-50.test",
            "kernel-modules-extra 6.1.0-50.test"
        ]
    );
    let by_name: BTreeMap<&str, &ModuleInfo> =
        set.modules.iter().map(|m| (m.name.as_str(), m)).collect();
    assert_eq!(by_name["e1000e"].package.as_deref(), Some("kernel-modules"));
    assert!(!by_name["e1000e"].in_optional_package());
    assert!(!by_name["btusb"].in_optional_package());
    assert!(
        by_name["iwlwifi"].in_optional_package(),
        "kernel-modules-extra is optional"
    );
    assert!(
        set.builtin
            .iter()
            .all(|b| b.package.is_none() || b.package.as_deref() == Some("kernel-core"))
    );
    check_against_depmod(&set, DATA61, &ko.join(CONFIG61), Some(&sample_names()));
}

fn assert_error(result: Result<ModuleSet, Error>, file: &Path, words: &[&str]) {
    let err = result.expect_err("bad input must be an error").to_string();
    assert!(
        err.contains(&file.display().to_string()),
        "names the file: {err}"
    );
    for w in words {
        assert!(err.contains(w), "says {w:?}: {err}");
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();

    let missing = t.join("missing.deb");
    assert_error(
        import(std::slice::from_ref(&missing)),
        &missing,
        &["No such file"],
    );
    assert!(matches!(import(&[]), Err(Error::NoSources)));

    for (name, bytes) in [
        ("garbage.deb", b"hello world".as_slice()),
        ("empty.rpm", b""),
    ] {
        let p = t.join(name);
        write(&p, bytes);
        assert_error(
            import(std::slice::from_ref(&p)),
            &p,
            &["not a .deb, an .rpm"],
        );
    }
    let empty_dir = t.join("empty");
    fs::create_dir(&empty_dir).unwrap();
    assert_error(
        import(std::slice::from_ref(&empty_dir)),
        &empty_dir,
        &["no kernel here"],
    );

    // Modules that are not: an ELF program without .modinfo, garbage .ko.xz, truncated .ko.zst.
    let tree = |case: &str, file: &str, bytes: &[u8]| {
        let dir = t.join(case).join("lib/modules/6.1.0-test");
        write(&dir.join("kernel").join(file), bytes);
        (dir.clone(), dir.join("kernel").join(file))
    };
    let elf = fs::read("/bin/true").unwrap();
    let (dir, file) = tree("elf", "true.ko", &elf);
    assert_error(import(&[dir]), &file, &["no .modinfo section"]);
    let (dir, file) = tree("xz", "bad.ko.xz", b"\xfd7zXZ\0 but not really");
    assert_error(import(&[dir]), &file, &["decompressing"]);
    let mut zst = zstd::encode_all(elf.as_slice(), 3).unwrap();
    zst.truncate(zst.len() / 2);
    let (dir, file) = tree("zst", "cut.ko.zst", &zst);
    assert_error(import(&[dir]), &file, &["decompressing"]);
    let (dir, file) = tree("short", "short.ko", b"\x7fELF\x02\x01\x01");
    assert_error(import(&[dir]), &file, &["truncated ELF"]);

    // Real packages cut short or damaged.
    if let Some(debs) = real_debs(&[BPO_BASE]) {
        let deb = fs::read(&debs[0]).unwrap();
        let cut = t.join("cut.deb");
        write(&cut, &deb[..deb.len() / 2]);
        assert_error(import(std::slice::from_ref(&cut)), &cut, &["data.tar.xz"]);
        let flipped = t.join("flipped.deb");
        let mut bytes = deb.clone();
        let at = bytes.len() - 5000;
        bytes[at] ^= 0x55;
        write(&flipped, &bytes);
        assert_error(
            import(std::slice::from_ref(&flipped)),
            &flipped,
            &["data.tar.xz"],
        );
        // linux-base alone is a kernel without loadable modules, not an error.
        let base = import(&debs).unwrap();
        assert!(base.modules.is_empty() && base.builtin.len() > 200);
    }
    if let Some(ko) = sample_modules() {
        let rpm = rpmbuild(
            t,
            "kernel-modules",
            "w2.xzdio",
            &[(format!("lib/modules/{V61}/{}", SAMPLES[0].1), sample(ko, 0))],
        );
        let bytes = fs::read(&rpm).unwrap();
        for (name, len) in [
            ("lead.rpm", 50),
            ("header.rpm", 300),
            ("payload.rpm", bytes.len() - 100),
        ] {
            let p = t.join(name);
            write(&p, &bytes[..len]);
            assert_error(import(std::slice::from_ref(&p)), &p, &["truncated"]);
        }
    }
}

/// Regression: a text folder of `data/kernel-data` (it has modules.builtin, so it looked like
/// `lib/modules/<version>`) was read as a kernel named after the folder, with no modules. The
/// repository keeps those files compressed (`modules.builtin.xz`): still refused by name.
#[test]
fn regression_extracted_data_folder_is_not_a_module_tree() {
    let folder = data_dir().join("kernel-data/debian-sid-7.2.13-1");
    assert_error(
        import(std::slice::from_ref(&folder)),
        &folder,
        &["modules.alias", "not a module tree"],
    );
}

/// Regression: a truncated xz payload said only "premature eof".
#[test]
fn regression_truncated_stream_says_truncated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lib/modules/6.1.0-test");
    let mut packed = xz(&fs::read("/bin/true").unwrap());
    packed.truncate(packed.len() - 20);
    write(&dir.join("kernel/cut.ko.xz"), &packed);
    assert_error(
        import(std::slice::from_ref(&dir)),
        &dir.join("kernel/cut.ko.xz"),
        &["truncated"],
    );
}
