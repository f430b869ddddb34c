//! Streaming reader of `ar` archives, the container of a .deb.

use std::io::{self, Read};

#[derive(Debug, thiserror::Error)]
pub enum ArError {
    #[error("not an ar archive (a .deb starts with \"!<arch>\")")]
    NotAr,
    #[error("bad ar member header at byte {0}")]
    BadHeader(u64),
    #[error("truncated ar archive: member {0:?} ends early")]
    Truncated(String),
    #[error("reading ar archive: {0}")]
    Io(#[from] io::Error),
}

/// The next `remaining` bytes of a stream: fails with `UnexpectedEof` when the stream ends
/// first, so a truncated archive never passes for a short member.
pub(crate) struct Exact<'a, R> {
    pub(crate) inner: &'a mut R,
    pub(crate) remaining: u64,
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "archive member ends early",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Fills `buf` unless the stream ends first; returns how many bytes were read.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Calls `f(name, size, data)` for each member in order. Whatever `f` leaves unread is skipped,
/// and a member cut short by the end of the archive is an error.
pub fn for_each_member<R, E, F>(mut r: R, mut f: F) -> Result<(), E>
where
    R: Read,
    E: From<ArError>,
    F: FnMut(&str, u64, &mut dyn Read) -> Result<(), E>,
{
    let mut magic = [0u8; 8];
    if read_full(&mut r, &mut magic).map_err(ArError::Io)? != 8 || &magic != b"!<arch>\n" {
        return Err(ArError::NotAr.into());
    }
    let mut offset = 8u64;
    loop {
        let mut header = [0u8; 60];
        let n = read_full(&mut r, &mut header).map_err(ArError::Io)?;
        if n == 0 {
            return Ok(());
        }
        if n < 60 || &header[58..60] != b"`\n" {
            return Err(ArError::BadHeader(offset).into());
        }
        let name = String::from_utf8_lossy(&header[..16]);
        // GNU ar ends names with '/'; the .deb format pads with spaces.
        let name = name.trim_end().trim_end_matches('/').to_owned();
        let size = std::str::from_utf8(&header[48..58])
            .ok()
            .map(str::trim)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(ArError::BadHeader(offset))?;
        let mut member = Exact {
            inner: &mut r,
            remaining: size,
        };
        f(&name, size, &mut member)?;
        io::copy(&mut member, &mut io::sink()).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                ArError::Truncated(name.clone())
            } else {
                ArError::Io(e)
            }
        })?;
        // Members start on even offsets; a missing final pad byte is harmless.
        if size % 2 == 1 {
            read_full(&mut r, &mut [0u8; 1]).map_err(ArError::Io)?;
        }
        offset = offset.saturating_add(60 + size + size % 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut h = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            100644,
            data.len()
        )
        .into_bytes();
        h.extend_from_slice(data);
        if data.len() % 2 == 1 {
            h.push(b'\n');
        }
        h
    }

    fn read_all(archive: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ArError> {
        let mut out = Vec::new();
        for_each_member(archive, |name, _, r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v)?;
            out.push((name.to_owned(), v));
            Ok::<(), ArError>(())
        })?;
        Ok(out)
    }

    #[test]
    fn reads_members_and_detects_truncation() {
        let mut a = b"!<arch>\n".to_vec();
        a.extend(member("debian-binary", b"2.0\n"));
        a.extend(member("data.tar.xz/", b"odd"));
        a.extend(member("last", b"xy"));
        let got = read_all(&a).unwrap();
        assert_eq!(got[0], ("debian-binary".into(), b"2.0\n".to_vec()));
        assert_eq!(got[1], ("data.tar.xz".into(), b"odd".to_vec()));
        assert_eq!(got.len(), 3);
        let err = read_all(&a[..a.len() - 1]).unwrap_err();
        assert!(
            matches!(err, ArError::Io(_) | ArError::Truncated(_)),
            "{err}"
        );
        assert!(matches!(read_all(b"garbage!"), Err(ArError::NotAr)));
        assert!(matches!(read_all(&a[..20]), Err(ArError::BadHeader(8))));
    }
}
