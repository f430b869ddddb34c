//! The tree's own `scripts/mod/modpost` (with its file2alias) on the compiled table objects.
//!
//! Each module's compiled objects are linked with `ld -r` into `m/<module>.o`, as Kbuild links
//! a composite module, and modpost writes `m/<module>.mod.c` with one `MODULE_ALIAS("...")` per
//! device-table entry: the lines the real `.ko` carries. Built-in objects of a 6.18+ tree are
//! linked into a `vmlinux.o`, for which modpost writes `.vmlinux.export.c` with
//! `MODULE_INFO(<module>.alias, "...")`: what ends up in `modules.builtin.modinfo`. Before
//! 6.18 the built-in objects are compiled as modules (`-DMODULE`, see `kbuild::Job::as_module`)
//! into `b/<module>.o`, so modpost makes the aliases that 6.18's would record for them.
//! Hand-written `MODULE_ALIAS()` entries are read from the objects' `.modinfo` sections.
//!
//! modpost writes no `.mod.c` at all once any module has an error, and two errors come from
//! the objects not compiled here: `missing MODULE_LICENSE()` (the license is often in another
//! file of a composite module) and `exported without definition` (an `EXPORT_SYMBOL` of a
//! function defined in another file). So each module's linked copy gets a stand-in
//! `license=GPL` entry after its own `.modinfo` (modpost takes the first) and loses its export
//! sections. file2alias reads neither.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Error;
use super::kbuild::run_logged;

/// Objects of one module or built-in driver.
#[derive(Debug, Clone, Default)]
pub(crate) struct Group {
    pub name: String,
    /// Object paths relative to the build directory.
    pub objects: Vec<String>,
}

/// Aliases per module, in the order a `.ko` holds them (hand-written first, then modpost's).
pub(crate) type Aliases = BTreeMap<String, Vec<String>>;

/// What modpost made.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub modules: Aliases,
    /// Built-in aliases the kernel records (6.18+: device tables and hand-written; before:
    /// hand-written only).
    pub builtin_recorded: Aliases,
    /// Built-in aliases a 6.18+ kernel would record but this one does not (before 6.18).
    pub builtin_unrecorded: Aliases,
}

