//! Property tests: random and mutated bytes through every parser, and through the whole
//! importer, never panic; well-formed inputs built here round-trip.

use std::io::Write;

use proptest::prelude::*;

use super::{ar, cpio, decompress, elf, modinfo, rpm};

/// A minimal relocatable little-endian ELF (64- or 32-bit) with a `.modinfo` section.
pub(crate) fn elf_module(modinfo: &[u8], is64: bool) -> Vec<u8> {
    elf_module_endian(modinfo, is64, false)
}

/// [`elf_module`] in either byte order.
fn elf_module_endian(modinfo: &[u8], is64: bool, big_endian: bool) -> Vec<u8> {
    let (ehsize, shentsize) = if is64 { (64usize, 64usize) } else { (52, 40) };
    let names = b"\0.modinfo\0.shstrtab\0";
    let modinfo_at = ehsize;
    let names_at = modinfo_at + modinfo.len();
    let shoff = (names_at + names.len()).next_multiple_of(8);
    let mut out = vec![0u8; shoff + 3 * shentsize];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = if is64 { 2 } else { 1 };
    out[5] = if big_endian { 2 } else { 1 };
    out[6] = 1;
    out[modinfo_at..names_at].copy_from_slice(modinfo);
    out[names_at..names_at + names.len()].copy_from_slice(names);
    let put = |out: &mut Vec<u8>, at: usize, v: u64, width: usize| {
        if big_endian {
            out[at..at + width].copy_from_slice(&v.to_be_bytes()[8 - width..]);
        } else {
            out[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
        }
    };
    put(&mut out, 16, 1, 2); // e_type: ET_REL
    let w = if is64 { 8 } else { 4 };
    let (shoff_at, shentsize_at) = if is64 { (0x28, 0x3a) } else { (0x20, 0x2e) };
    put(&mut out, shoff_at, shoff as u64, w);
    put(&mut out, shentsize_at, shentsize as u64, 2);
    put(&mut out, shentsize_at + 2, 3, 2);
    put(&mut out, shentsize_at + 4, 2, 2);
    // (name, type, offset, size) of sections 1 and 2; section 0 stays null.
    let sections = [
        (1u64, 1u64, modinfo_at, modinfo.len()),
        (10, 3, names_at, names.len()),
    ];
    for (i, (name, kind, offset, size)) in sections.into_iter().enumerate() {
        let at = shoff + (i + 1) * shentsize;
        put(&mut out, at, name, 4);
        put(&mut out, at + 4, kind, 4);
        let (off_at, size_at) = if is64 { (24, 32) } else { (16, 20) };
        put(&mut out, at + off_at, offset as u64, w);
        put(&mut out, at + size_at, size as u64, w);
    }
    out
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn ar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let h = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            100644,
            data.len()
        );
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

const MODINFO: &[u8] =
    b"alias=pci:v00008086d000010D3sv*sd*bc*sc*i*\0firmware=e1000e/x.bin\0name=e1000e\0vermagic=6.1.0-50-amd64 SMP\0";

/// A small well-formed .deb of the 6.1 layout.
pub(crate) fn sample_deb() -> Vec<u8> {
    let control = tar_of(&[("./control", b"Package: linux-image-test\nVersion: 1.0-1\n")]);
    let ko = elf_module(MODINFO, true);
    let data = tar_of(&[
        ("./lib/modules/6.1.0-test/kernel/e1000e.ko", &ko),
        (
            "./lib/modules/6.1.0-test/modules.builtin",
            b"kernel/drivers/virtio/virtio_pci.ko\n",
        ),
        ("./boot/config-6.1.0-test", b"CONFIG_X=y\n"),
    ]);
    ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", &xz(&control)),
        ("data.tar.xz", &xz(&data)),
    ])
}

