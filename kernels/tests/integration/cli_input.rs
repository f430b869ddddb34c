//! Bad command-line input to `hcl-kernels import`: an id that would name a file outside
//! `--out`, and sources that are not regular files. Each gets a clear error at once, and
//! nothing is written outside the folder named.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A minimal depmod folder the importer accepts.
fn tiny_source(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("modules.alias"),
        "alias pci:v00008086d*sv*sd*bc03sc*i* i915\n",
    )
    .unwrap();
    std::fs::write(dir.join("modules.builtin"), "").unwrap();
}

/// Runs `hcl-kernels` with `args`; killed (and the test failed) after 20 s.
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hcl-kernels"))
        .args(args)
        .env_remove("HCL_PROFILES")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("hcl-kernels {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

/// Bug: `import ... --id ../x` or `--id /abs/path` wrote the profile outside `--out`.
#[test]
fn regression_import_id_cannot_name_a_file_outside_out() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    tiny_source(&src);
    let out = tmp.path().join("a/out");
    std::fs::create_dir_all(&out).unwrap();
    let abs = tmp.path().join("abs");
    let before = files_below(tmp.path());
    for id in [
        "../x",
        "../../x",
        abs.to_str().unwrap(),
        "a/b",
        ".hidden",
        "..",
        ".",
        "",
        "Debian-13",
        "debian 13",
        "x\u{1b}[31m",
    ] {
        let o = run(&[
            "import",
            src.to_str().unwrap(),
            "--id",
            id,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(!o.status.success(), "--id {id:?} was accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("--id") && err.contains("kernel id"),
            "{id:?}: {err}"
        );
        assert!(!err.contains('\u{1b}'), "{err:?}");
    }
    assert_eq!(files_below(tmp.path()), before, "something was written");
    // A plain name is written inside --out.
    let o = run(&[
        "import",
        src.to_str().unwrap(),
        "--id",
        "my-kernel_6.1.0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("my-kernel_6.1.0.profile.zst").is_file());
}

/// Bug: `hcl-kernels import` on a FIFO blocked forever.
#[test]
fn regression_import_of_a_fifo_fails_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("kernel.deb");
    let mkfifo = |p: &Path| {
        let ok = Command::new("mkfifo").arg(p).status().unwrap().success();
        assert!(ok, "mkfifo {}", p.display());
    };
    mkfifo(&fifo);
    let out = tmp.path().join("out");
    let o = run(&[
        "import",
        fifo.to_str().unwrap(),
        "--id",
        "t",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("kernel.deb") && err.contains("FIFO"), "{err}");

    // A FIFO inside a depmod folder, and as a firmware list.
    let src = tmp.path().join("src");
    tiny_source(&src);
    let fw = tmp.path().join("firmware.tsv");
    mkfifo(&fw);
    let o = run(&[
        "import",
        src.to_str().unwrap(),
        "--id",
        "t",
        "--out",
        out.to_str().unwrap(),
        "--firmware",
        fw.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("firmware.tsv") && err.contains("FIFO"),
        "{err}"
    );
    std::fs::remove_file(src.join("modules.builtin")).unwrap();
    mkfifo(&src.join("modules.builtin"));
    let o = run(&[
        "import",
        src.to_str().unwrap(),
        "--id",
        "t",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("modules.builtin") && err.contains("FIFO"),
        "{err}"
    );
    // A directory of profiles with a FIFO in it.
    let profiles = tmp.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    mkfifo(&profiles.join("x.profile.zst"));
    let o = Command::new(env!("CARGO_BIN_EXE_hcl-kernels"))
        .arg("--profiles")
        .arg(&profiles)
        .arg("list")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("FIFO"));
}

/// A catalog names files of its own folder only.
#[test]
fn catalog_entries_cannot_point_outside_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let profiles = tmp.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::write(
        profiles.join("catalog.json"),
        r#"[{"file": "../../etc/x.profile.zst", "id": "x"}]"#,
    )
    .unwrap();
    let o = run(&["--profiles", profiles.to_str().unwrap(), "list"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("catalog.json") && err.contains("../../etc"),
        "{err}"
    );
}

/// Found from outside: `derive --id` was never checked (only `import` checked it), so
/// `--id ../x` or `--id /abs` named a file outside `--out`. Refused before any work.
#[test]
fn regression_derive_id_cannot_name_a_file_outside_out() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let abs = tmp.path().join("abs");
    for id in ["../x", abs.to_str().unwrap(), "a/b", ".hidden"] {
        let o = run(&[
            "derive",
            "--source",
            tmp.path().join("no-source").to_str().unwrap(),
            "--config",
            tmp.path().join("no-config").to_str().unwrap(),
            "--id",
            id,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(!o.status.success(), "--id {id:?} was accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("--id") && err.contains("kernel id"),
            "{id:?}: {err}"
        );
    }
    assert!(files_below(tmp.path()).is_empty(), "something was written");
}

/// Found from outside: `import --out DIR` wrote through a symlink planted at
/// `DIR/<id>.profile.zst`, overwriting the file it pointed to (outside `--out`). The profile
/// now replaces the link, and the file it pointed to is untouched.
#[test]
fn regression_import_follows_a_symlink_planted_in_out() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    tiny_source(&src);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "victim\n").unwrap();
    let planted = out.join("evil.profile.zst");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let o = run(&[
        "import",
        src.to_str().unwrap(),
        "--id",
        "evil",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "victim\n");
    let meta = std::fs::symlink_metadata(&planted).unwrap();
    assert!(meta.file_type().is_file(), "the link is still there");
    assert_eq!(
        files_below(&out),
        ["evil.profile.zst"],
        "no temporary file left behind"
    );
}
