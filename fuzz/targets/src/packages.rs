//! The kernel importers' binary readers (`hcl-kernels import`): a module file (`ko`: plain or
//! compressed ELF, its `.modinfo`), and whole packages (`deb`: ar + tar, `rpm`: header +
//! cpio), through `hcl_kernels::binary::fuzzing`, the importer's own code on bytes in memory.

use hcl_kernels::binary::fuzzing::{read_module, read_package};
use hcl_kernels::binary::{ModuleInfo, ModuleSet};
use hcl_kernels::{ProfileBuilder, ProfileMeta};

use crate::profile::round_trip;

/// `ko`: one module file.
pub fn ko(data: &[u8]) {
    if let Ok(m) = read_module(data) {
        module_ok(&m);
        set_ok(&ModuleSet {
            kernel_version: "6.1.0-fuzz".into(),
            modules: vec![m],
            ..Default::default()
        });
    }
}

/// `deb`: a .deb package. The input goes in as it is: a `.deb` is recognised by its magic, so
/// a mutation that breaks it is a refused file, as it would be on disk.
pub fn deb(data: &[u8]) {
    if let Ok(set) = read_package(data) {
        set_ok(&set);
    }
}

/// `rpm`: an .rpm package (same entry point; the corpus differs).
pub fn rpm(data: &[u8]) {
    deb(data);
}

/// What kmod would need from a module: a name as kmod spells it, and `.modinfo` values that are
/// whole strings (the section is NUL-separated).
fn module_ok(m: &ModuleInfo) {
    assert!(!m.name.is_empty(), "module without a name: {m:?}");
    assert!(!m.name.contains('-'), "name not normalised: {:?}", m.name);
    for v in m.aliases.iter().chain(&m.firmware).chain(&m.depends) {
        assert!(!v.contains('\0'), "NUL inside a .modinfo value: {v:?}");
    }
}

fn set_ok(set: &ModuleSet) {
    assert!(
        !set.kernel_version.is_empty(),
        "a set without a kernel version"
    );
    assert!(!set.kernel_version.contains('/'));
    for m in set.modules.iter() {
        module_ok(m);
    }
    for m in &set.builtin {
        assert!(!m.name.is_empty(), "built-in without a name: {m:?}");
    }
    // What `hcl-kernels import` makes of it is a profile that writes and reads back as itself.
    let meta = ProfileMeta {
        id: "fuzz".into(),
        ..Default::default()
    };
    round_trip(&ProfileBuilder::from_module_set(meta, set, None).build());
}
