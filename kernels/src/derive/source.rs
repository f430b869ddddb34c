//! The kernel source tree to derive from: a directory, Debian's `linux_*.orig.tar.xz` +
//! `linux_*.debian.tar.xz` (Debian's patch series applied as `dpkg-source -x` does), or a
//! `linux-source-*` .deb (Debian's already patched tree, `usr/src/linux-source-*.tar.xz`).
//! Archives are unpacked once into the cache, under a name made from their SHA-256.

use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};

use super::kbuild::run_logged;
use super::{Error, Progress};

/// A source as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A kernel source tree, used in place (read only: builds go to a separate directory).
    Tree(PathBuf),
    /// Debian's upstream tarball and packaging tarball (patches in `debian/patches/series`).
    DebianTarballs { orig: PathBuf, debian: PathBuf },
    /// A `linux-source-X.Y_*.deb`.
    LinuxSourceDeb(PathBuf),
}

impl SourceSpec {
    /// Recognise the sources given: one directory, one .deb, a .dsc (its tarballs beside
    /// it), or an orig and a debian tarball in any order.
    pub fn from_paths(paths: &[PathBuf]) -> Result<Self, Error> {
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        match paths {
            [p] if p.is_dir() => Ok(SourceSpec::Tree(p.clone())),
            [p] if name(p).ends_with(".deb") => Ok(SourceSpec::LinuxSourceDeb(p.clone())),
            [p] if name(p).ends_with(".dsc") => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                let dir = p.parent().unwrap_or(Path::new("."));
                let files: Vec<PathBuf> =
                    dsc_files(&text).into_iter().map(|f| dir.join(f)).collect();
                Self::from_paths(&files).map_err(|_| {
                    Error::bad(
                        p,
                        "names no linux_*.orig.tar.* and linux_*.debian.tar.* pair",
                    )
                })
            }
            [a, b] => {
                let (orig, debian) = if name(a).contains(".orig.tar") {
                    (a, b)
                } else {
                    (b, a)
                };
                if !name(orig).contains(".orig.tar") || !name(debian).contains(".debian.tar") {
                    return Err(Error::bad(
                        a,
                        "two sources must be a *.orig.tar.* and a *.debian.tar.* of one package",
                    ));
                }
                Ok(SourceSpec::DebianTarballs {
                    orig: orig.clone(),
                    debian: debian.clone(),
                })
            }
            _ => Err(Error::Usage(
                "--source takes a kernel source directory, a linux-source-*.deb, a .dsc, or \
                 linux_*.orig.tar.xz plus linux_*.debian.tar.xz"
                    .into(),
            )),
        }
    }

    /// The input files (none for a tree).
    pub fn files(&self) -> Vec<&Path> {
        match self {
            SourceSpec::Tree(_) => Vec::new(),
            SourceSpec::DebianTarballs { orig, debian } => vec![orig, debian],
            SourceSpec::LinuxSourceDeb(d) => vec![d],
        }
    }
}

/// The file names a .dsc lists under `Files:` / `Checksums-Sha256:`.
fn dsc_files(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_files = false;
    for line in text.lines() {
        if line.starts_with("Checksums-Sha256:") || line.starts_with("Files:") {
            in_files = true;
            continue;
        }
        if in_files {
            if !line.starts_with(' ') {
                in_files = false;
                continue;
            }
            if let Some(name) = line.split_whitespace().nth(2)
                && !out.iter().any(|o| o == name)
            {
                out.push(name.to_owned());
            }
        }
    }
    out
}

/// A source tree ready for Kbuild, and where it came from.
#[derive(Debug, Clone)]
pub struct Tree {
    pub path: PathBuf,
    /// `linux-source-6.12_6.12.117-1_all.deb`, `linux 7.1.8-1~bpo13+1 (orig + debian tarballs)`,
    /// or the directory.
    pub description: String,
    /// Input files with their SHA-256.
    pub inputs: Vec<(String, String)>,
    /// Debian patches applied here (orig + debian tarballs only).
    pub patches_applied: usize,
}

