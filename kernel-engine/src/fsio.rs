//! Opening the files importers read. A FIFO, socket, device or directory given where a file
//! belongs is refused with a clear error: a FIFO opened for reading would wait for a writer
//! forever. The type is checked before opening, the file opened without blocking, and the
//! type checked again on what was opened (a rename in between cannot slip a FIFO in).
//!
//! Writing the files the tools make: [`write_replacing`].

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn not_regular(kind: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file ({kind}); give a file"),
    )
}

fn kind_of(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_block_device() || t.is_char_device() {
        Some("a device")
    } else {
        Some("not a file")
    }
}

/// Writes `bytes` to `path` through a new file in the same folder, renamed over `path`: a
/// symlink planted at `path` is replaced, not followed (an attack wrote a profile through
/// `OUT/evil.profile.zst -> /elsewhere/file`), and a crash leaves the old file or the new one,
/// never half of one.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // tempfile creates with O_EXCL (never through a link) and removes the file on error.
    let mut tmp = tempfile::Builder::new()
        .prefix(".hcl-")
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map(drop).map_err(|e| e.error)
}

/// Opens `path` for reading when it is a regular file (symlinks followed).
pub fn open_regular(path: &Path) -> io::Result<File> {
    if let Some(kind) = kind_of(&std::fs::metadata(path)?) {
        return Err(not_regular(kind));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if let Some(kind) = kind_of(&file.metadata()?) {
        return Err(not_regular(kind));
    }
    Ok(file)
}

/// The bytes of a regular file.
pub fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The text of a regular file (UTF-8).
pub fn read_regular_text(path: &Path) -> io::Result<String> {
    String::from_utf8(read_regular(path)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bug: `hcl-kernels import` on a FIFO blocked forever.
    #[test]
    fn regression_a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let fifo = dir.path().join("modules.alias");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let start = std::time::Instant::now();
        let e = read_regular(&fifo).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let e = read_regular(dir.path()).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let e = read_regular(Path::new("/dev/null")).unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}