fn rpm_header(tags: &[(u32, &str)]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut store = Vec::new();
    for (tag, value) in tags {
        for v in [*tag, 6, store.len() as u32, 1] {
            index.extend_from_slice(&v.to_be_bytes());
        }
        store.extend_from_slice(value.as_bytes());
        store.push(0);
    }
    let mut out = vec![0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
    out.extend_from_slice(&(tags.len() as u32).to_be_bytes());
    out.extend_from_slice(&(store.len() as u32).to_be_bytes());
    out.extend(index);
    out.extend(store);
    out
}

/// A small well-formed .rpm with an xz payload.
pub(crate) fn sample_rpm() -> Vec<u8> {
    let ko = elf_module(MODINFO, false);
    rpm_with_payload(&cpio::tests::archive(&[
        (
            "./lib/modules/5.14.0-570.el9.x86_64/extra/e1000e.ko",
            0o100644,
            &ko,
        ),
        ("./lib/firmware/e1000e/x.bin", 0o100644, b"fw"),
    ]))
}

/// An .rpm of kernel-modules-extra around a cpio payload, compressed with xz.
fn rpm_with_payload(cpio: &[u8]) -> Vec<u8> {
    let mut out = vec![0xed, 0xab, 0xee, 0xdb];
    out.resize(96, 0);
    let sig = rpm_header(&[]);
    out.extend_from_slice(&sig);
    out.resize(out.len().next_multiple_of(8), 0);
    out.extend(rpm_header(&[
        (1000, "kernel-modules-extra"),
        (1001, "5.14.0"),
        (1002, "570.el9"),
        (1124, "cpio"),
        (1125, "xz"),
    ]));
    out.extend(xz(cpio));
    out
}

/// Size of the last member (data.tar.xz) of [`sample_deb`].
fn data_tar_len(deb: &[u8]) -> usize {
    let mut last = 0;
    ar::for_each_member(deb, |_, size, _| {
        last = size as usize;
        Ok::<(), ar::ArError>(())
    })
    .unwrap();
    last
}

fn mutate(mut data: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    for &(at, byte) in edits {
        if !data.is_empty() {
            let i = at % data.len();
            data[i] = byte;
        }
    }
    if let Some(cut) = cut {
        data.truncate(cut % (data.len() + 1));
    }
    data
}

fn drain_ar(data: &[u8]) {
    let _ = ar::for_each_member(data, |_, _, r| {
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        Ok::<(), ar::ArError>(())
    });
}

fn drain_cpio(data: &[u8]) {
    let _ = cpio::for_each_entry(data, |e, r| {
        let mut v = Vec::new();
        if e.is_file() {
            r.read_to_end(&mut v)?;
        }
        Ok::<(), cpio::CpioError>(())
    });
}

/// The whole importer on a file: an error or a set, never a panic.
fn import(bytes: &[u8], name: &str) -> Result<super::ModuleSet, super::Error> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    super::read_sources(&[path], &|_, _| {})
}

#[test]
fn samples_import() {
    let deb = import(&sample_deb(), "x.deb").unwrap();
    assert_eq!(deb.kernel_version, "6.1.0-test");
    assert_eq!(deb.packages, ["linux-image-test 1.0-1"]);
    assert_eq!(deb.modules.len(), 1);
    assert_eq!(deb.modules[0].name, "e1000e");
    assert_eq!(deb.modules[0].path, "kernel/e1000e.ko");
    assert_eq!(deb.modules[0].firmware, ["e1000e/x.bin"]);
    assert_eq!(deb.builtin[0].name, "virtio_pci");
    assert_eq!(deb.config.as_deref(), Some("CONFIG_X=y\n"));

    let rpm = import(&sample_rpm(), "x.rpm").unwrap();
    assert_eq!(rpm.kernel_version, "5.14.0-570.el9.x86_64");
    assert_eq!(rpm.packages, ["kernel-modules-extra 5.14.0-570.el9"]);
    assert!(rpm.modules[0].in_optional_package());
    assert_eq!(rpm.modules[0].aliases.len(), 1);
    assert_eq!(rpm.firmware_files, ["e1000e/x.bin"]);
}

