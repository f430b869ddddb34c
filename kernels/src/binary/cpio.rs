//! Streaming reader of `newc` cpio archives, the payload format of an rpm.

use std::io::{self, Read};

use super::ar::{Exact, read_full};

#[derive(Debug, thiserror::Error)]
pub enum CpioError {
    #[error("bad cpio header at byte {0}: expected newc magic 070701 or 070702")]
    BadMagic(u64),
    #[error("bad cpio header at byte {0}: field {1} is not hexadecimal")]
    BadField(u64, &'static str),
    #[error("cpio entry name at byte {0} is {1} bytes long")]
    BadName(u64, u64),
    #[error("truncated cpio archive: ends at byte {0} before its TRAILER!!! entry")]
    Truncated(u64),
    #[error("reading cpio archive: {0}")]
    Io(#[from] io::Error),
}

/// One entry's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path as stored, e.g. `./lib/modules/5.14.0/kernel/fs/ext4/ext4.ko.xz`.
    pub name: String,
    pub mode: u32,
    pub ino: u32,
    pub nlink: u32,
    pub size: u64,
}

const S_IFMT: u32 = 0o170000;

impl Entry {
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == 0o100000
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == 0o120000
    }
}

/// Longest entry name accepted; PATH_MAX is 4096.
const MAX_NAME: u64 = 64 * 1024;

fn pad4(n: u64) -> u64 {
    (4 - n % 4) % 4
}

/// Calls `f(entry, data)` for each entry before the trailer. Whatever `f` leaves unread is
/// skipped; an archive that ends before its trailer is an error, so truncation never passes
/// as a shorter archive.
pub fn for_each_entry<R, E, F>(mut r: R, mut f: F) -> Result<(), E>
where
    R: Read,
    E: From<CpioError>,
    F: FnMut(&Entry, &mut dyn Read) -> Result<(), E>,
{
    let mut offset = 0u64;
    loop {
        let start = offset;
        let mut header = [0u8; 110];
        if read_full(&mut r, &mut header).map_err(CpioError::Io)? < 110 {
            return Err(CpioError::Truncated(start).into());
        }
        if &header[..6] != b"070701" && &header[..6] != b"070702" {
            return Err(CpioError::BadMagic(start).into());
        }
        let field = |i: usize, what: &'static str| -> Result<u32, CpioError> {
            header
                .get(6 + 8 * i..14 + 8 * i)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|s| u32::from_str_radix(s, 16).ok())
                .ok_or(CpioError::BadField(start, what))
        };
        let ino = field(0, "ino")?;
        let mode = field(1, "mode")?;
        let nlink = field(4, "nlink")?;
        let size = u64::from(field(6, "filesize")?);
        let namesize = u64::from(field(11, "namesize")?);
        if namesize == 0 || namesize > MAX_NAME {
            return Err(CpioError::BadName(start, namesize).into());
        }
        let name_len = namesize + pad4(110 + namesize);
        let mut name = vec![0u8; usize::try_from(name_len).unwrap_or(0)];
        if read_full(&mut r, &mut name).map_err(CpioError::Io)? < name.len() {
            return Err(CpioError::Truncated(start).into());
        }
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        let name = String::from_utf8_lossy(name.get(..end).unwrap_or_default()).into_owned();
        offset = start + 110 + name_len;
        if name == "TRAILER!!!" {
            return Ok(());
        }
        let entry = Entry {
            name,
            mode,
            ino,
            nlink,
            size,
        };
        let mut data = Exact {
            inner: &mut r,
            remaining: size,
        };
        f(&entry, &mut data)?;
        let truncated = |e: io::Error| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                CpioError::Truncated(start)
            } else {
                CpioError::Io(e)
            }
        };
        io::copy(&mut data, &mut io::sink()).map_err(truncated)?;
        let pad = pad4(size);
        let mut pad_buf = [0u8; 4];
        if read_full(&mut r, &mut pad_buf[..pad as usize]).map_err(CpioError::Io)? < pad as usize {
            return Err(CpioError::Truncated(start).into());
        }
        let padded = size + pad;
        offset += padded;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A newc archive of (name, mode, data) entries, with its trailer.
    pub(crate) fn archive(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let with_links: Vec<(&str, u32, u32, &[u8])> =
            entries.iter().map(|&(n, m, d)| (n, m, 1, d)).collect();
        archive_links(&with_links)
    }

    /// A newc archive of (name, mode, nlink, data) entries, with its trailer.
    pub(crate) fn archive_links(entries: &[(&str, u32, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut push = |name: &str, mode: u32, nlink: u32, data: &[u8]| {
            let header = format!(
                "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
                1,
                mode,
                0,
                0,
                nlink,
                0,
                data.len(),
                0,
                0,
                0,
                0,
                name.len() + 1,
                0
            );
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out.extend_from_slice(data);
            while out.len() % 4 != 0 {
                out.push(0);
            }
        };
        for &(name, mode, nlink, data) in entries {
            push(name, mode, nlink, data);
        }
        push("TRAILER!!!", 0, 1, b"");
        out
    }

    fn read_all(a: &[u8]) -> Result<Vec<(String, Vec<u8>)>, CpioError> {
        let mut out = Vec::new();
        for_each_entry(a, |e, r| {
            let mut v = Vec::new();
            if e.name != "skip" {
                r.read_to_end(&mut v)?;
            }
            out.push((e.name.clone(), v));
            Ok::<(), CpioError>(())
        })?;
        Ok(out)
    }

    #[test]
    fn reads_entries_and_detects_truncation() {
        let a = archive(&[
            ("./a.ko", 0o100644, b"12345"),
            ("skip", 0o100644, b"zz"),
            ("./link", 0o120777, b"a.ko"),
        ]);
        let got = read_all(&a).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], ("./a.ko".into(), b"12345".to_vec()));
        assert_eq!(got[2], ("./link".into(), b"a.ko".to_vec()));
        for cut in [0, 50, 120, 130, a.len() - 8] {
            let err = read_all(&a[..cut]).unwrap_err();
            let eof = matches!(&err, CpioError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof);
            assert!(
                eof || matches!(err, CpioError::Truncated(_)),
                "cut {cut}: {err}"
            );
        }
        let mut bad = a.clone();
        bad[0] = b'X';
        assert!(matches!(read_all(&bad), Err(CpioError::BadMagic(0))));
    }
}
