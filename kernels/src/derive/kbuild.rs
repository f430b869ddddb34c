//! Driving the tree's own Kbuild: `make` with `O=` (the source tree is never written), the
//! listing of every command a full build would run (`make -n`), and the compile commands of
//! the chosen objects, run as Kbuild wrote them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::shell;
use super::{Error, Progress};

/// One C object a full build compiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unit {
    /// The object, relative to the build directory (`drivers/ata/ahci.o`).
    pub object: String,
    /// The source, relative to the source tree (`drivers/ata/ahci.c`).
    pub source: PathBuf,
    /// Compiled with `-DMODULE`: part of a loadable module.
    pub module: bool,
    /// `KBUILD_MODNAME`: the module or built-in driver the object belongs to (several,
    /// `:`-separated, when it is linked into more than one).
    pub modname: String,
    /// The compile command exactly as Kbuild prints it (shell syntax, run from the build dir).
    pub command: String,
}

/// What `make -n` says a full build would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Listing {
    pub units: Vec<Unit>,
    /// Module objects in `modules.order` order (`drivers/ata/ahci.o`).
    pub modules_order: Vec<String>,
    /// Rust objects the build would make (`rustc ... --emit=obj=`): not derived.
    pub rust_objects: Vec<String>,
}

/// The tree's version from its top Makefile (`6.12.117`, `7.1.8`, `6.19.0-rc3`).
pub(crate) fn tree_version(srctree: &Path) -> Result<String, Error> {
    let path = srctree.join("Makefile");
    if !path.is_file() {
        return Err(Error::bad(
            srctree,
            "not a Linux source tree: no top Makefile",
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let get = |key: &str| {
        text.lines()
            .take(20)
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let (v, p, s, e) = (
        get("VERSION"),
        get("PATCHLEVEL"),
        get("SUBLEVEL"),
        get("EXTRAVERSION"),
    );
    if v.is_empty() || p.is_empty() {
        return Err(Error::bad(
            &path,
            "no VERSION/PATCHLEVEL: not a Linux source tree",
        ));
    }
    let s = if s.is_empty() { "0".to_owned() } else { s };
    Ok(format!("{v}.{p}.{s}{e}"))
}

/// `make` in the source tree with the build directory as `O=`.
#[derive(Debug, Clone)]
pub(crate) struct Make {
    pub srctree: PathBuf,
    pub objtree: PathBuf,
    /// Where command logs go.
    pub logs: PathBuf,
}

impl Make {
    pub(crate) fn command(&self) -> Command {
        let mut c = Command::new("make");
        c.arg("-C")
            .arg(&self.srctree)
            .arg(format!("O={}", self.objtree.display()))
            .env("LC_ALL", "C")
            // No ccache or distcc wrappers from the caller's environment.
            .env_remove("KBUILD_OUTPUT")
            .env_remove("ARCH")
            .env_remove("CROSS_COMPILE");
        c
    }

    /// Runs `make ARGS`, output to `<logs>/<log>.log`; an error names the log and its end.
    pub(crate) fn run(&self, args: &[&str], log: &str) -> Result<(), Error> {
        let mut c = self.command();
        c.args(args);
        run_logged(
            c,
            &self.logs.join(format!("{log}.log")),
            &format!("make {}", args.join(" ")),
        )
    }

    /// `make -n -k vmlinux_o modules`: every command of a full build, nothing run. Lines are
    /// parsed as they come (the text is ~100 MB for a distribution config) and kept,
    /// compressed, in the build directory: later runs parse the kept copy, since `make -n`
    /// leaves out objects Kbuild has built meanwhile.
    pub(crate) fn listing(&self, progress: &dyn Progress) -> Result<Listing, Error> {
        let dir = self.objtree.join(".hcl-derive");
        let raw_path = dir.join("listing.txt.zst");
        let done = dir.join("listing.done");
        if done.is_file()
            && let Ok(file) = std::fs::File::open(&raw_path)
        {
            let dec =
                zstd::stream::read::Decoder::new(file).map_err(|e| Error::io(&raw_path, e))?;
            let mut parser = ListingParser::new(&self.srctree, &self.objtree);
            for line in BufReader::new(dec).split(b'\n') {
                let line = line.map_err(|e| Error::io(&raw_path, e))?;
                parser.line(&String::from_utf8_lossy(&line));
            }
            return Ok(parser.finish());
        }
        // Objects compiled by an earlier run and then by Kbuild (a retry) would be left out.
        forget_records_of_stamped(&self.objtree);
        let log_path = self.logs.join("listing.err");
        std::fs::create_dir_all(&self.logs).map_err(|e| Error::io(&self.logs, e))?;
        let err = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
        let mut c = self.command();
        c.args(["-n", "-k", "vmlinux_o", "modules"])
            .stdout(Stdio::piped())
            .stderr(err);
        let mut child = c.spawn().map_err(|e| Error::tool("make", e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Missing("make's output".into()))?;
        let mut parser = ListingParser::new(&self.srctree, &self.objtree);
        let raw = std::fs::File::create(&raw_path).map_err(|e| Error::io(&raw_path, e))?;
        let mut raw =
            zstd::stream::write::Encoder::new(raw, 3).map_err(|e| Error::io(&raw_path, e))?;
        let mut lines = 0u64;
        for line in BufReader::new(stdout).split(b'\n') {
            let line = line.map_err(|e| Error::io(Path::new("make -n output"), e))?;
            raw.write_all(&line)
                .and_then(|()| raw.write_all(b"\n"))
                .map_err(|e| Error::io(&raw_path, e))?;
            parser.line(&String::from_utf8_lossy(&line));
            lines += 1;
            if lines.is_multiple_of(512) {
                progress.set(parser.units.len() as u64);
            }
        }
        raw.finish().map_err(|e| Error::io(&raw_path, e))?;
        // `make -n -k` ends with an error: vmlinux.a is not made when nothing runs.
        let _ = child.wait();
        let listing = parser.finish();
        if listing.units.is_empty() {
            return Err(Error::Failed {
                what: "make -n vmlinux_o modules".into(),
                log: log_path.clone(),
                tail: log_tail(&log_path),
            });
        }
        std::fs::write(&done, "").map_err(|e| Error::io(&done, e))?;
        Ok(listing)
    }
}

/// Removes Kbuild's records of every object derive has compiled (those with a stamp).
fn forget_records_of_stamped(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        match e.file_type() {
            Ok(t) if t.is_dir() && !t.is_symlink() && !name.starts_with('.') => {
                forget_records_of_stamped(&p)
            }
            Ok(t) if t.is_file() => {
                if let Some(obj) = name.strip_suffix(".hcl-derive") {
                    let _ = std::fs::remove_file(p.with_file_name(format!("{obj}.cmd")));
                }
            }
            _ => {}
        }
    }
}

/// Kbuild's record of how it built an object (`dir/.name.o.cmd`); once there, `make -n`
/// omits the object. Objects are compiled by derive itself, so the record goes.
pub(crate) fn forget_kbuild_record(objtree: &Path, object: &str) {
    let p = objtree.join(object);
    if let Some(name) = p.file_name().map(|n| n.to_string_lossy().into_owned()) {
        let _ = std::fs::remove_file(p.with_file_name(format!(".{name}.cmd")));
    }
}

/// Runs a command with stdout and stderr into `log`.
pub(crate) fn run_logged(mut c: Command, log: &Path, what: &str) -> Result<(), Error> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let out = std::fs::File::create(log).map_err(|e| Error::io(log, e))?;
    let err = out.try_clone().map_err(|e| Error::io(log, e))?;
    let status = c
        .stdout(out)
        .stderr(err)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| Error::tool(what, e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Failed {
            what: what.to_owned(),
            log: log.to_owned(),
            tail: log_tail(log),
        })
    }
}

/// The last lines of a log, for error messages.
pub(crate) fn log_tail(log: &Path) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// Reads `make -n` output line by line.
#[derive(Debug)]
pub(crate) struct ListingParser {
    srctree: String,
    objtree: String,
    pub(crate) units: Vec<Unit>,
    seen: BTreeSet<String>,
    /// `modules.order` file -> its entries (`echo X.o` -> X.o, `cat Y` -> Y).
    orders: BTreeMap<String, Vec<String>>,
    rust: Vec<String>,
}

impl ListingParser {
    pub(crate) fn new(srctree: &Path, objtree: &Path) -> Self {
        ListingParser {
            srctree: srctree.to_string_lossy().trim_end_matches('/').to_owned(),
            objtree: objtree.to_string_lossy().trim_end_matches('/').to_owned(),
            units: Vec::new(),
            seen: BTreeSet::new(),
            orders: BTreeMap::new(),
            rust: Vec::new(),
        }
    }

    fn relative_source(&self, src: &str) -> PathBuf {
        let s = src
            .strip_prefix(&self.srctree)
            .map(|s| s.trim_start_matches('/'))
            .or_else(|| src.strip_prefix("./"))
            .unwrap_or(src);
        PathBuf::from(s)
    }

    fn relative_object(&self, obj: &str) -> String {
        obj.strip_prefix(&self.objtree)
            .map(|s| s.trim_start_matches('/'))
            .or_else(|| obj.strip_prefix("./"))
            .unwrap_or(obj)
            .to_owned()
    }

    pub(crate) fn line(&mut self, line: &str) {
        // Cheap filters first: most lines are neither.
        let compile = line.contains(" -c ") && line.contains("KBUILD_MODNAME");
        let order = line.contains("modules.order");
        let rust = line.contains("rustc") && line.contains("--emit=");
        if !(compile || order || rust) {
            return;
        }
        let cmds = shell::commands(line);
        if compile {
            for c in &cmds {
                if let Some(u) = self.unit(c) {
                    if self.seen.insert(u.object.clone()) {
                        self.units.push(u);
                    }
                    break;
                }
            }
        }
        if order {
            self.order(&cmds);
        }
        if rust && let Some(obj) = cmds.iter().find_map(rust_object) {
            self.rust.push(self.relative_object(&obj));
        }
    }

    /// A compile command: `... -c -o X.o Y.c` with `-DKBUILD_MODNAME=...`.
    fn unit(&self, c: &shell::Command<'_>) -> Option<Unit> {
        let w = &c.words;
        let ci = w.iter().position(|a| a == "-c")?;
        let oi = w.iter().position(|a| a == "-o")?;
        let object = w.get(oi + 1)?;
        if !object.ends_with(".o") {
            return None;
        }
        let source = w
            .iter()
            .skip(ci.min(oi))
            .find(|a| a.ends_with(".c") && !a.starts_with('-'))?;
        let modname = w.iter().find_map(|a| a.strip_prefix("-DKBUILD_MODNAME="))?;
        let modname = modname.trim_matches('"').to_owned();
        Some(Unit {
            object: self.relative_object(object),
            source: self.relative_source(source),
            module: w.iter().any(|a| a == "-DMODULE"),
            modname,
            command: c.text.to_owned(),
        })
    }

    /// `{ echo a.o; cat b/modules.order; :; } > dir/modules.order`.
    fn order(&mut self, cmds: &[shell::Command<'_>]) {
        let mut entries: Vec<String> = Vec::new();
        let mut in_group = false;
        for c in cmds {
            let mut w: &[String] = &c.words;
            if w.first().is_some_and(|s| s == "{") {
                in_group = true;
                entries.clear();
                w = &w[1..];
            }
            if !in_group {
                continue;
            }
            match w {
                [cmd, arg] if cmd == "echo" || cmd == "cat" => {
                    entries.push(self.relative_object(arg));
                }
                [close, gt, target, ..] if close == "}" && gt == ">" => {
                    if target.ends_with("modules.order") {
                        self.orders
                            .insert(self.relative_object(target), std::mem::take(&mut entries));
                    }
                    in_group = false;
                }
                _ => {}
            }
        }
    }

    pub(crate) fn finish(self) -> Listing {
        let mut modules_order = Vec::new();
        let mut visiting = BTreeSet::new();
        expand_order(
            &self.orders,
            "modules.order",
            &mut modules_order,
            &mut visiting,
        );
        let mut seen = BTreeSet::new();
        modules_order.retain(|m| seen.insert(m.clone()));
        Listing {
            units: self.units,
            modules_order,
            rust_objects: self.rust,
        }
    }
}

fn expand_order(
    orders: &BTreeMap<String, Vec<String>>,
    file: &str,
    out: &mut Vec<String>,
    visiting: &mut BTreeSet<String>,
) {
    if !visiting.insert(file.to_owned()) {
        return;
    }
    for e in orders.get(file).into_iter().flatten() {
        if e.ends_with("modules.order") {
            expand_order(orders, e, out, visiting);
        } else {
            out.push(e.clone());
        }
    }
}

fn rust_object(c: &shell::Command<'_>) -> Option<String> {
    if !c.words.first()?.ends_with("rustc") {
        return None;
    }
    c.words.iter().find_map(|w| {
        w.strip_prefix("--emit=obj=")
            .or_else(|| w.split(',').find_map(|p| p.strip_prefix("obj=")))
            .map(str::to_owned)
    })
}

/// What compiling the chosen units gave.
#[derive(Debug, Default)]
pub(crate) struct CompileReport {
    /// Objects that exist now (compiled here or before, with the same command).
    pub compiled: BTreeSet<String>,
    /// Objects that did not compile, with the end of the compiler's output.
    pub failed: BTreeMap<String, String>,
}

/// One compile job: the unit's command, possibly rewritten (output name, `-DMODULE`).
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub output: String,
    pub command: String,
}

impl Job {
    /// The unit's own command.
    pub(crate) fn exact(u: &Unit) -> Self {
        Job {
            output: u.object.clone(),
            command: u.command.clone(),
        }
    }

    /// The unit compiled as if for a module (`-DMODULE`) into `<object>.modular.o`: kernels
    /// before 6.18 drop the device tables of built-in code, a module keeps them.
    pub(crate) fn as_module(u: &Unit) -> Option<Self> {
        let output = format!("{}.modular.o", u.object.trim_end_matches(".o"));
        let from = format!("-c -o {}", u.object);
        if !u.command.contains(&from) {
            return None;
        }
        let command = u
            .command
            .replacen(&from, &format!("-DMODULE -c -o {output}"), 1);
        Some(Job { output, command })
    }
}

/// Runs the jobs on `jobs` threads from the build directory. A job whose output exists with a
/// stamp of the same command is not run again (derive reuses its cache).
pub(crate) fn compile(
    objtree: &Path,
    list: &[Job],
    jobs: usize,
    progress: &dyn Progress,
) -> CompileReport {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let report = Mutex::new(CompileReport::default());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = list.get(i) else { break };
                    let result = compile_one(objtree, job);
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress.set(n as u64);
                    let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
                    match result {
                        Ok(()) => {
                            r.compiled.insert(job.output.clone());
                        }
                        Err(tail) => {
                            r.failed.insert(job.output.clone(), tail);
                        }
                    }
                }
            });
        }
    });
    report.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn stamp_path(objtree: &Path, output: &str) -> PathBuf {
    let p = objtree.join(output);
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    p.with_file_name(format!(".{name}.hcl-derive"))
}

