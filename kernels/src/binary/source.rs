//! The kinds of source, recognised by content: a directory, a .deb (`ar`), an .rpm (lead magic).

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::ar::{self, ArError, read_full};
use super::cpio::{self, CpioError};
use super::decompress::{self, Compression};
use super::rpm;
use super::tree::Tree;
use super::{Collector, Counting, EntryKind, Error, Origin, Pool, Progress};

pub(super) enum Kind {
    Tree(Tree),
    Package(Package),
}

/// The package formats, recognised by content.
#[derive(Debug, Clone, Copy)]
pub(super) enum Package {
    Deb,
    Rpm,
}

pub(super) struct Source {
    pub(super) path: PathBuf,
    pub(super) kind: Kind,
    /// Bytes that progress counts for this source.
    pub(super) size: u64,
}

impl Source {
    pub(super) fn locate(path: &Path) -> Result<Self, Error> {
        let meta = std::fs::metadata(path).map_err(Error::io(path))?;
        if meta.is_dir() {
            let tree = Tree::locate(path)?;
            return Ok(Self {
                path: path.to_owned(),
                size: tree.size,
                kind: Kind::Tree(tree),
            });
        }
        let mut magic = [0u8; 8];
        let n = hcl_kernel_engine::fsio::open_regular(path)
            .and_then(|mut f| read_full(&mut f, &mut magic))
            .map_err(Error::io(path))?;
        let kind = match Package::of(magic.get(..n).unwrap_or_default()) {
            Some(package) => Kind::Package(package),
            None if super::is_module_file(&path.to_string_lossy()) => {
                return Err(Error::bad(
                    path,
                    "a single module is not a kernel: give its lib/modules/<version> directory",
                ));
            }
            None => {
                return Err(Error::bad(
                    path,
                    "not a .deb, an .rpm or a directory (unrecognised file format)",
                ));
            }
        };
        Ok(Self {
            path: path.to_owned(),
            kind,
            size: meta.len(),
        })
    }

    pub(super) fn import(
        &self,
        collector: &mut Collector,
        pool: &Pool<'_>,
        progress: &Progress<'_>,
    ) -> Result<(), Error> {
        match &self.kind {
            Kind::Tree(tree) => tree.import(&self.path, collector, pool, progress),
            Kind::Package(package) => {
                package.import(&self.path, open(&self.path, progress)?, collector, pool)
            }
        }
    }
}

impl Package {
    /// A package by its first bytes: `ar`'s magic (.deb) or the rpm lead's.
    pub(super) fn of(magic: &[u8]) -> Option<Package> {
        match magic {
            [b'!', b'<', b'a', b'r', b'c', b'h', b'>', b'\n', ..] => Some(Package::Deb),
            [0xed, 0xab, 0xee, 0xdb, ..] => Some(Package::Rpm),
            _ => None,
        }
    }

    /// Reads the package front to back from `reader`; `path` names it in errors.
    pub(super) fn import(
        self,
        path: &Path,
        reader: impl Read,
        collector: &mut Collector,
        pool: &Pool<'_>,
    ) -> Result<(), Error> {
        match self {
            Package::Deb => import_deb(path, reader, collector, pool),
            Package::Rpm => import_rpm(path, reader, collector, pool),
        }
    }
}

fn open<'p>(path: &Path, progress: &'p Progress<'p>) -> Result<impl Read + 'p, Error> {
    let file = hcl_kernel_engine::fsio::open_regular(path).map_err(Error::io(path))?;
    Ok(BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            progress,
        },
    ))
}

/// Errors inside an archive walk: the container's own, or one already naming its file.
enum Fail {
    Ar(ArError),
    Cpio(CpioError),
    Done(Error),
}

impl From<ArError> for Fail {
    fn from(e: ArError) -> Self {
        Self::Ar(e)
    }
}

impl From<CpioError> for Fail {
    fn from(e: CpioError) -> Self {
        Self::Cpio(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Self::Done(e)
    }
}

impl Fail {
    fn into_error(self, path: &Path, context: &str) -> Error {
        match self {
            Self::Ar(e) => Error::bad(path, e),
            Self::Cpio(e) => Error::bad(path, format!("{context}: {e}")),
            Self::Done(e) => e,
        }
    }
}

fn import_deb(
    path: &Path,
    reader: impl Read,
    collector: &mut Collector,
    pool: &Pool<'_>,
) -> Result<(), Error> {
    let mut package: Option<(String, String)> = None;
    let mut members = Vec::new();
    ar::for_each_member(reader, |name, _size, data| -> Result<(), Fail> {
        members.push(name.to_owned());
        let bad = |e: &dyn std::fmt::Display| Error::bad(path, format!("{name}: {e}"));
        if name == "debian-binary" {
            let text = decompress::read_limited(data, 1024).map_err(|e| bad(&e))?;
            if !text.starts_with(b"2.") {
                return Err(bad(&"unsupported .deb format version").into());
            }
        } else if name.starts_with("control.tar") {
            package = Some(read_control(data).map_err(|e| bad(&e))?);
        } else if name.starts_with("data.tar") {
            let origin = Origin {
                source: path,
                member: name,
                package: package.as_ref().map(|(p, _)| p.as_str()),
            };
            walk_tar(data, &origin, collector, pool)?;
        }
        Ok(())
    })
    .map_err(|e| e.into_error(path, ""))?;
    if members.first().map(String::as_str) != Some("debian-binary") {
        return Err(Error::bad(
            path,
            "not a .deb: no debian-binary member first",
        ));
    }
    if !members.iter().any(|m| m.starts_with("data.tar")) {
        return Err(Error::bad(path, "no data.tar member: truncated .deb?"));
    }
    match package {
        Some((name, version)) => collector.packages.push(format!("{name} {version}")),
        None => return Err(Error::bad(path, "no control.tar member")),
    }
    Ok(())
}

/// `Package` and `Version` of a control.tar's `control` file.
fn read_control(data: &mut dyn Read) -> io::Result<(String, String)> {
    let (_, decoder) = decompress::decoder(BufReader::new(data))?;
    let mut archive = tar::Archive::new(decoder);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.path()?.as_os_str() == "./control" || entry.path()?.as_os_str() == "control" {
            let text = decompress::read_limited(&mut entry, 1 << 20)?;
            let text = String::from_utf8_lossy(&text);
            let field = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                    .map(|v| v.trim().to_owned())
            };
            return match (field("Package"), field("Version")) {
                (Some(p), Some(v)) => Ok((p, v)),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "control file lacks Package or Version",
                )),
            };
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "no control file",
    ))
}