/// SHA-256 of a file, hex.
pub(crate) fn sha256_file(path: &Path) -> Result<String, Error> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The tree for a source, unpacking archives into `cache/trees/` when not there yet.
pub(crate) fn prepare(
    spec: &SourceSpec,
    cache: &Path,
    progress: &dyn Progress,
) -> Result<Tree, Error> {
    if let SourceSpec::Tree(dir) = spec {
        let path = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
        super::kbuild::tree_version(&path)?;
        return Ok(Tree {
            description: format!("source tree {}", path.display()),
            path,
            inputs: Vec::new(),
            patches_applied: 0,
        });
    }
    progress.stage("hashing the source archives", 0);
    let mut inputs = Vec::new();
    for f in spec.files() {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        inputs.push((name, sha256_file(f)?));
    }
    let key: String = {
        let mut h = Sha256::new();
        for (_, sum) in &inputs {
            h.update(sum.as_bytes());
        }
        hex::encode(h.finalize())[..16].to_owned()
    };
    let dir = cache.join("trees").join(&key);
    let done_marker = dir.join(".hcl-derive-unpacked");
    let description = match spec {
        SourceSpec::LinuxSourceDeb(_) => inputs[0].0.clone(),
        _ => format!("{} + {}", inputs[0].0, inputs[1].0),
    };
    let mut patches_applied = 0;
    if let Ok(n) = std::fs::read_to_string(&done_marker) {
        patches_applied = n.trim().parse().unwrap_or(0);
    } else {
        let partial = cache.join("trees").join(format!("{key}.partial"));
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
        }
        std::fs::create_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
        match spec {
            SourceSpec::LinuxSourceDeb(deb) => unpack_linux_source_deb(deb, &partial, progress)?,
            SourceSpec::DebianTarballs { orig, debian } => {
                progress.stage("unpacking the upstream tarball", 0);
                unpack_tar(open_compressed(orig)?, &partial, 1, orig)?;
                progress.stage("unpacking the Debian tarball", 0);
                unpack_tar(open_compressed(debian)?, &partial, 0, debian)?;
                patches_applied = apply_debian_patches(&partial, cache, progress)?;
            }
            SourceSpec::Tree(_) => {}
        }
        std::fs::write(
            partial.join(".hcl-derive-unpacked"),
            patches_applied.to_string(),
        )
        .map_err(|e| Error::io(&partial, e))?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::rename(&partial, &dir).map_err(|e| Error::io(&dir, e))?;
    }
    super::kbuild::tree_version(&dir)?;
    Ok(Tree {
        path: dir,
        description,
        inputs,
        patches_applied,
    })
}

fn open_compressed(path: &Path) -> Result<Box<dyn Read>, Error> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let (_, r) = crate::binary::decompress::decoder(BufReader::with_capacity(1 << 20, f))
        .map_err(|e| Error::io(path, e))?;
    Ok(r)
}