fn compile_one(objtree: &Path, job: &Job) -> Result<(), String> {
    let stamp = stamp_path(objtree, &job.output);
    if objtree.join(&job.output).is_file()
        && std::fs::read_to_string(&stamp).is_ok_and(|s| s == job.command)
    {
        return Ok(());
    }
    if let Some(dir) = objtree.join(&job.output).parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(&job.command)
        .current_dir(objtree)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("sh: {e}"))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("error")).collect();
        let tail = if lines.is_empty() {
            text.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
        } else {
            lines
                .iter()
                .take(3)
                .copied()
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let _ = std::fs::remove_file(objtree.join(&job.output));
        return Err(tail);
    }
    let mut f = std::fs::File::create(&stamp).map_err(|e| format!("{}: {e}", stamp.display()))?;
    f.write_all(job.command.as_bytes())
        .map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AHCI: &str = r#"set -e;  echo '  CC [M]  drivers/ata/ahci.o';   trap 'rm -f drivers/ata/ahci.o; trap - HUP; kill -s HUP $$' HUP; gcc -Wp,-MMD,drivers/ata/.ahci.o.d -nostdinc -I/src/include -D__KERNEL__ -O2  -DMODULE  -DKBUILD_BASENAME='"ahci"' -DKBUILD_MODNAME='"ahci"' -D__KBUILD_MODNAME=kmod_ahci -c -o drivers/ata/ahci.o /src/drivers/ata/ahci.c   ; ./tools/objtool/objtool --link --module drivers/ata/ahci.o; scripts/basic/fixdep drivers/ata/.ahci.o.d drivers/ata/ahci.o 'gcc -Wp,-MMD,drivers/ata/.ahci.o.d -DKBUILD_MODNAME='\''"ahci"'\'' -c -o drivers/ata/ahci.o /src/drivers/ata/ahci.c' > drivers/ata/.ahci.o.cmd; rm -f drivers/ata/.ahci.o.d"#;

    #[test]
    fn parses_compile_lines_and_module_order() {
        let mut p = ListingParser::new(Path::new("/src"), Path::new("/build"));
        p.line(AHCI);
        p.line("set -e; gcc -DKBUILD_MODNAME='\"8250\"' -c -o drivers/tty/serial/8250/8250_pci.o /src/drivers/tty/serial/8250/8250_pci.c; true");
        p.line("set -e; { echo drivers/ata/ahci.o; echo drivers/ata/libahci.o; cat drivers/ata/x/modules.order; :; } > drivers/ata/modules.order; printf x");
        p.line("set -e; { echo drivers/ata/x/y.o; :; } > drivers/ata/x/modules.order");
        p.line("set -e; { cat drivers/ata/modules.order; cat sound/modules.order; :; } > modules.order");
        p.line("set -e; { echo sound/snd.o; :; } > sound/modules.order");
        let l = p.finish();
        assert_eq!(l.units.len(), 2);
        let u = &l.units[0];
        assert_eq!(u.object, "drivers/ata/ahci.o");
        assert_eq!(u.source, Path::new("drivers/ata/ahci.c"));
        assert!(u.module);
        assert_eq!(u.modname, "ahci");
        assert!(u.command.starts_with("gcc -Wp,-MMD,drivers/ata/.ahci.o.d"));
        assert!(
            u.command
                .ends_with("-c -o drivers/ata/ahci.o /src/drivers/ata/ahci.c")
        );
        assert!(!l.units[1].module);
        assert_eq!(l.units[1].modname, "8250");
        assert_eq!(
            l.modules_order,
            [
                "drivers/ata/ahci.o",
                "drivers/ata/libahci.o",
                "drivers/ata/x/y.o",
                "sound/snd.o"
            ]
        );
        let j = Job::as_module(&l.units[1]).expect("rewritable");
        assert_eq!(j.output, "drivers/tty/serial/8250/8250_pci.modular.o");
        assert!(
            j.command
                .contains("-DMODULE -c -o drivers/tty/serial/8250/8250_pci.modular.o /src/")
        );
    }

    #[test]
    fn version_of_a_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("Makefile"),
            "# SPDX\nVERSION = 6\nPATCHLEVEL = 18\nSUBLEVEL = 15\nEXTRAVERSION =\nNAME = x\n",
        )
        .expect("write");
        assert_eq!(tree_version(dir.path()).expect("version"), "6.18.15");
        std::fs::write(dir.path().join("Makefile"), "all:\n").expect("write");
        assert!(tree_version(dir.path()).is_err());
    }
}