/// Found by the `deb` fuzz target: a `.modinfo` `name=` holding a line end (and, alike, a tab
/// or line end in an alias, a firmware name, a modules.builtin line or a firmware file's path)
/// went into the profile's text form as is, which then did not decode ("module record needs
/// name, flags, source"). Such strings are no module's; the file name names the module.
#[test]
fn regression_control_character_in_modinfo_name_breaks_profile() {
    let ko = elf_module(
        b"alias=pci:v00008086d000010D3sv*sd*bc*sc*i*\0alias=usb:v1\tx\0alias=usb:v2\nA\0\
          firmware=e1000e/x.bin\0firmware=a\nM\tb\0name=e1000e\nvermagic=6.1 x\0",
        true,
    );
    let control = tar_of(&[("./control", b"Package: p\nVersion: 1\n")]);
    let data = tar_of(&[
        ("./lib/modules/6.1.0-test/kernel/drivers/e1000e.ko", &ko),
        (
            "./lib/modules/6.1.0-test/modules.builtin",
            b"kernel/a\tb.ko\nkernel/zswap.ko\n",
        ),
        ("./lib/firmware/x\ny.bin", b"fw"),
        ("./lib/firmware/e1000e/x.bin", b"fw"),
    ]);
    let deb = ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control),
        ("data.tar", &data),
    ]);
    let set = import(&deb, "control.deb").unwrap();
    assert_eq!(set.modules[0].name, "e1000e", "named by its file");
    assert_eq!(
        set.modules[0].aliases,
        ["pci:v00008086d000010D3sv*sd*bc*sc*i*"]
    );
    assert_eq!(set.modules[0].firmware, ["e1000e/x.bin"]);

    let meta = crate::ProfileMeta {
        id: "control".into(),
        ..Default::default()
    };
    let profile = crate::ProfileBuilder::from_module_set(meta, &set, None).build();
    let names: Vec<&str> = profile
        .data()
        .modules
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["e1000e", "zswap"]);
    let fw = profile.data().firmware.as_ref().expect("firmware files");
    let files: Vec<&str> = fw.files.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(files, ["e1000e/x.bin"]);
    let again = crate::Profile::decode(&profile.encode().unwrap(), "again").unwrap();
    assert_eq!(again.data(), profile.data());
}

#[test]
fn links_are_read_once_and_firmware_links_count() {
    let ko = elf_module(MODINFO, true);
    // A .deb whose tar has a hard link and a symlink to the module, and a firmware symlink.
    let mut b = tar::Builder::new(Vec::new());
    let mut file = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    file("./lib/modules/6.1.0-test/kernel/e1000e.ko", &ko);
    file("./lib/firmware/e1000e/x.bin", b"fw");
    for (kind, path, target) in [
        (
            tar::EntryType::Link,
            "./lib/modules/6.1.0-test/kernel/hard.ko",
            "./lib/modules/6.1.0-test/kernel/e1000e.ko",
        ),
        (
            tar::EntryType::Symlink,
            "./lib/modules/6.1.0-test/kernel/soft.ko",
            "e1000e.ko",
        ),
        (
            tar::EntryType::Symlink,
            "./lib/firmware/e1000e/y.bin",
            "x.bin",
        ),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(0);
        b.append_link(&mut h, path, target).unwrap();
    }
    let data = b.into_inner().unwrap();
    let control = tar_of(&[("./control", b"Package: p\nVersion: 1\n")]);
    let deb = ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control),
        ("data.tar", &data),
    ]);
    let set = import(&deb, "links.deb").unwrap();
    assert_eq!(set.modules.len(), 1);
    assert_eq!(set.firmware_files, ["e1000e/x.bin", "e1000e/y.bin"]);

    // An rpm payload's hard link group: data comes with the last name only.
    let payload = cpio::tests::archive_links(&[
        ("./lib/modules/5.14.0/kernel/a.ko", 0o100644, 2, b""),
        ("./lib/modules/5.14.0/kernel/b.ko", 0o100644, 2, &ko),
        ("./lib/firmware/f.bin", 0o100644, 2, b""),
        ("./lib/firmware/g.bin", 0o100644, 2, b"fw"),
    ]);
    let rpm = rpm_with_payload(&payload);
    let set = import(&rpm, "links.rpm").unwrap();
    let paths: Vec<&str> = set.modules.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["kernel/b.ko"]);
    assert_eq!(set.firmware_files, ["f.bin", "g.bin"]);
}

