//! The files of a Qubes HCL, as the importers read them: a folder of YAML reports (the layout of
//! the upstream repository) or one `.tar.zst` archive of them (how this repository keeps its
//! copy, `data/qubes-hcl/qubes-hcl.tar.zst`). Reports are keyed by file name, so names are kept;
//! only `.yml`/`.yaml` files count (a folder is not searched below its top level), in name order.
//!
//! A file that cannot be read is returned with its error, so one bad file never stops an import;
//! an archive that cannot be read as a whole is an error naming it.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::{Error, MAX_INPUT_BYTES};

/// The most report bytes an archive may hold once decompressed: a hundred times the real HCL
/// (2.2 MB), so more means a corrupt or hostile archive rather than reports.
pub const MAX_ARCHIVE_BYTES: u64 = 256 << 20;

/// One file of the HCL: its name and its bytes, or why it could not be read.
#[derive(Debug)]
pub struct HclFile {
    pub name: String,
    pub bytes: Result<Vec<u8>, String>,
}

/// The `.yml`/`.yaml` files of a folder or of a `.tar.zst` archive, in name order.
pub fn read(path: &Path) -> Result<Vec<HclFile>, Error> {
    let fail = |reason: String| Error::QubesHcl {
        file: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let mut files = if meta.is_dir() {
        read_dir(path).map_err(|e| fail(format!("cannot read the folder: {e}")))?
    } else {
        read_archive(path).map_err(fail)?
    };
    files.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = files.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(fail(format!("two files named {}", w[0].name)));
    }
    Ok(files)
}

fn is_report(name: &str) -> bool {
    name.ends_with(".yml") || name.ends_with(".yaml")
}

fn read_dir(dir: &Path) -> std::io::Result<Vec<HclFile>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_file() && is_report(&name) {
            out.push(HclFile {
                name,
                bytes: read_file(&path),
            });
        }
    }
    Ok(out)
}

fn too_large(size: u64) -> String {
    format!("{size} bytes or more, larger than the {MAX_INPUT_BYTES} a report may have")
}

/// A file of at most [`MAX_INPUT_BYTES`].
fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_INPUT_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

fn read_archive(path: &Path) -> Result<Vec<HclFile>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut buffered = BufReader::new(file);
    let magic = buffered
        .fill_buf()
        .map_err(|e| format!("cannot read: {e}"))?;
    if !magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err("neither a folder nor a .tar.zst archive of reports".into());
    }
    let decoder = zstd::stream::read::Decoder::with_buffer(buffered)
        .map_err(|e| format!("bad zstd data: {e}"))?;
    let mut archive = tar::Archive::new(decoder);
    let broken = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format!("truncated archive ({e})")
        } else {
            format!("bad .tar.zst archive: {e}")
        }
    };
    let mut out = Vec::new();
    let mut total = 0u64;
    for entry in archive.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = entry
            .path()
            .map_err(broken)?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !is_report(&name) {
            continue;
        }
        total += entry.size();
        if total > MAX_ARCHIVE_BYTES {
            return Err(format!(
                "more than {MAX_ARCHIVE_BYTES} bytes of reports: not a Qubes HCL"
            ));
        }
        // A member larger than any report is left unread (the archive reader skips it).
        let bytes = if entry.size() > MAX_INPUT_BYTES as u64 {
            Err(too_large(entry.size()))
        } else {
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut bytes).map_err(broken)?;
            Ok(bytes)
        };
        out.push(HclFile { name, bytes });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_zst(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        zstd::encode_all(b.into_inner().unwrap().as_slice(), 3).unwrap()
    }

    #[test]
    fn archive_keeps_names_in_order_and_only_reports() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hcl.tar.zst");
        std::fs::write(
            &p,
            tar_zst(&[
                ("b.yml", b"b"),
                ("README.md", b"not a report"),
                ("sub/a.yaml", b"a"),
            ]),
        )
        .unwrap();
        let files = read(&p).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.yaml", "b.yml"]);
        assert_eq!(files[0].bytes.as_deref(), Ok(b"a".as_slice()));
    }

    #[test]
    fn bad_archives_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let whole = tar_zst(&[("a.yml", &[b'x'; 5000]), ("b.yml", b"b")]);
        for (name, bytes, says) in [
            (
                "plain.txt",
                b"hello".to_vec(),
                "neither a folder nor a .tar.zst",
            ),
            (
                "cut.tar.zst",
                whole[..whole.len() / 2].to_vec(),
                "truncated",
            ),
            (
                "dup.tar.zst",
                tar_zst(&[("x/a.yml", b"1"), ("y/a.yml", b"2")]),
                "two files named a.yml",
            ),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let err = read(&p).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(says), "{err}");
        }
        let err = read(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(
            err.contains("missing") && err.contains("cannot read"),
            "{err}"
        );
    }
}