/// Unpacks a tar stream into `dest`, dropping `strip` leading path components. Entries that
/// would land outside `dest` (absolute, `..`) are refused.
fn unpack_tar(r: impl Read, dest: &Path, strip: usize, origin: &Path) -> Result<usize, Error> {
    let mut archive = tar::Archive::new(r);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    let mut n = 0;
    let entries = archive
        .entries()
        .map_err(|e| Error::bad(origin, format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::bad(origin, format!("bad tar entry: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| Error::bad(origin, format!("bad tar path: {e}")))?
            .into_owned();
        let mut rel = PathBuf::new();
        for c in path.components().skip(strip) {
            match c {
                Component::Normal(p) => rel.push(p),
                Component::CurDir => {}
                _ => {
                    return Err(Error::bad(
                        origin,
                        format!("tar entry {} leaves the tree", path.display()),
                    ));
                }
            }
        }
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        entry
            .unpack(&target)
            .map_err(|e| Error::bad(origin, format!("unpacking {}: {e}", rel.display())))?;
        n += 1;
    }
    Ok(n)
}

/// `linux-source-X.Y_*.deb`: its data.tar holds `usr/src/linux-source-X.Y.tar.xz`, which holds
/// `linux-source-X.Y/...`.
fn unpack_linux_source_deb(deb: &Path, dest: &Path, progress: &dyn Progress) -> Result<(), Error> {
    progress.stage("unpacking the linux-source package", 0);
    let f = std::fs::File::open(deb).map_err(|e| Error::io(deb, e))?;
    let mut found = false;
    crate::binary::ar::for_each_member(BufReader::new(f), |name, _, data| -> Result<(), Error> {
        if !name.starts_with("data.tar") {
            return Ok(());
        }
        let (_, inner) = crate::binary::decompress::decoder(BufReader::new(data))
            .map_err(|e| Error::io(deb, e))?;
        let mut outer = tar::Archive::new(inner);
        let entries = outer
            .entries()
            .map_err(|e| Error::bad(deb, format!("bad data.tar: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::bad(deb, format!("bad data.tar: {e}")))?;
            let path = entry
                .path()
                .map_err(|e| Error::bad(deb, format!("bad data.tar: {e}")))?
                .to_string_lossy()
                .into_owned();
            let file = path.rsplit('/').next().unwrap_or("");
            if path.contains("usr/src/")
                && file.starts_with("linux-source-")
                && file.contains(".tar")
            {
                let (_, tarball) = crate::binary::decompress::decoder(BufReader::new(entry))
                    .map_err(|e| Error::io(deb, e))?;
                unpack_tar(tarball, dest, 1, deb)?;
                found = true;
                break;
            }
        }
        Ok(())
    })
    .map_err(|e| match e {
        Error::Bad { path, message } if path == "archive" => Error::bad(deb, message),
        other => other,
    })?;
    if !found {
        return Err(Error::bad(
            deb,
            "no usr/src/linux-source-*.tar.* inside: not a linux-source package",
        ));
    }
    Ok(())
}

/// Applies `debian/patches/series` in order with `patch`, as dpkg-source does for a
/// "3.0 (quilt)" package (`-p1`, no fuzz, no backups, forward only). Returns the count.
fn apply_debian_patches(
    tree: &Path,
    cache: &Path,
    progress: &dyn Progress,
) -> Result<usize, Error> {
    let series_path = tree.join("debian/patches/series");
    let series = std::fs::read_to_string(&series_path).map_err(|e| Error::io(&series_path, e))?;
    let patches: Vec<(String, Vec<String>)> = series
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next().unwrap_or_default().to_owned();
            (name, w.map(str::to_owned).collect())
        })
        .collect();
    progress.stage("applying Debian's patch series", patches.len() as u64);
    let logs = cache.join("logs");
    for (i, (name, opts)) in patches.iter().enumerate() {
        let file = tree.join("debian/patches").join(name);
        let mut c = Command::new("patch");
        c.current_dir(tree)
            .args([
                "-s",
                "-t",
                "-F",
                "0",
                "-N",
                "-u",
                "-V",
                "never",
                "-E",
                "--no-backup-if-mismatch",
                "-r",
                "-",
            ])
            .args(if opts.iter().any(|o| o.starts_with("-p")) {
                opts.clone()
            } else {
                vec!["-p1".to_owned()]
            })
            .arg("-i")
            .arg(&file);
        run_logged(
            c,
            &logs.join("patch.log"),
            &format!("patch -i debian/patches/{name}"),
        )?;
        progress.set(i as u64 + 1);
    }
    Ok(patches.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_sources() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = |n: &str| d.path().join(n);
        assert_eq!(
            SourceSpec::from_paths(&[
                p("linux_7.1.8-1.debian.tar.xz"),
                p("linux_7.1.8.orig.tar.xz")
            ])
            .expect("pair"),
            SourceSpec::DebianTarballs {
                orig: p("linux_7.1.8.orig.tar.xz"),
                debian: p("linux_7.1.8-1.debian.tar.xz")
            }
        );
        assert!(matches!(
            SourceSpec::from_paths(&[p("linux-source-6.12_6.12.117-1_all.deb")]),
            Ok(SourceSpec::LinuxSourceDeb(_))
        ));
        assert!(SourceSpec::from_paths(&[p("a.tar.xz"), p("b.tar.xz")]).is_err());
        assert!(SourceSpec::from_paths(&[]).is_err());
        std::fs::write(
            p("linux_7.1.8-1.dsc"),
            "Format: 3.0 (quilt)\nChecksums-Sha256:\n 47f9 161678028 linux_7.1.8.orig.tar.xz\n a74a 1541732 linux_7.1.8-1.debian.tar.xz\nFiles:\n 1 2 linux_7.1.8.orig.tar.xz\n",
        )
        .expect("write");
        assert!(matches!(
            SourceSpec::from_paths(&[p("linux_7.1.8-1.dsc")]),
            Ok(SourceSpec::DebianTarballs { .. })
        ));
    }

    #[test]
    fn tar_entries_leaving_the_tree_are_refused() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        let data = b"x";
        h.set_size(1);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "linux-1/ok.txt", &data[..])
            .expect("append");
        let mut h2 = tar::Header::new_gnu();
        h2.set_size(1);
        h2.set_mode(0o644);
        // append_data refuses `..`; write the raw name.
        h2.as_gnu_mut().expect("gnu").name[..16].copy_from_slice(b"linux-1/../../x\0");
        h2.set_cksum();
        b.append(&h2, &data[..]).expect("append raw");
        let bytes = b.into_inner().expect("tar");
        let d = tempfile::tempdir().expect("tempdir");
        let err = unpack_tar(&bytes[..], d.path(), 1, Path::new("t.tar")).expect_err("refused");
        assert!(err.to_string().contains("leaves the tree"), "{err}");
        assert!(d.path().join("ok.txt").is_file());
        assert!(!d.path().parent().expect("parent").join("x").exists());
    }
}