/// Section header offsets near `u64::MAX` must not overflow when fields are added.
#[test]
fn elf_offsets_at_the_end_of_the_address_space() {
    for is64 in [true, false] {
        let mut ko = elf_module(MODINFO, is64);
        let (at, width) = if is64 { (0x28, 8) } else { (0x20, 4) };
        // e_shnum 0 sends the reader to section 0 before the table is checked.
        let shnum_at = if is64 { 0x3c } else { 0x30 };
        for (shoff, shnum) in [u64::MAX, u64::MAX - 8, u64::from(u32::MAX) - 8]
            .into_iter()
            .flat_map(|o| [(o, 3u16), (o, 0)])
        {
            ko[at..at + width].copy_from_slice(&shoff.to_le_bytes()[..width]);
            ko[shnum_at..shnum_at + 2].copy_from_slice(&shnum.to_le_bytes());
            assert!(matches!(
                elf::modinfo_section(&ko),
                Err(elf::ElfError::Truncated(_))
            ));
        }
    }
}

#[test]
fn elf32_and_elf64_modinfo() {
    for is64 in [true, false] {
        for big_endian in [true, false] {
            let ko = elf_module_endian(MODINFO, is64, big_endian);
            assert_eq!(elf::modinfo_section(&ko).unwrap(), MODINFO);
        }
    }
    let none = elf_module(b"", true);
    // Rename the section: an ELF without .modinfo.
    let renamed = {
        let mut v = none.clone();
        let at = v.windows(8).position(|w| w == b".modinfo").unwrap();
        v[at + 1] = b'x';
        v
    };
    assert_eq!(
        elf::modinfo_section(&renamed),
        Err(elf::ElfError::NoModinfo)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = elf::modinfo_section(&data);
        let _ = modinfo::parse(&data);
        let _ = modinfo::parse_builtin(&data);
        let _ = decompress::decompress_all(&data, 1 << 20);
        let _ = rpm::read_headers(&mut data.as_slice());
        drain_ar(&data);
        drain_cpio(&data);
        let text = String::from_utf8_lossy(&data);
        let _ = super::Place::of(&text);
        let _ = modinfo::name_from_path(&text);
    }

    #[test]
    fn mutated_elf_never_panics(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<usize>()),
        is64 in any::<bool>(),
    ) {
        let ko = mutate(elf_module(MODINFO, is64), &edits, cut);
        if let Ok(section) = elf::modinfo_section(&ko) {
            let _ = modinfo::parse(section);
        }
    }

    #[test]
    fn mutated_containers_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        drain_ar(&mutate(sample_deb(), &edits, cut));
        let cpio = cpio::tests::archive(&[("./a.ko", 0o100644, b"abcde"), ("./l", 0o120777, b"a")]);
        drain_cpio(&mutate(cpio, &edits, cut));
        let _ = rpm::read_headers(&mut mutate(sample_rpm(), &edits, cut).as_slice());
        let _ = decompress::decompress_all(&mutate(xz(MODINFO), &edits, cut), 1 << 20);
        let zst = zstd::encode_all(MODINFO, 1).unwrap();
        let _ = decompress::decompress_all(&mutate(zst, &edits, cut), 1 << 20);
    }
}

proptest! {
    // Each case writes a file and runs the whole importer: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn mutated_packages_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let _ = import(&mutate(sample_deb(), &edits, cut), "m.deb");
        let _ = import(&mutate(sample_rpm(), &edits, cut), "m.rpm");
    }

    #[test]
    fn truncated_packages_are_errors(cut in any::<usize>()) {
        let deb = sample_deb();
        // An ar archive's last member may end in one pad byte, which is allowed to be missing.
        let deb_data = deb.len() - usize::from(data_tar_len(&deb) % 2 == 1);
        for (bytes, len, name) in [(&deb, deb_data, "t.deb"), (&sample_rpm(), usize::MAX, "t.rpm")] {
            let at = cut % len.min(bytes.len());
            let result = import(&bytes[..at], name);
            prop_assert!(result.is_err(), "{name} cut at {at} of {} imported", bytes.len());
        }
    }
}