/// Links groups, runs modpost once over all of them, reads the results.
pub(crate) fn run(
    objtree: &Path,
    work: &Path,
    modules: &[Group],
    builtin: &[Group],
    builtin_in_vmlinux: bool,
) -> Result<Output, Error> {
    if work.exists() {
        std::fs::remove_dir_all(work).map_err(|e| Error::io(work, e))?;
    }
    for d in ["m", "b"] {
        std::fs::create_dir_all(work.join(d)).map_err(|e| Error::io(work, e))?;
    }
    let logs = work.join("logs");
    let license = match modules
        .iter()
        .chain(builtin)
        .flat_map(|g| g.objects.first())
        .next()
    {
        Some(sample) => Some(license_object(objtree, sample, work, &logs)?),
        None => None,
    };
    let mut order = String::new();
    for (dir, groups) in [
        ("m", modules),
        ("b", if builtin_in_vmlinux { &[][..] } else { builtin }),
    ] {
        for g in groups {
            let rel = format!("{dir}/{}.o", g.name);
            link(
                objtree,
                &g.objects,
                license.as_deref(),
                &work.join(&rel),
                &logs,
            )?;
            strip_exports(&work.join(&rel), &logs)?;
            // modpost reads <module>.mod only for srcversion (MODULE_VERSION); list nothing.
            std::fs::write(work.join(format!("{dir}/{}.mod", g.name)), "")
                .map_err(|e| Error::io(work, e))?;
            order.push_str(&rel);
            order.push('\n');
        }
    }
    let order_path = work.join("modules.order");
    std::fs::write(&order_path, &order).map_err(|e| Error::io(&order_path, e))?;
    let mut c = Command::new(objtree.join("scripts/mod/modpost"));
    // -M: modules enabled; -w: unresolved symbols are warnings (only table objects are here).
    c.current_dir(work)
        .args(["-M", "-w", "-o", "Module.symvers"]);
    if !order.is_empty() {
        c.args(["-T", "modules.order"]);
    }
    let vmlinux_objects: Vec<String> = builtin.iter().flat_map(|g| g.objects.clone()).collect();
    if builtin_in_vmlinux && !vmlinux_objects.is_empty() {
        link(
            objtree,
            &vmlinux_objects,
            None,
            &work.join("vmlinux.o"),
            &logs,
        )?;
        c.arg("vmlinux.o");
    }
    let log = logs.join("modpost.log");
    // Unresolved symbols and section mismatches are warnings; whether every output was
    // written is checked below, with the log's end in the error.
    let _ = run_logged(c, &log, "scripts/mod/modpost");
    let mut out = Output::default();
    for g in modules {
        let obj = work.join(format!("m/{}.o", g.name));
        let mut aliases = explicit_aliases(&obj)?;
        aliases.extend(mod_c_aliases(
            &work.join(format!("m/{}.mod.c", g.name)),
            &log,
        )?);
        out.modules.insert(g.name.clone(), aliases);
    }
    if builtin_in_vmlinux {
        if !vmlinux_objects.is_empty() {
            let vmlinux = work.join("vmlinux.o");
            let data = std::fs::read(&vmlinux).map_err(|e| Error::io(&vmlinux, e))?;
            if let Ok(section) = crate::binary::elf::modinfo_section(&data) {
                for (name, info) in crate::binary::modinfo::parse_builtin(section) {
                    out.builtin_recorded
                        .entry(name)
                        .or_default()
                        .extend(info.aliases);
                }
            }
            for (name, alias) in vmlinux_export_aliases(&work.join(".vmlinux.export.c"), &log)? {
                out.builtin_recorded.entry(name).or_default().push(alias);
            }
        }
    } else {
        for g in builtin {
            let obj = work.join(format!("b/{}.o", g.name));
            // Hand-written aliases of built-in code are recorded by every kernel.
            let recorded = explicit_aliases(&obj)?;
            let tables = mod_c_aliases(&work.join(format!("b/{}.mod.c", g.name)), &log)?;
            if !recorded.is_empty() {
                out.builtin_recorded.insert(g.name.clone(), recorded);
            }
            if !tables.is_empty() {
                out.builtin_unrecorded.insert(g.name.clone(), tables);
            }
        }
    }
    Ok(out)
}

/// `ld -r` of the objects (and the stand-in license object) into `dest`.
fn link(
    objtree: &Path,
    objects: &[String],
    license: Option<&Path>,
    dest: &Path,
    logs: &Path,
) -> Result<(), Error> {
    let mut c = Command::new("ld");
    c.current_dir(objtree)
        .arg("-r")
        .arg("-o")
        .arg(dest)
        .args(objects);
    if let Some(l) = license {
        c.arg(l);
    }
    run_logged(
        c,
        &logs.join("ld.log"),
        &format!("ld -r -o {}", dest.display()),
    )
}

