//! SHA256SUMS and its minisign signature, checked with the real tools a person uses
//! (`sha256sum`, `minisign`) and the verify command the README gives, with a throwaway key made
//! here.

use std::path::Path;
use std::process::Command;

use xtask::{sign, sums};

/// The README's verify command for a download (the line starting `minisign -Vm`), with the
/// public key placeholder replaced.
fn readme_verify_command(public_key: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let line = readme
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("minisign -Vm SHA256SUMS"))
        .expect("the README shows a `minisign -Vm SHA256SUMS ...` command");
    assert!(line.contains("PUBLIC_KEY"), "{line}");
    line.replace("PUBLIC_KEY", public_key)
}

fn sh(dir: &Path, command: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .output()
        .expect("sh")
}

fn throwaway_key(dir: &Path) -> (std::path::PathBuf, String) {
    let secret = dir.join("throwaway.key");
    let public = dir.join("throwaway.pub");
    let out = Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&secret)
        .output()
        .expect("minisign is installed (Debian package `minisign`)");
    assert!(out.status.success(), "{out:?}");
    (secret, sign::read_public_key(&public).unwrap())
}

fn dist_folder(dir: &Path) -> Vec<String> {
    let names = vec![
        "hcl-probe-0.1.0-x86_64-linux".to_owned(),
        "hcl-kernels-0.1.0-x86_64-linux".to_owned(),
    ];
    for (i, name) in names.iter().enumerate() {
        std::fs::write(dir.join(name), format!("binary {i}\n").repeat(1000)).unwrap();
    }
    names
}

#[test]
fn sha256sums_is_checked_by_coreutils() {
    let dir = tempfile::tempdir().unwrap();
    let names = dist_folder(dir.path());
    let path = sums::write(dir.path(), &names).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(sums::parse(&text).unwrap().len(), 2);
    let ok = sh(dir.path(), "sha256sum -c SHA256SUMS");
    assert!(ok.status.success(), "{ok:?}");

    // A changed binary fails the check.
    std::fs::write(dir.path().join(&names[0]), "tampered").unwrap();
    let bad = sh(dir.path(), "sha256sum -c SHA256SUMS");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("FAILED"),
        "{bad:?}"
    );
}

#[test]
fn signed_sums_verify_with_the_readme_command_and_tampering_fails() {
    let keys = tempfile::tempdir().unwrap();
    let (secret, public) = throwaway_key(keys.path());
    assert_eq!(sign::public_key_of(&secret).unwrap(), public);

    let dir = tempfile::tempdir().unwrap();
    let names = dist_folder(dir.path());
    let sums_path = sums::write(dir.path(), &names).unwrap();
    let sig = sign::sign(&sums_path, &secret, "HCL Probe release: test, commit 0000").unwrap();
    assert_eq!(sig, dir.path().join("SHA256SUMS.minisig"));
    sign::verify(&sums_path, &public).unwrap();

    let verify = readme_verify_command(&public);
    let ok = sh(dir.path(), &verify);
    assert!(ok.status.success(), "{verify}: {ok:?}");
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(
        said.contains("Signature and comment signature verified"),
        "{said}"
    );
    assert!(said.contains(&format!("{}: OK", names[0])), "{said}");

    // Another key's public key is refused.
    let other = tempfile::tempdir().unwrap();
    let (_, other_public) = throwaway_key(other.path());
    assert!(
        !sh(dir.path(), &readme_verify_command(&other_public))
            .status
            .success()
    );
    assert!(sign::verify(&sums_path, &other_public).is_err());

    // A SHA256SUMS with one hash changed (as someone swapping a binary would) is refused,
    // before any binary is checked.
    let text = std::fs::read_to_string(&sums_path).unwrap();
    let flipped = if text.starts_with('0') { "1" } else { "0" };
    std::fs::write(&sums_path, format!("{flipped}{}", &text[1..])).unwrap();
    let bad = sh(dir.path(), &verify);
    assert!(
        !bad.status.success(),
        "a tampered SHA256SUMS verified: {bad:?}"
    );
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("Signature verification failed"),
        "{bad:?}"
    );
    assert!(sign::verify(&sums_path, &public).is_err());

    // The right SUMS again, but a binary swapped: the signature holds, sha256sum refuses.
    std::fs::write(&sums_path, &text).unwrap();
    std::fs::write(dir.path().join(&names[1]), "swapped").unwrap();
    let swapped = sh(dir.path(), &verify);
    assert!(!swapped.status.success(), "{swapped:?}");
}

#[test]
fn signing_without_a_key_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let names = dist_folder(dir.path());
    let sums_path = sums::write(dir.path(), &names).unwrap();
    let err = sign::sign(&sums_path, &dir.path().join("nope.key"), "x").unwrap_err();
    assert!(err.to_string().contains("no minisign secret key"), "{err}");
    assert!(!dir.path().join("SHA256SUMS.minisig").exists());
}