fn walk_tar(
    data: &mut dyn Read,
    origin: &Origin<'_>,
    collector: &mut Collector,
    pool: &Pool<'_>,
) -> Result<(), Error> {
    let bad = |e: &io::Error| {
        let message = format!("{}: {}", origin.member, decompress::describe(e));
        Error::bad(origin.source, message)
    };
    let (_, decoder) = decompress::decoder(BufReader::new(data)).map_err(|e| bad(&e))?;
    let mut archive = tar::Archive::new(decoder);
    for entry in archive.entries().map_err(|e| bad(&e))? {
        let mut entry = entry.map_err(|e| bad(&e))?;
        let path = entry
            .path()
            .map_err(|e| bad(&e))?
            .to_string_lossy()
            .into_owned();
        let kind = match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Symlink | tar::EntryType::Link => EntryKind::Link,
            _ => EntryKind::Other,
        };
        collector.archive_entry(origin, &path, kind, &mut entry, pool)?;
    }
    // Read to the end so that the compressed stream's own check runs.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| bad(&e))?;
    Ok(())
}

fn import_rpm(
    path: &Path,
    mut reader: impl Read,
    collector: &mut Collector,
    pool: &Pool<'_>,
) -> Result<(), Error> {
    let info = rpm::read_headers(&mut reader).map_err(|e| Error::bad(path, e))?;
    if let Some(format) = info.format.as_deref()
        && format != "cpio"
    {
        return Err(Error::bad(
            path,
            format!("unsupported payload format {format:?}"),
        ));
    }
    let (kind, mut payload) = decompress::decoder(BufReader::new(reader))
        .map_err(|e| Error::bad(path, format!("payload: {e}")))?;
    let context = match kind {
        Compression::None => "payload".to_owned(),
        k => format!("payload ({})", k.name()),
    };
    let origin = Origin {
        source: path,
        member: &context,
        package: Some(&info.name),
    };
    cpio::for_each_entry(&mut payload, |entry, data| -> Result<(), Fail> {
        let kind = if entry.is_file() && !(entry.size == 0 && entry.nlink > 1) {
            EntryKind::File
        } else if entry.is_file() || entry.is_symlink() {
            // newc stores a hard link group's data with its last name; the others are empty.
            EntryKind::Link
        } else {
            EntryKind::Other
        };
        let name = entry.name.as_str();
        collector.archive_entry(&origin, name, kind, data, pool)?;
        Ok(())
    })
    .map_err(|e| e.into_error(path, &context))?;
    io::copy(&mut payload, &mut io::sink())
        .map_err(|e| Error::bad(path, format!("{context}: {}", decompress::describe(&e))))?;
    collector.packages.push(if info.release.is_empty() {
        format!("{} {}", info.name, info.version)
    } else {
        format!("{} {}-{}", info.name, info.version, info.release)
    });
    Ok(())
}

/// One file of a .deb's data archive (`usr/lib/systemd/boot/efi/systemd-bootx64.efi`), read
/// with the same readers as the kernel packages; None when the package lacks it.
pub(super) fn deb_file(path: &Path, wanted: &str, limit: u64) -> Result<Option<Vec<u8>>, Error> {
    let file = hcl_kernel_engine::fsio::open_regular(path).map_err(Error::io(path))?;
    let wanted = wanted.trim_start_matches("./").trim_start_matches('/');
    let mut found = None;
    ar::for_each_member(
        BufReader::new(file),
        |name, _size, data| -> Result<(), Fail> {
            if !name.starts_with("data.tar") || found.is_some() {
                return Ok(());
            }
            let bad =
                |e: &io::Error| Error::bad(path, format!("{name}: {}", decompress::describe(e)));
            let (_, decoder) = decompress::decoder(BufReader::new(data)).map_err(|e| bad(&e))?;
            let mut archive = tar::Archive::new(decoder);
            for entry in archive.entries().map_err(|e| bad(&e))? {
                let mut entry = entry.map_err(|e| bad(&e))?;
                let p = entry
                    .path()
                    .map_err(|e| bad(&e))?
                    .to_string_lossy()
                    .into_owned();
                if p.trim_start_matches("./").trim_start_matches('/') == wanted
                    && entry.header().entry_type() == tar::EntryType::Regular
                {
                    found = Some(decompress::read_limited(&mut entry, limit).map_err(|e| bad(&e))?);
                    break;
                }
            }
            Ok(())
        },
    )
    .map_err(|e| e.into_error(path, ""))?;
    Ok(found)
}