/// An object whose `.modinfo` holds `license=GPL`, in the object format of `sample`.
fn license_object(
    objtree: &Path,
    sample: &str,
    work: &Path,
    logs: &Path,
) -> Result<PathBuf, Error> {
    let out = Command::new("objdump")
        .arg("-f")
        .arg(objtree.join(sample))
        .output()
        .map_err(|e| Error::tool("objdump", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let format = text
        .lines()
        .find_map(|l| l.split("file format ").nth(1))
        .map(|f| f.trim().to_owned())
        .ok_or_else(|| Error::bad(objtree.join(sample), "objdump -f names no file format"))?;
    let bin = work.join("license.bin");
    std::fs::write(&bin, b"license=GPL\0").map_err(|e| Error::io(&bin, e))?;
    let obj = work.join("license.o");
    let mut c = Command::new("objcopy");
    c.current_dir(work)
        .args(["-I", "binary", "-O", &format])
        .args([
            "--rename-section",
            ".data=.modinfo,alloc,load,readonly,data,contents",
        ])
        .args(["license.bin", "license.o"]);
    run_logged(c, &logs.join("objcopy.log"), "objcopy (stand-in license)")?;
    Ok(obj)
}

/// Removes the export tables (6.5+: `.export_symbol`; before: `__ksymtab*`, `__kcrctab*`).
fn strip_exports(obj: &Path, logs: &Path) -> Result<(), Error> {
    let mut c = Command::new("objcopy");
    for s in [
        ".export_symbol",
        ".rela.export_symbol",
        "__ksymtab*",
        ".rela__ksymtab*",
        "__kcrctab*",
        ".rela__kcrctab*",
    ] {
        c.arg("-R").arg(s);
    }
    c.arg(obj);
    run_logged(
        c,
        &logs.join("objcopy.log"),
        &format!("objcopy -R (exports) {}", obj.display()),
    )
}

/// Hand-written `alias=` entries of an object's `.modinfo` (with or without a `module.`
/// prefix: built-in objects compiled without `-DMODULE` prefix their keys).
fn explicit_aliases(obj: &Path) -> Result<Vec<String>, Error> {
    let data = std::fs::read(obj).map_err(|e| Error::io(obj, e))?;
    let Ok(section) = crate::binary::elf::modinfo_section(&data) else {
        return Ok(Vec::new());
    };
    let mut out = crate::binary::modinfo::parse(section).aliases;
    for info in crate::binary::modinfo::parse_builtin(section).into_values() {
        out.extend(info.aliases);
    }
    Ok(out)
}

/// `MODULE_ALIAS("...")` lines of a `.mod.c`.
fn mod_c_aliases(path: &Path, log: &Path) -> Result<Vec<String>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Failed {
        what: format!("modpost wrote no {} ({e})", path.display()),
        log: log.to_owned(),
        tail: super::kbuild::log_tail(log),
    })?;
    Ok(text
        .lines()
        .filter_map(|l| c_string_arg(l.trim().strip_prefix("MODULE_ALIAS(")?))
        .collect())
}

/// `MODULE_INFO(<module>.alias, "...")` lines of `.vmlinux.export.c`.
fn vmlinux_export_aliases(path: &Path, log: &Path) -> Result<Vec<(String, String)>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Failed {
        what: format!("modpost wrote no {} ({e})", path.display()),
        log: log.to_owned(),
        tail: super::kbuild::log_tail(log),
    })?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("MODULE_INFO(")?;
            let (key, rest) = rest.split_once(',')?;
            let module = key.trim().strip_suffix(".alias")?;
            Some((module.to_owned(), c_string_arg(rest.trim_start())?))
        })
        .collect())
}

/// The C string literal at the start of `s` (`"pci:v*";` -> `pci:v*`), unescaped.
fn c_string_arg(s: &str) -> Option<String> {
    let s = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_modpost_outputs() {
        let d = tempfile::tempdir().expect("tempdir");
        let modc = d.path().join("x.mod.c");
        std::fs::write(
            &modc,
            "#include <linux/module.h>\nMODULE_INFO(name, KBUILD_MODNAME);\n\nMODULE_ALIAS(\"pci:v00008086d00001533sv*sd*bc*sc*i*\");\nMODULE_ALIAS(\"usb:v0BDAp8153d*dc*dsc*dp*ic*isc*ip*in*\");\nMODULE_INFO(srcversion, \"ABC\");\n",
        )
        .expect("write");
        assert_eq!(
            mod_c_aliases(&modc, &d.path().join("log")).expect("read"),
            [
                "pci:v00008086d00001533sv*sd*bc*sc*i*",
                "usb:v0BDAp8153d*dc*dsc*dp*ic*isc*ip*in*"
            ]
        );
        let exp = d.path().join(".vmlinux.export.c");
        std::fs::write(
            &exp,
            "#include <linux/export-internal.h>\nKSYMTAB_FUNC(foo, \"\", \"\");\nMODULE_INFO(ahci.alias, \"pci:v*d*sv*sd*bc01sc06i01*\");\n",
        )
        .expect("write");
        assert_eq!(
            vmlinux_export_aliases(&exp, &d.path().join("log")).expect("read"),
            [("ahci".to_owned(), "pci:v*d*sv*sd*bc01sc06i01*".to_owned())]
        );
        assert!(mod_c_aliases(&d.path().join("missing.mod.c"), &d.path().join("log")).is_err());
        assert_eq!(c_string_arg(r#""a\"b");"#).as_deref(), Some("a\"b"));
        assert_eq!(c_string_arg(r#""unterminated"#), None);
    }
}
